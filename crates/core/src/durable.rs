//! What every Durable Object's one call into core returns, and the one alarm strategy.
//!
//! A Durable Object runs the same sequence for every event (a request, its alarm, or the
//! completion of work it started): load its state → one `handle(now, input)` call into core
//! → store the rows of [`Outcome::append`], and the state if [`Outcome::persist`] → apply
//! [`Outcome::alarm`] → carry out the effects ([`Outcome::sends`], [`Outcome::writes`]) and
//! feed their results back as the next input ([`Completed`]). Both the ServiceMonitor ([`crate::record::ServiceRecord::handle`]) and
//! the AlertDesk ([`crate::desk::DeskRecord::handle`]) follow it.

use serde::{Deserialize, Serialize};

use crate::history::{EventRow, FlushBatch};
use crate::monitor::Incident;
use crate::notify::external::AlertRow;
use crate::notify::queue::{AttemptRecord, DeliveryQueue, Outcome as SendOutcome, RetryPolicy, Send};
use crate::time::Timestamp;

/// What the shell must do with the Durable Object alarm after an event.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum AlarmAction {
    /// Leave it: the armed alarm fires no later than needed (an early alarm is a no-op), or
    /// work this event started is still running and its completion decides.
    Keep,
    /// Set it to this absolute time (epoch ms, UTC; never before the event's `now`), for
    /// this reason.
    Set(Timestamp, Wake),
}

/// Why an object wants to be woken.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Wake {
    /// The monitor's staleness or grace deadline.
    Deadline,
    /// Buffered rows must be written to D1 (history, attempt records, alert rows).
    Flush,
    /// A notification is due: a delivery attempt, a retry, a held problem or a reminder.
    Notify,
}

impl Wake {
    /// The lower-case name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Wake::Deadline => "deadline",
            Wake::Flush => "flush",
            Wake::Notify => "notify",
        }
    }
}

/// How long an alarm this instance set may be overdue and still count as armed: the runtime
/// runs an overdue alarm as soon as the object is free, which under load is after the
/// requests queued before it (milliseconds). Past this, it may have been given up (a handler
/// that failed all its retries), so it is set again.
pub const OVERDUE_TRUSTED_MS: i64 = 10_000;

/// The alarm an object holds: the time last set, cleared when it fires. The time is persisted
/// with the object's state, so deciding whether to call `setAlarm` costs no storage read;
/// whether this instance set it is not (a loaded state may hold the time of an alarm that
/// already fired).
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Armed {
    at: Option<Timestamp>,
    /// This instance set `at` (since loading) and the alarm has not fired since.
    #[serde(skip)]
    set_here: bool,
}

impl Armed {
    /// An alarm armed for `at` as a stored state holds it (not known to be set by this
    /// instance).
    #[cfg(test)]
    fn stored(at: Option<Timestamp>) -> Self {
        Self { at, set_here: false }
    }

    /// The time armed, if any (epoch ms, UTC).
    pub fn at(&self) -> Option<Timestamp> {
        self.at
    }

    /// The alarm fired (or setting it failed): nothing is armed any more.
    pub fn spent(&mut self) {
        *self = Self::default();
    }

    /// Whether this instance set the alarm armed for `at`, which is overdue at `now` by no more
    /// than [`OVERDUE_TRUSTED_MS`]: it runs once the object is free. A loaded state's overdue
    /// time is not: its alarm may have fired before the state was stored again.
    fn overdue_here(&self, at: Timestamp, now: Timestamp) -> bool {
        self.set_here && at <= now && now.as_millis() - at.as_millis() <= OVERDUE_TRUSTED_MS
    }

    /// Records `wanted` as set by this instance.
    fn set(&mut self, wanted: Timestamp, why: Wake) -> AlarmAction {
        *self = Self { at: Some(wanted), set_here: true };
        AlarmAction::Set(wanted, why)
    }

    /// Decides the alarm after an event at `now` that wants to be woken at `wanted`, and
    /// records the decision. The alarm is only set when it must fire earlier than the armed
    /// one (or none is armed): a wake time that moved later leaves the earlier alarm in
    /// place, which then fires, finds nothing due and re-arms — one billed write instead of
    /// one per heartbeat. An armed time not after `now` is treated as spent (state loaded
    /// after its alarm fired may still hold it), so the worst case is one redundant
    /// `setAlarm`, never a missing one; except that work due now leaves an overdue alarm
    /// this instance set (at most [`OVERDUE_TRUSTED_MS`] ago) to run it: under load, every heartbeat
    /// queued before that alarm would otherwise set it again (a flush at 200 buffered
    /// heartbeats was followed by about 10 `setAlarm` calls). A wanted time before `now`
    /// (work overdue) is set at `now`: the runtime refuses times at or before the epoch, and
    /// a past time means "at once" anyway.
    pub fn rearm(&mut self, now: Timestamp, wanted: Option<(Timestamp, Wake)>) -> AlarmAction {
        let Some((wanted, why)) = wanted else {
            return AlarmAction::Keep;
        };
        let wanted = wanted.max(now);
        match self.at {
            Some(armed) if armed > now && armed <= wanted => AlarmAction::Keep,
            Some(armed) if wanted == now && self.overdue_here(armed, now) => AlarmAction::Keep,
            _ => self.set(wanted, why),
        }
    }

    /// Decides the alarm so that it fires exactly at `wanted` (at `now` if that is past),
    /// earlier or later than the armed one: for an event that stored no row, whose one write
    /// is then moving the alarm (leaving an earlier alarm would cost its wake and a write).
    /// Keeps an alarm already armed at that time; with nothing wanted, keeps whatever is
    /// armed (it finds nothing due).
    pub fn set_exact(&mut self, now: Timestamp, wanted: Option<(Timestamp, Wake)>) -> AlarmAction {
        let Some((wanted, why)) = wanted else {
            return AlarmAction::Keep;
        };
        let wanted = wanted.max(now);
        if self.at == Some(wanted) {
            return AlarmAction::Keep;
        }
        self.set(wanted, why)
    }
}

/// Rows an object hands to D1, each answered with a [`Written`] completion.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// A ServiceMonitor's buffered history (heartbeats, changes, incidents, rollups).
    History(FlushBatch),
    /// Delivery attempt records for `alert_history`, the oldest unwritten first.
    Attempts(Vec<AttemptRecord>),
    /// The AlertDesk's external alert rows.
    Alerts(Vec<AlertRow>),
    /// A ServiceMonitor's incident row written at once, ahead of the next history flush
    /// (which writes it too): an acknowledgement, so the page the acknowledger is sent
    /// back to shows it.
    Incident(Incident),
}

/// A [`Write`] and whether D1 took it.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    /// What was written.
    pub write: Write,
    /// `true` when D1 stored it; `false` (logged by the shell) when it failed.
    pub ok: bool,
}

/// One finished delivery attempt: what [`Outcome::sends`] asked for, and how it went.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempted {
    /// The send, as handed out.
    pub send: Send,
    /// When the attempt started and ended (epoch ms, UTC).
    pub started: Timestamp,
    /// When it ended.
    pub ended: Timestamp,
    /// The channel's answer.
    pub outcome: SendOutcome,
}

/// The results of the effects an earlier [`Outcome`] asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Completed {
    /// The delivery attempts of [`Outcome::sends`] ended.
    Sent(Vec<Attempted>),
    /// The writes of [`Outcome::writes`] ended.
    Written(Vec<Written>),
}

/// Everything one `handle` call asks of the shell, in the order it must be done.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome<A, U = ()> {
    /// What to answer the request (for alarms and completions, usually nothing).
    pub answer: A,
    /// Rows to add to the object's storage before anything else, before the state (a
    /// ServiceMonitor's recorded heartbeats, one row each; see [`EventRow`]).
    pub append: Vec<EventRow>,
    /// Whether the state (the object's one state row) must be rewritten before anything
    /// else.
    pub persist: bool,
    /// What to do with the alarm, after persisting.
    pub alarm: AlarmAction,
    /// A live update to publish to dashboards (fire and forget).
    pub update: Option<U>,
    /// Delivery attempts to make now, concurrently; answered with [`Completed::Sent`].
    pub sends: Vec<Send>,
    /// Rows to write to D1; answered with [`Completed::Written`]. Run after the sends.
    pub writes: Vec<Write>,
    /// Lines for the object's log (delivery verdicts, a service no longer configured).
    pub log: Vec<String>,
}

impl<A, U> Outcome<A, U> {
    /// An outcome that answers `answer` and asks for nothing else yet.
    pub fn answer(answer: A) -> Self {
        Self {
            answer,
            append: Vec::new(),
            persist: false,
            alarm: AlarmAction::Keep,
            update: None,
            sends: Vec::new(),
            writes: Vec::new(),
            log: Vec::new(),
        }
    }

    /// Whether effects are still to run, whose completion will be handled next (and decide
    /// the alarm then).
    pub fn awaits(&self) -> bool {
        !self.sends.is_empty() || !self.writes.is_empty()
    }
}

/// Starts the attempts of `queue` due at `now` into `out`. The leases, and attempts that
/// never reported back (now on the record), are persisted before anything is sent.
pub fn begin_sends<A, U>(queue: &mut DeliveryQueue, now: Timestamp, policy: &RetryPolicy, out: &mut Outcome<A, U>) {
    let begun = queue.begin(now, policy);
    out.persist |= begun.changed();
    out.sends = begun.sends;
}

/// Applies finished `attempts` to `queue` (persisted), logging each verdict under `subject`
/// (a service id or `external`).
pub fn finish_sends<A, U>(
    queue: &mut DeliveryQueue,
    attempts: &[Attempted],
    policy: &RetryPolicy,
    subject: &str,
    out: &mut Outcome<A, U>,
) {
    for a in attempts {
        if let Some(verdict) = queue.finish(a.send.id, a.started, a.ended, &a.outcome, policy) {
            let (n, to, attempt) = (a.send.notification.event(), &a.send.channel, a.send.attempt);
            out.log.push(format!("{subject}: {n} to {to} attempt {attempt}: {}", verdict.as_str()));
        }
    }
    out.persist = true;
}

/// Asks `out` to write `queue`'s attempt records to D1 when there are any and no failed
/// write's backoff holds them at `now`.
pub fn write_attempts_if_due<A, U>(queue: &DeliveryQueue, now: Timestamp, out: &mut Outcome<A, U>) {
    if !queue.unwritten.is_empty() && queue.write_retry_at.is_none_or(|t| t <= now) {
        out.writes.push(Write::Attempts(queue.unwritten.clone()));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_overdue_wake_is_armed_at_now_never_before() {
        let mut armed = Armed::default();
        let now = Timestamp::from_millis(5_000);
        assert_eq!(
            armed.rearm(now, Some((Timestamp::from_millis(0), Wake::Flush))),
            AlarmAction::Set(now, Wake::Flush)
        );
        assert_eq!(armed.at(), Some(now));
    }

    #[test]
    fn a_later_wake_keeps_the_armed_alarm_and_an_earlier_one_moves_it() {
        let mut armed = Armed::stored(Some(Timestamp::from_millis(10_000)));
        let now = Timestamp::from_millis(1_000);
        assert_eq!(armed.rearm(now, Some((Timestamp::from_millis(20_000), Wake::Deadline))), AlarmAction::Keep);
        assert_eq!(
            armed.rearm(now, Some((Timestamp::from_millis(5_000), Wake::Notify))),
            AlarmAction::Set(Timestamp::from_millis(5_000), Wake::Notify)
        );
        assert_eq!(armed.rearm(Timestamp::from_millis(5_000), None), AlarmAction::Keep, "nothing wanted: nothing set");
    }

    #[test]
    fn an_exact_wake_moves_the_armed_alarm_later_too_and_keeps_an_equal_one() {
        let mut armed = Armed::stored(Some(Timestamp::from_millis(10_000)));
        let now = Timestamp::from_millis(1_000);
        let later = Timestamp::from_millis(20_000);
        assert_eq!(armed.set_exact(now, Some((later, Wake::Deadline))), AlarmAction::Set(later, Wake::Deadline));
        assert_eq!(armed.set_exact(now, Some((later, Wake::Deadline))), AlarmAction::Keep);
        assert_eq!(armed.set_exact(now, None), AlarmAction::Keep);
        assert_eq!(armed.at(), Some(later));
    }

    #[test]
    fn an_overdue_alarm_this_instance_set_is_left_to_run_a_stored_one_is_set_again() {
        let t = |ms| Timestamp::from_millis(ms);
        let mut armed = Armed::default();
        assert_eq!(armed.rearm(t(1_000), Some((t(0), Wake::Flush))), AlarmAction::Set(t(1_000), Wake::Flush));
        // Heartbeats queued before the alarm runs: it is overdue, but this instance set it.
        assert_eq!(armed.rearm(t(1_050), Some((t(0), Wake::Flush))), AlarmAction::Keep);
        // Nothing due before a later time: the alarm moves there (nothing to run at once).
        assert_eq!(
            armed.rearm(t(1_050), Some((t(60_000), Wake::Deadline))),
            AlarmAction::Set(t(60_000), Wake::Deadline)
        );
        assert_eq!(armed.rearm(t(60_000), Some((t(0), Wake::Flush))), AlarmAction::Keep);
        // Overdue for longer than it takes to run: maybe given up, so set again.
        let late = t(60_000 + OVERDUE_TRUSTED_MS + 1);
        assert_eq!(armed.rearm(late, Some((t(0), Wake::Flush))), AlarmAction::Set(late, Wake::Flush));
        // The same time loaded from storage may have fired already: set again.
        let mut loaded: Armed =
            serde_json::from_str(&serde_json::to_string(&Armed::stored(Some(t(1_000)))).unwrap()).unwrap();
        assert_eq!(loaded, Armed::stored(Some(t(1_000))));
        assert_eq!(loaded.rearm(t(1_050), Some((t(0), Wake::Flush))), AlarmAction::Set(t(1_050), Wake::Flush));
        // Fired: nothing is armed.
        armed.spent();
        assert_eq!(armed.rearm(t(1_100), Some((t(0), Wake::Flush))), AlarmAction::Set(t(1_100), Wake::Flush));
    }
}
