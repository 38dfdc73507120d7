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
//!   reminders, until the service recovers or the incident is acknowledged; reminders ignore
//!   the cooldown;
//! - an escalation level ([`crate::escalation`]) sends `escalation` once to its channels,
//!   whatever events they take and ignoring the cooldown; those channels are sent the
//!   incident's `up` too, so a paging service resolves what it was paged about.
//!
//! `down`, `reminder` and `escalation` carry the signed link acknowledging the incident
//! ([`Notification::ack_url`]) when the routing has [`Routing::ack_links`] and a dashboard URL.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::ServiceConfig;
use crate::escalation::AckLinks;
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
    /// The signed acknowledgement links, when the deployment has a server secret.
    pub ack_links: Option<&'a AckLinks>,
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
    /// The incident (its start) an escalation level sent this channel, until the channel is
    /// sent that incident's `up`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated: Option<Timestamp>,
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
            if let Effect::Escalated { level, incident } = effect {
                queued += self.escalate(now, *level, incident, state, routing, queue);
                continue;
            }
            let Effect::StatusChanged(change) = effect else {
                continue;
            };
            if change.from == Status::Maintenance {
                // The end of a window sends nothing: the deadline restarts, and a service still
                // in trouble is notified when it misses it.
                continue;
            }
            let event = match change.to {
                Status::Down => ServiceEvent::Down,
                Status::Degraded => ServiceEvent::Degraded,
                Status::Late => ServiceEvent::Late,
                Status::Up => ServiceEvent::Up,
                Status::Paused | Status::Unknown | Status::Maintenance => {
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
            let mut n = notification(
                routing,
                state,
                event,
                change.at,
                change.from,
                change.to,
                &change.reason,
                closed.map(|i| i.duration(now)),
            );
            if event == ServiceEvent::Down {
                n.ack_url = ack_url(routing, state, now);
            }
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
            let acknowledged = state.incident.as_ref().is_some_and(|i| i.acknowledged.is_some());
            if due && ch.told == Some(Event::Down) && state.status == Status::Down && !acknowledged {
                let started = state.incident.as_ref().map_or(state.status_since, |i| i.started_at);
                let reason = state.incident.as_ref().map(|i| i.cause.as_str()).unwrap_or_default();
                let mut n = notification(
                    routing,
                    state,
                    ServiceEvent::Reminder,
                    started,
                    Status::Down,
                    Status::Down,
                    reason,
                    None,
                );
                n.duration = Some(now.since(started));
                n.suppressed = std::mem::take(&mut ch.suppressed);
                n.ack_url = ack_url(routing, state, now);
                queue.push(now, name, n, Some(started));
                queued += 1;
                ch.reminder_at = reminder.map(|r| now + r);
            } else if due {
                ch.reminder_at = None;
            }
        }
        queued
    }

    /// Queues escalation `level` (1-based) of `incident` to the level's channels at `now`;
    /// returns how many it queued.
    fn escalate(
        &mut self,
        now: Timestamp,
        level: u8,
        incident: &crate::monitor::Incident,
        state: &MonitorState,
        routing: &Routing<'_>,
        queue: &mut DeliveryQueue,
    ) -> usize {
        let Some(policy) = routing.service.escalation.get(usize::from(level).saturating_sub(1)) else {
            return 0;
        };
        let mut n = notification(
            routing,
            state,
            ServiceEvent::Escalation,
            incident.started_at,
            Status::Down,
            Status::Down,
            &format!("escalation level {level}: {}", incident.cause),
            None,
        );
        n.duration = Some(now.since(incident.started_at));
        n.ack_url = ack_url(routing, state, now);
        let recipients = routing.notifications.escalation_recipients(&routing.service.notifications, policy);
        for channel in &recipients {
            self.channels.entry(channel.name.clone()).or_default().escalated = Some(incident.started_at);
            queue.push(now, &channel.name, n.clone(), Some(incident.started_at));
        }
        recipients.len()
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
                let escalated = ch.escalated.take().is_some();
                if (told_problem && recipients.contains(name)) || escalated {
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
            let cooling = ch.last_problem.filter(|(_, at)| *at + settings.cooldown > now);
            match cooling {
                Some((old, at)) if new <= severity(old) => {
                    let end = at + settings.cooldown;
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

    /// A pause or reset makes held problems moot, and what channels were told: the heartbeat
    /// that next makes the service `up` ends the pause, which notifies no one (as
    /// healthchecks.io's paused → up).
    fn forget_held(&mut self) {
        for ch in self.channels.values_mut() {
            ch.reminder_at = None;
            ch.told = None;
            ch.escalated = None;
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
        ch.reminder_at = reminder.map(|r| now + r);
    }
    queue.push(now, name, n, incident);
}

/// The signed link acknowledging the open incident in `state`, made at `now`; `None`
/// without one, without links or without a dashboard URL.
fn ack_url(routing: &Routing<'_>, state: &MonitorState, now: Timestamp) -> Option<String> {
    let incident = state.incident.as_ref()?;
    routing.ack_links?.link(routing.dashboard_url?, routing.service.id.as_str(), incident.started_at, now)
}

/// The notification for a status event of the routed service whose monitor is in `state`
/// (its last heartbeat's time, and its metadata when `settings.includeMetadata` is on).
#[allow(clippy::too_many_arguments)]
fn notification(
    routing: &Routing<'_>,
    state: &MonitorState,
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
        last_seen: state.last_heartbeat,
        metadata: state.last_metadata.clone().filter(|_| routing.notifications.settings.include_metadata),
        ack_url: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A notifier as the code before `Subject` stored it: `ops` told `down`, a `down` held.
    const STORED_NOTIFIER: &str = r#"{"channels":{"ops":{"told":"down","lastProblem":["down",5],"downIncident":5,"held":[{"event":"down","serviceId":"api-prod","serviceName":"Production API","group":"production","status":"down","previousStatus":"up","since":1763753600000,"duration":null,"message":"no heartbeat within 300 s","dashboardUrl":"https://status.example.com/services/api-prod","suppressed":0},300005],"suppressed":2,"reminderAt":1800005}}}"#;

    #[test]
    fn a_notifier_stored_by_earlier_versions_reads_back_unchanged() {
        let n: ServiceNotifier = serde_json::from_str(STORED_NOTIFIER).unwrap();
        let expected = ChannelState {
            told: Some(Event::Down),
            last_problem: Some((Event::Down, Timestamp::from_millis(5))),
            down_incident: Some(Timestamp::from_millis(5)),
            held: Some((crate::notify::message::tests::down(), Timestamp::from_millis(300_005))),
            suppressed: 2,
            reminder_at: Some(Timestamp::from_millis(1_800_005)),
            escalated: None,
        };
        assert_eq!(n.channels.into_iter().collect::<Vec<_>>(), [("ops".to_owned(), expected)]);
        let n: ServiceNotifier = serde_json::from_str(STORED_NOTIFIER).unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), STORED_NOTIFIER, "written back byte for byte");
    }
}
