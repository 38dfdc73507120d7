//! The dashboard's admin pages in real headless Chromium (`tests/browser/admin.mjs`,
//! playwright-core driving Debian's `/usr/bin/chromium`) against the Worker in local
//! workerd: an admin adds a service through the form (field errors from the API's
//! problem+json next to the fields first), sends a heartbeat with the key the page shows once
//! and sees the service turn `up` without a reload, in a second open tab too; edits, pauses,
//! resumes, rotates its key and deletes it from its page, with the change log; sends a test
//! notification. A viewer sees none of the controls and the API refuses them (403).
//! Screenshots go to `target/screenshots/admin-*.png`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use systole_e2e::{root, spawn_worker, ADMIN_TOKEN, VIEWER_TOKEN};

#[test]
fn an_admin_manages_a_service_from_the_pages_and_a_viewer_cannot() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: `cargo xtask test` installs it (apt-get install chromium)"
    );
    let worker = spawn_worker();
    let root = root();
    let shots = root.join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut child = Command::new(root.join("node_modules/.bin/node"))
        .arg(root.join("tests/browser/admin.mjs"))
        .current_dir(&root)
        .env("BASE", &worker.base)
        .env("TOKEN", ADMIN_TOKEN)
        .env("VIEWER_TOKEN", VIEWER_TOKEN)
        .env("SHOTS", &shots)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut result = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        match line.strip_prefix("RESULT ") {
            Some(json) => result = Some(serde_json::from_str::<serde_json::Value>(json).unwrap()),
            None => println!("{line}"),
        }
    }
    let status = child.wait().unwrap();
    let result = result.expect("the browser script printed no RESULT");
    println!("browser: {result}");
    assert!(status.success() && result["ok"] == true, "{result}\n{}", worker.log_tail());
}
