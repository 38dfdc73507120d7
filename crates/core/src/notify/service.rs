//! What a service's status changes send, to which channel and when: routing, one `down`
//! per incident per channel, the cooldown, and reminders while a service stays down.
//!
//! Per channel the notifier remembers what that channel was last told. The rules:
//! - a problem (`late` < `degraded` < `down`) is sent at once unless the channel was sent a
//!   problem less than `cooldownMinutes` ago and this one is no worse; then it is *held*
//!   (a newer held notification replaces an older one) and sent when the cooldown ends, if
//!   the service is still in trouble by then;
//! - `up` is sent at once, and only to a channel that was told about a problem: it cancels
//!   a held problem the channel never heard of;
//! - whatever is held back is counted and the count is reported in the channel's next
//!   message ([`Notification::suppressed`]);
//! - at most one `down` per incident per channel, however often the alarm fires;
//! - `reminder` repeats every `reminderMinutes` to a channel that was told `down` and takes
//!   reminders, until the service recovers; reminders ignore the cooldown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::ServiceConfig;
use crate::monitor::{Effect, MonitorState, Status};
use crate::notify::config::NotificationsConfig;
use crate::notify::message::{Notification, ServiceEvent, Subject};
use crate::notify::queue::DeliveryQueue;
use crate::notify::vocab::Event;
use crate::time::Timestamp;

/// Where a service's notifications go: the notifications config, the service (its policy,
/// name and group) and the dashboard's public URL (`https://…`, no trailing `/`), if known.
#[derive(Clone, Copy, Debug)]
pub struct Routing<'a> {
    /// The deployed `notifications.json`.
    pub notifications: &'a NotificationsConfig,
    /// The service.
    pub service: &'a ServiceConfig,
    /// The dashboard's base URL; links point to `{base}/services/{id}`.
    pub dashboard_url: Option<&'a str>,
}

/// What one channel was told about one service.
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelState {
    /// The last status event queued for it (`reminder` does not count).
    pub told: Option<Event>,
    /// The last problem it was sent, and when.
    pub last_problem: Option<(Event, Timestamp)>,
    /// The incident (its start) it was sent a `down` for.
    pub down_incident: Option<Timestamp>,
    /// A problem held back by the cooldown, and when it may be sent.
    pub held: Option<(Notification, Timestamp)>,
    /// Notifications held back since the last one sent.
    pub suppressed: u32,
    /// When the next reminder is due.
    pub reminder_at: Option<Timestamp>,
}

/// Per-channel notification state of one service, persisted in its ServiceMonitor.
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceNotifier {
    /// By channel name.
    pub channels: BTreeMap<String, ChannelState>,
}

/// How bad a status event is; `None` for good news.
fn severity(event: Event) -> Option<u8> {
    match event {
        Event::Late => Some(1),
        Event::Degraded => Some(2),
        Event::Down => Some(3),
        _ => None,
    }
}

impl ServiceNotifier {
    /// Queues what `effects` (from one event at `now`) must send, then what is due at `now`
    /// ([`ServiceNotifier::on_wake`]). `state` is the monitor's state after the effects.
    /// Returns how many notifications it queued (0: the queue is unchanged).
    pub fn on_effects(
        &mut self,
        now: Timestamp,
        effects: &[Effect],
        state: &MonitorState,
        routing: &Routing<'_>,
        queue: &mut DeliveryQueue,
    ) -> usize {
        let mut queued = 0;
        for effect in effects {
            let Effect::StatusChanged(change) = effect else {
                continue;
            };
            let event = match change.to {
                Status::Down => ServiceEvent::Down,
                Status::Degraded => ServiceEvent::Degraded,
                Status::Late => ServiceEvent::Late,
                Status::Up => ServiceEvent::Up,
                Status::Paused | Status::Unknown => {
                    self.forget_held();
                    continue;
                }
            };
            let closed = effects.iter().find_map(|e| match e {
                Effect::IncidentClosed(i) if i.ended_at == Some(change.at) => Some(i),
                _ => None,
            });
            let incident = match event {
                ServiceEvent::Down => Some(state.incident.as_ref().map_or(change.at, |i| i.started_at)),
                _ => closed.map(|i| i.started_at),
            };
            let n = notification(
                routing,
                event,
                change.at,
                change.from,
                change.to,
                &change.reason,
                closed.map(|i| i.duration(now)),
            );
            queued += self.route(now, n, incident, routing, queue);
        }
        queued + self.on_wake(now, state, routing, queue)
    }

    /// Sends what is due at `now`: held problems whose cooldown ended, and reminders.
    /// Returns how many notifications it queued.
    pub fn on_wake(
        &mut self,
        now: Timestamp,
        state: &MonitorState,
        routing: &Routing<'_>,
        queue: &mut DeliveryQueue,
    ) -> usize {
        if self.channels.is_empty() {
            // No channel was ever told anything: nothing can be held or due.
            return 0;
        }
        let mut queued = 0;
        let reminder = routing.notifications.settings.reminder;
        let takes_reminders: Vec<String> = routing
            .notifications
            .recipients(&routing.service.notifications, Event::Reminder)
            .into_iter()
            .map(|c| c.name.clone())
            .collect();
        for (name, ch) in &mut self.channels {
            if let Some((held, at)) = ch.held.take() {
                if at > now {
                    ch.held = Some((held, at));
                } else {
                    let incident = (held.event() == Event::Down).then_some(held.since);
                    send(now, name, ch, held, incident, reminder.filter(|_| takes_reminders.contains(name)), queue);
                    queued += 1;
                }
            }
            let due = ch.reminder_at.is_some_and(|t| t <= now);
            if due && ch.told == Some(Event::Down) && state.status == Status::Down {
                let started = state.incident.as_ref().map_or(state.status_since, |i| i.started_at);
                let reason = state.incident.as_ref().map(|i| i.cause.as_str()).unwrap_or_default();
                let mut n =
                    notification(routing, ServiceEvent::Reminder, started, Status::Down, Status::Down, reason, None);
                n.duration = Some(now.since(started));
                n.suppressed = std::mem::take(&mut ch.suppressed);
                queue.push(now, name, n, Some(started));
                queued += 1;
                ch.reminder_at = reminder.map(|r| now.plus(r));
            } else if due {
                ch.reminder_at = None;
            }
        }
        queued
    }

    /// Queues, holds or drops `n` for each channel the routing sends its event to; returns
    /// how many it queued.
    fn route(
        &mut self,
        now: Timestamp,
        n: Notification,
        incident: Option<Timestamp>,
        routing: &Routing<'_>,
        queue: &mut DeliveryQueue,
    ) -> usize {
        let settings = &routing.notifications.settings;
        let policy = &routing.service.notifications;
        let takes = |event: Event| -> Vec<String> {
            routing.notifications.recipients(policy, event).into_iter().map(|c| c.name.clone()).collect()
        };
        let event = n.event();
        let recipients = takes(event);
        let reminders = takes(Event::Reminder);
        let mut queued = 0;
        if event == Event::Up {
            for (name, ch) in &mut self.channels {
                ch.reminder_at = None;
                if ch.held.take().is_some() {
                    // The problem and its recovery: two messages the channel did not get.
                    ch.suppressed += 1 + u32::from(recipients.contains(name));
                }
                let told_problem = ch.told.is_some_and(|e| severity(e).is_some());
                if told_problem && recipients.contains(name) {
                    send(now, name, ch, n.clone(), incident, None, queue);
                    queued += 1;
                } else if told_problem {
                    ch.told = Some(Event::Up);
                }
            }
            return queued;
        }
        let new = severity(event);
        for name in recipients {
            let ch = self.channels.entry(name.clone()).or_default();
            if event == Event::Down && incident.is_some() && ch.down_incident == incident {
                continue;
            }
            let cooling = ch.last_problem.filter(|(_, at)| at.plus(settings.cooldown) > now);
            match cooling {
                Some((old, at)) if new <= severity(old) => {
                    let end = at.plus(settings.cooldown);
                    if ch.held.is_some() {
                        ch.suppressed += 1;
                    }
                    ch.held = Some((n.clone(), end));
                }
                _ => {
                    let remind = settings.reminder.filter(|_| reminders.contains(&name));
                    send(now, &name, ch, n.clone(), incident, remind, queue);
                    queued += 1;
                }
            }
        }
        queued
    }

    /// A pause or reset makes held problems moot.
    fn forget_held(&mut self) {
        for ch in self.channels.values_mut() {
            ch.reminder_at = None;
            if ch.held.take().is_some() {
                ch.suppressed += 1;
            }
        }
    }

    /// The earliest time a held notification or a reminder is due.
    pub fn next_wake(&self) -> Option<Timestamp> {
        self.channels.values().flat_map(|c| [c.held.as_ref().map(|h| h.1), c.reminder_at]).flatten().min()
    }
}

/// Queues `n` for channel `name` and records what the channel now knows.
fn send(
    now: Timestamp,
    name: &str,
    ch: &mut ChannelState,
    mut n: Notification,
    incident: Option<Timestamp>,
    reminder: Option<std::time::Duration>,
    queue: &mut DeliveryQueue,
) {
    n.suppressed = std::mem::take(&mut ch.suppressed);
    let event = n.event();
    ch.told = Some(event);
    if severity(event).is_some() {
        ch.last_problem = Some((event, now));
    }
    if event == Event::Down {
        ch.down_incident = incident;
        ch.reminder_at = reminder.map(|r| now.plus(r));
    }
    queue.push(now, name, n, incident);
}

/// The notification for a status event of the routed service.
fn notification(
    routing: &Routing<'_>,
    event: ServiceEvent,
    since: Timestamp,
    from: Status,
    to: Status,
    reason: &str,
    duration: Option<std::time::Duration>,
) -> Notification {
    let s = routing.service;
    Notification {
        subject: Subject::Service(event),
        service_id: s.id.to_string(),
        service_name: s.name.clone(),
        group: s.group.as_ref().map(ToString::to_string),
        status: to,
        previous_status: from,
        since,
        duration,
        message: Some(reason.to_owned()).filter(|r| !r.trim().is_empty()),
        dashboard_url: routing.dashboard_url.map(|base| format!("{base}/services/{}", s.id)),
        suppressed: 0,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;
    use crate::config::Config;
    use crate::monitor::{Heartbeat, MonitorConfig, Reported};
    use crate::record::ServiceRecord;

    const SERVICES: &str = r#"{"services": [
        {"id": "api", "name": "API", "stalenessThreshold": 60, "gracePeriod": 30},
        {"id": "quiet", "name": "Quiet", "stalenessThreshold": 60,
         "notifications": {"channels": ["ops"], "events": ["down"]}}
    ]}"#;
    const CHANNELS: &str = r#"{"channels": [
        {"type": "discord", "name": "ops"},
        {"type": "slack", "name": "team", "events": ["down", "up", "late"]}
    ], "settings": {"cooldownMinutes": 5, "reminderMinutes": 30}}"#;

    struct Fixture {
        config: Config,
        notifications: NotificationsConfig,
        record: ServiceRecord,
        sent: Vec<(String, Event, u32)>,
    }

    fn fixture(id: &str) -> Fixture {
        let config = Config::parse(Some(SERVICES), None).unwrap();
        let record = ServiceRecord::new(
            crate::config::ServiceId::parse(id).unwrap(),
            MonitorConfig::from(config.service(id).unwrap()),
            Timestamp(0),
        );
        let notifications = NotificationsConfig::parse(Some(CHANNELS)).unwrap();
        Fixture { config, notifications, record, sent: Vec::new() }
    }

    const MIN: i64 = 60_000;

    impl Fixture {
        /// Runs `f` on the record at `ms`, routes its effects and collects what was queued.
        fn at(
            &mut self,
            ms: i64,
            f: impl FnOnce(&mut ServiceRecord, Timestamp) -> Vec<Effect>,
        ) -> Vec<(String, Event, u32)> {
            let now = Timestamp(ms);
            let effects = f(&mut self.record, now);
            let (config, notifications) = (self.config.clone(), self.notifications.clone());
            let routing = Routing {
                notifications: &notifications,
                service: config.service(self.record.service_id.as_str()).unwrap(),
                dashboard_url: Some("https://status.example.com"),
            };
            let from = self.record.deliveries.pending.len();
            let queued = self.record.notify(now, &effects, &routing);
            let new: Vec<(String, Event, u32)> = self.record.deliveries.pending[from..]
                .iter()
                .map(|d| (d.channel.clone(), d.notification.event(), d.notification.suppressed))
                .collect();
            assert_eq!(queued, !new.is_empty(), "notify says whether it queued anything");
            self.sent.extend(new.clone());
            new
        }

        fn beat(&mut self, ms: i64, reported: Reported) -> Vec<(String, Event, u32)> {
            self.at(ms, |r, now| r.on_heartbeat(now, Heartbeat { reported, ..Heartbeat::default() }).unwrap())
        }

        fn alarm(&mut self, ms: i64) -> Vec<(String, Event, u32)> {
            self.at(ms, |r, now| r.on_alarm(now))
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
        let n = &f.record.deliveries.pending.last().unwrap().notification;
        assert_eq!(n.duration, Some(Duration::from_millis((2 * MIN - 30_000) as u64)));
        assert_eq!(n.dashboard_url.as_deref(), Some("https://status.example.com/services/api"));
        let down = &f.record.deliveries.pending[1];
        assert_eq!(down.incident, Some(Timestamp(MIN + 30_000)));
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
        assert_eq!(f.record.notifier.next_wake(), None);
        assert_eq!(f.beat(10 * MIN, Reported::Down), q(&[("ops", Event::Down, 2), ("team", Event::Down, 2)]));
        assert_eq!(f.record.deliveries.pending.last().unwrap().notification.suppressed, 2);
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
        assert_eq!(f.record.notifier.next_wake(), Some(Timestamp(1_000 + 30 * MIN)));
        assert_eq!(f.alarm(1_000 + 30 * MIN), q(&[("ops", Event::Reminder, 0)]), "team does not take reminders");
        let reminder = &f.record.deliveries.pending.last().unwrap().notification;
        assert_eq!(reminder.duration, Some(Duration::from_secs(30 * 60)));
        assert_eq!(f.alarm(1_000 + 60 * MIN).len(), 1);
        f.beat(61 * MIN, Reported::Up);
        assert_eq!(f.record.notifier.next_wake(), None);
        assert_eq!(f.alarm(61 * MIN + 1_000), [], "no reminder after recovery");
    }

    #[test]
    fn a_service_policy_narrows_channels_and_events() {
        let mut f = fixture("quiet");
        f.beat(0, Reported::Up);
        assert_eq!(f.alarm(MIN), q(&[("ops", Event::Down, 0)]), "only the channel it names");
        assert_eq!(f.beat(2 * MIN, Reported::Up), [], "nor is up");
    }

    /// A notifier as the code before `Subject` stored it: `ops` told `down`, a `down` held.
    const STORED_NOTIFIER: &str = r#"{"channels":{"ops":{"told":"down","lastProblem":["down",5],"downIncident":5,"held":[{"event":"down","serviceId":"api-prod","serviceName":"Production API","group":"production","status":"down","previousStatus":"up","since":1763753600000,"duration":null,"message":"no heartbeat within 300 s","dashboardUrl":"https://status.example.com/services/api-prod","suppressed":0},300005],"suppressed":2,"reminderAt":1800005}}}"#;

    #[test]
    fn a_notifier_stored_by_earlier_versions_reads_back_unchanged() {
        let n: ServiceNotifier = serde_json::from_str(STORED_NOTIFIER).unwrap();
        let expected = ChannelState {
            told: Some(Event::Down),
            last_problem: Some((Event::Down, Timestamp(5))),
            down_incident: Some(Timestamp(5)),
            held: Some((crate::notify::message::tests::down(), Timestamp(300_005))),
            suppressed: 2,
            reminder_at: Some(Timestamp(1_800_005)),
        };
        assert_eq!(n.channels.into_iter().collect::<Vec<_>>(), [("ops".to_owned(), expected)]);
        let n: ServiceNotifier = serde_json::from_str(STORED_NOTIFIER).unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), STORED_NOTIFIER, "written back byte for byte");
    }

    #[test]
    fn pausing_drops_held_problems() {
        let mut f = fixture("api");
        f.beat(0, Reported::Up);
        f.beat(1_000, Reported::Down);
        f.beat(2_000, Reported::Up);
        f.beat(3_000, Reported::Down);
        let paused = MonitorConfig { enabled: false, ..*f.record.monitor.config() };
        assert_eq!(f.at(4_000, |r, now| r.on_config(now, paused)), []);
        assert_eq!(f.record.notifier.next_wake(), None);
    }
}
