//! Notification delivery, the effects half: the Durable Objects own a core delivery queue
//! and say what is due ([`crate::durable`]); this module sends it and records every attempt.
//!
//! - [`send`]: one attempt per due delivery, concurrently, each under a timeout.
//! - [`history`]: D1 `alert_history` writes and reads.
//! - [`desk`]: the AlertDesk Durable Object for external alerts (`POST /api/alert`).

pub mod desk;
pub mod history;
pub mod send;
