//! `GET /api/logs?serviceId=`: the seed's historical endpoint (removed upstream; its first
//! version answered it): one service's check results, newest first.
//!
//! ```json
//! [{"serviceId": "api", "serviceName": "API", "status": "down", "systoleStatus": "down",
//!   "lastSeen": "2025-11-10T11:50:00.000Z", "timeSinceLastHeartbeat": 660000,
//!   "stalenessThreshold": 600000, "timestamp": "2025-11-10T12:01:00.000Z"},
//!  {"serviceId": "api", "serviceName": "API", "status": "up", "systoleStatus": "up",
//!   "lastSeen": "2025-11-10T11:50:00.000Z", "timeSinceLastHeartbeat": 0,
//!   "stalenessThreshold": 600000, "timestamp": "2025-11-10T11:50:00.000Z"}]
//! ```
//!
//! The seed logged each cron run's result. Systole has no such runs; its results are the
//! service's heartbeats (each one a check at its arrival, `status` what it reported) and
//! the status changes no heartbeat made (a check at the change, `lastSeen` the heartbeat
//! before it: going `late` or `down` at a deadline), merged.

use serde::Serialize;

use super::{seed_status, Change};
use crate::config::ServiceConfig;
use crate::monitor::Status;
use crate::time::Timestamp;

/// Entries answered when `limit` is not given (the seed's `MAX_LOG_ENTRIES`).
pub const DEFAULT_LIMIT: usize = 100;
/// Most entries answered.
pub const MAX_LIMIT: usize = 1000;

/// One check result: a summary result without the group fields.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// The service id.
    pub service_id: String,
    /// Its display name.
    pub service_name: String,
    /// The seed's word for `systole_status`.
    pub status: &'static str,
    /// A heartbeat's reported status, or the status a change went to.
    pub systole_status: Status,
    /// The heartbeat itself, or the newest one before the change (`null` if none is kept).
    pub last_seen: Option<String>,
    /// Milliseconds from `lastSeen` to `timestamp`.
    pub time_since_last_heartbeat: Option<i64>,
    /// The staleness threshold in milliseconds.
    pub staleness_threshold: u64,
    /// When the check happened (RFC 3339 UTC, milliseconds).
    pub timestamp: String,
}

impl LogEntry {
    /// `service` in `status` at `at`, its last heartbeat at `seen`.
    pub fn new(service: &ServiceConfig, at: Timestamp, status: Status, seen: Option<Timestamp>) -> Self {
        Self {
            service_id: service.id.to_string(),
            service_name: service.name.clone(),
            status: seed_status(status),
            systole_status: status,
            last_seen: seen.map(Timestamp::to_rfc3339),
            time_since_last_heartbeat: seen.map(|s| (at.as_millis() - s.as_millis()).max(0)),
            staleness_threshold: u64::try_from(service.staleness_threshold.as_millis()).unwrap_or(u64::MAX),
            timestamp: at.to_rfc3339(),
        }
    }
}

/// Merges `service`'s heartbeats (arrival time, reported status) and status changes into at
/// most `limit` entries, newest first; a change at a heartbeat's arrival is that heartbeat's
/// entry.
pub fn logs(
    service: &ServiceConfig,
    heartbeats: &[(Timestamp, Status)],
    changes: &[Change],
    limit: usize,
) -> Vec<LogEntry> {
    let entry = |at: Timestamp, status: Status, seen: Option<Timestamp>| LogEntry::new(service, at, status, seen);
    let mut all: Vec<(Timestamp, u8, LogEntry)> = heartbeats
        .iter()
        .map(|&(at, status)| (at, 0, entry(at, status, Some(at))))
        .chain(
            changes
                .iter()
                .filter(|c| !heartbeats.iter().any(|(at, _)| *at == c.at))
                .map(|c| (c.at, 1, entry(c.at, c.to, c.last_seen))),
        )
        .collect();
    all.sort_by_key(|e| std::cmp::Reverse((e.0, e.1)));
    all.into_iter().take(limit).map(|(_, _, e)| e).collect()
}

/// The query of `GET /api/logs?serviceId=[&limit=]`: the service id and the limit
/// (default [`DEFAULT_LIMIT`], 1 to [`MAX_LIMIT`]).
///
/// # Errors
/// The message of the 400: no `serviceId`, or a `limit` that is not a whole number in range.
pub fn query(pairs: &[(String, String)]) -> Result<(String, usize), String> {
    let id = super::service_id(pairs)?;
    let limit = match pairs.iter().find(|(k, _)| k == "limit").map(|(_, v)| v.trim()) {
        None | Some("") => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| format!("limit must be a whole number from 1 to {MAX_LIMIT}, got {l:?}"))?,
    };
    Ok((id, limit))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::config::Config;

    #[test]
    fn heartbeats_and_changes_merge_newest_first_and_are_capped() {
        let config =
            Config::parse(Some(r#"{"services": [{"id": "api", "name": "API", "stalenessThreshold": 600}]}"#), None)
                .unwrap();
        let api = config.service("api").unwrap();
        let t = |ms: i64| Timestamp::from_millis(ms);
        let beats = [(t(1_000), Status::Up), (t(2_000), Status::Degraded)];
        let down = Change {
            service_id: "api".into(),
            at: t(602_000),
            seq: 3,
            from: Status::Degraded,
            to: Status::Down,
            last_seen: Some(t(2_000)),
        };
        let got = logs(api, &beats, std::slice::from_ref(&down), 10);
        let words: Vec<&str> = got.iter().map(|e| e.status).collect();
        assert_eq!(words, ["down", "degraded", "up"]);
        assert_eq!(got[0].time_since_last_heartbeat, Some(600_000));
        assert_eq!(got[0].last_seen.as_deref(), Some("1970-01-01T00:00:02.000Z"));
        assert_eq!((got[1].time_since_last_heartbeat, got[1].staleness_threshold), (Some(0), 600_000));
        let json = serde_json::to_value(&got[2]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"serviceId": "api", "serviceName": "API", "status": "up", "systoleStatus": "up",
                "lastSeen": "1970-01-01T00:00:01.000Z", "timeSinceLastHeartbeat": 0, "stalenessThreshold": 600000,
                "timestamp": "1970-01-01T00:00:01.000Z"})
        );
        assert_eq!(logs(api, &beats, &[down], 2).len(), 2);
    }
}
