//! The Worker's wasm size, raw and gzipped, and what a cold start costs.

use std::fs;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use systole_e2e::{key, root, Worker};

fn gzipped_wasm() -> (u64, u64) {
    let wasm = root().join("crates/worker/build/index_bg.wasm");
    let raw = fs::metadata(&wasm).expect("build the worker first").len();
    let out = Command::new("gzip").arg("-9c").arg(&wasm).output().unwrap();
    (raw, out.stdout.len() as u64)
}

/// Cold starts measured per request kind.
const COLD_STARTS: usize = 3;

/// The medians of [`COLD_STARTS`] cold starts of `worker` answering `request` first.
fn cold(worker: &mut Worker, request: &dyn Fn(&Worker) -> systole_e2e::Answer) -> [Duration; 3] {
    let mut runs: Vec<(Duration, Duration, Duration)> = (0..COLD_STARTS).map(|_| worker.cold_start(request)).collect();
    let mut median = |pick: fn(&(Duration, Duration, Duration)) -> Duration| {
        runs.sort_by_key(pick);
        pick(&runs[runs.len() / 2])
    };
    [median(|r| r.0), median(|r| r.1), median(|r| r.2)]
}

/// Measures the size and the cold starts of `worker` (restarted: run last); answers the
/// section.
pub fn run(worker: &mut Worker) -> String {
    let (raw, gz) = gzipped_wasm();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let body = json!({"serviceId": "load-00"}).to_string();
    let beat = cold(worker, &|w| w.request("POST", "/api/heartbeat", Some(&key("load-00")), &body));
    let healthz = cold(worker, &|w| w.get("/healthz"));
    let row = |name: &str, [ready, first, second]: [Duration; 3]| {
        format!("| {name} | {:.0} | {:.1} | {:.1} |", ms(ready), ms(first), ms(second))
    };
    format!(
        "## Worker size and cold start

| artifact | bytes |
| --- | ---: |
| `index_bg.wasm` (binaryen `wasm-opt -O3`, names section kept) | {raw} |
| gzipped (`gzip -9`) | {gz} ({gz_kib:.0} KiB; target ≤ 1 MB; the free plan allows 3 MB) |

Cold start: `wrangler dev` stopped and started again on the same state, nothing sent to it
until it logs that it listens; then the first request and the one after it are timed (median
of {COLD_STARTS}). The first heartbeat pays for instantiating the wasm, parsing the embedded
config and key ring, and starting the service's Durable Object and reading its storage. The
Workers start-up limit is 1 s.

| first request | wrangler start to listening, ms | first answer, ms | second answer, ms |
| --- | ---: | ---: | ---: |
{beat_row}
{healthz_row}

",
        gz_kib = gz as f64 / 1024.0,
        beat_row = row("`POST /api/heartbeat`", beat),
        healthz_row = row("`GET /healthz`", healthz),
    )
}
