//! `GET /metrics` against the real thing: the key (fail closed, 401, bearer or `?key=`),
//! `promtool check metrics` on the answer, and a real Prometheus (Debian's `prometheus`,
//! installed by `cargo xtask` when missing) scraping the local Worker with bearer auth and
//! answering `systole_service_up` through its HTTP API as the Worker shows it.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::{free_port, spawn_worker, spawn_worker_with, Worker, METRICS_KEY};

const PROMTOOL: &str = "/usr/bin/promtool";
const PROMETHEUS: &str = "/usr/bin/prometheus";

/// The Worker's status of `service` in `/api/v1/status`.
fn status_of(worker: &Worker, service: &str) -> String {
    let report = worker.get(&format!("/api/v1/status?serviceId={service}")).json();
    report["services"][0]["status"].as_str().unwrap().to_owned()
}

#[test]
fn metrics_need_the_key_and_pass_promtool() {
    let worker = spawn_worker();
    assert_eq!(worker.beat("reporter", &json!({"serviceId": "reporter"})).status, 200);
    worker.wait_for("reporter up", Duration::from_secs(20), || (status_of(&worker, "reporter") == "up").then_some(()));

    let missing = worker.get_as("/metrics", None, None);
    assert_eq!(missing.status, 401, "{}", missing.body);
    assert_eq!(missing.content_type, "application/problem+json");
    assert_eq!(worker.get_as("/metrics", Some("wrong-key-0123456789abcdef"), None).status, 401);
    assert_eq!(worker.get_as(&format!("/metrics?key={METRICS_KEY}x"), None, None).status, 401);

    let answer = worker.get_as("/metrics", Some(METRICS_KEY), None);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert!(answer.body.contains("systole_service_up{service=\"reporter\",group=\"core\"} 1\n"), "{}", answer.body);
    assert!(answer.body.contains("systole_service_paused{service=\"paused-svc\",group=\"core\"} 1\n"));
    assert!(answer.body.contains("systole_service_status{service=\"reporter\",group=\"core\",status=\"up\"} 1\n"));
    let by_query = worker.get_as(&format!("/metrics?key={METRICS_KEY}"), None, None);
    assert_eq!(by_query.status, 200);

    let mut promtool = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{PROMTOOL}: {e} (cargo xtask installs Debian's prometheus)"));
    promtool.stdin.take().unwrap().write_all(answer.body.as_bytes()).unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn without_the_secret_metrics_answer_no_one() {
    let worker = spawn_worker_with(&[("METRICS_API_KEY".into(), String::new())]);
    let answer = worker.get_as("/metrics", Some(METRICS_KEY), None);
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.json()["detail"].as_str().unwrap().contains("METRICS_API_KEY"), "{}", answer.body);
}

/// A Prometheus server started by the test, stopped and its folder removed when dropped.
struct Prometheus {
    child: Child,
    dir: PathBuf,
    base: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Prometheus {
    /// Starts Prometheus on a free port, scraping `worker`'s `/metrics` every second with
    /// the harness's bearer key.
    fn scraping(worker: &Worker) -> Self {
        let dir = std::env::temp_dir().join(format!("systole-prometheus-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let target = worker.base.trim_start_matches("http://");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: systole\n    \
             metrics_path: /metrics\n    authorization:\n      credentials: {METRICS_KEY}\n    static_configs:\n      \
             - targets: ['{target}']\n"
        );
        fs::write(dir.join("prometheus.yml"), config).unwrap();
        let port = free_port();
        let log = fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{PROMETHEUS}: {e} (cargo xtask installs Debian's prometheus)"));
        Self { child, dir, base: format!("http://127.0.0.1:{port}") }
    }

    /// The value of the instant query `query` (the first series), if Prometheus has one.
    fn value(&self, query: &str) -> Option<String> {
        let url = format!(
            "{}/api/v1/query?query={}",
            self.base,
            form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
        );
        let body = ureq::get(&url).call().ok()?.body_mut().read_to_string().ok()?;
        let answer: Value = serde_json::from_str(&body).ok()?;
        answer["data"]["result"][0]["value"][1].as_str().map(str::to_owned)
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }
}

#[test]
fn a_real_prometheus_scrapes_the_status_the_worker_shows() {
    let worker = spawn_worker();
    assert_eq!(worker.beat("reporter", &json!({"serviceId": "reporter"})).status, 200);
    worker.wait_for("reporter up", Duration::from_secs(20), || (status_of(&worker, "reporter") == "up").then_some(()));
    let prometheus = Prometheus::scraping(&worker);
    let up = r#"systole_service_up{service="reporter"}"#;
    let wait = |want: &str| {
        let started = std::time::Instant::now();
        loop {
            if prometheus.value(up).as_deref() == Some(want) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Prometheus never answered {up} = {want}:\n{}",
                prometheus.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    wait("1");
    assert_eq!(prometheus.value(r#"up{job="systole"}"#).as_deref(), Some("1"), "the scrape itself succeeds");

    // The service reports down: the Worker shows it, and so does Prometheus after a scrape.
    assert_eq!(worker.beat("reporter", &json!({"serviceId": "reporter", "status": "down"})).status, 200);
    worker.wait_for("reporter down", Duration::from_secs(20), || {
        (status_of(&worker, "reporter") == "down").then_some(())
    });
    wait("0");
    let status = r#"systole_service_status{service="reporter",status="down"}"#;
    assert_eq!(prometheus.value(status).as_deref(), Some("1"));
}
