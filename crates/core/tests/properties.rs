//! Property tests: random heartbeat/alarm sequences against a simple reference model.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

mod support;

use proptest::prelude::*;
use systole_core::durable::{AlarmAction, Attempted, Completed};
use systole_core::history::Rollups;
use systole_core::monitor::{Effect, Heartbeat, Monitor, MonitorConfig, Reported, Status};
use systole_core::notify::queue::Outcome as SendOutcome;
use systole_core::record::ServiceRecord;
use systole_core::record::{Input, ServiceOutcome};
use systole_core::time::Timestamp;

#[derive(Clone, Debug)]
enum Op {
    Wait(i64),
    Beat(Reported),
    Alarm,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0i64..120_000).prop_map(Op::Wait),
        prop_oneof![Just(Reported::Up), Just(Reported::Degraded), Just(Reported::Down)].prop_map(Op::Beat),
        Just(Op::Alarm),
    ]
}

/// What a record must hold after a restart: the monitor, unflushed changes and incidents, the
/// heartbeat numbering, the heartbeat counts of the tallies, notifications.
fn durable(rec: &ServiceRecord) -> String {
    let mut history = rec.history.clone();
    history.unflight();
    let counts = |m: &std::collections::BTreeMap<i64, systole_core::history::Tally>| -> Vec<(i64, i64)> {
        m.iter().filter(|(_, t)| t.heartbeats > 0).map(|(k, t)| (*k, t.heartbeats)).collect()
    };
    format!(
        "{:?}\n{:?}\n{:?}\n{}\n{:?}\n{:?}\n{:?}",
        rec.monitor,
        history.pending.changes,
        history.pending.incidents,
        history.recorded,
        counts(&history.rollups.daily),
        rec.notifier,
        rec.deliveries,
    )
}

/// The reference model: status from the last report and how long ago it came.
fn expected(last: Option<(i64, Reported)>, alarm_at: i64, threshold: i64, grace: i64, before: Status) -> Status {
    match (before, last) {
        (Status::Down | Status::Unknown, _) | (_, None) => before,
        (_, Some((at, _))) if alarm_at >= at + threshold + grace => Status::Down,
        (_, Some((at, _))) if alarm_at >= at + threshold => Status::Late,
        _ => before,
    }
}

proptest! {
    #[test]
    fn the_monitor_matches_the_reference_model(
        threshold in 10i64..100, grace in 0i64..60, ops in proptest::collection::vec(op(), 1..80)
    ) {
        let cfg = MonitorConfig {
            staleness_threshold: Duration::from_secs(threshold as u64),
            grace_period: Duration::from_secs(grace as u64),
            enabled: true,
            schedule: None,
            runs: systole_core::run::RunConfig::default(),
            maintenance: Vec::new(),
            escalation: Vec::new(),
            maintenance_uptime: Default::default(),
        };
        let mut m = Monitor::new(cfg, Timestamp::from_millis(0));
        let mut now = 0i64;
        let mut last: Option<(i64, Reported)> = None;
        let mut open = false;
        for op in ops {
            let before = m.status();
            let effects = match op {
                Op::Wait(ms) => { now += ms; continue; }
                Op::Beat(r) => {
                    last = Some((now, r));
                    let e = m.on_heartbeat(Timestamp::from_millis(now), Heartbeat { reported: r, ..Heartbeat::default() });
                    let want = match r { Reported::Up => Status::Up, Reported::Degraded => Status::Degraded, Reported::Down => Status::Down };
                    prop_assert_eq!(m.status(), want, "a fresh heartbeat decides the status");
                    e
                }
                Op::Alarm => {
                    let e = m.on_alarm(Timestamp::from_millis(now));
                    let want = expected(last, now, threshold * 1000, grace * 1000, before);
                    prop_assert_eq!(m.status(), want);
                    e
                }
            };
            // Every down opens exactly one incident; every recovery closes it.
            let opens = effects.iter().filter(|e| matches!(e, Effect::IncidentOpened(_))).count();
            let closes = effects.iter().filter(|e| matches!(e, Effect::IncidentClosed(_))).count();
            let entered_down = before != Status::Down && m.status() == Status::Down;
            let left_down = before == Status::Down && m.status() != Status::Down;
            prop_assert_eq!(opens, usize::from(entered_down));
            prop_assert_eq!(closes, usize::from(left_down));
            if entered_down { prop_assert!(!open); open = true; }
            if left_down { prop_assert!(open); open = false; }
            prop_assert_eq!(m.state().incident.is_some(), open);
            if let Some((deadline, _)) = m.next_deadline() {
                prop_assert!(deadline.as_millis() >= last.unwrap().0 + threshold * 1000);
            }
        }
    }

    #[test]
    fn rollups_account_for_every_monitored_millisecond(
        steps in proptest::collection::vec((1i64..400_000_000, 0usize..7), 1..40)
    ) {
        let mut r = Rollups::default();
        let start = 1_700_000_000_000i64;
        r.accrue(Timestamp::from_millis(start), Status::Unknown);
        let mut t = start;
        let mut monitored = 0i64;
        for (dt, s) in steps {
            let status = Status::ALL[s];
            t += dt;
            r.accrue(Timestamp::from_millis(t), status);
            if !matches!(status, Status::Unknown | Status::Paused | Status::Maintenance) { monitored += dt; }
        }
        let daily: i64 = r.daily.values().map(|t| t.monitored_ms()).sum();
        prop_assert_eq!(daily, monitored);
    }

    #[test]
    fn a_record_survives_a_restart_at_any_point(ops in proptest::collection::vec(op(), 1..60)) {
        // The state row and the event rows, as stored from the outcomes, load back to the
        // same record: everything but what is kept in memory only (the limiter, an alarm
        // decision, a failed flush's backoff and time accrued for a flush that failed).
        let services = r#"{"services": [{"id": "svc", "name": "S", "stalenessThreshold": 30, "gracePeriod": 0}]}"#;
        let mut h = support::Harness::new(services, None, "svc");
        h.flush_interval = Duration::from_secs(1);
        let mut now = 0;
        for op in ops {
            match op {
                Op::Wait(ms) => now += ms,
                Op::Beat(r) => { let _ = h.beat(now, r); }
                Op::Alarm => {
                    let alarm = h.alarm(now);
                    let _ = h.answer_writes(now, &alarm, now % 3 != 0);
                }
            }
            let Some(rec) = &h.slot else { continue };
            let mut reloaded = h.reloaded().unwrap();
            // A record stored before a write-through's rollups may still hold buckets D1
            // already has in full: the next flush writes them again, the same totals.
            if let Some(written) = rec.history.rollups_written_until {
                let (live, r) = (&rec.history.rollups, &mut reloaded.history.rollups);
                let w = written.as_millis();
                prop_assert!(r.daily.keys().all(|k| live.daily.contains_key(k) || k + 86_400_000 <= w));
                r.daily.retain(|k, _| live.daily.contains_key(k));
            }
            prop_assert_eq!(durable(&reloaded), durable(rec));
            // Every unflushed heartbeat is buffered again; a flush whose position no row
            // carries yet is written again (insert-or-ignore).
            let (mut a, mut b) = (reloaded.history.clone(), rec.history.clone());
            a.unflight();
            b.unflight();
            prop_assert!(a.flushed <= b.flushed);
            prop_assert!(a.pending.heartbeats.ends_with(&b.pending.heartbeats));
            prop_assert_eq!(a.pending.heartbeats.len() as u64, a.recorded - a.flushed);
        }
    }

    #[test]
    fn no_deadline_is_ever_left_without_an_alarm(ops in proptest::collection::vec(op(), 1..80)) {
        // The runtime's one alarm, as the shell sets it from the outcomes; it fires only when
        // due, and work an alarm starts (sends, D1 writes) completes later, interleaved with
        // heartbeats.
        let services = r#"{"services": [{"id": "svc", "name": "S", "stalenessThreshold": 30, "gracePeriod": 5}]}"#;
        let channels = r#"{"channels": [{"type": "discord", "name": "ops"}], "settings": {"cooldownMinutes": 1}}"#;
        let mut h = support::Harness::new(services, Some(channels), "svc");
        let mut now = 1_700_000_000_000i64;
        let mut runtime: Option<i64> = None;
        let mut waiting: Vec<ServiceOutcome> = Vec::new();
        for op in ops {
            let out = match op {
                Op::Wait(ms) => { now += ms; continue; }
                Op::Beat(r) => h.beat(now, r),
                Op::Alarm => match (waiting.pop(), runtime) {
                    (Some(w), _) if !w.sends.is_empty() => h.answer_sends(now, &w, |_| if now % 2 == 0 { 200 } else { 503 }),
                    (Some(w), _) => h.answer_writes(now, &w, now % 3 != 0),
                    (None, Some(at)) => {
                        now = now.max(at);
                        runtime = None;
                        h.alarm(now)
                    }
                    (None, None) => continue,
                },
            };
            if let AlarmAction::Set(at, _) = out.alarm {
                prop_assert!(at >= Timestamp::from_millis(now), "alarm at {:?} before the event at {}", at, now);
                runtime = Some(at.as_millis());
            }
            if out.awaits() {
                prop_assert!(!matches!(out.answer, systole_core::record::Answer::Accepted { .. }), "a heartbeat waited");
                waiting.push(out);
            }
            if !waiting.is_empty() { continue; }
            if let Some(rec) = &h.slot {
                if let Some((wanted, _)) = rec.next_wake(Timestamp::from_millis(now), h.flush_interval) {
                    let wanted = wanted.as_millis().max(now);
                    prop_assert!(runtime.is_some_and(|a| a <= wanted), "wants {} but the alarm is {:?}", wanted, runtime);
                }
            }
        }
    }
}

/// One event in the life of a ServiceMonitor as the runtime delivers them: time passing,
/// heartbeats, its alarm (on time, early or late), the watchdog, and the completion of the
/// effects an earlier event started, with any result, at any point in between.
#[derive(Clone, Debug)]
enum Event {
    Wait(i64),
    Beat(Reported),
    Alarm {
        early_by: i64,
    },
    /// The monitor's deadline, checked while an alarm awaits its sends.
    Deadline,
    Watchdog {
        alarm_held: bool,
    },
    Sent {
        status: u16,
        retry_after: Option<u64>,
        network: bool,
    },
    Written {
        ok: bool,
    },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        3 => (0i64..200_000).prop_map(Event::Wait),
        3 => prop_oneof![Just(Reported::Up), Just(Reported::Degraded), Just(Reported::Down)].prop_map(Event::Beat),
        3 => prop_oneof![Just(0i64), 0i64..5_000].prop_map(|early_by| Event::Alarm { early_by }),
        1 => any::<bool>().prop_map(|alarm_held| Event::Watchdog { alarm_held }),
        2 => Just(Event::Deadline),
        3 => (prop_oneof![Just(200u16), Just(204), Just(400), Just(429), Just(500), Just(503)],
              proptest::option::of(0u64..100_000), any::<bool>())
            .prop_map(|(status, retry_after, network)| Event::Sent { status, retry_after, network }),
        3 => any::<bool>().prop_map(|ok| Event::Written { ok }),
    ]
}

proptest! {
    #[test]
    fn every_alarm_the_core_asks_for_is_a_valid_absolute_time_not_before_now(
        start in 1i64..4_102_444_800_000,
        threshold in 30u64..600,
        grace in 0u64..120,
        channels in 1usize..4,
        cooldown in 0u64..3,
        initial in 1u64..30,
        give_up in 30u64..120,
        events in proptest::collection::vec(event(), 1..120),
    ) {
        let services = format!(
            r#"{{"services": [{{"id": "svc", "name": "S", "stalenessThreshold": {threshold}, "gracePeriod": {grace}}}]}}"#
        );
        let list: Vec<String> =
            (0..channels).map(|i| format!(r#"{{"type": "webhook", "name": "hook-{i}"}}"#)).collect();
        let notifications = format!(
            r#"{{"channels": [{}], "settings": {{"cooldownMinutes": {cooldown},
                "retry": {{"initialSeconds": {initial}, "maxSeconds": {}, "giveUpAfterMinutes": {give_up}}}}}}}"#,
            list.join(", "),
            initial * 4
        );
        let mut h = support::Harness::new(&services, Some(&notifications), "svc");
        let mut now = start;
        // The runtime's one alarm, and effects started but not yet completed (the object
        // handles other events meanwhile, e.g. a heartbeat while it awaits D1).
        let mut runtime: Option<i64> = None;
        let mut waiting: Vec<ServiceOutcome> = Vec::new();
        for e in events {
            let out = match e {
                Event::Wait(ms) => { now += ms; continue; }
                Event::Beat(r) => h.beat(now, r),
                Event::Alarm { early_by } => match runtime.take() {
                    // Alarms are at-least-once and may fire early or late; never twice at once.
                    Some(at) => { now = now.max(at - early_by); h.alarm(now) }
                    None => continue,
                },
                Event::Deadline => match h.slot.as_ref().and_then(|r| r.deadline()) {
                    Some(at) if waiting.iter().any(|w| !w.sends.is_empty()) => {
                        now = now.max(at.as_millis());
                        let out = h.event(now, Input::Deadline);
                        prop_assert!(!out.awaits(), "a deadline check starts nothing");
                        prop_assert_eq!(out.alarm, AlarmAction::Keep);
                        out
                    }
                    _ => continue,
                },
                Event::Watchdog { alarm_held } => {
                    let held = alarm_held && runtime.is_some();
                    h.event(now, Input::Watchdog { alarm_held: held })
                }
                Event::Sent { status, retry_after, network } => {
                    let Some(i) = waiting.iter().position(|w| !w.sends.is_empty()) else { continue };
                    let w = waiting.remove(i);
                    let outcome = if network {
                        SendOutcome::NetworkError("connection refused".into())
                    } else {
                        SendOutcome::Answered { status, retry_after: retry_after.map(Duration::from_secs), body: String::new() }
                    };
                    let attempts = w.sends.iter().map(|s| Attempted {
                        send: s.clone(),
                        started: Timestamp::from_millis(now),
                        ended: Timestamp::from_millis(now),
                        outcome: outcome.clone(),
                    }).collect();
                    h.event(now, Input::Completed(Completed::Sent(attempts)))
                }
                Event::Written { ok } => {
                    let Some(i) = waiting.iter().position(|w| !w.writes.is_empty()) else { continue };
                    let w = waiting.remove(i);
                    h.answer_writes(now, &w, ok)
                }
            };
            if let AlarmAction::Set(at, why) = out.alarm {
                prop_assert!(
                    at.as_millis() > 0 && at.as_millis() >= now,
                    "{} alarm at {} ms for an event at {} ms", why.as_str(), at.as_millis(), now
                );
                runtime = Some(at.as_millis());
            }
            if out.awaits() {
                waiting.push(out);
            }
        }
    }
}
