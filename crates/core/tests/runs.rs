//! The monitor's runs: pairing, every run timer with its exact deadline, thresholds.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

mod support;

use support::{history, Harness, KEY};
use systole_core::monitor::{Deadline, Effect, Event, Heartbeat, Monitor, MonitorConfig, Status};
use systole_core::record::Input;
use systole_core::run::{Reason, Run, RunConfig, RunOutcome};
use systole_core::time::Timestamp;

const S: i64 = 1_000;

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn monitor(threshold: u64, grace: u64, runs: RunConfig) -> Monitor {
    let config = MonitorConfig {
        staleness_threshold: Duration::from_secs(threshold),
        grace_period: Duration::from_secs(grace),
        enabled: true,
        schedule: None,
        runs,
        maintenance: Vec::new(),
        escalation: Vec::new(),
        maintenance_uptime: Default::default(),
    };
    Monitor::new(config, t(0))
}

fn secs(s: u64) -> Option<Duration> {
    Some(Duration::from_secs(s))
}

fn signal(event: Event, run_id: Option<&str>) -> Heartbeat {
    Heartbeat { event, run_id: run_id.map(str::to_owned), ..Heartbeat::default() }
}

fn runs(effects: &[Effect]) -> Vec<Run> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Run(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// The (to, kind, reason) of each status change.
fn changes(effects: &[Effect]) -> Vec<(Status, Option<Reason>, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::StatusChanged(c) => Some((c.to, c.kind, c.reason.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_started_run_that_succeeds_records_its_duration() {
    let mut m = monitor(60, 0, RunConfig::default());
    let e = m.on_heartbeat(t(10 * S), signal(Event::Start, None));
    assert!(runs(&e).is_empty() && changes(&e).is_empty(), "a start changes no status");
    assert_eq!(m.status(), Status::Unknown);
    let e = m.on_heartbeat(t(12 * S + 500), Heartbeat { output: Some("done".into()), ..Heartbeat::default() });
    let run = &runs(&e)[0];
    assert_eq!(run.n, 1, "numbered by its start's sequence number");
    assert_eq!((run.started_at, run.ended_at, run.duration_ms), (Some(t(10 * S)), Some(t(12 * S + 500)), Some(2_500)));
    assert_eq!((run.outcome, run.reason, run.output.as_deref()), (RunOutcome::Success, None, Some("done")));
    assert_eq!(changes(&e)[0].0, Status::Up);
    assert!(m.state().runs.is_idle());
    // A plain heartbeat is no run.
    assert!(runs(&m.on_heartbeat(t(20 * S), Heartbeat::default())).is_empty());
    // A success with a client duration and no start is a run without a start.
    let e = m.on_heartbeat(t(30 * S), Heartbeat { duration_ms: Some(700), ..Heartbeat::default() });
    assert_eq!((runs(&e)[0].started_at, runs(&e)[0].duration_ms), (None, Some(700)));
}

#[test]
fn overlapping_runs_pair_by_run_id_and_unnamed_ones_in_order() {
    let mut m = monitor(60, 0, RunConfig::default());
    let _ = m.on_heartbeat(t(S), signal(Event::Start, Some("a")));
    let _ = m.on_heartbeat(t(2 * S), signal(Event::Start, None));
    let _ = m.on_heartbeat(t(3 * S), signal(Event::Start, Some("b")));
    let _ = m.on_heartbeat(t(4 * S), signal(Event::Start, None));
    let b = runs(&m.on_heartbeat(t(10 * S), signal(Event::Success, Some("b"))));
    assert_eq!((b[0].run_id.as_deref(), b[0].duration_ms), (Some("b"), Some(7_000)));
    let first = runs(&m.on_heartbeat(t(11 * S), signal(Event::Fail, None)));
    assert_eq!((first[0].started_at, first[0].outcome), (Some(t(2 * S)), RunOutcome::Fail));
    let a = runs(&m.on_heartbeat(t(12 * S), signal(Event::Success, Some("a"))));
    assert_eq!(a[0].duration_ms, Some(11_000));
    let second = runs(&m.on_heartbeat(t(13 * S), signal(Event::Success, None)));
    assert_eq!(second[0].started_at, Some(t(4 * S)));
    assert!(m.state().runs.open.is_empty());
}

#[test]
fn a_log_event_is_recorded_and_changes_nothing() {
    let mut m = monitor(60, 10, RunConfig { start_window: secs(5), max_runtime: secs(30), ..RunConfig::default() });
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    let before = m.clone();
    let e =
        m.on_heartbeat(t(50 * S), Heartbeat { event: Event::Log, output: Some("x".into()), ..Heartbeat::default() });
    assert!(matches!(e.as_slice(), [Effect::Record(r)] if r.event == Event::Log));
    assert_eq!(m.next_deadline(), before.next_deadline(), "not even the deadline moves");
    assert_eq!(m.state().last_heartbeat, before.state().last_heartbeat);
    assert_eq!(m.status(), Status::Up);
    // Replaying its event row after a load changes nothing either.
    let mut replayed = before.clone();
    let Effect::Record(row) = &e[0] else { unreachable!() };
    replayed.replay(row);
    assert_eq!(replayed.state().last_heartbeat, before.state().last_heartbeat);
}

#[test]
fn overrun_fires_at_exactly_start_plus_max_runtime() {
    let mut m = monitor(3600, 0, RunConfig { max_runtime: secs(30), ..RunConfig::default() });
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    let _ = m.on_heartbeat(t(100 * S), signal(Event::Start, Some("r1")));
    assert_eq!(m.next_deadline(), Some((t(130 * S), Deadline::Overrun)));
    assert!(m.on_alarm(t(130 * S - 1)).is_empty(), "early alarms do nothing");
    let e = m.on_alarm(t(130 * S));
    let (to, kind, reason) = changes(&e).remove(0);
    assert_eq!((to, kind), (Status::Down, Some(Reason::Overrun)));
    assert!(reason.contains("run r1") && reason.contains("30 s"), "{reason}");
    let run = &runs(&e)[0];
    assert_eq!((run.outcome, run.ended_at, run.reason), (RunOutcome::Overrun, None, Some(Reason::Overrun)));
    assert!(m.on_alarm(t(131 * S)).is_empty(), "fires once");
    assert_eq!(m.state().incident.as_ref().unwrap().kind, Some(Reason::Overrun));
    // Finishing later rewrites the run (same n) and recovers.
    let e = m.on_heartbeat(t(200 * S), signal(Event::Success, Some("r1")));
    let late = &runs(&e)[0];
    assert_eq!((late.n, late.outcome, late.duration_ms), (run.n, RunOutcome::Overrun, Some(100_000)));
    assert_eq!(m.status(), Status::Up);
}

#[test]
fn a_running_job_suspends_late_and_down_while_max_runtime_guards_it() {
    let mut m = monitor(60, 0, RunConfig { max_runtime: secs(300), ..RunConfig::default() });
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    assert_eq!(m.next_deadline(), Some((t(60 * S), Deadline::Heartbeat)));
    let _ = m.on_heartbeat(t(50 * S), signal(Event::Start, None));
    assert_eq!(m.next_deadline(), Some((t(350 * S), Deadline::Overrun)));
    assert!(m.on_alarm(t(100 * S)).is_empty());
    let _ = m.on_heartbeat(t(120 * S), Heartbeat::default());
    assert_eq!(m.next_deadline(), Some((t(180 * S), Deadline::Heartbeat)));
}

#[test]
fn missed_fires_at_exactly_the_scheduled_time_plus_the_start_window() {
    let mut m = monitor(60, 100, RunConfig { start_window: secs(10), ..RunConfig::default() });
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    assert_eq!(m.next_deadline(), Some((t(60 * S), Deadline::Heartbeat)));
    let e = m.on_alarm(t(60 * S));
    assert_eq!(changes(&e)[0].1, Some(Reason::Late));
    assert_eq!(m.next_deadline(), Some((t(70 * S), Deadline::Missed)));
    assert!(m.on_alarm(t(70 * S - 1)).is_empty());
    let e = m.on_alarm(t(70 * S));
    let (to, kind, reason) = changes(&e).remove(0);
    assert_eq!((to, kind), (Status::Down, Some(Reason::Missed)));
    assert!(reason.starts_with("run missed: no start or success within 10 s"), "{reason}");

    // A start inside the window cancels it; the grace period still ends the wait.
    let mut m = monitor(60, 100, RunConfig { start_window: secs(10), ..RunConfig::default() });
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    let _ = m.on_alarm(t(60 * S));
    let _ = m.on_heartbeat(t(65 * S), signal(Event::Start, None));
    assert_eq!(m.next_deadline(), Some((t(160 * S), Deadline::Grace)));
    let e = m.on_alarm(t(160 * S));
    assert_eq!(changes(&e)[0].1, Some(Reason::NoHeartbeat));

    // An alarm that comes late fires the earliest timer's reason.
    let mut m = monitor(60, 100, RunConfig { start_window: secs(10), ..RunConfig::default() });
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    let e = m.on_alarm(t(500 * S));
    assert_eq!(changes(&e).iter().map(|c| c.1).collect::<Vec<_>>(), [Some(Reason::Missed)]);
}

#[test]
fn late_and_down_keep_their_exact_deadlines() {
    let mut m = monitor(60, 30, RunConfig::default());
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    let e = m.on_alarm(t(60 * S));
    assert_eq!(changes(&e)[0].0, Status::Late);
    assert_eq!(m.next_deadline(), Some((t(90 * S), Deadline::Grace)));
    let e = m.on_alarm(t(90 * S));
    assert_eq!(changes(&e)[0].0, Status::Down);
    assert_eq!(changes(&e)[0].1, Some(Reason::NoHeartbeat));
}

#[test]
fn a_failed_run_says_its_exit_status_and_counts_towards_the_threshold() {
    let mut m = monitor(60, 0, RunConfig { failure_threshold: 2, ..RunConfig::default() });
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    let fail = |code| Heartbeat { exit_status: Some(code), ..Heartbeat::default() };
    let e = m.on_heartbeat(t(S), fail(3));
    assert!(changes(&e).is_empty(), "one failure of two tolerated");
    assert_eq!((runs(&e)[0].outcome, runs(&e)[0].exit_status), (RunOutcome::Fail, Some(3)));
    assert_eq!(m.next_deadline(), Some((t(61 * S), Deadline::Heartbeat)), "a failed run still ran");
    let _ = m.on_heartbeat(t(2 * S), Heartbeat::default());
    let e = m.on_heartbeat(t(3 * S), fail(3));
    assert!(changes(&e).is_empty(), "a success in between resets the count");
    let e = m.on_heartbeat(t(4 * S), fail(3));
    let (to, kind, reason) = changes(&e).remove(0);
    assert_eq!((to, kind, reason.as_str()), (Status::Down, Some(Reason::Failed), "run failed with exit status 3"));
    assert_eq!(m.state().incident.as_ref().unwrap().cause, "run failed with exit status 3");
}

#[test]
fn recovery_waits_for_the_recovery_threshold() {
    let mut m = monitor(60, 0, RunConfig { recovery_threshold: 3, ..RunConfig::default() });
    let _ = m.on_heartbeat(t(0), signal(Event::Fail, None));
    assert_eq!(m.status(), Status::Down);
    assert!(changes(&m.on_heartbeat(t(S), Heartbeat::default())).is_empty());
    assert!(changes(&m.on_heartbeat(t(2 * S), Heartbeat::default())).is_empty());
    let _ = m.on_heartbeat(t(3 * S), signal(Event::Fail, None));
    assert!(changes(&m.on_heartbeat(t(4 * S), Heartbeat::default())).is_empty(), "a failure restarts the count");
    let _ = m.on_heartbeat(t(5 * S), Heartbeat::default());
    let e = m.on_heartbeat(t(6 * S), Heartbeat::default());
    let (to, _, reason) = changes(&e).remove(0);
    assert_eq!((to, reason.as_str()), (Status::Up, "heartbeat received (3 consecutive successes)"));
    assert!(e.iter().any(|e| matches!(e, Effect::IncidentClosed(_))));
}

#[test]
fn durations_outside_the_bounds_fail_the_run() {
    let cfg = RunConfig { min_duration: secs(10), max_duration: secs(60), ..RunConfig::default() };
    let mut m = monitor(600, 0, cfg);
    let _ = m.on_heartbeat(t(0), signal(Event::Start, None));
    let e = m.on_heartbeat(t(9 * S), Heartbeat::default());
    assert_eq!((runs(&e)[0].outcome, runs(&e)[0].reason), (RunOutcome::Fail, Some(Reason::TooShort)));
    let (to, kind, reason) = changes(&e).remove(0);
    assert_eq!((to, kind), (Status::Down, Some(Reason::TooShort)));
    assert_eq!(reason, "run too short: took 9000 ms, under minDuration 10 s");
    let _ = m.on_heartbeat(t(100 * S), signal(Event::Start, None));
    let e = m.on_heartbeat(t(130 * S), Heartbeat::default());
    assert_eq!(changes(&e)[0].0, Status::Up, "exactly inside the bounds");
    let _ = m.on_heartbeat(t(200 * S), signal(Event::Start, None));
    let e = m.on_heartbeat(t(260 * S + 1), Heartbeat::default());
    assert_eq!(changes(&e)[0].1, Some(Reason::TooLong));
    // The client's duration counts when no start was paired.
    let e = m.on_heartbeat(t(300 * S), Heartbeat { duration_ms: Some(20_000), ..Heartbeat::default() });
    assert_eq!(changes(&e)[0].0, Status::Up);
}

#[test]
fn a_success_earlier_than_min_interval_is_flagged_without_a_status_change() {
    let mut m = monitor(600, 0, RunConfig { min_interval: secs(30), ..RunConfig::default() });
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    assert!(!m.state().runs.pinged_too_often);
    let e = m.on_heartbeat(t(29 * S), Heartbeat::default());
    assert!(m.state().runs.pinged_too_often && changes(&e).is_empty());
    // The recorded heartbeat carries the flag (the status API reads it from D1), and so does
    // a later fail or start while it holds.
    let flagged = |e: &[Effect]| matches!(e.first(), Some(Effect::Record(r)) if r.pinged_too_often);
    assert!(flagged(&e));
    let e = m.on_heartbeat(t(40 * S), Heartbeat { exit_status: Some(2), ..Heartbeat::default() });
    assert!(flagged(&e) && m.state().runs.pinged_too_often);
    let e = m.on_heartbeat(t(89 * S), Heartbeat::default());
    assert!(!m.state().runs.pinged_too_often && !flagged(&e));
}

#[test]
fn a_recorded_signal_keeps_its_exit_status() {
    let mut m = monitor(600, 0, RunConfig::default());
    let e = m.on_heartbeat(t(0), Heartbeat { exit_status: Some(3), ..Heartbeat::default() });
    assert!(matches!(e.first(), Some(Effect::Record(r)) if r.exit_status == Some(3) && r.event == Event::Fail));
}

#[test]
fn a_monitor_stored_by_the_previous_code_loads() {
    // Written before runs and reason kinds existed.
    let stored = r#"{"config":{"staleness_threshold":{"secs":60,"nanos":0},"grace_period":{"secs":0,"nanos":0},"enabled":true},"state":{"status":"down","statusSince":5000,"lastHeartbeat":1000,"lastMessage":null,"incident":{"startedAt":5000,"endedAt":null,"cause":"no heartbeat within 60 s"},"nextSeq":4}}"#;
    let m: Monitor = serde_json::from_str(stored).unwrap();
    assert_eq!(m.config().runs, RunConfig::default());
    assert!(m.state().runs.is_idle());
    assert_eq!(m.state().incident.as_ref().unwrap().kind, None);
    // Written back unchanged: the new fields are left out while they hold their defaults.
    assert_eq!(serde_json::to_string(&m).unwrap(), stored);
}

fn send(h: &mut Harness, ms: i64, heartbeat: Heartbeat) -> systole_core::record::ServiceOutcome {
    h.event(ms, Input::Heartbeat { heartbeat, key: Some(KEY.to_owned()) })
}

#[test]
fn the_record_keeps_open_runs_across_a_restart_and_flushes_finished_ones() {
    const JOB: &str = r#"{"services": [{"id": "job", "stalenessThreshold": 3600, "maxRuntime": 60}]}"#;
    let mut h = Harness::new(JOB, None, "job");
    let t0 = 1_700_000_000_000;
    let _ = h.beat(t0, systole_core::monitor::Reported::Up);
    let _ = h.alarm(t0 + 2 * S);
    let out = send(&mut h, t0 + 10 * S, signal(Event::Start, Some("r")));
    assert!(out.persist && out.writes.is_empty(), "a start is stored with the record, not written through");
    h.restart();
    assert_eq!(h.record().monitor.state().runs.open.len(), 1);
    assert_eq!(h.record().deadline(), Some(t(t0 + 70 * S)), "the overrun timer survives");
    // A log event after a quiet spell is not written through (D1 keeps no signal to replay).
    let out = send(&mut h, t0 + 20 * S, Heartbeat { event: Event::Log, ..Heartbeat::default() });
    assert!(out.writes.is_empty());
    h.restart();
    assert_eq!(h.record().monitor.state().last_heartbeat, Some(t(t0)), "a log moves no deadline after a load");
    let out = send(&mut h, t0 + 30 * S, signal(Event::Success, Some("r")));
    assert!(out.persist);
    let flush = h.alarm(t0 + 30 * S);
    let runs = &history(&flush).unwrap().outbox.runs;
    assert_eq!((runs.len(), runs[0].duration_ms, runs[0].outcome), (1, Some(20_000), RunOutcome::Success));
}
