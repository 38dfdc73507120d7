//! cloudflaremon's heartbeat clients against the real Worker, unchanged: every request form
//! the seed documents and its clients send (bash, Python, Node, docker-compose, the k8s
//! cronjob), its `API_KEYS` lookup (service, group, `"*"`), and its answers: 200 / 207 /
//! all-failed with `success`, `message`, `timestamp` and per-item `results` — 401 (not the
//! seed's 400) when every heartbeat failed its key check.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::{key, spawn_worker, Answer, Worker, KEYED_GROUP};

/// The `Authorization` header the seed's clients send.
fn bearer(k: &str) -> String {
    format!("Bearer {k}")
}

/// POSTs `body` to `/api/heartbeat` as the seed's clients do: `Content-Type:
/// application/json` and the key, if any, as a bearer header.
fn post(worker: &Worker, k: Option<&str>, body: &Value) -> Answer {
    let auth = k.map(bearer);
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    worker.send("POST", "/api/heartbeat", &headers, &body.to_string())
}

/// What `heartbeat-client.py` reads: `message`, and for each result `r['success']` and
/// `r['serviceId']` with hard key access (and `r.get('error')`). Returns the body.
fn python_reads(a: &Answer) -> Value {
    let body = a.json();
    assert!(body["message"].is_string(), "{}", a.body);
    assert!(body["success"].is_boolean(), "{}", a.body);
    assert!(body["timestamp"].is_string(), "{}", a.body);
    if let Some(results) = body.get("results") {
        for r in results.as_array().unwrap() {
            assert!(r["success"].is_boolean() && r.get("serviceId").is_some(), "{}", a.body);
            assert_eq!(r["success"] == false, r["error"].is_string(), "{}", a.body);
        }
    }
    body
}

/// A seed-style ISO time with milliseconds: `2025-11-10T12:00:00.000Z`.
fn is_iso_ms(v: &Value) -> bool {
    v.as_str().is_some_and(|t| t.len() == 24 && t.ends_with('Z') && t.as_bytes()[19] == b'.')
}

/// The heartbeat requests that reached `service`'s ServiceMonitor.
fn reached(worker: &Worker, service: &str) -> u64 {
    worker.get(&format!("/api/internal/stats?serviceId={service}")).json()["heartbeatRequests"].as_u64().unwrap()
}

/// The per-item errors of an answer, `None` for a success.
fn errors(body: &Value) -> Vec<(String, Option<String>)> {
    let results = body["results"].as_array().unwrap();
    results
        .iter()
        .map(|r| (r["serviceId"].as_str().unwrap().to_owned(), r["error"].as_str().map(str::to_owned)))
        .collect()
}

fn err(id: &str, e: &str) -> (String, Option<String>) {
    (id.to_owned(), Some(e.to_owned()))
}

fn ok(id: &str) -> (String, Option<String>) {
    (id.to_owned(), None)
}

#[test]
fn every_seed_request_form_gets_the_seeds_answer() {
    let worker = spawn_worker();
    let group = key(KEYED_GROUP);
    let own = key("cfm-own");

    // Refused items never reach a Durable Object (checked before anything is recorded).
    let one_wrong =
        json!({"services": [{"serviceId": "cfm-own", "token": own}, {"serviceId": "cfm-group-b", "token": "wrong"}]});
    let a = post(&worker, None, &one_wrong);
    assert_eq!(a.status, 207, "{}", a.body);
    let body = python_reads(&a);
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "Partial success: 1 succeeded, 1 failed");
    assert_eq!(errors(&body), [ok("cfm-own"), err("cfm-group-b", "Invalid API key")]);
    assert_eq!(body["results"][0]["status"], "up", "our fields on a success");
    assert!(is_iso_ms(&body["results"][0]["timestamp"]));
    assert_eq!(reached(&worker, "cfm-group-b"), 0, "a refused item costs no Durable Object request");

    // Single, Bearer (heartbeat-client.sh / .py): 200, the seed's fields next to ours.
    let a = post(&worker, Some(&own), &json!({"serviceId": "cfm-own"}));
    assert_eq!((a.status, a.content_type.as_str()), (200, "application/json"), "{}", a.body);
    let body = python_reads(&a);
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "Heartbeat received");
    assert!(is_iso_ms(&body["timestamp"]), "{body}");
    assert_eq!(body["ok"], true);
    assert_eq!(body["serviceId"], "cfm-own");
    assert_eq!(body["status"], "up");
    assert_eq!(body["timestamp"], body["receivedAt"]);
    assert!(body["nextDeadline"].is_string());
    assert!(body.get("results").is_none(), "no results for a single heartbeat, as in the seed");
    // The same handler at our native path.
    let native =
        worker.send("POST", "/api/v1/heartbeat", &[("Authorization", &bearer(&own))], r#"{"serviceId": "cfm-own"}"#);
    assert_eq!((native.status, native.json()["message"].as_str()), (200, Some("Heartbeat received")));

    // Batch of names, one shared header (BATCH_MODE / BATCH_SHARED_KEY), opened by the
    // group's key: 200, and the compact message the bash client greps.
    let a = post(&worker, Some(&group), &json!({"services": ["cfm-group-a", "cfm-group-b"]}));
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains(r#""message":"Batch heartbeat received for 2 service(s)""#), "{}", a.body);
    let body = python_reads(&a);
    assert_eq!(errors(&body), [ok("cfm-group-a"), ok("cfm-group-b")]);
    assert_eq!(body["ok"], true);

    // Batch of objects with per-item tokens and no header (SERVICES_WITH_KEYS).
    let per_item =
        json!({"services": [{"serviceId": "cfm-own", "token": own}, {"serviceId": "cfm-group-a", "token": group}]});
    let a = post(&worker, None, &per_item);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(errors(&python_reads(&a)), [ok("cfm-own"), ok("cfm-group-a")]);

    // Mixed strings and objects: strings use the header, objects their token.
    let mixed = json!({"services": ["cfm-group-a", {"serviceId": "cfm-own", "token": own}]});
    let a = post(&worker, Some(&group), &mixed);
    assert_eq!((a.status, errors(&python_reads(&a))), (200, vec![ok("cfm-group-a"), ok("cfm-own")]));

    // A per-item token takes precedence over a right header.
    let overridden = json!({"services": ["cfm-group-a", {"serviceId": "cfm-group-b", "token": "wrong"}]});
    let a = post(&worker, Some(&group), &overridden);
    assert_eq!(a.status, 207, "{}", a.body);
    assert_eq!(errors(&python_reads(&a)), [ok("cfm-group-a"), err("cfm-group-b", "Invalid API key")]);

    // Every item refused: 401 (the seed says 400), still with success/message/results.
    let all_wrong =
        json!({"services": [{"serviceId": "cfm-own", "token": "no"}, {"serviceId": "cfm-group-a", "token": "no"}]});
    let a = post(&worker, None, &all_wrong);
    assert_eq!(a.status, 401, "{}", a.body);
    let body = python_reads(&a);
    assert_eq!((body["success"].as_bool(), body["message"].as_str()), (Some(false), Some("All heartbeats failed")));
    assert_eq!(errors(&body), [err("cfm-own", "Invalid API key"), err("cfm-group-a", "Invalid API key")]);
    assert_eq!(body["type"], "urn:systole:problem:unauthorized");

    // Unknown ids: alone a 401, in a batch one failed item.
    let a = post(&worker, Some(&group), &json!({"serviceId": "no-such-service"}));
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(errors(&python_reads(&a)), [err("no-such-service", "Unknown serviceId")]);
    let a = post(&worker, Some(&group), &json!({"services": ["cfm-group-a", "no-such-service"]}));
    assert_eq!(a.status, 207, "{}", a.body);
    assert_eq!(errors(&python_reads(&a)), [ok("cfm-group-a"), err("no-such-service", "Unknown serviceId")]);

    // Entries that are not heartbeats fail alone, under "unknown".
    let a = post(&worker, Some(&group), &json!({"services": ["cfm-group-a", 42, "", {"token": "x"}]}));
    assert_eq!(a.status, 207, "{}", a.body);
    assert_eq!(
        errors(&python_reads(&a)),
        [
            ok("cfm-group-a"),
            err("unknown", "Invalid service format"),
            err("unknown", "Invalid service entry"),
            err("unknown", "Invalid service format"),
        ]
    );
    let a = post(&worker, Some(&group), &json!({"services": [null]}));
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(python_reads(&a)["message"], "All heartbeats failed");

    // The seed's hint for a body with neither serviceId nor services.
    let a = post(&worker, Some(&group), &json!({"status": "up"}));
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.json()["error"], "Either serviceId or services array is required");
    assert!(a.json()["usage"]["single"].is_string());
    let a = post(&worker, Some(&group), &json!({"services": []}));
    assert_eq!((a.status, a.json()["error"].as_str()), (400, Some("services array cannot be empty")));
}

#[test]
fn group_and_star_keys_open_only_what_the_seed_opens() {
    let worker = spawn_worker();
    let group = key(KEYED_GROUP);
    let star = key("*");
    let single = |k: &str, id: &str| post(&worker, Some(k), &json!({"serviceId": id}));
    let refused = |a: &Answer| {
        assert_eq!(a.status, 401, "{}", a.body);
        a.json()["results"][0]["error"].as_str().unwrap().to_owned()
    };

    // The group's key opens its members without a key of their own…
    assert_eq!(single(&group, "cfm-group-a").status, 200);
    // …but not a member with its own key, nor a service of another group or of none.
    assert_eq!(refused(&single(&group, "cfm-own")), "Invalid API key");
    assert_eq!(refused(&single(&group, "fast")), "Invalid API key");
    assert_eq!(refused(&single(&group, "cfm-star")), "Invalid API key");
    // "*" opens a service with neither its own key nor its group's, and nothing else.
    assert_eq!(single(&star, "cfm-star").status, 200);
    assert_eq!(refused(&single(&star, "cfm-group-b")), "Invalid API key");
    assert_eq!(refused(&single(&star, "cfm-own")), "Invalid API key");
    assert_eq!(refused(&single(&star, "fast")), "Invalid API key");
    assert_eq!(refused(&single(&star, "no-such-service")), "Unknown serviceId");
    // A service's own key still opens it.
    assert_eq!(single(&key("cfm-own"), "cfm-own").status, 200);
}

#[test]
fn the_seed_clients_bodies_and_headers_are_accepted() {
    let worker = spawn_worker();
    let group = key(KEYED_GROUP);
    let auth = bearer(&group);

    // heartbeat-client.js: status, metadata and message, recorded as sent.
    let node = json!({
        "serviceId": "cfm-group-a", "status": "up", "message": "Heartbeat from build-1",
        "metadata": {"hostname": "build-1", "timestamp": "2025-11-10T12:00:00.000Z", "platform": "linux", "arch": "x64"}
    });
    let a = post(&worker, Some(&group), &node);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["status"], "up");

    // docker-compose.yml's curl loop: Cloudflare Access headers are ignored, and the
    // Content-Type is not checked.
    let docker = json!({"serviceId": "cfm-group-b", "status": "up", "message": "Heartbeat from Docker"});
    let headers = [
        ("Content-Type", "text/plain"),
        ("Authorization", auth.as_str()),
        ("CF-Access-Client-Id", "client-id.access"),
        ("CF-Access-Client-Secret", "access-secret"),
    ];
    let a = worker.send("POST", "/api/heartbeat", &headers, &docker.to_string());
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(python_reads(&a)["message"], "Heartbeat received");

    // The k8s cronjob: objects with metadata and no token, one shared Bearer.
    let k8s = json!({"services": [
        {"serviceId": "cfm-group-a", "metadata": {"cluster": "k3s", "ip": "10.0.0.2", "role": "control-plane", "status": "Ready"}},
        {"serviceId": "cfm-group-b", "metadata": {"cluster": "k3s", "ip": "10.0.0.3", "role": "worker", "status": "Ready"}}
    ]});
    let a = post(&worker, Some(&group), &k8s);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(errors(&python_reads(&a)), [ok("cfm-group-a"), ok("cfm-group-b")]);

    // What the Node client sent is what the service's log shows.
    let logs = worker.wait_for("the Node client's heartbeat written", Duration::from_secs(20), || {
        let l = worker.get("/api/v1/logs?serviceId=cfm-group-a").json();
        let beats = l["heartbeats"].as_array().unwrap().clone();
        beats.into_iter().find(|b| b["message"] == "Heartbeat from build-1")
    });
    assert_eq!(logs["metadata"]["platform"], "linux");
}
