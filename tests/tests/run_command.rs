//! `systole run` around real shell commands against the real Worker: the Worker accepts its
//! start and end signals (no warning from the CLI), the service is up after a success, and
//! each signal is recorded as a heartbeat, the failure's with its exit status.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use systole_e2e::{key, root, spawn_worker, Worker};

/// The clients group's CLI service (its own Worker here, so its history starts empty);
/// `tests/config` has no service of its own for `run`: its service count is fixed by the
/// housekeeping test's pages.
const SERVICE: &str = "client-cli";

fn systole_run(worker: &Worker, script: &str) -> Output {
    let cli = root().join("target/debug/systole");
    assert!(cli.exists(), "build the CLI first: cargo build -p systole-client");
    Command::new(cli)
        .args(["run", "--", "sh", "-c", script])
        .env("SYSTOLE_URL", &worker.base)
        .env("SYSTOLE_SERVICE", SERVICE)
        .env("SYSTOLE_KEY", key(SERVICE))
        .output()
        .unwrap()
}

/// The service's recorded heartbeats, newest first, once there are `n`.
fn heartbeats(worker: &Worker, n: usize) -> Vec<Value> {
    worker.wait_for(&format!("{n} heartbeats of {SERVICE}"), Duration::from_secs(20), || {
        let logs = worker.get(&format!("/api/v1/logs?serviceId={SERVICE}")).json();
        let beats = logs["heartbeats"].as_array().unwrap().clone();
        (beats.len() >= n).then_some(beats)
    })
}

#[test]
fn systole_run_reports_a_succeeding_and_a_failing_shell_command() {
    let worker = spawn_worker();

    let ok = systole_run(&worker, "echo backing up; sleep 0.2");
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "backing up\n");
    assert_eq!(String::from_utf8_lossy(&ok.stderr), "", "the Worker accepted start and success");
    worker.wait_for_status(SERVICE, "up", Duration::from_secs(20));
    assert_eq!(heartbeats(&worker, 2).len(), 2, "start and success");

    let failed = systole_run(&worker, "echo disk full >&2; exit 3");
    assert_eq!(failed.status.code(), Some(3), "the command's own exit status");
    assert_eq!(String::from_utf8_lossy(&failed.stderr), "disk full\n", "the Worker accepted start and fail");
    let beats = heartbeats(&worker, 4);
    assert_eq!(beats[0]["message"], "exit status 3", "the newest heartbeat is the failure");

    // Each start paired with its end by the run id: two runs, with their durations, the
    // failure named with its exit status, and the output's tail as the run's log.
    let runs = worker.wait_for("two runs", Duration::from_secs(20), || {
        let runs = worker.get(&format!("/api/v1/services/{SERVICE}/runs")).json()["runs"].as_array().cloned()?;
        (runs.len() >= 2).then_some(runs)
    });
    let (failed, ok) = (&runs[0], &runs[1]);
    assert_eq!((ok["outcome"].as_str(), failed["outcome"].as_str()), (Some("success"), Some("fail")), "{runs:?}");
    assert!(ok["durationMs"].as_u64().is_some_and(|ms| ms >= 200), "{ok}");
    assert_eq!((failed["exitStatus"].as_u64(), failed["reason"].as_str()), (Some(3), Some("failed")), "{failed}");
    assert_ne!(ok["runId"], failed["runId"], "a fresh run id per run");
    let log = worker.get(&format!("/api/v1/services/{SERVICE}/runs/{}/log", failed["n"]));
    assert_eq!(log.body, "disk full\n");
    worker.wait_for_status(SERVICE, "down", Duration::from_secs(20));
}
