//! Notification delivery, the effects half: the Durable Objects own a core
//! [`DeliveryQueue`]; this module sends what it says is due and records every attempt.
//!
//! - [`send`]: one attempt per due delivery, concurrently, each under a timeout.
//! - [`history`]: D1 `alert_history` writes and reads.
//! - [`desk`]: the AlertDesk Durable Object for external alerts (`POST /api/alert`).

pub mod desk;
pub mod history;
pub mod send;

use systole_core::notify::queue::{DeliveryQueue, RetryPolicy};
use worker::{Env, Result};

use crate::deployment::now;

/// A Durable Object that holds a [`DeliveryQueue`] in its persisted state.
pub trait QueueHost {
    /// Runs `f` on the queue of the cached state (never held across an `.await`).
    fn with_queue<T>(&self, f: impl FnOnce(&mut DeliveryQueue) -> T) -> Result<T>;
    /// Writes the whole state to the object's storage.
    fn persist(&self) -> Result<()>;
}

/// Sends every due delivery of `host`'s queue and records the attempts under `subject` in
/// D1. The leases are persisted before anything is sent and the outcomes right after, so
/// an eviction mid-send re-sends at most the attempts in flight, once their lease ends.
///
/// # Errors
/// Only storage errors of the object itself; send and D1 failures are outcomes.
pub async fn deliver(env: &Env, subject: &str, host: &impl QueueHost, policy: &RetryPolicy) -> Result<()> {
    let begun = host.with_queue(|q| q.begin(now(), policy))?;
    // Leases, and attempts that never reported back (now on the record), are stored first.
    if begun.changed() {
        host.persist()?;
    }
    if !begun.sends.is_empty() {
        let finished = send::all(env, begun.sends, policy.timeout).await;
        host.with_queue(|q| {
            for f in &finished {
                if let Some(verdict) = q.finish(f.send.id, f.started, f.ended, &f.outcome, policy) {
                    worker::console_log!(
                        "{subject}: {} to {} attempt {}: {}",
                        f.send.notification.event(),
                        f.send.channel,
                        f.send.attempt,
                        verdict.as_str()
                    );
                }
            }
        })?;
        host.persist()?;
    }
    let due = host.with_queue(|q| q.write_retry_at.is_none_or(|t| t <= now()).then(|| q.unwritten.clone()))?;
    if let Some((n, ok)) = match due {
        Some(records) => history::flush(env, subject, &records).await,
        None => None,
    } {
        host.with_queue(|q| q.written(n, ok, now()))?;
        host.persist()?;
    }
    Ok(())
}
