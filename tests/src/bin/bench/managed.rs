//! Managed services (`cargo xtask bench --managed`): the time to create 1,000 services through
//! `POST /api/v1/services` (16 connections), then 9,000 more, and `GET /api/v1/services`
//! (one page of 100, first and deep in the list) at 10,000 managed services, under the usual
//! load.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use systole_e2e::{Worker, MANAGEMENT_KEY};

use super::{load, CONNECTIONS};

/// Services created in the first, reported batch.
const FIRST: usize = 1_000;
/// Services in all.
const TOTAL: usize = 10_000;

/// One batch of creations: wall time, per-request latencies (sorted), runtime CPU, errors.
struct Batch {
    wall: Duration,
    latencies: Vec<Duration>,
    cpu: Duration,
    errors: usize,
}

impl Batch {
    fn row(&self, name: &str) -> String {
        let l = &self.latencies;
        let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)].as_secs_f64() * 1000.0;
        format!(
            "| {name} | {:.1} | {:.0} | {:.1} | {:.1} | {:.2} | {} |",
            self.wall.as_secs_f64(),
            l.len() as f64 / self.wall.as_secs_f64(),
            pct(0.50),
            pct(0.99),
            self.cpu.as_secs_f64() * 1000.0 / l.len().max(1) as f64,
            self.errors
        )
    }
}

/// Creates `bench-{from..to}` through the API from [`CONNECTIONS`] threads.
fn create(worker: &Worker, from: usize, to: usize) -> Batch {
    let next = AtomicUsize::new(from);
    let errors = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::new());
    let cpu_before = worker.runtime_cpu();
    let t = Instant::now();
    thread::scope(|s| {
        for _ in 0..CONNECTIONS {
            s.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= to {
                        break;
                    }
                    let body = format!(
                        r#"{{"id": "bench-{n:05}", "name": "Bench {n}", "stalenessThreshold": 3600, "tags": ["bench"]}}"#
                    );
                    let started = Instant::now();
                    let answer = worker.request("POST", "/api/v1/services", Some(MANAGEMENT_KEY), &body);
                    mine.push(started.elapsed());
                    if answer.status != 201 {
                        errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("bench: create bench-{n:05}: {} {}", answer.status, answer.body);
                    }
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
    });
    let wall = t.elapsed();
    let cpu = worker.runtime_cpu().saturating_sub(cpu_before);
    let mut latencies = latencies.into_inner().unwrap();
    latencies.sort();
    Batch { wall, latencies, cpu, errors: errors.load(Ordering::Relaxed) }
}

/// Runs the section on `worker`; answers its markdown.
pub fn run(worker: &Worker) -> String {
    let first = create(worker, 0, FIRST);
    eprintln!("bench: created {FIRST} managed services in {:.1} s", first.wall.as_secs_f64());
    let rest = create(worker, FIRST, TOTAL);
    eprintln!("bench: created {} more in {:.1} s", TOTAL - FIRST, rest.wall.as_secs_f64());
    let page = |path: &str| {
        let answer = worker.request("GET", path, Some(MANAGEMENT_KEY), "");
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        answer.body.len()
    };
    let head = "/api/v1/services?limit=100";
    let deep = "/api/v1/services?limit=100&cursor=bench-09000";
    let bytes = page(head);
    page(deep);
    let first_page = load(worker, "GET /api/v1/services (first page)", &|_| {
        worker.request("GET", head, Some(MANAGEMENT_KEY), "").status == 200
    });
    let deep_page = load(worker, "GET /api/v1/services (page after bench-09000)", &|_| {
        worker.request("GET", deep, Some(MANAGEMENT_KEY), "").status == 200
    });
    format!(
        "
## Managed services: creating them, and listing 10,000

Produced by `cargo xtask bench --managed`. Services created through `POST /api/v1/services`
(the management key, {CONNECTIONS} connections; each create is one request to the service's
ServiceMonitor, which stores it, then writes its registry and change rows to D1 and posts
the change to the live hubs):

| batch | seconds | creates/s | p50 ms | p99 ms | CPU ms/create | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{first}
{rest}

`GET /api/v1/services` with 10,000 managed services (plus the declared ones), one page of 100
({bytes} bytes), read by keyset pagination from D1's `managed_services` (never all rows):

| request | req/s | p50 ms | p99 ms | CPU ms/req | requests | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{head_row}
{deep_row}
",
        first = first.row(&format!("first {FIRST}")),
        rest = rest.row(&format!("next {}", TOTAL - FIRST)),
        head_row = first_page.row("first page (limit=100)"),
        deep_row = deep_page.row("page after `bench-09000`"),
    )
}
