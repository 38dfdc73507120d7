//! Systole's heartbeat beside the runtime's floor: the two minimal Workers of `tests/floor/`
//! (JS and workers-rs: router → Durable Object → one SQLite upsert of the body → 200), each
//! under its own `wrangler dev` in the same run, loaded exactly as Systole's
//! `POST /api/heartbeat` (the same request bytes, key header included) for one service and
//! for [`SERVICES`] services.

use serde_json::json;
use systole_e2e::{key, root, spawn_config, Worker};

use super::profile::Profiler;
use super::{load, load_services, Run, CONNECTIONS, MEASURE, SERVICES, WARMUP};

/// Throughput target: Systole's heartbeat at least this share of the JS floor's req/s.
const THROUGHPUT_TARGET: f64 = 0.95;
/// CPU target: Systole's heartbeat at most this multiple of the JS floor's CPU per request.
const CPU_TARGET: f64 = 1.15;

/// One scale's three heartbeat runs.
struct Scale {
    services: usize,
    systole: Run,
    js: Run,
    rust: Run,
}

impl Scale {
    /// `| n | vs JS: req/s, CPU | vs workers-rs: req/s, CPU |`.
    fn ratios(&self) -> String {
        let (s, j, r) = (&self.systole, &self.js, &self.rust);
        format!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            self.services,
            s.per_second / j.per_second,
            s.cpu_ms / j.cpu_ms,
            s.per_second / r.per_second,
            s.cpu_ms / r.cpu_ms
        )
    }
}

/// Starts both floors, loads the three heartbeat routes at each scale (Systole, JS floor,
/// workers-rs floor, back to back), and `GET /healthz` of Systole and the JS floor; answers
/// the document's section (with `quick`, prints the ratios, skips `/healthz` and answers
/// nothing; with `profile` too, and prints each heartbeat load's CPU profile, see
/// [`profile`](super::profile)).
pub fn run(systole: &Worker, quick: bool, profile: bool) -> String {
    let js = spawn_config(&root().join("tests/floor/js/wrangler.toml"));
    let rust = spawn_config(&root().join("tests/floor/rust/wrangler.toml"));
    let services = load_services();
    let bodies: Vec<String> =
        services.iter().map(|s| json!({"serviceId": s, "message": "bench"}).to_string()).collect();
    let keys: Vec<String> = services.iter().map(|s| key(s)).collect();
    let beat = |worker: &Worker, name: &str, n_services: usize| {
        let title = format!("{name}, {n_services} service(s)");
        let profiler = profile.then(|| Profiler::start(worker));
        let run = load(worker, &title, &|n| {
            let i = n % n_services;
            worker.request("POST", "/api/heartbeat", Some(&keys[i]), &bodies[i]).status == 200
        });
        if let Some(p) = profiler {
            println!("{}", p.stop(&title, run.per_second));
        }
        run
    };
    let scales: Vec<Scale> = [1, SERVICES]
        .into_iter()
        .map(|n| Scale {
            services: n,
            systole: beat(systole, "Systole POST /api/heartbeat", n),
            js: beat(&js, "JS floor", n),
            rust: beat(&rust, "workers-rs floor", n),
        })
        .collect();
    if quick || profile {
        for s in &scales {
            println!(
                "quick: floor, {} service(s): Systole {:.0}/s {:.3} ms/req; JS floor {:.0}/s {:.3} ms/req; \
                 workers-rs floor {:.0}/s {:.3} ms/req; Systole/JS req/s {:.2} CPU {:.2}; \
                 Systole/workers-rs req/s {:.2} CPU {:.2}",
                s.services,
                s.systole.per_second,
                s.systole.cpu_ms,
                s.js.per_second,
                s.js.cpu_ms,
                s.rust.per_second,
                s.rust.cpu_ms,
                s.systole.per_second / s.js.per_second,
                s.systole.cpu_ms / s.js.cpu_ms,
                s.systole.per_second / s.rust.per_second,
                s.systole.cpu_ms / s.rust.cpu_ms,
            );
        }
        return String::new();
    }
    let healthz = load(systole, "Systole GET /healthz", &|_| systole.get("/healthz").status == 200);
    let js_healthz = load(&js, "JS floor GET /healthz", &|_| js.get("/healthz").status == 200);
    let mut rows = String::new();
    for s in &scales {
        let n = s.services;
        rows += &s.systole.row(&format!("Systole `POST /api/heartbeat`, {n} service(s)"));
        rows += "\n";
        rows += &s.js.row(&format!("JS floor, {n} service(s)"));
        rows += "\n";
        rows += &s.rust.row(&format!("workers-rs floor, {n} service(s)"));
        rows += "\n";
    }
    let ratios: Vec<String> = scales.iter().map(Scale::ratios).collect();
    let worst = |f: &dyn Fn(&Scale) -> f64| scales.iter().map(f).fold(f64::NAN, f64::min);
    let throughput = worst(&|s| s.systole.per_second / s.js.per_second);
    let cpu = -worst(&|s| -(s.systole.cpu_ms / s.js.cpu_ms));
    format!(
        "## Heartbeat vs the runtime's floor

The floor is what the runtime allows for a durable acknowledgement: two minimal Workers we
wrote for this (`tests/floor/`: JS, and workers-rs with the same `worker` crate and build as
Systole), each router → Durable Object named by the body's `serviceId` → one SQLite
`INSERT OR REPLACE` of the body in the object's own storage → 200. Each runs under its own
`wrangler dev` in this run and gets the same requests as Systole's heartbeat ({CONNECTIONS}
connections, {warmup} s warm-up, {measure} s measured), for one service and for {SERVICES}.
Systole runs here without its per-service heartbeat rate limit (the benchmark build's
`BENCH_SERVICE_RATE_UNLIMITED`), which would refuse one service's flood after its burst.

| route | req/s | p50 ms | p99 ms | CPU ms/req | requests | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{rows}{healthz_row}
{js_healthz_row}

Systole's heartbeat as a ratio of each floor (req/s: higher is better; CPU per request: lower
is better):

| services | req/s vs JS | CPU vs JS | req/s vs workers-rs | CPU vs workers-rs |
| ---: | ---: | ---: | ---: | ---: |
{ratios}

**Worst case: {throughput:.2}× the JS floor's throughput (target ≥ {THROUGHPUT_TARGET}) and {cpu:.2}× its
CPU per request (target ≤ {CPU_TARGET}).**

",
        warmup = WARMUP.as_secs(),
        measure = MEASURE.as_secs(),
        healthz_row = healthz.row("Systole `GET /healthz`"),
        js_healthz_row = js_healthz.row("JS floor `GET /healthz`"),
        ratios = ratios.join("\n"),
    )
}
