//! Rate limits in the real Worker (local workerd runs the Workers Rate Limiting bindings of
//! `wrangler.toml`): per client IP on sign-in, heartbeats and alerts (429 problem+json with
//! `Retry-After`), and per service inside its ServiceMonitor (a flood is refused past the
//! documented rate, while the service stays up and other services are unaffected).
//!
//! Locally `CF-Connecting-IP` is what the client sends (Cloudflare sets it in production), so
//! each test speaks from its own documentation address (RFC 5737). The local limiter counts
//! fixed windows aligned to the clock, so a test starts its count early in a window
//! ([`fresh_window`]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use systole_core::limit::{HEARTBEAT_PER_IP, SERVICE_HEARTBEATS, SIGN_IN};
use systole_e2e::{key, now_ms, spawn_limited, spawn_worker, Answer, Worker, ADMIN_TOKEN, TESTS};

/// Waits, if needed, so at least `margin_secs` are left of the current `period_secs` window.
fn fresh_window(period_secs: i64, margin_secs: i64) {
    let period = period_secs * 1_000;
    let left = period - now_ms().rem_euclid(period);
    if left < margin_secs * 1_000 {
        thread::sleep(Duration::from_millis(u64::try_from(left + 50).unwrap()));
    }
}

/// A heartbeat for `service` with its key, from client address `ip`, on `path`.
fn beat_from(worker: &Worker, path: &str, service: &str, ip: &str) -> Answer {
    let auth = format!("Bearer {}", key(service));
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json"), ("CF-Connecting-IP", ip)];
    worker.send("POST", path, &headers, &json!({"serviceId": service}).to_string())
}

/// A heartbeat for `service` with a wrong key, from client address `ip`, on `path`.
fn guess_from(worker: &Worker, path: &str, service: &str, ip: &str) -> Answer {
    let headers = [
        ("Authorization", "Bearer wrong-key-0123456789"),
        ("Content-Type", "application/json"),
        ("CF-Connecting-IP", ip),
    ];
    worker.send("POST", path, &headers, &json!({"serviceId": service}).to_string())
}

/// Asserts a 429 problem+json with `Retry-After: retry_after` (if given) and returns its body.
fn assert_429(a: &Answer, retry_after: Option<u64>) -> Value {
    assert_eq!(a.status, 429, "{}", a.body);
    assert_eq!(a.content_type, "application/problem+json", "{}", a.body);
    let p = a.json();
    assert_eq!((p["type"].as_str(), p["status"].as_u64()), (Some("urn:systole:problem:rate-limited"), Some(429)));
    let header: u64 = a.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!(header >= 1);
    if let Some(expected) = retry_after {
        assert_eq!(header, expected, "{}", a.body);
    }
    p
}

#[test]
fn the_eleventh_sign_in_from_one_address_in_a_minute_gets_429_with_retry_after() {
    let worker = spawn_worker();
    assert_eq!(SIGN_IN.limit, 10);
    fresh_window(60, 20);
    let ip = [("CF-Connecting-IP", "192.0.2.11")];
    for i in 0..SIGN_IN.limit {
        let a = worker.post_form("/login", "token=guess-0123456789", &ip);
        assert_eq!(a.status, 401, "attempt {i}: {}", a.body);
    }
    let p = assert_429(&worker.post_form("/login", "token=guess-0123456789", &ip), Some(60));
    assert!(p["detail"].as_str().unwrap().contains("sign-in attempts"), "{p}");
    // The right token does not get through from that address either, until the window ends…
    assert_429(&worker.post_form("/login", &format!("token={ADMIN_TOKEN}"), &ip), Some(60));
    // …while another address signs in as usual.
    let other = worker.post_form("/login", &format!("token={ADMIN_TOKEN}"), &[("CF-Connecting-IP", "192.0.2.12")]);
    assert_eq!(other.status, 303, "{}", other.body);
}

#[test]
fn heartbeat_and_alert_routes_are_limited_per_address_on_both_surfaces() {
    // The limits lowered in this Worker's wrangler.toml, so a test can reach them.
    let worker = spawn_limited(TESTS, &[], &[("HEARTBEAT_LIMITER", 4), ("ALERT_LIMITER", 3)]);
    fresh_window(10, 6);
    let ip = "198.51.100.7";
    // Requests without a valid key: one count for both heartbeat paths (the native and
    // cloudflaremon's).
    for path in ["/api/v1/heartbeat", "/api/heartbeat", "/api/v1/heartbeat", "/api/heartbeat"] {
        let a = guess_from(&worker, path, "load-01", ip);
        assert_eq!(a.status, 401, "{path}: {}", a.body);
    }
    for path in ["/api/v1/heartbeat", "/api/heartbeat"] {
        let p = assert_429(&guess_from(&worker, path, "load-01", ip), Some(u64::from(HEARTBEAT_PER_IP.period_secs)));
        // cloudflaremon's clients read `success` and `message`.
        assert_eq!((p["success"].as_bool(), p["message"].as_str()), (Some(false), Some("Rate limit exceeded")));
    }
    // A heartbeat with the right key is never counted nor refused by the address's limit: a
    // guessing loop cannot lock out the fleet behind the same address.
    for path in ["/api/v1/heartbeat", "/api/heartbeat"] {
        assert_eq!(beat_from(&worker, path, "load-01", ip).status, 200, "{path}: the right key");
    }
    assert_eq!(guess_from(&worker, "/api/heartbeat", "load-01", "198.51.100.8").status, 401, "another address");

    let alert = json!({"title": "disk full", "severity": "warning"}).to_string();
    let headers = [("Content-Type", "application/json"), ("CF-Connecting-IP", ip)];
    // (`tests/config` switches cloudflaremon's `/api/alert` off: 403 before any count.)
    for _ in 0..3 {
        let a = worker.send("POST", "/api/v1/alerts", &headers, &alert);
        assert_ne!(a.status, 429, "{}", a.body);
    }
    assert_429(&worker.send("POST", "/api/v1/alerts", &headers, &alert), Some(10));
    let other = [("Content-Type", "application/json"), ("CF-Connecting-IP", "198.51.100.8")];
    assert_ne!(worker.send("POST", "/api/v1/alerts", &other, &alert).status, 429, "another address");
}

#[test]
fn a_flood_to_one_service_gets_429_past_its_rate_while_it_stays_up_and_others_are_unaffected() {
    let worker = spawn_worker();
    let flood = "load-07";
    let quiet = "load-08";
    assert_eq!(worker.pulse(quiet, &json!({}))["status"], "up");
    let sent = 800;
    let next = AtomicUsize::new(0);
    let (ok, limited) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let other: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let started = Instant::now();
    thread::scope(|s| {
        for _ in 0..12 {
            s.spawn(|| loop {
                if next.fetch_add(1, Ordering::SeqCst) >= sent {
                    return;
                }
                // cloudflaremon's path: the compatibility surface answers 429 too.
                let a = beat_from(&worker, "/api/heartbeat", flood, "203.0.113.70");
                match a.status {
                    200 => ok.fetch_add(1, Ordering::SeqCst),
                    429 => {
                        let p = assert_429(&a, None);
                        assert_eq!(p["results"][0]["error"], "Rate limit exceeded", "{}", a.body);
                        assert_eq!(p["success"], false);
                        limited.fetch_add(1, Ordering::SeqCst)
                    }
                    other => panic!("{other}: {}", a.body),
                };
            });
        }
        // Another service's heartbeats during the flood.
        s.spawn(|| {
            while next.load(Ordering::SeqCst) < sent {
                other.lock().unwrap().push(beat_from(&worker, "/api/v1/heartbeat", quiet, "203.0.113.71").status);
                thread::sleep(Duration::from_millis(50));
            }
        });
    });
    let elapsed = started.elapsed();
    let (ok, limited) = (ok.into_inner(), limited.into_inner());
    assert_eq!(ok + limited, sent);
    let burst = usize::try_from(SERVICE_HEARTBEATS.burst).unwrap();
    let per_sec = 1_000 / usize::try_from(SERVICE_HEARTBEATS.interval.as_millis()).unwrap();
    let allowed = burst + per_sec * (usize::try_from(elapsed.as_millis()).unwrap() / 1_000 + 1);
    assert!(ok >= burst, "the whole burst is admitted: {ok}");
    assert!(ok <= allowed, "{ok} recorded in {elapsed:?}, the rate allows {allowed}");
    assert!(limited > 0, "{sent} in {elapsed:?} must pass the rate");
    let other = other.into_inner().unwrap();
    assert!(!other.is_empty() && other.iter().all(|s| *s == 200), "the other service: {other:?}");

    // The flooded service is up and never went down; only the recorded heartbeats are stored.
    assert_eq!(worker.status_of(flood)["status"], "up");
    let changes = worker.status_changes(flood, 1);
    let to: Vec<&str> = changes.iter().map(|c| c["to_status"].as_str().unwrap()).collect();
    assert_eq!(to, ["up"], "{changes:?}");
    let sql = format!("SELECT COUNT(*) AS n FROM heartbeats WHERE service_id = '{flood}'");
    let stored = worker.wait_for("the flush", Duration::from_secs(20), || {
        let n = worker.d1(&sql)[0]["n"].as_u64().unwrap();
        (n >= u64::try_from(ok).unwrap()).then_some(n)
    });
    assert_eq!(stored, u64::try_from(ok).unwrap(), "a refused heartbeat stores no row");
    // Once the rate allows, the service's heartbeats are recorded again.
    thread::sleep(SERVICE_HEARTBEATS.interval * 2);
    assert_eq!(beat_from(&worker, "/api/heartbeat", flood, "203.0.113.70").status, 200);
}
