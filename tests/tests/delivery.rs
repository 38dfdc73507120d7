//! Notifications delivered by the ServiceMonitor, through the real Worker, to a local
//! receiver standing in for each channel's API: exactly one `down` per incident and one `up`
//! with the downtime; retries after server errors and refused connections, every attempt
//! recorded; a runtime restart in the middle of a retry sequence.
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use systole_core::time::human_duration;
use systole_e2e::receiver::{Receiver, Refusing};
use systole_e2e::{channel_env, ms, spawn_worker_with, Worker};

fn attempts(worker: &Worker, service: &str) -> Vec<Value> {
    let mut rows = worker.get(&format!("/api/v1/alerts/history?serviceId={service}")).json()["attempts"]
        .as_array()
        .cloned()
        .unwrap();
    rows.reverse();
    rows
}

fn summary(rows: &[Value]) -> Vec<(i64, Value, String)> {
    rows.iter()
        .map(|r| (r["attempt"].as_i64().unwrap(), r["httpStatus"].clone(), r["outcome"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn a_missed_deadline_sends_one_down_and_recovery_one_up_with_the_downtime() {
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    let first = worker.beat("notify-once", &json!({"serviceId": "notify-once"})).json();
    let deadline = ms(&first["nextDeadline"]);
    let down = receiver.wait("discord", 1, Duration::from_secs(20));
    let late_by = down[0].at_ms - deadline;
    assert!((0..2_000).contains(&late_by), "down {late_by} ms after the deadline");
    let embed = &down[0].json()["embeds"][0];
    assert_eq!(embed["title"], "🔴 Notify once is DOWN");
    assert_eq!(down[0].json()["allowed_mentions"]["parse"], json!([]));

    // The alarm keeps firing (flushes, re-arms); still one message.
    thread::sleep(Duration::from_millis(2_500));
    assert_eq!(receiver.of("discord").len(), 1, "exactly one down per incident");

    worker.beat("notify-once", &json!({"serviceId": "notify-once"}));
    let both = receiver.wait("discord", 2, Duration::from_secs(20));
    let up = both[1].json();
    let title = up["embeds"][0]["title"].as_str().unwrap();
    assert!(title.starts_with("✅ Notify once is back UP after "), "{title}");
    // The downtime the Worker recorded for the incident (at least the 2.5 s slept above).
    let incident = worker.wait_for("incident closed", Duration::from_secs(20), || {
        let i = worker.get("/api/v1/incidents?serviceId=notify-once").json()["incidents"][0].clone();
        (i["open"] == false).then_some(i)
    });
    let downtime = ms(&incident["endedAt"]) - ms(&incident["startedAt"]);
    assert!(downtime >= 2_500, "downtime {downtime} ms");
    let expected = human_duration(Duration::from_millis(u64::try_from(downtime).unwrap()));
    assert_eq!(title, format!("✅ Notify once is back UP after {expected}"), "downtime {downtime} ms");
    thread::sleep(Duration::from_millis(1_500));
    assert_eq!(receiver.of("discord").len(), 2);
    let rows = attempts(&worker, "notify-once");
    let events: Vec<&str> = rows.iter().map(|r| r["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["down", "up"]);
    assert!(rows.iter().all(|r| r["outcome"] == "delivered" && r["channelType"] == "discord"));
}

#[test]
fn server_errors_are_retried_with_every_attempt_recorded() {
    let receiver = Receiver::start();
    receiver.script("retry-hook", &[500, 503]);
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    worker.beat("notify-retry", &json!({"serviceId": "notify-retry"}));
    let got = receiver.wait("retry-hook", 3, Duration::from_secs(20));
    let answered: Vec<u16> = got.iter().map(|r| r.answered).collect();
    assert_eq!(answered, [500, 503, 200]);
    let gaps: Vec<i64> = got.windows(2).map(|w| w[1].at_ms - w[0].at_ms).collect();
    assert!(gaps[0] >= 900 && gaps[1] >= 1_900, "backoff 1 s then 2 s, got {gaps:?}");
    // Same delivery each time: the receiver can de-duplicate by the webhook's id.
    let ids: Vec<Value> = got.iter().map(|r| r.json()["id"].clone()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
    let rows = worker.wait_for("three attempts recorded", Duration::from_secs(20), || {
        let rows = attempts(&worker, "notify-retry");
        (rows.len() == 3).then_some(rows)
    });
    assert_eq!(
        summary(&rows),
        [
            (1, json!(500), "retrying".to_owned()),
            (2, json!(503), "retrying".to_owned()),
            (3, json!(200), "delivered".to_owned())
        ]
    );
    assert!(rows[0]["error"].as_str().unwrap().starts_with("HTTP 500"));
    assert!(rows[0]["nextAttemptAt"].is_string() && rows[2]["nextAttemptAt"].is_null());
    thread::sleep(Duration::from_millis(2_500));
    assert_eq!(receiver.of("retry-hook").len(), 3, "nothing more after the delivery");
}

#[test]
fn a_receiver_refusing_connections_gets_the_message_once_it_is_back() {
    let receiver = Receiver::start();
    let refusing = Refusing::new();
    let url = format!("http://127.0.0.1:{}/refused-hook", refusing.port());
    let worker = spawn_worker_with(&channel_env(&receiver, &[("NOTIFICATION_REFUSED_HOOK_URL".into(), url)]));
    worker.beat("notify-refused", &json!({"serviceId": "notify-refused"}));
    let failed = worker.wait_for("three refused attempts", Duration::from_secs(20), || {
        let rows = attempts(&worker, "notify-refused");
        (rows.len() >= 3).then_some(rows)
    });
    assert!(failed.iter().all(|r| r["outcome"] == "retrying" && r["httpStatus"].is_null()), "{failed:?}");
    let back = refusing.listen();
    let got = back.wait("refused-hook", 1, Duration::from_secs(20));
    assert_eq!(got[0].json()["event"], "down");
    let rows = worker.wait_for("delivery recorded", Duration::from_secs(20), || {
        let rows = attempts(&worker, "notify-refused");
        (rows.last()?["outcome"] == "delivered").then_some(rows)
    });
    let numbers: Vec<i64> = rows.iter().map(|r| r["attempt"].as_i64().unwrap()).collect();
    assert_eq!(numbers, (1..=i64::try_from(rows.len()).unwrap()).collect::<Vec<_>>());
    thread::sleep(Duration::from_millis(2_500));
    assert_eq!(back.of("refused-hook").len(), 1);
}

#[test]
fn a_restart_in_the_middle_of_retries_loses_nothing_and_sends_nothing_twice() {
    let receiver = Receiver::start();
    receiver.script("restart-hook", &[500]);
    let mut worker = spawn_worker_with(&channel_env(&receiver, &[]));
    worker.beat("notify-restart", &json!({"serviceId": "notify-restart"}));
    receiver.wait("restart-hook", 1, Duration::from_secs(20));
    // Between attempts, not inside one: the first attempt's outcome is stored and written.
    worker.wait_for("attempt 1 recorded", Duration::from_secs(20), || {
        (attempts(&worker, "notify-restart").len() == 1).then_some(())
    });
    worker.stop();
    thread::sleep(Duration::from_millis(1_500));
    assert_eq!(receiver.of("restart-hook").len(), 1, "nothing sent while stopped");
    worker.start();
    let got = receiver.wait("restart-hook", 2, Duration::from_secs(30));
    thread::sleep(Duration::from_millis(3_000));
    let got_after = receiver.of("restart-hook");
    assert_eq!(
        got_after.len(),
        2,
        "one failed attempt, one delivery: {:?}",
        got.iter().map(|r| r.answered).collect::<Vec<_>>()
    );
    let rows = attempts(&worker, "notify-restart");
    assert_eq!(summary(&rows), [(1, json!(500), "retrying".to_owned()), (2, json!(200), "delivered".to_owned())]);
}

#[test]
fn a_runtime_stopped_during_an_attempt_records_it_as_interrupted_and_retries_once() {
    let receiver = Receiver::start();
    // Attempt 1 is still waiting for its answer when the runtime stops.
    receiver.hold("restart-hook", &[Duration::from_secs(4)]);
    let mut worker = spawn_worker_with(&channel_env(&receiver, &[]));
    worker.beat("notify-restart", &json!({"serviceId": "notify-restart"}));
    receiver.wait("restart-hook", 1, Duration::from_secs(20));
    worker.stop();
    worker.start();
    // Its lease (10 s timeout + 5 s) ends; then it is on the record and sent again, once.
    let rows = worker.wait_for("attempt 2 delivered", Duration::from_secs(40), || {
        let rows = attempts(&worker, "notify-restart");
        (rows.last()?["outcome"] == "delivered").then_some(rows)
    });
    assert_eq!(summary(&rows), [(1, json!(null), "retrying".to_owned()), (2, json!(200), "delivered".to_owned())]);
    assert!(rows[0]["error"].as_str().unwrap().starts_with("interrupted"), "{:?}", rows[0]);
    thread::sleep(Duration::from_millis(2_500));
    assert_eq!(receiver.of("restart-hook").len(), 2, "attempt 1 (lost) and attempt 2");
}
