//! The whole documented API fuzzed: Schemathesis (pinned in
//! `tests/schemathesis/requirements.txt`, installed by `cargo xtask test` into
//! `.tools/schemathesis`) sends every operation of `docs/openapi.yaml` its examples and
//! generated and mutated requests (valid and invalid parameters, headers and bodies, with a
//! fixed seed) and checks that no answer is a 5xx and that every answer's status code,
//! content type, headers and body are the ones the spec documents for it.
//!
//! Two Workers: the main build (users, so the credentials below reach the authenticated
//! routes; the seed endpoints switched off) and the cloudflaremon build (an open deployment
//! with every seed endpoint on). Schemathesis's reports stay under `target/e2e/`.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use systole_e2e::receiver::Receiver;
use systole_e2e::{
    channel_env_for, key, root, spawn_build, Build, Worker, ADMIN_TOKEN, CLOUDFLAREMON, TESTS, WITHOUT_OWN_KEY,
};

/// The `ALERT_API_KEY` both Workers run with.
const ALERT_KEY: &str = "alert-key-for-schemathesis-0123456789";

/// Documented operations the config leaves out: `GET /api/internal/trap`, which traps the
/// Worker by design (a 500; `tests/tests/faults.rs` covers it).
const DISABLED: usize = 1;

/// Test cases per operation and phase; with the fixed seed, each run sends the same requests.
const MAX_EXAMPLES: &str = "40";

/// Schemathesis's `st` from the virtualenv `cargo xtask test` installs.
fn st() -> PathBuf {
    let st = root().join(".tools/schemathesis/bin/st");
    assert!(st.is_file(), "{} is missing: run `cargo xtask test` (its pinned-tools step installs it)", st.display());
    st
}

/// Runs Schemathesis over the whole spec against `build` (with `ALERT_API_KEY` set and the
/// channels pointing at a local receiver) and asserts it found nothing.
fn fuzz(build: Build) {
    let receiver = Receiver::start();
    let vars = channel_env_for(build, &receiver, &[("ALERT_API_KEY".to_owned(), ALERT_KEY.to_owned())]);
    let worker: Worker = spawn_build(build, &vars);
    let dir = worker.state_dir().parent().unwrap().join("schemathesis");
    fs::create_dir_all(&dir).unwrap();
    let deployment = build.deployment();
    let service =
        deployment.config.services.iter().map(|s| s.id.as_str()).find(|id| !WITHOUT_OWN_KEY.contains(id)).unwrap();
    // Credentials per operation: a user's token for the read and admin routes, a service's key
    // for the heartbeat routes, the alert key for the alert intakes.
    let config = format!(
        r#"
hooks = "hooks"

[cache]
enabled = false

[headers]
Authorization = "Bearer {ADMIN_TOKEN}"

[[operations]]
include-path = ["/api/heartbeat", "/api/v1/heartbeat"]
headers = {{ Authorization = "Bearer {heartbeat}" }}

[[operations]]
include-path = ["/api/alert", "/api/v1/alerts"]
headers = {{ Authorization = "Bearer {ALERT_KEY}" }}

# Traps the Worker by design (a 500); tests/tests/faults.rs covers it.
[[operations]]
include-path = "/api/internal/trap"
enabled = false
"#,
        heartbeat = key(service),
    );
    let config_file = dir.join("schemathesis.toml");
    fs::write(&config_file, config).unwrap();
    let out = Command::new(st())
        .arg("--config-file")
        .arg(&config_file)
        .arg("run")
        .arg(root().join("docs/openapi.yaml"))
        .args(["--url", &worker.base, "--seed", "1", "--max-examples", MAX_EXAMPLES, "--workers", "1"])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance",
        ])
        .args(["--request-timeout", "30", "--no-color", "--output-truncate", "false", "--report", "junit"])
        .arg("--report-dir")
        .arg(dir.join("report"))
        .current_dir(&dir)
        // The hooks (tests/schemathesis/hooks.py) give part of the generated heartbeats and
        // sign-ins a configured service and its key, or a user's token.
        .env("PYTHONPATH", root().join("tests/schemathesis"))
        .env("SYSTOLE_ST_SERVICE", service)
        .env("SYSTOLE_ST_KEY", key(service))
        .env("SYSTOLE_ST_TOKEN", ADMIN_TOKEN)
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "Schemathesis found problems ({}):\n{stdout}\n{}\nworker log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        worker.log_tail()
    );
    // The run tested every operation the spec documents but the one the config disables
    // (`Selected: 81/82`, `Tested: 81`).
    let counts = |label: &str| {
        let line = stdout
            .lines()
            .find_map(|l| l.trim_start().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label}:\n{stdout}"));
        let mut n = line.trim().split('/').map(|n| n.parse::<usize>().unwrap());
        (n.next().unwrap(), n.next())
    };
    let ((selected, Some(documented)), (tested, _)) = (counts("Selected:"), counts("Tested:")) else {
        panic!("no `Selected: n/total`:\n{stdout}")
    };
    assert_eq!((tested, documented - selected), (selected, DISABLED), "{stdout}");
    let summary = stdout.lines().skip_while(|l| !l.contains("SUMMARY")).collect::<Vec<_>>().join("\n");
    eprintln!("{summary}");
}

#[test]
fn every_documented_operation_answers_as_documented_to_generated_and_mutated_requests() {
    fuzz(TESTS);
}

#[test]
fn every_documented_operation_answers_as_documented_on_an_open_deployment_with_the_seed_endpoints_on() {
    fuzz(CLOUDFLAREMON);
}
