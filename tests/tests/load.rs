//! 2,000 heartbeats from 16 concurrent clients across 50 services: every heartbeat that got
//! a 200 is in `/api/v1/logs` and in D1 after the flush. Zero lost.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use serde_json::json;
use systole_e2e::spawn_worker;

#[test]
fn two_thousand_concurrent_heartbeats_lose_none() {
    let worker = spawn_worker();
    let next = AtomicUsize::new(0);
    let accepted: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
    let refused = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= 2_000 {
                    return;
                }
                let service = format!("load-{:02}", n % 50);
                let a = worker.beat(&service, &json!({"serviceId": service, "message": format!("beat {n}")}));
                if a.status == 200 {
                    *accepted.lock().unwrap().entry(service).or_default() += 1;
                } else {
                    refused.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    let accepted = accepted.into_inner().unwrap();
    let total: usize = accepted.values().sum();
    assert_eq!(total + refused.load(Ordering::SeqCst), 2_000);
    assert!(total > 0);

    // Every accepted heartbeat appears in the logs API (read from D1) once flushed.
    for (service, count) in &accepted {
        let logged = worker.wait_for(&format!("{service} flushed"), Duration::from_secs(30), || {
            let logs = worker.get(&format!("/api/v1/logs?serviceId={service}&limit=500")).json();
            let n = logs["heartbeats"].as_array().unwrap().len();
            (n >= *count).then_some(n)
        });
        assert_eq!(logged, *count, "{service}: logged {logged}, accepted {count}");
    }
    // And directly in D1.
    let rows = worker
        .d1("SELECT service_id, COUNT(*) AS n FROM heartbeats WHERE service_id LIKE 'load-%' GROUP BY service_id");
    let in_d1: BTreeMap<String, usize> = rows
        .iter()
        .map(|r| (r["service_id"].as_str().unwrap().to_owned(), r["n"].as_u64().unwrap() as usize))
        .collect();
    assert_eq!(in_d1, accepted);
    assert_eq!(total, 2_000, "some heartbeats were refused");
}
