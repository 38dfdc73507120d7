//! `cargo xtask <command>`: every step of Systole's workflow, so a fresh machine needs only
//! the Rust toolchain, Node/npm and these commands.
//!
//! - `dev [--demo] [--port N]`: the Worker in local workerd on http://localhost:8787 with the
//!   example `config/`; demo keys in `.dev.vars`; `--demo` also sends heartbeats.
//! - `test`: fmt, clippy (native + wasm32), native tests, the wasm build, `wrangler deploy
//!   --dry-run`, and the end-to-end suite against the Worker in workerd, which includes the
//!   Schemathesis run over `docs/openapi.yaml` (installed once into `.tools/schemathesis`).
//!   The end-to-end binaries run two at a time (`SYSTOLE_E2E_JOBS` sets how many), each
//!   one's output in `target/e2e-logs/`. It changes no tracked file: the browser test's
//!   screenshots go to `target/screenshots/`, Schemathesis's reports to `target/e2e/`.
//! - `screenshots`: just the browser tests, then their screenshots copied into
//!   `docs/screenshots/` (the README's and docs' images).
//! - `bench [--quick | --floor | --profile | --perf | --fleet | --metrics | --managed]`: the benchmark, merged
//!   into `docs/benchmarks.md` section by section (the sections it did not measure stay), with the
//!   runtime's floor Workers of `tests/floor/` (the workers-rs one built into
//!   `target/floor-rust`); `--quick` prints only the heartbeat throughput ratios, to `/healthz`
//!   and to the floors, for comparing changes; `--floor` prints only the floor section
//!   (rounds of Systole and both floors); `--profile` its ratios with each heartbeat load's
//!   first-round CPU profile (V8's sampler
//!   over the inspector: top functions by self and total time); `--perf` the same with Linux
//!   `perf record` on each runtime process instead (CPU time, not wall time: µs per request in
//!   wasm, JavaScript, V8, SQLite, malloc, the kernel and the rest of workerd, and the costliest
//!   wasm functions; needs the `perf` tool); `--fleet` builds the
//!   generated 10- and 10,000-service deployments (`target/worker-fleet-*`, never shipped) and
//!   prints only the flat-cost section; `--metrics` builds them and prints only `GET /metrics`
//!   on the 10,000-service one; `--managed` prints only the time to create 1,000 (then
//!   10,000) managed services through the API and the list's latency at 10,000.
//! - `build-worker [--config DIR] [--out DIR] [--bench]`: what `wrangler.toml`'s build command
//!   runs; with `--out`, a second build into that folder (the end-to-end suite's
//!   `tests/config-cloudflaremon` Worker: `--config tests/config-cloudflaremon --out
//!   target/worker-cloudflaremon --bench`); `--bench` adds the benchmark's `/api/internal/*`
//!   routes, which the end-to-end suite reads (never in a deployed build).

mod demo;
mod e2e;
mod tools;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;
/// A named step of `cargo xtask test`.
type Step = (&'static str, Box<dyn Fn() -> Result<()>>);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("dev") => dev(&args[1..]),
        Some("test") => test(),
        Some("screenshots") => screenshots(),
        Some("bench") => bench(&args[1..]),
        Some("build-worker") => config_dir(&args[1..])
            .and_then(|dir| build_worker(dir.as_deref(), out_dir(&args[1..]), args.iter().any(|a| a == "--bench"))),
        _ => {
            eprintln!(
                "usage: cargo xtask <dev [--demo] [--port N] [--config DIR] | test | screenshots | bench [--quick | --floor | --profile | --fleet | --metrics | --managed] \
                 | build-worker [--config DIR] [--out DIR] [--bench]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs a command, failing unless it exits 0.
fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if !status.success() {
        return Err(format!("{:?} {:?} failed: {status}", cmd.get_program(), cmd.get_args().collect::<Vec<_>>()).into());
    }
    Ok(())
}

fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.args(args).current_dir(root());
    cmd
}

/// The folder of `--config DIR` (absolute, so it holds wherever the build runs), if given.
fn config_dir(args: &[String]) -> Result<Option<PathBuf>> {
    let Some(i) = args.iter().position(|a| a == "--config") else { return Ok(None) };
    let dir = PathBuf::from(args.get(i + 1).ok_or("--config needs a folder")?);
    let dir = dir.canonicalize().map_err(|e| format!("--config {}: {e}", dir.display()))?;
    if !dir.join("services.json").is_file() {
        return Err(format!("--config {}: no services.json there", dir.display()).into());
    }
    Ok(Some(dir))
}

/// The folder of `--out DIR` (relative to the repository root), if given.
fn out_dir(args: &[String]) -> Option<&Path> {
    let i = args.iter().position(|a| a == "--out")?;
    args.get(i + 1).map(Path::new)
}

/// Builds the Worker with the config folder `dir`, else `$SYSTOLE_CONFIG_DIR`, else `config/`,
/// into `crates/worker/build`, or with `out` into that folder, with the `bench` feature if
/// `bench` (see `tools::build_worker_to`).
fn build_worker(dir: Option<&Path>, out: Option<&Path>, bench: bool) -> Result<()> {
    if std::env::var("SYSTOLE_SKIP_BUILD").is_ok_and(|v| v == "1") {
        return Ok(());
    }
    let dir = match dir {
        Some(d) => d.to_owned(),
        None => PathBuf::from(std::env::var("SYSTOLE_CONFIG_DIR").unwrap_or_else(|_| "config".into())),
    };
    tools::build_worker_to(&dir, out, bench)
}

fn dev(args: &[String]) -> Result<()> {
    let demo = args.iter().any(|a| a == "--demo");
    let port: u16 = match args.iter().position(|a| a == "--port") {
        Some(i) => args.get(i + 1).ok_or("--port needs a number")?.parse()?,
        None => 8787,
    };
    let dir = config_dir(args)?.unwrap_or_else(|| root().join("config"));
    tools::ensure()?;
    let config = demo::load_config(&dir)?;
    let keys = demo::ensure_dev_vars(&config, &root().join(".dev.vars"))?;
    demo::print_keys(&config, &keys, port);
    demo::print_ping_urls(&config, &root().join(".dev.vars"), port);
    let metrics_key = demo::ensure_metrics_key(&root().join(".dev.vars"))?;
    demo::print_metrics_key(&metrics_key, port);
    let management_key = demo::ensure_management_key(&root().join(".dev.vars"))?;
    demo::print_management_key(&management_key, port);
    demo::report_weak_secrets(&root().join(".dev.vars"));
    run(tools::wrangler().args(["d1", "migrations", "apply", "DB", "--local"]))?;
    let mut server = tools::wrangler()
        .args(["dev", "--local", "--port", &port.to_string(), "--show-interactive-dev-session=false"])
        .env("SYSTOLE_CONFIG_DIR", &dir)
        .spawn()?;
    if demo {
        demo::start_senders(&config, &keys, port);
    }
    let status = server.wait()?;
    if !status.success() {
        return Err(format!("wrangler dev exited: {status}").into());
    }
    Ok(())
}

/// The end-to-end suite's second config folder (the cloudflaremon compatibility suite) and
/// where its build goes (`systole_e2e::CLOUDFLAREMON` reads it from there).
const CLOUDFLAREMON_CONFIG: &str = "tests/config-cloudflaremon";
/// See [`CLOUDFLAREMON_CONFIG`].
const CLOUDFLAREMON_BUILD: &str = "target/worker-cloudflaremon";
/// A build as deployed (the example `config/`, no `bench` feature), which `wrangler deploy
/// --dry-run` bundles and the end-to-end suite's `default_build` test runs
/// (`systole_e2e::DEFAULT`).
const DEFAULT_BUILD: &str = "target/worker-default";

fn test() -> Result<()> {
    let started = Instant::now();
    let steps: Vec<Step> = vec![
        ("cargo fmt --check", Box::new(|| run(&mut cargo(&["fmt", "--all", "--check"])))),
        (
            "clippy (native)",
            Box::new(|| {
                run(&mut cargo(&[
                    "clippy",
                    "--workspace",
                    "--exclude",
                    "systole-worker",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ]))
            }),
        ),
        (
            "pinned tools",
            Box::new(|| {
                tools::ensure()?;
                tools::ensure_schemathesis()
            }),
        ),
        (
            "clippy (wasm32)",
            Box::new(|| {
                let args = [
                    "clippy",
                    "-p",
                    "systole-core",
                    "-p",
                    "systole-web",
                    "-p",
                    "systole-worker",
                    "-p",
                    "systole-floor",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--",
                    "-D",
                    "warnings",
                ];
                run(&mut cargo(&args))
            }),
        ),
        (
            "native tests",
            Box::new(|| {
                let args = [
                    "test",
                    "--workspace",
                    "--exclude",
                    "systole-worker",
                    "--exclude",
                    "systole-e2e",
                    "--exclude",
                    "systole-floor",
                ];
                run(&mut cargo(&args))?;
                // The worker's pure parts (route table, D1 rows against migrations/), natively.
                run(&mut cargo(&["test", "-p", "systole-worker", "--lib"]))?;
                // The benchmark's pure parts (reading `perf report`).
                run(&mut cargo(&["test", "-p", "systole-e2e", "--bins"]))
            }),
        ),
        (
            "wasm build (tests/config-cloudflaremon)",
            Box::new(|| {
                tools::build_worker_to(Path::new(CLOUDFLAREMON_CONFIG), Some(Path::new(CLOUDFLAREMON_BUILD)), true)
            }),
        ),
        (
            "wasm build (config, as deployed)",
            Box::new(|| tools::build_worker_to(Path::new("config"), Some(Path::new(DEFAULT_BUILD)), false)),
        ),
        ("wasm build (tests/config)", Box::new(|| tools::build_worker(Path::new("tests/config")))),
        (
            "wrangler deploy --dry-run",
            Box::new(|| {
                // The build as deployed, without the benchmark's routes.
                let out = root().join("target/dry-run");
                let _ = fs::remove_dir_all(&out);
                let shim = root().join(DEFAULT_BUILD).join("worker/shim.mjs");
                let mut cmd = tools::wrangler();
                cmd.args(["deploy", "--dry-run", "--outdir"]).arg(&out).arg(shim);
                run(cmd.env("SYSTOLE_SKIP_BUILD", "1"))?;
                no_bench_routes(&out)
            }),
        ),
        (
            "end-to-end (wrangler dev / workerd)",
            Box::new(|| {
                run(&mut cargo(&["build", "-p", "systole-client", "--bin", "systole"]))?;
                e2e::run()
            }),
        ),
    ];
    let total = steps.len();
    for (i, (name, step)) in steps.iter().enumerate() {
        eprintln!("\n=== xtask test [{}/{total}] {name}", i + 1);
        let t = Instant::now();
        if let Err(e) = step() {
            eprintln!(
                "\nxtask test: FAILED at step {}/{total} ({name}) after {:.0} s: {e}",
                i + 1,
                started.elapsed().as_secs_f64()
            );
            return Err("tests failed".into());
        }
        eprintln!("=== {name}: ok in {:.1} s", t.elapsed().as_secs_f64());
    }
    eprintln!("\nxtask test: PASSED all {total} steps in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Fails if any file of the bundle in `dir` mentions `/api/internal/` (the benchmark's
/// routes, compiled only with the worker's `bench` feature).
fn no_bench_routes(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && fs::read(&path)?.windows(14).any(|w| w == b"/api/internal/") {
            return Err(format!("{} contains the bench-only /api/internal/ routes", path.display()).into());
        }
    }
    Ok(())
}

/// Where the browser test writes its screenshots.
const SHOTS: &str = "target/screenshots";

/// Runs the browser tests alone (the dashboard's, then the admin pages') and copies their
/// screenshots into `docs/screenshots/`.
fn screenshots() -> Result<()> {
    tools::build_worker(Path::new("tests/config"))?;
    let args = ["test", "-p", "systole-e2e", "--test", "browser", "--test", "browser_admin"];
    run(cargo(&args).env("SYSTOLE_SKIP_BUILD", "1"))?;
    let docs = root().join("docs/screenshots");
    let mut copied = Vec::new();
    for entry in fs::read_dir(root().join(SHOTS))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "png") {
            let name = path.file_name().ok_or("a screenshot without a name")?;
            fs::copy(&path, docs.join(name))?;
            copied.push(name.to_string_lossy().into_owned());
        }
    }
    if copied.is_empty() {
        return Err(format!("the browser test left no screenshots in {SHOTS}").into());
    }
    copied.sort();
    eprintln!("xtask screenshots: copied {} into docs/screenshots/", copied.join(", "));
    Ok(())
}

/// The test services plus generated groups, to over 1,000 services: `bench-100` (100
/// services) and nine groups of 92.
fn bench_fleet() -> Result<String> {
    let text = fs::read_to_string(root().join("tests/config/services.json"))?;
    let mut fleet: serde_json::Value = serde_json::from_str(&text)?;
    let mut add = |group: &str, name: &str, n: usize| -> Result<()> {
        let ids: Vec<String> = (0..n).map(|i| format!("{group}-{i:03}")).collect();
        let services = fleet["services"].as_array_mut().ok_or("services.json: no services")?;
        services.extend(ids.iter().map(|id| serde_json::json!({"id": id, "name": format!("{name} {id}")})));
        let groups = fleet["groups"].as_array_mut().ok_or("services.json: no groups")?;
        groups
            .push(serde_json::json!({"id": group, "name": name, "services": ids, "notifications": {"enabled": false}}));
        Ok(())
    };
    add("bench-100", "Bench hundred", 100)?;
    for g in 0..9 {
        add(&format!("fleet-{g}"), &format!("Fleet {g}"), 92)?;
    }
    Ok(fleet.to_string())
}

/// The flat-cost benchmark's deployments (`tests/src/bin/bench/fleet.rs`): the config folder
/// written, the build folder and how many services. Both are the same generated fleet, in
/// groups of 100, open (no users) and built alike (release profile, `bench` feature), so
/// only the number of services differs.
const FLEETS: [(&str, &str, usize); 2] = [
    ("target/bench-fleet-10", "target/worker-fleet-10", 10),
    ("target/bench-fleet-10000", "target/worker-fleet-10000", 10_000),
];

/// `services.json` of `n` generated services `fleet-00000`… in groups of 100
/// (`fleet-g000`…), notifications off.
fn fleet_services(n: usize) -> String {
    let ids: Vec<String> = (0..n).map(|i| format!("fleet-{i:05}")).collect();
    let services: Vec<serde_json::Value> =
        ids.iter().map(|id| serde_json::json!({"id": id, "name": format!("Fleet service {id}")})).collect();
    let groups: Vec<serde_json::Value> = ids
        .chunks(100)
        .enumerate()
        .map(|(g, ids)| {
            serde_json::json!({"id": format!("fleet-g{g:03}"), "name": format!("Fleet group {g}"), "services": ids,
                "notifications": {"enabled": false}})
        })
        .collect();
    serde_json::json!({"groups": groups, "services": services}).to_string()
}

/// Writes and builds the [`FLEETS`].
fn build_fleets() -> Result<()> {
    for (config, out, n) in FLEETS {
        let dir = root().join(config);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("services.json"), fleet_services(n))?;
        fs::write(dir.join("settings.json"), "{\"monitoring\": {\"minStalenessThreshold\": 1}}\n")?;
        tools::build_worker_release_to(Path::new(config), Path::new(out))?;
    }
    Ok(())
}

fn bench(args: &[String]) -> Result<()> {
    let flag = |f: &str| args.iter().any(|a| a == f);
    let (only_fleet, profile, perf) = (flag("--fleet"), flag("--profile"), flag("--perf"));
    let only_floor = profile || perf || flag("--floor");
    let quick = only_floor || flag("--quick");
    // The test services (50 `load-*` with test keys) with production settings: the default
    // 10 s flush interval, so rows per heartbeat are measured as deployed.
    let dir = root().join("target/bench-config");
    fs::create_dir_all(&dir)?;
    fs::write(dir.join("services.json"), bench_fleet()?)?;
    fs::copy(root().join("tests/config/notifications.json"), dir.join("notifications.json"))?;
    fs::copy(root().join("tests/config/dashboard.json"), dir.join("dashboard.json"))?;
    // The `idle` user (the idle-tabs benchmark) sees exactly the 100 services of `bench-100`
    // (the page-weight benchmark).
    let users = fs::read_to_string(root().join("tests/config/users.json"))?;
    let mut users: serde_json::Value = serde_json::from_str(&users)?;
    for u in users["users"].as_array_mut().ok_or("users.json: no users")? {
        if u["id"] == "idle" {
            u["groups"] = serde_json::json!(["bench-100"]);
        }
    }
    fs::write(dir.join("users.json"), users.to_string())?;
    // Production settings but the threshold floor, and the test services' threshold profiles.
    let test_settings: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(root().join("tests/config/settings.json"))?)?;
    let settings = serde_json::json!({
        "monitoring": {"minStalenessThreshold": 1},
        "uptimeThresholds": test_settings["uptimeThresholds"],
    });
    fs::write(dir.join("settings.json"), format!("{settings}\n"))?;
    if flag("--metrics") {
        // Only `GET /metrics` on the 10,000-service fleet (tests/src/bin/bench/metrics.rs).
        build_fleets()?;
        let mut cmd = cargo(&["run", "--release", "-p", "systole-e2e", "--bin", "bench"]);
        return run(cmd.env("SYSTOLE_SKIP_BUILD", "1").env("SYSTOLE_BENCH_ONLY", "metrics"));
    }
    if only_fleet {
        build_fleets()?;
        let mut cmd = cargo(&["run", "--release", "-p", "systole-e2e", "--bin", "bench"]);
        return run(cmd.env("SYSTOLE_SKIP_BUILD", "1").env("SYSTOLE_BENCH_ONLY", "fleet"));
    }
    tools::build_worker(&dir)?;
    if flag("--managed") {
        // Only creating 10,000 managed services and listing them (tests/src/bin/bench/managed.rs).
        let mut cmd = cargo(&["run", "--release", "-p", "systole-e2e", "--bin", "bench"]);
        return run(cmd.env("SYSTOLE_SKIP_BUILD", "1").env("SYSTOLE_BENCH_ONLY", "managed"));
    }
    // The runtime's floor the heartbeat is compared with (tests/floor/; the JS one needs no
    // build).
    tools::build_floor()?;
    if !quick {
        build_fleets()?;
    }
    let mut cmd = cargo(&["run", "--release", "-p", "systole-e2e", "--bin", "bench"]);
    cmd.env("SYSTOLE_SKIP_BUILD", "1").env("SYSTOLE_BENCH_QUICK", if quick { "1" } else { "0" });
    if only_floor {
        let sampler = if perf {
            "perf"
        } else if profile {
            "1"
        } else {
            "0"
        };
        cmd.env("SYSTOLE_BENCH_ONLY", "floor").env("SYSTOLE_BENCH_PROFILE", sampler);
        if perf {
            // V8 names its JIT code (wasm functions included) in /tmp/perf-<pid>.map for
            // `perf report`; wrangler hands this variable to workerd as V8 flags. The flag
            // also turns on V8's code log, which would write an `isolate-*-v8.log` per
            // isolate into the working directory: sent to /dev/null instead.
            cmd.env("MINIFLARE_WORKERD_V8_FLAGS", "--perf-basic-prof --no-logfile-per-isolate --logfile=/dev/null");
        }
    }
    run(&mut cmd)?;
    if quick {
        return Ok(());
    }
    let doc = root().join("docs/benchmarks.md");
    let kept = fs::read_to_string(&doc).unwrap_or_default();
    fs::write(&doc, merge_sections(&kept, &fs::read_to_string(root().join("target/benchmarks.md"))?))?;
    eprintln!("xtask bench: wrote {}", fs::canonicalize(&doc).unwrap_or(doc).display());
    Ok(())
}

/// `fresh` (a run's document) merged into `kept` (the document on record) by `## ` section:
/// `fresh`'s text before its first section, then `kept`'s sections in their order, each
/// replaced by `fresh`'s section of the same heading when it has one, then `fresh`'s
/// sections that `kept` lacks. So a run rewrites what it measured and keeps the rest: the
/// sections of runs it does not make (`--managed`, `--metrics`) and hand-kept records.
fn merge_sections(kept: &str, fresh: &str) -> String {
    fn split(doc: &str) -> (&str, Vec<(&str, &str)>) {
        let mut starts: Vec<usize> = doc.match_indices("\n## ").map(|(i, _)| i + 1).collect();
        if doc.starts_with("## ") {
            starts.insert(0, 0);
        }
        let preamble = &doc[..starts.first().copied().unwrap_or(doc.len())];
        let ends = starts.iter().skip(1).copied().chain([doc.len()]);
        let sections = starts
            .iter()
            .zip(ends)
            .map(|(&start, end)| {
                let text = &doc[start..end];
                (text.lines().next().unwrap_or_default(), text)
            })
            .collect();
        (preamble, sections)
    }
    let (_, kept) = split(kept);
    let (preamble, fresh) = split(fresh);
    let fresh_of = |heading: &str| fresh.iter().find(|(h, _)| *h == heading).map(|(_, text)| *text);
    let mut doc = preamble.to_owned();
    let mut add = |text: &str| {
        if !doc.is_empty() && !doc.ends_with('\n') {
            doc.push('\n');
        }
        doc += text;
    };
    for (heading, text) in &kept {
        add(fresh_of(heading).unwrap_or(text));
    }
    for (heading, text) in &fresh {
        if !kept.iter().any(|(h, _)| h == heading) {
            add(text);
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::merge_sections;

    #[test]
    fn a_bench_run_rewrites_its_sections_and_keeps_the_others_in_place() {
        let kept = "# Benchmarks\n\nold intro\n\n## Floor\n\nold floor\n\n### Sub\n\nold sub\n\n\
                    ## Floor record\n\nby hand\n\n## Managed\n\nfrom --managed";
        let fresh = "# Benchmarks\n\nnew intro\n\n## Floor\n\nnew floor\n\n## Size\n\nnew size\n";
        assert_eq!(
            merge_sections(kept, fresh),
            "# Benchmarks\n\nnew intro\n\n## Floor\n\nnew floor\n\n## Floor record\n\nby hand\n\n\
             ## Managed\n\nfrom --managed\n## Size\n\nnew size\n"
        );
        assert_eq!(merge_sections("", fresh), fresh, "a first run writes the run's document");
    }
}
