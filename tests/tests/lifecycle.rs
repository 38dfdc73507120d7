//! A service's life in the real Worker: up on a heartbeat, down at its deadline with an
//! incident, up again closing the incident; late inside grace; degraded and reported down.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::json;
use systole_e2e::{ms, now_ms, spawn_worker};

#[test]
fn missed_deadline_goes_down_within_two_seconds_and_the_next_heartbeat_closes_the_incident() {
    let worker = spawn_worker();
    let first = worker.beat("fast", &json!({"serviceId": "fast", "message": "first"}));
    assert_eq!(first.status, 200, "{}", first.body);
    let accepted = first.json();
    assert_eq!(accepted["status"], "up");
    let deadline = ms(&accepted["nextDeadline"]);
    assert_eq!(deadline - ms(&accepted["receivedAt"]), 3_000, "3 s threshold");

    let up = worker.wait_for("status up", Duration::from_secs(20), || {
        let s = worker.status_of("fast");
        (s["status"] == "up").then_some(s)
    });
    assert_eq!(up["message"], "first");

    worker.wait_for("status down", Duration::from_secs(8), || {
        (worker.status_of("fast")["status"] == "down").then_some(())
    });
    let seen_down = now_ms();
    assert!(seen_down <= deadline + 2_000, "down seen {} ms after the deadline", seen_down - deadline);
    let incidents = worker.get("/api/incidents?serviceId=fast").json();
    let open = &incidents["incidents"][0];
    assert_eq!(open["open"], true);
    let started = ms(&open["startedAt"]);
    assert!(
        (deadline..deadline + 2_000).contains(&started),
        "incident opened {} ms after the deadline",
        started - deadline
    );
    assert_eq!(open["cause"], "no heartbeat within 3 s");

    let recovery = worker.beat("fast", &json!({"serviceId": "fast"})).json();
    assert_eq!(recovery["status"], "up");
    let recovered_at = ms(&recovery["receivedAt"]);
    let closed = worker.wait_for("incident closed", Duration::from_secs(20), || {
        let i = worker.get("/api/incidents?serviceId=fast").json()["incidents"][0].clone();
        (i["open"] == false).then_some(i)
    });
    assert_eq!(ms(&closed["endedAt"]), recovered_at);
    let duration_ms = (closed["durationSeconds"].as_f64().unwrap() * 1000.0).round() as i64;
    assert_eq!(duration_ms, recovered_at - started);
    assert_eq!(worker.get("/api/incidents?serviceId=fast").json()["incidents"].as_array().unwrap().len(), 1);
}

#[test]
fn grace_period_shows_late_before_down() {
    let worker = spawn_worker();
    let accepted = worker.beat("graceful", &json!({"serviceId": "graceful"})).json();
    let deadline = ms(&accepted["nextDeadline"]);
    worker
        .wait_for("late", Duration::from_secs(6), || (worker.status_of("graceful")["status"] == "late").then_some(()));
    assert!(now_ms() >= deadline);
    worker
        .wait_for("down", Duration::from_secs(8), || (worker.status_of("graceful")["status"] == "down").then_some(()));
    assert!(now_ms() >= deadline + 2_000, "not down before the grace period ends");
}

#[test]
fn reported_statuses_degrade_and_fail_the_service_at_once() {
    let worker = spawn_worker();
    let degraded =
        worker.beat("reporter", &json!({"serviceId": "reporter", "status": "degraded", "message": "disk 91%"}));
    assert_eq!(degraded.json()["status"], "degraded");
    let down =
        worker.beat("reporter", &json!({"serviceId": "reporter", "status": "down", "message": "db unreachable"}));
    assert_eq!(down.json()["status"], "down");
    let incident = worker.wait_for("incident", Duration::from_secs(20), || {
        let list = worker.get("/api/incidents?serviceId=reporter").json();
        list["incidents"].get(0).cloned()
    });
    assert_eq!(incident["cause"], "heartbeat reported down: db unreachable");
    assert_eq!(incident["open"], true);
    let status = worker.status_of("reporter");
    assert_eq!((status["status"].as_str(), status["message"].as_str()), (Some("down"), Some("db unreachable")));
}

#[test]
fn disabled_services_are_paused_and_keyless_services_need_no_key() {
    let worker = spawn_worker();
    let status = worker.get("/api/status").json();
    assert_eq!(status["summary"]["paused"], 1);
    let open = worker.request("POST", "/api/heartbeat", None, r#"{"serviceId": "open"}"#);
    assert_eq!(open.status, 200, "{}", open.body);
    let guarded = worker.request("POST", "/api/heartbeat", None, r#"{"serviceId": "guarded"}"#);
    assert_eq!(guarded.status, 401);
    let paused = worker.beat("paused-svc", &json!({"serviceId": "paused-svc"}));
    assert_eq!(paused.json()["status"], "paused");
    assert_eq!(paused.json()["nextDeadline"], serde_json::Value::Null);
}

#[test]
fn uptime_counts_an_outage_in_progress_and_exports_csv() {
    let worker = spawn_worker();
    assert_eq!(worker.beat("fast", &json!({"serviceId": "fast"})).status, 200);
    worker.wait_for("down", Duration::from_secs(8), || (worker.status_of("fast")["status"] == "down").then_some(()));
    std::thread::sleep(Duration::from_secs(2));
    let report = worker.get("/api/uptime?serviceId=fast").json();
    let days = report["services"][0]["days"].as_array().unwrap();
    assert_eq!(days.len(), 120, "the retention window, one entry per day");
    assert!(days[..119].iter().all(|d| d["uptimePercent"].is_null()), "days without data are null, not 100 %");
    let today = &days[119];
    let pct = today["uptimePercent"].as_f64().unwrap();
    let down = today["downtimeMinutes"].as_f64().unwrap();
    // About 3 s up, then down until now (≥ 2 s, still counting though nothing was written since).
    assert!(pct < 75.0 && pct > 10.0, "uptime {pct} %");
    assert!(down >= 2.0 / 60.0 - 0.05, "downtime {down} min");
    let later = worker.get("/api/uptime?serviceId=fast").json()["services"][0]["days"][119]["downtimeMinutes"]
        .as_f64()
        .unwrap();
    assert!(later >= down, "the open outage keeps counting");

    let csv = worker.get(&format!(
        "/api/uptime?serviceId=fast&format=csv&from={}&to={}",
        today["date"].as_str().unwrap(),
        today["date"].as_str().unwrap()
    ));
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "date,service_id,service_name,uptime_percent,downtime_minutes,monitored_minutes,heartbeats");
    assert_eq!(lines.len(), 2);
    assert!(
        lines[1].starts_with(&format!("{},fast,Fast (3 s threshold),", today["date"].as_str().unwrap())),
        "{}",
        lines[1]
    );
}
