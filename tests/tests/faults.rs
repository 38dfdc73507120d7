//! Faults, end to end, in real workerd: heartbeats handled while an alarm writes attempt
//! records of a failing channel to D1; the runtime killed with `SIGKILL` in the middle of a
//! load; D1 refusing writes while heartbeats continue; a receiver that hangs. In each, every
//! heartbeat answered 200 is stored, statuses stay right and deadlines are kept. And a
//! WebAssembly trap (what a panic becomes) costs only its own request.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use systole_e2e::outage::{d1_file, D1Outage};
use systole_e2e::receiver::Receiver;
use systole_e2e::{channel_env, key, ms, now_ms, spawn_worker, spawn_worker_with, Worker};

/// `service`'s delivery attempts recorded in D1, oldest first.
fn attempts(worker: &Worker, service: &str) -> Vec<Value> {
    let mut rows = worker.get(&format!("/api/v1/alerts/history?serviceId={service}&limit=500")).json()["attempts"]
        .as_array()
        .cloned()
        .unwrap();
    rows.reverse();
    rows
}

/// How many heartbeats D1 holds per message, for services whose id starts with `prefix`.
fn stored_messages(worker: &Worker, prefix: &str) -> BTreeMap<String, u64> {
    let sql = format!(
        "SELECT message, COUNT(*) AS n FROM heartbeats WHERE service_id LIKE '{prefix}%' AND message IS NOT NULL \
         GROUP BY message"
    );
    worker.d1(&sql).iter().map(|r| (r["message"].as_str().unwrap().to_owned(), r["n"].as_u64().unwrap())).collect()
}

/// The messages of `service`'s heartbeats in `/api/v1/logs` (read from D1).
fn logged_messages(worker: &Worker, service: &str) -> Vec<String> {
    let logs = worker.get(&format!("/api/v1/logs?serviceId={service}&limit=500")).json();
    logs["heartbeats"].as_array().unwrap().iter().filter_map(|h| h["message"].as_str().map(str::to_owned)).collect()
}

/// Waits until D1 holds at least `n` heartbeats of services starting with `prefix`.
fn wait_for_rows(worker: &Worker, prefix: &str, n: usize, timeout: Duration) {
    let sql = format!("SELECT COUNT(*) AS n FROM heartbeats WHERE service_id LIKE '{prefix}%'");
    worker.wait_for(&format!("{n} heartbeats of {prefix}* in D1"), timeout, || {
        let rows = worker.d1(&sql)[0]["n"].as_u64().unwrap();
        (rows >= n as u64).then_some(())
    });
}

/// `(from, to, changed_at)` of each status change recorded for `service`, once there are `n`.
fn changes(worker: &Worker, service: &str, n: usize) -> Vec<(String, String, i64)> {
    worker
        .status_changes(service, n)
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_owned();
            (s("from_status"), s("to_status"), c["changed_at"].as_i64().unwrap())
        })
        .collect()
}

/// Makes every row written to D1 `table` take a while (a trigger that counts a few million
/// rows of a cross join, some 0.3 s a row), so that a write of it is long enough for other
/// requests to run while it is awaited.
fn slow_writes_to(worker: &Worker, table: &str) {
    let script = format!(
        "import sqlite3, sys\n\
         db = sqlite3.connect(sys.argv[1], timeout=10)\n\
         db.execute('CREATE TABLE slow_down (n INTEGER)')\n\
         db.executemany('INSERT INTO slow_down VALUES (?)', [(i,) for i in range(150)])\n\
         db.execute('CREATE TRIGGER slow_{table} AFTER INSERT ON {table} BEGIN SELECT count(*) FROM slow_down a, \
         slow_down b, slow_down c WHERE a.n + b.n + c.n < 0; END')\n\
         db.commit()\n"
    );
    let out = Command::new("python3").args(["-c", &script]).arg(d1_file(worker.state_dir())).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn heartbeats_while_an_alarm_writes_failed_attempts_to_d1_all_get_200_and_the_deadline_holds() {
    // Issue 10, item 0: a heartbeat handled while the alarm awaited D1 for the attempt records
    // of a failing channel made core ask for an alarm at the epoch; the runtime refused it,
    // the stored heartbeat was answered 503 and the deadline was left unwatched. Here each
    // attempt record takes a while to write, so heartbeats are certain to come meanwhile.
    let receiver = Receiver::start();
    receiver.script("retry-hook", &[500; 6]);
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    slow_writes_to(&worker, "alert_history");
    worker.pulse("notify-retry", &json!({}));
    // Its 2 s deadline passes: `down`, answered 500, retried after 1 s, 2 s, 2 s…
    receiver.wait("retry-hook", 1, Duration::from_secs(20));

    // Two clients keep the service beating (which queues `up`, failing too) until the six
    // failures are in and on the record.
    let statuses: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let last: Mutex<Option<Value>> = Mutex::new(None);
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while !done.load(Ordering::SeqCst) {
                    let a = worker.beat("notify-retry", &json!({"serviceId": "notify-retry"}));
                    if a.status == 200 {
                        *last.lock().unwrap() = Some(a.json());
                    }
                    statuses.lock().unwrap().push(a.status);
                    thread::sleep(Duration::from_millis(20));
                }
            });
        }
        worker.wait_for("six failed attempts recorded", Duration::from_secs(30), || {
            let rows = attempts(&worker, "notify-retry");
            (rows.iter().filter(|r| r["httpStatus"] == 500).count() == 6).then_some(())
        });
        done.store(true, Ordering::SeqCst);
    });
    let statuses = statuses.into_inner().unwrap();
    let refused: Vec<u16> = statuses.iter().copied().filter(|s| *s != 200).collect();
    assert!(refused.is_empty(), "{} of {} heartbeats refused: {refused:?}", refused.len(), statuses.len());
    let log = worker.log();
    assert!(!log.contains("setAlarm") && !log.contains("setting the alarm"), "alarm refused:\n{log}");

    // No more heartbeats: the deadline of the last one is still watched.
    let deadline = ms(&last.into_inner().unwrap().unwrap()["nextDeadline"]);
    let history = changes(&worker, "notify-retry", 4);
    let steps: Vec<(&str, &str)> = history.iter().map(|(f, t, _)| (f.as_str(), t.as_str())).collect();
    assert_eq!(steps, [("unknown", "up"), ("up", "down"), ("down", "up"), ("up", "down")]);
    let late_by = history[3].2 - deadline;
    assert!((0..1_500).contains(&late_by), "down {late_by} ms after the last deadline");
}

#[test]
fn a_runtime_killed_in_the_middle_of_a_load_loses_no_accepted_heartbeat() {
    let mut worker = spawn_worker();
    let next = AtomicUsize::new(0);
    let accepted: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    let answered = AtomicUsize::new(0);
    let killed = AtomicBool::new(false);
    thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                while !killed.load(Ordering::SeqCst) {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let service = format!("load-{:02}", n % 50);
                    let message = format!("beat {n}");
                    let body = json!({"serviceId": service, "message": message});
                    if worker.try_beat(&service, &body).is_ok_and(|a| a.status == 200) {
                        accepted.lock().unwrap().push((service, message));
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
        // Killed while 16 requests are in flight, between flushes of some monitors and in the
        // middle of others.
        while answered.load(Ordering::SeqCst) < 2_000 {
            thread::sleep(Duration::from_millis(5));
        }
        worker.send_kill();
        killed.store(true, Ordering::SeqCst);
    });
    worker.kill();
    let accepted = accepted.into_inner().unwrap();
    let sent = next.load(Ordering::SeqCst);
    assert!(accepted.len() >= 2_000);
    // Some were still buffered in their monitors' storage, not yet in D1, when it died.
    let before_restart = stored_messages(&worker, "load-").len();
    assert!(before_restart < accepted.len(), "all {before_restart} flushed before the kill: nothing was at stake");
    worker.start();

    // Every heartbeat answered 200 reaches D1 once, with no request after the restart: the
    // monitors' alarms survived and flush what they had stored. Heartbeats in flight at the
    // kill may or may not be stored; nothing else is.
    wait_for_rows(&worker, "load-", accepted.len(), Duration::from_secs(60));
    let stored = stored_messages(&worker, "load-");
    let lost: Vec<&String> = accepted.iter().map(|(_, m)| m).filter(|m| !stored.contains_key(*m)).collect();
    assert!(lost.is_empty(), "{} of {} accepted heartbeats lost: {lost:?}", lost.len(), accepted.len());
    let twice: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stored twice: {twice:?}");
    assert!(stored.len() <= sent, "{} stored, {sent} sent", stored.len());

    eprintln!(
        "killed after {} accepted of {sent} sent; {before_restart} in D1 at the kill, {} after the restart",
        accepted.len(),
        stored.len()
    );

    // And in the logs API, service by service.
    let mut by_service: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (service, message) in &accepted {
        by_service.entry(service).or_default().push(message);
    }
    for (service, messages) in by_service {
        let logged = logged_messages(&worker, service);
        let missing: Vec<&&str> = messages.iter().filter(|m| !logged.iter().any(|l| l == **m)).collect();
        assert!(missing.is_empty(), "{service}: {missing:?} not in /api/v1/logs");
    }
}

#[test]
fn d1_refusing_writes_loses_no_heartbeat_and_the_backlog_drains_when_it_returns() {
    let worker = spawn_worker();
    worker.pulse("reporter", &json!({"message": "before"}));
    worker.pulse("load-00", &json!({"message": "before"}));
    wait_for_rows(&worker, "reporter", 1, Duration::from_secs(20));

    let outage = D1Outage::begin(worker.state_dir());
    let began = now_ms();
    // `fast` (3 s threshold) beats once; its deadline passes during the outage.
    let fast = worker.pulse("fast", &json!({"message": "fast"}));
    let fast_deadline = ms(&fast["nextDeadline"]);
    let accepted: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let reporter_down: Mutex<Option<Value>> = Mutex::new(None);
    thread::scope(|s| {
        for t in 0..4 {
            let (accepted, reporter_down) = (&accepted, &reporter_down);
            let worker = &worker;
            s.spawn(move || {
                let mut n = 0;
                while now_ms() < fast_deadline + 1_500 {
                    let (service, message) = (format!("load-{:02}", (t * 5 + n) % 10), format!("outage {t}-{n}"));
                    let answer = worker.pulse(&service, &json!({"message": message}));
                    assert_eq!(answer["status"], "up");
                    accepted.lock().unwrap().push(message);
                    if t == 0 && n == 20 {
                        let down = worker.pulse("reporter", &json!({"status": "down", "message": "reported down"}));
                        assert_eq!(down["status"], "down", "the answer has the status D1 has not heard of");
                        *reporter_down.lock().unwrap() = Some(down);
                    }
                    n += 1;
                    thread::sleep(Duration::from_millis(10));
                }
            });
        }
    });
    let accepted = accepted.into_inner().unwrap();
    let reporter_down = reporter_down.into_inner().unwrap().unwrap();
    // D1 really refused: none of it is there yet (reads still work), and the flushes failed.
    assert!(!logged_messages(&worker, "load-00").iter().any(|m| m.starts_with("outage")), "written during the outage");
    assert!(worker.log().contains("SQLITE_BUSY"), "no write was refused:\n{}", worker.log_tail());
    let outage_ms = now_ms() - began;
    outage.end();

    // D1 is back: the backlog drains, every accepted heartbeat exactly once.
    wait_for_rows(&worker, "load-", accepted.len() + 1, Duration::from_secs(40));
    let stored = stored_messages(&worker, "load-");
    let lost: Vec<&String> = accepted.iter().filter(|m| stored.get(*m) != Some(&1)).collect();
    assert!(lost.is_empty(), "{} of {} lost or doubled: {lost:?}", lost.len(), accepted.len());
    // The status changes made during the outage are recorded at the time they happened.
    let reported = changes(&worker, "reporter", 2);
    assert_eq!(
        reported,
        [
            ("unknown".into(), "up".into(), reported[0].2),
            ("up".into(), "down".into(), ms(&reporter_down["receivedAt"]))
        ]
    );
    let missed = changes(&worker, "fast", 2);
    assert_eq!((missed[1].0.as_str(), missed[1].1.as_str()), ("up", "down"));
    let late_by = missed[1].2 - fast_deadline;
    assert!((0..2_000).contains(&late_by), "fast down {late_by} ms after its deadline, during the outage");
    let status = worker.wait_for("statuses written", Duration::from_secs(20), || {
        let (r, f) = (worker.status_of("reporter"), worker.status_of("fast"));
        (r["status"] == "down" && f["status"] == "down").then_some(r)
    });
    assert_eq!(status["message"], "reported down");
    assert_eq!(worker.status_of("load-00")["status"], "up");
    eprintln!("D1 refused writes for {outage_ms} ms; {} heartbeats accepted meanwhile", accepted.len());
}

#[test]
fn a_receiver_that_hangs_holds_up_no_heartbeat_and_the_delivery_is_retried() {
    let receiver = Receiver::start();
    receiver.hold("retry-hook", &[Duration::from_secs(30)]);
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    let last = Mutex::new(Value::Null);
    let time = |service: &str| {
        let started = Instant::now();
        let a = worker.beat(service, &json!({"serviceId": service}));
        assert_eq!(a.status, 200);
        *last.lock().unwrap() = a.json();
        started.elapsed()
    };
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let before = median((0..15).map(|_| time("notify-retry")).collect());
    // The 2 s deadline passes: `down` is sent and the receiver keeps the request open.
    let hung = receiver.wait("retry-hook", 1, Duration::from_secs(20));
    let (hung_at, delivery) = (hung[0].at_ms, hung[0].json()["id"].clone());
    let same = |r: &systole_e2e::receiver::Received| r.json()["id"] == delivery;
    let during: Vec<Duration> = (0..15).map(|_| time("notify-retry")).collect();
    let answered_by = now_ms();
    assert_eq!(receiver.of("retry-hook").iter().filter(|r| same(r)).count(), 1, "attempt 1 still hangs");
    assert!(answered_by - hung_at < 10_000, "heartbeats answered only after the attempt's timeout");
    let (max, during) = (during.iter().max().copied().unwrap(), median(during));
    assert!(
        during <= before * 5 + Duration::from_millis(100),
        "median heartbeat {during:?} while the delivery hangs, {before:?} before (slowest {max:?})"
    );

    // The monitor's next deadline passes while the attempt still hangs: detected on time, not
    // when the attempt gives up (the runtime runs no other alarm while this one awaits it).
    let deadline = ms(&last.lock().unwrap()["nextDeadline"]);
    let history = changes(&worker, "notify-retry", 4);
    let steps: Vec<(&str, &str)> = history.iter().map(|(f, t, _)| (f.as_str(), t.as_str())).collect();
    assert_eq!(steps, [("unknown", "up"), ("up", "down"), ("down", "up"), ("up", "down")]);
    let late_by = history[3].2 - deadline;
    assert!((0..1_500).contains(&late_by), "down {late_by} ms after its deadline");
    assert!(history[3].2 < hung_at + 10_000, "detected only when the hung attempt timed out");

    // The attempt times out after 10 s, is recorded, and the retry delivers the same `down`.
    worker.wait_for("down sent again", Duration::from_secs(30), || {
        (receiver.of("retry-hook").iter().filter(|r| same(r)).count() >= 2).then_some(())
    });
    let rows = worker.wait_for("down delivered", Duration::from_secs(30), || {
        let rows = attempts(&worker, "notify-retry");
        let first = rows.first()?.clone();
        let rows: Vec<Value> = rows.into_iter().filter(|r| r["deliveryId"] == first["deliveryId"]).collect();
        (rows.last()?["outcome"] == "delivered").then_some(rows)
    });
    let summary: Vec<_> =
        rows.iter().map(|r| (r["event"].clone(), r["httpStatus"].clone(), r["outcome"].clone())).collect();
    assert_eq!(
        summary,
        [(json!("down"), json!(null), json!("retrying")), (json!("down"), json!(200), json!("delivered"))],
        "{rows:?}"
    );
    eprintln!(
        "heartbeat median {before:?} before, {during:?} while the receiver hung (slowest {max:?}); attempt 1: {}",
        rows[0]["error"]
    );
}

#[test]
fn a_wasm_trap_costs_only_its_own_request_and_the_instance_is_reset() {
    let worker = spawn_worker();
    let beat = || {
        let body = json!({"serviceId": "load-00", "message": "trap"}).to_string();
        worker.request("POST", "/api/heartbeat", Some(&key("load-00")), &body).status
    };
    assert_eq!(beat(), 200);
    // `unreachable` in the Worker's Wasm: the runtime answers 500 (or drops the connection).
    let trapped = worker.try_get("/api/internal/trap");
    assert!(trapped.as_ref().is_none_or(|a| a.status == 500), "the trap answered {:?}", trapped.map(|a| a.status));
    // The bundle's entrypoint (xtask plain_glue) resets the instance before the next call,
    // and the Durable Object's plain class makes its object anew on the new instance.
    assert_eq!(worker.get("/healthz").status, 200, "{}", worker.log_tail());
    assert_eq!(beat(), 200, "{}", worker.log_tail());
    // The runtime's log reaches wrangler's output a little later.
    worker.wait_for("the reset in the log", Duration::from_secs(10), || {
        worker.log_tail().contains("Reinitializing Wasm application").then_some(())
    });
    let status = worker.get("/api/v1/status").json();
    assert!(status["services"].as_array().unwrap().iter().any(|s| s["id"] == "load-00"));
}
