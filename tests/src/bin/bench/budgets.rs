//! The free plan's limits as budgets: the most subrequests one invocation made (counted by
//! the Worker itself, `GET /api/internal/budgets`) against 50, and the runtime's CPU per
//! request against 10 ms, per route, per cron tick and per Durable Object event.

use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::{key, Worker, ADMIN_TOKEN};

/// The `ALERT_API_KEY` the benchmark's Worker is started with.
pub const ALERT_KEY: &str = "bench-alert-key-0123456789";

/// Most subrequests per invocation on the free plan.
const LIMIT: u64 = 50;
/// Most CPU per invocation on the free plan, ms.
const CPU_LIMIT_MS: f64 = 10.0;
/// The history flush interval of the bench config (10 s) and a margin: waiting this long
/// after a phase lets its ServiceMonitors' flush alarms run and be counted with it.
const FLUSH_WAIT: Duration = Duration::from_secs(12);

/// One phase: its requests' runtime CPU, and every invocation kind counted meanwhile.
struct Phase {
    name: String,
    requests: usize,
    errors: usize,
    cpu_ms: f64,
    budgets: Value,
}

/// Runs `n` requests `f(i)` one after another (each `true` when answered as expected),
/// measuring the runtime's CPU over them, then waits `settle` and reads the invocations the
/// Worker counted from the start.
fn phase(worker: &Worker, name: &str, n: usize, settle: Duration, f: &dyn Fn(usize) -> bool) -> Phase {
    assert_eq!(worker.get("/api/internal/budgets?clear").status, 200);
    let before = worker.runtime_cpu();
    let errors = (0..n).filter(|i| !f(*i)).count();
    let cpu = worker.runtime_cpu().saturating_sub(before);
    thread::sleep(settle);
    let budgets = worker.get("/api/internal/budgets").json();
    let cpu_ms = cpu.as_secs_f64() * 1000.0 / n.max(1) as f64;
    eprintln!("bench: budgets: {name}: {n} requests, {errors} errors, CPU {cpu_ms:.2} ms/req");
    Phase { name: name.to_owned(), requests: n, errors, cpu_ms, budgets }
}

/// An Alertmanager webhook with `n` firing alerts, fingerprints `{tag}-{i}`.
fn alertmanager(tag: &str, n: usize) -> String {
    let alerts: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "status": "firing",
                "labels": {"alertname": format!("Bench{tag}"), "instance": format!("host-{i}"), "severity": "warning"},
                "annotations": {"summary": format!("bench alert {i}")},
                "startsAt": "2026-11-21T10:00:00Z",
                "fingerprint": format!("{tag}-{i:04}")
            })
        })
        .collect();
    json!({"version": "4", "status": "firing", "receiver": "systole", "alerts": alerts}).to_string()
}

/// The most subrequests one invocation made, per kind of work, for the cost table.
#[derive(Clone, Copy, Debug, Default)]
pub struct Peaks {
    /// Any invocation a single-service heartbeat caused (the request, its object's events).
    pub heartbeat: u64,
    /// Any invocation of a cron tick.
    pub cron: u64,
}

/// Runs every phase and answers the document's section and the [`Peaks`]; `fleet` is every
/// configured service.
pub fn run(worker: &Worker, fleet: &[String]) -> (String, Peaks) {
    let services: Vec<&String> = fleet.iter().filter(|s| s.starts_with("load-")).collect();
    let batch: Vec<&String> =
        fleet.iter().filter(|s| s.starts_with("bench-100-")).take(systole_core::api::heartbeat::MAX_BATCH).collect();
    let beat = |i: usize| {
        let s = services[i % services.len()];
        let body = json!({"serviceId": s, "message": "budget"}).to_string();
        worker.request("POST", "/api/v1/heartbeat", Some(&key(s)), &body).status == 200
    };
    // The bench fleet's services have no key of their own: the `"*"` key serves them.
    let batch_body = json!({"services": batch}).to_string();
    let star = key("*");
    let admin = |path: &str| worker.get_as(path, Some(ADMIN_TOKEN), None).status == 200;
    let mut phases = vec![
        phase(worker, "heartbeat, one service each", 200, FLUSH_WAIT, &beat),
        phase(worker, &format!("heartbeat batch of {} (the maximum)", batch.len()), 10, FLUSH_WAIT, &|_| {
            worker.request("POST", "/api/v1/heartbeat", Some(&star), &batch_body).status == 200
        }),
        phase(worker, "GET /api/v1/status", 20, Duration::ZERO, &|_| admin("/api/v1/status")),
        phase(worker, "GET / (dashboard)", 20, Duration::ZERO, &|_| admin("/")),
        phase(worker, "GET /api/v1/uptime", 20, Duration::ZERO, &|_| admin("/api/v1/uptime")),
        phase(worker, "GET /api/v1/live (socket upgrade)", 10, Duration::ZERO, &|_| {
            worker.live("/api/v1/live", Some(ADMIN_TOKEN), None, Duration::from_secs(5)).is_ok()
        }),
        phase(worker, "external alert, 100 alerts (Alertmanager)", 2, FLUSH_WAIT, &|i| {
            let path = "/api/v1/alerts?channel=webhook";
            worker.request("POST", path, Some(ALERT_KEY), &alertmanager(&format!("b{i}"), 100)).status == 202
        }),
        phase(worker, &format!("cron tick, {} services", fleet.len()), 3, Duration::ZERO, &|_| {
            worker.get("/__scheduled?cron=17+*+*+*+*").status == 200
        }),
        phase(worker, "live update to 100 hubs (relay tree)", 1, Duration::ZERO, &|_| {
            worker.get("/api/internal/relay?hubs=100").json()["reached"] == 100
        }),
    ];
    let mut over = Vec::new();
    let mut rows = String::new();
    let mut peaks = Peaks::default();
    for (i, p) in phases.iter_mut().enumerate() {
        let Some(invocations) = p.budgets["invocations"].as_object_mut() else { continue };
        invocations.remove("GET /api/internal/budgets");
        let mut first = true;
        for (label, peak) in invocations.iter() {
            let total = peak["total"].as_u64().unwrap_or_default();
            if i == 0 {
                peaks.heartbeat = peaks.heartbeat.max(total);
            } else if p.name.starts_with("cron tick") {
                peaks.cron = peaks.cron.max(total);
            }
            let max = &peak["max"];
            if total > LIMIT {
                over.push(format!("{label} ({total}, in \"{}\")", p.name));
            }
            let cpu = if first {
                let mark = if p.cpu_ms > CPU_LIMIT_MS { " ⚠" } else { "" };
                format!("{:.2}{mark}", p.cpu_ms)
            } else {
                String::new()
            };
            let name = if first {
                format!("{} ({} requests, {} errors)", p.name, p.requests, p.errors)
            } else {
                String::new()
            };
            let mark = if total > LIMIT { " ⚠" } else { "" };
            rows += &format!(
                "| {name} | {cpu} | {label} | {} | {} / {} / {} | **{total}**{mark} |\n",
                peak["invocations"], max["fetches"], max["objects"], max["d1"]
            );
            first = false;
        }
    }
    let verdict = if over.is_empty() {
        "Every invocation measured stays within 50 subrequests.".to_owned()
    } else {
        format!("Over 50 subrequests: {}.", over.join("; "))
    };
    let old_cron = 2 * fleet.len();
    let doc = format!(
        "## The free plan's limits as budgets

The Workers free plan allows **50 subrequests per invocation** (each outbound fetch,
Durable Object request and D1 query counts one; a D1 `batch` is one) and **10 ms of CPU per
invocation**. The bench build counts every invocation's subrequests where they start
(`crates/worker/src/budget.rs`: each invocation's own counter, current only while its
future is polled, so interleaved requests never mix) and keeps the largest per route, cron
tick and Durable Object event (`GET /api/internal/budgets`). Each phase below clears the
counts, sends its requests one at a time, and reads them back (after {flush} s for phases
whose ServiceMonitors or AlertDesk then run an alarm: flush, notifications). CPU per request
is the runtime's CPU over the phase's requests divided by them, including the Durable Object
invocations they caused (on Cloudflare each of those is its own invocation with its own
10 ms), and wrangler's local overhead: an upper bound.

| phase | CPU ms/request | invocation | count | max fetches / DO / D1 | max subrequests (of 50) |
| --- | ---: | --- | ---: | ---: | ---: |
{rows}
{verdict} The cron tick before this design made two subrequests per service (a D1 prune
and a watchdog call): {old_cron} at these {n} services. Now it makes 3 D1 queries (cursor,
one pruning batch for every service, cursor) and asks at most 40 ServiceMonitors, paging
through the fleet across ticks (see [architecture.md](architecture.md#cron-housekeeping-only)).
A live update reaches any number of hubs through a relay tree in which no invocation posts to
more than 10.

",
        flush = FLUSH_WAIT.as_secs(),
        n = fleet.len(),
    );
    (doc, peaks)
}
