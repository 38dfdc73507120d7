//! `cargo xtask bench --perf`: where the Worker's runtime process spends its CPU under a
//! heartbeat load, from Linux `perf record` on that process (the `perf` tool must be
//! installed; it samples CPU time, not wall time, so unlike the inspector's profiler
//! ([`super::profile`]) a thread the host took the core from is not counted). The runtime runs
//! with V8's `--perf-basic-prof` (xtask passes it through wrangler's
//! `MINIFLARE_WORKERD_V8_FLAGS`), so JIT-compiled code has names in `/tmp/perf-<pid>.map`
//! (V8 appends to it for the process's life, and leaves it there):
//! each wasm function its Rust name (the names section), each JavaScript function its
//! script and line. Each sample is then counted in one [`Part`] of the process, and the
//! parts and the costliest wasm functions are reported in µs per request: a part's share
//! of the samples times the load's measured CPU per request.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use systole_e2e::{root, Worker};

use super::Run;

/// Samples per second of CPU time.
const FREQUENCY: u32 = 2_000;
/// Wasm functions listed per load.
const TOP: usize = 15;

/// Where a sample of the runtime process was, by the symbol `perf report` gives it.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, PartialOrd, Ord)]
pub enum Part {
    /// Compiled WebAssembly: the Worker's Rust.
    Wasm,
    /// V8's wrappers between WebAssembly and JavaScript (`wasm-to-js`, `js-to-wasm`).
    Crossing,
    /// Compiled JavaScript: the bundle's glue, wrangler's and the runtime's own scripts.
    JavaScript,
    /// V8 outside compiled code: its runtime, builtins and garbage collector.
    V8,
    /// SQLite: the Durable Objects' storage and D1.
    Sqlite,
    /// The memory allocator (tcmalloc).
    Malloc,
    /// The kernel (system calls, I/O, page faults, scheduling).
    Kernel,
    /// The rest of `workerd` (its I/O, HTTP, KJ and Cap'n Proto) and the C library.
    Runtime,
}

impl Part {
    /// Every part, in report order.
    const ALL: [Part; 8] = [
        Part::Wasm,
        Part::Crossing,
        Part::JavaScript,
        Part::V8,
        Part::Sqlite,
        Part::Malloc,
        Part::Kernel,
        Part::Runtime,
    ];

    fn label(self) -> &'static str {
        match self {
            Part::Wasm => "wasm",
            Part::Crossing => "wasm↔JS wrappers",
            Part::JavaScript => "JavaScript",
            Part::V8 => "V8 (runtime, builtins, GC)",
            Part::Sqlite => "SQLite",
            Part::Malloc => "malloc",
            Part::Kernel => "kernel",
            Part::Runtime => "workerd, KJ, libc",
        }
    }
}

/// One line of `perf report --stdio -n --sort dso,sym`: its sample count, its part and, for
/// wasm, the function's name without its hash and tier; `None` for any other line.
///
/// Lines look like `  0.27%  27  [JIT] tid 26523  [.] JS:heartbeat::post::{{closure}}::h1a2…-200-turbofan`
/// (wasm: a name, the function's index and its tier), `… [.] JS:+'fetch entry.worker.js:5421:14`
/// (JavaScript: a tier mark, the name and where), `… workerd  [.] sqlite3VdbeExec` or
/// `… [kernel.kallsyms]  [k] clear_page_erms`.
pub fn classify(line: &str) -> Option<(u64, Part, Option<String>)> {
    let mut words = line.split_whitespace();
    words.next().filter(|w| w.ends_with('%'))?;
    let samples: u64 = words.next()?.parse().ok()?;
    let rest = words.collect::<Vec<_>>().join(" ");
    let (dso, symbol) = rest.split_once(" [.] ").or_else(|| rest.split_once(" [k] ").map(|(_, s)| ("[k]", s)))?;
    if dso == "[k]" {
        return Some((samples, Part::Kernel, None));
    }
    if dso.starts_with("[JIT]") {
        let name = symbol.strip_prefix("JS:").unwrap_or(symbol);
        if name.starts_with("wasm-to-js") || name.starts_with("js-to-wasm") {
            return Some((samples, Part::Crossing, None));
        }
        let tiered = name.strip_suffix("-turbofan").or_else(|| name.strip_suffix("-liftoff"));
        return match tiered.and_then(|n| n.rsplit_once('-')) {
            Some((function, index)) if index.bytes().all(|b| b.is_ascii_digit()) && !function.contains('\'') => {
                Some((samples, Part::Wasm, Some(without_hash(function))))
            }
            _ => Some((samples, Part::JavaScript, None)),
        };
    }
    let part = if symbol.starts_with("sqlite3") || symbol.contains("Sqlite") {
        Part::Sqlite
    } else if symbol.contains("tcmalloc") || symbol.starts_with("TCMalloc") {
        Part::Malloc
    } else if symbol.starts_with("v8::") || symbol.starts_with("Builtins_") || symbol.starts_with("cppgc::") {
        Part::V8
    } else {
        Part::Runtime
    };
    Some((samples, part, None))
}

/// `a::b::h0123456789abcdef` → `a::b`, also inside a longer name.
fn without_hash(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find("::h") {
        let hash = &rest[at + 3..];
        let digits = hash.bytes().take_while(u8::is_ascii_hexdigit).count();
        if digits == 16 {
            out.push_str(&rest[..at]);
            rest = &hash[16..];
        } else {
            out.push_str(&rest[..at + 3]);
            rest = hash;
        }
    }
    out + rest
}

/// A `perf record` of one Worker's runtime process, running for a fixed time.
pub struct Recording {
    child: Child,
    data: PathBuf,
}

impl Recording {
    /// Starts sampling `worker`'s runtime process for `length` (a load's warm-up and
    /// measured period), into `target/perf/<title>.data`.
    ///
    /// # Panics
    /// No runtime process, or `perf` missing (install the `linux-perf` package).
    pub fn start(worker: &Worker, title: &str, length: Duration) -> Recording {
        let pid = *worker.runtime_pids().first().expect("the worker's runtime process");
        let dir = root().join("target/perf");
        fs::create_dir_all(&dir).unwrap();
        let file: String = title.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let data = dir.join(format!("{file}.data"));
        let child = Command::new("perf")
            .args(["record", "--quiet", "-F", &FREQUENCY.to_string(), "-p", &pid.to_string(), "-o"])
            .arg(&data)
            .args(["--", "sleep", &format!("{:.1}", length.as_secs_f64())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("perf record (install the linux-perf package)");
        Recording { child, data }
    }

    /// Waits for the recording to end; the report of where the CPU went, in µs per request
    /// of `run` (its measured CPU per request split in the samples' proportions).
    pub fn report(mut self, title: &str, run: &Run) -> String {
        let _ = self.child.wait();
        let out = Command::new("perf")
            .args(["report", "--stdio", "-n", "--sort", "dso,sym", "-i"])
            .arg(&self.data)
            .stderr(Stdio::null())
            .output()
            .expect("perf report");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts: HashMap<Part, u64> = HashMap::new();
        let mut wasm: HashMap<String, u64> = HashMap::new();
        for (samples, part, function) in text.lines().filter_map(classify) {
            *parts.entry(part).or_default() += samples;
            if let Some(f) = function {
                *wasm.entry(f).or_default() += samples;
            }
        }
        let total = parts.values().sum::<u64>().max(1) as f64;
        let us = |samples: u64| samples as f64 / total * run.cpu_ms * 1000.0;
        let mut report = format!(
            "perf: {title}: {:.0} µs CPU per request ({} samples at {FREQUENCY} Hz)\n",
            run.cpu_ms * 1000.0,
            total
        );
        for part in Part::ALL {
            let n = parts.get(&part).copied().unwrap_or(0);
            report += &format!("  {:6.1} µs/req {:5.1} %  {}\n", us(n), 100.0 * n as f64 / total, part.label());
        }
        let mut functions: Vec<(String, u64)> = wasm.into_iter().collect();
        functions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        report += "  wasm functions:\n";
        for (f, n) in functions.into_iter().take(TOP) {
            report += &format!("    {:6.1} µs/req  {f}\n", us(n));
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_line_lands_in_its_part() {
        let wasm = "     0.27%            27  [JIT] tid 26523       [.] JS:systole_worker::routes::heartbeat::post::{{closure}}::h1a2abb0180a9f49c-200-turbofan";
        assert_eq!(
            classify(wasm),
            Some((27, Part::Wasm, Some("systole_worker::routes::heartbeat::post::{{closure}}".to_owned())))
        );
        let liftoff =
            "  0.04%  4  [JIT] tid 1  [.] JS:<dlmalloc[e24a27700634d609]::dlmalloc::Dlmalloc<X>>::malloc-322-liftoff";
        assert_eq!(classify(liftoff).map(|c| c.1), Some(Part::Wasm));
        let js = "     0.14%            14  [JIT] tid 26523       [.] JS:+'fetch entry.worker.js:5421:14";
        assert_eq!(classify(js), Some((14, Part::JavaScript, None)));
        let js_anonymous = "  0.02%  2  [JIT] tid 1  [.] JS:+ collector.worker.js:613:50";
        assert_eq!(classify(js_anonymous).map(|c| c.1), Some(Part::JavaScript));
        let crossing = "     0.05%             5  [JIT] tid 26523       [.] JS:wasm-to-js-<anonymous>-none";
        assert_eq!(classify(crossing), Some((5, Part::Crossing, None)));
        let kernel = "    2.30%   120  [kernel.kallsyms]  [k] iowrite16";
        assert_eq!(classify(kernel), Some((120, Part::Kernel, None)));
        let sqlite = "    0.55%    29  workerd  [.] sqlite3VdbeExec";
        assert_eq!(classify(sqlite).map(|c| c.1), Some(Part::Sqlite));
        let v8 = "    0.72%    38  workerd  [.] v8::internal::GlobalHandles::Create";
        assert_eq!(classify(v8).map(|c| c.1), Some(Part::V8));
        let malloc = "    0.77%    40  workerd  [.] tcmalloc::tcmalloc_internal::FreeWithHooksOrPerThread";
        assert_eq!(classify(malloc).map(|c| c.1), Some(Part::Malloc));
        let libc = "    1.36%    71  libc.so.6  [.] __memmove_avx512_unaligned_erms";
        assert_eq!(classify(libc).map(|c| c.1), Some(Part::Runtime));
        assert_eq!(classify("# Samples: 5K of event 'cpu-clock:ppp'"), None);
        assert_eq!(classify(""), None);
    }

    #[test]
    fn hashes_are_cut_from_wasm_names() {
        assert_eq!(without_hash("a::b::h0123456789abcdef"), "a::b");
        assert_eq!(without_hash("<x as y>::f::h0123456789abcdef"), "<x as y>::f");
        assert_eq!(without_hash("a::helper"), "a::helper");
        assert_eq!(
            without_hash("x::heartbeat::post::{{closure}}::h1a2abb0180a9f49c"),
            "x::heartbeat::post::{{closure}}"
        );
    }
}
