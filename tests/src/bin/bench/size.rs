//! The Worker's wasm size, raw and gzipped.

use std::fs;
use std::process::Command;

use systole_e2e::root;

fn gzipped_wasm() -> (u64, u64) {
    let wasm = root().join("crates/worker/build/index_bg.wasm");
    let raw = fs::metadata(&wasm).expect("build the worker first").len();
    let out = Command::new("gzip").arg("-9c").arg(&wasm).output().unwrap();
    (raw, out.stdout.len() as u64)
}

/// Answers the section.
pub fn run() -> String {
    let (raw, gz) = gzipped_wasm();
    format!(
        "## Worker size

| artifact | bytes |
| --- | ---: |
| `index_bg.wasm` | {raw} |
| gzipped (`gzip -9`) | {gz} ({gz_kib:.0} KiB; target ≤ 1 MB) |
",
        gz_kib = gz as f64 / 1024.0,
    )
}
