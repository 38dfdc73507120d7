//! A job's runs: the signals `start`, `success`, `fail` (and an exit status) paired into runs,
//! the run-related config (`startWindow`, `maxRuntime`, `minDuration`, `maxDuration`,
//! `failureThreshold`, `recoveryThreshold`, `minInterval`), and the typed reason every status
//! change carries ([`Reason`]).
//!
//! Pairing rules:
//! - a `start` opens a run; the end (`success` or `fail`) with the same run id closes it; an
//!   end without a run id closes the oldest open run without one (first in, first out);
//! - a `start` whose run id is already open restarts that run (its start time moves);
//! - at most [`MAX_OPEN_RUNS`] runs are open: a start beyond that drops the oldest open run,
//!   which is recorded as a run with outcome `unknown` (ended_at `null`);
//! - an end that pairs with no open run is a run without a start when it is a `fail` or carries
//!   a run id, exit status, duration or output; a plain heartbeat (none of these, no open run)
//!   is no run at all, so plain heartbeats cost no run row.
//!
//! A run's duration is the server's (end − start, milliseconds) when a start was paired, else
//! the client's `durationMs`, if sent.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// Open runs kept per service; a start beyond this drops the oldest open run.
pub const MAX_OPEN_RUNS: usize = 16;

/// Why a status changed (and why an incident opened): the typed kind of every status change's
/// reason, next to its human text. JSON: the camelCase name.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Reason {
    /// A heartbeat (or a successful run) set the status (`up`, `degraded`).
    Heartbeat,
    /// A heartbeat reported `status: down`.
    Reported,
    /// The deadline passed: `late`, inside the grace period.
    Late,
    /// The deadline and the grace period passed without a heartbeat.
    NoHeartbeat,
    /// No start or success within `startWindow` of the scheduled time (the deadline).
    Missed,
    /// A started run did not finish within `maxRuntime`.
    Overrun,
    /// A run failed: a `fail` signal or a non-zero exit status.
    Failed,
    /// A finished run took less than `minDuration`.
    TooShort,
    /// A finished run took more than `maxDuration`.
    TooLong,
    /// The config changed (monitoring enabled or disabled).
    Config,
    /// The (managed) service was deleted: its open incident closes with this reason.
    Deleted,
    /// A maintenance window started or ended.
    Maintenance,
}

impl Reason {
    /// Every kind.
    pub const ALL: [Reason; 11] = [
        Reason::Heartbeat,
        Reason::Reported,
        Reason::Late,
        Reason::NoHeartbeat,
        Reason::Missed,
        Reason::Overrun,
        Reason::Failed,
        Reason::TooShort,
        Reason::TooLong,
        Reason::Config,
        Reason::Deleted,
    ];

    /// Parses the camelCase name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The camelCase name used in JSON and D1.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Heartbeat => "heartbeat",
            Reason::Reported => "reported",
            Reason::Late => "late",
            Reason::NoHeartbeat => "noHeartbeat",
            Reason::Missed => "missed",
            Reason::Overrun => "overrun",
            Reason::Failed => "failed",
            Reason::TooShort => "tooShort",
            Reason::TooLong => "tooLong",
            Reason::Config => "config",
            Reason::Deleted => "deleted",
            Reason::Maintenance => "maintenance",
        }
    }
}

/// How a run ended. JSON: the lower-case name.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    /// It succeeded (and within its duration bounds).
    Success,
    /// It failed: a fail signal, a non-zero exit status, or a duration out of bounds
    /// (`reason` says which).
    Fail,
    /// It did not finish within `maxRuntime` (`ended_at` is set if it finished later).
    Overrun,
    /// Dropped unfinished: more than [`MAX_OPEN_RUNS`] runs were open.
    Unknown,
}

impl RunOutcome {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Success => "success",
            RunOutcome::Fail => "fail",
            RunOutcome::Overrun => "overrun",
            RunOutcome::Unknown => "unknown",
        }
    }

    /// Parses the lower-case name.
    pub fn parse(text: &str) -> Option<Self> {
        [RunOutcome::Success, RunOutcome::Fail, RunOutcome::Overrun, RunOutcome::Unknown]
            .into_iter()
            .find(|o| o.as_str() == text)
    }
}

/// One run of a job, as written to D1 `runs` (one row per run, keyed by service and `n`; an
/// overrun run that finishes later rewrites its row).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// The run's number: the sequence number of its start (or of its end when it had none).
    pub n: u64,
    /// Its run id, if the signals carried one.
    pub run_id: Option<String>,
    /// When its start arrived, if one did.
    pub started_at: Option<Timestamp>,
    /// When its end arrived; `None` for a run declared overrun and not (yet) finished.
    pub ended_at: Option<Timestamp>,
    /// Its duration in milliseconds (see the module docs), if known.
    pub duration_ms: Option<u64>,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Its exit status, if sent.
    pub exit_status: Option<u8>,
    /// Why it counts as a failure (`failed`, `overrun`, `tooShort`, `tooLong`), if it does.
    pub reason: Option<Reason>,
    /// The output sent with its end (first [`crate::monitor::MAX_OUTPUT_BYTES`] bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// A started run not finished yet.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenRun {
    /// The run's number (the sequence number of its start).
    pub n: u64,
    /// Its run id, if the start carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// When the start arrived.
    pub started_at: Timestamp,
    /// Whether it was already declared overrun (its timer has fired).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overrun: bool,
}

/// The run bookkeeping of a monitor's state. Stored in the record (absent when idle, so
/// records written before runs existed load as idle).
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunState {
    /// Open runs, oldest start first (at most [`MAX_OPEN_RUNS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open: Vec<OpenRun>,
    /// Consecutive run failures (reset by a success).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// Consecutive successes while `down` (towards `recoveryThreshold`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub successes: u32,
    /// Whether the last success came earlier than `minInterval` after the one before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinged_too_often: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl RunState {
    /// Whether there is nothing to store.
    pub fn is_idle(&self) -> bool {
        *self == Self::default()
    }

    /// Opens run `n` started at `now`. Returns the oldest open run when it had to be dropped
    /// (more than [`MAX_OPEN_RUNS`] open), as a run with outcome `unknown`.
    pub fn start(&mut self, n: u64, now: Timestamp, run_id: Option<String>) -> Option<Run> {
        if let Some(same) = run_id.as_ref().and_then(|id| self.open.iter().position(|o| o.run_id.as_ref() == Some(id)))
        {
            self.open.remove(same);
        }
        self.open.push(OpenRun { n, run_id, started_at: now, overrun: false });
        if self.open.len() <= MAX_OPEN_RUNS {
            return None;
        }
        let old = self.open.remove(0);
        Some(Run {
            n: old.n,
            run_id: old.run_id,
            started_at: Some(old.started_at),
            ended_at: None,
            duration_ms: None,
            outcome: if old.overrun { RunOutcome::Overrun } else { RunOutcome::Unknown },
            exit_status: None,
            reason: old.overrun.then_some(Reason::Overrun),
            output: None,
        })
    }

    /// Takes the open run an end with `run_id` closes: the one with that id, or (without an
    /// id) the oldest open run without one.
    pub fn take(&mut self, run_id: Option<&str>) -> Option<OpenRun> {
        let i = self.open.iter().position(|o| o.run_id.as_deref() == run_id)?;
        Some(self.open.remove(i))
    }

    /// Whether a run (not declared overrun) started at or after `since` is open (`None`:
    /// any).
    pub fn started_since(&self, since: Option<Timestamp>) -> bool {
        self.open.iter().any(|o| !o.overrun && since.is_none_or(|s| o.started_at >= s))
    }

    /// The earliest overrun deadline (start + `max_runtime`) of an open run not yet declared
    /// overrun, with the run's number.
    pub fn overrun_due(&self, max_runtime: Option<Duration>) -> Option<(Timestamp, u64)> {
        let max = max_runtime?;
        self.open.iter().filter(|o| !o.overrun).map(|o| (o.started_at + max, o.n)).min()
    }
}

/// The run-related part of a service's config (all optional; durations in whole seconds in
/// JSON, as in `services.json`).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunConfig {
    /// Time after the scheduled time (the heartbeat deadline) a start or success may take
    /// before the run is `missed`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_secs")]
    pub start_window: Option<Duration>,
    /// Time a started run may take before it is `overrun`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_secs")]
    pub max_runtime: Option<Duration>,
    /// A finished run shorter than this is a failure (`tooShort`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_secs")]
    pub min_duration: Option<Duration>,
    /// A finished run longer than this is a failure (`tooLong`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_secs")]
    pub max_duration: Option<Duration>,
    /// Consecutive run failures before `down` (≥ 1; default 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub failure_threshold: u32,
    /// Consecutive successes while `down` before `up` (≥ 1; default 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub recovery_threshold: u32,
    /// A success earlier than this after the previous one flags `pingedTooOften`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_secs")]
    pub min_interval: Option<Duration>,
}

fn one() -> u32 {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_one(n: &u32) -> bool {
    *n == 1
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            start_window: None,
            max_runtime: None,
            min_duration: None,
            max_duration: None,
            failure_threshold: 1,
            recovery_threshold: 1,
            min_interval: None,
        }
    }
}

impl RunConfig {
    /// Whether every field has its default (nothing to store).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// An optional duration as whole seconds in JSON.
mod opt_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ref_option)]
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_secs))
    }
}

/// Keeps the first `max` bytes of `text`, cut back to a char boundary.
pub fn truncate_utf8(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn truncation_keeps_char_boundaries() {
        assert_eq!(truncate_utf8("héllo".into(), 2), "h");
        assert_eq!(truncate_utf8("héllo".into(), 3), "hé");
        assert_eq!(truncate_utf8("abc".into(), 10), "abc");
    }

    #[test]
    fn runs_pair_by_id_and_unnamed_ones_first_in_first_out() {
        let mut s = RunState::default();
        let t = Timestamp::from_millis;
        assert!(s.start(1, t(0), None).is_none());
        assert!(s.start(2, t(1), Some("a".into())).is_none());
        assert!(s.start(3, t(2), None).is_none());
        assert_eq!(s.take(Some("a")).map(|o| o.n), Some(2));
        assert_eq!(s.take(None).map(|o| o.n), Some(1));
        assert_eq!(s.take(Some("b")), None);
        assert_eq!(s.take(None).map(|o| o.n), Some(3));
        assert!(s.is_idle());
    }

    #[test]
    fn a_start_beyond_the_bound_drops_the_oldest_as_unknown() {
        let mut s = RunState::default();
        for n in 0..MAX_OPEN_RUNS as u64 {
            assert!(s.start(n, Timestamp::from_millis(n as i64), None).is_none());
        }
        let dropped = s.start(99, Timestamp::from_millis(99), None).unwrap();
        assert_eq!((dropped.n, dropped.outcome, dropped.ended_at), (0, RunOutcome::Unknown, None));
        assert_eq!(s.open.len(), MAX_OPEN_RUNS);
        // A repeated run id restarts its run.
        let mut s = RunState::default();
        let _ = s.start(1, Timestamp::from_millis(0), Some("x".into()));
        let _ = s.start(2, Timestamp::from_millis(5), Some("x".into()));
        assert_eq!(s.open.len(), 1);
        assert_eq!(s.open[0].started_at, Timestamp::from_millis(5));
    }
}
