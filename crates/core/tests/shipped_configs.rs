//! The configurations in the repository parse: the example `config/` (which `cargo xtask
//! test` does not build the Worker with) and the end-to-end suite's `tests/config`.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use systole_core::config::Deployment;

/// Parses a config folder with the Worker's own loader (every file, cross-checked).
fn parse(dir: &str) -> Deployment {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir);
    Deployment::parse(|name| fs::read_to_string(dir.join(name)).ok()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_example_config_is_valid() {
    let c = parse("config").config;
    assert!(c.services.iter().any(|s| !s.auth_required), "the example shows a keyless service");
    assert!(c.services.iter().any(|s| s.group.is_none()), "and an ungrouped one");
}

#[test]
fn the_end_to_end_config_is_valid() {
    let c = parse("tests/config").config;
    assert_eq!(c.services.iter().filter(|s| s.id.as_str().starts_with("load-")).count(), 50);
}
