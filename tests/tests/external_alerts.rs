//! `POST /api/v1/alerts` through the real Worker: Alertmanager v4 (firing with two alerts, then
//! resolved) and Grafana payloads routed to channels, repeats de-duplicated by fingerprint,
//! everything recorded; malformed bodies and unknown channels get 400 problem+json; the
//! optional `ALERT_API_KEY`.
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::receiver::Receiver;
use systole_e2e::{channel_env, spawn_worker_with};

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
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    let post = |path: &str, body: &Value| worker.request("POST", path, None, &body.to_string());

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

    // Generic, routed by severity to every channel that takes alerts.
    let generic =
        post("/api/v1/alerts", &json!({"title": "Backup drift", "message": "3 h behind", "severity": "info"}));
    assert_eq!(generic.status, 202, "{}", generic.body);
    assert_eq!(generic.json()["alerts"][0]["channels"].as_array().unwrap().len(), 14);

    let recent = worker.wait_for("alerts recorded", Duration::from_secs(20), || {
        let r = worker.get("/api/v1/alerts/recent").json();
        (r["alerts"].as_array()?.len() == 4).then_some(r)
    });
    let db1 = recent["alerts"].as_array().unwrap().iter().find(|a| a["fingerprint"] == "a1b2c3d4e5f60718").unwrap();
    assert_eq!((db1["state"].as_str(), db1["format"].as_str()), (Some("resolved"), Some("alertmanager")));
    let history = worker.wait_for("attempts recorded", Duration::from_secs(20), || {
        let h = worker.get("/api/v1/alerts/history?subject=external&limit=100").json();
        (h["attempts"].as_array()?.len() >= 4 + 1 + 14).then_some(h)
    });
    assert!(history["attempts"].as_array().unwrap().iter().all(|a| a["event"] == "alert"));
}

#[test]
fn bad_alert_requests_get_problem_json_and_the_key_is_checked() {
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&channel_env(&receiver, &[("ALERT_API_KEY".into(), "alert-key-123".into())]));
    let post = |body: &str, key: Option<&str>| worker.request("POST", "/api/v1/alerts", key, body);
    let good = r#"{"title": "t", "message": "m"}"#;
    assert_eq!(post(good, None).status, 401);
    assert_eq!(post(good, Some("alert-key-12")).status, 401);
    assert_eq!(post(good, Some("alert-key-123")).status, 202);
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
        let a = post(body, Some("alert-key-123"));
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        assert_eq!(a.content_type, "application/problem+json", "{body}");
        if let Some(f) = field {
            assert_eq!(a.json()["field"], f, "{body}: {}", a.body);
        }
    }
    let unknown =
        post(r#"{"title": "t", "message": "m", "channels": ["discord", "carrier-pigeon"]}"#, Some("alert-key-123"));
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
