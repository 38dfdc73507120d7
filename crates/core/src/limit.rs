//! Rate limits: the documented limits of every route that has one, and the per-service
//! heartbeat limiter a ServiceMonitor keeps in memory.
//!
//! Two kinds, each documented in `docs/api.md` and `docs/security.md`:
//! - **Per client IP at the edge** ([`PerIp`]: [`SIGN_IN`], [`HEARTBEAT_PER_IP`],
//!   [`ALERT_PER_IP`]), keyed by `CF-Connecting-IP` and counted by the Workers Rate Limiting
//!   binding named in `wrangler.toml` (`[[ratelimits]]`, fixed windows of `period_secs`); the
//!   Worker answers 429 with `Retry-After: period_secs` past the limit.
//! - **Per service** ([`SERVICE_HEARTBEATS`]), decided here by [`Limiter::admit`] inside the
//!   service's ServiceMonitor: a flood to one service is refused with 429 before anything is
//!   stored, so it can neither fill the service's history nor delay its other heartbeats into
//!   a false `down`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// A per-client-IP limit enforced at the edge by a Workers Rate Limiting binding: at most
/// `limit` requests per fixed window of `period_secs` seconds (the binding allows 10 or 60).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct PerIp {
    /// The `[[ratelimits]]` binding's `name` in `wrangler.toml`.
    pub binding: &'static str,
    /// Requests allowed per window.
    pub limit: u32,
    /// The window in seconds; also the `Retry-After` of a refused request.
    pub period_secs: u16,
}

/// `POST /login`: 10 sign-in attempts per client IP per minute.
pub const SIGN_IN: PerIp = PerIp { binding: "SIGN_IN_LIMITER", limit: 10, period_secs: 60 };

/// `POST /api/v1/heartbeat` and `POST /api/heartbeat`: 1,000 requests per client IP per 10 s
/// **in which no heartbeat passed its key check** (wrong or missing keys, unknown ids). A
/// heartbeat with a right key never calls the limiter, so the hot path costs nothing more, a
/// guessing loop or a misconfigured client is refused cheaply, and an attacker behind the
/// same address as a real fleet cannot lock it out. Authenticated floods are limited per
/// service ([`SERVICE_HEARTBEATS`]).
pub const HEARTBEAT_PER_IP: PerIp = PerIp { binding: "HEARTBEAT_LIMITER", limit: 1_000, period_secs: 10 };

/// `POST /api/v1/alerts` and `POST /api/alert`: 1,000 requests per client IP per 10 s.
pub const ALERT_PER_IP: PerIp = PerIp { binding: "ALERT_LIMITER", limit: 1_000, period_secs: 10 };

/// Every per-IP limit, for checks that `wrangler.toml` declares each.
pub const PER_IP: [PerIp; 3] = [SIGN_IN, HEARTBEAT_PER_IP, ALERT_PER_IP];

/// A rate for [`Limiter`]: `burst` events at once, then one per `interval` sustained.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Rate {
    /// Events admitted at once after a quiet spell (at least 1).
    pub burst: u32,
    /// The sustained spacing between events.
    pub interval: Duration,
}

/// Heartbeats one service may send: bursts of 300, then 10 per second sustained. A real
/// service beats every few seconds at most; a job's start and finish are two.
pub const SERVICE_HEARTBEATS: Rate = Rate { burst: 300, interval: Duration::from_millis(100) };

/// A GCRA (generic cell rate algorithm) limiter: equivalent to a token bucket of `burst`
/// tokens refilled one per `interval`, kept as one instant, the theoretical arrival time of
/// the next event. Kept in the ServiceMonitor's memory (records of version 1 stored it as JSON
/// `{"tat": epoch ms}`, `{}` before the first event, which still reads).
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
pub struct Limiter {
    /// When the bucket is full again if nothing else arrives; `None` before any event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tat: Option<Timestamp>,
}

impl Limiter {
    /// Decides whether an event at `now` is within `rate`, and counts it if so.
    ///
    /// # Errors
    /// When it is not: how long until one more would be admitted (at least 1 ms). Nothing
    /// changes then, so a refused flood costs no write.
    pub fn admit(&mut self, now: Timestamp, rate: Rate) -> Result<(), Duration> {
        let tolerance = rate.interval.saturating_mul(rate.burst.max(1) - 1);
        let tat = self.tat.map_or(now, |t| t.max(now));
        let ahead = tat.since(now);
        if ahead > tolerance {
            return Err((ahead - tolerance).max(Duration::from_millis(1)));
        }
        self.tat = Some(tat + rate.interval);
        Ok(())
    }
}

/// Whole seconds for a `Retry-After` header: `wait` rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u16 {
    let secs = wait.as_millis().div_ceil(1000).max(1);
    u16::try_from(secs).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(T0 + ms)
    }

    #[test]
    fn a_burst_is_admitted_then_the_next_waits_one_interval() {
        let rate = Rate { burst: 3, interval: Duration::from_millis(100) };
        let mut l = Limiter::default();
        for _ in 0..3 {
            assert_eq!(l.admit(at(0), rate), Ok(()));
        }
        assert_eq!(l.admit(at(0), rate), Err(Duration::from_millis(100)));
        assert_eq!(l.admit(at(40), rate), Err(Duration::from_millis(60)));
        assert_eq!(l.admit(at(100), rate), Ok(()));
        assert_eq!(l.admit(at(100), rate), Err(Duration::from_millis(100)));
        // A quiet spell refills the whole burst, never more.
        for _ in 0..3 {
            assert_eq!(l.admit(at(10_000), rate), Ok(()));
        }
        assert!(l.admit(at(10_000), rate).is_err());
    }

    #[test]
    fn a_refusal_changes_nothing() {
        let rate = Rate { burst: 1, interval: Duration::from_secs(1) };
        let mut l = Limiter::default();
        l.admit(at(0), rate).unwrap();
        let before = l;
        assert!(l.admit(at(500), rate).is_err());
        assert_eq!(l, before);
    }

    #[test]
    fn the_stored_form_is_one_instant() {
        let mut l = Limiter::default();
        assert_eq!(serde_json::to_string(&l).unwrap(), "{}");
        l.admit(Timestamp::from_millis(1_000), SERVICE_HEARTBEATS).unwrap();
        assert_eq!(serde_json::to_string(&l).unwrap(), r#"{"tat":1100}"#);
        assert_eq!(serde_json::from_str::<Limiter>("{}").unwrap(), Limiter::default());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1_001)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }

    proptest! {
        /// Over any window of arrivals, the limiter admits at most `burst` plus one per
        /// `interval` elapsed, and a refusal's wait is exact: an arrival after it is admitted.
        #[test]
        fn admits_at_most_burst_plus_rate_and_the_wait_is_enough(
            gaps in prop::collection::vec(0i64..300, 1..400),
            burst in 1u32..20,
            interval in 1u64..200,
        ) {
            let rate = Rate { burst, interval: Duration::from_millis(interval) };
            let mut l = Limiter::default();
            let mut t = 0;
            let mut admitted = 0u64;
            for gap in gaps {
                t += gap;
                match l.admit(at(t), rate) {
                    Ok(()) => admitted += 1,
                    Err(wait) => {
                        let after = i64::try_from(wait.as_millis()).unwrap();
                        let (mut late, mut early) = (l, l);
                        prop_assert!(late.admit(at(t + after), rate).is_ok());
                        prop_assert!(early.admit(at(t + after - 1), rate).is_err());
                    }
                }
            }
            let bound = u64::from(burst) + u64::try_from(t).unwrap() / interval;
            prop_assert!(admitted <= bound, "{admitted} admitted over {t} ms, bound {bound}");
        }
    }
}
