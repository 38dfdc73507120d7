//! The configurations in the repository parse: the example `config/` (which `cargo xtask
//! test` does not build the Worker with) and the end-to-end suite's `tests/config`.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use systole_core::config::Config;
use systole_core::notify::NotificationsConfig;

/// Parses a config folder the way the Worker's build script does, notifications included.
fn parse(dir: &str) -> Config {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir);
    let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap();
    let config =
        Config::parse(Some(&read("services.json")), Some(&read("settings.json"))).unwrap_or_else(|e| panic!("{e}"));
    let notifications = NotificationsConfig::parse(Some(&read("notifications.json"))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(notifications.check_policies(&config.services), []);
    config
}

#[test]
fn the_example_config_is_valid() {
    let c = parse("config");
    assert!(c.services.iter().any(|s| !s.auth_required), "the example shows a keyless service");
    assert!(c.services.iter().any(|s| s.group.is_none()), "and an ungrouped one");
}

#[test]
fn the_end_to_end_config_is_valid() {
    assert_eq!(parse("tests/config").services.iter().filter(|s| s.id.as_str().starts_with("load-")).count(), 50);
}
