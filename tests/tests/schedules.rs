//! A service on a cron schedule in the real Worker (`job-5s`: `*/5 * * * * *`, 2 s grace, in
//! UTC): its deadline is the schedule's next run after the last heartbeat; without a
//! heartbeat it goes `late` at that run and `down` 2 s later, the reasons naming the run;
//! heartbeats after each run keep it from ever going `down`. `/api/v1/services` shows the
//! schedule, its words and its next run.
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use systole_core::time::{Timestamp, Zone};
use systole_e2e::{ms, now_ms, spawn_worker};

/// The schedule's first run (a multiple of 5 s) strictly after `t` (epoch ms), at whole
/// seconds as cron counts.
fn next_run(t: i64) -> i64 {
    (t.div_euclid(1000) / 5 + 1) * 5_000
}

fn run_text(t: i64) -> String {
    Timestamp::from_millis(t).rfc3339_in(&Zone::utc())
}

/// `(from, to, at, reason)` of each recorded status change.
fn changes(rows: &[Value]) -> Vec<(String, String, i64, String)> {
    rows.iter()
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap().to_owned();
            (text("from_status"), text("to_status"), c["changed_at"].as_i64().unwrap(), text("reason"))
        })
        .collect()
}

#[test]
fn a_missed_run_goes_late_at_its_time_and_down_when_the_grace_ends() {
    let worker = spawn_worker();
    let accepted = worker.beat("job-5s", &json!({"serviceId": "job-5s"})).json();
    let received = ms(&accepted["receivedAt"]);
    let due = next_run(received);
    assert_eq!(ms(&accepted["nextDeadline"]), due, "the next run after the heartbeat: {accepted}");

    worker.wait_for_status("job-5s", "down", Duration::from_secs(20));
    let got = changes(&worker.status_changes("job-5s", 3));
    let [(_, up, _, _), (_, late, late_at, late_why), (_, down, down_at, down_why)] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!((up.as_str(), late.as_str(), down.as_str()), ("up", "late", "down"));
    assert!((due..due + 1_500).contains(late_at), "late {} ms after the run", late_at - due);
    assert!((due + 2_000..due + 3_500).contains(down_at), "down {} ms after the run", down_at - due);
    let run = run_text(due);
    assert!(
        late_why.starts_with(&format!("no heartbeat since the run due at {run} (UTC); in grace period")),
        "{late_why}"
    );
    assert_eq!(down_why, &format!("no heartbeat since the run due at {run} (UTC) + 2 s grace"));
    let incident = &worker.get("/api/v1/incidents?serviceId=job-5s").json()["incidents"][0];
    assert_eq!(incident["cause"], down_why.as_str());
}

#[test]
fn a_heartbeat_after_every_run_never_lets_the_job_go_down() {
    let worker = spawn_worker();
    let mut runs = Vec::new();
    for _ in 0..3 {
        // Half a second after a run, as a job that pings when it finishes.
        let run = next_run(now_ms());
        thread::sleep(Duration::from_millis(u64::try_from(run + 500 - now_ms()).unwrap_or(0)));
        let accepted = worker.beat("job-5s", &json!({"serviceId": "job-5s"})).json();
        assert_eq!(accepted["status"], "up", "{accepted}");
        assert!(ms(&accepted["receivedAt"]) < run + 2_000, "sent inside the grace: {accepted}");
        assert_eq!(ms(&accepted["nextDeadline"]), next_run(ms(&accepted["receivedAt"])));
        runs.push(run);
    }
    // The first heartbeat's service was unknown; each later run passed before its
    // heartbeat: late at the run, up with the heartbeat, never down.
    let got = changes(&worker.status_changes("job-5s", 5));
    let kinds: Vec<(&str, &str)> = got.iter().take(5).map(|(f, t, _, _)| (f.as_str(), t.as_str())).collect();
    assert_eq!(kinds, [("unknown", "up"), ("up", "late"), ("late", "up"), ("up", "late"), ("late", "up")]);
    for (i, run) in runs.iter().skip(1).enumerate() {
        let late_at = got[1 + 2 * i].2;
        assert!((*run..run + 500).contains(&late_at), "late {} ms after the run", late_at - run);
    }
    // Only once the beats stop (after the last one's run and grace) may it go down.
    let last_due = runs.last().unwrap() + 5_000;
    let incidents = worker.get("/api/v1/incidents?serviceId=job-5s").json();
    for i in incidents["incidents"].as_array().unwrap() {
        assert!(ms(&i["startedAt"]) >= last_due + 2_000, "{incidents}");
    }
}

#[test]
fn the_services_api_shows_the_schedule_in_words_and_the_next_run_in_the_zone_and_utc() {
    let worker = spawn_worker();
    let list = worker.get("/api/v1/services?serviceId=job-5s,job-nightly").json();
    let [job, nightly] = &list["services"].as_array().unwrap()[..] else { panic!("{list}") };
    let before = now_ms();
    assert_eq!(
        (&job["schedule"], &job["timezone"], &job["scheduleText"]),
        (&json!("*/5 * * * * *"), &json!("UTC"), &json!("every 5 seconds"))
    );
    let next = ms(&job["nextExpectedAt"]);
    assert_eq!(next % 5_000, 0, "{job}");
    assert!((before - 6_000..before + 6_000).contains(&next), "{job}");
    assert_eq!(job["nextExpectedLocal"], run_text(next));

    assert_eq!(
        (&nightly["schedule"], &nightly["timezone"], &nightly["scheduleText"], &nightly["gracePeriod"]),
        (&json!("30 2 * * *"), &json!("Europe/Berlin"), &json!("every day at 02:30"), &json!(600))
    );
    let next = ms(&nightly["nextExpectedAt"]);
    let local = nightly["nextExpectedLocal"].as_str().unwrap();
    assert!(local.contains("T02:30:00+01:00") || local.contains("T02:30:00+02:00"), "{local}");
    assert_eq!(Timestamp::parse_rfc3339(local).unwrap().as_millis(), next);
    assert!((0..=86_400_000 + 3_600_000).contains(&(next - before)), "{nightly}");

    let periodic = worker.get("/api/v1/services?serviceId=fast").json();
    assert!(periodic["services"][0].get("schedule").is_none(), "{periodic}");
}
