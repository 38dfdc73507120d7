//! Fresh state folders for the Workers the tests start, with every D1 migration applied.
//!
//! `wrangler d1 migrations apply` starts Node, wrangler and a workerd of its own: about 6 s of
//! CPU each time. So the migrations are applied once into a template, kept in
//! `target/e2e/migrated-<hash>/` (the hash of `migrations/` and `package-lock.json`, so a
//! new migration or another wrangler makes a new one), which every test process reuses, and
//! each Worker's state folder is a copy of it.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::{root, wrangler};

/// Fills `state` (which must not exist yet) with a copy of the migrated template.
///
/// # Panics
/// When the migrations fail to apply (with wrangler's error output) or the copy fails.
pub fn fresh(state: &Path) {
    copy_dir(template(), state).unwrap_or_else(|e| panic!("copying the migrated state to {}: {e}", state.display()));
}

/// The template state folder, made by the first caller of any test process.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let e2e = root().join("target/e2e");
        let dir = e2e.join(format!("migrated-{:016x}", inputs_hash()));
        if !dir.join("state").is_dir() {
            // Made beside it and renamed into place, so a concurrent test process either
            // finds it whole or makes its own and keeps whichever was renamed first.
            let tmp = e2e.join(format!("migrating-{}", std::process::id()));
            let _ = fs::remove_dir_all(&tmp);
            fs::create_dir_all(&tmp).unwrap();
            let out = wrangler()
                .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
                .arg(tmp.join("state"))
                .output()
                .unwrap();
            assert!(out.status.success(), "migrations failed: {}", String::from_utf8_lossy(&out.stderr));
            if fs::rename(&tmp, &dir).is_err() {
                let _ = fs::remove_dir_all(&tmp);
            }
        }
        dir.join("state")
    })
}

/// A hash of what a migrated state depends on: the migrations (names and contents) and the
/// locked wrangler/miniflare versions.
fn inputs_hash() -> u64 {
    let mut h = DefaultHasher::new();
    let mut files: Vec<PathBuf> = fs::read_dir(root().join("migrations")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.push(root().join("package-lock.json"));
    for f in files {
        f.file_name().hash(&mut h);
        fs::read(&f).unwrap_or_default().hash(&mut h);
    }
    h.finish()
}

/// Copies the folder `from` into a new folder `to`, recursively.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
