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
}

impl ServiceRecord {
    /// A fresh record for a service first seen at `now`.
    pub fn new(service_id: ServiceId, config: MonitorConfig, now: Timestamp) -> Self {
        let mut history = History::default();
        history.rollups.accounted_until = Some(now);
        history.dirty = true;
        Self {
            service_id,
            monitor: Monitor::new(config, now),
            history,
            armed: None,
        }
    }

    /// Records a heartbeat received at `now`.
    ///
    /// # Errors
    /// [`Backpressure`] when the history buffer is full; nothing is changed then.
    pub fn on_heartbeat(
        &mut self,
        now: Timestamp,
        hb: Heartbeat,
    ) -> Result<Vec<Effect>, Backpressure> {
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
        self.history.dirty = true;
        effects
    }

    /// The earliest time this record must be woken, and why.
    pub fn next_wake(&self, flush_interval: Duration) -> Option<(Timestamp, Wake)> {
        let deadline = self
            .monitor
            .next_deadline()
            .map(|(t, _)| (t, Wake::Deadline));
        let flush = self
            .history
            .flush_due(flush_interval)
            .map(|t| (t, Wake::Flush));
        match (deadline, flush) {
            (Some(d), Some(f)) => Some(if f.0 < d.0 { f } else { d }),
            (d, f) => d.or(f),
        }
    }

    /// Decides the alarm after an event and records the decision. The alarm is only set
    /// when it must fire earlier than the armed one (or none is armed): a deadline that
    /// moved later leaves the earlier alarm in place, which then fires, finds nothing due
    /// and re-arms — one billed write instead of one per heartbeat.
    pub fn rearm(&mut self, flush_interval: Duration) -> AlarmAction {
        let Some((wanted, _)) = self.next_wake(flush_interval) else {
            return AlarmAction::Keep;
        };
        match self.armed {
            Some(armed) if armed <= wanted => AlarmAction::Keep,
            _ => {
                self.armed = Some(wanted);
                AlarmAction::Set(wanted)
            }
        }
    }

    /// Whether a flush is due at `now`.
    pub fn flush_due_at(&self, now: Timestamp, flush_interval: Duration) -> bool {
        self.history
            .flush_due(flush_interval)
            .is_some_and(|t| t <= now)
    }

    /// Starts writing history at `now`; see [`History::begin_flush`].
    pub fn begin_flush(&mut self, now: Timestamp) -> Option<FlushBatch> {
        self.history.begin_flush(now, self.monitor.status())
    }

    /// Ends a flush; see [`History::finish_flush`].
    pub fn finish_flush(&mut self, now: Timestamp, batch: &FlushBatch, ok: bool) {
        self.history.finish_flush(now, batch.accounted_until, ok);
    }

    /// The service's current state as the APIs and D1's `service_state` row show it.
    pub fn snapshot(&self, flush_interval: Duration) -> ServiceSnapshot {
        let state = self.monitor.state();
        ServiceSnapshot {
            service_id: self.service_id.clone(),
            status: state.status,
            status_since: state.status_since,
            last_heartbeat: state.last_heartbeat,
            last_message: state.last_message.clone(),
            next_deadline: self.monitor.next_deadline().map(|(t, _)| t),
            incident_started_at: state.incident.as_ref().map(|i| i.started_at),
            accounted_until: self.history.rollups.accounted_until,
            alarm_at: self.next_wake(flush_interval).map(|(t, _)| t),
        }
    }
}

/// A service's state at a moment, as stored in D1 `service_state` and returned by the
/// ServiceMonitor.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSnapshot {
    /// The service.
    pub service_id: ServiceId,
    /// Current status.
    pub status: Status,
    /// When it began (epoch ms).
    pub status_since: Timestamp,
    /// Last heartbeat (epoch ms).
    pub last_heartbeat: Option<Timestamp>,
    /// Last heartbeat's message.
    pub last_message: Option<String>,
    /// When the next heartbeat (or the grace period) is due.
    pub next_deadline: Option<Timestamp>,
    /// Start of the open incident, if down.
    pub incident_started_at: Option<Timestamp>,
    /// Time up to which uptime rollups are accrued.
    pub accounted_until: Option<Timestamp>,
    /// When the Durable Object next wakes.
    pub alarm_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const FLUSH: Duration = Duration::from_secs(10);

    fn record() -> ServiceRecord {
        let cfg = MonitorConfig {
            staleness_threshold: Duration::from_secs(60),
            grace_period: Duration::ZERO,
            enabled: true,
        };
        ServiceRecord::new(ServiceId::parse("api").unwrap(), cfg, Timestamp(0))
    }

    #[test]
    fn later_deadlines_do_not_rearm_the_alarm() {
        let mut r = record();
        let _ = r
            .on_heartbeat(Timestamp(1_000), Heartbeat::default())
            .unwrap();
        // unknown → up is a status change: flush at once.
        assert_eq!(r.rearm(FLUSH), AlarmAction::Set(Timestamp(1_000)));
        let _ = r
            .on_heartbeat(Timestamp(2_000), Heartbeat::default())
            .unwrap();
        assert_eq!(r.rearm(FLUSH), AlarmAction::Keep);
    }

    #[test]
    fn an_alarm_with_nothing_due_rearms_for_the_real_deadline() {
        let mut r = record();
        let _ = r
            .on_heartbeat(Timestamp(1_000), Heartbeat::default())
            .unwrap();
        let _ = r.rearm(FLUSH);
        assert!(r.on_alarm(Timestamp(1_000)).is_empty());
        let batch = r.begin_flush(Timestamp(1_000)).unwrap();
        r.finish_flush(Timestamp(1_010), &batch, true);
        assert_eq!(r.rearm(FLUSH), AlarmAction::Set(Timestamp(61_000)));
    }
}
