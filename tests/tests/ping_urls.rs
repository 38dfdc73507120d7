//! healthchecks.io's ping URLs and Uptime Kuma's push URL on the real Worker: every form and
//! every error answered byte for byte (status, content type, body, headers), any method,
//! bodies, the service's status after a ping, and the `pingUrl` / `pushUrl` that
//! `/api/v1/services` shows an admin.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::json;
use systole_e2e::{spawn_worker_with, Answer, Worker, VIEWER_TOKEN};

/// `reporter`'s ping id and push token (overridden in `PING_IDS`, as someone moving in).
const HC_UUID: &str = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";
const KUMA_TOKEN: &str = "kumaPushToken0123456789abcdefABCD";
/// `paused-svc` (disabled): its push token.
const PAUSED_TOKEN: &str = "pausedPushToken0123456789abcdef";
/// The `core` group's ping key (`reporter`, `guarded`, … are in it).
const CORE_KEY: &str = "core-ping-key_0123456789";
/// A UUID no service has.
const UNKNOWN_UUID: &str = "07c2f548-9850-4b27-af5d-6c9dc157ec02";

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";
const NEVER_CACHE: &str = "max-age=0, no-cache, no-store, must-revalidate, private";

fn spawn() -> Worker {
    let ids = json!({
        "reporter": {"pingId": HC_UUID, "pushToken": KUMA_TOKEN},
        "paused-svc": {"pushToken": PAUSED_TOKEN},
    });
    let keys = json!({ "core": CORE_KEY });
    spawn_worker_with(&[("PING_IDS".into(), ids.to_string()), ("PING_KEYS".into(), keys.to_string())])
}

/// `method path` with no credentials and `body`.
fn call(worker: &Worker, method: &str, path: &str, body: &str) -> Answer {
    worker.send(method, path, &[], body)
}

/// Asserts healthchecks.io's 200: `OK`, text, `Ping-Body-Limit: 10000`, `Access-Control-Allow-Origin: *`.
fn assert_ok(a: &Answer, what: &str) {
    assert_eq!((a.status, a.content_type.as_str(), a.body.as_str()), (200, TEXT, "OK"), "{what}");
    assert_eq!(a.header("ping-body-limit"), Some("10000"), "{what}");
    assert_eq!(a.header("access-control-allow-origin"), Some("*"), "{what}");
    assert_eq!(a.header("cache-control"), Some(NEVER_CACHE), "{what}");
}

/// Asserts a healthchecks.io refusal: `status`, text `body`, no `Ping-Body-Limit` or CORS.
fn assert_refused(a: &Answer, status: u16, body: &str, what: &str) {
    assert_eq!((a.status, a.content_type.as_str(), a.body.as_str()), (status, TEXT, body), "{what}");
    assert_eq!(a.header("ping-body-limit"), None, "{what}");
    assert_eq!(a.header("access-control-allow-origin"), None, "{what}");
    assert_eq!(a.header("cache-control"), Some(NEVER_CACHE), "{what}");
}

/// Waits until `/api/v1/status` (read from D1, written through or flushed after the ping)
/// shows `service` as `want`.
fn assert_status(worker: &Worker, service: &str, want: &str) {
    worker.wait_for_status(service, want, Duration::from_secs(20));
}

#[test]
fn every_healthchecks_form_and_error_answers_as_healthchecks() {
    let w = spawn();
    let rid = "04603D8B-EDF4-4E85-8F61-24BEDBCAAB59";
    for path in [
        format!("/ping/{HC_UUID}"),
        format!("/ping/{HC_UUID}/"),
        format!("/ping/{HC_UUID}/start?rid={rid}"),
        format!("/ping/{HC_UUID}/log"),
        format!("/ping/{HC_UUID}/0?rid={rid}"),
        format!("/ping/{HC_UUID}/fail"),
        format!("/ping/{HC_UUID}/255"),
        format!("/ping/{CORE_KEY}/reporter"),
        format!("/ping/{CORE_KEY}/reporter/start"),
        format!("/ping/{CORE_KEY}/reporter/log"),
        format!("/ping/{CORE_KEY}/reporter/fail"),
        format!("/ping/{CORE_KEY}/reporter/3?rid={rid}"),
        format!("/ping/{CORE_KEY}/guarded?create=1"),
    ] {
        assert_ok(&call(&w, "GET", &path, ""), &path);
    }
    let refusals = [
        (format!("/ping/{HC_UUID}/256"), 400, "invalid url format"),
        (format!("/ping/{HC_UUID}/99999999999999999999"), 400, "invalid url format"),
        (format!("/ping/{CORE_KEY}/Reporter"), 400, "invalid url format"),
        (format!("/ping/{CORE_KEY}/reporter/256"), 400, "invalid url format"),
        (format!("/ping/{HC_UUID}/ABC"), 400, "invalid url format"),
        (format!("/ping/{HC_UUID}?rid=12345"), 400, "invalid uuid format"),
        (format!("/ping/{HC_UUID}/start?rid=684e2e73-017e-465f-8149-d70b7c5aaa490"), 400, "invalid uuid format"),
        (format!("/ping/{CORE_KEY}/reporter/fail?rid="), 400, "invalid uuid format"),
        (format!("/ping/{UNKNOWN_UUID}"), 404, "not found"),
        (format!("/ping/{UNKNOWN_UUID}/256"), 404, "not found"),
        (format!("/ping/{}", HC_UUID.to_uppercase()), 404, "not found"),
        ("/ping/not-uuid/".to_owned(), 404, "not found"),
        ("/ping/".to_owned(), 404, "not found"),
        (format!("/ping/{HC_UUID}/fail/extra"), 404, "not found"),
        (format!("/ping/{HC_UUID}/backup"), 404, "not found"),
        (format!("/ping/{CORE_KEY}/reporter/"), 404, "not found"),
        (format!("/ping/{CORE_KEY}/no-such-service"), 404, "not found"),
        (format!("/ping/{CORE_KEY}/no-such-service?create=1"), 404, "not found"),
        ("/ping/wrong-ping-key-0123456789/reporter".to_owned(), 404, "not found"),
        // `web-frontend` is in another group, whose ping key is not set.
        (format!("/ping/{CORE_KEY}/web-frontend"), 404, "not found"),
    ];
    for (path, code, body) in refusals {
        assert_refused(&call(&w, "GET", &path, ""), code, body, &path);
    }
    // Any method; HEAD answers the headers without a body; POST bodies of any size.
    let path = format!("/ping/{HC_UUID}");
    for method in ["HEAD", "POST", "PUT", "PATCH", "DELETE"] {
        let a = call(&w, method, &path, "");
        assert_eq!(a.status, 200, "{method}");
        assert_eq!(a.header("ping-body-limit"), Some("10000"), "{method}");
        assert_eq!(a.body, if method == "HEAD" { "" } else { "OK" }, "{method}");
    }
    assert_ok(&call(&w, "POST", &format!("/ping/{HC_UUID}/log"), "hello world"), "a body");
    assert_ok(&call(&w, "POST", &format!("/ping/{HC_UUID}/fail"), &"x".repeat(200_000)), "a body over the limit");
    assert_ok(
        &w.send("POST", &format!("/ping/{CORE_KEY}/reporter"), &[("Content-Type", "text/plain")], "Hello é"),
        "slug with a body",
    );
    assert_refused(&call(&w, "POST", &format!("/ping/{UNKNOWN_UUID}"), "hello"), 404, "not found", "unknown POST");
    // OPTIONS stays the CORS preflight, on these paths as on every other.
    assert_eq!(call(&w, "OPTIONS", &path, "").body, "");
}

#[test]
fn a_ping_brings_the_service_up_and_a_failure_takes_it_down() {
    let w = spawn();
    assert_ok(&call(&w, "GET", &format!("/ping/{HC_UUID}"), ""), "success");
    assert_status(&w, "reporter", "up");
    assert_ok(&call(&w, "POST", &format!("/ping/{HC_UUID}/fail"), "backup failed"), "fail");
    assert_status(&w, "reporter", "down");
    // The body is the run's output, and the failure is named.
    let run = w.wait_for("the failed run", Duration::from_secs(20), || {
        let runs = w.get("/api/v1/services/reporter/runs").json()["runs"].as_array().cloned()?;
        runs.into_iter().find(|r| r["outcome"] == "fail")
    });
    assert_eq!(run["reason"], "failed", "{run}");
    assert_eq!(w.get(&format!("/api/v1/services/reporter/runs/{}/log", run["n"])).body, "backup failed");
    assert_ok(&call(&w, "GET", &format!("/ping/{HC_UUID}/0"), ""), "exit 0");
    assert_status(&w, "reporter", "up");
    assert_ok(&call(&w, "GET", &format!("/ping/{CORE_KEY}/reporter/3"), ""), "exit 3");
    assert_status(&w, "reporter", "down");
    assert_ok(&call(&w, "PUT", &format!("/ping/{CORE_KEY}/reporter"), ""), "slug success");
    assert_status(&w, "reporter", "up");
}

#[test]
fn kuma_pushes_answer_as_kuma_and_set_the_status() {
    let w = spawn();
    let push = |method: &str, query: &str| call(&w, method, &format!("/api/push/{KUMA_TOKEN}{query}"), "");
    let ok = push("GET", "?status=up&msg=OK&ping=12.5");
    assert_eq!((ok.status, ok.content_type.as_str(), ok.body.as_str()), (200, JSON, r#"{"ok":true}"#));
    assert_status(&w, "reporter", "up");
    let down = push("POST", "?status=down&msg=disk%20full");
    assert_eq!((down.status, down.body.as_str()), (200, r#"{"ok":true}"#));
    assert_status(&w, "reporter", "down");
    for method in ["HEAD", "PUT", "DELETE"] {
        assert_eq!(push(method, "").status, 200, "{method}");
    }
    assert_status(&w, "reporter", "up");
    let not_found = r#"{"ok":false,"msg":"Monitor not found or not active."}"#;
    for path in
        ["/api/push/no-such-token-0123456789?status=up".to_owned(), format!("/api/push/{PAUSED_TOKEN}?status=up")]
    {
        let a = call(&w, "GET", &path, "");
        assert_eq!((a.status, a.content_type.as_str(), a.body.as_str()), (404, JSON, not_found), "{path}");
    }
    let bad = push("GET", "?ping=-1");
    let invalid = r#"{"ok":false,"msg":"Invalid ping value. Must be between 0 and 100000000000 ms."}"#;
    assert_eq!((bad.status, bad.content_type.as_str(), bad.body.as_str()), (404, JSON, invalid));
}

#[test]
fn the_ping_urls_of_the_services_api_are_shown_to_admins_and_work() {
    let w = spawn();
    let services = w.get("/api/v1/services?limit=500").json();
    let entry = |id: &str| services["services"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap().clone();
    let path_of = |url: &serde_json::Value, from: &str| {
        let url = url.as_str().unwrap();
        assert!(url.starts_with("http"), "{url}");
        url[url.find(from).unwrap()..].to_owned()
    };
    let reporter = entry("reporter");
    assert_eq!(path_of(&reporter["pingUrl"], "/ping/"), format!("/ping/{HC_UUID}"));
    assert_eq!(path_of(&reporter["pushUrl"], "/api/push/"), format!("/api/push/{KUMA_TOKEN}"));
    // Derived for the others: a v8 UUID and 32 alphanumerics, and they work.
    let guarded = entry("guarded");
    let ping = path_of(&guarded["pingUrl"], "/ping/");
    let push = path_of(&guarded["pushUrl"], "/api/push/");
    assert_eq!(ping.len(), "/ping/".len() + 36, "{ping}");
    assert_eq!(push.len(), "/api/push/".len() + 32, "{push}");
    assert_ok(&call(&w, "GET", &format!("{ping}/fail"), ""), "derived ping id");
    assert_status(&w, "guarded", "down");
    let a = call(&w, "GET", &push, "");
    assert_eq!((a.status, a.body.as_str()), (200, r#"{"ok":true}"#));
    assert_status(&w, "guarded", "up");
    // A viewer never sees them.
    let viewer = w.get_as("/api/v1/services", Some(VIEWER_TOKEN), None).json();
    let listed = viewer["services"].as_array().unwrap();
    assert!(!listed.is_empty());
    assert!(listed.iter().all(|s| s.get("pingUrl").is_none() && s.get("pushUrl").is_none()), "{viewer}");
}
