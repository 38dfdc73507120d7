//! Flat cost from 10 to 10,000 services: two deployments of the same generated fleet
//! (`cargo xtask bench --fleet` writes `target/bench-fleet-{10,10000}` and builds them as
//! deployed, with the `bench` feature, into `target/worker-fleet-*`), measured alike: the
//! wasm size and the first requests after a cold start (the config is embedded and parsed
//! on first use), per-heartbeat CPU and rows under the same load, the CPU of the largest
//! read requests, and one hourly cron tick.

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use systole_e2e::{key, root, spawn_build, Build, Worker, FLEET_10, FLEET_10000, GROUP_KEYS_ABOVE};

use super::{load, median, stats, wait_warm, Run};

/// Services the heartbeat load spreads over in both deployments.
const HOT: usize = 10;
/// Services the "many" load spreads over in the large deployment.
const MANY: usize = 1_000;
/// Samples of each warm request after the cold start.
const WARM: usize = 20;

/// What one deployment measured.
struct Measured {
    services: usize,
    wasm: (u64, u64),
    parse_native_ms: f64,
    cold_status_ms: f64,
    cold_beat_ms: f64,
    warm_status_ms: f64,
    warm_beat_ms: f64,
    hot: Run,
    rows: Rows,
    many: Option<Run>,
    reads: Vec<(String, Run, usize)>,
    /// `/__scheduled`'s status (0: none within 30 s), its time and the log lines about it.
    cron: (u16, f64, String),
}

/// Rows written per heartbeat, from the ServiceMonitors' counters.
struct Rows {
    heartbeats: f64,
    storage: f64,
    alarms: f64,
    d1: f64,
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("fleet-{i:05}")).collect()
}

/// The heartbeat key of `fleet-NNNNN` in a deployment of `n` services: its own, or its
/// group's (100 services a group) above [`GROUP_KEYS_ABOVE`].
fn fleet_key(n: usize, service: &str) -> String {
    let i: usize = service.trim_start_matches("fleet-").parse().unwrap();
    if n > GROUP_KEYS_ABOVE {
        key(&format!("fleet-g{:03}", i / 100))
    } else {
        key(service)
    }
}

fn wasm(build: Build) -> (u64, u64) {
    let wasm = root().join(build.out.unwrap().0).join("index_bg.wasm");
    let raw = fs::metadata(&wasm).expect("cargo xtask bench --fleet").len();
    let gz = Command::new("gzip").arg("-9c").arg(&wasm).output().unwrap().stdout.len() as u64;
    (raw, gz)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn measure(build: Build, n: usize) -> Measured {
    let services = ids(n);
    let t = Instant::now();
    assert_eq!(build.deployment().config.services.len(), n);
    let parse_native_ms = ms(t);
    let mut worker = spawn_build(build, &[]);
    // A cold start: a new runtime; its readiness probe (`/healthz`) reads no config, so the
    // first status request parses the embedded config and the first heartbeat `API_KEYS`.
    worker.stop();
    worker.start();
    let t = Instant::now();
    assert_eq!(worker.get("/api/v1/status?limit=1").status, 200);
    let cold_status_ms = ms(t);
    let beat = |w: &Worker, s: &str| {
        let body = json!({"serviceId": s, "message": "bench"}).to_string();
        w.request("POST", "/api/heartbeat", Some(&fleet_key(n, s)), &body).status
    };
    let t = Instant::now();
    assert_eq!(beat(&worker, &services[0]), 200);
    let cold_beat_ms = ms(t);
    let warm = |f: &dyn Fn() -> u16| {
        median(
            (0..WARM)
                .map(|_| {
                    let t = Instant::now();
                    assert_eq!(f(), 200);
                    ms(t)
                })
                .collect(),
        )
    };
    let warm_status_ms = warm(&|| worker.get("/api/v1/status?limit=1").status);
    let warm_beat_ms = warm(&|| beat(&worker, &services[0]));

    // The heartbeat load over the same HOT services in both deployments, primed and
    // counted as the rows section does.
    let hot: Vec<String> = services[..HOT].to_vec();
    let bodies: Vec<String> = hot.iter().map(|s| json!({"serviceId": s, "message": "bench"}).to_string()).collect();
    let keys: Vec<String> = hot.iter().map(|s| fleet_key(n, s)).collect();
    for (k, b) in keys.iter().zip(&bodies) {
        assert_eq!(worker.request("POST", "/api/heartbeat", Some(k), b).status, 200);
    }
    wait_warm(&worker, &hot, Duration::from_secs(12));
    let before: Vec<Value> = hot.iter().map(|s| stats(&worker, s)).collect();
    let hot_run = load(&worker, &format!("{n} services: heartbeats over {HOT}"), &|i| {
        let i = i % HOT;
        worker.request("POST", "/api/heartbeat", Some(&keys[i]), &bodies[i]).status == 200
    });
    wait_warm(&worker, &hot, Duration::from_secs(21));
    let after: Vec<Value> = hot.iter().map(|s| stats(&worker, s)).collect();
    let added = |field: &str| -> f64 {
        after
            .iter()
            .zip(&before)
            .map(|(a, b)| a[field].as_f64().unwrap_or(0.0) - b[field].as_f64().unwrap_or(0.0))
            .sum()
    };
    let rows = Rows {
        heartbeats: added("heartbeats"),
        storage: added("storageRowsWritten"),
        alarms: added("alarmsSet"),
        d1: added("d1RowsWritten"),
    };

    // Heartbeats spread over many services (each object's first heartbeats included).
    let many = (n > MANY).then(|| {
        let keys: Vec<String> = services[..MANY].iter().map(|s| fleet_key(n, s)).collect();
        let bodies: Vec<String> =
            services[..MANY].iter().map(|s| json!({"serviceId": s, "message": "bench"}).to_string()).collect();
        load(&worker, &format!("{n} services: heartbeats over {MANY}"), &|i| {
            let i = i % MANY;
            worker.request("POST", "/api/heartbeat", Some(&keys[i]), &bodies[i]).status == 200
        })
    });

    // The largest read requests, each under the same load.
    let reads = [
        "/api/v1/status",
        "/api/v1/status?limit=500",
        "/",
        "/?limit=500",
        "/api/v1/uptime?serviceId=fleet-00000",
        "/api/v1/uptime",
        "/api/v1/uptime?limit=500",
        "/api/v1/services",
        "/api/v1/services?limit=500",
        "/api/status",
    ];
    let reads = reads
        .iter()
        .map(|path| {
            let size = worker.get(path).body.len();
            let run = load(&worker, &format!("{n} services: GET {path}"), &|_| worker.get(path).status == 200);
            ((*path).to_owned(), run, size)
        })
        .collect();

    // One hourly cron tick.
    let t = Instant::now();
    let offset = worker.log().len();
    // The harness's client gives up after 30 s: no answer by then is reported as such.
    let tick = worker.try_get("/__scheduled?cron=17+*+*+*+*");
    let tick_ms = ms(t);
    std::thread::sleep(Duration::from_secs(if tick.is_none() { 30 } else { 0 }));
    std::thread::sleep(Duration::from_secs(2));
    let logged: String = worker
        .log()
        .get(offset..)
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            let l = l.to_lowercase();
            l.contains("housekeeping") || l.contains("error") || l.contains("subrequest") || l.contains("scheduled")
        })
        .take(6)
        .collect::<Vec<_>>()
        .join(" / ");
    drop(worker);
    Measured {
        services: n,
        wasm: wasm(build),
        parse_native_ms,
        cold_status_ms,
        cold_beat_ms,
        warm_status_ms,
        warm_beat_ms,
        hot: hot_run,
        rows,
        many,
        reads,
        cron: (tick.map_or(0, |a| a.status), tick_ms, logged),
    }
}

/// Runs both deployments and answers the section.
pub fn run() -> String {
    let small = measure(FLEET_10, 10);
    let large = measure(FLEET_10000, 10_000);
    let per_beat = |m: &Measured| {
        let r = &m.rows;
        ((r.storage + r.alarms) / r.heartbeats.max(1.0), r.d1 / r.heartbeats.max(1.0))
    };
    let (small_do, small_d1) = per_beat(&small);
    let (large_do, large_d1) = per_beat(&large);
    let mut doc = format!(
        "
## Flat cost from 10 to 10,000 services

Two deployments of one generated fleet (`cargo xtask bench --fleet`: services `fleet-00000`…
in groups of 100, open, notifications off; `API_KEYS` holds one key per service at 10 and one
per group at 10,000, as one environment variable cannot hold 10,000), built alike (release
profile, `bench` feature) into their own folders; only the number of services differs. Never
shipped: the 10,000-service config exists only under `target/`.

### Start-up

| | 10 services | 10,000 services |
| --- | ---: | ---: |
| `index_bg.wasm` bytes (gzipped) | {sw} ({sgz}) | {lw} ({lgz}) |
| config parse, native (ms) | {sp:.1} | {lp:.1} |
| first `GET /api/v1/status?limit=1` after a cold start (ms) | {scs:.0} | {lcs:.0} |
| its warm median (ms) | {sws:.1} | {lws:.1} |
| first heartbeat after it (ms; parses `API_KEYS`: 10 keys, 100 group keys) | {scb:.0} | {lcb:.0} |
| its warm median (ms) | {swb:.1} | {lwb:.1} |

The config is embedded as text and parsed once per isolate, on first use; the runtime's
start-up limit is 1 s.

### Per heartbeat

| deployment, load | req/s | p50 ms | p99 ms | CPU ms/req | requests | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{hot_small}
{hot_large}
",
        sw = small.wasm.0,
        sgz = small.wasm.1,
        lw = large.wasm.0,
        lgz = large.wasm.1,
        sp = small.parse_native_ms,
        lp = large.parse_native_ms,
        scs = small.cold_status_ms,
        lcs = large.cold_status_ms,
        sws = small.warm_status_ms,
        lws = large.warm_status_ms,
        scb = small.cold_beat_ms,
        lcb = large.cold_beat_ms,
        swb = small.warm_beat_ms,
        lwb = large.warm_beat_ms,
        hot_small = small.hot.row(&format!("10 services, over {HOT}")),
        hot_large = large.hot.row(&format!("10,000 services, over {HOT}")),
    );
    if let Some(many) = &large.many {
        doc += &many.row(&format!("10,000 services, over {MANY} (first heartbeats of each object included)"));
        doc += "\n";
    }
    doc += &format!(
        "
| | 10 services | 10,000 services | ratio |
| --- | ---: | ---: | ---: |
| CPU ms per heartbeat (over {HOT}) | {sc:.3} | {lc:.3} | {rc:.2} |
| DO storage rows + alarms per heartbeat | {small_do:.3} | {large_do:.3} | {rdo:.2} |
| D1 rows per heartbeat | {small_d1:.3} | {large_d1:.3} | {rd1:.2} |

Target: within 1.1× (the ratio moves by about ±0.05 between runs).

### Largest requests at 10,000 services

Each under the same {conns}-connection load; CPU per request is the runtime's, which locally
includes D1's SQLite work (local D1 runs inside the measured `workerd` process; deployed, D1
runs elsewhere). Pages and the status, uptime and services APIs read one page of services (100 by
default, at most 500); D1 counts the summary. `/api/status` is the cloudflaremon seed's whole-fleet answer.
Bytes 0: the answer is over the client's 10 MB read limit.

| request | bytes | 10 services CPU ms/req | 10,000 services CPU ms/req | 10,000 req/s |
| --- | ---: | ---: | ---: | ---: |
",
        sc = small.hot.cpu_ms,
        lc = large.hot.cpu_ms,
        rc = large.hot.cpu_ms / small.hot.cpu_ms,
        rdo = large_do / small_do,
        rd1 = large_d1 / small_d1,
        conns = super::CONNECTIONS,
    );
    for ((path, s, _), (_, l, size)) in small.reads.iter().zip(&large.reads) {
        doc += &format!("| `GET {path}` | {size} | {:.2} | {:.2} | {:.0} |\n", s.cpu_ms, l.cpu_ms, l.per_second);
    }
    doc += &format!(
        "
### Hourly cron tick

`GET /__scheduled?cron=17+*+*+*+*` (wrangler's trigger for the hourly cron); status 0: no answer
within the client's 30 s. The log column quotes the runtime's lines about it.

| deployment | `/__scheduled` status | ms | log |
| --- | ---: | ---: | --- |
| 10 services | {} | {:.0} | {} |
| 10,000 services | {} | {:.0} | {} |
",
        small.cron.0,
        small.cron.1,
        small.cron.2.replace('|', "\\|"),
        large.cron.0,
        large.cron.1,
        large.cron.2.replace('|', "\\|"),
    );
    let _ = (small.services, large.services);
    doc
}
