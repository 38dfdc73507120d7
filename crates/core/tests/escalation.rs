//! Escalation and acknowledgement with exact times: each level fires once at the incident's
//! start + its `after`, late, early and repeated alarms are harmless, nothing escalates after
//! an acknowledgement or a recovery, reminders stop once acknowledged, and notifications
//! carry a signed link that opens only their incident.
#![allow(clippy::unwrap_used)]

mod support;

use support::Harness;
use systole_core::config::Config;
use systole_core::durable::Write;
use systole_core::escalation::{AckError, Acknowledgement};
use systole_core::monitor::{Deadline, Effect, Heartbeat, Monitor, MonitorConfig, Reported, Status};
use systole_core::notify::vocab::Event;
use systole_core::record::{Answer, Input};
use systole_core::time::Timestamp;

const S: i64 = 1_000;

/// `api`: a 60 s period, no grace, escalating to `pager` after 120 s and to `boss` after
/// 300 s; `ops` takes its `down`, `up` and `reminder` (every 30 min).
const SERVICES: &str = r#"{"services": [
    {"id": "api", "name": "API", "stalenessThreshold": 60,
     "notifications": {"channels": ["ops"]},
     "escalation": [{"after": 120, "channels": ["pager"]}, {"after": 300, "channels": ["boss", "pager"]}]},
    {"id": "member", "name": "Member", "stalenessThreshold": 60}
], "groups": [{"id": "g", "services": ["member"],
     "escalation": [{"after": 60, "channels": ["pager"]}]}]}"#;
const CHANNELS: &str = r#"{"channels": [
    {"type": "discord", "name": "ops", "events": ["down", "up", "reminder"]},
    {"type": "webhook", "name": "pager", "events": ["up"]},
    {"type": "sms", "name": "boss", "events": ["up"]}
], "settings": {"cooldownMinutes": 0, "reminderMinutes": 30}}"#;

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn monitor() -> Monitor {
    let config = Config::parse(Some(SERVICES), None).unwrap();
    Monitor::new(MonitorConfig::from(config.service("api").unwrap()), t(0))
}

fn escalations(effects: &[Effect]) -> Vec<u8> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Escalated { level, .. } => Some(*level),
            _ => None,
        })
        .collect()
}

/// `api` beats at 0 and goes down at 60 s (its deadline): the incident starts at 60 s.
fn down_at_60() -> Monitor {
    let mut m = monitor();
    let _ = m.on_heartbeat(t(0), Heartbeat::default());
    let down = m.on_alarm(t(60 * S));
    assert!(down.iter().any(|e| matches!(e, Effect::IncidentOpened(i) if i.started_at == t(60 * S))));
    m
}

#[test]
fn an_unacknowledged_incident_escalates_at_exactly_start_plus_after_once_per_level() {
    let mut m = down_at_60();
    assert_eq!(m.next_deadline(), Some((t(180 * S), Deadline::Escalation)), "60 s + 120 s");
    assert!(m.on_alarm(t(180 * S - 1)).is_empty(), "an early alarm does nothing");
    assert_eq!(escalations(&m.on_alarm(t(180 * S))), [1]);
    assert!(m.on_alarm(t(180 * S)).is_empty(), "a repeated alarm does nothing");
    assert_eq!(m.next_deadline(), Some((t(360 * S), Deadline::Escalation)), "60 s + 300 s");
    assert_eq!(escalations(&m.on_alarm(t(360 * S))), [2]);
    assert_eq!(m.next_deadline(), None, "past the last level: nothing left to wake for");
    assert_eq!(m.state().incident.as_ref().unwrap().escalated, 2);
}

#[test]
fn a_late_alarm_fires_every_level_it_passed_once_each() {
    let mut m = down_at_60();
    assert_eq!(escalations(&m.on_alarm(t(1_000 * S))), [1, 2]);
    assert!(m.on_alarm(t(2_000 * S)).is_empty());
}

#[test]
fn an_acknowledged_incident_escalates_no_further_and_a_second_ack_changes_nothing() {
    let mut m = down_at_60();
    let acked = m.on_acknowledge(t(100 * S), t(60 * S), "ana").unwrap();
    let ack = Acknowledgement { by: "ana".into(), at: t(100 * S) };
    assert!(matches!(acked.as_slice(), [Effect::IncidentAcknowledged(i)] if i.acknowledged.as_ref() == Some(&ack)));
    assert_eq!(m.next_deadline(), None, "no escalation deadline once acknowledged");
    assert!(m.on_alarm(t(180 * S)).is_empty());
    assert!(m.on_alarm(t(360 * S)).is_empty());
    assert_eq!(m.on_acknowledge(t(200 * S), t(60 * S), "bob"), Ok(vec![]), "idempotent");
    assert_eq!(m.state().incident.as_ref().unwrap().acknowledged, Some(ack), "the first acknowledgement stays");
}

#[test]
fn acknowledging_after_the_first_level_stops_the_second() {
    let mut m = down_at_60();
    assert_eq!(escalations(&m.on_alarm(t(180 * S))), [1]);
    let _ = m.on_acknowledge(t(200 * S), t(60 * S), "link").unwrap();
    assert_eq!(m.next_deadline(), None);
    assert!(m.on_alarm(t(360 * S)).is_empty());
}

#[test]
fn only_the_open_incident_can_be_acknowledged() {
    let mut m = down_at_60();
    assert_eq!(m.on_acknowledge(t(100 * S), t(61 * S), "ana"), Err(AckError::NotOpen), "another start");
    let _ = m.on_heartbeat(t(120 * S), Heartbeat::default());
    assert_eq!(m.status(), Status::Up);
    assert_eq!(m.on_acknowledge(t(130 * S), t(60 * S), "ana"), Err(AckError::NotOpen), "resolved");
    assert_eq!(m.next_deadline().map(|(_, d)| d), Some(Deadline::Heartbeat), "a recovered incident never escalates");
}

#[test]
fn a_group_policy_applies_to_its_members_and_a_service_without_one_never_escalates() {
    let config = Config::parse(Some(SERVICES), None).unwrap();
    let member = config.service("member").unwrap();
    assert_eq!(member.escalation.len(), 1);
    let mut m = Monitor::new(MonitorConfig::from(member), t(0));
    let _ = m.on_heartbeat(t(0), Heartbeat { reported: Reported::Down, ..Heartbeat::default() });
    assert_eq!(m.next_deadline(), Some((t(60 * S), Deadline::Escalation)));
    let plain = r#"{"services": [{"id": "x", "stalenessThreshold": 60}]}"#;
    let config = Config::parse(Some(plain), None).unwrap();
    let mut m = Monitor::new(MonitorConfig::from(config.service("x").unwrap()), t(0));
    let _ = m.on_heartbeat(t(0), Heartbeat { reported: Reported::Down, ..Heartbeat::default() });
    assert_eq!(m.next_deadline(), None);
}

#[test]
fn escalation_config_problems_are_named_with_their_paths() {
    let bad = r#"{"services": [{"id": "x", "escalation": [{"after": 600, "channels": ["a"]},
        {"after": 300, "channels": ["b"]}]}]}"#;
    let errors = Config::parse(Some(bad), None).unwrap_err().to_string();
    assert!(
        errors.contains("services[0].escalation[1].after: must be greater than the previous level's 600 s, got 300"),
        "{errors}"
    );
    let notifications = systole_core::notify::NotificationsConfig::parse(Some(CHANNELS)).unwrap();
    let unknown = r#"{"services": [{"id": "x", "escalation": [{"after": 60, "channels": ["nowhere"]}]}]}"#;
    let config = Config::parse(Some(unknown), None).unwrap();
    let problems = notifications.check_policies(&config.services);
    assert_eq!(
        problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["services.json: services[0].escalation[0].channels[0]: \"nowhere\" matches no channel name or type in notifications.json"]
    );
}

/// The monitor of `api` in a record, with its channels.
fn harness() -> Harness {
    Harness::new(SERVICES, Some(CHANNELS), "api")
}

fn queued(h: &Harness, from: u64) -> Vec<(String, Event)> {
    h.queued_since(from).into_iter().map(|(c, e, _)| (c, e)).collect()
}

#[test]
fn each_level_notifies_its_channels_once_with_an_ack_link_and_the_alarm_is_armed_at_it() {
    let mut h = harness();
    let _ = h.beat(0, Reported::Up);
    let from = h.next_id();
    let down = h.alarm(60 * S);
    assert_eq!(queued(&h, from), [("ops".to_owned(), Event::Down)]);
    let link = h.record().deliveries.pending.last().unwrap().notification.ack_url.clone().unwrap();
    assert!(link.starts_with("https://status.example.com/ack/api.60000?expires=604860&sig="), "{link}");
    assert!(h
        .record()
        .deliveries
        .pending
        .last()
        .unwrap()
        .notification
        .default_body()
        .ends_with(&format!("Acknowledge: {link}")));
    let _ = h.answer_sends(60 * S, &down, |_| 200);
    let _ = h.alarm_all_ok(60 * S);
    assert_eq!(h.record().deadline(), Some(t(180 * S)), "the record's deadline is the first level");

    let from = h.next_id();
    let _ = h.alarm(180 * S);
    assert_eq!(queued(&h, from), [("pager".to_owned(), Event::Escalation)], "whatever events pager takes");
    let n = &h.record().deliveries.pending.last().unwrap().notification;
    assert_eq!(n.duration, Some(std::time::Duration::from_secs(120)));
    assert!(n.ack_url.is_some());
    let _ = h.alarm_all_ok(180 * S);
    let from = h.next_id();
    let _ = h.alarm(180 * S);
    assert!(queued(&h, from).is_empty(), "a repeated alarm sends nothing");

    let from = h.next_id();
    let _ = h.alarm(360 * S);
    assert_eq!(queued(&h, from), [("pager".to_owned(), Event::Escalation), ("boss".to_owned(), Event::Escalation)]);

    // The recovery reaches every channel the incident reached, escalated ones included
    // (a pager resolves what it was paged about), once.
    let _ = h.alarm_all_ok(360 * S);
    let from = h.next_id();
    let _ = h.beat(400 * S, Reported::Up);
    let mut up = queued(&h, from);
    up.sort();
    assert_eq!(up, [("boss".to_owned(), Event::Up), ("ops".to_owned(), Event::Up), ("pager".to_owned(), Event::Up)]);
    let _ = h.alarm_all_ok(400 * S);
    let _ = h.alarm(460 * S + 1);
    let from = h.next_id();
    let _ = h.beat(500 * S, Reported::Up);
    assert_eq!(
        queued(&h, from),
        [("ops".to_owned(), Event::Up)],
        "the next incident's recovery: no escalation, no page"
    );
}

#[test]
fn an_acknowledged_incident_sends_no_escalation_and_no_reminder_but_still_its_recovery() {
    let mut h = harness();
    let _ = h.beat(0, Reported::Up);
    let _ = h.alarm_all_ok(60 * S);
    let out = h.event(90 * S, Input::Acknowledge { started_at: t(60 * S), by: "ana".into() });
    match &out.answer {
        Answer::Acknowledged(i) => {
            assert_eq!(i.acknowledged, Some(Acknowledgement { by: "ana".into(), at: t(90 * S) }))
        }
        other => panic!("{other:?}"),
    }
    assert!(out.persist);
    let update = out.update.clone().unwrap();
    assert!(update.is_event() && update.change.is_none());
    let shown = update.acknowledged.clone().unwrap();
    assert_eq!((shown.incident.as_str(), shown.by.as_str(), shown.at), ("api.60000", "ana", 90 * S));
    assert_eq!(update.public().acknowledged, None, "not on the public page");
    let batch = h.record().history.pending.incidents.last().cloned().unwrap();
    assert_eq!(batch.acknowledged.unwrap().by, "ana", "D1 gets the incident with who acknowledged it");
    let Answer::Acknowledged(acked) = &out.answer else { unreachable!() };
    assert_eq!(out.writes, [Write::Incident(acked.clone())], "written through before the answer, for the page");
    let done = h.answer_writes(90 * S, &out, false);
    assert!(done.writes.is_empty() && done.sends.is_empty(), "a failed write-through waits for the flush");
    assert_eq!(h.record().history.pending.incidents.last().cloned(), Some(acked.clone()), "still to flush");
    assert_eq!(h.record().deadline(), None, "no escalation deadline");

    let from = h.next_id();
    let _ = h.alarm(180 * S);
    let _ = h.alarm(360 * S);
    let _ = h.alarm(60 * S + 30 * 60 * S);
    assert!(queued(&h, from).is_empty(), "no escalation, no reminder");

    let again = h.event(100 * S, Input::Acknowledge { started_at: t(60 * S), by: "bob".into() });
    assert!(matches!(&again.answer, Answer::Acknowledged(i) if i.acknowledged.as_ref().unwrap().by == "ana"));
    assert_eq!(again.update, None, "nothing new to show");
    assert!(again.writes.is_empty(), "nothing new to write");
    let other = h.event(100 * S, Input::Acknowledge { started_at: t(61 * S), by: "bob".into() });
    assert_eq!(other.answer, Answer::NotOpen);

    let from = h.next_id();
    let _ = h.beat(2_000 * S, Reported::Up);
    assert_eq!(queued(&h, from), [("ops".to_owned(), Event::Up)]);
    let resolved = h.event(2_001 * S, Input::Acknowledge { started_at: t(60 * S), by: "bob".into() });
    assert_eq!(resolved.answer, Answer::NotOpen);
}

#[test]
fn an_unacknowledged_incident_keeps_its_reminders() {
    let mut h = harness();
    let _ = h.beat(0, Reported::Up);
    let _ = h.alarm_all_ok(60 * S);
    let from = h.next_id();
    let _ = h.alarm(60 * S + 30 * 60 * S);
    assert!(queued(&h, from).contains(&("ops".to_owned(), Event::Reminder)));
}
