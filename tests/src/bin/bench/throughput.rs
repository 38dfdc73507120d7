//! Heartbeat throughput, latency and runtime CPU per request vs a trivial route, and the
//! answer time of a wrong-key heartbeat for a known id vs an unknown id.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use systole_e2e::{key, Worker};

use super::{load, load_services, Run, CONNECTIONS, MEASURE, SERVICES, WARMUP};

/// Runs the throughput routes and the wrong-key comparison; answers the document's section
/// (with `quick`, prints the ratios only and answers nothing).
pub fn run(worker: &Worker, quick: bool) -> (String, f64) {
    let services = load_services();
    let bodies: Vec<String> =
        services.iter().map(|s| json!({"serviceId": s, "message": "bench"}).to_string()).collect();
    let keys: Vec<String> = services.iter().map(|s| key(s)).collect();

    let trivial = load(worker, "GET /healthz", &|_| worker.get("/healthz").status == 200);
    let echo = load(worker, "GET /api/internal/echo", &|n| {
        worker.get(&format!("/api/internal/echo?serviceId={}", services[n % SERVICES])).status == 200
    });
    let beats = load(worker, "POST /api/heartbeat", &|n| {
        let i = n % SERVICES;
        worker.request("POST", "/api/heartbeat", Some(&keys[i]), &bodies[i]).status == 200
    });
    // The round trip plus the heartbeat's durable write (the records exist now).
    let persist = load(worker, "GET /api/internal/echo-persist", &|n| {
        worker.get(&format!("/api/internal/echo-persist?serviceId={}", services[n % SERVICES])).status == 200
    });
    let ((known_ms, known_n), (unknown_ms, unknown_n)) = wrong_key_medians(worker, &services);
    let oracle = known_ms / unknown_ms;
    let ratio = |r: &Run| r.per_second / trivial.per_second;
    if quick {
        // `cargo xtask bench --quick`: the throughput ratios only, nothing written.
        println!(
            "quick: healthz {:.0}/s; echo {:.2}, echo-persist {:.2}, heartbeat {:.2} of it; heartbeat/echo-persist {:.2}; \
             heartbeat CPU {:.3} ms/req; wrong-key median known/unknown id {oracle:.2}",
            trivial.per_second,
            ratio(&echo),
            ratio(&persist),
            ratio(&beats),
            beats.per_second / persist.per_second,
            beats.cpu_ms,
        );
        return (String::new(), beats.cpu_ms);
    }
    let doc = format!(
        "## Heartbeat route vs a trivial route

| route | req/s | p50 ms | p99 ms | CPU ms/req | requests | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{trivial_row}
{echo_row}
{persist_row}
{beats_row}

**Heartbeat throughput: {beat_ratio:.2} of the trivial route** (target ≥ 0.6). The cost decomposes
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

",
        warmup = WARMUP.as_secs(),
        measure = MEASURE.as_secs(),
        trivial_row = trivial.row("`GET /healthz` (trivial)"),
        echo_row = echo.row("`GET /api/internal/echo` (router → Durable Object, no work)"),
        persist_row = persist.row("`GET /api/internal/echo-persist` (round trip + rewrite the stored record)"),
        beats_row = beats.row("`POST /api/heartbeat` (router → ServiceMonitor, 50 services)"),
        beat_ratio = ratio(&beats),
        echo_ratio = ratio(&echo),
        persist_ratio = ratio(&persist),
    );
    (doc, beats.cpu_ms)
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
