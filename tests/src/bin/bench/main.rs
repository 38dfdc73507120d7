//! `cargo xtask bench`: measures the Worker in local workerd and writes `target/benchmarks.md`,
//! which xtask merges into `docs/benchmarks.md`.
//!
//! All numbers come from one run on one machine, as ratios where absolute numbers would
//! mostly measure `wrangler dev`'s Node proxy. Each section is its own module and returns
//! its part of the document:
//! - [`floor`]: the heartbeat beside the runtime's floor (the minimal Workers of
//!   `tests/floor/`), for one service and for 50, as ratios;
//! - [`throughput`]: heartbeat throughput, latency and runtime CPU per request at 16
//!   connections vs `/healthz` (trivial route), and the answer time of a wrong-key heartbeat
//!   for a known service id vs an unknown id (no timing oracle for ids);
//! - [`rows`]: D1 rows and Durable Object storage rows (alarms included) written per
//!   heartbeat, from the objects' own counters (`meta.rows_written`, SQL cursor
//!   `rowsWritten`, `setAlarm` calls);
//! - [`delivery`]: from a deadline to the receiver holding the notification;
//! - [`size`]: the wasm size and the cold start;
//! - [`dashboard`]: live push latency, render time, page weight, idle tabs;
//! - [`budgets`]: subrequests per invocation against the free plan's 50 and CPU per
//!   request against its 10 ms, per route, cron tick and Durable Object event;
//! - [`cost`]: what a fleet of 60 and of 1,000 services costs a day, from the figures above;
//! - [`fleet`]: flat cost from 10 to 10,000 services (its own two deployments);
//! - [`managed`] (`--managed` only): creating 10,000 managed services through the API and
//!   listing them;
//! - [`profile`] (`--profile` only): where the isolate's JavaScript thread time goes under the
//!   floor section's heartbeat loads (V8's profiler); [`perf`] (`--perf` only): where the
//!   runtime process's CPU goes under them (Linux `perf`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod budgets;
mod cost;
mod dashboard;
mod delivery;
mod fleet;
mod floor;
mod managed;
mod metrics;
mod perf;
mod profile;
mod rows;
mod size;
mod throughput;

use std::fs;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use systole_e2e::receiver::Receiver;
use systole_e2e::{channel_env, root, spawn_worker_with, Worker};

pub const CONNECTIONS: usize = 16;
pub const WARMUP: Duration = Duration::from_secs(2);
pub const MEASURE: Duration = Duration::from_secs(10);
/// The `load-*` test services the heartbeat load spreads over.
pub const SERVICES: usize = 50;

/// One route under [`load`].
#[derive(Debug)]
pub struct Run {
    pub requests: usize,
    pub errors: usize,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The runtime's CPU time over the measured period divided by the requests answered in
    /// it, ms ([`Worker::runtime_cpu`]).
    pub cpu_ms: f64,
}

impl Run {
    /// The table row `| name | req/s | p50 | p99 | CPU ms/req | requests | errors |`.
    pub fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {:.0} | {:.1} | {:.1} | {:.3} | {} | {} |",
            self.per_second, self.p50_ms, self.p99_ms, self.cpu_ms, self.requests, self.errors
        )
    }
}

/// Drives `request` (given a running request number) from [`CONNECTIONS`] threads against
/// `worker` for the warm-up and then the measured period, and measures the runtime's CPU
/// over the measured period.
pub fn load(worker: &Worker, name: &str, request: &(dyn Fn(usize) -> bool + Sync)) -> Run {
    load_timed(worker, name, WARMUP, MEASURE, request)
}

/// [`load`] with its own warm-up and measured period.
pub fn load_timed(
    worker: &Worker,
    name: &str,
    warmup: Duration,
    measure: Duration,
    request: &(dyn Fn(usize) -> bool + Sync),
) -> Run {
    let stop = AtomicBool::new(false);
    let measuring = AtomicBool::new(false);
    let counter = AtomicUsize::new(0);
    let errors = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::new());
    let mut measured = Duration::ZERO;
    let mut cpu = Duration::ZERO;
    thread::scope(|s| {
        for _ in 0..CONNECTIONS {
            s.spawn(|| {
                let mut mine = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let t = Instant::now();
                    let ok = request(n);
                    if measuring.load(Ordering::Relaxed) {
                        mine.push(t.elapsed());
                        if !ok {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
        thread::sleep(warmup);
        let cpu_before = worker.runtime_cpu();
        measuring.store(true, Ordering::Relaxed);
        let t = Instant::now();
        thread::sleep(measure);
        stop.store(true, Ordering::Relaxed);
        measured = t.elapsed();
        cpu = worker.runtime_cpu().saturating_sub(cpu_before);
    });
    let mut l = latencies.into_inner().unwrap();
    l.sort();
    let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)].as_secs_f64() * 1000.0;
    let run = Run {
        requests: l.len(),
        errors: errors.load(Ordering::Relaxed),
        per_second: l.len() as f64 / measured.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        cpu_ms: cpu.as_secs_f64() * 1000.0 / l.len().max(1) as f64,
    };
    eprintln!(
        "bench: {name}: {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, CPU {:.3} ms/req, {} errors",
        run.per_second, run.p50_ms, run.p99_ms, run.cpu_ms, run.errors
    );
    run
}

/// A ServiceMonitor's in-memory counters (`GET /api/internal/stats`).
pub fn stats(worker: &Worker, service: &str) -> Value {
    worker.get(&format!("/api/internal/stats?serviceId={service}")).json()
}

/// Waits while touching every object every 2 s: the counters live in memory, and workerd
/// evicts an idle Durable Object after a few seconds, which resets them. For the same reason
/// the counted phases (prime, snapshot, load, settle, snapshot) run back to back.
pub fn wait_warm(worker: &Worker, services: &[String], total: Duration) {
    let start = Instant::now();
    while start.elapsed() < total {
        for s in services {
            let _ = worker.get(&format!("/api/internal/echo?serviceId={s}"));
        }
        thread::sleep(Duration::from_secs(2));
    }
}

/// The median of `v`: its middle value after sorting, the mean of the two middle values for
/// an even count (taking the upper one, as this did before 2026-12-05, skewed every median
/// of an even count upward: a floor run's throughput ratio by up to 0.04); `NaN` when
/// empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match (v.get(n / 2), n % 2) {
        (Some(upper), 0) => v.get(n / 2 - 1).map_or(*upper, |lower| (lower + upper) / 2.0),
        (Some(middle), _) => *middle,
        (None, _) => f64::NAN,
    }
}

/// The `q` quantile of sorted values (nearest rank).
pub fn percentile(sorted: &[i64], q: f64) -> i64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}

/// The `load-*` services and their keys.
pub fn load_services() -> Vec<String> {
    (0..SERVICES).map(|i| format!("load-{i:02}")).collect()
}

fn main() {
    if std::env::var("SYSTOLE_BENCH_ONLY").is_ok_and(|v| v == "fleet") {
        print!("{}", fleet::run());
        return;
    }
    if std::env::var("SYSTOLE_BENCH_ONLY").is_ok_and(|v| v == "metrics") {
        print!("{}", metrics::run());
        return;
    }
    let quick = std::env::var("SYSTOLE_BENCH_QUICK").is_ok_and(|v| v == "1");
    let receiver = Receiver::start();
    // Without the per-service heartbeat rate limit: one service's flood would be refused.
    let env = [
        ("BENCH_SERVICE_RATE_UNLIMITED".to_owned(), "1".to_owned()),
        ("ALERT_API_KEY".to_owned(), budgets::ALERT_KEY.to_owned()),
    ];
    let mut worker = spawn_worker_with(&channel_env(&receiver, &env));
    if std::env::var("SYSTOLE_BENCH_ONLY").is_ok_and(|v| v == "managed") {
        print!("{}", managed::run(&worker));
        return;
    }
    if std::env::var("SYSTOLE_BENCH_ONLY").is_ok_and(|v| v == "rows") {
        // Only the rows section, printed (the worker built from `target/bench-config`).
        let (rows, sparse) = rows::run(&worker);
        print!("{rows}\nsparse: {sparse:?}\n");
        return;
    }
    // `cargo xtask bench --floor`: only the floor section, printed; `--profile` and `--perf`:
    // its ratios and the sampler's reports.
    if std::env::var("SYSTOLE_BENCH_ONLY").is_ok_and(|v| v == "floor") {
        let sampler = match std::env::var("SYSTOLE_BENCH_PROFILE").as_deref() {
            Ok("1") => floor::Sampler::Inspector,
            Ok("perf") => floor::Sampler::Perf,
            _ => floor::Sampler::Off,
        };
        print!("{}", floor::run(&worker, false, sampler));
        return;
    }
    let (throughput, beat_cpu) = throughput::run(&worker, quick);
    let floor = floor::run(&worker, quick, floor::Sampler::Off);
    if quick {
        return;
    }
    let mut doc = format!(
        "# Benchmarks

Produced by `cargo xtask bench` (source: `tests/src/bin/bench/`) against the Worker in local
workerd (`wrangler dev --local`; the `tests/config` services with default settings, so a 10 s
history flush interval), {CONNECTIONS} connections, {warmup} s warm-up then {measure} s measured per route,
on this machine's 2 cores with the load generator on the same machine. `wrangler dev` puts a
Node proxy in front of workerd, which caps throughput: compare routes as ratios within one run,
not as absolute numbers. The ratios move by about ±0.05 between runs when anything else uses
the two cores; run it twice before trusting a change of that size. CPU per request is the
runtime's: the `workerd` process's CPU time (`/proc/<pid>/stat` utime + stime) over the
measured period, divided by the requests answered in it.

",
        warmup = WARMUP.as_secs(),
        measure = MEASURE.as_secs(),
    );
    doc += &throughput;
    doc += &floor;
    let (rows, sparse) = rows::run(&worker);
    doc += &rows;
    doc += &delivery::run(&worker, &receiver);
    let bench_config = |f: &str| fs::read_to_string(root().join("target/bench-config").join(f)).ok();
    let fleet: Vec<String> = systole_core::config::Deployment::parse(bench_config)
        .unwrap()
        .config
        .services
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    doc += &dashboard::run(&worker, &fleet);
    let (budgets, peaks) = budgets::run(&worker, &fleet);
    doc += &budgets;
    doc += &cost::section(&cost::Measured {
        do_rows: sparse.do_rows,
        d1_rows: sparse.d1_rows,
        do_requests: sparse.do_requests,
        cpu_ms: beat_cpu,
        heartbeat_subrequests: peaks.heartbeat,
        cron_subrequests: peaks.cron,
    });
    // Last with this worker: it restarts the runtime.
    doc += &size::run(&mut worker);
    drop(worker);
    doc += &fleet::run();
    // `cargo xtask bench` merges it into `docs/benchmarks.md` section by section, keeping the
    // sections this run does not produce (the `--managed` and `--metrics` runs', hand-kept
    // records).
    fs::write(root().join("target/benchmarks.md"), &doc).unwrap();
    print!("{doc}");
}
