//! `cargo xtask bench`: measures the Worker in local workerd and writes `docs/benchmarks.md`.
//!
//! All numbers come from one run on one machine, as ratios where absolute numbers would
//! mostly measure `wrangler dev`'s Node proxy:
//! - heartbeat throughput and p50/p99 latency at 16 connections vs `/healthz` (trivial route);
//! - D1 rows and Durable Object storage rows (alarms included) written per heartbeat, from the
//!   objects' own counters (`meta.rows_written`, SQL cursor `rowsWritten`, `setAlarm` calls);
//! - the answer time of a wrong-key heartbeat for a known service id vs an unknown id (the
//!   key is checked at the edge, so both should cost the same: no timing oracle for ids);
//! - the gzipped wasm size;
//! - the dashboard ([`dashboard`]): live push latency, render time, page weight, idle tabs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dashboard;

use std::fs;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use systole_e2e::receiver::Receiver;
use systole_e2e::{channel_env, key, ms, root, spawn_worker_with, Worker};

const CONNECTIONS: usize = 16;
const WARMUP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(10);
const SERVICES: usize = 50;
/// Incidents measured for detection-to-delivery latency.
const INCIDENTS: usize = 50;

struct Run {
    requests: usize,
    errors: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Drives `request` from 16 threads for the warm-up and then the measured period.
fn load(name: &str, request: &(dyn Fn(usize) -> bool + Sync)) -> Run {
    let stop = AtomicBool::new(false);
    let measuring = AtomicBool::new(false);
    let counter = AtomicUsize::new(0);
    let errors = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::new());
    let mut measured = Duration::ZERO;
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
        thread::sleep(WARMUP);
        measuring.store(true, Ordering::Relaxed);
        let t = Instant::now();
        thread::sleep(MEASURE);
        stop.store(true, Ordering::Relaxed);
        measured = t.elapsed();
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
    };
    eprintln!(
        "bench: {name}: {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {} errors",
        run.per_second, run.p50_ms, run.p99_ms, run.errors
    );
    run
}

/// Median answer times (ms) of wrong-key heartbeats for a known id and for an unknown id, and
/// how many of each were measured: 16 threads, each alternating the two kinds so both see the
/// same load, for the warm-up and then the measured period. Every answer must be the 401.
fn wrong_key_medians(worker: &Worker, services: &[String]) -> ((f64, usize), (f64, usize)) {
    let stop = AtomicBool::new(false);
    let measuring = AtomicBool::new(false);
    let times: Mutex<[Vec<Duration>; 2]> = Mutex::new([Vec::new(), Vec::new()]);
    // Same lengths: `load-07` and `nope-07`; a wrong key as long as a real one. Each thread
    // speaks from its own addresses, as separate hosts (the per-IP limit counts 401s).
    let wrong = "x".repeat(key(&services[0]).len());
    thread::scope(|s| {
        for t in 0..CONNECTIONS {
            let (stop, measuring, times, wrong) = (&stop, &measuring, &times, &wrong);
            s.spawn(move || {
                let auth = format!("Bearer {wrong}");
                let mut mine: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
                let mut n = t;
                while !stop.load(Ordering::Relaxed) {
                    // A new address every 200 requests, well under the per-address limit of
                    // requests without a valid key.
                    let ip = format!("10.{}.{}.{}", t + 1, (n / 200) / 256 % 256, (n / 200) % 256);
                    let headers = [
                        ("Authorization", auth.as_str()),
                        ("Content-Type", "application/json"),
                        ("CF-Connecting-IP", ip.as_str()),
                    ];
                    let known = &services[n % services.len()];
                    let id = if n % 2 == 0 { known.clone() } else { known.replacen("load", "nope", 1) };
                    let started = Instant::now();
                    let a = worker.send("POST", "/api/heartbeat", &headers, &json!({"serviceId": id}).to_string());
                    let took = started.elapsed();
                    assert_eq!(a.status, 401, "{id}: {}", a.body);
                    if measuring.load(Ordering::Relaxed) {
                        mine[n % 2].push(took);
                    }
                    n += 1;
                }
                let mut all = times.lock().unwrap();
                all[0].append(&mut mine[0]);
                all[1].append(&mut mine[1]);
            });
        }
        thread::sleep(WARMUP);
        measuring.store(true, Ordering::Relaxed);
        thread::sleep(MEASURE);
        stop.store(true, Ordering::Relaxed);
    });
    let [mut known, mut unknown] = times.into_inner().unwrap();
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        (v[v.len() / 2].as_secs_f64() * 1000.0, v.len())
    };
    let (known, unknown) = (median(&mut known), median(&mut unknown));
    eprintln!(
        "bench: wrong-key heartbeat: known id median {:.2} ms ({}), unknown id {:.2} ms ({})",
        known.0, known.1, unknown.0, unknown.1
    );
    (known, unknown)
}

fn stats(worker: &Worker, service: &str) -> Value {
    worker.get(&format!("/api/internal/stats?serviceId={service}")).json()
}

/// Waits while touching every object every 2 s: the counters live in memory, and workerd
/// evicts an idle Durable Object after a few seconds, which resets them. For the same reason
/// the counted phases (prime, snapshot, load, settle, snapshot) run back to back.
fn wait_warm(worker: &Worker, services: &[String], total: Duration) {
    let start = Instant::now();
    while start.elapsed() < total {
        for s in services {
            let _ = worker.get(&format!("/api/internal/echo?serviceId={s}"));
        }
        thread::sleep(Duration::from_secs(2));
    }
}

fn gzipped_wasm() -> (u64, u64) {
    let wasm = root().join("crates/worker/build/index_bg.wasm");
    let raw = fs::metadata(&wasm).expect("build the worker first").len();
    let out = Command::new("gzip").arg("-9c").arg(&wasm).output().unwrap();
    (raw, out.stdout.len() as u64)
}

/// Milliseconds from each incident's deadline to the receiver holding its `down` message,
/// sorted.
fn detection_to_delivery(worker: &Worker, receiver: &Receiver) -> Vec<i64> {
    let service = "notify-bench";
    let mut latencies = Vec::new();
    for i in 0..INCIDENTS {
        let answer = worker.beat(service, &json!({"serviceId": service}));
        let deadline = ms(&answer.json()["nextDeadline"]);
        let got = receiver.wait("bench-hook", i + 1, Duration::from_secs(10));
        latencies.push(got[i].at_ms - deadline);
    }
    latencies.sort_unstable();
    eprintln!("detection to delivery: {latencies:?}");
    latencies
}

/// The `q` quantile of sorted values (nearest rank).
fn percentile(sorted: &[i64], q: f64) -> i64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}

fn main() {
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    let services: Vec<String> = (0..SERVICES).map(|i| format!("load-{i:02}")).collect();
    let bodies: Vec<String> =
        services.iter().map(|s| json!({"serviceId": s, "message": "bench"}).to_string()).collect();
    let keys: Vec<String> = services.iter().map(|s| key(s)).collect();

    let trivial = load("GET /healthz", &|_| worker.get("/healthz").status == 200);
    let echo = load("GET /api/internal/echo", &|n| {
        worker.get(&format!("/api/internal/echo?serviceId={}", services[n % SERVICES])).status == 200
    });
    // Prime every service (its first status change, rollups and state row are one-off
    // writes), let it flush, and count only what the measured load adds: steady state.
    for (k, b) in keys.iter().zip(&bodies) {
        assert_eq!(worker.request("POST", "/api/heartbeat", Some(k), b).status, 200);
    }
    wait_warm(&worker, &services, Duration::from_secs(12));
    let before: Vec<Value> = services.iter().map(|s| stats(&worker, s)).collect();

    let beats = load("POST /api/heartbeat", &|n| {
        let i = n % SERVICES;
        worker.request("POST", "/api/heartbeat", Some(&keys[i]), &bodies[i]).status == 200
    });

    // Let every object flush what the load left (up to two 10 s intervals), then count.
    wait_warm(&worker, &services, Duration::from_secs(21));
    let after: Vec<Value> = services.iter().map(|s| stats(&worker, s)).collect();
    let added = |field: &str| -> f64 {
        after.iter().zip(&before).map(|(a, b)| a[field].as_f64().unwrap() - b[field].as_f64().unwrap()).sum()
    };
    let heartbeats = added("heartbeats");
    let storage = added("storageRowsWritten");
    let alarms = added("alarmsSet");
    let d1 = added("d1RowsWritten");
    let flushes = added("flushes");

    // The round trip plus the heartbeat's durable write (the records exist now).
    let persist = load("GET /api/internal/echo-persist", &|n| {
        worker.get(&format!("/api/internal/echo-persist?serviceId={}", services[n % SERVICES])).status == 200
    });
    let ((known_ms, known_n), (unknown_ms, unknown_n)) = wrong_key_medians(&worker, &services);
    let oracle = known_ms / unknown_ms;
    if std::env::var("SYSTOLE_BENCH_QUICK").is_ok_and(|v| v == "1") {
        // `cargo xtask bench --quick`: the throughput ratios only, nothing written.
        let ratio = |r: &Run| r.per_second / trivial.per_second;
        println!(
            "quick: healthz {:.0}/s; echo {:.2}, echo-persist {:.2}, heartbeat {:.2} of it; heartbeat/echo-persist {:.2}; \
             wrong-key median known/unknown id {oracle:.2}",
            trivial.per_second,
            ratio(&echo),
            ratio(&persist),
            ratio(&beats),
            beats.per_second / persist.per_second
        );
        return;
    }

    // Sparse traffic: one heartbeat per flush interval, the worst case for batching.
    let sparse = "load-00";
    let before = stats(&worker, sparse);
    for _ in 0..3 {
        worker.beat(sparse, &json!({"serviceId": sparse}));
        wait_warm(&worker, &[sparse.to_owned()], Duration::from_secs(11));
    }
    let after = stats(&worker, sparse);
    let delta = |f: &str| after[f].as_f64().unwrap() - before[f].as_f64().unwrap();
    let sparse_beats = delta("heartbeats");
    let sparse_d1 = delta("d1RowsWritten") / sparse_beats;
    let sparse_do = (delta("storageRowsWritten") + delta("alarmsSet")) / sparse_beats;

    let delivery = detection_to_delivery(&worker, &receiver);
    let bench_config = |f: &str| fs::read_to_string(root().join("target/bench-config").join(f)).ok();
    let fleet: Vec<String> = systole_core::config::Deployment::parse(bench_config)
        .unwrap()
        .config
        .services
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    let dashboard = dashboard::run(&worker, &fleet);
    let (raw, gz) = gzipped_wasm();
    let row = |name: &str, r: &Run| {
        format!("| {name} | {:.0} | {:.1} | {:.1} | {} | {} |", r.per_second, r.p50_ms, r.p99_ms, r.requests, r.errors)
    };
    let doc = format!(
        "# Benchmarks

Produced by `cargo xtask bench` (source: `tests/src/bin/bench.rs`) against the Worker in local
workerd (`wrangler dev --local`; the `tests/config` services with default settings, so a 10 s
history flush interval), {CONNECTIONS} connections, {warmup} s warm-up then {measure} s measured per route,
on this machine's 2 cores with the load generator on the same machine. `wrangler dev` puts a
Node proxy in front of workerd, which caps throughput: compare routes as ratios within one run,
not as absolute numbers. The ratios move by about ±0.05 between runs when anything else uses
the two cores; run it twice before trusting a change of that size.

## Heartbeat route vs a trivial route

| route | req/s | p50 ms | p99 ms | requests | errors |
| --- | ---: | ---: | ---: | ---: | ---: |
{trivial_row}
{echo_row}
{persist_row}
{beats_row}

**Heartbeat throughput: {ratio:.2} of the trivial route** (target ≥ 0.6). The cost decomposes
along the rows above: the bare round trip router → Durable Object → router runs at
{echo_ratio:.2}; adding the one durable write a heartbeat needs before its answer (serialize the
record, rewrite its SQLite row, output gate) brings it to {persist_ratio:.2}; the rest (body
parsing, key check, state machine, alarm decision) is the difference to the heartbeat row.

## Wrong key: known id vs unknown id

A heartbeat with a wrong key for a configured service and one for an id that does not exist,
alternated on each of the {CONNECTIONS} connections ({warmup} s warm-up, {measure} s measured; each
connection from its own client addresses, a new one every 200 requests, under the per-address
limit of requests without a valid key): both are refused at the edge with the same 401 and
count against that limit alike, so neither costs a Durable Object request and the answer time
tells nothing about which ids exist.

| heartbeat | answers | median ms |
| --- | ---: | ---: |
| wrong key, known id | {known_n} | {known_ms:.2} |
| wrong key, unknown id | {unknown_n} | {unknown_ms:.2} |

**Known vs unknown id: medians {oracle:.2} of each other** (target within 10 %: 0.90–1.10).

## Rows written per heartbeat

Counted by each ServiceMonitor: D1 `meta.rows_written` of its flush batches, its SQLite
cursors' `rowsWritten`, and its `setAlarm` calls (each a billed row write). Steady state: every
service got a first heartbeat and flushed before counting (one-off writes: the first status
change, rollups and state row), and the sums cover the measured heartbeat load and its flushes.

| traffic | heartbeats | DO storage rows + alarms per heartbeat | D1 rows per heartbeat |
| --- | ---: | ---: | ---: |
| load above, 50 services ({flushes:.0} flushes) | {heartbeats:.0} | {do_per_beat:.3} ({storage:.0} rows + {alarms:.0} alarms) | {d1_per_beat:.3} |
| sparse: one heartbeat per flush interval | {sparse_beats:.0} | {sparse_do:.2} | {sparse_d1:.2} |

Targets: ≤ 1 each, amortized. Each heartbeat is one SQLite row write in its Durable Object (the
buffered events live in the state row) and one D1 row; under traffic the alarm is set once per
flush interval, and rollups plus `service_state` are written only on a status change or when a
5-minute bucket closes (3 rows per service per 5 minutes). A sparse heartbeat costs its own
rows plus an alarm for the flush; the next deadline's alarm is left in place when it is later.
A {measure} s load also pays each service's start and stop (the first flush alarm, then one
planned wake that finds nothing and the deadline): about four alarms per service here, where a
long steady stream sets one per flush interval.

## Detection to delivery

From a service's deadline (the `nextDeadline` its last heartbeat was answered with) to the
local receiver holding the `down` webhook, over {incidents} incidents of `notify-bench` (1 s
staleness threshold, no grace): the ServiceMonitor's alarm fires at the deadline, the state
machine opens the incident, the notification is queued, persisted and sent from that same
alarm.

| incidents | p50 ms | p99 ms | max ms |
| --- | ---: | ---: | ---: |
| {incidents} | {d50} | {d99} | {dmax} |

Target: p99 < 1 s locally. The seeds' cron design needs up to 10 minutes (one 5-minute cron
tick to notice, plus the staleness threshold's rounding to it).

## Worker size

| artifact | bytes |
| --- | ---: |
| `index_bg.wasm` | {raw} |
| gzipped (`gzip -9`) | {gz} ({gz_kib:.0} KiB; target ≤ 1 MB) |
",
        warmup = WARMUP.as_secs(),
        measure = MEASURE.as_secs(),
        trivial_row = row("`GET /healthz` (trivial)", &trivial),
        echo_row = row("`GET /api/internal/echo` (router → Durable Object, no work)", &echo),
        persist_row = row("`GET /api/internal/echo-persist` (round trip + rewrite the stored record)", &persist),
        beats_row = row("`POST /api/heartbeat` (router → ServiceMonitor, 50 services)", &beats),
        ratio = beats.per_second / trivial.per_second,
        echo_ratio = echo.per_second / trivial.per_second,
        persist_ratio = persist.per_second / trivial.per_second,
        do_per_beat = (storage + alarms) / heartbeats,
        d1_per_beat = d1 / heartbeats,
        gz_kib = gz as f64 / 1024.0,
        incidents = delivery.len(),
        d50 = percentile(&delivery, 0.50),
        d99 = percentile(&delivery, 0.99),
        dmax = delivery.last().copied().unwrap_or_default(),
    );
    let doc = doc + &dashboard;
    fs::write(root().join("docs/benchmarks.md"), &doc).unwrap();
    print!("{doc}");
}
