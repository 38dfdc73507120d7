//! Embeds and validates the declarative config at build time, so an invalid config fails
//! `cargo build` (and `cargo xtask dev`) with every problem listed — never a request.
//!
//! The config folder is `$SYSTOLE_CONFIG_DIR` if set (the end-to-end suite uses
//! `tests/config`), else the workspace's `config/`. Validation is the Worker's own loader,
//! `systole_core::config::Deployment::parse`, run on the texts as embedded: `dashboard.json`'s
//! and `ui.json`'s custom HTML sanitised first (`systole_embed::sanitise_config`), so the
//! Worker inserts it as HTML without carrying a sanitiser.

use std::path::{Path, PathBuf};
use std::{env, fs};

use systole_core::config::Deployment;

fn main() {
    println!("cargo:rerun-if-env-changed=SYSTOLE_CONFIG_DIR");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dir = match env::var("SYSTOLE_CONFIG_DIR") {
        Ok(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        Ok(d) => manifest.join("../..").join(d),
        Err(_) => manifest.join("../../config"),
    };
    let out = PathBuf::from(env::var("OUT_DIR").unwrap_or_default());
    let parsed = Deployment::parse(|name| {
        let path = dir.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        let mut text = fs::read_to_string(&path).ok();
        if let (Some(written), "dashboard.json" | "ui.json") = (&text, name) {
            let (embedded, rewritten) = systole_embed::sanitise_config(written);
            for r in rewritten {
                println!(
                    "cargo:warning={name}: customHtml.{}: the HTML sanitiser removed or rewrote parts (scripts, \
                     event handlers, style attributes, unsafe URLs or tags); embedded as {:?}",
                    r.field, r.after
                );
            }
            text = Some(embedded);
        }
        if text.is_none() && name == "services.json" {
            panic!(
                "\n{} not found: a Worker without services monitors nothing (set SYSTOLE_CONFIG_DIR?)\n",
                path.display()
            );
        }
        // The Worker embeds an empty text for an absent file and reads it back as absent, so
        // it parses exactly what was validated here.
        fs::write(out.join(name), text.as_deref().unwrap_or_default())
            .unwrap_or_else(|e| panic!("writing OUT_DIR: {e}"));
        text
    });
    match parsed {
        Err(errors) => {
            eprintln!("\n{errors}in {}\n", dir.canonicalize().unwrap_or(dir.clone()).display());
            panic!("{errors}");
        }
        // Seed fields without effect here: listed once per build, not failed.
        Ok(deployment) => deployment.notices.iter().for_each(|n| println!("cargo:warning={n}")),
    }
}
