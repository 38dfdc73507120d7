//! Scenario tests of the monitor and its record, with exact deadlines.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

mod support;

use support::{armed_at, history, Harness};
use systole_core::durable::{AlarmAction, Wake, Write};
use systole_core::monitor::{Deadline, Effect, Heartbeat, Monitor, MonitorConfig, Reported, Status};
use systole_core::notify::vocab::Event;
use systole_core::record::{Answer, Input};
use systole_core::time::Timestamp;

const S: i64 = 1_000;

fn config(threshold_s: u64, grace_s: u64) -> MonitorConfig {
    MonitorConfig {
        staleness_threshold: Duration::from_secs(threshold_s),
        grace_period: Duration::from_secs(grace_s),
        enabled: true,
        schedule: None,
        runs: systole_core::run::RunConfig::default(),
        maintenance: Vec::new(),
        escalation: Vec::new(),
        maintenance_uptime: Default::default(),
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
            Effect::IncidentClosed(i) => Some(i.duration(Timestamp::from_millis(0))),
            _ => None,
        })
        .collect()
}

#[test]
fn missed_period_and_grace_goes_down_and_opens_one_incident() {
    let mut m = Monitor::new(config(60, 30), Timestamp::from_millis(0));
    let _ = m.on_heartbeat(Timestamp::from_millis(10 * S), beat(Reported::Up));
    assert_eq!(m.next_deadline(), Some((Timestamp::from_millis(70 * S), Deadline::Heartbeat)));

    assert!(m.on_alarm(Timestamp::from_millis(70 * S - 1)).is_empty(), "an early alarm is a no-op");
    let late = m.on_alarm(Timestamp::from_millis(70 * S));
    assert_eq!(m.status(), Status::Late);
    assert_eq!(opened(&late), 0);
    assert_eq!(m.next_deadline(), Some((Timestamp::from_millis(100 * S), Deadline::Grace)));

    let down = m.on_alarm(Timestamp::from_millis(100 * S));
    assert_eq!(m.status(), Status::Down);
    assert_eq!(opened(&down), 1);
    assert_eq!(m.next_deadline(), None);
    for t in [100, 101, 500] {
        assert!(m.on_alarm(Timestamp::from_millis(t * S)).is_empty(), "repeated alarms change nothing");
    }
}

#[test]
fn a_late_alarm_after_the_grace_period_goes_straight_down() {
    let mut m = Monitor::new(config(60, 30), Timestamp::from_millis(0));
    let _ = m.on_heartbeat(Timestamp::from_millis(0), beat(Reported::Up));
    let effects = m.on_alarm(Timestamp::from_millis(95 * S));
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
    let mut m = Monitor::new(config(60, 30), Timestamp::from_millis(0));
    let _ = m.on_heartbeat(Timestamp::from_millis(0), beat(Reported::Up));
    let _ = m.on_alarm(Timestamp::from_millis(61 * S));
    assert_eq!(m.status(), Status::Late);
    let effects = m.on_heartbeat(Timestamp::from_millis(75 * S), beat(Reported::Up));
    assert_eq!(m.status(), Status::Up);
    assert!(closed(&effects).is_empty() && opened(&effects) == 0);
    assert_eq!(m.next_deadline(), Some((Timestamp::from_millis(135 * S), Deadline::Heartbeat)));
}

#[test]
fn recovery_closes_the_incident_with_its_duration() {
    let mut m = Monitor::new(config(10, 0), Timestamp::from_millis(0));
    let _ = m.on_heartbeat(Timestamp::from_millis(0), beat(Reported::Up));
    let _ = m.on_alarm(Timestamp::from_millis(10 * S));
    assert_eq!(m.status(), Status::Down);
    let effects = m.on_heartbeat(Timestamp::from_millis(70 * S), beat(Reported::Up));
    assert_eq!(closed(&effects), [Duration::from_secs(60)]);
    assert_eq!(m.state().incident, None);
}

#[test]
fn a_reported_down_fails_at_once_and_repeats_do_not_reopen() {
    let mut m = Monitor::new(config(300, 0), Timestamp::from_millis(0));
    let first = m.on_heartbeat(Timestamp::from_millis(S), beat(Reported::Down));
    assert_eq!((m.status(), opened(&first)), (Status::Down, 1));
    let again = m.on_heartbeat(Timestamp::from_millis(2 * S), beat(Reported::Down));
    assert_eq!(opened(&again), 0);
    assert_eq!(m.next_deadline(), None, "no deadline while down");
    let degraded = m.on_heartbeat(Timestamp::from_millis(5 * S), beat(Reported::Degraded));
    assert_eq!(m.status(), Status::Degraded);
    assert_eq!(closed(&degraded), [Duration::from_secs(4)]);
    assert_eq!(m.next_deadline(), Some((Timestamp::from_millis(305 * S), Deadline::Heartbeat)));
}

#[test]
fn disabling_pauses_and_closes_the_incident_and_enabling_waits_for_a_heartbeat() {
    let mut m = Monitor::new(config(10, 0), Timestamp::from_millis(0));
    let _ = m.on_heartbeat(Timestamp::from_millis(0), beat(Reported::Down));
    let paused = m.on_config(Timestamp::from_millis(5 * S), MonitorConfig { enabled: false, ..config(10, 0) });
    assert_eq!(m.status(), Status::Paused);
    assert_eq!(closed(&paused), [Duration::from_secs(5)]);
    let hb = m.on_heartbeat(Timestamp::from_millis(6 * S), beat(Reported::Up));
    assert_eq!((m.status(), hb.len()), (Status::Paused, 1), "recorded, still paused");
    assert_eq!(m.next_deadline(), None);
    let _ = m.on_config(Timestamp::from_millis(7 * S), config(10, 0));
    assert_eq!(m.status(), Status::Unknown);
}

const API: &str = r#"{"services": [{"id": "api", "name": "API", "stalenessThreshold": 60}]}"#;

fn api() -> Harness {
    Harness::new(API, None, "api")
}

#[test]
fn the_record_sets_the_alarm_only_when_it_must_fire_earlier() {
    let mut h = api();
    let first = h.beat(S, Reported::Up);
    assert_eq!(armed_at(&first), Some(Timestamp::from_millis(S)), "status change: flush at once");
    // The alarm fires: flush, then plan the next flush one interval later.
    let outs = h.alarm_all_ok(S);
    assert!(history(&outs[0]).is_some());
    assert_eq!(armed_at(outs.last().unwrap()), Some(Timestamp::from_millis(11 * S)));
    // Heartbeats before then move the deadline later: the armed alarm stays.
    for t in 2..11 {
        assert_eq!(h.beat(t * S, Reported::Up).alarm, AlarmAction::Keep);
    }
    // Idle after the last flush: the alarm goes to the real deadline (last heartbeat + 60 s).
    let _ = h.alarm_all_ok(11 * S);
    let idle = h.alarm_all_ok(21 * S);
    assert_eq!(idle.len(), 1, "nothing to write");
    assert_eq!(idle[0].alarm, AlarmAction::Set(Timestamp::from_millis(70 * S), Wake::Deadline));
}

#[test]
fn a_failed_flush_is_retried_with_backoff_and_nothing_is_lost() {
    let mut h = api();
    let _ = h.beat(S, Reported::Up);
    let alarm = h.alarm(S);
    assert!(history(&alarm).is_some());
    // A heartbeat arrives while D1 is answering; then D1 fails.
    let _ = h.beat(2 * S, Reported::Up);
    let failed = h.answer_writes(2 * S, &alarm, false);
    assert_eq!(failed.alarm, AlarmAction::Set(Timestamp::from_millis(3 * S), Wake::Flush), "retry after 1 s");
    assert_eq!(
        h.record().next_wake(Timestamp::from_millis(2 * S), h.flush_interval).map(|(t, _)| t),
        Some(Timestamp::from_millis(3 * S))
    );
    let retry = h.alarm(3 * S);
    let seqs: Vec<u64> = history(&retry).unwrap().outbox.heartbeats.iter().map(|h| h.seq).collect();
    assert_eq!(seqs, [1, 3], "both heartbeats, in order");
    let _ = h.answer_writes(3 * S, &retry, true);
    assert!(h.record().history.pending.is_empty() && h.record().history.in_flight.is_none());
}

#[test]
fn later_deadlines_do_not_rearm_the_alarm_and_a_spent_alarm_is_set_again() {
    let mut h = api();
    // unknown → up is a status change: flush at once.
    assert_eq!(armed_at(&h.beat(1_000, Reported::Up)), Some(Timestamp::from_millis(1_000)));
    assert_eq!(h.beat(900, Reported::Up).alarm, AlarmAction::Keep);
    // Overdue, but this instance set it: it runs once the object is free.
    assert_eq!(h.beat(1_000, Reported::Up).alarm, AlarmAction::Keep, "heartbeats queued before the alarm");
    let late = 1_000 + systole_core::durable::OVERDUE_TRUSTED_MS + 1;
    assert_eq!(
        armed_at(&h.beat(late, Reported::Up)),
        Some(Timestamp::from_millis(late)),
        "an alarm overdue for longer may have been given up: set again"
    );
}

#[test]
fn steady_traffic_needs_one_alarm_per_flush_interval_and_idle_returns_to_the_deadline() {
    let mut h = api();
    let _ = h.beat(1_000, Reported::Up);
    let first = h.alarm(1_000);
    assert!(first.update.is_none(), "no status change at the alarm");
    assert!(!first.persist, "flush bookkeeping alone is not persisted (replaying a flush writes the same rows)");
    let done = h.answer_writes(1_010, &first, true);
    assert_eq!(armed_at(&done), Some(Timestamp::from_millis(11_000)));
    for t in [3_000, 6_000, 9_000] {
        assert_eq!(h.beat(t, Reported::Up).alarm, AlarmAction::Keep);
    }
    let second = h.alarm(11_000);
    assert_eq!(history(&second).unwrap().outbox.heartbeats.len(), 3);
    assert_eq!(armed_at(&h.answer_writes(11_000, &second, true)), Some(Timestamp::from_millis(21_000)));
    let idle = h.alarm(21_000);
    assert!(history(&idle).is_none());
    assert_eq!(armed_at(&idle), Some(Timestamp::from_millis(69_000)), "idle: the deadline");
}

const CHANNELS: &str = r#"{"channels": [
    {"type": "discord", "name": "ops"},
    {"type": "slack", "name": "team"}
], "settings": {"retry": {"initialSeconds": 1, "maxSeconds": 60, "giveUpAfterMinutes": 60}}}"#;

const DOWN_FAST: &str = r#"{"services": [{"id": "api", "name": "API", "stalenessThreshold": 60, "gracePeriod": 0}]}"#;

#[test]
fn an_alarm_at_the_deadline_sends_exactly_one_down_per_channel_and_arms_the_retry_at_plus_one_second() {
    let mut h = Harness::new(DOWN_FAST, Some(CHANNELS), "api");
    let _ = h.alarm_all_ok(0);
    let _ = h.beat(0, Reported::Up);
    let _ = h.alarm_all_ok(0);
    let down = h.alarm(60 * S);
    assert_eq!(h.record().monitor.status(), Status::Down);
    let sent: Vec<_> = down.sends.iter().map(|s| (s.channel.as_str(), s.notification.event(), s.attempt)).collect();
    assert_eq!(sent, [("ops", Event::Down, 1), ("team", Event::Down, 1)]);
    assert!(down.persist, "the status change and the leases are stored before sending");
    assert_eq!(down.alarm, AlarmAction::Keep, "the sends' completion decides the alarm");
    assert!(down.update.is_some(), "dashboards hear the change");
    // `ops` fails with a 500, `team` takes it.
    let answered = h.answer_sends(60 * S, &down, |c| if c == "ops" { 500 } else { 200 });
    assert!(answered.log.iter().any(|l| l.ends_with("down to ops attempt 1: retrying")), "{:?}", answered.log);
    let written = h.answer_writes(60 * S, &answered, true);
    assert_eq!(written.alarm, AlarmAction::Set(Timestamp::from_millis(61 * S), Wake::Notify), "the retry, 1 s later");
    let retry = h.alarm(61 * S);
    let again: Vec<_> = retry.sends.iter().map(|s| (s.channel.as_str(), s.attempt)).collect();
    assert_eq!(again, [("ops", 2)], "only the failed channel, once");
    let _ = h.answer_sends(61 * S, &retry, |_| 200);
    assert!(h.alarm(90 * S).sends.is_empty(), "a later alarm sends nothing more");
}

#[test]
fn a_heartbeat_handled_while_an_alarm_awaits_d1_arms_a_real_time_never_before_now() {
    let mut h = Harness::new(DOWN_FAST, Some(CHANNELS), "api");
    let _ = h.beat(0, Reported::Up);
    let _ = h.alarm_all_ok(0);
    let down = h.alarm(60 * S);
    let answered = h.answer_sends(60 * S, &down, |_| 500);
    assert!(answered.writes.iter().any(|w| matches!(w, Write::Attempts(_))), "attempt records go to D1");
    // While D1 answers, a heartbeat arrives: the records are unwritten, no retry time is set.
    let beat = h.beat(60 * S + 500, Reported::Up);
    assert_eq!(
        beat.alarm,
        AlarmAction::Set(Timestamp::from_millis(60 * S + 500), Wake::Flush),
        "overdue work: at once, not at 0"
    );
    assert!(beat.sends.is_empty() && beat.writes.is_empty(), "a heartbeat never waits for channels or D1");
    // D1 answers; the recovery's `up` is due at once, and the alarm the heartbeat set (at
    // 60.5 s, overdue) runs it once this alarm's chain ends: not set again.
    let done = h.answer_writes(60 * S + 600, &answered, true);
    assert_eq!(done.alarm, AlarmAction::Keep);
    assert_eq!(h.record().armed.at(), Some(Timestamp::from_millis(60 * S + 500)));
    let next = h.alarm(60 * S + 600);
    let ups: Vec<_> = next.sends.iter().map(|s| (s.channel.as_str(), s.notification.event())).collect();
    assert_eq!(ups, [("ops", Event::Up), ("team", Event::Up)], "the recovery goes out; the downs retry later");
}

#[test]
fn a_deadline_passing_while_an_alarm_awaits_a_hanging_receiver_is_detected_on_time() {
    let mut h = Harness::new(DOWN_FAST, Some(CHANNELS), "api");
    let _ = h.beat(0, Reported::Up);
    let _ = h.alarm_all_ok(0);
    let down = h.alarm(60 * S);
    assert_eq!(down.sends.len(), 2, "the downs are in flight; a receiver hangs up to the 10 s timeout");
    // A heartbeat recovers the service meanwhile, then its next deadline (61 s + 60 s) passes
    // while the alarm still awaits the receivers.
    let _ = h.beat(61 * S, Reported::Up);
    assert_eq!(h.record().deadline(), Some(Timestamp::from_millis(121 * S)));
    let check = h.event(121 * S, Input::Deadline);
    assert_eq!(h.record().monitor.status(), Status::Down, "detected at the deadline, not when the receiver answers");
    assert!(check.persist && check.update.is_some(), "stored and published at once");
    assert!(check.sends.is_empty() && check.writes.is_empty(), "nothing started beside the running alarm");
    assert_eq!(check.alarm, AlarmAction::Keep, "the running alarm's completion arms");
    // The receivers answer at 130 s: the changes (the second down at 121 s) are written and the
    // alarm is armed at once for what was queued meanwhile.
    let answered = h.answer_sends(130 * S, &down, |_| 200);
    let changes: Vec<_> = history(&answered).unwrap().outbox.changes.iter().map(|c| (c.to, c.at)).collect();
    assert_eq!(
        changes,
        [
            (Status::Down, Timestamp::from_millis(60 * S)),
            (Status::Up, Timestamp::from_millis(61 * S)),
            (Status::Down, Timestamp::from_millis(121 * S))
        ]
    );
    let written = h.answer_writes(130 * S, &answered, true);
    assert_eq!(written.alarm, AlarmAction::Set(Timestamp::from_millis(130 * S), Wake::Notify));
    let next = h.alarm(130 * S);
    let sent: Vec<_> = next.sends.iter().map(|s| (s.channel.as_str(), s.notification.event())).collect();
    assert_eq!(sent, [("ops", Event::Up), ("team", Event::Up)], "the recovery goes out from the next alarm");
}

#[test]
fn a_wrong_key_or_an_unknown_service_is_refused_and_creates_nothing() {
    let mut h = api();
    let heartbeat = Heartbeat::default();
    let wrong = h.event(S, Input::Heartbeat { heartbeat: heartbeat.clone(), key: Some("wrong".into()) });
    assert_eq!((wrong.answer, wrong.persist), (Answer::Unauthorized, false));
    assert!(h.slot.is_none());
    h.id = "ghost".into();
    let unknown = h.event(S, Input::Heartbeat { heartbeat, key: Some(support::KEY.into()) });
    assert_eq!(unknown.answer, Answer::Unauthorized);
    assert!(h.slot.is_none());
}

#[test]
fn a_flood_past_the_service_rate_is_refused_without_storing_or_changing_anything() {
    use systole_core::limit::SERVICE_HEARTBEATS;
    let mut h = api();
    let burst = SERVICE_HEARTBEATS.burst;
    for i in 0..burst {
        let out = h.beat(S, Reported::Up);
        assert!(matches!(out.answer, Answer::Accepted { .. }), "heartbeat {i} of the burst");
    }
    let stored = h.record().clone();
    for _ in 0..50 {
        let out = h.beat(S, Reported::Down);
        assert_eq!(out.answer, Answer::Limited(SERVICE_HEARTBEATS.interval));
        assert!(!out.persist && out.update.is_none() && out.alarm == AlarmAction::Keep && out.sends.is_empty());
    }
    assert_eq!(h.record(), &stored, "refused heartbeats change nothing, not even the reported status");
    // One interval later the next heartbeat is recorded again; the service was up throughout.
    let ms = S + i64::try_from(SERVICE_HEARTBEATS.interval.as_millis()).unwrap();
    assert!(matches!(h.beat(ms, Reported::Up).answer, Answer::Accepted { status: Status::Up, .. }));
}

#[test]
fn the_watchdog_rearms_a_lost_alarm_and_names_the_wake_time() {
    let mut h = api();
    assert_eq!(h.event(S, Input::Watchdog { alarm_held: false }).answer, Answer::WakeAt(None), "no record yet");
    let _ = h.beat(S, Reported::Up);
    let _ = h.alarm_all_ok(S);
    let _ = h.alarm_all_ok(11 * S);
    let held = h.event(12 * S, Input::Watchdog { alarm_held: true });
    assert_eq!((held.answer, held.alarm), (Answer::WakeAt(Some(Timestamp::from_millis(61 * S))), AlarmAction::Keep));
    let lost = h.event(13 * S, Input::Watchdog { alarm_held: false });
    assert_eq!(lost.alarm, AlarmAction::Set(Timestamp::from_millis(61 * S), Wake::Deadline));
    h.id = "ghost".into();
    assert_eq!(h.event(14 * S, Input::Watchdog { alarm_held: false }).answer, Answer::UnknownService);
}

#[test]
fn a_service_removed_from_the_config_writes_what_it_buffered_then_sleeps() {
    let mut h = api();
    let _ = h.beat(S, Reported::Up);
    h.config =
        systole_core::config::Config::parse(Some(r#"{"services": [{"id": "other", "name": "O"}]}"#), None).unwrap();
    let alarm = h.alarm(2 * S);
    assert!(history(&alarm).is_some(), "what it buffered is written");
    let failed = h.answer_writes(2 * S, &alarm, false);
    assert_eq!(failed.alarm, AlarmAction::Set(Timestamp::from_millis(3 * S), Wake::Flush), "retried");
    let retry = h.alarm(3 * S);
    let done = h.answer_writes(3 * S, &retry, true);
    assert_eq!(done.alarm, AlarmAction::Keep);
    assert!(done.log.iter().any(|l| l.contains("no longer configured")));
}

/// healthchecks.io: a first ping of a new check and a ping that ends a pause notify no one
/// (its `Flip.select_channels` skips new → up and paused → up). A service paused while down
/// and resumed: its next heartbeat's `up` is no recovery notice.
#[test]
fn a_first_heartbeat_and_the_one_after_a_pause_send_nothing() {
    let mut h = Harness::new(DOWN_FAST, Some(CHANNELS), "api");
    let first = h.beat(0, Reported::Up);
    assert_eq!(h.record().monitor.status(), Status::Up);
    assert!(first.sends.is_empty() && h.alarm_all_ok(0).iter().all(|o| o.sends.is_empty()), "new → up: silent");
    let down = h.alarm(60 * S);
    assert_eq!(down.sends.len(), 2, "the down goes out");
    let _ = h.answer_sends(60 * S, &down, |_| 200);
    // Paused while down (monitoring disabled), then resumed: unknown until a heartbeat.
    h.config = systole_core::config::Config::parse(
        Some(r#"{"services": [{"id": "api", "name": "API", "stalenessThreshold": 60, "gracePeriod": 0, "enabled": false}]}"#),
        None,
    )
    .unwrap();
    let paused = h.event(70 * S, Input::Watchdog { alarm_held: true });
    assert_eq!(h.record().monitor.status(), Status::Paused);
    assert!(paused.sends.is_empty());
    h.config = systole_core::config::Config::parse(Some(DOWN_FAST), None).unwrap();
    let _ = h.event(80 * S, Input::Watchdog { alarm_held: true });
    assert_eq!(h.record().monitor.status(), Status::Unknown);
    let back = h.beat(400 * S, Reported::Up);
    assert_eq!(h.record().monitor.status(), Status::Up);
    let mut sent: Vec<Event> = back.sends.iter().map(|s| s.notification.event()).collect();
    for out in h.alarm_all_ok(400 * S) {
        sent.extend(out.sends.iter().map(|s| s.notification.event()));
    }
    assert_eq!(sent, [], "paused → up: no recovery notice");
    // The next outage (past the 5-minute cooldown) is told again.
    let again = h.alarm(460 * S);
    assert_eq!(again.sends.iter().map(|s| s.notification.event()).collect::<Vec<_>>(), [Event::Down, Event::Down]);
}
