//! Stop the runtime and start it again on the same state folder: statuses, last
//! heartbeats, open incidents and pending deadlines survive, and a deadline that passed
//! while stopped takes the service down after the restart — with no request to it.
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::{ms, now_ms, spawn_worker, Worker};

/// `service`'s entry in `/api/v1/status` once its last heartbeat is written.
fn written(worker: &Worker, service: &str) -> Value {
    worker.wait_for(&format!("{service}'s heartbeat written"), Duration::from_secs(20), || {
        let s = worker.status_of(service);
        s["lastHeartbeat"].is_string().then_some(s)
    })
}

#[test]
fn state_and_deadlines_survive_a_runtime_restart() {
    let mut worker = spawn_worker();
    assert_eq!(worker.beat("restart-up", &json!({"serviceId": "restart-up", "message": "steady"})).status, 200);
    let down =
        worker.beat("restart-down", &json!({"serviceId": "restart-down", "status": "down", "message": "broken"}));
    assert_eq!(down.json()["status"], "down");
    let incident = worker.wait_for("incident flushed", Duration::from_secs(20), || {
        worker.get("/api/v1/incidents?serviceId=restart-down").json()["incidents"].get(0).cloned()
    });
    let before_up = written(&worker, "restart-up");
    let before_down = written(&worker, "restart-down");
    assert_eq!(before_up["message"], "steady");

    // The last heartbeat before the stop: its deadline passes while the runtime is stopped.
    let due = worker.beat("restart-due", &json!({"serviceId": "restart-due"})).json();
    assert_eq!(due["status"], "up");
    let due_at = ms(&due["nextDeadline"]);
    worker.stop();
    let wait = (due_at + 1_000 - now_ms()).max(0);
    thread::sleep(Duration::from_millis(u64::try_from(wait).unwrap()));
    let restarted = now_ms();
    worker.start();

    worker.wait_for_status("restart-due", "down", Duration::from_secs(20));
    // Up until the restart: the only change after the heartbeat is the one to down, recorded
    // by the restarted runtime.
    let changes = worker.status_changes("restart-due", 2);
    let steps: Vec<(&str, &str)> =
        changes.iter().map(|c| (c["from_status"].as_str().unwrap(), c["to_status"].as_str().unwrap())).collect();
    assert_eq!(steps, [("unknown", "up"), ("up", "down")]);
    assert_eq!(changes[0]["changed_at"].as_i64().unwrap(), ms(&due["receivedAt"]));
    let down_at = changes[1]["changed_at"].as_i64().unwrap();
    assert!(down_at >= restarted, "down {} ms before the restart", restarted - down_at);
    let after = worker.get("/api/v1/incidents?serviceId=restart-due").json();
    assert_eq!(after["incidents"][0]["open"], true);
    assert!(ms(&after["incidents"][0]["startedAt"]) >= due_at);

    let mut after_up = worker.status_of("restart-up");
    let mut expected_up = before_up.clone();
    for v in [&mut after_up, &mut expected_up] {
        v["secondsSinceLastHeartbeat"] = json!(null);
    }
    assert_eq!(after_up, expected_up, "up service with its pending deadline survives");
    assert_eq!(worker.status_of("restart-down")["statusSince"], before_down["statusSince"]);
    assert_eq!(worker.status_of("restart-down")["status"], "down");
    let still_open = worker.get("/api/v1/incidents?serviceId=restart-down").json()["incidents"][0].clone();
    assert_eq!(
        (still_open["startedAt"].clone(), still_open["open"].clone()),
        (incident["startedAt"].clone(), json!(true))
    );

    // The monitors still work after the restart: a heartbeat recovers the down service.
    let recovered = worker.beat("restart-down", &json!({"serviceId": "restart-down"})).json();
    assert_eq!(recovered["status"], "up");
}
