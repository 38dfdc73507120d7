//! Every bad input gets its status code and a problem+json body naming the field and the
//! limit, and leaves the service's stored state unchanged.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::{key, spawn_worker, Answer, Worker, ADMIN_TOKEN};

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
        let logs = worker.get("/api/v1/logs?serviceId=guarded").json();
        (!logs["heartbeats"].as_array().unwrap().is_empty()).then_some(logs)
    });
    let mut status = worker.wait_for("the baseline status written", Duration::from_secs(20), || {
        let status = worker.status_of("guarded");
        status["lastHeartbeat"].is_string().then_some(status)
    });
    status["secondsSinceLastHeartbeat"] = Value::Null;
    (status, logs["heartbeats"].clone())
}

/// The raw answer (status line, lower-case header names, body) to `method path` as the
/// admin, sent over a plain socket: the HTTP client refuses methods it does not know.
fn raw(worker: &Worker, method: &str, path: &str) -> String {
    let addr = worker.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let head: Vec<String> = head
        .lines()
        .enumerate()
        .map(|(i, l)| match l.split_once(':') {
            Some((k, v)) if i > 0 => format!("{}:{v}", k.to_ascii_lowercase()),
            _ => l.to_owned(),
        })
        .collect();
    format!("{}\r\n\r\n{body}", head.join("\r\n"))
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
    // An id no service can have is an unknown service, refused like a wrong key.
    let p = assert_problem(&post(r#"{"serviceId": "Guarded Service"}"#), 401, None);
    assert_eq!(p["results"], json!([{"serviceId": "Guarded Service", "success": false, "error": "Unknown serviceId"}]));
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
    let p = assert_problem(&post(r#"{"services": []}"#), 400, Some("services"));
    assert_eq!(p["error"], "services array cannot be empty");
    let p = assert_problem(&post(r#"{"message": "no id"}"#), 400, Some("serviceId"));
    assert_eq!(p["error"], "Either serviceId or services array is required");
    assert!(p["usage"]["batchPerService"].is_string());

    let wrong = worker.request("GET", "/api/heartbeat", None, "");
    assert_problem(&wrong, 405, None);
    assert_eq!(wrong.allow.as_deref(), Some("POST"));
    let put = worker.request("PUT", "/api/v1/status", None, "{}");
    assert_problem(&put, 405, None);
    assert_eq!(put.allow.as_deref(), Some("GET, HEAD"));
    // A method the runtime's bindings do not know is not read as GET (Schemathesis found
    // `QUERY /` answered with the dashboard).
    let query = raw(&worker, "QUERY", "/api/v1/status");
    assert!(query.starts_with("HTTP/1.1 405 "), "{query}");
    assert!(query.contains("\r\nallow: GET, HEAD\r\n") && query.contains("QUERY is not allowed here"), "{query}");
    assert!(raw(&worker, "PROPFIND", "/").starts_with("HTTP/1.1 405 "));
    assert_problem(&worker.get("/api/nope"), 404, None);
    assert_problem(&worker.get("/api/v1/logs?serviceId=guarded&limit=0"), 400, Some("limit"));
    assert_problem(&worker.get("/api/v1/logs"), 400, Some("serviceId"));
    assert_problem(&worker.get("/api/v1/logs?serviceId=ghost"), 404, None);
    assert_problem(&worker.get("/api/v1/uptime?from=2026-13-01"), 400, Some("from"));
    assert_problem(&worker.get("/api/v1/incidents?limit=9999"), 400, Some("limit"));

    // A batch whose every key is refused records nothing.
    let batch = json!([{"serviceId": "guarded", "token": "wrong"}, {"serviceId": "reporter", "token": k}]);
    let p = assert_problem(&worker.request("POST", "/api/heartbeat", None, &batch.to_string()), 401, None);
    assert_eq!(p["message"], "All heartbeats failed");

    // Anything wrongly accepted would be written within a flush interval (1 s).
    thread::sleep(Duration::from_millis(1_500));
    assert_eq!(state(&worker), before, "rejected requests changed stored state");
}

#[test]
fn unknown_service_wrong_key_and_missing_key_get_the_same_401_without_reaching_a_durable_object() {
    let worker = spawn_worker();
    let unknown =
        worker.request("POST", "/api/heartbeat", Some(&key("guarded")), r#"{"serviceId": "no-such-service"}"#);
    let wrong = worker.request("POST", "/api/heartbeat", Some("not-the-key"), r#"{"serviceId": "guarded"}"#);
    let missing = worker.request("POST", "/api/heartbeat", None, r#"{"serviceId": "guarded"}"#);
    let other = worker.request("POST", "/api/heartbeat", Some(&key("reporter")), r#"{"serviceId": "guarded"}"#);
    let tokens = json!([{"serviceId": "guarded", "token": "no"}, {"serviceId": "reporter", "token": "no"}]);
    let batch = worker.request("POST", "/api/heartbeat", None, &tokens.to_string());
    // The same problem; only cloudflaremon's per-item error names the cause, as the seed's
    // does (and the request time differs).
    let without_results = |a: &Answer| {
        let mut p = assert_problem(a, 401, None);
        let results = p.as_object_mut().unwrap().remove("results").unwrap();
        p.as_object_mut().unwrap().remove("timestamp");
        (p, results)
    };
    let (expected, _) = without_results(&unknown);
    for a in [&unknown, &wrong, &missing, &other, &batch] {
        assert_eq!(without_results(a).0, expected);
    }
    assert_eq!(without_results(&unknown).1[0]["error"], "Unknown serviceId");
    for a in [&wrong, &missing, &other, &batch] {
        assert_eq!(without_results(a).1[0]["error"], "Invalid API key");
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
        let l = worker.get("/api/v1/logs?serviceId=guarded").json();
        (!l["heartbeats"].as_array().unwrap().is_empty()).then_some(l)
    });
    assert_eq!(logs["heartbeats"][0]["metrics"], json!({"latency_ms": 12.5, "queue": 3.0}));
}

#[test]
fn both_batch_forms_record_every_listed_service() {
    let worker = spawn_worker();
    let same_key = json!({"services": ["load-00", "load-01"], "message": "batch"});
    // One bearer key for every listed service only works if they share it; here they do not:
    // the service it opens is recorded, the other refused (cloudflaremon's partial success).
    let partial = worker.request("POST", "/api/heartbeat", Some(&key("load-00")), &same_key.to_string());
    assert_eq!(partial.status, 207, "{}", partial.body);
    assert_eq!(partial.json()["results"][1]["error"], "Invalid API key");
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

/// A route, its headers, and how many bytes of padding to send it.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, usize);

/// Posts `body` then `total` bytes of spaces to `path` as a chunked body (no
/// `Content-Length`) over a raw connection; returns the answer (status line, headers and
/// body as text; empty when the connection was closed without one) and how many padding
/// bytes were written before the Worker answered and closed the connection.
fn chunked_post(worker: &Worker, path: &str, headers: &[(&str, &str)], body: &[u8], total: usize) -> (String, usize) {
    use std::io::{Read, Write};

    let addr = worker.base.trim_start_matches("http://").to_owned();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n{extra}\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    // The answer is read while the body is still being written: a Worker that refuses early
    // answers and closes, and the close may reset the connection before a late read.
    let mut reader = s.try_clone().unwrap();
    let answer = thread::spawn(move || {
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&answer).into_owned()
    });
    s.write_all(&[format!("{:x}\r\n", body.len()).as_bytes(), body, b"\r\n"].concat()).unwrap();
    let mut sent = 0;
    while sent < total {
        let chunk = vec![b' '; (total - sent).min(64 * 1024)];
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if s.write_all(&framed).is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = s.write_all(b"0\r\n\r\n");
    (answer.join().unwrap(), sent)
}

/// The status of a raw answer, if it has one.
fn status_of(answer: &str) -> Option<u16> {
    answer.split_whitespace().nth(1).and_then(|s| s.parse().ok())
}

/// Whether `answer` refuses an oversized body: the Worker's 413 problem. Under `wrangler dev`
/// the local proxy in front of workerd may instead drop the connection, or answer its own
/// 500 "Network connection lost" (never the Worker's: its errors are problem+json), when the
/// Worker answers while the client is still sending.
fn refused(answer: &str) -> bool {
    match status_of(answer) {
        Some(413) => answer.contains("application/problem+json") || answer.contains("<form"),
        Some(500) => answer.contains("Network connection lost") && !answer.contains("problem+json"),
        None => true,
        Some(_) => false,
    }
}

#[test]
fn chunked_bodies_over_their_limit_are_refused_while_they_are_read() {
    let alert_key = "alert-key-0123456789";
    let worker = systole_e2e::spawn_worker_with(&[("ALERT_API_KEY".into(), alert_key.into())]);
    let alert_bearer = format!("Bearer {alert_key}");
    let admin = format!("Bearer {}", systole_e2e::ADMIN_TOKEN);
    let json = ("Content-Type", "application/json");
    // Each body is well over its route's limit and declares no length; the heartbeat's is
    // 64 MiB (under any runtime body limit), which the Worker must refuse without reading it
    // whole.
    let cases: [Case; 4] = [
        ("/api/heartbeat", vec![json], 64 << 20),
        ("/login", vec![("Content-Type", "application/x-www-form-urlencoded")], 1 << 20),
        ("/api/v1/notifications/test", vec![json, ("Authorization", admin.as_str())], 1 << 20),
        ("/api/v1/alerts", vec![json, ("Authorization", alert_bearer.as_str())], 3 << 20),
    ];
    for (path, headers, total) in cases {
        let (answer, sent) = chunked_post(&worker, path, &headers, b"{", total);
        assert!(refused(&answer), "{path}: {answer}");
        if total > 32 << 20 {
            assert!(sent < total, "{path}: refused while read, not after all {sent} bytes");
        }
    }
    // Under the limit, the same framing is read whole: a chunked heartbeat is recorded.
    let bearer = format!("Bearer {}", key("guarded"));
    let beat = br#"{"serviceId": "guarded", "message": "chunked"}"#;
    let (answer, _) = chunked_post(&worker, "/api/heartbeat", &[json, ("Authorization", &bearer)], beat, 4096);
    assert_eq!(status_of(&answer), Some(200), "{answer}");
}
