//! A config folder with mistakes, run the way a user runs one (`cargo xtask dev --config
//! DIR`): every unknown field of every file is reported in one run, each with its path, and
//! the Worker never starts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;

use systole_e2e::{refused_config, root};

#[test]
fn every_unknown_field_of_every_file_is_reported_at_once() {
    let dir = root().join("target/e2e/config-errors");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let files = [
        (
            "services.json",
            r#"{"_comment": "fine", "services": [{"id": "api", "stalenesThreshold": 60},
                {"id": "db", "notifications": {"chanels": ["ops"]}}], "grups": []}"#,
        ),
        ("settings.json", r#"{"_usage": "fine", "featurse": {}, "uptime": {"retentionDay": 30}}"#),
        ("dashboard.json", r#"{"header": {"title": "x", "_comment": "fine"}}"#),
        ("notifications.json", r#"{"channels": [], "setings": {}}"#),
    ];
    for (name, text) in files {
        fs::write(dir.join(name), text).unwrap();
    }
    let stderr = refused_config(&dir);
    for expected in [
        "invalid configuration (6 problems)",
        "services.json: services[0].stalenesThreshold: unknown field `stalenesThreshold`",
        "services.json: services[1].notifications.chanels: unknown field `chanels`",
        "services.json: grups: unknown field `grups`",
        "settings.json: featurse: unknown field `featurse`",
        "settings.json: uptime.retentionDay: unknown field `retentionDay`",
        "notifications.json: setings: unknown field `setings`",
    ] {
        assert!(stderr.contains(expected), "{expected:?} not in:\n{stderr}");
    }
    assert!(!stderr.contains("_comment") && !stderr.contains("_usage"), "comments are not errors:\n{stderr}");
    fs::remove_dir_all(&dir).unwrap();
}
