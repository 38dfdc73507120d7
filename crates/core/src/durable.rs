//! What every Durable Object's one call into core returns, and the one alarm strategy.
//!
//! A Durable Object runs the same sequence for every event (a request, its alarm, or the
//! completion of work it started): load its state → one `handle(now, input)` call into core
//! → store the rows of [`Outcome::append`], and the state if [`Outcome::persist`] → apply
//! [`Outcome::alarm`] → carry out the effects ([`Outcome::sends`], [`Outcome::writes`]) and
//! feed their results back as the next input ([`Completed`]). Both the ServiceMonitor ([`crate::record::ServiceRecord::handle`]) and
//! the AlertDesk ([`crate::notify::external::AlertDesk::handle`]) follow it.

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

/// The alarm an object holds: the time last set, cleared when it fires. Persisted with the
/// object's state, so deciding whether to call `setAlarm` costs no storage read.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Armed(pub Option<Timestamp>);

impl Armed {
    /// The alarm fired: nothing is armed any more.
    pub fn spent(&mut self) {
        self.0 = None;
    }

    /// Decides the alarm after an event at `now` that wants to be woken at `wanted`, and
    /// records the decision. The alarm is only set when it must fire earlier than the armed
    /// one (or none is armed): a wake time that moved later leaves the earlier alarm in
    /// place, which then fires, finds nothing due and re-arms — one billed write instead of
    /// one per heartbeat. An armed time not after `now` is treated as spent (state loaded
    /// after its alarm fired may still hold it), so the worst case is one redundant
    /// `setAlarm`, never a missing one. A wanted time before `now` (work overdue) is set at
    /// `now`: the runtime refuses times at or before the epoch, and a past time means "at
    /// once" anyway.
    pub fn rearm(&mut self, now: Timestamp, wanted: Option<(Timestamp, Wake)>) -> AlarmAction {
        let Some((wanted, why)) = wanted else {
            return AlarmAction::Keep;
        };
        let wanted = wanted.max(now);
        match self.0 {
            Some(armed) if armed > now && armed <= wanted => AlarmAction::Keep,
            _ => {
                self.0 = Some(wanted);
                AlarmAction::Set(wanted, why)
            }
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
        if self.0 == Some(wanted) {
            return AlarmAction::Keep;
        }
        self.0 = Some(wanted);
        AlarmAction::Set(wanted, why)
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
    use super::*;

    #[test]
    fn an_overdue_wake_is_armed_at_now_never_before() {
        let mut armed = Armed::default();
        let now = Timestamp::from_millis(5_000);
        assert_eq!(
            armed.rearm(now, Some((Timestamp::from_millis(0), Wake::Flush))),
            AlarmAction::Set(now, Wake::Flush)
        );
        assert_eq!(armed, Armed(Some(now)));
    }

    #[test]
    fn a_later_wake_keeps_the_armed_alarm_and_an_earlier_one_moves_it() {
        let mut armed = Armed(Some(Timestamp::from_millis(10_000)));
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
        let mut armed = Armed(Some(Timestamp::from_millis(10_000)));
        let now = Timestamp::from_millis(1_000);
        let later = Timestamp::from_millis(20_000);
        assert_eq!(armed.set_exact(now, Some((later, Wake::Deadline))), AlarmAction::Set(later, Wake::Deadline));
        assert_eq!(armed.set_exact(now, Some((later, Wake::Deadline))), AlarmAction::Keep);
        assert_eq!(armed.set_exact(now, None), AlarmAction::Keep);
        assert_eq!(armed, Armed(Some(later)));
    }
}
