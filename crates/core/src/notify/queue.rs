//! The durable delivery queue: notifications waiting to be sent, their attempts, and the
//! retry schedule. Owned by a Durable Object and persisted with its state, so pending
//! retries survive eviction and runtime restarts; the object's one alarm drives them
//! ([`DeliveryQueue::next_wake`]).
//!
//! The shell's sequence: [`DeliveryQueue::begin`] at `now` (leases the due sends and
//! returns them with the count of interrupted attempts it recorded, [`Begun`]) → persist
//! when [`Begun::changed`] → send each [`Send`] concurrently, each with
//! [`RetryPolicy::timeout`] → [`DeliveryQueue::finish`] with each [`Outcome`] → persist →
//! write [`DeliveryQueue::unwritten`] attempts to D1 `alert_history` →
//! [`DeliveryQueue::written`]. A one-off send outside any queue (a test) is classified by
//! [`lone_attempt`].
//!
//! Classification (as healthchecks.io and most webhook senders do, but retried durably):
//! 2xx is delivered; 429, 5xx, timeouts and network errors are retried with exponential
//! backoff, honouring `Retry-After`, until [`RetryPolicy::give_up_after`] has passed since
//! the first attempt; any other status is a permanent failure and is not retried.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::notify::message::Notification;
use crate::notify::text::head;
use crate::notify::vocab::Event;
use crate::retry::{Backoff, D1_WRITES};
use crate::time::Timestamp;

/// Most deliveries one queue holds; beyond it the oldest is abandoned (and recorded so).
pub const MAX_PENDING: usize = 200;
/// Most attempt records buffered while D1 is unreachable; older ones are dropped first.
pub const MAX_UNWRITTEN: usize = 1_000;
/// Longest error text recorded, in bytes.
pub const MAX_ERROR: usize = 500;
/// The error recorded for an attempt that never reported back before its lease ended.
pub const INTERRUPTED: &str =
    "interrupted: no outcome before the attempt's lease ended (object evicted or runtime restarted)";

/// How long past an attempt's timeout its lease lasts: an attempt that has not reported
/// back by then is recorded as interrupted (the object died mid-send) and retried.
pub const LEASE_SLACK: Duration = Duration::from_secs(5);

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// When and how long to retry.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the first retry; each next one doubles it.
    pub initial: Duration,
    /// Longest delay between two attempts.
    pub max: Duration,
    /// No attempt starts later than this after the first one.
    pub give_up_after: Duration,
    /// How long one attempt may take before it counts as a network error.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// 10 s, doubling up to 5 min, for 1 h (about 15 attempts); 10 s per attempt.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(300),
            give_up_after: Duration::from_secs(3_600),
            timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt number `attempt` (1-based): `initial · 2^(attempt−1)`,
    /// at most `max`, and never less than the receiver's `Retry-After`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = Backoff { initial: self.initial, max: self.max }.after(attempt);
        retry_after.map_or(backoff, |r| r.max(backoff))
    }
}

/// One notification on its way to one channel.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Unique within its queue; with the queue's subject it keys `alert_history`.
    pub id: u64,
    /// The channel's name in `notifications.json`.
    pub channel: String,
    /// What to send (rendered at send time, with the credentials of that moment).
    pub notification: Notification,
    /// The incident this is about (its start, epoch ms), if any.
    pub incident: Option<Timestamp>,
    /// Attempts started so far.
    pub attempts: u32,
    /// When it was queued.
    pub queued_at: Timestamp,
    /// When the first attempt started.
    pub first_attempt_at: Option<Timestamp>,
    /// When the next attempt is due; while an attempt runs, the end of its lease.
    pub next_at: Timestamp,
    /// While an attempt runs: when it started. Still set when its lease ends means the
    /// attempt never reported back (the object was evicted or the runtime restarted).
    #[serde(default)]
    pub in_flight: Option<Timestamp>,
    /// Whose budget it counts against ([`DeliveryQueue::push_for`]): an external alert's
    /// sender. `None` for the queue-wide [`MAX_PENDING`] budget of [`DeliveryQueue::push`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
}

/// An attempt to start now.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Send {
    /// The delivery's id, to pass back to [`DeliveryQueue::finish`].
    pub id: u64,
    /// The channel's name.
    pub channel: String,
    /// What to send.
    pub notification: Notification,
    /// This attempt's number, from 1.
    pub attempt: u32,
}

/// What [`DeliveryQueue::begin`] did at one wake-up.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Begun {
    /// The attempts to start now, each leased.
    pub sends: Vec<Send>,
    /// Attempts whose lease ended without an outcome, now on the record as interrupted
    /// (and retried later or abandoned).
    pub interrupted: usize,
}

impl Begun {
    /// Whether the queue changed, so it must be persisted before anything is sent.
    pub fn changed(&self) -> bool {
        self.interrupted > 0 || !self.sends.is_empty()
    }
}

/// What one attempt came to, as the shell observed it.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Outcome {
    /// The receiver answered with this HTTP status; `retry_after` from its `Retry-After`
    /// header (seconds or HTTP date, already converted), `body` a short excerpt.
    Answered {
        /// HTTP status code.
        status: u16,
        /// The `Retry-After` delay, if the receiver sent one.
        retry_after: Option<Duration>,
        /// The start of the response body, for the record when it is an error.
        body: String,
    },
    /// No answer: connection refused, DNS, TLS, or the timeout.
    NetworkError(String),
    /// Could not be sent at all and never will be as configured (unknown channel, missing
    /// credential): a permanent failure.
    Unsendable(String),
}

/// The final or intermediate verdict on an attempt. JSON: lower-case.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The receiver accepted it (2xx).
    Delivered,
    /// Failed; another attempt is scheduled.
    Retrying,
    /// Failed permanently (4xx other than 429, or unsendable); no retry.
    Failed,
    /// Still failing when the retry window closed (or the queue overflowed); no retry.
    Abandoned,
}

impl Verdict {
    /// The lower-case name stored in `alert_history.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Delivered => "delivered",
            Verdict::Retrying => "retrying",
            Verdict::Failed => "failed",
            Verdict::Abandoned => "abandoned",
        }
    }
}

/// One attempt, as written to D1 `alert_history` (keyed by subject, delivery and attempt,
/// so a replayed write is a no-op).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptRecord {
    /// The delivery.
    pub delivery: u64,
    /// Attempt number, from 1 (0 for a delivery abandoned before any attempt).
    pub attempt: u32,
    /// When the attempt started (epoch ms).
    pub at: Timestamp,
    /// The channel's name.
    pub channel: String,
    /// The event sent.
    pub event: Event,
    /// The incident (its start), if any.
    pub incident: Option<Timestamp>,
    /// The HTTP status, if the receiver answered.
    pub status: Option<u16>,
    /// What went wrong, if anything (≤ [`MAX_ERROR`] bytes).
    pub error: Option<String>,
    /// Milliseconds from the attempt's start to its answer.
    pub latency_ms: u64,
    /// What came of it.
    pub verdict: Verdict,
    /// For `retrying`: when the next attempt is due (epoch ms).
    pub next_attempt_at: Option<Timestamp>,
}

/// Pending deliveries and unwritten attempt records of one Durable Object.
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryQueue {
    /// Deliveries not yet delivered, failed or abandoned, oldest first.
    pub pending: Vec<Delivery>,
    /// The next delivery id.
    pub next_id: u64,
    /// Attempt records not yet written to D1, oldest first.
    pub unwritten: Vec<AttemptRecord>,
    /// No D1 write of attempts before this time (after a failed one).
    pub write_retry_at: Option<Timestamp>,
    /// Consecutive failed D1 writes of attempts ([`D1_WRITES`] backoff).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub write_failures: u32,
}

/// Most delivery attempts one alarm starts: each is an outbound fetch, and an invocation
/// may make 50 subrequests on the free plan (`crate::budget::SUBREQUESTS`); the rest of the
/// alarm's budget goes to its D1 writes (history, attempt records) and live updates (at most
/// [`crate::live::FANOUT`]). Further due attempts wait for the next alarm, armed at once.
pub const MAX_SENDS_PER_INVOCATION: usize = 30;

impl DeliveryQueue {
    /// Queues `notification` for `channel`, due at once. Returns its id. When
    /// [`MAX_PENDING`] are already waiting, the oldest is abandoned and recorded.
    pub fn push(
        &mut self,
        now: Timestamp,
        channel: &str,
        notification: Notification,
        incident: Option<Timestamp>,
    ) -> u64 {
        if self.pending.len() >= MAX_PENDING {
            self.abandon(0, now);
        }
        self.enqueue(now, channel, notification, incident, None)
    }

    /// Queues `notification` for `channel` against `sender`'s own budget: when `budget`
    /// deliveries of that sender are already waiting, the sender's oldest is abandoned and
    /// recorded; other senders' deliveries are never touched (so one sender's flood cannot
    /// evict another's). Returns its id.
    pub fn push_for(
        &mut self,
        now: Timestamp,
        channel: &str,
        notification: Notification,
        sender: &str,
        budget: usize,
    ) -> u64 {
        let mine = || self.pending.iter().filter(|d| d.sender.as_deref() == Some(sender));
        if mine().count() >= budget.max(1) {
            if let Some(oldest) = self.pending.iter().position(|d| d.sender.as_deref() == Some(sender)) {
                self.abandon(oldest, now);
            }
        }
        self.enqueue(now, channel, notification, None, Some(sender.to_owned()))
    }

    /// Abandons pending delivery `index` at `now`, on the record.
    fn abandon(&mut self, index: usize, now: Timestamp) {
        let oldest = self.pending.remove(index);
        self.record(&oldest, oldest.attempts, now, None, Some("queue full: newer notifications took its place"), 0);
        if let Some(r) = self.unwritten.last_mut() {
            r.verdict = Verdict::Abandoned;
        }
    }

    fn enqueue(
        &mut self,
        now: Timestamp,
        channel: &str,
        notification: Notification,
        incident: Option<Timestamp>,
        sender: Option<String>,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.push(Delivery {
            id,
            channel: channel.to_owned(),
            notification,
            incident,
            attempts: 0,
            queued_at: now,
            first_attempt_at: None,
            next_at: now,
            in_flight: None,
            sender,
        });
        id
    }

    /// The attempts due at `now` (at most [`MAX_SENDS_PER_INVOCATION`], oldest queued first:
    /// the rest stay due, so the alarm armed after these finish fires at once for them),
    /// leased until `now + timeout + 5 s` so an attempt that
    /// never reports back (the object was evicted mid-send) is retried after the lease.
    ///
    /// Such an attempt is put on the record as a network error ("interrupted") and retried
    /// with the same backoff as any failed attempt (so a runtime that dies on every attempt
    /// does not resend every lease), or abandoned when the next attempt would start later
    /// than [`RetryPolicy::give_up_after`] after the first. Returns the attempts to start
    /// and how many interrupted ones it recorded.
    pub fn begin(&mut self, now: Timestamp, policy: &RetryPolicy) -> Begun {
        let interrupted = self.record_interrupted(now, policy);
        let lease = now + (policy.timeout + LEASE_SLACK);
        let mut sends = Vec::new();
        for d in self.pending.iter_mut().filter(|d| d.next_at <= now).take(MAX_SENDS_PER_INVOCATION) {
            d.attempts += 1;
            d.first_attempt_at.get_or_insert(now);
            d.next_at = lease;
            d.in_flight = Some(now);
            sends.push(Send {
                id: d.id,
                channel: d.channel.clone(),
                notification: d.notification.clone(),
                attempt: d.attempts,
            });
        }
        Begun { sends, interrupted }
    }

    /// Applies the outcome of an attempt of delivery `id` that started at `started` and
    /// ended at `now`; returns the verdict (`None` if the delivery is no longer pending or
    /// has no attempt in flight, e.g. one already recorded as interrupted).
    pub fn finish(
        &mut self,
        id: u64,
        started: Timestamp,
        now: Timestamp,
        outcome: &Outcome,
        policy: &RetryPolicy,
    ) -> Option<Verdict> {
        let index = self.pending.iter().position(|d| d.id == id)?;
        let d = &mut self.pending[index];
        // No attempt in flight: this one was already recorded as interrupted.
        d.in_flight.take()?;
        let Judgement { status, error, retry_after, retryable } = judge(outcome);
        let first = d.first_attempt_at.unwrap_or(started);
        let verdict = match (&error, retryable) {
            (None, _) => Verdict::Delivered,
            (Some(_), false) => Verdict::Failed,
            (Some(_), true) => {
                let next = now + policy.delay(d.attempts, retry_after);
                if next > first + policy.give_up_after {
                    Verdict::Abandoned
                } else {
                    d.next_at = next;
                    Verdict::Retrying
                }
            }
        };
        self.conclude(index, verdict, (started, now), status, error.as_deref());
        Some(verdict)
    }

    /// Records the attempt of pending delivery `index` that ran over `span` (start, end)
    /// with `verdict`; a delivery that is not retrying leaves the queue.
    fn conclude(
        &mut self,
        index: usize,
        verdict: Verdict,
        (started, ended): (Timestamp, Timestamp),
        status: Option<u16>,
        error: Option<&str>,
    ) {
        let d = if verdict == Verdict::Retrying { self.pending[index].clone() } else { self.pending.remove(index) };
        let latency = u64::try_from(ended.since(started).as_millis()).unwrap_or(u64::MAX);
        self.record(&d, d.attempts, started, status, error, latency);
        if let Some(r) = self.unwritten.last_mut() {
            r.verdict = verdict;
            r.next_attempt_at = (verdict == Verdict::Retrying).then_some(d.next_at);
        }
    }

    /// Records every attempt whose lease ended before `now` without an outcome; returns how
    /// many.
    fn record_interrupted(&mut self, now: Timestamp, policy: &RetryPolicy) -> usize {
        let mut count = 0;
        // Backwards, so that removing an abandoned delivery keeps the indices still to visit.
        for index in (0..self.pending.len()).rev() {
            let d = &mut self.pending[index];
            if d.next_at > now {
                continue;
            }
            let Some(started) = d.in_flight.take() else { continue };
            let first = d.first_attempt_at.unwrap_or(started);
            let next = now + policy.delay(d.attempts, None);
            let verdict = if next > first + policy.give_up_after { Verdict::Abandoned } else { Verdict::Retrying };
            d.next_at = next;
            self.conclude(index, verdict, (started, now), None, Some(INTERRUPTED));
            count += 1;
        }
        count
    }

    fn record(&mut self, d: &Delivery, attempt: u32, at: Timestamp, status: Option<u16>, error: Option<&str>, ms: u64) {
        if self.unwritten.len() >= MAX_UNWRITTEN {
            self.unwritten.remove(0);
        }
        self.unwritten.push(AttemptRecord {
            delivery: d.id,
            attempt,
            at,
            channel: d.channel.clone(),
            event: d.notification.event(),
            incident: d.incident,
            status,
            error: error.map(|e| head(e, MAX_ERROR).to_owned()),
            latency_ms: ms,
            verdict: Verdict::Retrying,
            next_attempt_at: None,
        });
    }

    /// The first `n` unwritten attempt records reached D1; a failed write (`ok = false`)
    /// is retried after the [`D1_WRITES`] backoff (1 s, 2 s, 4 s … 60 s) from `now`.
    pub fn written(&mut self, n: usize, ok: bool, now: Timestamp) {
        if ok {
            self.unwritten.drain(..n.min(self.unwritten.len()));
            self.write_retry_at = None;
            self.write_failures = 0;
        } else {
            self.write_failures = self.write_failures.saturating_add(1);
            self.write_retry_at = Some(now + D1_WRITES.after(self.write_failures));
        }
    }

    /// The earliest time the queue needs its object awake: the next due attempt, or the
    /// next write of buffered attempt records (at `now` when nothing holds it back).
    pub fn next_wake(&self, now: Timestamp) -> Option<Timestamp> {
        let send = self.pending.iter().map(|d| d.next_at).min();
        let write = (!self.unwritten.is_empty()).then(|| self.write_retry_at.unwrap_or(now));
        match (send, write) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// An [`Outcome`] classified: the receiver's status, the error to record, its
/// `Retry-After`, and whether another attempt may succeed.
struct Judgement {
    status: Option<u16>,
    error: Option<String>,
    retry_after: Option<Duration>,
    retryable: bool,
}

/// The rule in the [module docs](self): 2xx delivered; 429, 5xx and network errors
/// retryable; anything else permanent.
fn judge(outcome: &Outcome) -> Judgement {
    let (status, error, retry_after, retryable) = match outcome {
        Outcome::Answered { status, .. } if (200..300).contains(status) => (Some(*status), None, None, false),
        Outcome::Answered { status, retry_after, body } => {
            let error = format!("HTTP {status}{}{}", if body.is_empty() { "" } else { ": " }, body.trim());
            (Some(*status), Some(error), *retry_after, *status == 429 || *status >= 500)
        }
        Outcome::NetworkError(e) => (None, Some(e.clone()), None, true),
        Outcome::Unsendable(e) => (None, Some(e.clone()), None, false),
    };
    Judgement { status, error, retry_after, retryable }
}

/// The record of a single attempt that is never retried (`POST /api/v1/notifications/test`):
/// attempt 1 of delivery `delivery`, started and ended at `span`, classified like any
/// attempt except that what would be retried is `abandoned` instead.
pub fn lone_attempt(
    delivery: u64,
    channel: &str,
    event: Event,
    (started, ended): (Timestamp, Timestamp),
    outcome: &Outcome,
) -> AttemptRecord {
    let Judgement { status, error, retryable, .. } = judge(outcome);
    let verdict = match (&error, retryable) {
        (None, _) => Verdict::Delivered,
        (Some(_), false) => Verdict::Failed,
        (Some(_), true) => Verdict::Abandoned,
    };
    AttemptRecord {
        delivery,
        attempt: 1,
        at: started,
        channel: channel.to_owned(),
        event,
        incident: None,
        status,
        error: error.map(|e| head(&e, MAX_ERROR).to_owned()),
        latency_ms: u64::try_from(ended.since(started).as_millis()).unwrap_or(u64::MAX),
        verdict,
        next_attempt_at: None,
    }
}

/// The delay a `Retry-After` header value asks for at `now`: delay-seconds or an HTTP date
/// (RFC 9110 §10.2.3); `None` if it is neither. A date in the past is no delay.
pub fn retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    let at = Timestamp::from_millis(i64::try_from(at.as_millis()).ok()?);
    Some(if at > now { at.since(now) } else { Duration::ZERO })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::notify::message::tests::down;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(4),
            give_up_after: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }

    fn answered(status: u16) -> Outcome {
        Outcome::Answered { status, retry_after: None, body: String::new() }
    }

    #[test]
    fn an_alarm_starts_at_most_thirty_attempts_and_leaves_the_rest_due() {
        let (mut q, p) = (DeliveryQueue::default(), policy());
        let t0 = Timestamp::from_millis(0);
        for _ in 0..35 {
            q.push(t0, "webhook", down(), Some(t0));
        }
        let first = q.begin(t0, &p).sends;
        assert_eq!(first.len(), MAX_SENDS_PER_INVOCATION);
        assert_eq!(first[0].id, 0, "oldest first");
        assert_eq!(q.next_wake(t0), Some(t0), "the rest are due at once");
        let rest = q.begin(t0, &p).sends;
        assert_eq!(rest.iter().map(|s| s.id).collect::<Vec<_>>(), (30..35).collect::<Vec<_>>());
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_honours_retry_after() {
        let p = policy();
        let delays: Vec<u64> = (1..=5).map(|n| p.delay(n, None).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 4, 4]);
        assert_eq!(p.delay(1, Some(Duration::from_secs(9))).as_secs(), 9);
        assert_eq!(p.delay(3, Some(Duration::from_millis(10))).as_secs(), 4, "never shorter than the backoff");
        assert_eq!(p.delay(u32::MAX, None).as_secs(), 4, "no overflow");
    }

    #[test]
    fn two_server_errors_then_success_is_three_attempts_and_one_delivery() {
        let (mut q, p) = (DeliveryQueue::default(), policy());
        let id = q.push(Timestamp::from_millis(0), "discord", down(), Some(Timestamp::from_millis(0)));
        let mut now = Timestamp::from_millis(0);
        let mut verdicts = Vec::new();
        for status in [500, 503, 200] {
            let begun = q.begin(now, &p);
            assert_eq!((begun.sends.len(), begun.interrupted), (1, 0));
            assert!(q.begin(now, &p).sends.is_empty(), "leased: not handed out twice");
            verdicts.push(q.finish(id, now, now + Duration::from_millis(20), &answered(status), &p).unwrap());
            now = q.next_wake(now).unwrap_or(now);
            if let Some(d) = q.pending.first() {
                now = d.next_at;
            }
        }
        assert_eq!(verdicts, [Verdict::Retrying, Verdict::Retrying, Verdict::Delivered]);
        assert!(q.pending.is_empty());
        let attempts: Vec<(u32, Option<u16>, Verdict)> =
            q.unwritten.iter().map(|r| (r.attempt, r.status, r.verdict)).collect();
        assert_eq!(
            attempts,
            [(1, Some(500), Verdict::Retrying), (2, Some(503), Verdict::Retrying), (3, Some(200), Verdict::Delivered)]
        );
        assert_eq!(q.unwritten[0].next_attempt_at, Some(Timestamp::from_millis(1_020)));
        assert_eq!(q.unwritten[0].latency_ms, 20);
    }

    #[test]
    fn client_errors_are_permanent_and_429_is_retried_after_its_delay() {
        let (mut q, p) = (DeliveryQueue::default(), policy());
        let a = q.push(Timestamp::from_millis(0), "slack", down(), None);
        let b = q.push(Timestamp::from_millis(0), "discord", down(), None);
        assert_eq!(q.begin(Timestamp::from_millis(0), &p).sends.len(), 2);
        assert_eq!(
            q.finish(a, Timestamp::from_millis(0), Timestamp::from_millis(5), &answered(404), &p),
            Some(Verdict::Failed)
        );
        let limited =
            Outcome::Answered { status: 429, retry_after: Some(Duration::from_secs(7)), body: "slow down".into() };
        assert_eq!(
            q.finish(b, Timestamp::from_millis(0), Timestamp::from_millis(5), &limited, &p),
            Some(Verdict::Retrying)
        );
        assert_eq!(
            q.next_wake(Timestamp::from_millis(3)),
            Some(Timestamp::from_millis(3)),
            "attempt records wait to be written, now"
        );
        q.written(2, true, Timestamp::from_millis(5));
        assert_eq!(q.next_wake(Timestamp::from_millis(0)), Some(Timestamp::from_millis(7_005)));
        assert_eq!(q.finish(a, Timestamp::from_millis(0), Timestamp::from_millis(5), &answered(200), &p), None, "gone");
    }

    #[test]
    fn network_errors_are_retried_until_the_window_closes() {
        let (mut q, p) = (DeliveryQueue::default(), policy());
        let id = q.push(Timestamp::from_millis(0), "webhook", down(), None);
        let mut now = Timestamp::from_millis(0);
        let mut last = None;
        for _ in 0..20 {
            if q.begin(now, &p).sends.is_empty() {
                break;
            }
            last = q.finish(id, now, now, &Outcome::NetworkError("connection refused".into()), &p);
            now = q.pending.first().map_or(now, |d| d.next_at);
        }
        assert_eq!(last, Some(Verdict::Abandoned));
        let times: Vec<i64> = q.unwritten.iter().map(|r| r.at.as_millis()).collect();
        assert_eq!(times, [0, 1_000, 3_000, 7_000, 11_000, 15_000, 19_000, 23_000, 27_000]);
        assert!(q.pending.is_empty());
        assert_eq!(q.next_wake(Timestamp::from_millis(3)), Some(Timestamp::from_millis(3)));
    }

    #[test]
    fn an_attempt_that_never_reports_back_is_retried_after_its_lease() {
        let (mut q, p) = (DeliveryQueue::default(), policy());
        q.push(Timestamp::from_millis(0), "discord", down(), None);
        assert_eq!(q.begin(Timestamp::from_millis(0), &p).sends.len(), 1);
        assert_eq!(q.next_wake(Timestamp::from_millis(0)), Some(Timestamp::from_millis(15_000)));
        // The lease ends: the lost attempt is on the record, retried after the usual backoff.
        assert_eq!(q.begin(Timestamp::from_millis(15_000), &p), Begun { sends: Vec::new(), interrupted: 1 });
        let r = &q.unwritten[0];
        assert_eq!((r.attempt, r.at, r.status, r.verdict), (1, Timestamp::from_millis(0), None, Verdict::Retrying));
        assert_eq!(
            (r.error.as_deref(), r.latency_ms, r.next_attempt_at),
            (Some(INTERRUPTED), 15_000, Some(Timestamp::from_millis(16_000)))
        );
        assert_eq!(q.pending[0].next_at, Timestamp::from_millis(16_000));
        // A late answer to the lost attempt changes nothing.
        assert_eq!(q.finish(0, Timestamp::from_millis(0), Timestamp::from_millis(15_500), &answered(204), &p), None);
        assert_eq!(q.unwritten.len(), 1);
        let again = q.begin(Timestamp::from_millis(16_000), &p).sends;
        assert_eq!(again[0].attempt, 2);
        // Attempt 2 reports back: its own record, and no second "interrupted" one.
        q.finish(again[0].id, Timestamp::from_millis(16_000), Timestamp::from_millis(16_010), &answered(204), &p);
        assert!(!q.begin(Timestamp::from_millis(60_000), &p).changed());
        let numbers: Vec<_> = q.unwritten.iter().map(|r| (r.attempt, r.verdict)).collect();
        assert_eq!(numbers, [(1, Verdict::Retrying), (2, Verdict::Delivered)]);
    }

    #[test]
    fn an_attempt_interrupted_after_the_retry_window_is_abandoned() {
        let (mut q, p) = (DeliveryQueue::default(), policy());
        q.push(Timestamp::from_millis(0), "discord", down(), None);
        q.begin(Timestamp::from_millis(0), &p);
        let late = Timestamp::from_millis(0) + (p.give_up_after + Duration::from_secs(1));
        assert_eq!(q.begin(late, &p), Begun { sends: Vec::new(), interrupted: 1 });
        assert!(q.pending.is_empty());
        assert_eq!((q.unwritten[0].verdict, q.unwritten[0].error.as_deref()), (Verdict::Abandoned, Some(INTERRUPTED)));
    }

    #[test]
    fn a_full_queue_abandons_its_oldest_delivery_on_the_record() {
        let mut q = DeliveryQueue::default();
        for _ in 0..=MAX_PENDING {
            q.push(Timestamp::from_millis(0), "discord", down(), None);
        }
        assert_eq!(q.pending.len(), MAX_PENDING);
        assert_eq!(q.pending[0].id, 1);
        assert_eq!(q.unwritten.len(), 1);
        assert_eq!((q.unwritten[0].delivery, q.unwritten[0].verdict), (0, Verdict::Abandoned));
    }

    #[test]
    fn a_senders_flood_abandons_only_its_own_deliveries() {
        let mut q = DeliveryQueue::default();
        let a = q.push_for(Timestamp::from_millis(0), "ops", down(), "alertmanager.aa", 3);
        let service = q.push(Timestamp::from_millis(0), "ops", down(), None);
        for _ in 0..1_000 {
            q.push_for(Timestamp::from_millis(1), "ops", down(), "generic.bb", 3);
        }
        let ids: Vec<u64> = q.pending.iter().map(|d| d.id).collect();
        assert_eq!(ids, [a, service, 999, 1000, 1001], "A's and the unscoped delivery stay; B keeps its newest 3");
        assert_eq!(q.unwritten.len(), 997);
        assert!(q.unwritten.iter().all(|r| r.verdict == Verdict::Abandoned && r.delivery >= 2));
    }

    #[test]
    fn failed_writes_of_attempt_records_are_retried_later() {
        let (mut q, p) = (DeliveryQueue::default(), policy());
        let id = q.push(Timestamp::from_millis(0), "discord", down(), None);
        q.begin(Timestamp::from_millis(0), &p);
        q.finish(id, Timestamp::from_millis(0), Timestamp::from_millis(1), &answered(204), &p);
        q.written(1, false, Timestamp::from_millis(1));
        assert_eq!(
            q.next_wake(Timestamp::from_millis(1)),
            Some(Timestamp::from_millis(1_001)),
            "1 s after the first failure"
        );
        q.written(1, false, Timestamp::from_millis(1_001));
        assert_eq!(
            q.next_wake(Timestamp::from_millis(1_001)),
            Some(Timestamp::from_millis(3_001)),
            "2 s after the second"
        );
        q.written(1, true, Timestamp::from_millis(3_001));
        assert_eq!((q.next_wake(Timestamp::from_millis(3_001)), q.write_failures), (None, 0));
    }

    #[test]
    fn a_lone_attempt_is_classified_like_a_queued_one_that_may_not_retry() {
        let outcomes = [
            answered(204),
            answered(404),
            Outcome::Answered { status: 503, retry_after: None, body: " busy ".into() },
            Outcome::NetworkError("é".repeat(400)),
            Outcome::Unsendable("no channel".into()),
        ];
        for outcome in outcomes {
            // What `POST /api/v1/notifications/test` did before: a queue of one, no retry window.
            let mut q = DeliveryQueue { next_id: 77, ..DeliveryQueue::default() };
            let id = q.push(Timestamp::from_millis(1_000), "ops", down(), None);
            q.begin(Timestamp::from_millis(1_000), &RetryPolicy::default());
            let once = RetryPolicy { give_up_after: Duration::ZERO, ..RetryPolicy::default() };
            q.finish(id, Timestamp::from_millis(1_000), Timestamp::from_millis(1_250), &outcome, &once);
            let lone = lone_attempt(
                77,
                "ops",
                Event::Down,
                (Timestamp::from_millis(1_000), Timestamp::from_millis(1_250)),
                &outcome,
            );
            assert_eq!(Some(&lone), q.unwritten.last(), "{outcome:?}");
        }
        let record =
            lone_attempt(1, "ops", Event::Test, (Timestamp::from_millis(0), Timestamp::from_millis(5)), &answered(503));
        assert_eq!(
            (record.verdict, record.error.as_deref(), record.latency_ms),
            (Verdict::Abandoned, Some("HTTP 503"), 5)
        );
    }

    /// A queue as the code before `Begun` and `Subject` stored it: a `down` delivery
    /// retrying after a 503 and an alert delivery in flight.
    const STORED_QUEUE: &str = r#"{"pending":[{"id":0,"channel":"ops","notification":{"event":"down","serviceId":"api-prod","serviceName":"Production API","group":"production","status":"down","previousStatus":"up","since":1763753600000,"duration":null,"message":"no heartbeat within 300 s","dashboardUrl":"https://status.example.com/services/api-prod","suppressed":0},"incident":900,"attempts":1,"queuedAt":1000,"firstAttemptAt":1000,"nextAt":11020,"inFlight":null},{"id":1,"channel":"pager","notification":{"event":"alert","serviceId":"alertmanager","serviceName":"High memory usage","group":null,"status":"down","previousStatus":"up","since":1763753600000,"duration":null,"message":"db-1 uses 97 % of its memory","dashboardUrl":"https://prometheus.example.com/graph?g0.expr=mem","suppressed":0,"alert":{"state":"firing","severity":"critical","source":"alertmanager","fingerprint":"1a30ba71cca2921f","labels":{"alertname":"HighMemory","instance":"db-1:9100","severity":"critical"},"url":"https://prometheus.example.com/graph?g0.expr=mem"}},"incident":null,"attempts":1,"queuedAt":1000,"firstAttemptAt":1000,"nextAt":16000,"inFlight":1000}],"nextId":2,"unwritten":[{"delivery":0,"attempt":1,"at":1000,"channel":"ops","event":"down","incident":900,"status":503,"error":"HTTP 503: busy","latencyMs":20,"verdict":"retrying","nextAttemptAt":11020}],"writeRetryAt":null}"#;

    #[test]
    fn a_queue_stored_by_earlier_versions_reads_back_unchanged() {
        let q: DeliveryQueue = serde_json::from_str(STORED_QUEUE).unwrap();
        assert_eq!((q.next_id, q.pending.len(), q.unwritten.len()), (2, 2, 1));
        assert_eq!(q.pending[0].notification, down());
        assert_eq!(q.pending[1].notification, crate::notify::message::tests::alert_firing());
        assert_eq!((q.pending[0].next_at, q.pending[0].in_flight), (Timestamp::from_millis(11_020), None));
        assert_eq!(
            (q.pending[1].next_at, q.pending[1].in_flight),
            (Timestamp::from_millis(16_000), Some(Timestamp::from_millis(1_000)))
        );
        let r = &q.unwritten[0];
        assert_eq!((r.event, r.status, r.error.as_deref()), (Event::Down, Some(503), Some("HTTP 503: busy")));
        assert_eq!(serde_json::to_string(&q).unwrap(), STORED_QUEUE, "written back byte for byte");
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = Timestamp::from_millis(784_111_777_000 - 30_000);
        assert_eq!(retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", Timestamp::from_millis(784_111_777_001)),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }

    #[test]
    fn error_text_is_cut_at_a_character_boundary() {
        assert_eq!(head("ééé", 3), "é");
        assert_eq!(head("abc", 3), "abc");
        let (mut q, p) = (DeliveryQueue::default(), policy());
        let id = q.push(Timestamp::from_millis(0), "x", down(), None);
        q.begin(Timestamp::from_millis(0), &p);
        q.finish(
            id,
            Timestamp::from_millis(0),
            Timestamp::from_millis(1),
            &Outcome::Unsendable("é".repeat(MAX_ERROR)),
            &p,
        );
        assert_eq!(q.unwritten[0].error, Some("é".repeat(MAX_ERROR / 2)));
    }
}
