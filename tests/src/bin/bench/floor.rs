//! Systole's heartbeat beside the runtime's floor: the two minimal Workers of `tests/floor/`
//! (JS and workers-rs: router → Durable Object → one SQLite upsert of the body → 200), each
//! under its own `wrangler dev` in the same run, loaded exactly as Systole's
//! `POST /api/heartbeat` (the same request bytes, key header included) for one service and
//! for [`SERVICES`] services.

use std::time::Duration;

use serde_json::json;
use systole_e2e::{key, root, spawn_config, Worker};

use super::perf::Recording;
use super::profile::Profiler;
use super::{load, load_services, load_timed, median, Run, CONNECTIONS, SERVICES};

/// Throughput target: Systole's heartbeat at least this share of the JS floor's req/s.
const THROUGHPUT_TARGET: f64 = 0.95;
/// CPU target: Systole's heartbeat at most this multiple of the JS floor's CPU per request.
const CPU_TARGET: f64 = 1.15;

/// Rounds per scale: each loads Systole and both floors back to back, in an order that
/// rotates from round to round, so a drift of the machine's speed during the run (other
/// guests of the host, thermal limits) reaches all three alike; the reported ratio is the
/// median of the rounds' ratios. Many short rounds rather than a few long ones: the three
/// loads of a round lie [`FLOOR_WARMUP`] + [`FLOOR_MEASURE`] apart.
const ROUNDS: usize = 10;
/// Load of each Worker, over all the services, before the first round. V8 compiles a Worker's
/// wasm first with its baseline compiler and then, function by function as each gets hot,
/// with its optimizing one, in the same process: a Systole heartbeat cost 1.94 ms of CPU in a
/// fresh runtime's first 8 s of load (7 % of it in V8's compiler), 1.05 ms after 40 s more
/// (0.1 %) (docs/benchmarks.md); after 20 s of this load, a second of it still cost 1.6–2.0×
/// the JS floor's CPU. The JS floor's few functions are compiled in its first second.
const PREWARM: Duration = Duration::from_secs(60);
/// Warm-up of each load of a round.
const FLOOR_WARMUP: Duration = Duration::from_secs(1);
/// Measured period of each load of a round.
const FLOOR_MEASURE: Duration = Duration::from_secs(4);

/// One scale's rounds of the three heartbeat loads.
struct Scale {
    services: usize,
    systole: Vec<Run>,
    js: Vec<Run>,
    rust: Vec<Run>,
}

/// All rounds of one route as one run: requests and errors summed, req/s and CPU per request
/// from the sums, latencies the rounds' medians.
fn pooled(runs: &[Run]) -> Run {
    let requests: usize = runs.iter().map(|r| r.requests).sum();
    let seconds: f64 = runs.iter().map(|r| r.requests as f64 / r.per_second).sum();
    let cpu_ms: f64 = runs.iter().map(|r| r.cpu_ms * r.requests as f64).sum();
    Run {
        requests,
        errors: runs.iter().map(|r| r.errors).sum(),
        per_second: requests as f64 / seconds,
        p50_ms: median(runs.iter().map(|r| r.p50_ms).collect()),
        p99_ms: median(runs.iter().map(|r| r.p99_ms).collect()),
        cpu_ms: cpu_ms / requests as f64,
    }
}

impl Scale {
    /// The median of the rounds' ratios `f(systole, floor)` against `floor`'s runs, with
    /// their range: `0.93 (0.88–0.97)`.
    fn ratio(&self, floor: &[Run], f: fn(&Run, &Run) -> f64) -> (f64, String) {
        let v: Vec<f64> = self.systole.iter().zip(floor).map(|(s, fl)| f(s, fl)).collect();
        let (lo, hi) = v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(*x), b.max(*x)));
        let m = median(v);
        (m, format!("{m:.2} ({lo:.2}–{hi:.2})"))
    }

    /// `| n | vs JS: req/s, CPU | vs workers-rs: req/s, CPU |`, each the median of the
    /// rounds with their range.
    fn ratios(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} |",
            self.services,
            self.ratio(&self.js, throughput).1,
            self.ratio(&self.js, cpu).1,
            self.ratio(&self.rust, throughput).1,
            self.ratio(&self.rust, cpu).1,
        )
    }
}

/// Systole's req/s over the floor's.
fn throughput(s: &Run, floor: &Run) -> f64 {
    s.per_second / floor.per_second
}

/// Systole's CPU per request over the floor's.
fn cpu(s: &Run, floor: &Run) -> f64 {
    s.cpu_ms / floor.cpu_ms
}

/// What samples the first round of each heartbeat load, its report printed.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Sampler {
    /// Nothing: the document's section.
    Off,
    /// V8's profiler over the inspector (`cargo xtask bench --profile`, [`super::profile`]).
    Inspector,
    /// `perf record` on the runtime process (`cargo xtask bench --perf`, [`super::perf`]).
    Perf,
}

/// Starts both floors, loads the three heartbeat routes at each scale ([`ROUNDS`] rounds of
/// Systole, JS floor and workers-rs floor back to back), and `GET /healthz` of Systole and
/// the JS floor; answers the document's section (with `quick`, prints the ratios, skips
/// `/healthz` and answers nothing; with a `sampler` too, and prints its report of each
/// heartbeat load's first round).
pub fn run(systole: &Worker, quick: bool, sampler: Sampler) -> String {
    let js = spawn_config(&root().join("tests/floor/js/wrangler.toml"));
    let rust = spawn_config(&root().join("tests/floor/rust/wrangler.toml"));
    let services = load_services();
    let bodies: Vec<String> =
        services.iter().map(|s| json!({"serviceId": s, "message": "bench"}).to_string()).collect();
    let keys: Vec<String> = services.iter().map(|s| key(s)).collect();
    // The `i`-th service's heartbeat to `worker`, answered 200.
    let heartbeat =
        |worker: &Worker, i: usize| worker.request("POST", "/api/heartbeat", Some(&keys[i]), &bodies[i]).status == 200;
    let beat = |worker: &Worker, name: &str, n_services: usize, round: usize| {
        let title = format!("{name}, {n_services} service(s), round {}", round + 1);
        let profiler = (sampler == Sampler::Inspector && round == 0).then(|| Profiler::start(worker));
        let recording = (sampler == Sampler::Perf && round == 0)
            .then(|| Recording::start(worker, &title, FLOOR_WARMUP + FLOOR_MEASURE));
        let run = load_timed(worker, &title, FLOOR_WARMUP, FLOOR_MEASURE, &|n| heartbeat(worker, n % n_services));
        if let Some(p) = profiler {
            println!("{}", p.stop(&title, run.per_second));
        }
        if let Some(r) = recording {
            println!("{}", r.report(&title, &run));
        }
        run
    };
    let targets: [(&Worker, &str); 3] =
        [(systole, "Systole POST /api/heartbeat"), (&js, "JS floor"), (&rust, "workers-rs floor")];
    // Each Worker serves every service's heartbeats for a while first, so the rounds measure
    // the steady state: compiled code, every object made.
    for (worker, name) in targets {
        load_timed(worker, &format!("{name}, warm-up"), PREWARM, Duration::from_secs(1), &|n| {
            heartbeat(worker, n % services.len())
        });
    }
    let scales: Vec<Scale> = [1, SERVICES]
        .into_iter()
        .map(|n| {
            let mut runs: [Vec<Run>; 3] = Default::default();
            for round in 0..ROUNDS {
                for k in 0..3 {
                    let t = (round + k) % 3;
                    runs[t].push(beat(targets[t].0, targets[t].1, n, round));
                }
            }
            let [systole, js, rust] = runs;
            Scale { services: n, systole, js, rust }
        })
        .collect();
    if quick || sampler != Sampler::Off {
        for s in &scales {
            println!(
                "quick: floor, {} service(s), median of {ROUNDS} rounds (range): Systole/JS req/s {} CPU {}; \
                 Systole/workers-rs req/s {} CPU {}",
                s.services,
                s.ratio(&s.js, throughput).1,
                s.ratio(&s.js, cpu).1,
                s.ratio(&s.rust, throughput).1,
                s.ratio(&s.rust, cpu).1,
            );
        }
        return String::new();
    }
    let healthz = load(systole, "Systole GET /healthz", &|_| systole.get("/healthz").status == 200);
    let js_healthz = load(&js, "JS floor GET /healthz", &|_| js.get("/healthz").status == 200);
    // Each scale's rounds pooled once: its three rows, Systole's pooled ratios to the JS floor,
    // and the workers-rs floor's own CPU ratio to it.
    let (mut rows, mut pooled_ratios, mut rust_floor) = (String::new(), Vec::new(), Vec::new());
    for s in &scales {
        let n = s.services;
        let (sys, js, rust) = (pooled(&s.systole), pooled(&s.js), pooled(&s.rust));
        rows += &format!(
            "{}\n{}\n{}\n",
            sys.row(&format!("Systole `POST /api/heartbeat`, {n} service(s)")),
            js.row(&format!("JS floor, {n} service(s)")),
            rust.row(&format!("workers-rs floor, {n} service(s)")),
        );
        pooled_ratios.push(format!("{:.2}× and {:.2}× for {n}", throughput(&sys, &js), cpu(&sys, &js)));
        rust_floor.push(format!("{:.2}× the JS floor's for {n}", cpu(&rust, &js)));
    }
    let ratios: Vec<String> = scales.iter().map(Scale::ratios).collect();
    let throughput = scales.iter().map(|s| s.ratio(&s.js, throughput).0).fold(f64::NAN, f64::min);
    let cpu = scales.iter().map(|s| s.ratio(&s.js, cpu).0).fold(f64::NAN, f64::max);
    format!(
        "## Heartbeat vs the runtime's floor

The floor is what the runtime allows for a durable acknowledgement: two minimal Workers we
wrote for this (`tests/floor/`: JS, and workers-rs with the same `worker` crate and build as
Systole), each router → Durable Object named by the body's `serviceId` → one SQLite
`INSERT OR REPLACE` of the body in the object's own storage → 200 (both Rust Workers with the
build's rewritten glue, `xtask/src/tools.rs` `plain_glue`). Each runs under its own
`wrangler dev` in this run and gets the same requests as Systole's heartbeat: first {prewarm} s
of them over all {SERVICES} services, unmeasured, so that V8 has compiled each Worker's hot code
with its optimizing tier, then ({CONNECTIONS} connections, {warmup} s warm-up, {measure} s
measured) for one service and for {SERVICES}, in
{ROUNDS} rounds that load the three back to back in an order rotating from round to round: the
host's speed drifts during a run (one floor's rounds of one run differ by up to 40 % in
req/s), so each ratio is the median of the rounds' ratios, with their range in brackets, and
the rows below pool the rounds.
Every `wrangler dev` here runs without wrangler's local trace collector
(`X_LOCAL_OBSERVABILITY=false`, as for every Worker the tests start): it stores each
invocation's spans and logs in SQLite inside the runtime's process, work no deployed Worker
does, and it cost more CPU than a floor's whole heartbeat (see the next section).
Systole runs here without its per-service heartbeat rate limit (the benchmark build's
`BENCH_SERVICE_RATE_UNLIMITED`), which would refuse one service's flood after its burst.

| route | req/s | p50 ms | p99 ms | CPU ms/req | requests | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{rows}{healthz_row}
{js_healthz_row}

Systole's heartbeat as a ratio of each floor (req/s: higher is better; CPU per request: lower
is better), median of the rounds (range):

| services | req/s vs JS | CPU vs JS | req/s vs workers-rs | CPU vs workers-rs |
| ---: | ---: | ---: | ---: | ---: |
{ratios}

**Worst case (medians): {throughput:.2}× the JS floor's throughput (target ≥ {THROUGHPUT_TARGET}) and {cpu:.2}× its
CPU per request (target ≤ {CPU_TARGET}).** Pooled over the rounds (the first table), the
ratios to the JS floor are {pooled} service(s). Pooled, the workers-rs floor's own CPU per
request is {rust_floor} service(s): what any workers-rs Worker pays before doing anything of
its own.

",
        prewarm = PREWARM.as_secs(),
        warmup = FLOOR_WARMUP.as_secs(),
        measure = FLOOR_MEASURE.as_secs(),
        healthz_row = healthz.row("Systole `GET /healthz`"),
        js_healthz_row = js_healthz.row("JS floor `GET /healthz`"),
        ratios = ratios.join("\n"),
        pooled = pooled_ratios.join(", "),
        rust_floor = rust_floor.join(" and "),
    )
}
