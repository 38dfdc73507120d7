//! The dashboard in real headless Chromium (`tests/browser/dashboard.mjs`, playwright-core
//! driving Debian's `/usr/bin/chromium`) against the Worker in local workerd: sign-in, a
//! service going down in place within 1 s without a reload, summary cards and tab title,
//! dark mode, 360 px, the connection banner across a runtime restart with resynchronisation,
//! `dashboard.json` (links, sanitised custom HTML, custom CSS, footer), alert toasts and
//! browser notifications within 1 s filtered by severity, the polling fallback when
//! WebSockets are blocked, no console errors. Screenshots go to `target/screenshots/` (`cargo xtask screenshots`
//! copies them into `docs/screenshots/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::json;
use systole_e2e::{key, now_ms, root, spawn_worker_with, Worker, ADMIN_TOKEN};

/// The `ALERT_API_KEY` of this test's Worker.
const ALERT_KEY: &str = "browser-alert-key-0123456789";

const DAY_MS: i64 = 86_400_000;

/// 120 days of daily rollups before today, as a long-running deployment would have (the
/// screenshots then show real bars: a few bad days, and a service added 40 days ago), plus
/// heartbeats for a mix of statuses.
fn seed_history(worker: &Worker) {
    let today = now_ms() / DAY_MS * DAY_MS;
    let mut values = Vec::new();
    for (n, service) in ["web-frontend", "web-flip", "web-xss", "browser-flip"].iter().enumerate() {
        let days = if *service == "web-xss" { 40 } else { 119 };
        for d in 1..=days {
            let down = match (d + n as i64 * 7) % 23 {
                0 => 3_600_000,
                5 => 700_000,
                11 => 90_000,
                _ => 0,
            };
            values.push(format!("('{service}', {}, {}, 0, 0, {down}, 1440)", today - d * DAY_MS, DAY_MS - down));
        }
    }
    worker.d1(&format!("INSERT INTO uptime_daily VALUES {}", values.join(", ")));
    for (i, p95) in [92, 88, 131, 97, 84].iter().enumerate() {
        let message = format!("v2.14.1 serving {}.{i}k rps", 1 + i % 2);
        worker.pulse(
            "web-frontend",
            &json!({"status": "up", "message": message, "metrics": {"p95_ms": p95, "rps": 1100 + i * 40}}),
        );
    }
    worker.pulse("web-flip", &json!({"status": "degraded", "message": "cache hit ratio 61%"}));
    worker.pulse("web-xss", &json!({"status": "up", "message": "<script>alert(1)</script>"}));
    for (i, service) in ["client-bash", "client-python", "client-node"].iter().enumerate() {
        worker.pulse(service, &json!({"status": "up", "message": format!("run {i} ok")}));
    }
}

#[test]
fn the_dashboard_updates_live_in_chromium() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: `cargo xtask test` installs it (apt-get install chromium)"
    );
    let mut worker = spawn_worker_with(&[("ALERT_API_KEY".into(), ALERT_KEY.into())]);
    seed_history(&worker);
    let root = root();
    let shots = root.join("target/screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let mut child = Command::new(root.join("node_modules/.bin/node"))
        .arg(root.join("tests/browser/dashboard.mjs"))
        .current_dir(&root)
        .env("BASE", &worker.base)
        .env("TOKEN", ADMIN_TOKEN)
        .env("FLIP_KEY", key("browser-flip"))
        .env("WEB_KEY", key("web-frontend"))
        .env("JOB_KEY", key("job-ok"))
        .env("ALERT_KEY", ALERT_KEY)
        .env("SHOTS", &shots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut result = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        match line.as_str() {
            "STOP" => {
                worker.stop();
                writeln!(stdin, "STOPPED").unwrap();
            }
            "START" => {
                worker.start();
                writeln!(stdin, "STARTED").unwrap();
            }
            other => match other.strip_prefix("RESULT ") {
                Some(json) => result = Some(serde_json::from_str::<serde_json::Value>(json).unwrap()),
                None => println!("{other}"),
            },
        }
    }
    let status = child.wait().unwrap();
    let result = result.expect("the browser script printed no RESULT");
    println!("browser: {result}");
    assert!(status.success() && result["ok"] == true, "{result}\n{}", worker.log_tail());
}
