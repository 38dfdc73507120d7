//! Auto-provisioning on the real Worker: a native heartbeat with a group's provisioning key
//! for an id nobody created makes the service (201) and the next one is 200; the group's
//! `maxServices` is a 403; a wrong key is a 401; healthchecks.io's `?create=1` on the slug form
//! answers 201 `Created`, then 200 `OK`.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use systole_e2e::{spawn_worker_with, Worker, ADMIN_TOKEN};

/// `fleet`'s provisioning key (tests/config: `autoProvision` with `maxServices` 2).
const FLEET_KEY: &str = "fleet-provisioning-0123456789";
/// `closed`'s provisioning key (a group without `autoProvision`).
const CLOSED_KEY: &str = "closed-provisioning-0123456789";
/// `hc-fleet`'s healthchecks.io ping key.
const HC_PING_KEY: &str = "hc-fleet-ping-key-0123456789";

fn worker() -> Worker {
    spawn_worker_with(&[
        ("PROVISIONING_KEYS".into(), json!({"fleet": FLEET_KEY, "closed": CLOSED_KEY}).to_string()),
        ("PING_KEYS".into(), json!({"hc-fleet": HC_PING_KEY}).to_string()),
    ])
}

/// A managed service's entry (`GET /api/v1/services/{id}`, as an admin), with its status.
fn entry(worker: &Worker, id: &str) -> (u16, Value) {
    let answer = worker.request("GET", &format!("/api/v1/services/{id}"), Some(ADMIN_TOKEN), "");
    let json: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    // The entry, whether answered bare or under `service`.
    (answer.status, json.get("service").cloned().unwrap_or(json))
}

fn beat(worker: &Worker, key: &str, body: &Value) -> (u16, Value) {
    let answer = worker.request("POST", "/api/v1/heartbeat", Some(key), &body.to_string());
    let json = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    (answer.status, json)
}

#[test]
fn a_group_key_creates_an_unknown_service_once_within_the_groups_limit() {
    let worker = worker();
    // An unknown id with the group's provisioning key: created (201) with the settings sent.
    let first = json!({"serviceId": "auto-1", "name": "Auto one", "stalenessThreshold": 120});
    let (status, created) = beat(&worker, FLEET_KEY, &first);
    assert_eq!(status, 201, "{created}");
    assert_eq!((&created["created"], &created["status"]), (&json!(true), &json!("up")), "{created}");
    let own_key = created["key"].as_str().unwrap().to_owned();
    // The next heartbeat, with the group key or the service's own, is 200.
    let (status, again) = beat(&worker, FLEET_KEY, &json!({"serviceId": "auto-1"}));
    assert_eq!((status, again.get("created")), (200, None), "{again}");
    assert_eq!(beat(&worker, &own_key, &json!({"serviceId": "auto-1"})).0, 200);
    let (_, created) = entry(&worker, "auto-1");
    assert_eq!(
        (&created["group"], &created["name"], &created["stalenessThreshold"], &created["createdBy"]),
        (&json!("fleet"), &json!("Auto one"), &json!(120), &json!("provisioning:fleet")),
        "{created}"
    );

    // The group's defaults where the heartbeat sends none; then the limit (2) is a 403.
    let (status, second) = beat(&worker, FLEET_KEY, &json!({"serviceId": "auto-2"}));
    assert_eq!(status, 201, "{second}");
    let (_, defaults) = entry(&worker, "auto-2");
    assert_eq!(defaults["stalenessThreshold"], 600, "fleet's default: {defaults}");
    let (status, full) = beat(&worker, FLEET_KEY, &json!({"serviceId": "auto-3"}));
    assert_eq!((status, &full["limit"]), (403, &json!(2)), "{full}");
    assert!(full["detail"].as_str().unwrap().contains("maxServices"), "{full}");

    // A wrong key, a group that does not allow it, a setting no service can have, an id
    // that breaks the id rule: nothing is created.
    assert_eq!(beat(&worker, "not-a-key-0123456789", &json!({"serviceId": "auto-4"})).0, 401);
    let (status, closed) = beat(&worker, CLOSED_KEY, &json!({"serviceId": "auto-5"}));
    assert_eq!(status, 403, "{closed}");
    assert!(closed["detail"].as_str().unwrap().contains("autoProvision"), "{closed}");
    assert_eq!(beat(&worker, FLEET_KEY, &json!({"serviceId": "Not An Id!"})).0, 401);
    // The group key opens only its group's services.
    assert_eq!(beat(&worker, FLEET_KEY, &json!({"serviceId": "guarded"})).0, 401);
    for id in ["auto-3", "auto-4", "auto-5"] {
        let (status, gone) = entry(&worker, id);
        assert_eq!(status, 404, "{id}: {gone}");
    }
}

#[test]
fn healthchecks_create_1_on_the_slug_form_creates_then_pings() {
    let worker = worker();
    let ping = |path: &str| worker.request("POST", path, None, "");
    // Without create=1, an unknown slug is not found.
    let missing = ping(&format!("/ping/{HC_PING_KEY}/hc-auto"));
    assert_eq!((missing.status, missing.body.as_str()), (404, "not found"));
    let created = ping(&format!("/ping/{HC_PING_KEY}/hc-auto?create=1"));
    assert_eq!((created.status, created.body.as_str()), (201, "Created"));
    assert_eq!(created.header("ping-body-limit"), Some("10000"));
    let again = ping(&format!("/ping/{HC_PING_KEY}/hc-auto?create=1"));
    assert_eq!((again.status, again.body.as_str()), (200, "OK"));
    let plain = ping(&format!("/ping/{HC_PING_KEY}/hc-auto/fail"));
    assert_eq!((plain.status, plain.body.as_str()), (200, "OK"));
    let (_, created) = entry(&worker, "hc-auto");
    assert_eq!((&created["group"], &created["name"]), (&json!("hc-fleet"), &json!("hc-auto")), "{created}");
    // A wrong ping key creates nothing.
    let wrong = ping("/ping/wrong-ping-key-0123456789/hc-other?create=1");
    assert_eq!((wrong.status, wrong.body.as_str()), (404, "not found"));
}
