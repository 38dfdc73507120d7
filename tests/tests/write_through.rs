//! Sparse heartbeats (at least a flush interval apart; the test config's is 1 s) are written
//! through to D1 before they are answered: no event row, no flush alarm, the alarm moved to
//! the new deadline. A restart in the middle of such a stream loses nothing, duplicates
//! nothing and raises no false `down`; a D1 outage falls back to buffering.
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::outage::D1Outage;
use systole_e2e::{ms, spawn_worker, Worker};

/// Past the test config's flush interval (1 s).
const SPARSE: Duration = Duration::from_millis(1_300);

fn stats(worker: &Worker, service: &str) -> Value {
    worker.get(&format!("/api/internal/stats?serviceId={service}")).json()
}

fn count(v: &Value, field: &str) -> i64 {
    v[field].as_i64().unwrap()
}

/// `service`'s heartbeats in D1: (seq, received_at), oldest first.
fn heartbeats(worker: &Worker, service: &str) -> Vec<(i64, i64)> {
    let sql = format!("SELECT seq, received_at FROM heartbeats WHERE service_id = '{service}' ORDER BY seq");
    worker.d1(&sql).iter().map(|r| (r["seq"].as_i64().unwrap(), r["received_at"].as_i64().unwrap())).collect()
}

#[test]
fn sparse_heartbeats_are_in_d1_when_answered_and_survive_a_restart() {
    let mut worker = spawn_worker();
    let service = "restart-up";
    let body = json!({"serviceId": service, "message": "sparse"});
    // The first heartbeat changes the status: stored and flushed as before.
    assert_eq!(worker.beat(service, &body).status, 200);
    worker.wait_for("first heartbeat flushed", Duration::from_secs(20), || {
        (heartbeats(&worker, service).len() == 1).then_some(())
    });
    // Past the flush's planned follow-up wake, which finds nothing.
    thread::sleep(2 * SPARSE);
    let before = stats(&worker, service);
    let mut received = Vec::new();
    for i in 0..3 {
        let answer = worker.beat(service, &body).json();
        assert_eq!(answer["status"], "up");
        received.push(ms(&answer["receivedAt"]));
        let stored = heartbeats(&worker, service);
        assert_eq!(stored.len(), 2 + i, "heartbeat {i} is in D1 as soon as it is answered");
        assert_eq!(stored.last().unwrap().1, *received.last().unwrap());
        thread::sleep(SPARSE);
    }
    let after = stats(&worker, service);
    let delta = |f: &str| count(&after, f) - count(&before, f);
    assert_eq!(delta("storageRowsWritten"), 0, "no event row, no state row: {after}");
    assert_eq!(delta("alarmsFired"), 0, "no flush alarm: {after}");
    assert_eq!(delta("alarmsSet"), 3, "one alarm move per heartbeat: {after}");

    // A restart in the middle of the stream: the stored record lags (it last changed at the
    // first heartbeat); the restarted object catches up from D1.
    worker.stop();
    worker.start();
    let answer = worker.beat(service, &body).json();
    assert_eq!(answer["status"], "up");
    thread::sleep(SPARSE);
    assert_eq!(worker.beat(service, &body).json()["status"], "up");
    let stored = heartbeats(&worker, service);
    assert_eq!(stored.len(), 6, "every heartbeat once: {stored:?}");
    assert!(stored.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1), "sequence numbers never reused: {stored:?}");
    assert_eq!(worker.status_changes(service, 1).len(), 1, "no status change but the first");
    // The uptime tally counts every heartbeat across the restart (written with the next
    // status change's rollups).
    assert_eq!(worker.beat(service, &json!({"serviceId": service, "status": "degraded"})).status, 200);
    worker.status_changes(service, 2);
    worker.wait_for("rollups with every heartbeat", Duration::from_secs(20), || {
        let rows = worker.d1(&format!("SELECT sum(heartbeats) AS n FROM uptime_daily WHERE service_id = '{service}'"));
        (rows[0]["n"].as_i64() == Some(7)).then_some(())
    });
}

#[test]
fn a_restart_after_a_written_through_heartbeat_keeps_its_deadline() {
    // `through-grace`: threshold 5 s, grace 5 s. The second heartbeat is written through and
    // moves the deadline; after a restart the object goes late at that deadline and down at
    // its grace end, not at those of the first heartbeat, which its stored record knows.
    let mut worker = spawn_worker();
    let service = "through-grace";
    let body = json!({"serviceId": service});
    assert_eq!(worker.beat(service, &body).status, 200);
    thread::sleep(Duration::from_millis(2_200));
    let second = worker.beat(service, &body).json();
    let deadline = ms(&second["nextDeadline"]);
    worker.stop();
    worker.start();
    let changes = worker.status_changes(service, 3);
    let steps: Vec<(&str, i64)> =
        changes.iter().map(|c| (c["to_status"].as_str().unwrap(), c["changed_at"].as_i64().unwrap())).collect();
    assert_eq!((steps[1].0, steps[2].0), ("late", "down"), "{steps:?}");
    assert!(steps[1].1 >= deadline, "late {} ms early", deadline - steps[1].1);
    assert!(steps[2].1 >= deadline + 5_000, "down {} ms early", deadline + 5_000 - steps[2].1);
    // Both heartbeats once each.
    assert_eq!(heartbeats(&worker, service).len(), 2);
}

#[test]
fn a_missed_deadline_after_written_through_heartbeats_is_detected_on_time() {
    // `fast`: threshold 3 s, no grace.
    let worker = spawn_worker();
    let service = "fast";
    let body = json!({"serviceId": service});
    assert_eq!(worker.beat(service, &body).status, 200);
    let mut last = Value::Null;
    for _ in 0..2 {
        // Past the first flush's planned follow-up, within the threshold.
        thread::sleep(Duration::from_millis(2_200));
        last = worker.beat(service, &body).json();
    }
    let deadline = ms(&last["nextDeadline"]);
    let changes = worker.status_changes(service, 2);
    assert_eq!(changes[1]["to_status"], "down");
    let at = changes[1]["changed_at"].as_i64().unwrap();
    assert!(at >= deadline, "down {} ms before its deadline", deadline - at);
    assert!(at < deadline + 1_500, "down {} ms after its deadline", at - deadline);
}

#[test]
fn a_d1_outage_falls_back_to_buffering_and_flushes_later() {
    let worker = spawn_worker();
    let service = "restart-up";
    let body = json!({"serviceId": service});
    assert_eq!(worker.beat(service, &body).status, 200);
    worker.wait_for("first heartbeat flushed", Duration::from_secs(20), || {
        (heartbeats(&worker, service).len() == 1).then_some(())
    });
    thread::sleep(2 * SPARSE);
    let before = stats(&worker, service);
    let outage = D1Outage::begin(worker.state_dir());
    let answer = worker.beat(service, &body);
    assert_eq!(answer.status, 200, "answered once stored in the object: {}", answer.body);
    let after = stats(&worker, service);
    assert_eq!(count(&after, "storageRowsWritten") - count(&before, "storageRowsWritten"), 1, "its event row: {after}");
    outage.end();
    let received = ms(&answer.json()["receivedAt"]);
    worker.wait_for("buffered heartbeat flushed after the outage", Duration::from_secs(30), || {
        heartbeats(&worker, service).iter().any(|h| h.1 == received).then_some(())
    });
    assert_eq!(heartbeats(&worker, service).len(), 2);
}
