//! Heartbeat Central's API (seed 003) on the real Worker: its documented requests (create an
//! application, `POST /heartbeat/{uuid}`, list its heartbeats, update, delete, `/health`)
//! give its documented answers, onto managed services.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::{spawn_worker, Answer, Worker, ADMIN_TOKEN};

/// Python's naive `isoformat()`: `YYYY-MM-DDTHH:MM:SS` and optionally `.ffffff`.
fn is_iso(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    let b = s.as_bytes();
    let seconds = b.len() >= 19 && b[10] == b'T' && b[4] == b'-' && b[13] == b':';
    seconds && (b.len() == 19 || (b.len() == 26 && b[19] == b'.'))
}

fn api(worker: &Worker, method: &str, path: &str, body: &str) -> Answer {
    worker.request(method, path, Some(ADMIN_TOKEN), body)
}

fn beat(worker: &Worker, uuid: &str) -> Answer {
    worker.send("POST", &format!("/heartbeat/{uuid}"), &[], "")
}

#[test]
fn heartbeat_centrals_documented_requests_give_its_documented_answers() {
    let worker = spawn_worker();

    let health = worker.send("GET", "/health", &[], "");
    assert_eq!((health.status, health.content_type.as_str()), (200, "application/json"));
    assert_eq!(health.json()["status"], "healthy");
    assert!(is_iso(&health.json()["timestamp"]), "{}", health.body);

    // Register an application: name, expected interval and grace period, in seconds.
    let created = api(
        &worker,
        "POST",
        "/api/applications",
        r#"{"name": "Nightly backup", "expected_interval": 60, "grace_period": 30}"#,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let app = created.json();
    let keys: Vec<&String> = app.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "created_at",
            "expected_interval",
            "grace_period",
            "id",
            "is_active",
            "last_heartbeat",
            "name",
            "updated_at",
            "uuid"
        ]
    );
    assert_eq!(
        (&app["name"], &app["expected_interval"], &app["grace_period"], &app["is_active"], &app["last_heartbeat"]),
        (&json!("Nightly backup"), &json!(60), &json!(30), &json!(true), &Value::Null)
    );
    assert!(is_iso(&app["created_at"]) && is_iso(&app["updated_at"]), "{app}");
    let id = app["id"].as_u64().unwrap();
    let uuid = app["uuid"].as_str().unwrap().to_owned();
    assert_eq!(uuid.len(), 36, "{uuid}");
    let second = api(&worker, "POST", "/api/applications", r#"{"name": "Reports", "expected_interval": 3600}"#).json();
    assert_eq!(
        (second["id"].as_u64(), &second["grace_period"]),
        (Some(id + 1), &json!(0)),
        "ids count up; grace 0 by default"
    );

    // It is a managed service, created by Heartbeat Central.
    let native = api(&worker, "GET", &format!("/api/v1/services/hc-{id}"), "").json();
    assert_eq!((&native["service"]["stalenessThreshold"], &native["service"]["gracePeriod"]), (&json!(60), &json!(30)));
    assert_eq!(native["service"]["pingId"], uuid.as_str());

    // Its refusals, in its words and shape.
    let missing = api(&worker, "POST", "/api/applications", r#"{"name": "x"}"#);
    assert_eq!((missing.status, missing.json()), (400, json!({"error": "Name and expected_interval are required"})));
    let short = api(&worker, "POST", "/api/applications", r#"{"name": "x", "expected_interval": "5m"}"#);
    assert_eq!(
        (short.status, short.json()),
        (400, json!({"error": "expected_interval: must be a positive integer of seconds, got \"5m\""}))
    );
    let anonymous = worker.request("POST", "/api/applications", None, r#"{"name": "x", "expected_interval": 60}"#);
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);

    // Heartbeats: its curl line, no body; the uuid in any case.
    let ok = beat(&worker, &uuid);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!((ok.json()["status"].as_str(), ok.json()["application"].as_str()), (Some("ok"), Some("Nightly backup")));
    assert!(is_iso(&ok.json()["timestamp"]), "{}", ok.body);
    assert_eq!(beat(&worker, &uuid.to_uppercase()).status, 200);
    let get = worker.send("GET", &format!("/heartbeat/{uuid}"), &[], "");
    assert_eq!(get.status, 200, "its Docker HEALTHCHECK pings with curl -f, a GET");
    let unknown = beat(&worker, "0f8fad5b-d9cb-469f-a165-70867728950e");
    assert_eq!((unknown.status, unknown.json()), (404, json!({"error": "Application not found"})));
    assert_eq!(beat(&worker, "not-a-uuid").status, 404);

    // Its heartbeat history, newest first, paginated.
    let page = worker.wait_for("three heartbeats in D1", Duration::from_secs(20), || {
        let p = api(&worker, "GET", &format!("/api/applications/{id}/heartbeats?per_page=2"), "").json();
        (p["total"] == 3).then_some(p)
    });
    assert_eq!((&page["pages"], &page["current_page"]), (&json!(2), &json!(1)));
    let beats = page["heartbeats"].as_array().unwrap();
    assert_eq!(beats.len(), 2);
    assert!(beats.iter().all(|b| b["application_id"] == id && is_iso(&b["received_at"]) && b["id"].is_i64()));
    assert!(beats[0]["received_at"].as_str() >= beats[1]["received_at"].as_str(), "newest first");
    let last = api(&worker, "GET", &format!("/api/applications/{id}/heartbeats?page=2&per_page=2"), "").json();
    assert_eq!((last["heartbeats"].as_array().unwrap().len(), &last["current_page"]), (1, &json!(2)));

    let one = api(&worker, "GET", &format!("/api/applications/{id}"), "").json();
    assert_eq!((&one["is_overdue"], one["recent_heartbeats"].as_array().unwrap().len()), (&json!(false), 3));
    assert!(is_iso(&one["last_heartbeat"]), "{one}");
    let all = api(&worker, "GET", "/api/applications", "").json();
    let ids: Vec<u64> = all.as_array().unwrap().iter().map(|a| a["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [id, id + 1]);
    assert!(is_iso(&all[0]["last_heartbeat"]) && all[1]["last_heartbeat"].is_null(), "{all}");

    // Update: a new name and interval; inactive stops heartbeats; nothing to change is a 400.
    let put =
        api(&worker, "PUT", &format!("/api/applications/{id}"), r#"{"name": "Backup", "expected_interval": 120}"#);
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(
        (&put.json()["name"], &put.json()["expected_interval"], &put.json()["uuid"]),
        (&json!("Backup"), &json!(120), &json!(uuid))
    );
    let off = api(&worker, "PUT", &format!("/api/applications/{id}"), r#"{"is_active": false}"#).json();
    assert_eq!(off["is_active"], false);
    let inactive = beat(&worker, &uuid);
    assert_eq!((inactive.status, inactive.json()), (400, json!({"error": "Application is not active"})));
    let on = api(&worker, "PUT", &format!("/api/applications/{id}"), r#"{"is_active": true}"#).json();
    assert_eq!(on["is_active"], true);
    assert_eq!(beat(&worker, &uuid).status, 200);
    let empty = api(&worker, "PUT", &format!("/api/applications/{id}"), "{}");
    assert_eq!((empty.status, empty.json()), (400, json!({"error": "No data provided"})));

    // Delete: 204, then it is gone everywhere.
    let deleted = api(&worker, "DELETE", &format!("/api/applications/{id}"), "");
    assert_eq!((deleted.status, deleted.body.as_str()), (204, ""));
    let gone = api(&worker, "GET", &format!("/api/applications/{id}"), "");
    assert_eq!((gone.status, gone.json()), (404, json!({"error": "Application not found"})));
    assert_eq!(api(&worker, "GET", &format!("/api/applications/{id}/heartbeats"), "").status, 404);
    assert_eq!(beat(&worker, &uuid).status, 404);
    assert_eq!(api(&worker, "GET", "/api/applications/0x1", "").status, 404);
    let left = api(&worker, "GET", "/api/applications", "").json();
    assert_eq!(left.as_array().unwrap().len(), 1);
}
