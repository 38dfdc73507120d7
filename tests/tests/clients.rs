//! The copy-paste clients (bash, Python, Node) and `systole beat` against the real Worker:
//! each succeeds with the right key and fails clearly (non-zero exit, the server's error)
//! with a wrong one.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};
use std::time::Duration;

use systole_e2e::{key, root, spawn_worker, Worker};

fn run(worker: &Worker, program: &str, args: &[&str], service: &str, key: &str) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(root())
        .env("SYSTOLE_URL", &worker.base)
        .env("SYSTOLE_SERVICE", service)
        .env("SYSTOLE_KEY", key)
        .env("SYSTOLE_MESSAGE", format!("from {service}"))
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn check(worker: &Worker, program: &str, args: &[&str], service: &str) {
    let ok = run(worker, program, args, service, &key(service));
    assert!(ok.status.success(), "{program} failed: {}", String::from_utf8_lossy(&ok.stderr));
    let bad = run(worker, program, args, service, "wrong-key");
    assert_eq!(bad.status.code(), Some(1), "{program} with a wrong key");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("missing or invalid heartbeat key"),
        "{program} stderr: {stderr}"
    );
    let logs = worker.wait_for("client heartbeat flushed", Duration::from_secs(20), || {
        let l = worker.get(&format!("/api/v1/logs?serviceId={service}")).json();
        (l["heartbeats"].as_array().unwrap().len() == 1).then_some(l)
    });
    assert_eq!(logs["heartbeats"][0]["message"], format!("from {service}"));
}

#[test]
fn every_client_succeeds_with_its_key_and_fails_clearly_without() {
    let worker = spawn_worker();
    check(&worker, "bash", &["clients/bash/heartbeat.sh"], "client-bash");
    check(&worker, "python3", &["clients/python/heartbeat.py"], "client-python");
    check(&worker, "node", &["clients/node/heartbeat.mjs"], "client-node");
    let cli = root().join("target/debug/systole");
    assert!(cli.exists(), "build the CLI first: cargo build -p systole-client");
    check(&worker, cli.to_str().unwrap(), &["beat"], "client-cli");
}
