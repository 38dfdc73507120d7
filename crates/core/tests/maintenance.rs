//! Maintenance windows in the monitor and its record, with exact times: entering and leaving,
//! the deadline restarted at the window's end, recurring windows across DST, group windows,
//! overlaps, snoozes and the notifications they do not send.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

mod support;

use support::{armed_at, Harness, KEY};
use systole_core::config::Config;
use systole_core::maintenance::{Command, Window, SNOOZE_ID};
use systole_core::monitor::{deadline, Deadline, Effect, Heartbeat, Monitor, MonitorConfig, Reported, Status};
use systole_core::record::{Answer, Input};
use systole_core::time::Timestamp;

const S: i64 = 1_000;

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

fn window(value: serde_json::Value) -> Window {
    let mut errors = Vec::new();
    let w = Window::parse(&value, "", &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    w.unwrap()
}

fn config(threshold_s: u64, windows: Vec<Window>) -> MonitorConfig {
    MonitorConfig {
        staleness_threshold: Duration::from_secs(threshold_s),
        grace_period: Duration::ZERO,
        enabled: true,
        schedule: None,
        runs: systole_core::run::RunConfig::default(),
        maintenance: windows,
        escalation: Vec::new(),
        maintenance_uptime: Default::default(),
    }
}

fn changes(effects: &[Effect]) -> Vec<(Timestamp, Status, Status)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::StatusChanged(c) => Some((c.at, c.from, c.to)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_one_off_window_silences_a_down_and_restarts_the_deadline_at_its_end() {
    let mut m = Monitor::new(config(60, vec![Window::once(t(30 * S), t(90 * S))]), t(0));
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    assert_eq!(m.next_deadline(), Some((t(30 * S), Deadline::MaintenanceStart)), "the window starts first");

    let entered = m.on_alarm(t(30 * S));
    assert_eq!(changes(&entered), [(t(30 * S), Status::Up, Status::Maintenance)]);
    assert_eq!(m.next_deadline(), Some((t(90 * S), Deadline::MaintenanceEnd)));

    let down = m.on_heartbeat(t(50 * S), Heartbeat { reported: Reported::Down, ..Heartbeat::default() });
    assert!(matches!(down.as_slice(), [Effect::Record(_)]), "recorded, nothing else: {down:?}");
    assert_eq!((m.status(), m.state().last_heartbeat), (Status::Maintenance, Some(t(50 * S))));
    assert!(m.on_alarm(t(70 * S)).is_empty(), "the old deadline passes in maintenance");

    let left = m.on_alarm(t(90 * S));
    assert_eq!(changes(&left), [(t(90 * S), Status::Maintenance, Status::Up)]);
    assert_eq!(m.next_deadline(), Some((t(150 * S), Deadline::Heartbeat)), "a full period from the window's end");
    assert_eq!(
        deadline(Status::Up, m.state().last_heartbeat, m.state().resumed_at, m.config()),
        Some((t(150 * S), Deadline::Heartbeat)),
        "read APIs derive the same deadline from the stored end of the window"
    );
    let down = m.on_alarm(t(150 * S));
    assert_eq!(changes(&down), [(t(150 * S), Status::Up, Status::Down)]);
    assert!(down.iter().any(|e| matches!(e, Effect::IncidentOpened(_))));
}

#[test]
fn a_late_alarm_still_counts_the_deadline_from_the_windows_end() {
    let mut m = Monitor::new(config(60, vec![Window::once(t(30 * S), t(90 * S))]), t(0));
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    let _ = m.on_alarm(t(30 * S + 400));
    let left = m.on_alarm(t(95 * S));
    assert_eq!(changes(&left), [(t(90 * S), Status::Maintenance, Status::Up)]);
    assert_eq!(m.next_deadline(), Some((t(150 * S), Deadline::Heartbeat)));
}

#[test]
fn a_heartbeat_after_the_window_counts_from_itself() {
    let mut m = Monitor::new(config(60, vec![Window::once(t(30 * S), t(90 * S))]), t(0));
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    let _ = m.on_alarm(t(30 * S));
    let _ = m.on_alarm(t(90 * S));
    let _ = m.on_heartbeat(t(100 * S), Heartbeat::default());
    assert_eq!(m.next_deadline(), Some((t(160 * S), Deadline::Heartbeat)));
}

#[test]
fn a_down_service_entering_maintenance_closes_its_incident_and_a_silent_one_goes_down_a_period_after() {
    let mut m = Monitor::new(config(60, vec![Window::once(t(100 * S), t(200 * S))]), t(0));
    let _ = m.on_heartbeat(t(0), Heartbeat { reported: Reported::Down, ..Heartbeat::default() });
    let entered = m.on_alarm(t(100 * S));
    assert!(entered.iter().any(|e| matches!(e, Effect::IncidentClosed(_))));
    let _ = m.on_alarm(t(200 * S));
    assert_eq!(m.next_deadline(), Some((t(260 * S), Deadline::Heartbeat)));
}

#[test]
fn a_service_never_heard_from_returns_to_unknown() {
    let mut m = Monitor::new(config(60, vec![]), t(0));
    let e = m.on_maintenance(t(10 * S), Command::Add(Window::once(t(10 * S), t(20 * S))));
    assert_eq!(changes(&e), [(t(10 * S), Status::Unknown, Status::Maintenance)]);
    let e = m.on_alarm(t(20 * S));
    assert_eq!(changes(&e), [(t(20 * S), Status::Maintenance, Status::Unknown)]);
    assert_eq!(m.next_deadline(), None);
    assert!(m.state().maintenance.is_empty(), "the ended run-time window is dropped");
}

#[test]
fn overlapping_config_and_run_time_windows_keep_maintenance_until_the_last_ends() {
    let mut m = Monitor::new(config(60, vec![Window::once(t(30 * S), t(90 * S))]), t(0));
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    let _ = m.on_alarm(t(30 * S));
    let e = m.on_maintenance(
        t(40 * S),
        Command::Add(Window { id: Some("w1".into()), ..Window::once(t(80 * S), t(120 * S)) }),
    );
    assert!(e.is_empty());
    assert_eq!(m.next_deadline(), Some((t(120 * S), Deadline::MaintenanceEnd)));
    assert!(m.on_alarm(t(90 * S)).is_empty(), "the first window's end is not the end");
    let _ = m.on_alarm(t(120 * S));
    assert_eq!((m.status(), m.next_deadline()), (Status::Up, Some((t(180 * S), Deadline::Heartbeat))));
}

#[test]
fn removing_the_window_ends_maintenance_at_once() {
    let mut m = Monitor::new(config(60, vec![]), t(0));
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    let _ = m.on_maintenance(
        t(10 * S),
        Command::Add(Window { id: Some("w".into()), ..Window::once(t(10 * S), t(900 * S)) }),
    );
    let e = m.on_maintenance(t(20 * S), Command::Remove("w".into()));
    assert_eq!(changes(&e), [(t(20 * S), Status::Maintenance, Status::Up)]);
    assert_eq!(m.next_deadline(), Some((t(80 * S), Deadline::Heartbeat)));
}

#[test]
fn a_recurring_window_wakes_at_each_start_and_end_across_daylight_saving_time() {
    // Sundays 02:30 Berlin for 30 minutes; a daily job (period 7 days keeps it up).
    let w = window(serde_json::json!({"schedule": "30 2 * * SUN", "timezone": "Europe/Berlin", "duration": 1800}));
    let start = at("2026-03-21T12:00:00Z");
    let mut m = Monitor::new(config(7 * 86_400, vec![w]), start);
    let _ = m.on_heartbeat(start, Heartbeat::default());
    // 22 March: CET, 02:30 = 01:30Z.
    assert_eq!(m.next_deadline(), Some((at("2026-03-22T01:30:00Z"), Deadline::MaintenanceStart)));
    let _ = m.on_alarm(at("2026-03-22T01:30:00Z"));
    assert_eq!(m.next_deadline(), Some((at("2026-03-22T02:00:00Z"), Deadline::MaintenanceEnd)));
    let _ = m.on_alarm(at("2026-03-22T02:00:00Z"));
    // 29 March: 02:30 does not exist; the window starts right after the jump, 03:00 CEST.
    assert_eq!(m.next_deadline(), Some((at("2026-03-29T01:00:00Z"), Deadline::MaintenanceStart)));
    let _ = m.on_alarm(at("2026-03-29T01:00:00Z"));
    let _ = m.on_alarm(at("2026-03-29T01:30:00Z"));
    // 5 April: CEST, 02:30 = 00:30Z.
    assert_eq!(m.next_deadline(), Some((at("2026-04-05T00:30:00Z"), Deadline::MaintenanceStart)));
    assert_eq!(m.status(), Status::Up);
    assert_eq!(m.state().status_since, at("2026-03-29T01:30:00Z"));
}

#[test]
fn a_paused_service_ignores_windows() {
    let mut m = Monitor::new(config(60, vec![Window::once(t(30 * S), t(90 * S))]), t(0));
    let _ = m.on_config(t(1), MonitorConfig { enabled: false, ..config(60, vec![Window::once(t(30 * S), t(90 * S))]) });
    assert!(m.on_alarm(t(30 * S)).is_empty());
    assert_eq!((m.status(), m.next_deadline()), (Status::Paused, None));
}

#[test]
fn group_windows_apply_to_each_member_before_its_own_and_bad_ones_name_their_path() {
    let config = Config::parse(
        Some(
            r#"{"groups": [{"id": "db", "services": ["a", "b"],
                  "maintenance": [{"schedule": "0 3 * * *", "timezone": "UTC", "duration": 600}]}],
                "services": [{"id": "a", "maintenance": [{"start": "2026-12-05T01:00:00Z", "end": "2026-12-05T02:00:00Z"}]},
                             {"id": "b"}, {"id": "c"}]}"#,
        ),
        None,
    )
    .unwrap();
    let kinds = |id: &str| config.service(id).unwrap().maintenance.len();
    assert_eq!((kinds("a"), kinds("b"), kinds("c")), (2, 1, 0));
    let a = MonitorConfig::from(config.service("a").unwrap());
    assert_eq!(
        systole_core::maintenance::next_start(&a.maintenance, at("2026-12-05T00:00:00Z")),
        Some(at("2026-12-05T01:00:00Z"))
    );
    assert_eq!(
        systole_core::maintenance::active_until(&a.maintenance, at("2026-12-05T03:05:00Z")),
        Some(at("2026-12-05T03:10:00Z")),
        "the group's daily window"
    );

    let e = Config::parse(
        Some(
            r#"{"groups": [{"id": "g", "services": ["a"], "maintenance": [{"schedule": "0 3 * * *"}]}],
                "services": [{"id": "a", "maintenance": [{"start": "2026-12-05T02:00:00Z", "end": "2026-12-05T01:00:00Z"}]}]}"#,
        ),
        None,
    )
    .unwrap_err();
    let got: Vec<String> = e.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "services.json: groups[0].maintenance[0].duration: is required with schedule (seconds each occurrence lasts)",
            "services.json: services[0].maintenance[0].end: must be after start",
        ]
    );
}

const SERVICES: &str = r#"{"services": [{"id": "api", "stalenessThreshold": 60}]}"#;
const CHANNELS: &str = r#"{"channels": [{"type": "discord", "name": "ops"}]}"#;

#[test]
fn a_snooze_needs_the_key_sends_nothing_and_rearms_the_alarm_at_its_end() {
    let mut h = Harness::new(SERVICES, Some(CHANNELS), "api");
    let _ = h.beat(0, Reported::Up);
    let denied = h.event(10 * S, Input::Snooze { minutes: 30, key: Some("wrong".into()) });
    assert_eq!(denied.answer, Answer::Unauthorized);
    let denied = h.event(10 * S, Input::Snooze { minutes: 30, key: None });
    assert_eq!(denied.answer, Answer::Unauthorized);

    let from = h.next_id();
    let out = h.event(10 * S, Input::Snooze { minutes: 30, key: Some(KEY.into()) });
    let end = t(10 * S + 30 * 60 * S);
    assert_eq!(out.answer, Answer::Maintenance { status: Status::Maintenance, until: Some(end) });
    assert!(out.persist);
    // Set now, or already armed earlier (the 10 s flush this instance set is still pending).
    let armed = armed_at(&out).or(h.record().armed.at());
    assert!(armed.is_some_and(|a| a <= end), "armed no later than the snooze's end");
    assert_eq!(h.record().monitor.next_deadline(), Some((end, Deadline::MaintenanceEnd)));
    assert_eq!(h.record().monitor.state().maintenance[0].id.as_deref(), Some(SNOOZE_ID));

    // The old deadline (60 s) passes; the end of the snooze restarts it; nothing is sent.
    let sent = |outs: Vec<systole_core::record::ServiceOutcome>| outs.iter().map(|o| o.sends.len()).sum::<usize>();
    assert_eq!(sent(h.alarm_all_ok(60 * S)), 0);
    assert_eq!(sent(h.alarm_all_ok(end.as_millis())), 0);
    assert_eq!(h.record().monitor.status(), Status::Up);
    assert_eq!(h.record().monitor.next_deadline(), Some((end + Duration::from_secs(60), Deadline::Heartbeat)));
    assert_eq!(h.queued_since(from), []);
    assert_eq!(sent(h.alarm_all_ok(end.as_millis() + 60 * S)), 1, "down after the full period is notified");
    assert_eq!(h.record().monitor.status(), Status::Down);
}

#[test]
fn a_record_stored_in_maintenance_loads_with_its_windows() {
    let mut h = Harness::new(SERVICES, None, "api");
    let _ = h.beat(0, Reported::Up);
    let _ =
        h.event(S, Input::Maintenance(Command::Add(Window { id: Some("w".into()), ..Window::once(t(S), t(99 * S)) })));
    let loaded = h.reloaded().unwrap();
    assert_eq!(loaded.monitor.status(), Status::Maintenance);
    assert_eq!(loaded.monitor.next_deadline(), Some((t(99 * S), Deadline::MaintenanceEnd)));
}

#[test]
fn read_apis_show_the_deadline_the_alarm_is_armed_for_after_a_window_also_while_late() {
    let cfg =
        MonitorConfig { grace_period: Duration::from_secs(30), ..config(60, vec![Window::once(t(30 * S), t(90 * S))]) };
    let mut m = Monitor::new(cfg, t(0));
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    let _ = m.on_alarm(t(30 * S));
    let _ = m.on_alarm(t(90 * S));
    let read = |m: &Monitor| deadline(m.status(), m.state().last_heartbeat, m.state().resumed_at, m.config());
    assert_eq!(m.state().resumed_at, Some(t(90 * S)));
    assert_eq!(m.next_deadline(), Some((t(150 * S), Deadline::Heartbeat)));
    assert_eq!(read(&m), m.next_deadline());

    // Late a full period after the window's end (the alarm a little late): the grace period
    // ends 30 s after that deadline, not 30 s after the heartbeat's own.
    let late = m.on_alarm(t(150 * S + 700));
    assert_eq!(changes(&late), [(t(150 * S + 700), Status::Up, Status::Late)]);
    assert_eq!(m.next_deadline(), Some((t(180 * S), Deadline::Grace)));
    assert_eq!(read(&m), m.next_deadline(), "not 90 s, from the heartbeat before the window");
    let down = m.on_alarm(t(180 * S));
    assert_eq!(changes(&down), [(t(180 * S), Status::Late, Status::Down)]);
    assert_eq!(read(&m), None);
}
