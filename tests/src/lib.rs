//! The shared end-to-end harness: [`spawn_worker`] starts the real Worker in local workerd
//! (`wrangler dev --local`) on a free port with a fresh state folder, D1 migrations applied
//! (a copy of a template migrated once, see `state.rs`) and test keys in its env file; [`Worker`] talks to it and can stop and restart it on the
//! same state.
//!
//! The worker must already be built with `SYSTOLE_CONFIG_DIR=tests/config` and the `bench`
//! feature, whose `/api/internal/*` counters the tests read (`SYSTOLE_CONFIG_DIR=tests/config
//! cargo xtask build-worker --bench`; `cargo xtask test` does this); `wrangler dev` is
//! started with `SYSTOLE_SKIP_BUILD=1`. Builds with another config folder ([`CLOUDFLAREMON`],
//! [`DEFAULT`]) run from their own folder through a generated `wrangler.toml`
//! ([`spawn_build`]), which can also lower the per-IP rate limits ([`spawn_limited`]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use std::fs;
use std::io::{Read, Seek};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use systole_core::config::{Config, Deployment};
use systole_core::time::DAY_MS;

pub mod outage;
pub mod receiver;
mod state;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the browser script `tests/browser/{script}` (Debian's headless Chromium through
/// playwright-core) against `worker`, with `BASE` (its URL), `TOKEN` (the admin's login
/// token), `SHOTS` (`target/screenshots`, for its screenshots) and `vars` in its
/// environment; answers the JSON it printed after `RESULT `.
///
/// # Panics
/// When Chromium is missing, the script printed no `RESULT`, exited non-zero, or reported
/// `"ok": false` (with its stderr and the Worker's log in the message).
pub fn browser_script(worker: &Worker, script: &str, vars: &[(&str, &str)]) -> Value {
    assert!(Path::new("/usr/bin/chromium").exists(), "Debian's chromium is missing");
    let root = root();
    let shots = root.join("target/screenshots");
    fs::create_dir_all(&shots).unwrap();
    let out = Command::new(root.join("node_modules/.bin/node"))
        .arg(root.join("tests/browser").join(script))
        .current_dir(&root)
        .env("BASE", &worker.base)
        .env("TOKEN", ADMIN_TOKEN)
        .env("SHOTS", &shots)
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let Some(result) = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")) else {
        panic!("{script} printed no RESULT:\n{stdout}\n{stderr}\n{}", worker.log_tail());
    };
    let result: Value = serde_json::from_str(result).unwrap();
    println!("{script}: {result}");
    assert!(out.status.success() && result["ok"] == true, "{script}: {result}\n{stderr}\n{}", worker.log_tail());
    result
}

/// Runs `cargo xtask dev --config DIR` the way a user does, with the xtask binary `cargo
/// xtask test` has just built (running `cargo` from inside a test would wait on the outer
/// build's lock), expects it to refuse the folder, and returns what it printed on stderr.
pub fn refused_config(dir: &Path) -> String {
    let xtask = root().join("target/debug/xtask");
    assert!(xtask.is_file(), "{} missing: run through `cargo xtask test`", xtask.display());
    let out =
        std::process::Command::new(xtask).args(["dev", "--config"]).arg(dir).current_dir(root()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{stderr}");
    stderr
}

/// A Worker build the suite runs: the config folder it embeds and where it was built.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Build {
    /// The config folder, relative to the repository root.
    pub config: &'static str,
    /// The build's folder (holding `worker/shim.mjs`) relative to the root, and the command
    /// that makes it; `None` for `crates/worker/build`, which `wrangler.toml` names.
    pub out: Option<(&'static str, &'static str)>,
}

/// The main build: `tests/config` (users, every channel type, the test services).
pub const TESTS: Build = Build { config: "tests/config", out: None };

/// The cloudflaremon compatibility suite's build: `tests/config-cloudflaremon` (the seed's
/// config format, every seed endpoint on, `allowedOrigins`, no users: an open deployment).
pub const CLOUDFLAREMON: Build = Build {
    config: "tests/config-cloudflaremon",
    out: Some((
        "target/worker-cloudflaremon",
        "cargo xtask build-worker --config tests/config-cloudflaremon --out target/worker-cloudflaremon --bench",
    )),
};

/// A build as deployed: the example `config/` without the `bench` feature (no
/// `/api/internal/*` routes).
pub const DEFAULT: Build = Build {
    config: "config",
    out: Some(("target/worker-default", "cargo xtask build-worker --config config --out target/worker-default")),
};

/// The flat-cost benchmark's deployment of 10 generated services (`fleet-00000`…, open, no
/// users), built as deployed with the `bench` feature (`cargo xtask bench --fleet`).
pub const FLEET_10: Build =
    Build { config: "target/bench-fleet-10", out: Some(("target/worker-fleet-10", "cargo xtask bench --fleet")) };

/// [`FLEET_10`] with 10,000 services.
pub const FLEET_10000: Build =
    Build { config: "target/bench-fleet-10000", out: Some(("target/worker-fleet-10000", "cargo xtask bench --fleet")) };

impl Build {
    /// Its config folder, parsed by the Worker's loader.
    pub fn deployment(self) -> Deployment {
        let dir = root().join(self.config);
        Deployment::parse(|name| fs::read_to_string(dir.join(name)).ok()).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The test config folder the worker was built with, parsed by the Worker's loader.
pub fn test_deployment() -> Deployment {
    TESTS.deployment()
}

/// The test configuration's services and settings.
pub fn test_config() -> Config {
    test_deployment().config
}

/// The heartbeat key the harness configures for `service` (or for a group id, or `"*"`).
pub fn key(service: &str) -> String {
    format!("key-{service}-0123456789")
}

/// A deployment of more services than this gets one `API_KEYS` key per group (`key(group
/// id)`) instead of one per service: wrangler passes the env file to the runtime through the
/// environment, where one variable holds at most 128 KiB (10,000 keys would not fit).
pub const GROUP_KEYS_ABOVE: usize = 1_000;

/// Services of `tests/config` without a key of their own in `API_KEYS`: the members of
/// [`KEYED_GROUP`] take its key, `cfm-star` (in no group) the `"*"` key.
pub const WITHOUT_OWN_KEY: &[&str] = &["cfm-group-a", "cfm-group-b", "cfm-star"];

/// The group whose id has a key in `API_KEYS` (`key("cfmon")`), as cloudflaremon allows; a
/// `"*"` key (`key("*")`) serves services with neither their own key nor their group's.
pub const KEYED_GROUP: &str = "cfmon";

/// The `MANAGEMENT_API_KEY` every test Worker gets (unless a test sets its own).
pub const MANAGEMENT_KEY: &str = "management-key-0123456789abcdef";
/// Login token of `ana` (admin, every group) in `tests/config/users.json`.
pub const ADMIN_TOKEN: &str = "token-ana-admin-0123456789";
/// Login token of `vera` (viewer of the `web` group).
pub const VIEWER_TOKEN: &str = "token-vera-viewer-0123456789";
/// Login token of `idle` (viewer of nothing; the benchmark's idle tabs).
pub const IDLE_TOKEN: &str = "token-idle-0123456789";
/// The `SESSION_SECRET` the harness configures.
pub const SESSION_SECRET: &str = "session-secret-for-tests-0123456789abcdef";
/// The `METRICS_API_KEY` the harness configures (`GET /metrics`), unless the test's vars
/// set their own.
pub const METRICS_KEY: &str = "metrics-key-for-tests-0123456789abcdef";

/// A running (or stopped) Worker in workerd.
#[derive(Debug)]
pub struct Worker {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    port: u16,
    inspector: u16,
    state: PathBuf,
    env_file: PathBuf,
    log: PathBuf,
    /// `--config` for `wrangler dev` (a build outside `crates/worker/build`).
    config: Option<PathBuf>,
    child: Option<Child>,
}

/// An HTTP answer: status, content type, body text.
#[derive(Clone, Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: String,
    /// `Allow`, if sent.
    pub allow: Option<String>,
    /// Every header, lowercase names, in order.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl Answer {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wrangler() -> Command {
    let root = root();
    let mut cmd = Command::new(root.join("node_modules/.bin/node"));
    cmd.arg(root.join("node_modules/wrangler/bin/wrangler.js"))
        .current_dir(&root)
        .env(
            "PATH",
            format!("{}:{}", root.join("node_modules/.bin").display(), std::env::var("PATH").unwrap_or_default()),
        )
        .env("SYSTOLE_SKIP_BUILD", "1")
        .env("WRANGLER_SEND_METRICS", "false")
        // No local trace collector: wrangler's dev-only observability (on by default) streams
        // every invocation's spans and logs into a SQLite-backed object in the same runtime
        // process, about a third of a heartbeat's CPU there, which no deployed Worker pays
        // (docs/benchmarks.md). The tests read nothing from it.
        .env("X_LOCAL_OBSERVABILITY", "false");
    cmd
}

/// Starts a fresh Worker (new state folder, migrations applied) and waits until it answers.
pub fn spawn_worker() -> Worker {
    spawn_worker_with(&[])
}

/// Every credential of every channel in `tests/config/notifications.json`, pointing the
/// channel at `receiver` (URLs as `{receiver}/{channel name}`, other values dummies), with
/// `overrides` (variable, value) taking precedence.
pub fn channel_env(receiver: &receiver::Receiver, overrides: &[(String, String)]) -> Vec<(String, String)> {
    channel_env_for(TESTS, receiver, overrides)
}

/// The receiver's name for a channel: its name with each character other than ASCII
/// letters, digits, `-` and `_` as `-`, in lower case (`Telegram Bot` is `telegram-bot`).
pub fn receiver_name(channel: &str) -> String {
    channel
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_ascii_lowercase() } else { '-' })
        .collect()
}

/// [`channel_env`] for the channels of `build`'s config folder; URLs as
/// `{receiver}/{receiver_name(channel)}`.
pub fn channel_env_for(
    build: Build,
    receiver: &receiver::Receiver,
    overrides: &[(String, String)],
) -> Vec<(String, String)> {
    let config = build.deployment().notifications;
    let mut vars = Vec::new();
    for c in &config.channels {
        let keys = c.kind.credentials();
        for key in keys.required.iter().chain(keys.optional) {
            let var = systole_core::notify::credential_var(&c.name, key);
            let value = match *key {
                "webhookUrl" | "url" | "topicUrl" | "baseUrl" => receiver.url(&receiver_name(&c.name)),
                "to" if c.kind.as_str() == "sms" => "+15551230000".to_owned(),
                "from" if c.kind.as_str() == "sms" => "+15559870000".to_owned(),
                "to" => "ops@example.com, oncall@example.com".to_owned(),
                "from" => "systole@example.com".to_owned(),
                "secret" => "webhook-signing-secret".to_owned(),
                other => format!("test-{other}"),
            };
            let value = if c.kind.as_str() == "ntfy" && *key == "topicUrl" { format!("{value}/alerts") } else { value };
            vars.push((var, value));
        }
    }
    for (k, v) in overrides {
        vars.retain(|(var, _)| var != k);
        vars.push((k.clone(), v.clone()));
    }
    vars
}

/// [`spawn_worker`] with extra variables in its env file.
pub fn spawn_worker_with(vars: &[(String, String)]) -> Worker {
    spawn_build(TESTS, vars)
}

/// [`spawn_worker_with`] for `build`: a build outside `crates/worker/build` runs through a
/// `wrangler.toml` generated beside its state (the repository's, with `main` pointing at the
/// build and without the build command).
pub fn spawn_build(build: Build, vars: &[(String, String)]) -> Worker {
    spawn_limited(build, vars, &[])
}

/// [`spawn_build`] with the per-IP rate limits of `wrangler.toml` lowered: each (binding
/// name, limit) replaces that `[[ratelimits]]` binding's `limit` (its period stays). Runs
/// through a generated `wrangler.toml` whatever the build.
pub fn spawn_limited(build: Build, vars: &[(String, String)], limits: &[(&str, u32)]) -> Worker {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = root().join("target/e2e").join(format!("{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let config = match build.out {
        Some((out, command)) => {
            let shim = root().join(out).join("worker/shim.mjs");
            assert!(shim.is_file(), "{} is not built: run `{command}`", build.config);
            Some(wrangler_toml(&dir, &shim, limits))
        }
        None if !limits.is_empty() => {
            Some(wrangler_toml(&dir, &root().join("crates/worker/build/worker/shim.mjs"), limits))
        }
        None => None,
    };
    let embedded = build.deployment().config;
    let mut keys: serde_json::Map<String, Value> = if embedded.services.len() > GROUP_KEYS_ABOVE {
        embedded.groups.iter().map(|g| (g.id.clone(), Value::String(key(&g.id)))).collect()
    } else {
        embedded
            .services
            .iter()
            .filter(|s| !WITHOUT_OWN_KEY.contains(&s.id.as_str()))
            .map(|s| (s.id.to_string(), Value::String(key(s.id.as_str()))))
            .collect()
    };
    keys.insert(KEYED_GROUP.to_owned(), Value::String(key(KEYED_GROUP)));
    keys.insert("*".to_owned(), Value::String(key("*")));
    let env_file = dir.join("test.env");
    let tokens = serde_json::json!({ "ana": ADMIN_TOKEN, "vera": VIEWER_TOKEN, "idle": IDLE_TOKEN });
    let mut env =
        format!("API_KEYS='{}'\nUSER_TOKENS='{tokens}'\nSESSION_SECRET='{SESSION_SECRET}'\n", Value::Object(keys));
    if !vars.iter().any(|(k, _)| k == "METRICS_API_KEY") {
        env.push_str(&format!("METRICS_API_KEY='{METRICS_KEY}'\n"));
    }
    if !vars.iter().any(|(k, _)| k == "MANAGEMENT_API_KEY") {
        env.push_str(&format!("MANAGEMENT_API_KEY='{MANAGEMENT_KEY}'\n"));
    }
    for (k, v) in vars {
        env.push_str(&format!("{k}='{v}'\n"));
    }
    fs::write(&env_file, env).unwrap();
    let state = dir.join("state");
    state::fresh(&state);
    launch(Worker::new(&dir, state, env_file, config))
}

/// Starts any Worker under `wrangler dev` from its wrangler config `config` (e.g. the
/// benchmark's floor Workers in `tests/floor/`), with a fresh state folder, no migrations and
/// no secrets, and waits until its `GET /healthz` answers 200 (the Worker must have that
/// route). [`Worker::runtime_cpu`] measures it as it measures Systole.
pub fn spawn_config(config: &Path) -> Worker {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = root().join("target/e2e").join(format!("{}-config-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let env_file = dir.join("empty.env");
    fs::write(&env_file, "").unwrap();
    let config = config.canonicalize().unwrap_or_else(|e| panic!("{}: {e}", config.display()));
    launch(Worker::new(&dir, dir.join("state"), env_file, Some(config)))
}

/// Starts `worker` on free ports, trying new ones while another process takes them first.
fn launch(mut worker: Worker) -> Worker {
    // Ports come from `free_port`, which cannot reserve them: another test may take one
    // before wrangler binds it. Then pick new ones and try again.
    for _ in 0..4 {
        match worker.try_start() {
            Ok(()) => return worker,
            Err(log) if log.contains("Address already in use") => {
                (worker.port, worker.inspector) = (free_port(), free_port());
                worker.base = format!("http://127.0.0.1:{}", worker.port);
            }
            Err(log) => panic!("{log}"),
        }
    }
    worker.start();
    worker
}

/// Writes `dir/wrangler.toml`: the repository's, running the build whose shim is `shim`,
/// its paths absolute, without the `[build]` section (the suite builds beforehand) and with
/// the `[[ratelimits]]` limits of `limits` (binding name, limit).
fn wrangler_toml(dir: &Path, shim: &Path, limits: &[(&str, u32)]) -> PathBuf {
    let text = fs::read_to_string(root().join("wrangler.toml")).unwrap();
    let mut out = String::new();
    let mut skipping = false;
    let mut limiter: Option<u32> = None;
    for line in text.lines() {
        if line.starts_with("name = ") {
            let name = line.trim_start_matches("name = ").trim_matches('"');
            limiter = limits.iter().find(|(b, _)| *b == name).map(|(_, l)| *l);
        }
        if let (Some(limit), Some(rest)) = (limiter, line.strip_prefix("simple = { limit = ")) {
            let period = rest.split_once(',').unwrap().1;
            out.push_str(&format!("simple = {{ limit = {limit},{period}\n"));
            continue;
        }
        if line.starts_with('[') {
            skipping = line.trim() == "[build]";
        }
        if skipping {
            continue;
        }
        let line = if line.starts_with("main = ") {
            format!("main = {:?}", shim.display().to_string())
        } else if line.starts_with("migrations_dir = ") {
            format!("migrations_dir = {:?}", root().join("migrations").display().to_string())
        } else {
            line.to_owned()
        };
        out.push_str(&line);
        out.push('\n');
    }
    let path = dir.join("wrangler.toml");
    fs::write(&path, out).unwrap();
    path
}

impl Worker {
    /// A stopped Worker on free ports whose log goes to `dir/wrangler.log`.
    fn new(dir: &Path, state: PathBuf, env_file: PathBuf, config: Option<PathBuf>) -> Self {
        let port = free_port();
        Worker {
            base: format!("http://127.0.0.1:{port}"),
            port,
            inspector: free_port(),
            state,
            env_file,
            log: dir.join("wrangler.log"),
            config,
            child: None,
        }
    }

    /// Starts `wrangler dev` on the same port and state folder, and waits for `/healthz`.
    pub fn start(&mut self) {
        if let Err(log) = self.try_start() {
            panic!("{log}");
        }
    }

    /// [`Worker::start`], answering why it failed (wrangler's exit and log tail).
    fn try_start(&mut self) -> Result<(), String> {
        self.launch(true)
    }

    /// A cold start: stops the runtime, starts it again on the same state without sending it
    /// anything until its log says it listens, then times `request` twice in a row. Answers
    /// (from spawning wrangler to its log saying it listens, the first answer, the second
    /// answer); the first carries whatever the runtime and the Worker defer to their first
    /// request (instantiating the wasm, parsing the embedded config, starting a Durable
    /// Object).
    ///
    /// # Panics
    /// When the runtime does not come up, or an answer is not 200.
    pub fn cold_start(&mut self, request: &dyn Fn(&Worker) -> Answer) -> (Duration, Duration, Duration) {
        self.stop();
        let started = Instant::now();
        if let Err(log) = self.launch(false) {
            panic!("{log}");
        }
        let ready = started.elapsed();
        let timed = || {
            let t = Instant::now();
            let answer = request(self);
            assert_eq!(answer.status, 200, "{}", answer.body);
            t.elapsed()
        };
        let first = timed();
        (ready, first, timed())
    }

    /// Spawns `wrangler dev` and waits until its log says it listens on the port and, with
    /// `probe`, `/healthz` answers 200.
    fn launch(&mut self, probe: bool) -> Result<(), String> {
        assert!(self.child.is_none(), "already running");
        let log = fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let mut cmd = wrangler();
        if let Some(config) = &self.config {
            cmd.arg("--config").arg(config);
        }
        cmd.args(["dev", "--local", "--ip", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--inspector-port", &self.inspector.to_string(), "--test-scheduled"])
            .args(["--show-interactive-dev-session=false", "--persist-to"])
            .arg(&self.state)
            .arg("--env-file")
            .arg(&self.env_file)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let logged_before = fs::metadata(&self.log).map_or(0, |m| m.len());
        let mut child = cmd.spawn().unwrap();
        let started = Instant::now();
        // Another test's worker may hold the port (see `spawn_limited`) and answer `/healthz`
        // itself: ours is up only once its own log says it listens there.
        let ready = format!("Ready on http://127.0.0.1:{}", self.port);
        loop {
            if self.logged_since(logged_before).contains(&ready)
                && (!probe || self.try_get("/healthz").is_some_and(|a| a.status == 200))
            {
                break;
            }
            if let Some(status) = child.try_wait().unwrap() {
                return Err(format!("wrangler dev exited ({status}):\n{}", self.log_tail()));
            }
            assert!(started.elapsed() < Duration::from_secs(90), "worker not up after 90 s:\n{}", self.log_tail());
            thread::sleep(Duration::from_millis(200));
        }
        self.child = Some(child);
        Ok(())
    }

    /// Stops the runtime (wrangler and workerd, by process group), keeping the state folder.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = format!("-{}", child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = child.wait();
        // Wait until the port is free again.
        while TcpListener::bind(("127.0.0.1", self.port)).is_err() && Instant::now() < deadline + Duration::from_secs(5)
        {
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the runtime at once with `SIGKILL` (wrangler and workerd, by process group), as a
    /// crash or a power cut of the process would: nothing gets a chance to finish or flush.
    /// The state folder is kept; [`Worker::start`] runs it again.
    pub fn kill(&mut self) {
        self.send_kill();
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = child.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpListener::bind(("127.0.0.1", self.port)).is_err() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends `SIGKILL` to the runtime's process group without waiting for it (callable while
    /// other threads still use the Worker); [`Worker::kill`] then reaps it.
    pub fn send_kill(&self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
        }
    }

    /// The whole wrangler log so far (every start of this Worker).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The port of wrangler's inspector proxy (`--inspector-port`): the Chrome DevTools
    /// protocol of the Worker's isolate at `ws://127.0.0.1:<port>/ws` (the benchmark's
    /// `--profile`).
    pub fn inspector_port(&self) -> u16 {
        self.inspector
    }

    /// CPU time (user + system) the Worker's runtime process has used so far: the `workerd`
    /// process of wrangler's process group that runs the Worker ([`Worker::runtime_pids`]),
    /// from `/proc/<pid>/stat` (`utime` + `stime`, in clock ticks of 10 ms). Zero when the
    /// worker is not running. The benchmark divides its growth over a measured period by the
    /// requests served.
    pub fn runtime_cpu(&self) -> Duration {
        let ticks: u64 = self.runtime_stats().iter().map(|(_, ticks)| ticks).sum();
        Duration::from_millis(ticks * 10)
    }

    /// The process ids of the `workerd` processes of wrangler's process group that run the
    /// Worker (started with an inspector address; the other `workerd` is wrangler's proxy
    /// in front of it): one while the worker runs, none once it stopped.
    pub fn runtime_pids(&self) -> Vec<u32> {
        self.runtime_stats().into_iter().map(|(pid, _)| pid).collect()
    }

    /// Each runtime process ([`Worker::runtime_pids`]) with its CPU time so far, in clock
    /// ticks of 10 ms (`/proc/<pid>/stat` `utime` + `stime`).
    fn runtime_stats(&self) -> Vec<(u32, u64)> {
        let Some(group) = self.child.as_ref().map(Child::id) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
            let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else { continue };
            // `pid (comm) state ppid pgrp …`: comm may hold spaces, so split after its `)`.
            let Some((head, rest)) = stat.rsplit_once(") ") else { continue };
            let runs_worker = fs::read(entry.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("--inspector-addr"));
            if !head.ends_with("(workerd") || !runs_worker {
                continue;
            }
            let fields: Vec<&str> = rest.split(' ').collect();
            // After comm: state [0], ppid [1], pgrp [2], …, utime [11], stime [12].
            if fields.get(2).and_then(|g| g.parse::<u32>().ok()) != Some(group) {
                continue;
            }
            let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            found.push((pid, field(11) + field(12)));
        }
        found
    }

    /// What the runtime logged after the log's first `offset` bytes.
    fn logged_since(&self, offset: u64) -> String {
        let mut bytes = Vec::new();
        if let Ok(mut f) = fs::File::open(&self.log) {
            let _ = f.seek(std::io::SeekFrom::Start(offset)).and_then(|_| f.read_to_end(&mut bytes));
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The last 4 KiB of the wrangler log.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        let start = text.len().saturating_sub(4096);
        text[text.floor_char_boundary(start)..].to_owned()
    }

    /// The state folder (`--persist-to`).
    pub fn state_dir(&self) -> &Path {
        &self.state
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into()
    }

    fn answer(resp: ureq::http::Response<ureq::Body>) -> Answer {
        let status = resp.status().as_u16();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_type = header("content-type").unwrap_or_default();
        let allow = header("allow");
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let body = resp.into_body().read_to_string().unwrap_or_default();
        Answer { status, content_type, allow, headers, body }
    }

    /// [`Worker::get`] that answers `None` instead of panicking when no answer came (the
    /// runtime is gone, or the request took over the client's 30 s timeout).
    pub fn try_get(&self, path: &str) -> Option<Answer> {
        let req = Self::agent().get(format!("{}{path}", self.base));
        req.header("Authorization", format!("Bearer {ADMIN_TOKEN}")).call().ok().map(Self::answer)
    }

    /// `GET path` with the given `Authorization: Bearer` token and/or `Cookie` header (no
    /// credentials when both are `None`).
    pub fn get_as(&self, path: &str, bearer: Option<&str>, cookie: Option<&str>) -> Answer {
        let mut req = Self::agent().get(format!("{}{path}", self.base));
        if let Some(b) = bearer {
            req = req.header("Authorization", format!("Bearer {b}"));
        }
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        req.call().map(Self::answer).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// Opens a WebSocket to `path` (`/api/v1/live`, `/status/live`) with an optional bearer
    /// token or cookie; reads time out after `timeout`.
    ///
    /// # Errors
    /// The handshake's error, e.g. `Http(401)` for a refused caller.
    pub fn live(
        &self,
        path: &str,
        bearer: Option<&str>,
        cookie: Option<&str>,
        timeout: Duration,
    ) -> Result<Live, Box<tungstenite::Error>> {
        let bearer = bearer.map(|b| format!("Bearer {b}"));
        let mut headers = Vec::new();
        if let Some(b) = &bearer {
            headers.push(("Authorization", b.as_str()));
        }
        if let Some(c) = cookie {
            headers.push(("Cookie", c));
        }
        self.live_with(path, &headers, timeout)
    }

    /// Opens a WebSocket to `path` with exactly these extra request headers (e.g. a
    /// browser's `Origin`); reads time out after `timeout`.
    ///
    /// # Errors
    /// The handshake's error, e.g. `Http(403)` for a refused origin.
    pub fn live_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Live, Box<tungstenite::Error>> {
        use tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://127.0.0.1:{}{path}", self.port).into_client_request().map_err(Box::new)?;
        for (name, value) in headers {
            let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            req.headers_mut().insert(name, value.parse().unwrap());
        }
        let (ws, _) = tungstenite::connect(req).map_err(Box::new)?;
        if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(timeout)).unwrap();
        }
        Ok(Live(ws))
    }

    /// `POST /login` with `token`; the answer (303 with `Set-Cookie` on success).
    pub fn login(&self, token: &str) -> Answer {
        self.post_form("/login", &format!("token={token}"), &[])
    }

    /// `POST path` with a form body and extra headers (e.g. a browser's `Origin`), without
    /// following redirects.
    pub fn post_form(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
        let mut req =
            agent.post(format!("{}{path}", self.base)).header("Content-Type", "application/x-www-form-urlencoded");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send(body.to_owned()).map(Self::answer).unwrap()
    }

    /// `GET path` as the harness's admin (every read API needs a user here).
    pub fn get(&self, path: &str) -> Answer {
        self.try_get(path).unwrap_or_else(|| panic!("GET {path} failed:\n{}", self.log_tail()))
    }

    /// A request with any method, optional bearer key and raw body.
    pub fn request(&self, method: &str, path: &str, bearer: Option<&str>, body: &str) -> Answer {
        let req = ureq::http::Request::builder().method(method).uri(format!("{}{path}", self.base));
        let req = match bearer {
            Some(k) => req.header("Authorization", format!("Bearer {k}")),
            None => req,
        };
        let req = req.header("Content-Type", "application/json").body(body.to_owned()).unwrap();
        Self::agent().run(req).map(Self::answer).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// A request with any method, exactly the given headers (no `Content-Type` unless
    /// given) and a raw body.
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut req = ureq::http::Request::builder().method(method).uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(body.to_owned()).unwrap();
        Self::agent().run(req).map(Self::answer).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// `POST /api/heartbeat` with the service's configured key.
    pub fn beat(&self, service: &str, body: &Value) -> Answer {
        self.request("POST", "/api/heartbeat", Some(&key(service)), &body.to_string())
    }

    /// [`Worker::beat`] that answers a transport error (the runtime is gone, the connection
    /// was cut) instead of panicking.
    ///
    /// # Errors
    /// The HTTP client's error when no answer arrived.
    pub fn try_beat(&self, service: &str, body: &Value) -> Result<Answer, ureq::Error> {
        let req = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("{}/api/heartbeat", self.base))
            .header("Authorization", format!("Bearer {}", key(service)))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .unwrap();
        Self::agent().run(req).map(Self::answer)
    }

    /// A heartbeat for `service` with `fields` (`serviceId` added); asserts it is accepted
    /// and returns the answer's JSON.
    pub fn pulse(&self, service: &str, fields: &Value) -> Value {
        let mut body = fields.clone();
        body["serviceId"] = Value::String(service.to_owned());
        let answer = self.beat(service, &body);
        assert_eq!(answer.status, 200, "heartbeat for {service}: {}", answer.body);
        answer.json()
    }

    /// One service's entry in `/api/v1/status` (`?serviceId=`).
    pub fn status_of(&self, service: &str) -> Value {
        let all = self.get(&format!("/api/v1/status?serviceId={service}")).json();
        all["services"].as_array().unwrap().iter().find(|s| s["id"] == service).cloned().unwrap()
    }

    /// Waits until `service`'s entry in `/api/v1/status` (read from D1, which the service's
    /// next flush writes) shows `status`; panics after `timeout`.
    pub fn wait_for_status(&self, service: &str, status: &str, timeout: Duration) {
        self.wait_for(&format!("{service} {status}"), timeout, || {
            (self.status_of(service)["status"] == status).then_some(())
        });
    }

    /// Polls `f` every 50 ms until it returns `Some`, or panics after `timeout`.
    pub fn wait_for<T>(&self, what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
        let started = Instant::now();
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(started.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}\n{}", self.log_tail());
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The status changes the Worker recorded for `service` (D1 `status_changes`), oldest
    /// first, once at least `n` are written (with the next flush; waits up to 20 s): rows
    /// `{"changed_at": ms, "from_status", "to_status", "reason"}`.
    pub fn status_changes(&self, service: &str, n: usize) -> Vec<Value> {
        let sql = format!(
            "SELECT changed_at, from_status, to_status, reason FROM status_changes \
             WHERE service_id = '{service}' ORDER BY changed_at, seq"
        );
        self.wait_for(&format!("{n} status changes of {service}"), Duration::from_secs(20), || {
            let rows = self.d1(&sql);
            (rows.len() >= n).then_some(rows)
        })
    }

    /// Waits until the server's clock (`/api/v1/status` `generatedAt`) has at least `margin`
    /// left of its UTC day, so a scenario whose assertions need one day (today's uptime,
    /// a CSV of one date) cannot straddle midnight; returns the server's time.
    pub fn wait_for_day_with(&self, margin: Duration) -> i64 {
        let margin = i64::try_from(margin.as_millis()).unwrap();
        let server_now = ms(&self.get("/api/v1/status").json()["generatedAt"]);
        let left = (server_now / DAY_MS + 1) * DAY_MS - server_now;
        if left >= margin {
            return server_now;
        }
        thread::sleep(Duration::from_millis(u64::try_from(left + 1_000).unwrap()));
        ms(&self.get("/api/v1/status").json()["generatedAt"])
    }

    /// Runs SQL against the local D1 database with `wrangler d1 execute` and returns the rows.
    ///
    /// The running workerd may hold SQLite's lock on the file for a moment (a cron tick or
    /// a flush writing); `SQLITE_BUSY` is retried for up to ten seconds.
    pub fn d1(&self, sql: &str) -> Vec<Value> {
        let started = Instant::now();
        let out = loop {
            let out = wrangler()
                .args(["d1", "execute", "DB", "--local", "--json", "--persist-to"])
                .arg(&self.state)
                .args(["--command", sql])
                .output()
                .unwrap();
            let busy = String::from_utf8_lossy(&out.stderr).contains("SQLITE_BUSY");
            if out.status.success() || !busy || started.elapsed() > Duration::from_secs(10) {
                break out;
            }
            thread::sleep(Duration::from_millis(250));
        };
        assert!(out.status.success(), "d1 execute failed: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["results"].as_array().cloned().unwrap_or_default()
    }
}

/// A live-update WebSocket (see [`Worker::live`]).
#[derive(Debug)]
pub struct Live(pub tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>);

impl Live {
    /// The next service update (JSON), skipping `pong`s; `None` when the read times out or
    /// the socket closes.
    pub fn update(&mut self) -> Option<Value> {
        loop {
            match self.0.read() {
                Ok(tungstenite::Message::Text(t)) if t.as_str() == "pong" => continue,
                Ok(tungstenite::Message::Text(t)) => return serde_json::from_str(t.as_str()).ok(),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// Updates until one for `service` with `status` arrives (panics after `timeout`);
    /// returns it and every update seen before it.
    pub fn until(&mut self, service: &str, status: &str, timeout: Duration) -> (Value, Vec<Value>) {
        self.first(&format!("{status} update for {service}"), timeout, |u| u["id"] == service && u["status"] == status)
    }

    /// Updates until one for which `wanted` holds arrives (panics naming `what` after
    /// `timeout`); returns it and every update seen before it.
    pub fn first(&mut self, what: &str, timeout: Duration, wanted: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
        let started = Instant::now();
        let mut seen = Vec::new();
        while started.elapsed() < timeout {
            if let Some(u) = self.update() {
                if wanted(&u) {
                    return (u, seen);
                }
                seen.push(u);
            }
        }
        panic!("no {what} within {timeout:?}; saw {seen:?}");
    }

    /// Sends a text frame.
    pub fn send(&mut self, text: &str) {
        self.0.send(tungstenite::Message::text(text)).unwrap();
    }

    /// Reads until the server closes the socket; its close code (`None` when the read times
    /// out or the connection drops without a close frame).
    pub fn close_code(&mut self) -> Option<u16> {
        loop {
            match self.0.read() {
                Ok(tungstenite::Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// Reads until a `pong` arrives (`false` when the read times out or the socket closes).
    pub fn pong(&mut self) -> bool {
        loop {
            match self.0.read() {
                Ok(tungstenite::Message::Text(t)) if t.as_str() == "pong" => return true,
                Ok(tungstenite::Message::Close(_)) | Err(_) => return false,
                Ok(_) => continue,
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Parses an RFC 3339 timestamp from a JSON string into epoch milliseconds.
pub fn ms(v: &Value) -> i64 {
    systole_core::time::Timestamp::parse_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .as_millis()
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap()
}
