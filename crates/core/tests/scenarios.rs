//! Scenario tests of the monitor and its record, with exact deadlines.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use systole_core::config::ServiceId;
use systole_core::monitor::{Deadline, Effect, Heartbeat, Monitor, MonitorConfig, Reported, Status};
use systole_core::record::{AlarmAction, ServiceRecord};
use systole_core::time::Timestamp;

const S: i64 = 1_000;

fn config(threshold_s: u64, grace_s: u64) -> MonitorConfig {
    MonitorConfig {
        staleness_threshold: Duration::from_secs(threshold_s),
        grace_period: Duration::from_secs(grace_s),
        enabled: true,
    }
}

fn beat(reported: Reported) -> Heartbeat {
    Heartbeat { reported, ..Heartbeat::default() }
}

fn opened(effects: &[Effect]) -> usize {
    effects.iter().filter(|e| matches!(e, Effect::IncidentOpened(_))).count()
}

fn closed(effects: &[Effect]) -> Vec<Duration> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::IncidentClosed(i) => Some(i.duration(Timestamp(0))),
            _ => None,
        })
        .collect()
}

#[test]
fn missed_period_and_grace_goes_down_and_opens_one_incident() {
    let mut m = Monitor::new(config(60, 30), Timestamp(0));
    let _ = m.on_heartbeat(Timestamp(10 * S), beat(Reported::Up));
    assert_eq!(m.next_deadline(), Some((Timestamp(70 * S), Deadline::Heartbeat)));

    assert!(m.on_alarm(Timestamp(70 * S - 1)).is_empty(), "an early alarm is a no-op");
    let late = m.on_alarm(Timestamp(70 * S));
    assert_eq!(m.status(), Status::Late);
    assert_eq!(opened(&late), 0);
    assert_eq!(m.next_deadline(), Some((Timestamp(100 * S), Deadline::Grace)));

    let down = m.on_alarm(Timestamp(100 * S));
    assert_eq!(m.status(), Status::Down);
    assert_eq!(opened(&down), 1);
    assert_eq!(m.next_deadline(), None);
    for t in [100, 101, 500] {
        assert!(m.on_alarm(Timestamp(t * S)).is_empty(), "repeated alarms change nothing");
    }
}

#[test]
fn a_late_alarm_after_the_grace_period_goes_straight_down() {
    let mut m = Monitor::new(config(60, 30), Timestamp(0));
    let _ = m.on_heartbeat(Timestamp(0), beat(Reported::Up));
    let effects = m.on_alarm(Timestamp(95 * S));
    assert_eq!(m.status(), Status::Down);
    assert_eq!(opened(&effects), 1);
    let change = effects.iter().find_map(|e| match e {
        Effect::StatusChanged(c) => Some(c.clone()),
        _ => None,
    });
    assert_eq!(change.unwrap().reason, "no heartbeat within 60 s + 30 s grace");
}

#[test]
fn a_heartbeat_inside_grace_returns_to_up_without_an_incident() {
    let mut m = Monitor::new(config(60, 30), Timestamp(0));
    let _ = m.on_heartbeat(Timestamp(0), beat(Reported::Up));
    let _ = m.on_alarm(Timestamp(61 * S));
    assert_eq!(m.status(), Status::Late);
    let effects = m.on_heartbeat(Timestamp(75 * S), beat(Reported::Up));
    assert_eq!(m.status(), Status::Up);
    assert!(closed(&effects).is_empty() && opened(&effects) == 0);
    assert_eq!(m.next_deadline(), Some((Timestamp(135 * S), Deadline::Heartbeat)));
}

#[test]
fn recovery_closes_the_incident_with_its_duration() {
    let mut m = Monitor::new(config(10, 0), Timestamp(0));
    let _ = m.on_heartbeat(Timestamp(0), beat(Reported::Up));
    let _ = m.on_alarm(Timestamp(10 * S));
    assert_eq!(m.status(), Status::Down);
    let effects = m.on_heartbeat(Timestamp(70 * S), beat(Reported::Up));
    assert_eq!(closed(&effects), [Duration::from_secs(60)]);
    assert_eq!(m.state().incident, None);
}

#[test]
fn a_reported_down_fails_at_once_and_repeats_do_not_reopen() {
    let mut m = Monitor::new(config(300, 0), Timestamp(0));
    let first = m.on_heartbeat(Timestamp(S), beat(Reported::Down));
    assert_eq!((m.status(), opened(&first)), (Status::Down, 1));
    let again = m.on_heartbeat(Timestamp(2 * S), beat(Reported::Down));
    assert_eq!(opened(&again), 0);
    assert_eq!(m.next_deadline(), None, "no deadline while down");
    let degraded = m.on_heartbeat(Timestamp(5 * S), beat(Reported::Degraded));
    assert_eq!(m.status(), Status::Degraded);
    assert_eq!(closed(&degraded), [Duration::from_secs(4)]);
    assert_eq!(m.next_deadline(), Some((Timestamp(305 * S), Deadline::Heartbeat)));
}

#[test]
fn disabling_pauses_and_closes_the_incident_and_enabling_waits_for_a_heartbeat() {
    let mut m = Monitor::new(config(10, 0), Timestamp(0));
    let _ = m.on_heartbeat(Timestamp(0), beat(Reported::Down));
    let paused = m.on_config(Timestamp(5 * S), MonitorConfig { enabled: false, ..config(10, 0) });
    assert_eq!(m.status(), Status::Paused);
    assert_eq!(closed(&paused), [Duration::from_secs(5)]);
    let hb = m.on_heartbeat(Timestamp(6 * S), beat(Reported::Up));
    assert_eq!((m.status(), hb.len()), (Status::Paused, 1), "recorded, still paused");
    assert_eq!(m.next_deadline(), None);
    let _ = m.on_config(Timestamp(7 * S), config(10, 0));
    assert_eq!(m.status(), Status::Unknown);
}

#[test]
fn the_record_sets_the_alarm_only_when_it_must_fire_earlier() {
    let flush = Duration::from_secs(10);
    let mut r = ServiceRecord::new(ServiceId::parse("api").unwrap(), config(60, 0), Timestamp(0));
    let _ = r.on_heartbeat(Timestamp(S), beat(Reported::Up)).unwrap();
    assert_eq!(r.rearm(Timestamp(S), flush), AlarmAction::Set(Timestamp(S)), "status change: flush at once");
    // The alarm fires: flush, then plan the next flush one interval later.
    let _ = r.on_alarm(Timestamp(S));
    let batch = r.begin_flush(Timestamp(S)).unwrap();
    r.finish_flush(Timestamp(S), &batch, true);
    assert_eq!(r.rearm(Timestamp(S), flush), AlarmAction::Set(Timestamp(11 * S)));
    // Heartbeats before then move the deadline later: the armed alarm stays.
    for t in 2..11 {
        let _ = r.on_heartbeat(Timestamp(t * S), beat(Reported::Up)).unwrap();
        assert_eq!(r.rearm(Timestamp(t * S), flush), AlarmAction::Keep);
    }
    // Idle after the last flush: the alarm goes to the real deadline (last heartbeat + 60 s).
    let _ = r.on_alarm(Timestamp(11 * S));
    let batch = r.begin_flush(Timestamp(11 * S)).unwrap();
    r.finish_flush(Timestamp(11 * S), &batch, true);
    let _ = r.rearm(Timestamp(11 * S), flush);
    let _ = r.on_alarm(Timestamp(21 * S));
    assert!(r.begin_flush(Timestamp(21 * S)).is_none());
    assert_eq!(r.rearm(Timestamp(21 * S), flush), AlarmAction::Set(Timestamp(70 * S)));
}

#[test]
fn a_failed_flush_is_retried_with_backoff_and_nothing_is_lost() {
    let flush = Duration::from_secs(10);
    let mut r = ServiceRecord::new(ServiceId::parse("api").unwrap(), config(60, 0), Timestamp(0));
    let _ = r.on_heartbeat(Timestamp(S), beat(Reported::Up)).unwrap();
    let _ = r.on_alarm(Timestamp(S));
    let batch = r.begin_flush(Timestamp(S)).unwrap();
    // A heartbeat arrives while D1 is answering; then D1 fails.
    let _ = r.on_heartbeat(Timestamp(2 * S), beat(Reported::Up)).unwrap();
    r.finish_flush(Timestamp(2 * S), &batch, false);
    assert_eq!(r.next_wake(flush).map(|(t, _)| t), Some(Timestamp(3 * S)), "retry after 1 s");
    let retry = r.begin_flush(Timestamp(3 * S)).unwrap();
    let seqs: Vec<u64> = retry.outbox.heartbeats.iter().map(|h| h.seq).collect();
    assert_eq!(seqs, [1, 3], "both heartbeats, in order");
    r.finish_flush(Timestamp(3 * S), &retry, true);
    assert!(r.history.pending.is_empty() && r.history.in_flight.is_none());
}
