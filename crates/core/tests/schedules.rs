//! Scenario tests of a service on a cron schedule: its deadlines are the schedule's
//! occurrences after the last heartbeat, in its time zone, with exact times.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use systole_core::monitor::{Deadline, Effect, Heartbeat, Monitor, MonitorConfig, Status};
use systole_core::schedule::Schedule;
use systole_core::time::Timestamp;

fn at(rfc: &str) -> Timestamp {
    Timestamp::parse_rfc3339(rfc).unwrap()
}

fn scheduled(expression: &str, zone: &str, grace_s: u64) -> MonitorConfig {
    MonitorConfig {
        staleness_threshold: Duration::from_secs(300),
        grace_period: Duration::from_secs(grace_s),
        enabled: true,
        schedule: Some(Schedule::parse(expression, Some(zone)).unwrap()),
        runs: systole_core::run::RunConfig::default(),
        maintenance: Vec::new(),
        escalation: Vec::new(),
        maintenance_uptime: Default::default(),
    }
}

fn reasons(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::StatusChanged(c) => Some(c.reason.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_missed_nightly_run_goes_late_at_its_time_and_down_after_grace_naming_the_run() {
    let mut m = Monitor::new(scheduled("30 2 * * *", "Europe/Berlin", 600), at("2026-12-01T00:00:00Z"));
    let _ = m.on_heartbeat(at("2026-12-02T02:30:20+01:00"), Heartbeat::default());
    assert_eq!(m.next_deadline(), Some((at("2026-12-03T02:30:00+01:00"), Deadline::Heartbeat)));

    assert!(m.on_alarm(at("2026-12-03T01:29:59.999Z")).is_empty(), "an early alarm is a no-op");
    let late = m.on_alarm(at("2026-12-03T01:30:00Z"));
    assert_eq!(m.status(), Status::Late);
    assert_eq!(
        reasons(&late),
        ["no heartbeat since the run due at 2026-12-03T02:30:00+01:00 (Europe/Berlin); in grace period until \
          2026-12-03T01:40:00.000Z"]
    );
    assert_eq!(m.next_deadline(), Some((at("2026-12-03T01:40:00Z"), Deadline::Grace)));

    assert!(m.on_alarm(at("2026-12-03T01:39:59.999Z")).is_empty());
    let down = m.on_alarm(at("2026-12-03T01:40:00Z"));
    assert_eq!(m.status(), Status::Down);
    assert_eq!(
        reasons(&down),
        ["no heartbeat since the run due at 2026-12-03T02:30:00+01:00 (Europe/Berlin) + 600 s grace"]
    );
    assert_eq!(m.next_deadline(), None);
}

#[test]
fn heartbeats_on_schedule_keep_a_job_up_and_move_the_deadline_to_the_next_run() {
    let mut m = Monitor::new(scheduled("0 9 * * MON-FRI", "America/New_York", 0), at("2026-11-30T00:00:00Z"));
    // Friday 4 December 2026, 09:00:30 EST: the next run is Monday's.
    let _ = m.on_heartbeat(at("2026-12-04T09:00:30-05:00"), Heartbeat::default());
    assert_eq!(m.next_deadline(), Some((at("2026-12-07T09:00:00-05:00"), Deadline::Heartbeat)));
    assert!(m.on_alarm(at("2026-12-07T08:59:59-05:00")).is_empty());
    let _ = m.on_heartbeat(at("2026-12-07T08:59:59-05:00"), Heartbeat::default());
    // A heartbeat just before the run counts for the run due after it.
    assert_eq!(m.next_deadline(), Some((at("2026-12-07T09:00:00-05:00"), Deadline::Heartbeat)));
    let _ = m.on_heartbeat(at("2026-12-07T09:00:02-05:00"), Heartbeat::default());
    assert_eq!(m.next_deadline(), Some((at("2026-12-08T09:00:00-05:00"), Deadline::Heartbeat)));
    assert_eq!(m.status(), Status::Up);
}

#[test]
fn a_run_in_the_skipped_spring_hour_is_due_right_after_the_jump() {
    let mut m = Monitor::new(scheduled("30 2 * * *", "Europe/Berlin", 0), at("2026-03-27T00:00:00Z"));
    let _ = m.on_heartbeat(at("2026-03-28T02:30:05+01:00"), Heartbeat::default());
    assert_eq!(m.next_deadline(), Some((at("2026-03-29T03:00:00+02:00"), Deadline::Heartbeat)));
    let down = m.on_alarm(at("2026-03-29T01:00:00Z"));
    assert_eq!(reasons(&down), ["no heartbeat since the run due at 2026-03-29T03:00:00+02:00 (Europe/Berlin)"]);
}

#[test]
fn a_seconds_schedule_with_no_grace_goes_down_at_the_second() {
    let mut m = Monitor::new(scheduled("*/5 * * * * *", "UTC", 0), at("2026-12-03T10:00:00Z"));
    let _ = m.on_heartbeat(at("2026-12-03T10:00:01.250Z"), Heartbeat::default());
    assert_eq!(m.next_deadline(), Some((at("2026-12-03T10:00:05Z"), Deadline::Heartbeat)));
    let down = m.on_alarm(at("2026-12-03T10:00:05Z"));
    assert_eq!(reasons(&down), ["no heartbeat since the run due at 2026-12-03T10:00:05Z (UTC)"]);
}

#[test]
fn changing_the_schedule_moves_the_deadline() {
    let mut m = Monitor::new(scheduled("0 3 * * *", "UTC", 0), at("2026-12-01T00:00:00Z"));
    let _ = m.on_heartbeat(at("2026-12-03T03:00:10Z"), Heartbeat::default());
    assert_eq!(m.next_deadline(), Some((at("2026-12-04T03:00:00Z"), Deadline::Heartbeat)));
    assert!(m.on_config(at("2026-12-03T04:00:00Z"), scheduled("0 12 * * *", "Asia/Kolkata", 0)).is_empty());
    assert_eq!(m.next_deadline(), Some((at("2026-12-03T12:00:00+05:30"), Deadline::Heartbeat)));
    let period = MonitorConfig { schedule: None, ..scheduled("0 12 * * *", "UTC", 0) };
    assert!(m.on_config(at("2026-12-03T04:00:00Z"), period).is_empty());
    assert_eq!(m.next_deadline(), Some((at("2026-12-03T03:05:10Z"), Deadline::Heartbeat)));
}

#[test]
fn a_stored_monitor_keeps_its_schedule_and_one_stored_before_schedules_loads_without() {
    let mut m = Monitor::new(scheduled("0 0 29 2 *", "Europe/Berlin", 60), at("2026-12-01T00:00:00Z"));
    let _ = m.on_heartbeat(at("2026-12-03T00:00:00Z"), Heartbeat::default());
    let json = serde_json::to_string(&m).unwrap();
    assert!(json.contains(r#""schedule":{"expression":"0 0 29 2 *","timezone":"Europe/Berlin"}"#), "{json}");
    let back: Monitor = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.next_deadline(), Some((at("2028-02-29T00:00:00+01:00"), Deadline::Heartbeat)));

    let before = r#"{"config":{"staleness_threshold":{"secs":60,"nanos":0},"grace_period":{"secs":0,"nanos":0},
        "enabled":true},"state":{"status":"up","statusSince":1,"lastHeartbeat":1000,"lastMessage":null,
        "incident":null,"nextSeq":3}}"#;
    let old: Monitor = serde_json::from_str(before).unwrap();
    assert_eq!(old.config().schedule, None);
    assert_eq!(old.next_deadline(), Some((Timestamp::from_millis(61_000), Deadline::Heartbeat)));
}
