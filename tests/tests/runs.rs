//! Job runs on the real Worker: a run's duration in the runs API and its log, overrun at
//! start + `maxRuntime`, missed at the scheduled time + `startWindow`, a non-zero exit status
//! in the notification, and a log event that changes nothing.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::receiver::Receiver;
use systole_e2e::{channel_env, key, ms, spawn_worker, spawn_worker_with, Worker, ADMIN_TOKEN};

/// The runs of `service` once `n` are listed.
fn runs(worker: &Worker, service: &str, n: usize) -> Vec<Value> {
    worker.wait_for(&format!("{n} runs of {service}"), Duration::from_secs(20), || {
        let runs = worker.get(&format!("/api/v1/services/{service}/runs")).json()["runs"].as_array().cloned().unwrap();
        (runs.len() >= n).then_some(runs)
    })
}

/// The status change of `service` to `to`, once recorded: (changed_at ms, reason).
fn change_to(worker: &Worker, service: &str, to: &str) -> (i64, String) {
    worker.wait_for(&format!("{service} {to}"), Duration::from_secs(20), || {
        let rows = worker.d1(&format!(
            "SELECT changed_at, reason FROM status_changes WHERE service_id = '{service}' AND to_status = '{to}'"
        ));
        rows.first().map(|r| (r["changed_at"].as_i64().unwrap(), r["reason"].as_str().unwrap().to_owned()))
    })
}

#[test]
fn a_run_that_starts_and_succeeds_records_its_duration_and_output_and_a_log_changes_nothing() {
    let worker = spawn_worker();
    let started = worker.beat("job-ok", &json!({"serviceId": "job-ok", "event": "start", "runId": "r-1"})).json();
    assert_eq!(started["status"], "unknown", "a start changes no status");
    std::thread::sleep(Duration::from_millis(300));
    let body = json!({"serviceId": "job-ok", "runId": "r-1", "exitStatus": 0, "output": "backup done\n"});
    let ended = worker.beat("job-ok", &body).json();
    assert_eq!(ended["status"], "up");
    let run = runs(&worker, "job-ok", 1).remove(0);
    let duration = ms(&ended["receivedAt"]) - ms(&started["receivedAt"]);
    assert!(duration >= 300);
    assert_eq!(run["durationMs"], duration);
    assert_eq!((run["runId"].as_str(), run["outcome"].as_str()), (Some("r-1"), Some("success")));
    assert_eq!(
        (run["exitStatus"].as_i64(), run["reason"].is_null(), run["hasOutput"].as_bool()),
        (Some(0), true, Some(true))
    );
    assert_eq!(run["startedAt"], started["receivedAt"]);
    let log = worker.get(&format!("/api/v1/services/job-ok/runs/{}/log", run["n"]));
    assert_eq!((log.status, log.body.as_str()), (200, "backup done\n"));
    assert!(log.header("content-type").unwrap().starts_with("text/plain"));
    // The job's page lists the run with its duration, outcome and a link to its log.
    let login = worker.login(ADMIN_TOKEN);
    let cookie = login.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
    let page = worker.get_as("/services/job-ok", None, Some(&cookie));
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!(r#"<tr data-run="{}">"#, run["n"])), "{}", page.body);
    assert!(page.body.contains(&format!(r#"href="/api/v1/services/job-ok/runs/{}/log""#, run["n"])));
    assert!(page.body.contains(r#"<td class="s-up">success</td><td>0</td>"#) && page.body.contains("run duration (s)"));
    let none = worker.get("/api/v1/services/job-ok/runs/999/log");
    assert_eq!((none.status, none.header("content-type")), (404, Some("application/problem+json")));
    assert_eq!(worker.get("/api/v1/services/ghost/runs").status, 404);
    assert_eq!(worker.get("/api/v1/services/job-ok/runs?cursor=x").status, 400);

    // A log event: recorded, nothing else moves.
    let logged = worker.beat("job-ok", &json!({"serviceId": "job-ok", "event": "log", "output": "still here"})).json();
    assert_eq!((logged["status"].as_str(), &logged["nextDeadline"]), (Some("up"), &ended["nextDeadline"]));
    let status = worker.status_of("job-ok");
    assert_eq!(ms(&status["lastHeartbeat"]), ms(&ended["receivedAt"]), "{status}");
    assert_eq!(runs(&worker, "job-ok", 1).len(), 1, "a log is no run");

    // Paging: newest first, by run number.
    worker.beat("job-ok", &json!({"serviceId": "job-ok", "durationMs": 5}));
    let page = worker.wait_for("two runs", Duration::from_secs(20), || {
        let page = worker.get("/api/v1/services/job-ok/runs?limit=1").json();
        page["nextCursor"].is_string().then_some(page)
    });
    assert_eq!(page["runs"][0]["durationMs"], 5);
    let next =
        worker.get(&format!("/api/v1/services/job-ok/runs?limit=1&cursor={}", page["nextCursor"].as_str().unwrap()));
    assert_eq!(next.json()["runs"][0]["runId"], "r-1");
    assert!(next.json()["nextCursor"].is_null());

    // 10,000 bytes of output are never refused for their size, however they escape: each
    // control character is six bytes of JSON, 60,000 in all, past the plain 16 KiB limit.
    let output = "\u{1}".repeat(10_000);
    let body = json!({"serviceId": "job-ok", "event": "log", "runId": "r-2", "output": output});
    assert!(body.to_string().len() > 60_000);
    assert_eq!(worker.beat("job-ok", &body).status, 200);
    let body = json!({"serviceId": "job-ok", "runId": "r-3", "exitStatus": 0, "output": output});
    assert_eq!(worker.beat("job-ok", &body).status, 200);
    let run = runs(&worker, "job-ok", 3).remove(0);
    assert_eq!(run["runId"], "r-3");
    let log = worker.get(&format!("/api/v1/services/job-ok/runs/{}/log", run["n"]));
    assert_eq!((log.status, log.body.len()), (200, 10_000));

    // Those successes came sooner than job-ok's minInterval (60 s) after the one before:
    // pingedTooOften in the status API and on the page, with no status change.
    let status = worker.wait_for("pingedTooOften", Duration::from_secs(20), || {
        let s = worker.status_of("job-ok");
        (s["pingedTooOften"] == true).then_some(s)
    });
    assert_eq!(status["status"], "up");
    let page = worker.get_as("/services/job-ok", None, Some(&cookie));
    assert!(page.body.contains(r#"data-field="pinged-too-often""#), "{}", page.body);
    // Recent heartbeats name each signal (the start, the log, the run's success).
    for signal in ["<td>start</td>", "<td>log</td>", r#"<td class="s-up">success (exit status 0)</td>"#] {
        assert!(page.body.contains(signal), "{signal}: {}", page.body);
    }
    let logs = worker.get("/api/v1/logs?serviceId=job-ok&limit=500").json();
    let events: Vec<&str> =
        logs["heartbeats"].as_array().unwrap().iter().map(|h| h["event"].as_str().unwrap()).collect();
    assert_eq!(events.last(), Some(&"start"), "{events:?}");
    assert!(events.contains(&"log") && events.contains(&"success"), "{events:?}");
}

#[test]
fn a_run_that_never_finishes_goes_down_overrun_at_start_plus_max_runtime() {
    let worker = spawn_worker();
    worker.beat("job-overrun", &json!({"serviceId": "job-overrun"}));
    let start = worker.beat("job-overrun", &json!({"serviceId": "job-overrun", "event": "start"})).json();
    let at = ms(&start["receivedAt"]);
    assert_eq!(ms(&start["nextDeadline"]), at + 3_000, "the overrun timer is the alarm");
    let (changed_at, reason) = change_to(&worker, "job-overrun", "down");
    assert!((at + 3_000..at + 4_500).contains(&changed_at), "down {} ms after the start", changed_at - at);
    assert!(reason.starts_with("run overrun:") && reason.contains("3 s"), "{reason}");
    let run = runs(&worker, "job-overrun", 1).remove(0);
    assert_eq!((run["outcome"].as_str(), run["reason"].as_str()), (Some("overrun"), Some("overrun")));
    assert!(run["endedAt"].is_null());
}

#[test]
fn a_run_that_does_not_start_is_missed_at_the_scheduled_time_plus_the_start_window() {
    let worker = spawn_worker();
    let first = worker.beat("job-missed", &json!({"serviceId": "job-missed"})).json();
    let scheduled = ms(&first["nextDeadline"]);
    assert_eq!(scheduled, ms(&first["receivedAt"]) + 2_000);
    let (late_at, _) = change_to(&worker, "job-missed", "late");
    assert!((scheduled..scheduled + 1_500).contains(&late_at));
    let (changed_at, reason) = change_to(&worker, "job-missed", "down");
    let missed = scheduled + 2_000;
    assert!((missed..missed + 1_500).contains(&changed_at), "down {} ms after the window", changed_at - missed);
    assert!(reason.starts_with("run missed: no start or success within 2 s"), "{reason}");
}

#[test]
fn exit_status_3_fails_the_run_and_the_notification_says_so() {
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    let answer = worker.request(
        "POST",
        "/api/v1/heartbeat",
        Some(&key("job-exit")),
        &json!({"serviceId": "job-exit", "exitStatus": 3, "output": "disk full"}).to_string(),
    );
    assert_eq!(answer.json()["status"], "down");
    let got = receiver.wait("bench-hook", 1, Duration::from_secs(20));
    assert!(got[0].body.contains("run failed with exit status 3"), "{}", got[0].body);
    let run = runs(&worker, "job-exit", 1).remove(0);
    assert_eq!(
        (run["outcome"].as_str(), run["exitStatus"].as_i64(), run["reason"].as_str()),
        (Some("fail"), Some(3), Some("failed"))
    );
    // The incident carries its kind, and the incidents API filters by it.
    let incidents = worker.get("/api/v1/incidents?serviceId=job-exit&kind=failed").json();
    assert_eq!(incidents["incidents"][0]["kind"], "failed", "{incidents}");
    let none = worker.get("/api/v1/incidents?serviceId=job-exit&kind=overrun").json();
    assert_eq!(none["incidents"], json!([]));
    assert_eq!(worker.get("/api/v1/incidents?kind=gremlins").status, 400);
    let logs = worker.get("/api/v1/logs?serviceId=job-exit").json();
    assert_eq!((&logs["heartbeats"][0]["event"], &logs["heartbeats"][0]["exitStatus"]), (&json!("fail"), &json!(3)));
    // Out of range: a 400 naming the field and its limit.
    let bad = worker.request(
        "POST",
        "/api/v1/heartbeat",
        Some(&key("job-exit")),
        &json!({"serviceId": "job-exit", "exitStatus": 256}).to_string(),
    );
    assert_eq!(
        (bad.status, bad.json()["field"].as_str(), bad.json()["limit"].as_i64()),
        (400, Some("exitStatus"), Some(255))
    );
}
