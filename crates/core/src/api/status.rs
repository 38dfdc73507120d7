//! `GET /api/v1/status`: every configured service's current state and the summary counts, built
//! from what D1 holds (the dashboard reuses the same report).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Config, ServiceConfig};
use crate::monitor::{deadline, MonitorConfig, Status};
use crate::time::Timestamp;

/// A service's state as stored in D1: its `service_state` row joined with its latest
/// heartbeat.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct StoredState {
    /// The service.
    pub service_id: String,
    /// Last written status.
    pub status: Status,
    /// When that status began.
    pub status_since: Timestamp,
    /// Start of the open incident, if any.
    pub incident_started_at: Option<Timestamp>,
    /// Time up to which uptime rollups are written.
    pub accounted_until: Option<Timestamp>,
    /// The latest written heartbeat.
    pub last_heartbeat: Option<Timestamp>,
    /// Its message.
    pub last_message: Option<String>,
}

/// Counts per status.
///
/// JSON: `{"total", "up", "late", "degraded", "down", "paused", "unknown"}`.
#[derive(Clone, Debug, Default, Eq, PartialEq, Serialize)]
pub struct Summary {
    /// Configured services.
    pub total: u32,
    /// `up`.
    pub up: u32,
    /// `late`.
    pub late: u32,
    /// `degraded`.
    pub degraded: u32,
    /// `down`.
    pub down: u32,
    /// `paused`.
    pub paused: u32,
    /// `unknown`.
    pub unknown: u32,
}

impl Summary {
    /// Counts one service with `status`.
    pub fn count(&mut self, status: Status) {
        self.total += 1;
        *match status {
            Status::Up => &mut self.up,
            Status::Late => &mut self.late,
            Status::Degraded => &mut self.degraded,
            Status::Down => &mut self.down,
            Status::Paused => &mut self.paused,
            Status::Unknown => &mut self.unknown,
        } += 1;
    }
}

/// One service in the report; times are RFC 3339 UTC.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    /// Service id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Group id, if any.
    pub group: Option<String>,
    /// Current status; `unknown` (or `paused` if disabled) before the first write.
    pub status: Status,
    /// When the status began.
    pub status_since: Option<String>,
    /// The latest written heartbeat.
    pub last_heartbeat: Option<String>,
    /// Whole seconds from it to the report time.
    pub seconds_since_last_heartbeat: Option<u64>,
    /// Its message.
    pub message: Option<String>,
    /// When the next heartbeat (or, while `late`, the end of the grace period) is due.
    pub next_deadline: Option<String>,
    /// Start of the open incident, if any.
    pub incident_started_at: Option<String>,
}

/// The whole report. JSON: `{"generatedAt", "summary": Summary, "services": [ServiceStatus]}`.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// When it was built.
    pub generated_at: String,
    /// Counts.
    pub summary: Summary,
    /// Services in config order.
    pub services: Vec<ServiceStatus>,
}

impl StatusReport {
    /// Keeps only the services `keep` accepts (e.g. those a viewer may see) and recounts the
    /// summary over them.
    pub fn retain(&mut self, keep: impl Fn(&ServiceStatus) -> bool) {
        self.services.retain(|s| keep(s));
        let mut summary = Summary::default();
        for s in &self.services {
            summary.count(s.status);
        }
        self.summary = summary;
    }
}

/// The status to show for `service` given its stored state: the stored status, or before
/// the first write `unknown` (`paused` when disabled).
pub fn current(service: &ServiceConfig, stored: Option<&StoredState>) -> Status {
    stored.map_or(if service.enabled { Status::Unknown } else { Status::Paused }, |r| r.status)
}

/// Builds the report at `now` for every configured service from the stored states; services
/// without one (never written) are `unknown`, or `paused` when disabled.
pub fn report(config: &Config, states: &[StoredState], now: Timestamp) -> StatusReport {
    let by_id: BTreeMap<&str, &StoredState> = states.iter().map(|s| (s.service_id.as_str(), s)).collect();
    let mut summary = Summary::default();
    let rfc = |t: Option<Timestamp>| t.map(Timestamp::to_rfc3339);
    let services = config
        .services
        .iter()
        .map(|s| {
            let stored = by_id.get(s.id.as_str()).copied();
            let status = current(s, stored);
            summary.count(status);
            let last = stored.and_then(|r| r.last_heartbeat);
            ServiceStatus {
                id: s.id.to_string(),
                name: s.name.clone(),
                group: s.group.clone(),
                status,
                status_since: rfc(stored.map(|r| r.status_since)),
                last_heartbeat: rfc(last),
                seconds_since_last_heartbeat: last.map(|t| now.since(t).as_secs()),
                message: stored.and_then(|r| r.last_message.clone()),
                next_deadline: rfc(deadline(status, last, &MonitorConfig::from(s)).map(|(t, _)| t)),
                incident_started_at: rfc(stored.and_then(|r| r.incident_started_at)),
            }
        })
        .collect();
    StatusReport { generated_at: now.to_rfc3339(), summary, services }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn unwritten_services_are_unknown_or_paused_and_deadlines_follow_the_config() {
        let config = Config::parse(
            Some(
                r#"{"services": [{"id": "a", "stalenessThreshold": 60}, {"id": "b"}, {"id": "c", "enabled": false}]}"#,
            ),
            None,
        )
        .unwrap();
        let states = [StoredState {
            service_id: "a".into(),
            status: Status::Up,
            status_since: Timestamp::from_millis(1_000),
            incident_started_at: None,
            accounted_until: Some(Timestamp::from_millis(1_000)),
            last_heartbeat: Some(Timestamp::from_millis(10_000)),
            last_message: Some("ok".into()),
        }];
        let r = report(&config, &states, Timestamp::from_millis(25_500));
        assert_eq!(r.summary, Summary { total: 3, up: 1, paused: 1, unknown: 1, ..Summary::default() });
        let a = &r.services[0];
        assert_eq!(a.seconds_since_last_heartbeat, Some(15));
        assert_eq!(a.next_deadline.as_deref(), Some("1970-01-01T00:01:10.000Z"));
        assert_eq!((r.services[1].status, r.services[2].status), (Status::Unknown, Status::Paused));
        assert_eq!(r.services[1].next_deadline, None);
    }
}
