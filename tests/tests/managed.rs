//! Managed services through the management API on the real Worker: created, beating with the
//! returned key, going down with a notification, paused without alerts, resumed, rotated
//! (the old key works during the grace period, then 401), surviving a runtime restart, and
//! deleted (its heartbeats refused, gone from the status, its incident closed; purged from D1).
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::receiver::Receiver;
use systole_e2e::{channel_env, key, spawn_worker_with, Answer, Worker, ADMIN_TOKEN, MANAGEMENT_KEY, VIEWER_TOKEN};

fn manage(worker: &Worker, method: &str, path: &str, body: &Value) -> Answer {
    let body = if body.is_null() { String::new() } else { body.to_string() };
    worker.request(method, path, Some(MANAGEMENT_KEY), &body)
}

fn beat(worker: &Worker, id: &str, key: &str) -> Answer {
    worker.request("POST", "/api/v1/heartbeat", Some(key), &json!({ "serviceId": id }).to_string())
}

fn status(worker: &Worker, id: &str) -> Option<String> {
    let all = worker.get(&format!("/api/v1/status?serviceId={id}")).json();
    all["services"].as_array().unwrap().iter().find(|s| s["id"] == id).map(|s| s["status"].as_str().unwrap().to_owned())
}

fn wait_status(worker: &Worker, id: &str, want: &str) {
    worker.wait_for(&format!("{id} {want}"), Duration::from_secs(20), || {
        (status(worker, id).as_deref() == Some(want)).then_some(())
    });
}

#[test]
fn a_managed_service_is_created_beats_goes_down_pauses_resumes_rotates_and_is_deleted() {
    let receiver = Receiver::start();
    let vars = channel_env(&receiver, &[("KEY_ROTATION_GRACE_SECONDS".to_owned(), "4".to_owned())]);
    let mut worker = spawn_worker_with(&vars);
    let spec = json!({
        "id": "m-job", "name": "Managed job", "stalenessThreshold": 2, "tags": ["nightly"],
        "notifications": {"channels": ["discord"]}
    });
    let created = manage(&worker, "POST", "/api/v1/services", &spec);
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("location"), Some("/api/v1/services/m-job"));
    let body = created.json();
    let first_key = body["key"].as_str().unwrap().to_owned();
    assert_eq!(first_key.len(), 32, "192 random bits, URL-safe base64");
    assert!(first_key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_eq!(
        (body["service"]["kind"].as_str(), body["service"]["stalenessThreshold"].as_u64()),
        (Some("managed"), Some(2))
    );
    assert_eq!(body["service"]["createdBy"], "api-key");
    assert_eq!(manage(&worker, "POST", "/api/v1/services", &spec).status, 409, "a duplicate id");

    // Beats with the returned key; a wrong key is refused.
    let ok = beat(&worker, "m-job", &first_key);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["status"], "up");
    assert_eq!(beat(&worker, "m-job", &key("fast")).status, 401);
    wait_status(&worker, "m-job", "up");
    let listed = worker.get("/api/v1/services?tag=nightly").json();
    let ids: Vec<&str> = listed["services"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["m-job"], "{listed}");

    // Misses its deadline: down, with one notification.
    let down = receiver.wait("discord", 1, Duration::from_secs(20));
    assert!(down[0].json()["embeds"][0]["title"].as_str().unwrap().contains("Managed job is DOWN"), "{}", down[0].body);
    wait_status(&worker, "m-job", "down");

    // A restart keeps it (its object's storage and the registry).
    worker.stop();
    worker.start();
    let got = worker.get("/api/v1/services/m-job");
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.json()["service"]["name"], "Managed job");

    // Paused: no alert while paused (idempotent), the incident closes.
    let paused = manage(&worker, "POST", "/api/v1/services/m-job/pause", &Value::Null);
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(paused.json()["service"]["paused"], true);
    assert_eq!(manage(&worker, "POST", "/api/v1/services/m-job/pause", &Value::Null).status, 200);
    wait_status(&worker, "m-job", "paused");
    let before = receiver.of("discord").len();
    thread::sleep(Duration::from_secs(3));
    assert_eq!(receiver.of("discord").len(), before, "no alert while paused");

    // Resumed: waits in unknown; a second resume is a conflict.
    assert_eq!(manage(&worker, "POST", "/api/v1/services/m-job/resume", &Value::Null).status, 200);
    let again = manage(&worker, "POST", "/api/v1/services/m-job/resume", &Value::Null);
    assert_eq!(again.status, 409, "{}", again.body);
    wait_status(&worker, "m-job", "unknown");
    assert_eq!(beat(&worker, "m-job", &first_key).status, 200);

    // Rotated: the old key works during the grace period, then 401.
    let rotated = manage(&worker, "POST", "/api/v1/services/m-job/keys", &Value::Null);
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_key = rotated.json()["key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, first_key);
    assert_eq!(beat(&worker, "m-job", &first_key).status, 200, "old key inside the grace period");
    assert_eq!(beat(&worker, "m-job", &new_key).status, 200);
    thread::sleep(Duration::from_secs(5));
    assert_eq!(beat(&worker, "m-job", &first_key).status, 401, "old key after the grace period");
    assert_eq!(beat(&worker, "m-job", &new_key).status, 200);

    // The change log names each change, newest first.
    let changes = worker.get("/api/v1/services/m-job/changes").json();
    let actions: Vec<&str> =
        changes["changes"].as_array().unwrap().iter().map(|c| c["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["rotate-key", "resume", "pause", "create"], "{changes}");

    // A heartbeat with a valid key resumes a paused service (as healthchecks.io does).
    assert_eq!(manage(&worker, "POST", "/api/v1/services/m-job/pause", &Value::Null).status, 200);
    let resumed = beat(&worker, "m-job", &new_key);
    assert_eq!((resumed.status, resumed.json()["status"].as_str()), (200, Some("up")), "{}", resumed.body);
    let changes = worker.get("/api/v1/services/m-job/changes?limit=1").json();
    assert_eq!(
        (changes["changes"][0]["action"].as_str(), changes["changes"][0]["actor"].as_str()),
        (Some("resume"), Some("heartbeat"))
    );
    assert!(changes["nextBefore"].is_i64(), "{changes}");

    // Down again, then deleted: its incident closes, heartbeats are refused, it leaves the status.
    wait_status(&worker, "m-job", "down");
    let deleted = manage(&worker, "DELETE", "/api/v1/services/m-job", &Value::Null);
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(beat(&worker, "m-job", &new_key).status, 401);
    assert_eq!(status(&worker, "m-job"), None);
    assert_eq!(worker.get("/api/v1/services/m-job").status, 404);
    let open = worker.d1("SELECT COUNT(*) AS n FROM incidents WHERE service_id = 'm-job' AND ended_at IS NULL");
    assert_eq!(open[0]["n"], 0, "the incident is closed");
    let last = worker
        .d1("SELECT to_status, reason FROM status_changes WHERE service_id = 'm-job' ORDER BY changed_at DESC LIMIT 1");
    assert_eq!((last[0]["to_status"].as_str(), last[0]["reason"].as_str()), (Some("paused"), Some("service deleted")));
    assert_eq!(manage(&worker, "DELETE", "/api/v1/services/m-job", &Value::Null).status, 404);
    // The history stays until retention; a purge removes it.
    assert!(!worker.d1("SELECT 1 FROM heartbeats WHERE service_id = 'm-job'").is_empty());

    let purged = manage(&worker, "POST", "/api/v1/services", &json!({"id": "m-purge", "stalenessThreshold": 60}));
    let purge_key = purged.json()["key"].as_str().unwrap().to_owned();
    assert_eq!(beat(&worker, "m-purge", &purge_key).status, 200);
    worker.wait_for("m-purge flushed", Duration::from_secs(20), || {
        (!worker.d1("SELECT 1 FROM heartbeats WHERE service_id = 'm-purge'").is_empty()).then_some(())
    });
    assert_eq!(manage(&worker, "DELETE", "/api/v1/services/m-purge?purge=true", &Value::Null).status, 200);
    for table in ["heartbeats", "status_changes", "service_state", "service_changes", "managed_services"] {
        let column = if table == "managed_services" { "id" } else { "service_id" };
        let rows = worker.d1(&format!("SELECT 1 FROM {table} WHERE {column} = 'm-purge'"));
        assert!(rows.is_empty(), "{table} still holds m-purge");
    }
}

#[test]
fn the_management_api_checks_its_callers_bodies_and_declared_services() {
    let worker = spawn_worker_with(&[]);
    let spec = json!({"id": "m-auth", "stalenessThreshold": 60});
    let body = spec.to_string();
    // No credential, a viewer's token, a wrong key.
    assert_eq!(worker.request("POST", "/api/v1/services", None, &body).status, 401);
    let viewer = worker.request("POST", "/api/v1/services", Some(VIEWER_TOKEN), &body);
    assert_eq!(viewer.status, 403, "{}", viewer.body);
    assert_eq!(worker.request("POST", "/api/v1/services", Some("wrong-key-0123456789abcdef"), &body).status, 401);
    // An admin user's token works, and is recorded.
    let by_admin = worker.request("POST", "/api/v1/services", Some(ADMIN_TOKEN), &body);
    assert_eq!(by_admin.status, 201, "{}", by_admin.body);
    assert_eq!(by_admin.json()["service"]["createdBy"], "user:ana");
    // A write posted from another site's page.
    let cross = worker.send(
        "POST",
        "/api/v1/services/m-auth/pause",
        &[("Authorization", &format!("Bearer {MANAGEMENT_KEY}")), ("Sec-Fetch-Site", "cross-site")],
        "",
    );
    assert_eq!(cross.status, 403, "{}", cross.body);

    // Every problem with its field.
    let bad = manage(
        &worker,
        "POST",
        "/api/v1/services",
        &json!({"id": "bad id", "stalenessThreshold": 0, "gracePeriod": "x", "nope": 1}),
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.header("content-type"), Some("application/problem+json"));
    let bad = manage(
        &worker,
        "POST",
        "/api/v1/services",
        &json!({"id": "m-bad", "stalenessThreshold": 0, "notifications": {"channels": ["nowhere"]}, "group": "ghost"}),
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    let fields: Vec<String> =
        bad.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
    assert_eq!(fields, ["group", "stalenessThreshold"], "{}", bad.body);
    let bad = manage(
        &worker,
        "POST",
        "/api/v1/services",
        &json!({"id": "m-bad", "notifications": {"channels": ["nowhere"]}}),
    );
    assert_eq!(bad.json()["field"], "notifications.channels[0]", "{}", bad.body);
    // Over 16 KiB.
    let big = json!({"id": "m-big", "description": "x".repeat(17_000)});
    assert_eq!(manage(&worker, "POST", "/api/v1/services", &big).status, 413);
    // A declared service is read-only.
    for (method, path) in [
        ("PUT", "/api/v1/services/fast"),
        ("PATCH", "/api/v1/services/fast"),
        ("DELETE", "/api/v1/services/fast"),
        ("POST", "/api/v1/services/fast/pause"),
    ] {
        let answer = manage(&worker, method, path, &json!({"stalenessThreshold": 60}));
        assert_eq!(answer.status, 409, "{method} {path}: {}", answer.body);
        assert!(answer.json()["detail"].as_str().unwrap().contains("config/services.json"), "{}", answer.body);
    }
    assert_eq!(manage(&worker, "POST", "/api/v1/services", &json!({"id": "fast"})).status, 409);
    assert_eq!(manage(&worker, "GET", "/api/v1/services/fast", &Value::Null).json()["service"]["kind"], "declared");
    assert_eq!(manage(&worker, "POST", "/api/v1/services/nobody/pause", &Value::Null).status, 404);

    // PUT creates, then replaces keeping the key; PATCH merges.
    let put = manage(&worker, "PUT", "/api/v1/services/m-put", &json!({"name": "Put", "stalenessThreshold": 60}));
    assert_eq!(put.status, 201, "{}", put.body);
    let put_key = put.json()["key"].as_str().unwrap().to_owned();
    let replaced =
        manage(&worker, "PUT", "/api/v1/services/m-put", &json!({"name": "Put 2", "stalenessThreshold": 90}));
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert!(replaced.json().get("key").is_none());
    assert_eq!(beat(&worker, "m-put", &put_key).status, 200, "the key survives a replace");
    let patched = manage(&worker, "PATCH", "/api/v1/services/m-put", &json!({"gracePeriod": 30, "name": null}));
    assert_eq!(patched.status, 200, "{}", patched.body);
    let service = &patched.json()["service"];
    assert_eq!((service["gracePeriod"].as_u64(), service["name"].as_str()), (Some(30), Some("m-put")));
    assert_eq!(service["stalenessThreshold"], 90);
    // Its ping URL (healthchecks.io's form) opens it too; a made-up one is 404.
    let ping_id = service["pingId"].as_str().unwrap().to_owned();
    assert_eq!(worker.send("GET", &format!("/ping/{ping_id}"), &[], "").status, 200);
    assert_eq!(worker.send("GET", "/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278", &[], "").status, 404);
    worker.wait_for("m-put listed as up", Duration::from_secs(20), || {
        let listed = worker.request("GET", "/api/v1/services?status=up", Some(MANAGEMENT_KEY), "").json();
        let up = listed["services"].as_array().unwrap().iter().any(|s| s["id"] == "m-put");
        up.then_some(())
    });
    // An unknown id's heartbeat is still "Unknown serviceId".
    let unknown = beat(&worker, "nobody-here", &put_key);
    assert_eq!(unknown.status, 401);
    assert!(unknown.body.contains("Unknown serviceId"), "{}", unknown.body);
}

#[test]
fn managed_groups_are_created_lend_their_defaults_are_patched_and_deleted_once_empty() {
    let worker = spawn_worker_with(&[]);
    let created = manage(
        &worker,
        "POST",
        "/api/v1/groups",
        &json!({"id": "m-team", "name": "Team", "stalenessThreshold": 120, "gracePeriod": 15}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["group"]["name"], "Team");
    assert_eq!(manage(&worker, "POST", "/api/v1/groups", &json!({"id": "m-team"})).status, 409, "a duplicate");
    // A declared group is read-only; a bad body names its field.
    let declared = manage(&worker, "PATCH", "/api/v1/groups/web", &json!({"name": "x"}));
    assert_eq!(declared.status, 409, "{}", declared.body);
    assert!(declared.json()["detail"].as_str().unwrap().contains("config/services.json"), "{}", declared.body);
    assert_eq!(manage(&worker, "POST", "/api/v1/groups", &json!({"id": "web"})).status, 409);
    let bad = manage(&worker, "POST", "/api/v1/groups", &json!({"id": "m-bad", "stalenessThreshold": 0}));
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.header("content-type"), Some("application/problem+json"));
    assert!(bad.body.contains("stalenessThreshold"), "{}", bad.body);
    assert_eq!(manage(&worker, "PATCH", "/api/v1/groups/m-nobody", &json!({"name": "x"})).status, 404);

    // A service created in the group without its own threshold takes the group's.
    let service = manage(&worker, "POST", "/api/v1/services", &json!({"id": "m-member", "group": "m-team"}));
    assert_eq!(service.status, 201, "{}", service.body);
    let service = &service.json()["service"];
    assert_eq!((service["stalenessThreshold"].as_u64(), service["gracePeriod"].as_u64()), (Some(120), Some(15)));

    // Listed as managed, after the declared groups; its patch shows.
    let patched = manage(&worker, "PATCH", "/api/v1/groups/m-team", &json!({"name": "Team B"}));
    assert_eq!(patched.status, 200, "{}", patched.body);
    let listed = manage(&worker, "GET", "/api/v1/groups", &Value::Null).json();
    let groups = listed["groups"].as_array().unwrap();
    let team = groups.iter().find(|g| g["id"] == "m-team").unwrap();
    assert_eq!((team["kind"].as_str(), team["name"].as_str()), (Some("managed"), Some("Team B")));
    assert_eq!(groups.iter().find(|g| g["id"] == "web").unwrap()["kind"], "declared");
    let in_group = manage(&worker, "GET", "/api/v1/services?group=m-team", &Value::Null).json();
    let ids: Vec<&str> = in_group["services"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["m-member"], "{in_group}");

    // Not deleted while a service is in it; then deleted, and gone.
    let busy = manage(&worker, "DELETE", "/api/v1/groups/m-team", &Value::Null);
    assert_eq!(busy.status, 409, "{}", busy.body);
    assert_eq!(manage(&worker, "DELETE", "/api/v1/services/m-member", &Value::Null).status, 200);
    assert_eq!(manage(&worker, "DELETE", "/api/v1/groups/m-team", &Value::Null).status, 200);
    assert_eq!(manage(&worker, "DELETE", "/api/v1/groups/m-team", &Value::Null).status, 404);
    let listed = manage(&worker, "GET", "/api/v1/groups", &Value::Null).json();
    assert!(!listed["groups"].as_array().unwrap().iter().any(|g| g["id"] == "m-team"), "{listed}");
    // A viewer may read but not write.
    assert_eq!(worker.request("POST", "/api/v1/groups", Some(VIEWER_TOKEN), r#"{"id":"m-v"}"#).status, 403);
}
