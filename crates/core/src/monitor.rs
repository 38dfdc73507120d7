//! The monitor state machine of one service: heartbeats and alarms in, effects out.
//!
//! Pure and clock-free: every input carries `now`. [`Monitor::next_deadline`] is derived from
//! state, never stored, and early, late or repeated alarms are harmless (DO alarms are
//! at-least-once and may fire late).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::ServiceConfig;
use crate::schedule::Schedule;
use crate::time::Timestamp;

/// A service's status.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Never heard from (or re-enabled and not heard from since).
    Unknown,
    /// Heartbeats arrive in time.
    Up,
    /// The deadline passed; still inside the grace period.
    Late,
    /// Deadline and grace passed, or a heartbeat reported `down`.
    Down,
    /// The last heartbeat reported `degraded`.
    Degraded,
    /// Monitoring is disabled (`enabled: false`): no deadlines, no incidents.
    Paused,
}

impl Status {
    /// Every status, in dashboard order.
    pub const ALL: [Status; 6] =
        [Status::Up, Status::Late, Status::Degraded, Status::Down, Status::Paused, Status::Unknown];

    /// The lower-case name used in JSON and D1.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Up => "up",
            Status::Late => "late",
            Status::Down => "down",
            Status::Degraded => "degraded",
            Status::Paused => "paused",
        }
    }

    /// Parses the lower-case name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a heartbeat says about the service (`status` in the request, default `up`).
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reported {
    /// Working.
    #[default]
    Up,
    /// Working with trouble; the service becomes `degraded`.
    Degraded,
    /// A failure signal: the service becomes `down` at once and an incident opens.
    Down,
}

impl Reported {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reported::Up => "up",
            Reported::Degraded => "degraded",
            Reported::Down => "down",
        }
    }
}

/// The part of a service's config the state machine needs.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct MonitorConfig {
    /// Time from a heartbeat to the next one's deadline.
    pub staleness_threshold: Duration,
    /// Time after the deadline spent `late` before `down`.
    pub grace_period: Duration,
    /// Whether monitoring is on; off means `paused`.
    pub enabled: bool,
    /// The cron schedule heartbeats follow instead of the period: the next one is due at the
    /// schedule's first occurrence after the last one (in its time zone). Absent in records
    /// stored before schedules existed, and for services on a period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

impl From<&ServiceConfig> for MonitorConfig {
    fn from(s: &ServiceConfig) -> Self {
        Self {
            staleness_threshold: s.staleness_threshold,
            grace_period: s.grace_period,
            enabled: s.enabled,
            schedule: s.schedule.clone(),
        }
    }
}

/// Why the monitor wants to be woken.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Deadline {
    /// The next heartbeat is due (last heartbeat + staleness threshold, or the schedule's
    /// next occurrence after the last heartbeat).
    Heartbeat,
    /// The grace period ends (deadline + grace period).
    Grace,
}

/// An incident: one down → up cycle.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    /// When the service went down.
    pub started_at: Timestamp,
    /// When it recovered; `None` while open.
    pub ended_at: Option<Timestamp>,
    /// Why it went down, e.g. `no heartbeat within 300 s`.
    pub cause: String,
}

impl Incident {
    /// Downtime so far (to `now`) or in total once closed.
    pub fn duration(&self, now: Timestamp) -> Duration {
        self.ended_at.unwrap_or(now).since(self.started_at)
    }
}

/// A recorded heartbeat, as stored in the history.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatEvent {
    /// Per-service sequence number, strictly increasing.
    pub seq: u64,
    /// When the Durable Object received it.
    pub at: Timestamp,
    /// What the heartbeat reported.
    pub reported: Reported,
    /// Its message, if any (≤ 1 KiB).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
    /// Its metadata object as JSON text (≤ 4 KiB), if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub metadata: Option<String>,
    /// Its metrics object as JSON text (values already clamped), if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub metrics: Option<String>,
}

/// Which signal of a job's run a heartbeat is (`event` in the native JSON; healthchecks.io's
/// ping URL suffixes `/start`, `/fail`, `/log` and `/<exit-status>`). Default `success`: a
/// plain heartbeat.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// The run (or, for a plain heartbeat, the service) succeeded.
    #[default]
    Success,
    /// A run started; it ends with a later `success` or `fail` (paired by run id if given).
    Start,
    /// The run failed.
    Fail,
    /// Output only: recorded, changes no status.
    Log,
}

impl Event {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Success => "success",
            Event::Start => "start",
            Event::Fail => "fail",
            Event::Log => "log",
        }
    }
}

/// A heartbeat as the state machine receives it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Heartbeat {
    /// What it reports.
    pub reported: Reported,
    /// Optional message.
    pub message: Option<String>,
    /// Optional metadata object, as JSON text.
    pub metadata: Option<String>,
    /// Optional metrics object, as JSON text.
    pub metrics: Option<String>,
    /// Which run signal it is (default `success`).
    #[serde(default, skip_serializing_if = "is_success")]
    pub event: Event,
    /// The job's exit status (0 = success, 1–255 = failure), if it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<u8>,
    /// The run id pairing a `start` with its end (healthchecks.io's `rid`, a UUID), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The run's duration in milliseconds as measured by the client, if it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The job's output (the request body of a ping; at most [`MAX_OUTPUT_BYTES`] kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// The bytes of a run's output that are kept (the first 10,000, as healthchecks.io keeps).
pub const MAX_OUTPUT_BYTES: usize = 10_000;

fn is_success(event: &Event) -> bool {
    *event == Event::Success
}

/// A status transition.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    /// Per-service sequence number (shared with heartbeats).
    pub seq: u64,
    /// When it happened.
    pub at: Timestamp,
    /// Status before.
    pub from: Status,
    /// Status after.
    pub to: Status,
    /// Human-readable reason.
    pub reason: String,
}

/// What the shell must carry out after a call.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Append this heartbeat to the history.
    Record(HeartbeatEvent),
    /// The status changed: record it (and, later, notify and publish it).
    StatusChanged(StatusChange),
    /// An incident opened (the service went down).
    IncidentOpened(Incident),
    /// The open incident closed (the service recovered); `ended_at` is set.
    IncidentClosed(Incident),
}

/// The persisted state of one service's monitor.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonitorState {
    /// Current status.
    pub status: Status,
    /// When the current status began.
    pub status_since: Timestamp,
    /// When the last heartbeat arrived.
    pub last_heartbeat: Option<Timestamp>,
    /// The last heartbeat's message.
    pub last_message: Option<String>,
    /// The last heartbeat's metadata object as JSON text (≤ 4 KiB), for notifications
    /// (`includeMetadata`). Absent in records stored before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_metadata: Option<String>,
    /// The open incident, while down.
    pub incident: Option<Incident>,
    /// The next sequence number to hand out.
    pub next_seq: u64,
}

/// One service's monitor: config plus state.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Monitor {
    config: MonitorConfig,
    state: MonitorState,
}

impl Monitor {
    /// A monitor that has not heard from its service yet (`unknown`, or `paused` if disabled).
    pub fn new(config: MonitorConfig, now: Timestamp) -> Self {
        let status = if config.enabled { Status::Unknown } else { Status::Paused };
        let state = MonitorState {
            status,
            status_since: now,
            last_heartbeat: None,
            last_message: None,
            last_metadata: None,
            incident: None,
            next_seq: 1,
        };
        Self { config, state }
    }

    /// Handles a heartbeat received at `now`.
    ///
    /// Always records it. `up` and `degraded` set the status (closing any open incident);
    /// `down` marks the service down at once and opens an incident unless one is open.
    /// A paused service records the heartbeat and stays paused.
    #[must_use]
    pub fn on_heartbeat(&mut self, now: Timestamp, hb: Heartbeat) -> Vec<Effect> {
        let mut effects = Vec::new();
        let seq = self.take_seq();
        self.state.last_heartbeat = Some(now);
        self.state.last_message.clone_from(&hb.message);
        self.state.last_metadata.clone_from(&hb.metadata);
        let message = hb.message.clone();
        effects.push(Effect::Record(HeartbeatEvent {
            seq,
            at: now,
            reported: hb.reported,
            message: hb.message,
            metadata: hb.metadata,
            metrics: hb.metrics,
        }));
        if self.state.status == Status::Paused {
            return effects;
        }
        let (to, reason) = match hb.reported {
            Reported::Up => (Status::Up, "heartbeat received".to_owned()),
            Reported::Degraded => (Status::Degraded, with_message("heartbeat reported degraded", message.as_deref())),
            Reported::Down => (Status::Down, with_message("heartbeat reported down", message.as_deref())),
        };
        self.transition(now, to, reason, &mut effects);
        effects
    }

    /// Re-applies what a heartbeat recorded earlier (as `event`) did to the state when it
    /// changed no status: the last heartbeat, its message and metadata, and the sequence
    /// numbers. Used when a record is loaded with event rows stored after it.
    /// An event older than one already applied (by its sequence number) changes nothing.
    pub fn replay(&mut self, event: &HeartbeatEvent) {
        if event.seq < self.state.next_seq {
            return;
        }
        self.state.last_heartbeat = Some(event.at);
        self.state.last_message.clone_from(&event.message);
        self.state.last_metadata.clone_from(&event.metadata);
        self.state.next_seq = event.seq + 1;
    }

    /// Skips `n` sequence numbers: ones that may have been handed out without this state
    /// knowing (see `ServiceRecord::catch_up_unavailable`).
    pub fn skip_seq(&mut self, n: u64) {
        self.state.next_seq += n;
    }

    /// Handles an alarm at `now`: `up`/`degraded` past the deadline become `late` (inside the
    /// grace period) or `down`; `late` past the grace period becomes `down`. Any other call
    /// — early, repeated, or with nothing due — returns no effects.
    #[must_use]
    pub fn on_alarm(&mut self, now: Timestamp) -> Vec<Effect> {
        let mut effects = Vec::new();
        let Some(due) = self.heartbeat_due() else {
            return effects;
        };
        if now < due {
            return effects;
        }
        let grace_end = due + self.config.grace_period;
        let missed = match &self.config.schedule {
            None => format!("no heartbeat within {} s", self.config.staleness_threshold.as_secs()),
            Some(s) => {
                format!("no heartbeat since the run due at {} ({})", due.rfc3339_in(s.zone()), s.zone().name())
            }
        };
        if now < grace_end {
            if self.state.status != Status::Late {
                let reason = format!("{missed}; in grace period until {grace_end}");
                self.transition(now, Status::Late, reason, &mut effects);
            }
        } else {
            let grace = self.config.grace_period.as_secs();
            let reason = if grace > 0 { format!("{missed} + {grace} s grace") } else { missed };
            self.transition(now, Status::Down, reason, &mut effects);
        }
        effects
    }

    /// Applies a new config at `now`. Disabling pauses (closing any open incident);
    /// re-enabling returns to `unknown` until the next heartbeat. Threshold changes move the
    /// deadline (derived, so nothing else to do).
    #[must_use]
    pub fn on_config(&mut self, now: Timestamp, config: MonitorConfig) -> Vec<Effect> {
        let mut effects = Vec::new();
        let was_enabled = self.config.enabled;
        self.config = config;
        match (was_enabled, self.config.enabled) {
            (true, false) => self.transition(now, Status::Paused, "monitoring disabled".into(), &mut effects),
            (false, true) => self.transition(now, Status::Unknown, "monitoring enabled".into(), &mut effects),
            _ => {}
        }
        effects
    }

    /// The next time this monitor must be woken, with why; `None` when nothing is pending.
    pub fn next_deadline(&self) -> Option<(Timestamp, Deadline)> {
        deadline(self.state.status, self.state.last_heartbeat, &self.config)
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.state.status
    }

    /// The full state (for snapshots and API responses).
    pub fn state(&self) -> &MonitorState {
        &self.state
    }

    /// The current config.
    pub fn config(&self) -> &MonitorConfig {
        &self.config
    }

    /// When the next heartbeat is due, if the status has a deadline (`up`, `degraded`, `late`).
    fn heartbeat_due(&self) -> Option<Timestamp> {
        heartbeat_due(self.state.status, self.state.last_heartbeat, &self.config)
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.state.next_seq;
        self.state.next_seq += 1;
        seq
    }

    fn transition(&mut self, now: Timestamp, to: Status, reason: String, effects: &mut Vec<Effect>) {
        let from = self.state.status;
        if from == to {
            return;
        }
        if to == Status::Down && self.state.incident.is_none() {
            let incident = Incident { started_at: now, ended_at: None, cause: reason.clone() };
            self.state.incident = Some(incident.clone());
            effects.push(Effect::IncidentOpened(incident));
        }
        if to != Status::Down {
            if let Some(mut incident) = self.state.incident.take() {
                incident.ended_at = Some(now);
                effects.push(Effect::IncidentClosed(incident));
            }
        }
        let seq = self.take_seq();
        self.state.status = to;
        self.state.status_since = now;
        effects.push(Effect::StatusChanged(StatusChange { seq, at: now, from, to, reason }));
    }
}

/// The deadline a service in `status` whose last heartbeat arrived at `last_heartbeat` is
/// waiting for: `up`/`degraded` wait for the next heartbeat (last + staleness threshold, or
/// the schedule's next occurrence after it),
/// `late` for the end of the grace period (+ grace period); other statuses wait for nothing.
/// Read APIs use it to show the deadline without asking the Durable Object.
pub fn deadline(
    status: Status,
    last_heartbeat: Option<Timestamp>,
    config: &MonitorConfig,
) -> Option<(Timestamp, Deadline)> {
    let due = heartbeat_due(status, last_heartbeat, config)?;
    Some(if status == Status::Late { (due + config.grace_period, Deadline::Grace) } else { (due, Deadline::Heartbeat) })
}

/// When the next heartbeat is due, for the statuses that wait for one (`up`, `degraded`,
/// `late`): last heartbeat + staleness threshold, or with a schedule its first occurrence
/// after the last heartbeat.
fn heartbeat_due(status: Status, last_heartbeat: Option<Timestamp>, config: &MonitorConfig) -> Option<Timestamp> {
    match status {
        Status::Up | Status::Degraded | Status::Late => match &config.schedule {
            None => last_heartbeat.map(|t| t + config.staleness_threshold),
            Some(s) => last_heartbeat.and_then(|t| s.next_after(t)),
        },
        Status::Unknown | Status::Down | Status::Paused => None,
    }
}

fn with_message(base: &str, message: Option<&str>) -> String {
    match message {
        Some(m) if !m.is_empty() => format!("{base}: {m}"),
        _ => base.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(threshold: u64, grace: u64) -> MonitorConfig {
        MonitorConfig {
            staleness_threshold: Duration::from_secs(threshold),
            grace_period: Duration::from_secs(grace),
            enabled: true,
            schedule: None,
        }
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("sideways"), None);
    }

    #[test]
    fn unknown_service_has_no_deadline_and_ignores_alarms() {
        let mut m = Monitor::new(cfg(60, 0), Timestamp::from_millis(0));
        assert_eq!(m.next_deadline(), None);
        assert!(m.on_alarm(Timestamp::from_millis(10_000_000)).is_empty());
        assert_eq!(m.status(), Status::Unknown);
    }

    #[test]
    fn sequence_numbers_are_shared_and_increase() {
        let mut m = Monitor::new(cfg(60, 0), Timestamp::from_millis(0));
        let e = m.on_heartbeat(Timestamp::from_millis(1), Heartbeat::default());
        let seqs: Vec<u64> = e
            .iter()
            .map(|e| match e {
                Effect::Record(h) => h.seq,
                Effect::StatusChanged(c) => c.seq,
                _ => 0,
            })
            .collect();
        assert_eq!(seqs, [1, 2]);
        assert_eq!(m.state().next_seq, 3);
    }
}
