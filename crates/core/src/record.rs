//! Everything one ServiceMonitor Durable Object persists, and the single place that decides
//! its one alarm.
//!
//! The shell's sequence per event is: load the record → call one `on_*` method with `now` →
//! persist the record → apply the returned [`AlarmAction`] → carry out side effects.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::ServiceId;
use crate::history::{Backpressure, FlushBatch, History};
use crate::monitor::{Effect, Heartbeat, Monitor, MonitorConfig, Status};
use crate::notify::queue::DeliveryQueue;
use crate::notify::service::{Routing, ServiceNotifier};
use crate::time::Timestamp;

/// What the shell must do with the Durable Object alarm after an event.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum AlarmAction {
    /// Leave it: the armed alarm fires no later than needed (an early alarm is a no-op).
    Keep,
    /// Set it to this absolute time (epoch ms, UTC).
    Set(Timestamp),
}

/// Why the record wants to be woken.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Wake {
    /// The monitor's staleness or grace deadline.
    Deadline,
    /// Buffered history must be written to D1.
    Flush,
    /// A notification is due: a delivery attempt, a retry, a held problem or a reminder.
    Notify,
}

/// The persisted state of one ServiceMonitor: monitor, history and the armed alarm.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRecord {
    /// The service this record belongs to.
    pub service_id: ServiceId,
    /// The state machine.
    pub monitor: Monitor,
    /// What is owed to D1.
    pub history: History,
    /// The alarm time last set, cleared when it fires.
    pub armed: Option<Timestamp>,
    /// What each notification channel was told about this service.
    #[serde(default, skip_serializing_if = "is_default")]
    pub notifier: ServiceNotifier,
    /// Notifications on their way, and attempt records owed to D1 `alert_history`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub deliveries: DeliveryQueue,
}

/// Whether `v` is its type's default: left out of the stored JSON, so a service that never
/// notified pays nothing for it on each heartbeat's write.
fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl ServiceRecord {
    /// A fresh record for a service first seen at `now`.
    pub fn new(service_id: ServiceId, config: MonitorConfig, now: Timestamp) -> Self {
        let mut history = History::default();
        history.rollups.accounted_until = Some(now);
        Self {
            service_id,
            monitor: Monitor::new(config, now),
            history,
            armed: None,
            notifier: ServiceNotifier::default(),
            deliveries: DeliveryQueue::default(),
        }
    }

    /// Records a heartbeat received at `now`.
    ///
    /// # Errors
    /// [`Backpressure`] when the history buffer is full; nothing is changed then.
    pub fn on_heartbeat(&mut self, now: Timestamp, hb: Heartbeat) -> Result<Vec<Effect>, Backpressure> {
        self.history.admit()?;
        let before = self.monitor.status();
        let effects = self.monitor.on_heartbeat(now, hb);
        self.history.apply(now, before, &effects);
        Ok(effects)
    }

    /// Handles the Durable Object alarm at `now`: the armed alarm is spent; deadlines are
    /// checked. Flushing is the shell's next step ([`ServiceRecord::begin_flush`]).
    #[must_use]
    pub fn on_alarm(&mut self, now: Timestamp) -> Vec<Effect> {
        self.armed = None;
        let before = self.monitor.status();
        let effects = self.monitor.on_alarm(now);
        self.history.apply(now, before, &effects);
        effects
    }

    /// Applies the deployed config if it differs from the one the monitor holds.
    #[must_use]
    pub fn on_config(&mut self, now: Timestamp, config: MonitorConfig) -> Vec<Effect> {
        if *self.monitor.config() == config {
            return Vec::new();
        }
        let before = self.monitor.status();
        let effects = self.monitor.on_config(now, config);
        self.history.apply(now, before, &effects);
        effects
    }

    /// Queues the notifications that `effects` (returned by an `on_*` call at `now`) cause,
    /// and those due at `now` (held problems, reminders); see [`ServiceNotifier`]. Returns
    /// whether anything was queued.
    pub fn notify(&mut self, now: Timestamp, effects: &[Effect], routing: &Routing<'_>) -> bool {
        self.notifier.on_effects(now, effects, self.monitor.state(), routing, &mut self.deliveries) > 0
    }

    /// The earliest time this record must be woken, and why.
    pub fn next_wake(&self, flush_interval: Duration) -> Option<(Timestamp, Wake)> {
        let notify = [self.notifier.next_wake(), self.deliveries.next_wake()].into_iter().flatten().min();
        [
            self.monitor.next_deadline().map(|(t, _)| (t, Wake::Deadline)),
            self.history.flush_due(flush_interval).map(|t| (t, Wake::Flush)),
            notify.map(|t| (t, Wake::Notify)),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|(t, _)| *t)
    }

    /// Decides the alarm after an event at `now` and records the decision. The alarm is
    /// only set when it must fire earlier than the armed one (or none is armed): a deadline
    /// that moved later leaves the earlier alarm in place, which then fires, finds nothing
    /// due and re-arms — one billed write instead of one per heartbeat. An armed time not
    /// after `now` is treated as spent (a record loaded after its alarm fired may still
    /// hold it), so the worst case is one redundant `setAlarm`, never a missing one.
    pub fn rearm(&mut self, now: Timestamp, flush_interval: Duration) -> AlarmAction {
        let Some((wanted, _)) = self.next_wake(flush_interval) else {
            return AlarmAction::Keep;
        };
        match self.armed {
            Some(armed) if armed > now && armed <= wanted => AlarmAction::Keep,
            _ => {
                self.armed = Some(wanted);
                AlarmAction::Set(wanted)
            }
        }
    }

    /// Starts writing history at `now`; see [`History::begin_flush`].
    pub fn begin_flush(&mut self, now: Timestamp) -> Option<FlushBatch> {
        self.history.begin_flush(now, self.monitor.status())
    }

    /// Ends a flush; see [`History::finish_flush`].
    pub fn finish_flush(&mut self, now: Timestamp, batch: &FlushBatch, ok: bool) {
        self.history.finish_flush(now, batch, ok);
    }

    /// The service's status as D1's `service_state` row holds it (written with rollups).
    pub fn snapshot(&self) -> ServiceSnapshot {
        let state = self.monitor.state();
        ServiceSnapshot {
            service_id: self.service_id.clone(),
            status: state.status,
            status_since: state.status_since,
            incident_started_at: state.incident.as_ref().map(|i| i.started_at),
        }
    }
}

/// A service's status at a moment, as stored in D1 `service_state`. Last heartbeat, last
/// message and next deadline are not stored there: readers derive them from the
/// `heartbeats` table and the config (see [`crate::monitor::deadline`]).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSnapshot {
    /// The service.
    pub service_id: ServiceId,
    /// Current status.
    pub status: Status,
    /// When it began (epoch ms).
    pub status_since: Timestamp,
    /// Start of the open incident, if down.
    pub incident_started_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const FLUSH: Duration = Duration::from_secs(10);

    fn record() -> ServiceRecord {
        let cfg =
            MonitorConfig { staleness_threshold: Duration::from_secs(60), grace_period: Duration::ZERO, enabled: true };
        ServiceRecord::new(ServiceId::parse("api").unwrap(), cfg, Timestamp(0))
    }

    #[test]
    fn later_deadlines_do_not_rearm_the_alarm() {
        let mut r = record();
        let _ = r.on_heartbeat(Timestamp(1_000), Heartbeat::default()).unwrap();
        // unknown → up is a status change: flush at once.
        assert_eq!(r.rearm(Timestamp(1_000), FLUSH), AlarmAction::Set(Timestamp(1_000)));
        let _ = r.on_heartbeat(Timestamp(900), Heartbeat::default()).unwrap();
        assert_eq!(r.rearm(Timestamp(900), FLUSH), AlarmAction::Keep);
        assert_eq!(r.rearm(Timestamp(1_000), FLUSH), AlarmAction::Set(Timestamp(1_000)), "a spent alarm is set again");
    }

    #[test]
    fn steady_traffic_needs_one_alarm_per_flush_interval_and_idle_returns_to_the_deadline() {
        let mut r = record();
        let _ = r.on_heartbeat(Timestamp(1_000), Heartbeat::default()).unwrap();
        let _ = r.rearm(Timestamp(1_000), FLUSH);
        assert!(r.on_alarm(Timestamp(1_000)).is_empty());
        let batch = r.begin_flush(Timestamp(1_000)).unwrap();
        r.finish_flush(Timestamp(1_010), &batch, true);
        assert_eq!(r.rearm(Timestamp(1_010), FLUSH), AlarmAction::Set(Timestamp(11_000)));
        for t in [3_000, 6_000, 9_000] {
            let _ = r.on_heartbeat(Timestamp(t), Heartbeat::default()).unwrap();
            assert_eq!(r.rearm(Timestamp(t), FLUSH), AlarmAction::Keep);
        }
        let _ = r.on_alarm(Timestamp(11_000));
        let batch = r.begin_flush(Timestamp(11_000)).unwrap();
        assert_eq!(batch.outbox.heartbeats.len(), 3);
        r.finish_flush(Timestamp(11_000), &batch, true);
        assert_eq!(r.rearm(Timestamp(11_000), FLUSH), AlarmAction::Set(Timestamp(21_000)));
        let _ = r.on_alarm(Timestamp(21_000));
        assert!(r.begin_flush(Timestamp(21_000)).is_none());
        assert_eq!(r.rearm(Timestamp(21_000), FLUSH), AlarmAction::Set(Timestamp(69_000)), "idle: the deadline");
    }
}
