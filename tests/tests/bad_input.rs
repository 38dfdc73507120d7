//! Every bad input gets its status code and a problem+json body naming the field and the
//! limit, and leaves the service's stored state unchanged.
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::{key, spawn_worker, Answer, Worker};

fn assert_problem(a: &Answer, status: u16, field: Option<&str>) -> Value {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.content_type, "application/problem+json", "{}", a.body);
    let p = a.json();
    assert_eq!(p["status"], status);
    assert!(p["type"].as_str().unwrap().starts_with("urn:systole:problem:"));
    assert!(!p["detail"].as_str().unwrap().is_empty());
    if let Some(field) = field {
        assert_eq!(p["field"], field, "{}", a.body);
    }
    p
}

/// `guarded`'s status (without its ever-growing age) and logged heartbeats, once the
/// baseline heartbeat is written.
fn state(worker: &Worker) -> (Value, Value) {
    let logs = worker.wait_for("the baseline heartbeat written", Duration::from_secs(20), || {
        let logs = worker.get("/api/logs?serviceId=guarded").json();
        (!logs["heartbeats"].as_array().unwrap().is_empty()).then_some(logs)
    });
    let mut status = worker.wait_for("the baseline status written", Duration::from_secs(20), || {
        let status = worker.status_of("guarded");
        status["lastHeartbeat"].is_string().then_some(status)
    });
    status["secondsSinceLastHeartbeat"] = Value::Null;
    (status, logs["heartbeats"].clone())
}

#[test]
fn bad_heartbeats_get_precise_problems_and_change_nothing() {
    let worker = spawn_worker();
    assert_eq!(worker.beat("guarded", &json!({"serviceId": "guarded", "message": "baseline"})).status, 200);
    let before = state(&worker);
    let k = key("guarded");
    let post = |body: &str| worker.request("POST", "/api/heartbeat", Some(&k), body);

    let p = assert_problem(
        &post(&format!(r#"{{"serviceId":"guarded","message":"{}"}}"#, "x".repeat(17 * 1024))),
        413,
        None,
    );
    assert_eq!(p["limit"], 16384);
    let p = assert_problem(&post("{\"serviceId\": \"guarded\",\n \"status\": }"), 400, None);
    assert_eq!(p["detail"], "invalid JSON at line 2, column 12: expected value");
    assert_problem(&post(r#"{"serviceId": 42}"#), 400, Some("serviceId"));
    assert_problem(&post(r#"{"status": "up"}"#), 400, Some("serviceId"));
    assert_problem(&post(r#"{"serviceId": "guarded", "status": "sideways"}"#), 400, Some("status"));
    assert_problem(&post(r#"{"serviceId": "guarded", "metadata": "not an object"}"#), 400, Some("metadata"));
    assert_problem(&post(r#"{"serviceId": "guarded", "metrics": {"cpu": "high"}}"#), 400, Some("metrics.cpu"));
    assert_problem(&post(r#"{"serviceId": "Guarded Service"}"#), 400, Some("serviceId"));
    let p = assert_problem(
        &post(&format!(r#"{{"serviceId":"guarded","message":"{}"}}"#, "é".repeat(513))),
        400,
        Some("message"),
    );
    assert_eq!(p["limit"], 1024);
    let p = assert_problem(
        &post(&format!(r#"{{"serviceId":"guarded","metadata":{{"k":"{}"}}}}"#, "m".repeat(4100))),
        400,
        Some("metadata"),
    );
    assert_eq!(p["limit"], 4096);
    assert_problem(&post(r#"{"services": []}"#), 400, Some("services"));

    let wrong = worker.request("GET", "/api/heartbeat", None, "");
    assert_problem(&wrong, 405, None);
    assert_eq!(wrong.allow.as_deref(), Some("POST"));
    let put = worker.request("PUT", "/api/status", None, "{}");
    assert_problem(&put, 405, None);
    assert_eq!(put.allow.as_deref(), Some("GET, HEAD"));
    assert_problem(&worker.get("/api/nope"), 404, None);
    assert_problem(&worker.get("/api/logs?serviceId=guarded&limit=0"), 400, Some("limit"));
    assert_problem(&worker.get("/api/logs"), 400, Some("serviceId"));
    assert_problem(&worker.get("/api/logs?serviceId=ghost"), 404, None);
    assert_problem(&worker.get("/api/uptime?from=2026-13-01"), 400, Some("from"));
    assert_problem(&worker.get("/api/incidents?limit=9999"), 400, Some("limit"));

    // A batch with one bad key is rejected whole: the good item is not recorded either.
    let batch = json!([{"serviceId": "guarded", "token": k}, {"serviceId": "reporter", "token": "wrong"}]);
    assert_problem(&worker.request("POST", "/api/heartbeat", None, &batch.to_string()), 401, None);

    // Anything wrongly accepted would be written within a flush interval (1 s).
    thread::sleep(Duration::from_millis(1_500));
    assert_eq!(state(&worker), before, "rejected requests changed stored state");
}

#[test]
fn unknown_service_wrong_key_and_missing_key_get_byte_identical_401s() {
    let worker = spawn_worker();
    let unknown =
        worker.request("POST", "/api/heartbeat", Some(&key("guarded")), r#"{"serviceId": "no-such-service"}"#);
    let wrong = worker.request("POST", "/api/heartbeat", Some("not-the-key"), r#"{"serviceId": "guarded"}"#);
    let missing = worker.request("POST", "/api/heartbeat", None, r#"{"serviceId": "guarded"}"#);
    let other = worker.request("POST", "/api/heartbeat", Some(&key("reporter")), r#"{"serviceId": "guarded"}"#);
    let tokens = json!([{"serviceId": "guarded", "token": key("guarded")}, {"serviceId": "reporter", "token": "no"}]);
    let batch = worker.request("POST", "/api/heartbeat", None, &tokens.to_string());
    for a in [&unknown, &wrong, &missing, &other, &batch] {
        assert_problem(a, 401, None);
        assert_eq!(a.body, unknown.body);
    }
    assert_eq!(worker.status_of("guarded")["status"], "unknown");
    // The key is checked at the edge: none of these reached guarded's ServiceMonitor.
    let reached = || worker.get("/api/internal/stats?serviceId=guarded").json()["heartbeatRequests"].as_u64().unwrap();
    assert_eq!(reached(), 0, "a refused heartbeat never costs a Durable Object request");
    assert_eq!(worker.beat("guarded", &json!({"serviceId": "guarded"})).status, 200);
    assert_eq!(reached(), 1, "the counter counts the heartbeat that is let through");
}

#[test]
fn absurd_metrics_are_dropped_while_the_heartbeat_counts() {
    let worker = spawn_worker();
    let body = json!({"serviceId": "guarded", "metrics": {"cpu_percent": 340, "latency_ms": 12.5, "queue": 3}});
    let a = worker.beat("guarded", &body);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["droppedMetrics"], json!(["cpu_percent"]));
    let logs = worker.wait_for("flush", Duration::from_secs(20), || {
        let l = worker.get("/api/logs?serviceId=guarded").json();
        (!l["heartbeats"].as_array().unwrap().is_empty()).then_some(l)
    });
    assert_eq!(logs["heartbeats"][0]["metrics"], json!({"latency_ms": 12.5, "queue": 3.0}));
}

#[test]
fn both_batch_forms_record_every_listed_service() {
    let worker = spawn_worker();
    let same_key = json!({"services": ["load-00", "load-01"], "message": "batch"});
    // One bearer key for every listed service only works if they share it; here they do not.
    assert_eq!(worker.request("POST", "/api/heartbeat", Some(&key("load-00")), &same_key.to_string()).status, 401);
    let one = json!({"services": ["load-00"], "status": "degraded"});
    let a = worker.request("POST", "/api/heartbeat", Some(&key("load-00")), &one.to_string());
    assert_eq!(a.json()["results"][0]["status"], "degraded");
    let tokens =
        json!([{"serviceId": "load-01", "token": key("load-01")}, {"serviceId": "load-02", "token": key("load-02")}]);
    let a = worker.request("POST", "/api/heartbeat", None, &tokens.to_string());
    assert_eq!(a.status, 200, "{}", a.body);
    let results = a.json()["results"].clone();
    let ids: Vec<&str> = results.as_array().unwrap().iter().map(|r| r["serviceId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["load-01", "load-02"]);
}
