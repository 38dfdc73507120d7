//! The monitor state machine of one service: heartbeats and alarms in, effects out.
//!
//! Pure and clock-free: every input carries `now`. [`Monitor::next_deadline`] is derived from
//! state, never stored, and early, late or repeated alarms are harmless (DO alarms are
//! at-least-once and may fire late).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{ServiceConfig, ServiceId};
use crate::dependency::{self, ParentState, Suppression};
use crate::escalation::{AckError, Acknowledgement};
use crate::maintenance::{self, MaintenanceUptime, Window};
use crate::run::{truncate_utf8, Reason, Run, RunConfig, RunOutcome, RunState};
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
    /// Inside a maintenance window: heartbeats are recorded, no deadline fires, nothing is
    /// notified; the deadline restarts when the window ends (see [`crate::maintenance`]).
    Maintenance,
}

impl Status {
    /// Every status, in dashboard order.
    pub const ALL: [Status; 7] = [
        Status::Up,
        Status::Late,
        Status::Degraded,
        Status::Down,
        Status::Maintenance,
        Status::Paused,
        Status::Unknown,
    ];

    /// The lower-case name used in JSON and D1.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Up => "up",
            Status::Late => "late",
            Status::Down => "down",
            Status::Degraded => "degraded",
            Status::Paused => "paused",
            Status::Maintenance => "maintenance",
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
    /// The run timers and thresholds (absent in records stored before they existed).
    #[serde(default, skip_serializing_if = "RunConfig::is_default")]
    pub runs: RunConfig,
    /// The maintenance windows of `services.json` (the service's and its group's); absent
    /// when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance: Vec<Window>,
    /// When each escalation level fires, after the incident opened (the `after` of the
    /// service's `escalation` levels, in order; see [`crate::escalation`]); absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation: Vec<Duration>,
    /// How maintenance time counts in the uptime tallies (absent when `exclude`, and in
    /// records stored before the setting existed).
    #[serde(default, skip_serializing_if = "is_default")]
    pub maintenance_uptime: MaintenanceUptime,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl From<&ServiceConfig> for MonitorConfig {
    fn from(s: &ServiceConfig) -> Self {
        Self {
            staleness_threshold: s.staleness_threshold,
            grace_period: s.grace_period,
            enabled: s.enabled,
            schedule: s.schedule.clone(),
            runs: s.runs.clone(),
            maintenance: s.maintenance.clone(),
            escalation: s.escalation.iter().map(|l| l.after).collect(),
            maintenance_uptime: s.maintenance_uptime,
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
    /// The start window ends (deadline + `startWindow`) with no start or success: `missed`.
    Missed,
    /// A started run reaches `maxRuntime` (start + `maxRuntime`): `overrun`.
    Overrun,
    /// A maintenance window starts.
    MaintenanceStart,
    /// The maintenance window ends.
    MaintenanceEnd,
    /// The open, unacknowledged incident reaches its next escalation level (its start +
    /// the level's `after`).
    Escalation,
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
    /// The kind of `cause` (absent in incidents stored before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Reason>,
    /// The parent that was `down` (or in maintenance) when it opened: its alert is held
    /// until that parent recovers (see [`crate::dependency`]). Absent when not held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    /// Who acknowledged it and when, once someone did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledgement>,
    /// How many escalation levels fired (each once).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub escalated: u8,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
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
    /// Which run signal it was (default `success`; `start` and `log` move no deadline).
    #[serde(default, skip_serializing_if = "is_success")]
    pub event: Event,
    /// The exit status it carried, if any (absent in events stored before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<u8>,
    /// The service's `pingedTooOften` flag after this heartbeat (see
    /// [`RunState::pinged_too_often`]): readers take the newest success or fail's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinged_too_often: bool,
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
    /// The reason's kind (absent in changes stored before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Reason>,
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
    /// A run finished, or was declared overrun or dropped: write it to the runs history.
    Run(Run),
    /// The open incident was acknowledged (its `acknowledged` is set): write it, stop its
    /// reminders.
    IncidentAcknowledged(Incident),
    /// The open incident reached escalation level `level` (1-based): notify that level's
    /// channels.
    Escalated {
        /// The level, 1 for the first.
        level: u8,
        /// The incident (its `escalated` counts this level).
        incident: Incident,
    },
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
    /// Open runs, failure and success counts, `pingedTooOften` (absent when idle, and in
    /// records stored before runs existed).
    #[serde(default, skip_serializing_if = "RunState::is_idle")]
    pub runs: RunState,
    /// The run-time maintenance windows (the API's and a snooze); absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance: Vec<Window>,
    /// While `maintenance`: when the window (merged with those it overlaps) ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_until: Option<Timestamp>,
    /// Windows starting after this time are still to be entered (the time of the last
    /// check); absent while the service has no windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_checked: Option<Timestamp>,
    /// When the last maintenance ended: the deadline counts from here when that is later
    /// than the last heartbeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_at: Option<Timestamp>,
    /// The last status each parent (`dependsOn`) pushed, by parent id; absent when none.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub parents: std::collections::BTreeMap<ServiceId, ParentState>,
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
            runs: RunState::default(),
            maintenance: Vec::new(),
            maintenance_until: None,
            maintenance_checked: None,
            resumed_at: None,
            parents: std::collections::BTreeMap::new(),
        };
        let mut monitor = Self { config, state };
        if monitor.windows().next().is_some() {
            // Entered (with its status change) by the first heartbeat or alarm.
            monitor.state.maintenance_checked = Some(now);
        }
        monitor
    }

    /// Handles a heartbeat received at `now`.
    ///
    /// Always records it. Its signal ([`Event`]; a non-zero exit status makes a `success` a
    /// `fail`) decides the rest:
    /// - `log` changes nothing else (not even the deadline);
    /// - `start` opens a run (see [`crate::run`]) and changes no status;
    /// - `success` and `fail` move the deadline (last heartbeat), close the run they pair with
    ///   ([`Effect::Run`]) and set the status: `status: down` marks the service down at once
    ///   (reason `reported`); a failure (`fail`, non-zero exit, a duration outside
    ///   `minDuration`/`maxDuration`) counts towards `failureThreshold` and at it makes the
    ///   service `down` (below it, an `unknown` or `late` service becomes `up`); a success
    ///   sets `up` or `degraded` (closing any open incident), from `down` only after
    ///   `recoveryThreshold` consecutive successes. A success earlier than `minInterval` after
    ///   the previous success or fail sets `pingedTooOften` (no status change).
    ///
    /// A paused service records the heartbeat and stays paused; one in maintenance records
    /// it (and its run) and stays in maintenance.
    #[must_use]
    pub fn on_heartbeat(&mut self, now: Timestamp, hb: Heartbeat) -> Vec<Effect> {
        let mut effects = self.heartbeat(now, hb);
        if let Some(Effect::Record(event)) = effects.first_mut() {
            event.pinged_too_often = self.state.runs.pinged_too_often;
        }
        effects
    }

    /// [`Monitor::on_heartbeat`] but for the recorded event's `pinged_too_often`.
    fn heartbeat(&mut self, now: Timestamp, hb: Heartbeat) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.check_maintenance(now, &mut effects);
        let seq = self.take_seq();
        let event = signal(&hb);
        let previous = self.state.last_heartbeat;
        if matches!(event, Event::Success | Event::Fail) {
            self.state.last_heartbeat = Some(now);
            self.state.last_message.clone_from(&hb.message);
            self.state.last_metadata.clone_from(&hb.metadata);
        }
        effects.push(Effect::Record(HeartbeatEvent {
            seq,
            at: now,
            reported: hb.reported,
            message: hb.message.clone(),
            metadata: hb.metadata,
            metrics: hb.metrics,
            event,
            exit_status: hb.exit_status,
            pinged_too_often: false,
        }));
        if self.state.status == Status::Paused || event == Event::Log {
            return effects;
        }
        if event == Event::Start {
            if let Some(dropped) = self.state.runs.start(seq, now, hb.run_id) {
                effects.push(Effect::Run(dropped));
            }
            return effects;
        }
        let open = self.state.runs.take(hb.run_id.as_deref());
        let is_run = open.is_some()
            || event == Event::Fail
            || hb.run_id.is_some()
            || hb.exit_status.is_some()
            || hb.duration_ms.is_some()
            || hb.output.is_some();
        // The client's own measure when it sent one (a wrapper such as `systole run` times
        // the command itself, while its start may reach us late), else end − start as
        // received.
        let duration_ms = hb.duration_ms.or_else(|| open.as_ref().map(|o| millis(now.since(o.started_at))));
        let failure = self.judge(event, hb.exit_status, duration_ms, hb.message.as_deref());
        if is_run {
            let (outcome, reason) = match (&open, &failure) {
                (Some(o), _) if o.overrun => (RunOutcome::Overrun, Some(Reason::Overrun)),
                (_, Some((r, _))) => (RunOutcome::Fail, Some(*r)),
                (_, None) => (RunOutcome::Success, None),
            };
            effects.push(Effect::Run(Run {
                n: open.as_ref().map_or(seq, |o| o.n),
                run_id: hb.run_id.or_else(|| open.as_ref().and_then(|o| o.run_id.clone())),
                started_at: open.as_ref().map(|o| o.started_at),
                ended_at: Some(now),
                duration_ms,
                outcome,
                exit_status: hb.exit_status,
                reason,
                output: hb.output.map(|o| truncate_utf8(o, MAX_OUTPUT_BYTES)),
            }));
        }
        if event == Event::Success && failure.is_none() {
            self.state.runs.pinged_too_often = match (self.config.runs.min_interval, previous) {
                (Some(min), Some(p)) => now.since(p) < min,
                _ => false,
            };
        }
        match (hb.reported, failure) {
            (Reported::Down, _) => {
                self.state.runs.successes = 0;
                let text = with_message("heartbeat reported down", hb.message.as_deref());
                self.transition(now, Status::Down, Reason::Reported, text, &mut effects);
            }
            (_, Some((reason, text))) => self.fail(now, reason, text, &mut effects),
            (reported, None) => self.succeed(now, reported, hb.message.as_deref(), &mut effects),
        }
        effects
    }

    /// Whether a finished signal is a failure, with its reason: a `fail` (with its exit
    /// status), else a duration outside the bounds.
    fn judge(
        &self,
        event: Event,
        exit_status: Option<u8>,
        duration_ms: Option<u64>,
        message: Option<&str>,
    ) -> Option<(Reason, String)> {
        if event == Event::Fail {
            let text = match exit_status {
                Some(code) => format!("run failed with exit status {code}"),
                None => "run failed".to_owned(),
            };
            return Some((Reason::Failed, with_message(&text, message)));
        }
        let took = duration_ms?;
        let runs = &self.config.runs;
        if let Some(min) = runs.min_duration.filter(|min| took < millis(*min)) {
            let text = format!("run too short: took {took} ms, under minDuration {} s", min.as_secs());
            return Some((Reason::TooShort, text));
        }
        if let Some(max) = runs.max_duration.filter(|max| took > millis(*max)) {
            let text = format!("run too long: took {took} ms, over maxDuration {} s", max.as_secs());
            return Some((Reason::TooLong, text));
        }
        None
    }

    /// A run failure at `now`: counted, and `down` at `failureThreshold` consecutive ones.
    fn fail(&mut self, now: Timestamp, reason: Reason, text: String, effects: &mut Vec<Effect>) {
        let runs = &mut self.state.runs;
        runs.successes = 0;
        runs.failures = runs.failures.saturating_add(1);
        let (failures, threshold) = (runs.failures, self.config.runs.failure_threshold.max(1));
        if failures >= threshold {
            self.transition(now, Status::Down, reason, text, effects);
        } else if matches!(self.state.status, Status::Unknown | Status::Late) {
            let text = format!("{text} ({failures} of {threshold} failures tolerated)");
            self.transition(now, Status::Up, Reason::Heartbeat, text, effects);
        }
    }

    /// A success at `now`: `up` or `degraded`, from `down` after `recoveryThreshold`
    /// consecutive ones.
    fn succeed(&mut self, now: Timestamp, reported: Reported, message: Option<&str>, effects: &mut Vec<Effect>) {
        self.state.runs.failures = 0;
        let (to, mut text) = match reported {
            Reported::Degraded => (Status::Degraded, with_message("heartbeat reported degraded", message)),
            Reported::Up | Reported::Down => (Status::Up, "heartbeat received".to_owned()),
        };
        let threshold = self.config.runs.recovery_threshold.max(1);
        if self.state.status == Status::Down && threshold > 1 {
            self.state.runs.successes = self.state.runs.successes.saturating_add(1);
            if self.state.runs.successes < threshold {
                return;
            }
            text = format!("{text} ({threshold} consecutive successes)");
        }
        self.state.runs.successes = 0;
        self.transition(now, to, Reason::Heartbeat, text, effects);
    }

    /// Re-applies what a heartbeat recorded earlier (as `event`) did to the state when it
    /// changed no status: the last heartbeat, its message and metadata (a `success` or
    /// `fail`), and the sequence numbers. Used when a record is loaded with event rows stored
    /// after it. An event older than one already applied (by its sequence number) changes
    /// nothing.
    pub fn replay(&mut self, event: &HeartbeatEvent) {
        if event.seq < self.state.next_seq {
            return;
        }
        if matches!(event.event, Event::Success | Event::Fail) {
            self.state.last_heartbeat = Some(event.at);
            self.state.last_message.clone_from(&event.message);
            self.state.last_metadata.clone_from(&event.metadata);
        }
        self.state.next_seq = event.seq + 1;
    }

    /// Skips `n` sequence numbers: ones that may have been handed out without this state
    /// knowing (see `ServiceRecord::catch_up_unavailable`).
    pub fn skip_seq(&mut self, n: u64) {
        self.state.next_seq += n;
    }

    /// Handles an alarm at `now`, firing every timer due by then in time order (see
    /// [`Monitor::next_deadline`]): `up`/`degraded` past the deadline become `late`; past the
    /// grace period (`noHeartbeat`) or the start window (`missed`), whichever ends first,
    /// `down`; an open run past `maxRuntime` is declared `overrun` ([`Effect::Run`]) and
    /// counts as a run failure; an open, unacknowledged incident past a level's `after`
    /// escalates ([`Effect::Escalated`], each level once). Any other call — early, repeated, or with nothing due —
    /// returns no effects.
    /// Maintenance windows are entered and left first (see `Monitor::check_maintenance`).
    #[must_use]
    pub fn on_alarm(&mut self, now: Timestamp) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.check_maintenance(now, &mut effects);
        // Each timer fired moves the next deadline on; the bound is a safety net.
        for _ in 0..crate::run::MAX_OPEN_RUNS + crate::escalation::MAX_LEVELS + 4 {
            match self.next_deadline() {
                Some((at, Deadline::Escalation)) if at <= now => self.fire_escalation(&mut effects),
                Some((at, Deadline::MaintenanceStart | Deadline::MaintenanceEnd)) if at <= now => {
                    self.check_maintenance(now, &mut effects);
                }
                Some((at, Deadline::Overrun)) if at <= now => self.fire_overrun(now, &mut effects),
                Some((at, _)) if at <= now => self.fire_due(now, &mut effects),
                _ => break,
            }
        }
        effects
    }

    /// The heartbeat deadline's timers at `now`: `down` once the grace period or the start
    /// window ended, else `late`.
    fn fire_due(&mut self, now: Timestamp, effects: &mut Vec<Effect>) {
        let Some(due) = self.heartbeat_due() else {
            return;
        };
        let grace_end = due + self.config.grace_period;
        let (when, missed) = match &self.config.schedule {
            None => (due.to_string(), format!("no heartbeat within {} s", self.config.staleness_threshold.as_secs())),
            Some(s) => {
                let when = format!("{} ({})", due.rfc3339_in(s.zone()), s.zone().name());
                (when.clone(), format!("no heartbeat since the run due at {when}"))
            }
        };
        let (down_at, reason) = match self.missed_at(due) {
            Some(missed) if missed <= grace_end => (missed, Reason::Missed),
            _ => (grace_end, Reason::NoHeartbeat),
        };
        if now >= down_at {
            let grace = self.config.grace_period.as_secs();
            let text = match reason {
                Reason::Missed => {
                    let window = self.config.runs.start_window.unwrap_or_default().as_secs();
                    format!("run missed: no start or success within {window} s of the scheduled time {when}")
                }
                _ if grace > 0 => format!("{missed} + {grace} s grace"),
                _ => missed,
            };
            self.transition(now, Status::Down, reason, text, effects);
        } else if self.state.status != Status::Late {
            let text = format!("{missed}; in grace period until {down_at}");
            self.transition(now, Status::Late, Reason::Late, text, effects);
        }
    }

    /// Fires the open incident's next escalation level.
    fn fire_escalation(&mut self, effects: &mut Vec<Effect>) {
        let Some(incident) = self.state.incident.as_mut() else {
            return;
        };
        incident.escalated = incident.escalated.saturating_add(1);
        effects.push(Effect::Escalated { level: incident.escalated, incident: incident.clone() });
    }

    /// When the open incident's next escalation level fires: its start + the level's
    /// `after`, while it is neither acknowledged nor past the last level. An incident whose
    /// alert a parent holds ([`crate::dependency`]) does not escalate while held, and once
    /// released counts its levels from the release (when its `down` was finally sent).
    fn escalation_due(&self) -> Option<Timestamp> {
        let incident = self.state.incident.as_ref().filter(|i| i.acknowledged.is_none())?;
        let after = self.config.escalation.get(usize::from(incident.escalated))?;
        let start = match &incident.suppressed {
            None => incident.started_at,
            Some(s) if s.released => s.released_at.unwrap_or(incident.started_at),
            Some(_) => return None,
        };
        Some(start + *after)
    }

    /// Acknowledges at `now`, on behalf of `by`, the open incident that started at
    /// `started_at`: it escalates no further and its reminders stop. Acknowledging it again
    /// changes nothing (no effects; the first acknowledgement stays).
    ///
    /// # Errors
    /// [`AckError::NotOpen`] when the service has no open incident that started then (it
    /// was resolved, or never was).
    pub fn on_acknowledge(&mut self, now: Timestamp, started_at: Timestamp, by: &str) -> Result<Vec<Effect>, AckError> {
        let incident = self.state.incident.as_mut().filter(|i| i.started_at == started_at).ok_or(AckError::NotOpen)?;
        if incident.acknowledged.is_some() {
            return Ok(Vec::new());
        }
        incident.acknowledged = Some(Acknowledgement { by: by.to_owned(), at: now });
        Ok(vec![Effect::IncidentAcknowledged(incident.clone())])
    }

    /// Declares the open run with the earliest overrun deadline overrun at `now`.
    fn fire_overrun(&mut self, now: Timestamp, effects: &mut Vec<Effect>) {
        let max = self.config.runs.max_runtime;
        let Some((_, n)) = self.state.runs.overrun_due(max) else {
            return;
        };
        let Some(open) = self.state.runs.open.iter_mut().find(|o| o.n == n) else {
            return;
        };
        open.overrun = true;
        let open = open.clone();
        let max = max.unwrap_or_default();
        let name = open.run_id.clone().unwrap_or_else(|| format!("#{}", open.n));
        let text =
            format!("run overrun: run {name} started at {} not finished within {} s", open.started_at, max.as_secs());
        effects.push(Effect::Run(Run {
            n: open.n,
            run_id: open.run_id,
            started_at: Some(open.started_at),
            ended_at: None,
            duration_ms: None,
            outcome: RunOutcome::Overrun,
            exit_status: None,
            reason: Some(Reason::Overrun),
            output: None,
        }));
        if self.state.status != Status::Paused {
            self.fail(now, Reason::Overrun, text, effects);
        }
    }

    /// When the start window after the deadline `due` ends, if one is set and no run started
    /// since the last heartbeat.
    fn missed_at(&self, due: Timestamp) -> Option<Timestamp> {
        let started = self.state.runs.started_since(self.state.last_heartbeat);
        self.config.runs.start_window.filter(|_| !started).map(|w| due + w)
    }

    /// Applies a new config at `now`. Disabling pauses (closing any open incident);
    /// re-enabling returns to `unknown` until the next heartbeat. Threshold changes move the
    /// deadline (derived, so nothing else to do).
    #[must_use]
    pub fn on_config(&mut self, now: Timestamp, config: MonitorConfig) -> Vec<Effect> {
        let mut effects = Vec::new();
        let was_enabled = self.config.enabled;
        let windows_changed = self.config.maintenance != config.maintenance;
        self.config = config;
        match (was_enabled, self.config.enabled) {
            (true, false) => {
                self.transition(now, Status::Paused, Reason::Config, "monitoring disabled".into(), &mut effects);
            }
            (false, true) => {
                self.transition(now, Status::Unknown, Reason::Config, "monitoring enabled".into(), &mut effects);
            }
            _ => {}
        }
        if windows_changed {
            self.state.maintenance_checked = None;
            self.check_maintenance(now, &mut effects);
        }
        effects
    }

    /// The service is being deleted at `now`: it stops being monitored (`paused`, reason
    /// `deleted`), closing an open incident, so its history ends with that change.
    #[must_use]
    pub fn on_delete(&mut self, now: Timestamp) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.config.enabled = false;
        self.transition(now, Status::Paused, Reason::Deleted, "service deleted".into(), &mut effects);
        effects
    }

    /// The next time this monitor must be woken, with why; `None` when nothing is pending.
    /// The earliest of: the heartbeat deadline (`up`/`degraded`), the end of the grace period
    /// or of the start window, whichever is first (`late`), and each open run's start +
    /// `maxRuntime` (any status but `paused`), and the open incident's next escalation level
    /// unless it is acknowledged. A run started since the last heartbeat
    /// suspends the heartbeat timers when `maxRuntime` is set (its overrun timer guards it),
    /// and the start window whether or not.
    pub fn next_deadline(&self) -> Option<(Timestamp, Deadline)> {
        if self.state.status == Status::Paused {
            return None;
        }
        if self.state.status == Status::Maintenance {
            return self.state.maintenance_until.map(|t| (t, Deadline::MaintenanceEnd));
        }
        let overrun = self.state.runs.overrun_due(self.config.runs.max_runtime).map(|(t, _)| (t, Deadline::Overrun));
        let window = self
            .state
            .maintenance_checked
            .and_then(|checked| maintenance::next_start(self.windows(), checked))
            .map(|t| (t, Deadline::MaintenanceStart));
        let escalation = self.escalation_due().map(|t| (t, Deadline::Escalation));
        [self.due_deadline(), overrun, window, escalation].into_iter().flatten().min_by_key(|(t, _)| *t)
    }

    /// Every maintenance window of this service: its config's, then the run-time ones.
    pub fn windows(&self) -> impl Iterator<Item = &Window> + Clone {
        self.config.maintenance.iter().chain(&self.state.maintenance)
    }

    /// Adds or removes a run-time maintenance window at `now` ([`maintenance::Command`]),
    /// entering or leaving maintenance at once when that changes whether one is active.
    #[must_use]
    pub fn on_maintenance(&mut self, now: Timestamp, command: maintenance::Command) -> Vec<Effect> {
        let mut effects = Vec::new();
        maintenance::apply(&mut self.state.maintenance, command, now);
        self.state.maintenance_checked = None;
        self.check_maintenance(now, &mut effects);
        effects
    }

    /// Enters or leaves maintenance at `now`: a service (not `paused`) inside a window becomes
    /// `maintenance` until the window ends (merged with the windows it overlaps or touches;
    /// an open incident closes); one whose window is over returns to `up` (`unknown` if it
    /// was never heard from) with its deadline counted from the window's end (or from `now`
    /// if its window was removed early). Marks window starts up to `now` as checked, and
    /// drops run-time one-off windows that ended.
    fn check_maintenance(&mut self, now: Timestamp, effects: &mut Vec<Effect>) {
        let has_windows = self.windows().next().is_some();
        if !has_windows && self.state.status != Status::Maintenance {
            self.state.maintenance_checked = None;
            return;
        }
        self.state.maintenance.retain(|w| !w.is_over(now));
        self.state.maintenance_checked = Some(now);
        if self.state.status == Status::Paused {
            return;
        }
        let until = maintenance::active_until(self.windows(), now);
        match (self.state.status, until) {
            (Status::Maintenance, Some(end)) => self.state.maintenance_until = Some(end),
            (_, Some(end)) => {
                self.state.maintenance_until = Some(end);
                let text = format!("maintenance until {end}");
                self.set_status(now, Status::Maintenance, Reason::Maintenance, text, effects);
            }
            (Status::Maintenance, None) => {
                let ended = self.state.maintenance_until.take().map_or(now, |end| end.min(now));
                self.state.resumed_at = Some(ended);
                let (to, text) = match self.state.last_heartbeat {
                    Some(_) => {
                        let next = heartbeat_due(Status::Up, Some(ended), &self.config);
                        let due = next.map_or_else(String::new, |t| format!("; next heartbeat due by {t}"));
                        (Status::Up, format!("maintenance ended{due}"))
                    }
                    None => (Status::Unknown, "maintenance ended".to_owned()),
                };
                self.set_status(ended, to, Reason::Maintenance, text, effects);
            }
            (_, None) => {}
        }
    }

    fn due_deadline(&self) -> Option<(Timestamp, Deadline)> {
        let due = self.heartbeat_due()?;
        let running = self.state.runs.started_since(self.state.last_heartbeat);
        if running && self.config.runs.max_runtime.is_some() {
            return None;
        }
        if self.state.status != Status::Late {
            return Some((due, Deadline::Heartbeat));
        }
        let grace_end = due + self.config.grace_period;
        Some(match self.missed_at(due) {
            Some(missed) if missed <= grace_end => (missed, Deadline::Missed),
            _ => (grace_end, Deadline::Grace),
        })
    }

    /// Parent `parent` (one of `depends_on`) pushed its `state`: remembered (parents no longer
    /// in `depends_on` are forgotten; an older state than the one held is ignored). See
    /// [`Monitor::release`] for what that may send.
    pub fn on_parent(&mut self, parent: ServiceId, state: ParentState, depends_on: &[ServiceId]) {
        dependency::remember(&mut self.state.parents, parent, state, depends_on);
    }

    /// When no parent in `depends_on` blocks any more and the service is still `down` with its
    /// incident's alert held: marks it released and returns the `down` change to notify now
    /// (at the incident's start, for the notifier only: it is not recorded again). `None`
    /// otherwise, and on every later call. An alert held for a silent parent
    /// ([`dependency::awaiting`]) is released at its hold's `until`, or sooner once that parent is
    /// heard from again; that parent (or another) going `down` first makes it an ordinary
    /// suppression.
    pub fn release(&mut self, depends_on: &[ServiceId], now: Timestamp) -> Option<StatusChange> {
        self.state.parents.retain(|id, _| depends_on.contains(id));
        dependency::release(&mut self.state, depends_on, now)
    }

    /// Until when the open incident's alert waits for a silent parent's verdict (its held
    /// suppression's hold), if it does: the object wakes then to send it.
    pub fn hold_until(&self) -> Option<Timestamp> {
        let suppressed = self.state.incident.as_ref()?.suppressed.as_ref().filter(|s| !s.released)?;
        suppressed.hold.map(|h| h.until)
    }

    /// This service as its dependents know it: status and since when, last heartbeat, and
    /// when it goes `down` if it stays silent ([`down_at`]); what it pushes to them.
    pub fn as_parent(&self) -> ParentState {
        let state = &self.state;
        ParentState {
            status: state.status,
            since: state.status_since,
            last_heartbeat: state.last_heartbeat,
            down_at: down_at(state.status, state.last_heartbeat, state.resumed_at, &self.config),
        }
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
        heartbeat_due(self.state.status, heartbeat_base(self.state.last_heartbeat, self.state.resumed_at), &self.config)
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.state.next_seq;
        self.state.next_seq += 1;
        seq
    }

    /// Changes the status at `now` (opening or closing the incident); a service in
    /// maintenance keeps its status (only [`Monitor::check_maintenance`] leaves it).
    fn transition(&mut self, now: Timestamp, to: Status, kind: Reason, reason: String, effects: &mut Vec<Effect>) {
        if self.state.status == Status::Maintenance {
            return;
        }
        self.set_status(now, to, kind, reason, effects);
    }

    fn set_status(&mut self, now: Timestamp, to: Status, kind: Reason, reason: String, effects: &mut Vec<Effect>) {
        let from = self.state.status;
        if from == to {
            return;
        }
        if to == Status::Down && self.state.incident.is_none() {
            // Before the status changes: for a `late` service, the missed heartbeat's due time.
            let silent_since = matches!(kind, Reason::NoHeartbeat | Reason::Missed).then(|| self.heartbeat_due());
            let suppressed = dependency::suppression(&self.state.parents)
                .or_else(|| dependency::awaiting(&self.state.parents, silent_since.flatten()?, now));
            let incident = Incident {
                started_at: now,
                ended_at: None,
                cause: reason.clone(),
                kind: Some(kind),
                suppressed,
                acknowledged: None,
                escalated: 0,
            };
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
        effects.push(Effect::StatusChanged(StatusChange { seq, at: now, from, to, reason, kind: Some(kind) }));
    }
}

/// The deadline a service in `status` whose last heartbeat arrived at `last_heartbeat` and
/// whose last maintenance ended at `resumed_at` (epoch ms UTC; D1 `service_state`) is
/// waiting for: `up`/`degraded` wait for the next heartbeat (staleness threshold after the
/// last heartbeat, or the schedule's next occurrence after it; counted from the end of the
/// maintenance instead when that is later, see [`heartbeat_base`]), `late` for the end of
/// the grace period (that + grace period); other statuses wait for nothing. Read APIs
/// (status API, dashboard, Prometheus) use it to show the deadline without asking the
/// Durable Object: the heartbeat deadline its alarm is armed for (the monitor's own
/// timers add only the start window and open runs, which read APIs do not know).
pub fn deadline(
    status: Status,
    last_heartbeat: Option<Timestamp>,
    resumed_at: Option<Timestamp>,
    config: &MonitorConfig,
) -> Option<(Timestamp, Deadline)> {
    let due = heartbeat_due(status, heartbeat_base(last_heartbeat, resumed_at), config)?;
    Some(if status == Status::Late { (due + config.grace_period, Deadline::Grace) } else { (due, Deadline::Heartbeat) })
}

/// When a service in `status` goes `down` if no heartbeat comes (epoch ms UTC): the end of the
/// grace period after the deadline [`deadline`] gives (a scheduled run's start window is not
/// counted); `None` for statuses that wait for nothing. What a dependent holds its own alert
/// until ([`crate::dependency::awaiting`]).
pub fn down_at(
    status: Status,
    last_heartbeat: Option<Timestamp>,
    resumed_at: Option<Timestamp>,
    config: &MonitorConfig,
) -> Option<Timestamp> {
    deadline(status, last_heartbeat, resumed_at, config).map(|(at, kind)| match kind {
        Deadline::Heartbeat => at + config.grace_period,
        _ => at,
    })
}

/// What the next heartbeat's deadline counts from: the last heartbeat, or the end of the
/// last maintenance (`resumed_at`) when that is later, so a job quiet during a window gets
/// its full period after it; nothing before the first heartbeat. The one rule of the
/// monitor ([`Monitor::next_deadline`]) and the read APIs ([`deadline`]).
pub fn heartbeat_base(last_heartbeat: Option<Timestamp>, resumed_at: Option<Timestamp>) -> Option<Timestamp> {
    last_heartbeat.max(resumed_at.filter(|_| last_heartbeat.is_some()))
}

/// When the next heartbeat is due, for the statuses that wait for one (`up`, `degraded`,
/// `late`): `base` (the last heartbeat, or the end of a maintenance window after it) +
/// staleness threshold, or with a schedule its first occurrence after `base`.
fn heartbeat_due(status: Status, base: Option<Timestamp>, config: &MonitorConfig) -> Option<Timestamp> {
    match status {
        Status::Up | Status::Degraded | Status::Late => match &config.schedule {
            None => base.map(|t| t + config.staleness_threshold),
            Some(s) => base.and_then(|t| s.next_after(t)),
        },
        Status::Unknown | Status::Down | Status::Paused | Status::Maintenance => None,
    }
}

/// The signal a heartbeat is: its `event`, except that a non-zero exit status makes a
/// `success` a `fail`.
fn signal(hb: &Heartbeat) -> Event {
    match (hb.event, hb.exit_status) {
        (Event::Success, Some(code)) if code != 0 => Event::Fail,
        (event, _) => event,
    }
}

/// Whole milliseconds of `d`, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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
            runs: RunConfig::default(),
            maintenance: Vec::new(),
            escalation: Vec::new(),
            maintenance_uptime: Default::default(),
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
