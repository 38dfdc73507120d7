//! One module per endpoint.

pub mod acknowledge;
pub mod alerts;
pub mod badge;
pub mod cloudflaremon;
pub mod heartbeat;
pub mod heartbeat_central;
pub mod incidents;
pub mod logs;
pub mod maintenance;
pub mod manage;
pub mod metrics;
pub mod notifications;
pub mod ping;
pub mod runs;
pub mod services;
#[cfg(feature = "bench")]
pub mod stats;
pub mod status;
pub mod telemetry;
pub mod uptime;

use worker::Request;

/// The query string as `(name, value)` pairs, percent-decoded.
pub fn query_pairs(req: &Request) -> Vec<(String, String)> {
    req.url().map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()).unwrap_or_default()
}
