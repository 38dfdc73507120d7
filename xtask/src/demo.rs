//! `cargo xtask dev` helpers: demo keys in `.dev.vars`, and `--demo` heartbeat senders.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::thread;
use std::time::Duration;

use systole_client::{Client, Heartbeat, Status};
use systole_core::config::{Config, Deployment};
use systole_core::keys::KeyRing;

use crate::Result;

/// The service the demo stops after a minute, so its status visibly goes down.
const STOPS_AFTER_A_MINUTE: &str = "cache-warmer";

/// Parses the config folder `dir` with the Worker's loader and returns its services and
/// settings, failing with every problem of every file listed.
pub fn load_config(dir: &Path) -> Result<Config> {
    let deployment = Deployment::parse(|name| fs::read_to_string(dir.join(name)).ok())
        .map_err(|e| format!("{e}in {}", dir.display()))?;
    for notice in &deployment.notices {
        eprintln!("config: {notice}");
    }
    Ok(deployment.config)
}

/// Reuses the keys in `.dev.vars` when they cover every service that needs one; otherwise
/// writes fresh random keys (`API_KEYS`) and a `SERVER_SECRET`. Returns the keys.
pub fn ensure_dev_vars(config: &Config, path: &Path) -> Result<BTreeMap<String, String>> {
    let needed: Vec<&str> = config.services.iter().filter(|s| s.auth_required).map(|s| s.id.as_str()).collect();
    if let Ok(text) = fs::read_to_string(path) {
        let existing = text
            .lines()
            .find_map(|l| l.strip_prefix("API_KEYS='"))
            .and_then(|l| l.strip_suffix('\''))
            .and_then(|json| serde_json::from_str::<BTreeMap<String, String>>(json).ok());
        if let Some(keys) = existing.filter(|k| needed.iter().all(|id| k.contains_key(*id))) {
            return Ok(keys);
        }
    }
    let keys: BTreeMap<String, String> =
        needed.iter().map(|id| Ok(((*id).to_owned(), random_hex(24)?))).collect::<Result<_>>()?;
    let text = format!(
        "# Local secrets for `wrangler dev` (gitignored). Written by `cargo xtask dev`.\nAPI_KEYS='{}'\nSERVER_SECRET='{}'\n",
        serde_json::to_string(&keys)?,
        random_hex(32)?
    );
    fs::write(path, text)?;
    Ok(keys)
}

/// The value of `name` in the env file text `text` (`NAME='value'`, `NAME="value"` or
/// `NAME=value`).
fn env_var(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let value = l.trim().strip_prefix(name)?.trim_start().strip_prefix('=')?.trim();
        let unquoted = ['\'', '"'].iter().find_map(|q| value.strip_prefix(*q)?.strip_suffix(*q));
        Some(unquoted.unwrap_or(value).to_owned())
    })
}

/// Prints each service's healthchecks.io ping URL and Uptime Kuma push URL as the Worker
/// derives them from the secrets in `.dev.vars` (`path`; see `docs/ping-urls.md`), and the
/// problems of its `PING_IDS`/`PING_KEYS`. Returns the URL lines.
pub fn print_ping_urls(config: &Config, path: &Path, port: u16) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_default();
    let var = |name: &str| env_var(&text, name);
    let ring = match var("API_KEYS") {
        Some(api_keys) => {
            let secret = var("SERVER_SECRET").unwrap_or_else(|| api_keys.clone());
            KeyRing::parse(&api_keys, secret.as_bytes()).unwrap_or_else(|_| KeyRing::unset())
        }
        None => KeyRing::unset(),
    };
    let (ring, problems) = ring.with_pings(var("PING_IDS").as_deref(), var("PING_KEYS").as_deref());
    for problem in problems {
        eprintln!("{}: {problem}", path.display());
    }
    let lines: Vec<String> = config
        .services
        .iter()
        .filter_map(|s| {
            let ping = ring.ping_id(s)?;
            let push = ring.push_token(s)?;
            Some(format!("  {:<16} http://localhost:{port}/ping/{ping}  http://localhost:{port}/api/push/{push}", s.id))
        })
        .collect();
    if !lines.is_empty() {
        println!("ping URLs (healthchecks.io, Uptime Kuma):");
        for line in &lines {
            println!("{line}");
        }
        println!();
    }
    lines
}

/// The `METRICS_API_KEY` line of `.dev.vars` (`path`): the key already there, else a fresh
/// random one appended (whatever else the file holds is kept). Returns the key.
pub fn ensure_metrics_key(path: &Path) -> Result<String> {
    let text = fs::read_to_string(path).unwrap_or_default();
    if let Some(key) = env_var(&text, "METRICS_API_KEY").filter(|k| !k.is_empty()) {
        return Ok(key);
    }
    let key = random_hex(24)?;
    let sep = if text.is_empty() || text.ends_with('\n') { "" } else { "\n" };
    fs::write(path, format!("{text}{sep}METRICS_API_KEY='{key}'\n"))?;
    Ok(key)
}

/// The `MANAGEMENT_API_KEY` line of `.dev.vars` (`path`): the key already there, else a
/// fresh random one appended (whatever else the file holds is kept). Returns the key.
pub fn ensure_management_key(path: &Path) -> Result<String> {
    let text = fs::read_to_string(path).unwrap_or_default();
    if let Some(key) = env_var(&text, "MANAGEMENT_API_KEY").filter(|k| !k.is_empty()) {
        return Ok(key);
    }
    let key = random_hex(24)?;
    let sep = if text.is_empty() || text.ends_with('\n') { "" } else { "\n" };
    fs::write(path, format!("{text}{sep}MANAGEMENT_API_KEY='{key}'\n"))?;
    Ok(key)
}

/// Prints the management key and a curl line creating a service with it.
pub fn print_management_key(key: &str, port: u16) {
    println!(
        "management API (MANAGEMENT_API_KEY; docs/api.md#management):\n  curl -s http://localhost:{port}/api/v1/services \
         -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \
         -d '{{\"id\": \"my-job\", \"stalenessThreshold\": 300}}'\n  (the answer's \"key\" is the new service's heartbeat key, shown once)\n"
    );
}

/// Prints the metrics key and a curl line scraping `/metrics` with it.
pub fn print_metrics_key(key: &str, port: u16) {
    println!(
        "metrics (METRICS_API_KEY, read-only):\n  curl -s http://localhost:{port}/metrics -H 'Authorization: Bearer {key}'\n"
    );
}

/// Prints what the Worker will log at start-up about the keys in `.dev.vars` (`path`): each
/// `API_KEYS` entry and the `ALERT_API_KEY` shorter than 16 characters, by name, never by
/// value ([`systole_core::keys::weak_secrets`]). Returns the lines printed.
pub fn report_weak_secrets(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_default();
    let var = |name: &str| env_var(&text, name);
    let lines = systole_core::keys::weak_secrets(var("API_KEYS").as_deref(), var("ALERT_API_KEY").as_deref());
    for line in &lines {
        eprintln!("{}: {line}", path.display());
    }
    lines
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| format!("random: {e}"))?;
    Ok(buf.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    }))
}

/// Prints each service's demo key and a curl line to try.
pub fn print_keys(config: &Config, keys: &BTreeMap<String, String>, port: u16) {
    println!("\nSystole dev: http://localhost:{port}  (keys from .dev.vars)\n");
    for s in &config.services {
        let key = keys.get(s.id.as_str()).map_or("(no key: auth.required is false)", String::as_str);
        println!("  {:<16} {key}", s.id);
    }
    if let Some((id, key)) = keys.iter().next() {
        println!(
            "\ntry:\n  curl -s -X POST http://localhost:{port}/api/heartbeat -H 'Authorization: Bearer {key}' \
             -H 'Content-Type: application/json' -d '{{\"serviceId\":\"{id}\",\"message\":\"hello\"}}'\n  \
             curl -s http://localhost:{port}/api/v1/status\n"
        );
    }
}

/// Starts one sender thread per enabled service: a heartbeat every 10 s (the nightly job
/// once), `db-prod` reporting `degraded` every fifth beat, and `cache-warmer` stopping after
/// a minute.
pub fn start_senders(config: &Config, keys: &BTreeMap<String, String>, port: u16) {
    let url = format!("http://localhost:{port}");
    for s in config.services.iter().filter(|s| s.enabled) {
        let id = s.id.to_string();
        let key = keys.get(&id).cloned();
        let url = url.clone();
        thread::spawn(move || {
            let Ok(client) = Client::new(&url, key.as_deref(), Duration::from_secs(5)) else {
                return;
            };
            wait_until_up(port);
            for n in 1u32.. {
                let status = if id == "db-prod" && n % 5 == 0 { Status::Degraded } else { Status::Up };
                let hb = Heartbeat::new(id.clone())
                    .with_status(status)
                    .with_message(format!("demo heartbeat #{n}"))
                    .with_metric("cpu_percent", f64::from((n * 37) % 100));
                match client.beat(&hb) {
                    Ok(r) => println!("demo: {id} #{n} → {}", r.status.as_str()),
                    Err(e) => eprintln!("demo: {id} #{n} failed: {e}"),
                }
                if id == "nightly-backup" || (id == STOPS_AFTER_A_MINUTE && n >= 6) {
                    if id == STOPS_AFTER_A_MINUTE {
                        println!("demo: {id} stops sending now; watch it go down");
                    }
                    return;
                }
                thread::sleep(Duration::from_secs(10));
            }
        });
    }
}

fn wait_until_up(port: u16) {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    for _ in 0..240 {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok() {
            return;
        }
        thread::sleep(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_metrics_key_is_added_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("systole-metrics-key-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(".dev.vars");
        fs::write(&path, "API_KEYS='{}'").unwrap();
        let key = ensure_metrics_key(&path).unwrap();
        assert_eq!(key.len(), 48);
        assert_eq!(ensure_metrics_key(&path).unwrap(), key);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("API_KEYS='{{}}'\nMETRICS_API_KEY='{key}'\n"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn short_keys_in_dev_vars_are_reported_by_name() {
        let dir = std::env::temp_dir().join(format!("systole-devvars-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(".dev.vars");
        fs::write(
            &path,
            "API_KEYS='{\"api\": \"short\", \"db\": \"long-enough-0123456789\"}'\nALERT_API_KEY=\"tiny\"\n",
        )
        .unwrap();
        let lines = report_weak_secrets(&path);
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with(r#"API_KEYS["api"] is shorter than 16"#) && lines[1].starts_with("ALERT_API_KEY"));
        assert!(lines.iter().all(|l| !l.contains("short\"") && !l.contains("tiny")));
    }

    #[test]
    fn dev_prints_the_ping_urls_the_worker_derives_or_is_given() {
        let config =
            Config::parse(Some(r#"{"services": [{"id": "api"}, {"id": "db"}, {"id": "nokey"}]}"#), None).unwrap();
        let dir = std::env::temp_dir().join(format!("systole-devvars-ping-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(".dev.vars");
        fs::write(
            &path,
            "API_KEYS='{\"api\": \"key-api-0123456789\", \"db\": \"key-db-0123456789\"}'\nSERVER_SECRET='s'\n\
             PING_IDS='{\"db\": {\"pingId\": \"5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278\"}}'\n",
        )
        .unwrap();
        let lines = print_ping_urls(&config, &path, 8787);
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(lines.len(), 2, "nokey has none: {lines:?}");
        let ring = KeyRing::parse(r#"{"api": "key-api-0123456789", "db": "key-db-0123456789"}"#, b"s").unwrap();
        let api = config.service("api").unwrap();
        assert!(
            lines[0].contains(&format!("http://localhost:8787/ping/{}", ring.ping_id(api).unwrap())),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains(&format!("/api/push/{}", ring.push_token(api).unwrap())), "{}", lines[0]);
        assert!(lines[1].contains("/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"), "{}", lines[1]);
    }
}
