//! A service's life in the real Worker: up on a heartbeat, down at its deadline with an
//! incident, up again closing the incident; late inside grace; degraded and reported down.
//! Times are those the Worker recorded (status changes, incidents, `statusSince`); waits for
//! a state are generous, and latency bounds are assertions on the recorded times.
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use systole_core::time::Timestamp;
use systole_e2e::{ms, now_ms, spawn_worker};

/// `(from, to)` of each recorded status change.
fn transitions(changes: &[Value]) -> Vec<(&str, &str)> {
    changes.iter().map(|c| (c["from_status"].as_str().unwrap(), c["to_status"].as_str().unwrap())).collect()
}

/// When each recorded status change happened (epoch ms, the server's clock).
fn times(changes: &[Value]) -> Vec<i64> {
    changes.iter().map(|c| c["changed_at"].as_i64().unwrap()).collect()
}

#[test]
fn missed_deadline_goes_down_within_two_seconds_and_the_next_heartbeat_closes_the_incident() {
    let worker = spawn_worker();
    let first = worker.beat("fast", &json!({"serviceId": "fast", "message": "first"}));
    assert_eq!(first.status, 200, "{}", first.body);
    let accepted = first.json();
    assert_eq!(accepted["status"], "up");
    let received = ms(&accepted["receivedAt"]);
    let deadline = ms(&accepted["nextDeadline"]);
    assert_eq!(deadline - received, 3_000, "3 s threshold");

    let down = worker.wait_for("status down", Duration::from_secs(20), || {
        let s = worker.status_of("fast");
        (s["status"] == "down").then_some(s)
    });
    let changes = worker.status_changes("fast", 2);
    assert_eq!(transitions(&changes), [("unknown", "up"), ("up", "down")]);
    let [up_at, down_at] = times(&changes)[..] else { unreachable!() };
    assert_eq!(up_at, received, "up from the heartbeat on");
    assert_eq!(down["message"], "first");
    assert_eq!(ms(&down["statusSince"]), down_at);
    assert!((0..2_000).contains(&(down_at - deadline)), "down {} ms after the deadline", down_at - deadline);
    let incidents = worker.get("/api/v1/incidents?serviceId=fast").json();
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
        let i = worker.get("/api/v1/incidents?serviceId=fast").json()["incidents"][0].clone();
        (i["open"] == false).then_some(i)
    });
    assert_eq!(ms(&closed["endedAt"]), recovered_at);
    let duration_ms = (closed["durationSeconds"].as_f64().unwrap() * 1000.0).round() as i64;
    assert_eq!(duration_ms, recovered_at - started);
    assert_eq!(worker.get("/api/v1/incidents?serviceId=fast").json()["incidents"].as_array().unwrap().len(), 1);
}

#[test]
fn grace_period_shows_late_before_down() {
    let worker = spawn_worker();
    let accepted = worker.beat("graceful", &json!({"serviceId": "graceful"})).json();
    let deadline = ms(&accepted["nextDeadline"]);
    let grace_end = deadline + 2_000;
    let down = worker.wait_for("down", Duration::from_secs(20), || {
        let s = worker.status_of("graceful");
        (s["status"] == "down").then_some(s)
    });
    let changes = worker.status_changes("graceful", 3);
    assert_eq!(transitions(&changes), [("unknown", "up"), ("up", "late"), ("late", "down")]);
    let [_, late_at, down_at] = times(&changes)[..] else { unreachable!() };
    assert_eq!(ms(&down["statusSince"]), down_at);
    assert!(late_at >= deadline, "late {} ms before the deadline", deadline - late_at);
    assert!(down_at >= grace_end, "down {} ms before the grace period ends", grace_end - down_at);
    assert!(late_at - deadline < 2_000, "late {} ms after the deadline", late_at - deadline);
    assert!(down_at - grace_end < 2_000, "down {} ms after the grace period", down_at - grace_end);
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
        let list = worker.get("/api/v1/incidents?serviceId=reporter").json();
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
    let status = worker.get("/api/v1/status").json();
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
    // Everything below happens on one UTC day of the server's clock (today's row, a CSV of
    // one date), whatever time the test runs.
    worker.wait_for_day_with(Duration::from_secs(300));
    let accepted = worker.beat("fast", &json!({"serviceId": "fast"}));
    assert_eq!(accepted.status, 200);
    let received = ms(&accepted.json()["receivedAt"]);
    let down = worker.wait_for("down", Duration::from_secs(20), || {
        let s = worker.status_of("fast");
        (s["status"] == "down").then_some(s)
    });
    let down_at = ms(&down["statusSince"]);
    let up_ms = down_at - received;
    // At least 2 s of the outage have passed by the server's clock.
    thread::sleep(Duration::from_millis(u64::try_from((down_at + 2_000 - now_ms()).max(0)).unwrap()));
    let asked = now_ms();
    let report = worker.get("/api/v1/uptime?serviceId=fast").json();
    let answered = now_ms();
    let days = report["services"][0]["days"].as_array().unwrap();
    assert_eq!(days.len(), 120, "the retention window, one entry per day");
    let date = |t: i64| Timestamp::from_millis(t).date_string().unwrap();
    let to = report["to"].as_str().unwrap();
    assert_eq!([date(received), date(down_at)], [to, to], "the scenario fell on one UTC day");
    let (today, before) = days.split_last().unwrap();
    assert_eq!(today["date"], report["to"]);
    assert!(before.iter().all(|d| d["uptimePercent"].is_null()), "days without data are null, not 100 %");
    let pct = today["uptimePercent"].as_f64().unwrap();
    let down = today["downtimeMinutes"].as_f64().unwrap();
    // Up from the heartbeat to the recorded down time, then down until the report was made
    // (≥ 2 s, still counting though nothing was written since).
    let expected = |report_at: i64| 100.0 * up_ms as f64 / (report_at - received) as f64;
    assert!(
        (expected(answered) - 0.001..=expected(asked) + 0.001).contains(&pct),
        "uptime {pct} %: {up_ms} ms up, then down from {down_at} to between {asked} and {answered}"
    );
    assert!(pct < 75.0, "uptime {pct} %");
    assert!(down >= 2.0 / 60.0 - 0.05, "downtime {down} min");
    let later = worker.get("/api/v1/uptime?serviceId=fast").json();
    let later_today = later["services"][0]["days"].as_array().unwrap().iter().find(|d| d["date"] == today["date"]);
    assert!(later_today.unwrap()["downtimeMinutes"].as_f64().unwrap() >= down, "the open outage keeps counting");

    let csv = worker.get(&format!(
        "/api/v1/uptime?serviceId=fast&format=csv&from={}&to={}",
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
