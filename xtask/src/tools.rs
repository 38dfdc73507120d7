//! The pinned tools a fresh machine needs, installed into the project when missing:
//! the wasm32 target, `worker-build` and `wasm-bindgen-cli` (into the gitignored `.tools/`),
//! the npm packages (wrangler, Node 22, binaryen, playwright-core: `npm ci` from
//! package-lock.json), Debian's chromium and prometheus (apt-get), and Schemathesis in a Python virtualenv (`.tools/schemathesis`, the
//! exact versions of `tests/schemathesis/requirements.txt`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{root, run, Result};

/// worker-build matching the `worker` crate (0.8.x).
pub const WORKER_BUILD_VERSION: &str = "0.8.7";

/// Path of a binary installed into `.tools/bin`.
pub fn tool(name: &str) -> PathBuf {
    root().join(".tools/bin").join(name)
}

/// Node 22 from `node_modules` (wrangler refuses the machine's Node 20).
pub fn node() -> PathBuf {
    root().join("node_modules/.bin/node")
}

/// A `wrangler` command run by Node 22, with `node_modules/.bin` first on `PATH`.
pub fn wrangler() -> Command {
    let mut cmd = Command::new(node());
    cmd.arg(root().join("node_modules/wrangler/bin/wrangler.js"));
    cmd.env("PATH", path_with_node());
    cmd.env("WRANGLER_SEND_METRICS", "false");
    cmd.current_dir(root());
    cmd
}

/// `PATH` with `node_modules/.bin` first.
pub fn path_with_node() -> String {
    let bin = root().join("node_modules/.bin");
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

/// Installs whatever is missing; each step is skipped when already done.
pub fn ensure() -> Result<()> {
    ensure_wasm_target()?;
    ensure_cargo_tool("worker-build", "worker-build", WORKER_BUILD_VERSION, true)?;
    // wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock exactly. Installed without
    // --locked: its lockfile pins a webpki-roots release the registry mirror lacks.
    let bindgen = locked_version("wasm-bindgen")?;
    ensure_cargo_tool("wasm-bindgen-cli", "wasm-bindgen", &bindgen, false)?;
    ensure_npm()?;
    ensure_chromium()?;
    ensure_prometheus()
}

/// The pinned Python packages of the Schemathesis run (`tests/tests/schemathesis.rs`).
const SCHEMATHESIS_REQUIREMENTS: &str = "tests/schemathesis/requirements.txt";

/// Creates the virtualenv `.tools/schemathesis` (gitignored; its `bin/st` is the CLI the
/// end-to-end suite runs) with `python3 -m venv` and installs the pinned requirements into
/// it, unless the copy of the requirements it was made from is the current one and its CLI
/// runs.
pub fn ensure_schemathesis() -> Result<()> {
    let venv = root().join(".tools/schemathesis");
    let wanted = fs::read_to_string(root().join(SCHEMATHESIS_REQUIREMENTS))?;
    let stamp = venv.join("installed-requirements.txt");
    // A virtualenv's scripts name its interpreter by absolute path, so one made at another
    // path (a moved or shared `.tools/`) has to run before it counts as installed.
    let runs = || Command::new(venv.join("bin/st")).arg("--version").output().is_ok_and(|o| o.status.success());
    if fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) && runs() {
        return Ok(());
    }
    eprintln!("xtask: installing Schemathesis into .tools/schemathesis ({SCHEMATHESIS_REQUIREMENTS}; once)");
    if venv.exists() {
        fs::remove_dir_all(&venv)?;
    }
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(root().join(SCHEMATHESIS_REQUIREMENTS)))?;
    fs::write(stamp, wanted)?;
    Ok(())
}

/// Debian's Chromium, which the browser end-to-end test drives with playwright-core
/// (Playwright's own browser download does not work without open internet).
fn ensure_chromium() -> Result<()> {
    ensure_apt("chromium", CHROMIUM, "the browser tests")
}

/// Debian's Prometheus (`prometheus` package: the server and `promtool`), which the metrics
/// end-to-end test (`tests/tests/metrics.rs`) runs: `promtool check metrics` on `/metrics`,
/// and a real scrape queried back through its HTTP API.
fn ensure_prometheus() -> Result<()> {
    ensure_apt("prometheus", PROMTOOL, "the metrics tests")
}

/// Installs Debian's `package` with apt-get (as root, else through sudo) unless `path`
/// exists; fails when `path` is still missing after.
fn ensure_apt(package: &str, path: &str, what: &str) -> Result<()> {
    if Path::new(path).exists() {
        return Ok(());
    }
    eprintln!("xtask: installing Debian's {package} for {what} (once)");
    let root_user = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
    let apt = |args: &[&str]| {
        let mut cmd = if root_user { Command::new("apt-get") } else { Command::new("sudo") };
        if !root_user {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)
    };
    apt(&["update", "-q"])?;
    apt(&["install", "-y", "-q", "--no-install-recommends", package])?;
    if Path::new(path).exists() {
        Ok(())
    } else {
        Err(format!("{path} is still missing after apt-get install {package}").into())
    }
}

/// Where Debian's prometheus package puts `promtool` (the server is `/usr/bin/prometheus`).
pub const PROMTOOL: &str = "/usr/bin/promtool";

/// Where Debian's chromium package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

fn ensure_wasm_target() -> Result<()> {
    let out = Command::new("rustup").args(["target", "list", "--installed"]).current_dir(root()).output()?;
    if !String::from_utf8_lossy(&out.stdout).contains("wasm32-unknown-unknown") {
        eprintln!("xtask: adding the wasm32-unknown-unknown target");
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]).current_dir(root()))?;
    }
    Ok(())
}

fn ensure_cargo_tool(package: &str, binary: &str, version: &str, locked: bool) -> Result<()> {
    let bin = tool(binary);
    if bin.exists() {
        let out = Command::new(&bin).arg("--version").output()?;
        if String::from_utf8_lossy(&out.stdout).contains(version) {
            return Ok(());
        }
    }
    eprintln!("xtask: installing {package} {version} into .tools (once; a few minutes)");
    let mut cmd = Command::new("cargo");
    cmd.args(["install", package, "--version", version, "--root"]).arg(root().join(".tools"));
    if locked {
        cmd.arg("--locked");
    }
    run(&mut cmd)
}

fn ensure_npm() -> Result<()> {
    let stamp = root().join("node_modules/.package-lock.json");
    let lock = root().join("package-lock.json");
    let fresh = match (fs::metadata(&stamp), fs::metadata(&lock)) {
        (Ok(s), Ok(l)) => s.modified()? >= l.modified()? && node().exists(),
        _ => false,
    };
    if !fresh {
        // `npm ci`: exactly the versions in package-lock.json, which lists workerd's packages
        // for every platform, and never rewrites the lock.
        eprintln!("xtask: npm ci (wrangler, node 22, binaryen, playwright-core; versions from package-lock.json)");
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(root()))?;
    }
    Ok(())
}

/// The version of `package` recorded in Cargo.lock.
fn locked_version(package: &str) -> Result<String> {
    let lock = fs::read_to_string(root().join("Cargo.lock"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{package}\"") {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_owned());
            }
        }
    }
    Err(format!("{package} not found in Cargo.lock").into())
}

/// Builds the worker with worker-build into `crates/worker/build`, embedding the config
/// in `config_dir` (relative to the repository root), with the `bench` feature (the
/// benchmark's `/api/internal/*` routes, which the end-to-end suite reads too).
pub fn build_worker(config_dir: &Path) -> Result<()> {
    build_worker_to(config_dir, None, true)
}

/// [`build_worker`], or with `out` (relative to the repository root) a second build there:
/// the `e2e` profile (no LTO, no wasm-opt), whose artifacts live beside the release build's,
/// so neither build undoes the other. The end-to-end suite runs such a build with another
/// config folder (`tests/config-cloudflaremon`). `bench` enables the worker's `bench` feature
/// (the `/api/internal/*` routes); a deployed build is built without it.
pub fn build_worker_to(config_dir: &Path, out: Option<&Path>, bench: bool) -> Result<()> {
    build(config_dir, out, bench, false)
}

/// [`build_worker_to`] `out` with the `bench` feature, optimised as deployed (the release
/// profile): the benchmark's generated fleets, whose CPU per request is compared with the
/// main build's.
pub fn build_worker_release_to(config_dir: &Path, out: &Path) -> Result<()> {
    build(config_dir, Some(out), true, true)
}

fn build(config_dir: &Path, out: Option<&Path>, bench: bool, release: bool) -> Result<()> {
    ensure()?;
    let mut cmd = Command::new(tool("worker-build"));
    match out {
        None => cmd.arg("--release"),
        // worker-build takes the output folder relative to the crate.
        Some(out) if release => cmd.args(["--release", "--out-dir"]).arg(Path::new("../..").join(out)),
        Some(out) => cmd.args(["--profile", "e2e", "--no-opt", "--out-dir"]).arg(Path::new("../..").join(out)),
    };
    if bench {
        // worker-build passes what follows the crate path on to `cargo build`.
        cmd.args([".", "--features", "bench"]);
    }
    cmd.current_dir(root().join("crates/worker"))
        .env("WASM_BINDGEN_BIN", tool("wasm-bindgen"))
        .env("WASM_OPT_BIN", root().join("node_modules/.bin/wasm-opt"))
        .env("SYSTOLE_CONFIG_DIR", root().join(config_dir))
        .env("PATH", path_with_node())
        .env("NO_MINIFY", "1");
    run(&mut cmd)?;
    plain_glue(&root().join(out.unwrap_or(Path::new("crates/worker/build"))))
}

/// The line of worker-build's (0.8.x) unminified bundle that exports the Worker's entrypoint:
/// its `WorkerEntrypoint` class behind a `Proxy`, which the runtime constructs anew, with a
/// new `Proxy` per handler, for every request.
const PROXIED_ENTRYPOINT: &str = "var shim_default = new Proxy(Entrypoint, classProxyHooks);";

/// What [`plain_glue`] puts in [`PROXIED_ENTRYPOINT`]'s place: a module Worker's plain handler
/// object, made once, each handler keeping the shim's recovery from a Wasm trap (reset the
/// instance before the next call; a trap marks it for reset); `systolePlainClass`, which exports a
/// Durable Object class in place of the shim's per-object `Proxy` (a new `Proxy` for every
/// method read, every field read through a trap); and `systoleNextMicrotask` (see
/// [`QUEUE_MICROTASK`]).
const PLAIN_GLUE: &str = r#"// Systole (xtask/src/tools.rs plain_glue): a plain handler object instead of a Proxy-wrapped WorkerEntrypoint constructed per request.
var shim_default = Object.fromEntries(Object.getOwnPropertyNames(Entrypoint.prototype)
  .filter((name) => name !== "constructor")
  .map((name) => [name, function (arg, env, ctx) {
    checkReinitialize();
    try {
      return Entrypoint.prototype[name].call({ env, ctx }, arg);
    } catch (e) {
      handleMaybeCritical(e);
      throw e;
    }
  }]));
// Systole (plain_glue): a class with the Wasm class's methods instead of a Proxy per object;
// as the shim's proxies do, each call resets a trapped instance first and the object is
// constructed again on the new instance, and a trap in a call marks the instance for reset.
function systolePlainClass(ctor) {
  const Plain = class {
    #args;
    #instance;
    #instanceId;
    constructor(...args) {
      try {
        checkReinitialize();
        this.#args = args;
        this.#instance = Reflect.construct(ctor, args);
        this.#instanceId = initState.instanceId;
      } catch (e) {
        initState.criticalError = true;
        throw e;
      }
    }
    static current(self) {
      if (self.#instanceId !== initState.instanceId) {
        self.#instance = Reflect.construct(ctor, self.#args);
        self.#instanceId = initState.instanceId;
      }
      return self.#instance;
    }
  };
  Object.defineProperty(Plain, "name", { value: ctor.name });
  for (const name of Object.getOwnPropertyNames(ctor.prototype)) {
    const method = Object.getOwnPropertyDescriptor(ctor.prototype, name).value;
    if (name === "constructor" || typeof method !== "function") continue;
    Plain.prototype[name] = function (...args) {
      checkReinitialize();
      // A reset wasm-bindgen's glue scheduled (a trap it caught) would otherwise happen
      // inside the call, after the object was chosen: done first, so the object is made anew.
      if (__wbg_reinit_scheduled) __wbg_call_guard();
      try {
        return method.apply(Plain.current(this), args);
      } catch (e) {
        handleMaybeCritical(e);
        throw e;
      }
    };
  }
  return Plain;
}
// Systole (plain_glue): the futures queue's microtask as a reaction to a settled promise;
// a throw in it is handled as the shim handles an uncaught one, and then rethrown.
var systoleSettled = Promise.resolve();
function systoleNextMicrotask(task) {
  systoleSettled.then(task).catch((e) => {
    handleMaybeCritical(e);
    throw e;
  });
}"#;

/// wasm-bindgen's import that queues the futures queue's run on the next microtask. The
/// runtime's `queueMicrotask` wraps each task in a new native function and crosses into C++
/// twice; a promise reaction runs the same task in the same microtask queue without either.
const QUEUE_MICROTASK: (&str, &str) = ("      queueMicrotask(arg0);\n", "      systoleNextMicrotask(arg0);\n");

/// The declarations of wasm-bindgen's glue that [`PLAIN_GLUE`]'s classes use: the flag
/// of a reset the glue scheduled, and the guard that carries it out.
const GLUE_NAMES: [&str; 2] = ["var __wbg_reinit_scheduled = false;", "function __wbg_call_guard() {"];

/// Rewrites the `index.js` worker-build bundled into `out` (built with `NO_MINIFY`) where its
/// glue costs every request CPU that is not the Worker's (`cargo xtask bench --profile`,
/// docs/benchmarks.md):
/// - the default export becomes [`PLAIN_GLUE`]'s handler object (worker-build's
///   per-request class and proxies cost about 0.1 ms);
/// - each exported class (`var X2 = new Proxy(X, classProxyHooks);`) becomes
///   `systolePlainClass(X)`;
/// - the futures queue's `queueMicrotask` becomes [`QUEUE_MICROTASK`]'s promise reaction.
///
/// # Errors
/// The bundle lacks [`PROXIED_ENTRYPOINT`], the microtask import or a [`GLUE_NAMES`] line
/// exactly once, or has no proxied class (another worker-build or wasm-bindgen version).
fn plain_glue(out: &Path) -> Result<()> {
    let path = out.join("index.js");
    let bundle = fs::read_to_string(&path)?;
    let missing = |what: &str| format!("{}: worker-build's `{what}` not found once", path.display());
    let required = [PROXIED_ENTRYPOINT, QUEUE_MICROTASK.0, GLUE_NAMES[0], GLUE_NAMES[1]];
    if let Some(line) = required.iter().find(|l| bundle.matches(**l).count() != 1) {
        return Err(missing(line.trim()).into());
    }
    let bundle = bundle.replace(PROXIED_ENTRYPOINT, PLAIN_GLUE).replace(QUEUE_MICROTASK.0, QUEUE_MICROTASK.1);
    let mut classes = 0;
    let lines: Vec<String> = bundle
        .lines()
        .map(|line| {
            let class = line
                .strip_prefix("var ")
                .and_then(|l| l.split_once(" = new Proxy("))
                .and_then(|(_, l)| l.strip_suffix(", classProxyHooks);"));
            match class {
                Some(class) if class.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                    classes += 1;
                    line.replace(
                        &format!("new Proxy({class}, classProxyHooks)"),
                        &format!("systolePlainClass({class})"),
                    )
                }
                _ => line.to_owned(),
            }
        })
        .collect();
    if classes == 0 {
        return Err(missing("var X2 = new Proxy(X, classProxyHooks);").into());
    }
    fs::write(&path, lines.join("\n") + "\n")?;
    Ok(())
}

/// Where [`build_floor`] puts the workers-rs floor Worker (`tests/floor/rust/wrangler.toml`
/// runs it from there).
pub const FLOOR_BUILD: &str = "target/floor-rust";

/// Builds the benchmark's workers-rs floor (`tests/floor/rust`, the `systole-floor` crate) as
/// [`build_worker`] builds the Systole Worker (release, the same worker-build and
/// wasm-bindgen), into [`FLOOR_BUILD`]. Only `cargo xtask bench` needs it.
pub fn build_floor() -> Result<()> {
    ensure()?;
    let mut cmd = Command::new(tool("worker-build"));
    // worker-build takes the output folder relative to the crate.
    cmd.arg("--release").arg("--out-dir").arg(Path::new("../../..").join(FLOOR_BUILD));
    cmd.current_dir(root().join("tests/floor/rust"))
        .env("WASM_BINDGEN_BIN", tool("wasm-bindgen"))
        .env("WASM_OPT_BIN", root().join("node_modules/.bin/wasm-opt"))
        .env("PATH", path_with_node())
        .env("NO_MINIFY", "1");
    run(&mut cmd)?;
    plain_glue(&root().join(FLOOR_BUILD))
}
