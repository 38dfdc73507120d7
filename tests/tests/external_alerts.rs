//! `POST /api/v1/alerts` through the real Worker: Alertmanager v4 (firing with two alerts, then
//! resolved) and Grafana payloads routed to channels, repeats de-duplicated by fingerprint
//! within their sender, everything recorded; malformed bodies and unknown channels get 400
//! problem+json; the `ALERT_API_KEY` (503 without it, refused when short); a sender cannot
//! suppress or resolve another's alert; a flood stays within its budgets.
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::receiver::Receiver;
use systole_e2e::{channel_env, spawn_worker_with, Worker};

/// The `ALERT_API_KEY` these tests configure.
const ALERT_KEY: &str = "alert-key-0123456789";

fn with_key(receiver: &Receiver) -> Vec<(String, String)> {
    channel_env(receiver, &[("ALERT_API_KEY".into(), ALERT_KEY.into())])
}

fn alertmanager(status: &str) -> Value {
    let alert = |name: &str, instance: &str, fp: &str| {
        json!({
            "status": status,
            "labels": {"alertname": name, "instance": instance, "severity": "critical"},
            "annotations": {"summary": format!("{name} on {instance}"), "description": "more than 90% for 5m"},
            "startsAt": "2026-11-21T10:00:00Z",
            "endsAt": if status == "resolved" { "2026-11-21T10:07:30Z" } else { "0001-01-01T00:00:00Z" },
            "generatorURL": "http://prometheus.local/graph?g0.expr=up",
            "fingerprint": fp
        })
    };
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"HighMemory\"}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "systole",
        "groupLabels": {"alertname": "HighMemory"},
        "commonLabels": {"alertname": "HighMemory", "severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.local",
        "alerts": [alert("HighMemory", "db-1:9100", "a1b2c3d4e5f60718"), alert("HighMemory", "db-2:9100", "0817f6e5d4c3b2a1")]
    })
}

#[test]
fn alertmanager_and_grafana_alerts_are_routed_deduplicated_and_recorded() {
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&with_key(&receiver));
    let post = |path: &str, body: &Value| worker.request("POST", path, Some(ALERT_KEY), &body.to_string());

    let firing = post("/api/v1/alerts?channel=webhook", &alertmanager("firing"));
    assert_eq!(firing.status, 202, "{}", firing.body);
    let fj = firing.json();
    assert_eq!((fj["format"].as_str(), fj["received"].as_u64()), (Some("alertmanager"), Some(2)));
    assert!(fj["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["action"] == "sent" && a["channels"] == json!(["webhook"])));
    let got = receiver.wait("webhook", 2, Duration::from_secs(20));
    let bodies: Vec<Value> = got.iter().map(|r| r.json()).collect();
    assert!(bodies
        .iter()
        .all(|b| b["event"] == "alert" && b["alert"]["state"] == "firing" && b["alert"]["severity"] == "critical"));
    // The sender's URL is the alert's source link, never our dashboard link (PUBLIC_URL unset).
    assert!(
        bodies
            .iter()
            .all(|b| b["dashboardUrl"].is_null() && b["alert"]["url"] == "http://prometheus.local/graph?g0.expr=up"),
        "{bodies:?}"
    );

    // Alertmanager repeats the group every repeat_interval: not re-sent.
    let again = post("/api/v1/alerts?channel=webhook", &alertmanager("firing")).json();
    assert!(again["alerts"].as_array().unwrap().iter().all(|a| a["action"] == "duplicate"), "{again}");
    let resolved = post("/api/v1/alerts?channel=webhook", &alertmanager("resolved")).json();
    assert!(resolved["alerts"].as_array().unwrap().iter().all(|a| a["action"] == "sent"));
    let got = receiver.wait("webhook", 4, Duration::from_secs(20));
    assert!(got[2..].iter().all(|r| r.json()["alert"]["state"] == "resolved"));
    thread::sleep(Duration::from_millis(1_000));
    assert_eq!(receiver.of("webhook").len(), 4, "the repeat sent nothing");

    let grafana = json!({
        "receiver": "systole", "status": "firing", "orgId": 1,
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "DiskFull", "grafana_folder": "infra", "severity": "warning"},
            "annotations": {"summary": "Disk almost full"},
            "startsAt": "2026-11-21T11:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://grafana.local/alerting/grafana/abc/view",
            "fingerprint": "57c6d9296de2ad39", "silenceURL": "http://grafana.local/alerting/silence/new",
            "dashboardURL": "", "panelURL": "", "values": {"B": 97.5}, "valueString": "[ var='B' value=97.5 ]"
        }],
        "groupLabels": {"alertname": "DiskFull"}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://grafana.local/", "version": "1", "groupKey": "{}:{alertname=\"DiskFull\"}",
        "truncatedAlerts": 0, "title": "[FIRING:1] DiskFull", "state": "alerting", "message": "Disk almost full"
    });
    let g = post("/api/v1/alerts?channel=slack", &grafana).json();
    assert_eq!(g["format"], "grafana");
    let slack = receiver.wait("slack", 1, Duration::from_secs(20));
    assert!(slack[0].json()["text"].as_str().unwrap().contains("Disk almost full"), "{}", slack[0].body);
    assert!(
        slack[0].body.contains("Open at the source") && !slack[0].body.contains("Open the dashboard"),
        "{}",
        slack[0].body
    );

    // Generic, routed by severity to every channel that takes alerts.
    let generic =
        post("/api/v1/alerts", &json!({"title": "Backup drift", "message": "3 h behind", "severity": "info"}));
    assert_eq!(generic.status, 202, "{}", generic.body);
    assert_eq!(generic.json()["alerts"][0]["channels"].as_array().unwrap().len(), 16);

    let recent = worker.wait_for("alerts recorded", Duration::from_secs(20), || {
        let r = worker.get("/api/v1/alerts/recent").json();
        (r["alerts"].as_array()?.len() == 4).then_some(r)
    });
    let db1 = recent["alerts"].as_array().unwrap().iter().find(|a| a["fingerprint"] == "a1b2c3d4e5f60718").unwrap();
    assert_eq!((db1["state"].as_str(), db1["format"].as_str()), (Some("resolved"), Some("alertmanager")));
    let history = worker.wait_for("attempts recorded", Duration::from_secs(20), || {
        let h = worker.get("/api/v1/alerts/history?subject=external&limit=100").json();
        (h["attempts"].as_array()?.len() >= 4 + 1 + 16).then_some(h)
    });
    assert!(history["attempts"].as_array().unwrap().iter().all(|a| a["event"] == "alert"));
}

#[test]
fn bad_alert_requests_get_problem_json_and_the_key_is_checked() {
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&with_key(&receiver));
    let post = |body: &str, key: Option<&str>| worker.request("POST", "/api/v1/alerts", key, body);
    let good = r#"{"title": "t", "message": "m"}"#;
    assert_eq!(post(good, None).status, 401);
    assert_eq!(post(good, Some("alert-key-012345678")).status, 401);
    assert_eq!(post(good, Some(ALERT_KEY)).status, 202);
    for (body, field) in [
        ("{", None),
        ("[]", None),
        (r#"{"message": "m"}"#, Some("title")),
        (r#"{"title": "t", "message": "m", "severity": "apocalyptic"}"#, Some("severity")),
        (
            r#"{"version": "4", "status": "firing", "alerts": [{"status": "exploded", "labels": {}}]}"#,
            Some("alerts[0].status"),
        ),
        (r#"{"version": "4", "alerts": {"not": "a list"}}"#, Some("alerts")),
    ] {
        let a = post(body, Some(ALERT_KEY));
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        assert_eq!(a.content_type, "application/problem+json", "{body}");
        if let Some(f) = field {
            assert_eq!(a.json()["field"], f, "{body}: {}", a.body);
        }
    }
    let unknown = post(r#"{"title": "t", "message": "m", "channels": ["discord", "carrier-pigeon"]}"#, Some(ALERT_KEY));
    assert_eq!(unknown.status, 400);
    let detail = unknown.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("\"carrier-pigeon\" is not configured")
            && detail.contains("available channels: discord (discord)"),
        "{detail}"
    );
    thread::sleep(Duration::from_millis(1_000));
    assert_eq!(receiver.of("discord").len(), 1, "only the accepted request was sent");
}

/// What `POST /api/v1/alerts` and the seed's `POST /api/alert` answer `worker` without a key.
fn refusals(worker: &Worker) -> (systole_e2e::Answer, systole_e2e::Answer) {
    let body = r#"{"title": "t", "message": "m"}"#;
    (worker.request("POST", "/api/v1/alerts", None, body), worker.request("POST", "/api/alert", None, body))
}

#[test]
fn without_a_strong_alert_key_alerts_fail_closed() {
    // No ALERT_API_KEY: 503 problem+json naming the secret; the seed's path is off in this
    // suite's settings (403), its 503 is checked in cloudflaremon_api.rs.
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    let (native, _) = refusals(&worker);
    assert_eq!((native.status, native.content_type.as_str()), (503, "application/problem+json"), "{}", native.body);
    let p = native.json();
    assert_eq!(p["type"], "urn:systole:problem:alert-key-unset");
    assert!(p["detail"].as_str().unwrap().contains("ALERT_API_KEY"), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("allowAlertsWithoutKey"), "{p}");
    let keyed =
        worker.request("POST", "/api/v1/alerts", Some("anything-0123456789"), r#"{"title": "t", "message": "m"}"#);
    assert_eq!(keyed.status, 503, "no key opens it");
    drop(worker);

    // A key shorter than 16 characters: refused even to the one presenting it, and logged by
    // name, never by value.
    let worker = spawn_worker_with(&channel_env(&receiver, &[("ALERT_API_KEY".into(), "alert-key-123".into())]));
    let short = worker.request("POST", "/api/v1/alerts", Some("alert-key-123"), r#"{"title": "t", "message": "m"}"#);
    assert_eq!(short.status, 503, "{}", short.body);
    assert_eq!(short.json()["type"], "urn:systole:problem:alert-key-weak");
    let log = worker.wait_for("the weak keys reported", Duration::from_secs(10), || {
        let log = worker.log_tail();
        log.contains("ALERT_API_KEY is shorter than 16").then_some(log)
    });
    assert!(!log.contains("alert-key-123"), "the value is never logged");
    thread::sleep(Duration::from_millis(500));
    assert!(receiver.of("discord").is_empty(), "nothing was accepted");
}

#[test]
fn a_sender_can_neither_suppress_nor_resolve_another_senders_alert() {
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&with_key(&receiver));
    let post =
        |body: &Value| worker.request("POST", "/api/v1/alerts?channel=webhook", Some(ALERT_KEY), &body.to_string());
    let fp = "a1b2c3d4e5f60718";
    // B (the generic format) pre-posts A's fingerprint to make A's real alert a duplicate.
    let fake = |status: &str| json!({"title": "fake", "message": "m", "severity": "critical", "status": status, "fingerprint": fp});
    assert_eq!(post(&fake("firing")).json()["alerts"][0]["action"], "sent");
    // A (Alertmanager) fires: still sent.
    let a = post(&alertmanager("firing")).json();
    assert_eq!(a["alerts"][0]["fingerprint"], fp);
    assert_eq!(a["alerts"][0]["action"], "sent", "{a}");
    receiver.wait("webhook", 3, Duration::from_secs(20));
    // B resolves "its" fingerprint: only its own alert; A's stays firing, and A's repeat is a duplicate.
    assert_eq!(post(&fake("resolved")).json()["alerts"][0]["action"], "sent");
    let again = post(&alertmanager("firing")).json();
    assert!(again["alerts"].as_array().unwrap().iter().all(|x| x["action"] == "duplicate"), "{again}");
    let got = receiver.wait("webhook", 4, Duration::from_secs(20));
    let resolved: Vec<Value> = got.iter().map(|r| r.json()).filter(|b| b["alert"]["state"] == "resolved").collect();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["alert"]["source"], "external", "B's own alert resolved, not A's");
    // A's own resolution is honoured.
    let done = post(&alertmanager("resolved")).json();
    assert!(done["alerts"].as_array().unwrap().iter().all(|x| x["action"] == "sent"), "{done}");
    // Each sender's alert keeps its own row in the history: B's never overwrote A's.
    let rows = worker.wait_for("both senders' rows", Duration::from_secs(20), || {
        let r = worker.get("/api/v1/alerts/recent").json();
        let mine: Vec<Value> = r["alerts"].as_array()?.iter().filter(|a| a["fingerprint"] == fp).cloned().collect();
        (mine.len() == 2 && mine.iter().all(|a| a["state"] == "resolved")).then_some(mine)
    });
    let mut formats: Vec<&str> = rows.iter().map(|a| a["format"].as_str().unwrap()).collect();
    formats.sort_unstable();
    assert_eq!(formats, ["alertmanager", "generic"]);
}

#[test]
fn a_flood_of_alerts_leaves_service_notifications_deliverable_and_storage_bounded() {
    let receiver = Receiver::start();
    // The service's first attempt fails, so its notification is pending when the flood lands.
    receiver.script("retry-hook", &[500]);
    let mut worker = spawn_worker_with(&with_key(&receiver));
    worker.beat("notify-retry", &json!({"serviceId": "notify-retry"}));
    receiver.wait("retry-hook", 1, Duration::from_secs(20));
    for round in 0..3 {
        let alerts: Vec<Value> = (0..1_000)
            .map(|i| {
                json!({"status": "firing", "fingerprint": format!("flood-{round}-{i}"),
                       "labels": {"alertname": "Flood", "n": i.to_string()}, "annotations": {"summary": "x".repeat(100)}})
            })
            .collect();
        let body = json!({"version": "4", "status": "firing", "alerts": alerts});
        let a = worker.request("POST", "/api/v1/alerts?channel=webhook", Some(ALERT_KEY), &body.to_string());
        assert_eq!(a.status, 202, "{}", a.body);
    }
    let retried = receiver.wait("retry-hook", 2, Duration::from_secs(30));
    assert_eq!(retried[1].answered, 200, "the service's pending notification was delivered");
    thread::sleep(Duration::from_millis(2_000));
    worker.stop();
    // One row per tracked alert, at most 2,500 for the sender; the desk's own JSON stays small.
    let dir = worker.state_dir().join("v3/do/systole-AlertDesk");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "sqlite") && !p.ends_with("metadata.sqlite"))
        .unwrap();
    // Python's sqlite3 module (Python 3 is a prerequisite; the sqlite3 command is not).
    let script = "import sqlite3, sys\n\
        db = sqlite3.connect(sys.argv[1])\n\
        print(db.execute('SELECT count(*) FROM desk_alerts').fetchone()[0])\n\
        print(db.execute('SELECT max(length(state)) FROM desk').fetchone()[0])\n";
    let out = std::process::Command::new("python3").args(["-c", script]).arg(&file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let numbers: Vec<u64> = text.lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(numbers[0], 2_500, "{text}");
    assert!(numbers[1] < 1 << 20, "desk JSON {} bytes", numbers[1]);
}
