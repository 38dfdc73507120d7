//! The end-to-end step of `cargo xtask test`: every test binary of `systole-e2e`, a few at a
//! time.
//!
//! The suites spend most of their time waiting for deadlines, alarms and flushes of the
//! Workers they start (each on its own ports and state folder, see `systole_e2e`), so running
//! binaries side by side shortens the step without sharing any state. Each binary's output
//! goes to `target/e2e-logs/<name>.log` and is printed whole when it ends, so the log reads
//! as one suite after another. A failing binary does not stop the others: the step fails at
//! the end, naming every binary that failed.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Instant;

use crate::{cargo, root, Result};

/// Test binaries started first because they run longest (seconds in a warm run: telemetry
/// ~275, waiting for a 5-minute rollup bucket to close; schemathesis ~140), so the others
/// fill the remaining slots around them.
const LONGEST_FIRST: [&str; 2] = ["telemetry", "schemathesis"];

/// Binaries run at once unless `SYSTOLE_E2E_JOBS` says otherwise; each runs its tests two at
/// a time.
const DEFAULT_JOBS: usize = 2;

/// One integration-test binary of `systole-e2e`.
struct Binary {
    name: String,
    path: PathBuf,
}

/// Builds the `systole-e2e` test binaries, runs them [`DEFAULT_JOBS`] at a time (longest
/// first), and fails naming each binary that failed.
pub fn run() -> Result<()> {
    let mut bins = binaries()?;
    bins.sort_by_key(|b| LONGEST_FIRST.iter().position(|n| *n == b.name).unwrap_or(usize::MAX));
    let jobs = std::env::var("SYSTOLE_E2E_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_JOBS).max(1);
    let logs = root().join("target/e2e-logs");
    fs::create_dir_all(&logs)?;
    eprintln!("end-to-end: {} test binaries, {jobs} at a time; logs in {}", bins.len(), logs.display());
    let next = AtomicUsize::new(0);
    let failed: Vec<&str> = thread::scope(|s| {
        let runners: Vec<_> = (0..jobs)
            .map(|_| {
                s.spawn(|| {
                    let mut failed = Vec::new();
                    while let Some(bin) = bins.get(next.fetch_add(1, Ordering::Relaxed)) {
                        if let Err(e) = run_one(bin, &logs) {
                            eprintln!("end-to-end: {}: FAILED: {e}", bin.name);
                            failed.push(bin.name.as_str());
                        }
                    }
                    failed
                })
            })
            .collect();
        runners.into_iter().flat_map(|r| r.join().unwrap_or_else(|_| vec!["(a runner thread panicked)"])).collect()
    });
    if !failed.is_empty() {
        return Err(format!("end-to-end binaries failed: {} (logs in {})", failed.join(", "), logs.display()).into());
    }
    Ok(())
}

/// Runs `bin` with its output in `logs/<name>.log`, then prints that log.
fn run_one(bin: &Binary, logs: &Path) -> Result<()> {
    let log_path = logs.join(format!("{}.log", bin.name));
    let log = File::create(&log_path)?;
    let started = Instant::now();
    let status = Command::new(&bin.path)
        .args(["--test-threads", "2"])
        .current_dir(root().join("tests"))
        .env("SYSTOLE_SKIP_BUILD", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()?;
    let output = fs::read_to_string(&log_path).unwrap_or_default();
    eprintln!("\n--- end-to-end: {} ({status}, {:.0} s) ---\n{output}", bin.name, started.elapsed().as_secs_f64());
    if !status.success() {
        return Err(format!("{status}").into());
    }
    Ok(())
}

/// Builds `systole-e2e`'s integration tests and lists their executables (from cargo's
/// `--message-format=json` artifacts of kind `test`).
fn binaries() -> Result<Vec<Binary>> {
    let out = cargo(&["test", "-p", "systole-e2e", "--tests", "--no-run", "--message-format=json"])
        .env("SYSTOLE_SKIP_BUILD", "1")
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(format!("building the end-to-end tests failed: {}", out.status).into());
    }
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let is_test = msg["reason"] == "compiler-artifact"
            && msg["profile"]["test"] == true
            && msg["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "test"));
        if let (true, Some(path), Some(name)) = (is_test, msg["executable"].as_str(), msg["target"]["name"].as_str()) {
            found.push(Binary { name: name.to_owned(), path: PathBuf::from(path) });
        }
    }
    if found.is_empty() {
        return Err("no end-to-end test binaries were built".into());
    }
    Ok(found)
}
