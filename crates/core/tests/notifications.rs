//! What a service's status changes send, driven through the ServiceMonitor's one call into
//! core: routing, one `down` per incident per channel, the cooldown, held and counted
//! problems, reminders.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::Harness;
use systole_core::monitor::{Heartbeat, Reported};
use systole_core::notify::queue::Delivery;
use systole_core::notify::vocab::Event;
use systole_core::record::Input;
use systole_core::time::Timestamp;

const SERVICES: &str = r#"{"services": [
    {"id": "api", "name": "API", "stalenessThreshold": 60, "gracePeriod": 30},
    {"id": "quiet", "name": "Quiet", "stalenessThreshold": 60,
     "notifications": {"channels": ["ops"], "events": ["down"]}}
]}"#;
const CHANNELS: &str = r#"{"channels": [
    {"type": "discord", "name": "ops"},
    {"type": "slack", "name": "team", "events": ["down", "up", "late"]}
], "settings": {"cooldownMinutes": 5, "reminderMinutes": 30}}"#;

const MIN: i64 = 60_000;

struct Fixture {
    h: Harness,
}

fn fixture(id: &str) -> Fixture {
    Fixture { h: Harness::new(SERVICES, Some(CHANNELS), id) }
}

impl Fixture {
    /// Handles `input` at `ms` and returns what it queued: (channel, event, suppressed).
    fn at(&mut self, ms: i64, input: Input) -> Vec<(String, Event, u32)> {
        let from = self.h.next_id();
        let _ = self.h.event(ms, input);
        self.h.queued_since(from)
    }

    fn beat(&mut self, ms: i64, reported: Reported) -> Vec<(String, Event, u32)> {
        let heartbeat = Heartbeat { reported, ..Heartbeat::default() };
        self.at(ms, Input::Heartbeat { heartbeat, key: Some(support::KEY.to_owned()) })
    }

    fn alarm(&mut self, ms: i64) -> Vec<(String, Event, u32)> {
        self.at(ms, Input::Alarm)
    }

    fn delivery(&self, id: u64) -> &Delivery {
        self.h.record().deliveries.pending.iter().find(|d| d.id == id).unwrap()
    }

    fn last_queued(&self) -> &Delivery {
        self.delivery(self.h.next_id() - 1)
    }
}

fn q(items: &[(&str, Event, u32)]) -> Vec<(String, Event, u32)> {
    items.iter().map(|(c, e, n)| (c.to_string(), *e, *n)).collect()
}

#[test]
fn one_down_per_incident_per_channel_and_one_up_with_the_downtime() {
    let mut f = fixture("api");
    assert_eq!(f.beat(0, Reported::Up), []);
    assert_eq!(f.alarm(MIN), q(&[("team", Event::Late, 0)]), "only the channel that opted in hears `late`");
    assert_eq!(f.alarm(MIN + 30_000), q(&[("ops", Event::Down, 0), ("team", Event::Down, 0)]));
    assert_eq!(f.alarm(MIN + 30_001), [], "an alarm firing again sends nothing");
    assert_eq!(f.alarm(2 * MIN), []);
    let up = f.beat(3 * MIN, Reported::Up);
    assert_eq!(up, q(&[("ops", Event::Up, 0), ("team", Event::Up, 0)]));
    let n = &f.last_queued().notification;
    assert_eq!(n.duration, Some(Duration::from_millis((2 * MIN - 30_000) as u64)));
    assert_eq!(n.dashboard_url.as_deref(), Some("https://status.example.com/services/api"));
    let down = &f.delivery(1);
    assert_eq!(down.incident, Some(Timestamp::from_millis(MIN + 30_000)));
    assert_eq!(down.notification.message.as_deref(), Some("no heartbeat within 60 s + 30 s grace"));
}

#[test]
fn flapping_inside_the_cooldown_is_held_back_and_counted() {
    let mut f = fixture("api");
    f.beat(0, Reported::Up);
    assert_eq!(f.beat(1_000, Reported::Down).len(), 2, "first down goes out");
    assert_eq!(f.beat(2_000, Reported::Up).len(), 2, "recovery is never delayed");
    assert_eq!(f.beat(3_000, Reported::Down), [], "second down inside the cooldown is held");
    assert_eq!(f.beat(4_000, Reported::Up), [], "the channels never heard of it, so no up either");
    assert_eq!(f.beat(5_000, Reported::Down), []);
    assert_eq!(
        f.alarm(1_000 + 5 * MIN),
        q(&[("ops", Event::Down, 2), ("team", Event::Down, 2)]),
        "still down when the cooldown ends: sent, with what was held back"
    );
}

#[test]
fn a_problem_that_clears_inside_the_cooldown_is_never_sent() {
    let mut f = fixture("api");
    f.beat(0, Reported::Up);
    f.beat(1_000, Reported::Down);
    f.beat(2_000, Reported::Up);
    f.beat(3_000, Reported::Down);
    f.beat(4_000, Reported::Up);
    assert_eq!(f.h.record().notifier.next_wake(), None);
    assert_eq!(f.beat(10 * MIN, Reported::Down), q(&[("ops", Event::Down, 2), ("team", Event::Down, 2)]));
    assert_eq!(f.last_queued().notification.suppressed, 2);
}

#[test]
fn worse_news_is_not_held_by_the_cooldown() {
    let mut f = fixture("api");
    f.beat(0, Reported::Up);
    assert_eq!(f.beat(1_000, Reported::Degraded), q(&[("ops", Event::Degraded, 0)]));
    assert_eq!(f.beat(2_000, Reported::Down), q(&[("ops", Event::Down, 0), ("team", Event::Down, 0)]));
    assert_eq!(f.beat(3_000, Reported::Degraded), [], "better but not good: held");
    assert_eq!(f.beat(4_000, Reported::Up).len(), 2);
}

#[test]
fn reminders_repeat_while_down_and_stop_at_recovery() {
    let mut f = fixture("api");
    f.beat(0, Reported::Up);
    f.beat(1_000, Reported::Down);
    assert_eq!(f.h.record().notifier.next_wake(), Some(Timestamp::from_millis(1_000 + 30 * MIN)));
    assert_eq!(f.alarm(1_000 + 30 * MIN), q(&[("ops", Event::Reminder, 0)]), "team does not take reminders");
    let reminder = &f.last_queued().notification;
    assert_eq!(reminder.duration, Some(Duration::from_secs(30 * 60)));
    assert_eq!(f.alarm(1_000 + 60 * MIN).len(), 1);
    f.beat(61 * MIN, Reported::Up);
    assert_eq!(f.h.record().notifier.next_wake(), None);
    assert_eq!(f.alarm(61 * MIN + 1_000), [], "no reminder after recovery");
}

#[test]
fn a_service_policy_narrows_channels_and_events() {
    let mut f = fixture("quiet");
    f.beat(0, Reported::Up);
    assert_eq!(f.alarm(MIN), q(&[("ops", Event::Down, 0)]), "only the channel it names");
    assert_eq!(f.beat(2 * MIN, Reported::Up), [], "nor is up");
}

#[test]
fn pausing_drops_held_problems() {
    let mut f = fixture("api");
    f.beat(0, Reported::Up);
    f.beat(1_000, Reported::Down);
    f.beat(2_000, Reported::Up);
    f.beat(3_000, Reported::Down);
    f.h.config.services.iter_mut().for_each(|s| s.enabled = false);
    assert_eq!(f.at(4_000, Input::Watchdog { alarm_held: true }), [], "the deployed config pauses it");
    assert_eq!(f.h.record().notifier.next_wake(), None);
}

#[test]
fn include_metadata_carries_the_last_heartbeats_metadata_and_every_notification_its_last_seen() {
    let channels = r#"{"channels": [{"type": "discord", "name": "ops"}], "settings": {"includeMetadata": true}}"#;
    let mut h = Harness::new(SERVICES, Some(channels), "api");
    let metadata = Some(r#"{"host":"db-1"}"#.to_owned());
    let heartbeat = Heartbeat { reported: Reported::Up, metadata: metadata.clone(), ..Heartbeat::default() };
    let _ = h.event(0, Input::Heartbeat { heartbeat, key: Some(support::KEY.to_owned()) });
    let _ = h.event(MIN + 30_000, Input::Alarm);
    let down = &h.record().deliveries.pending[0].notification;
    assert_eq!(
        (down.event(), down.last_seen, &down.metadata),
        (Event::Down, Some(Timestamp::from_millis(0)), &metadata)
    );

    let mut off = Harness::new(SERVICES, Some(CHANNELS), "api");
    let heartbeat = Heartbeat { reported: Reported::Up, metadata, ..Heartbeat::default() };
    let _ = off.event(0, Input::Heartbeat { heartbeat, key: Some(support::KEY.to_owned()) });
    let _ = off.event(MIN + 30_000, Input::Alarm);
    let down = off.record().deliveries.pending.iter().find(|d| d.notification.event() == Event::Down).unwrap();
    assert_eq!((down.notification.last_seen, &down.notification.metadata), (Some(Timestamp::from_millis(0)), &None));
}
