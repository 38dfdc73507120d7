//! Service dependencies driven through the ServiceMonitor's one call into core: a child that
//! goes `down` while a parent is `down` (or in maintenance) records its incident but holds
//! its alert; the parent's recovery sends it once, or nothing when the child recovered first.
//! A child that goes silent before a silent parent's deadline waits for that parent's verdict.
#![allow(clippy::unwrap_used)]

mod support;

use support::Harness;
use systole_core::config::ServiceId;
use systole_core::dependency::ParentState;
use systole_core::monitor::{Heartbeat, Reported, Status};
use systole_core::notify::vocab::Event;
use systole_core::record::Input;
use systole_core::time::Timestamp;

const SERVICES: &str = r#"{"services": [
    {"id": "db-prod", "stalenessThreshold": 60},
    {"id": "api", "stalenessThreshold": 60, "gracePeriod": 30, "dependsOn": ["db-prod"]},
    {"id": "lone", "stalenessThreshold": 60},
    {"id": "paged", "stalenessThreshold": 60, "dependsOn": ["db-prod"],
     "escalation": [{"after": 120, "channels": ["team"]}]}
]}"#;
const CHANNELS: &str = r#"{"channels": [{"type": "slack", "name": "team", "events": ["down", "up", "late"]}]}"#;

const MIN: i64 = 60_000;

struct Child {
    h: Harness,
}

fn child() -> Child {
    Child { h: Harness::new(SERVICES, Some(CHANNELS), "api") }
}

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

impl Child {
    fn at(&mut self, ms: i64, input: Input) -> Vec<(String, Event, u32)> {
        self.h.queued(ms, input)
    }

    fn beat(&mut self, ms: i64, reported: Reported) -> Vec<(String, Event, u32)> {
        let heartbeat = Heartbeat { reported, ..Heartbeat::default() };
        self.at(ms, Input::Heartbeat { heartbeat, key: Some(support::KEY.to_owned()) })
    }

    fn alarm(&mut self, ms: i64) -> Vec<(String, Event, u32)> {
        self.at(ms, Input::Alarm)
    }

    fn parent(&mut self, ms: i64, status: Status, since: i64) -> Vec<(String, Event, u32)> {
        self.observed(ms, pushed(status, since))
    }

    /// The parent `db-prod` in `state`, pushed or read from D1.
    fn observed(&mut self, ms: i64, state: ParentState) -> Vec<(String, Event, u32)> {
        let parent = ServiceId::parse("db-prod").unwrap();
        self.at(ms, Input::Parents(vec![(parent, state)]))
    }

    fn incident_mark(&self) -> Option<String> {
        let state = self.h.record().monitor.state();
        state.incident.as_ref().and_then(|i| i.suppressed.as_ref()).map(ToString::to_string)
    }
}

/// A parent's state as a push without what it last heard says it.
fn pushed(status: Status, since: i64) -> ParentState {
    ParentState { status, since: t(since), last_heartbeat: None, down_at: None }
}

/// `db-prod` up since 0, last heard at `last`, `down` at `down_at` if silent.
fn silent(last: i64, down_at: i64) -> ParentState {
    ParentState { status: Status::Up, since: t(0), last_heartbeat: Some(t(last)), down_at: Some(t(down_at)) }
}

fn team(event: Event) -> Vec<(String, Event, u32)> {
    vec![("team".to_owned(), event, 0)]
}

#[test]
fn a_child_down_while_its_parent_is_down_is_recorded_held_and_alerted_once_on_recovery() {
    let mut c = child();
    c.beat(0, Reported::Up);
    assert_eq!(c.parent(10_000, Status::Down, 9_000), [], "a parent's state alone sends nothing");
    assert_eq!(c.alarm(MIN), [], "no `late` while the parent is down");
    assert_eq!(c.h.record().monitor.status(), Status::Late, "but the status is recorded");
    assert_eq!(c.alarm(MIN + 30_000), [], "the `down` is held");
    assert_eq!(c.h.record().monitor.status(), Status::Down);
    let since = t(9_000);
    assert_eq!(c.incident_mark(), Some(format!("suppressed: parent `db-prod` down since {since}")));
    assert_eq!(c.alarm(2 * MIN), [], "an alarm again sends nothing");
    assert_eq!(c.parent(3 * MIN, Status::Up, 3 * MIN - 1), team(Event::Down), "released once the parent is up");
    let sent = &c.h.record().deliveries.pending.last().unwrap().notification;
    assert_eq!(sent.since, t(MIN + 30_000), "the alert names the incident's start");
    assert_eq!(c.parent(3 * MIN + 1, Status::Up, 3 * MIN - 1), [], "a repeated push sends nothing");
    assert_eq!(c.alarm(4 * MIN), [], "nor does a later alarm");
    assert_eq!(c.beat(5 * MIN, Reported::Up), team(Event::Up), "its recovery is then told as usual");
}

#[test]
fn a_child_that_recovered_before_its_parent_sends_nothing_at_all() {
    let mut c = child();
    c.beat(0, Reported::Up);
    c.parent(1_000, Status::Down, 1_000);
    assert_eq!(c.beat(2_000, Reported::Down), [], "held");
    assert_eq!(c.beat(3_000, Reported::Up), [], "no recovery for a down nobody was told of");
    assert_eq!(c.parent(4_000, Status::Up, 4_000), [], "nothing to release");
    assert_eq!(c.h.record().deliveries.pending.len(), 0);
}

#[test]
fn a_parent_in_maintenance_holds_too_and_an_older_push_is_ignored() {
    let mut c = child();
    c.beat(0, Reported::Up);
    c.parent(1_000, Status::Maintenance, 1_000);
    c.parent(1_500, Status::Up, 500); // older than what is held: out of order
    assert_eq!(c.beat(2_000, Reported::Down), []);
    assert!(c.incident_mark().unwrap().starts_with("suppressed: parent `db-prod` maintenance since"));
    assert_eq!(c.parent(5_000, Status::Up, 5_000), team(Event::Down));
}

#[test]
fn a_child_down_before_its_parent_alerts_at_once() {
    let mut c = child();
    c.beat(0, Reported::Up);
    assert_eq!(c.beat(1_000, Reported::Down), team(Event::Down));
    assert_eq!(c.incident_mark(), None);
    assert_eq!(c.parent(2_000, Status::Down, 2_000), []);
    assert_eq!(c.parent(3_000, Status::Up, 3_000), [], "already told: nothing more");
}

#[test]
fn a_parent_that_is_only_late_holds_nothing() {
    let mut c = child();
    c.beat(0, Reported::Up);
    c.parent(1_000, Status::Late, 1_000);
    assert_eq!(c.beat(2_000, Reported::Down), team(Event::Down));
}

#[test]
fn a_push_from_a_service_that_is_not_a_parent_is_forgotten() {
    let mut c = child();
    c.beat(0, Reported::Up);
    let lone = ServiceId::parse("lone").unwrap();
    c.at(1_000, Input::Parents(vec![(lone, pushed(Status::Down, 1_000))]));
    assert!(c.h.record().monitor.state().parents.is_empty());
    assert_eq!(c.beat(2_000, Reported::Down), team(Event::Down));
}

#[test]
fn a_held_incident_does_not_escalate_and_once_released_counts_its_levels_from_the_release() {
    let mut c = Child { h: Harness::new(SERVICES, Some(CHANNELS), "paged") };
    c.beat(0, Reported::Up);
    c.parent(1_000, Status::Down, 1_000);
    assert_eq!(c.beat(2_000, Reported::Down), [], "held");
    assert_eq!(c.alarm(2_000 + 2 * MIN), [], "no escalation at start + after while held");
    assert_eq!(c.parent(10 * MIN, Status::Up, 10 * MIN), team(Event::Down), "released");
    assert_eq!(c.alarm(10 * MIN + 2 * MIN - 1), [], "nobody was told before the release");
    assert_eq!(c.alarm(12 * MIN), team(Event::Escalation), "release + after, exactly");
    assert_eq!(c.alarm(13 * MIN), [], "once");
}

// `api`: 60 s + 30 s grace, last heartbeat at 0, so its missed heartbeat was due at 60 s and
// it goes down at 90 s. Its parent was last heard at 5 s and goes down at 150 s if silent.

/// `api` (a heartbeat at 0) with its parent observed at `at`, last heard at `last`, `down` at
/// `down_at` if silent; through its `late` at 60 s: what its alarm at 90 s (its `down`) queues.
fn silent_child(at: i64, last: i64, down_at: i64) -> (Child, Vec<(String, Event, u32)>) {
    let mut c = child();
    c.beat(0, Reported::Up);
    c.observed(at, silent(last, down_at));
    assert_eq!(c.alarm(MIN), team(Event::Late), "a `late` is not held: nothing is known yet");
    let down = c.alarm(90_000);
    (c, down)
}

#[test]
fn a_child_silent_before_its_silent_parent_waits_for_the_parents_deadline_then_is_suppressed() {
    let (mut c, down) = silent_child(10_000, 5_000, 150_000);
    assert_eq!(down, [], "the `down` waits for the parent's verdict");
    let (five, until) = (t(5_000), t(165_000));
    assert_eq!(c.incident_mark(), Some(format!("held until {until}: parent `db-prod` silent since {five}")));
    assert_eq!(c.h.record().monitor.hold_until(), Some(until));
    // Its sends (the `late`) and writes done, the object sleeps until the hold's end.
    let mut wake = Some(t(90_000));
    for _ in 0..5 {
        let Some(at) = wake.filter(|at| *at < until) else { break };
        wake = support::armed_at(c.h.alarm_all_ok(at.as_millis()).last().unwrap()).or(wake);
    }
    assert_eq!(wake, Some(until), "the object wakes at the hold's end");
    assert_eq!(c.parent(150_000, Status::Down, 150_000), [], "the parent went down: suppressed");
    let since = t(150_000);
    assert_eq!(c.incident_mark(), Some(format!("suppressed: parent `db-prod` down since {since}")));
    assert_eq!(c.h.record().monitor.hold_until(), None);
    assert_eq!(c.alarm(165_000), [], "the hold's end sends nothing while the parent is down");
    assert_eq!(c.parent(200_000, Status::Up, 200_000), team(Event::Down), "its recovery releases the alert");
}

#[test]
fn a_held_child_alerts_once_its_silent_parent_is_heard_from() {
    let (mut c, down) = silent_child(10_000, 5_000, 150_000);
    assert_eq!(down, []);
    assert_eq!(c.observed(100_000, silent(5_000, 150_000)), [], "the same news holds it still");
    assert_eq!(c.observed(120_000, silent(110_000, 255_000)), team(Event::Down), "the parent beat: not its outage");
    assert_eq!(c.alarm(165_000), [], "once");
}

#[test]
fn a_held_child_alerts_at_the_holds_end_when_the_parent_never_went_down() {
    let (mut c, down) = silent_child(10_000, 5_000, 150_000);
    assert_eq!(down, []);
    assert_eq!(c.alarm(164_999), []);
    assert_eq!(c.alarm(165_000), team(Event::Down), "released at the parent's deadline + margin");
    let sent = &c.h.record().deliveries.pending.last().unwrap().notification;
    assert_eq!(sent.since, t(90_000), "the alert names the incident's start");
    assert_eq!(c.beat(170_000, Reported::Up), team(Event::Up), "its recovery is told");
}

#[test]
fn a_parent_heard_after_the_child_was_due_or_far_from_its_deadline_holds_nothing() {
    let (_, down) = silent_child(70_000, 65_000, 150_000);
    assert_eq!(down, team(Event::Down), "the parent beat after the child's heartbeat was due");
    let (_, down) = silent_child(10_000, 5_000, 90_000 + 600_001);
    assert_eq!(down, team(Event::Down), "the parent's deadline is more than 10 min away");

    let mut c = child();
    c.beat(0, Reported::Up);
    c.observed(10_000, silent(5_000, 150_000));
    assert_eq!(c.beat(20_000, Reported::Down), team(Event::Down), "a reported failure is not silence");
}

#[test]
fn a_held_child_that_recovers_first_tells_its_recovery_only_to_channels_told_its_late() {
    let (mut c, down) = silent_child(10_000, 5_000, 150_000);
    assert_eq!(down, []);
    assert_eq!(c.beat(100_000, Reported::Up), team(Event::Up), "`team` took the `late`: not left with it");
    assert_eq!(c.alarm(165_000), []);
    assert_eq!(c.h.record().monitor.hold_until(), None);

    // A channel that takes no `late` was told nothing, and hears nothing.
    let services =
        SERVICES.replace(r#""gracePeriod": 30,"#, r#""gracePeriod": 30, "notifications": {"channels": ["quiet"]},"#);
    let channels = r#"{"channels": [{"type": "slack", "name": "quiet", "events": ["down", "up"]}]}"#;
    let mut c = Child { h: Harness::new(&services, Some(channels), "api") };
    c.beat(0, Reported::Up);
    c.observed(10_000, silent(5_000, 150_000));
    assert_eq!(c.alarm(MIN), []);
    assert_eq!(c.alarm(90_000), [], "held");
    assert_eq!(c.beat(100_000, Reported::Up), [], "no recovery for a down nobody was told of");
}

#[test]
fn a_later_flush_of_a_heartbeat_from_before_the_childs_deadline_does_not_release_it() {
    // D1 held the parent's heartbeat of 5 s; it had beaten at 40 s too, before the child's
    // heartbeat was due (60 s), and then went late.
    let (mut c, down) = silent_child(10_000, 5_000, 150_000);
    assert_eq!(down, []);
    let late = ParentState {
        status: Status::Late,
        since: t(100_000),
        last_heartbeat: Some(t(40_000)),
        down_at: Some(t(130_000)),
    };
    assert_eq!(c.observed(100_000, late), [], "still silent since before the child's deadline");
    assert_eq!(c.h.record().monitor.hold_until(), Some(t(165_000)));
    assert_eq!(c.parent(130_000, Status::Down, 130_000), [], "and down: suppressed");
}
