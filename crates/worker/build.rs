//! Embeds and validates the declarative config at build time, so an invalid config fails
//! `cargo build` (and `cargo xtask dev`) with every problem listed — never a request.
//!
//! The config folder is `$SYSTOLE_CONFIG_DIR` if set (the end-to-end suite uses
//! `tests/config`), else the workspace's `config/`.

use std::path::{Path, PathBuf};
use std::{env, fs};

const FILES: [&str; 5] = ["services.json", "settings.json", "notifications.json", "users.json", "dashboard.json"];

fn main() {
    println!("cargo:rerun-if-env-changed=SYSTOLE_CONFIG_DIR");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dir = match env::var("SYSTOLE_CONFIG_DIR") {
        Ok(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        Ok(d) => manifest.join("../..").join(d),
        Err(_) => manifest.join("../../config"),
    };
    let out = PathBuf::from(env::var("OUT_DIR").unwrap_or_default());
    let mut texts = Vec::new();
    for name in FILES {
        let path = dir.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(&path).ok();
        if text.is_none() && name == "services.json" {
            panic!(
                "\n{} not found: a Worker without services monitors nothing (set SYSTOLE_CONFIG_DIR?)\n",
                path.display()
            );
        }
        let absent = if name == "dashboard.json" { "" } else { "{}" };
        fs::write(out.join(name), text.as_deref().unwrap_or(absent)).unwrap_or_else(|e| panic!("writing OUT_DIR: {e}"));
        texts.push(text);
    }
    let config = systole_core::config::Config::parse(texts[0].as_deref(), texts[1].as_deref());
    let notifications = systole_core::notify::NotificationsConfig::parse(texts[2].as_deref());
    let mut errors = Vec::new();
    match (&config, notifications) {
        (Ok(config), Ok(n)) => {
            errors.extend(n.check_policies(&config.services));
            let users = systole_core::access::Users::parse(texts[3].as_deref(), config);
            errors.extend(users.err().map(|e| e.0).unwrap_or_default());
        }
        (c, n) => {
            errors.extend(c.as_ref().err().map(|e| e.0.clone()).unwrap_or_default());
            errors.extend(n.err().map(|e| e.0).unwrap_or_default());
        }
    }
    errors.extend(systole_web::Branding::parse(texts[4].as_deref()).err().map(|e| e.0).unwrap_or_default());
    if !errors.is_empty() {
        let errors = systole_core::config::ConfigErrors(errors);
        eprintln!("\n{errors}in {}\n", dir.canonicalize().unwrap_or(dir.clone()).display());
        panic!("{errors}");
    }
}
