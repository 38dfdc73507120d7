//! `GET /api/status`: the seed's summary, computed at request time from what D1 holds
//! (each ServiceMonitor writes a status change at once, at its deadline), instead of the
//! seed's summary of its last cron run (up to 10 minutes old).
//!
//! ```json
//! {"summary": {"timestamp": "2025-11-10T12:01:00.123Z", "totalServices": 2,
//!   "servicesUp": 1, "servicesDegraded": 0, "servicesDown": 0, "servicesUnknown": 1,
//!   "results": [{"serviceId": "api", "serviceName": "API", "status": "up",
//!     "systoleStatus": "up", "lastSeen": "2025-11-10T12:00:00.000Z",
//!     "timeSinceLastHeartbeat": 60123, "stalenessThreshold": 300000,
//!     "timestamp": "2025-11-10T12:01:00.123Z", "groupId": "prod",
//!     "groupName": "Production", "uptimeThresholdSet": "strict"}]}}
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use super::logs::LogEntry;
use crate::api::status::{current, StoredState};
use crate::config::{Config, ServiceConfig};
use crate::time::Timestamp;

/// The group name of a service in no group, as the seed names it.
pub const UNGROUPED: &str = "Ungrouped";

/// The whole answer: `{"summary": Summary}` (never the seed's `{"summary": null}`: there is
/// no cron run to wait for).
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct StatusAnswer {
    /// The summary.
    pub summary: Summary,
}

/// Counts over the enabled services the caller may see, and each one's state.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// When it was computed (RFC 3339 UTC, milliseconds).
    pub timestamp: String,
    /// Services counted.
    pub total_services: u32,
    /// `up`.
    pub services_up: u32,
    /// `degraded` (our `late` and `degraded`).
    pub services_degraded: u32,
    /// `down`.
    pub services_down: u32,
    /// `unknown` (never heard from, or paused).
    pub services_unknown: u32,
    /// One per service, in `services.json` order.
    pub results: Vec<CheckResult>,
}

/// One service's state, in the seed's words.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// The service's state at the summary's `timestamp`: `serviceId`, `serviceName`,
    /// `status` (`up`, `degraded`, `down` or `unknown`, `seed_status`), `systoleStatus`,
    /// `lastSeen`, `timeSinceLastHeartbeat` and `stalenessThreshold` (ms, group defaults
    /// applied), `timestamp`.
    #[serde(flatten)]
    pub check: LogEntry,
    /// The group id, `null` in no group.
    pub group_id: Option<String>,
    /// The group's name, [`UNGROUPED`] in no group.
    pub group_name: String,
    /// The uptime threshold profile.
    pub uptime_threshold_set: String,
}

/// Builds the answer at `now` from the stored states, over the enabled services `sees`
/// accepts (disabled services are left out, as the seed does).
pub fn summary(
    config: &Config,
    states: &[StoredState],
    sees: impl Fn(&ServiceConfig) -> bool,
    now: Timestamp,
) -> StatusAnswer {
    let by_id: BTreeMap<&str, &StoredState> = states.iter().map(|s| (s.service_id.as_str(), s)).collect();
    let stamp = now.to_rfc3339();
    let results: Vec<CheckResult> = config
        .services
        .iter()
        .filter(|s| s.enabled && sees(s))
        .map(|s| {
            let stored = by_id.get(s.id.as_str()).copied();
            let status = current(s, stored);
            let last = stored.and_then(|r| r.last_heartbeat);
            let (group_id, group_name) = group(config, s);
            CheckResult {
                check: LogEntry::new(s, now, status, last),
                group_id,
                group_name,
                uptime_threshold_set: s.uptime_threshold_set.clone(),
            }
        })
        .collect();
    let count =
        |word: &str| u32::try_from(results.iter().filter(|r| r.check.status == word).count()).unwrap_or(u32::MAX);
    StatusAnswer {
        summary: Summary {
            timestamp: stamp.clone(),
            total_services: u32::try_from(results.len()).unwrap_or(u32::MAX),
            services_up: count("up"),
            services_degraded: count("degraded"),
            services_down: count("down"),
            services_unknown: count("unknown"),
            results,
        },
    }
}

/// A service's `(groupId, groupName)`: its group's, else `(null, "Ungrouped")`.
pub fn group(config: &Config, service: &ServiceConfig) -> (Option<String>, String) {
    match &service.group {
        Some(id) => {
            let name = config.groups.iter().find(|g| &g.id == id).map_or_else(|| id.clone(), |g| g.name.clone());
            (Some(id.clone()), name)
        }
        None => (None, UNGROUPED.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::monitor::Status;

    const SERVICES: &str = r#"{
      "groups": [{"id": "prod", "name": "Production", "services": ["api", "db"], "uptimeThresholdSet": "strict"}],
      "services": [
        {"id": "api", "name": "API", "stalenessThreshold": 300},
        {"id": "db", "name": "DB", "stalenessThreshold": 180},
        {"id": "cron", "name": "Cron", "stalenessThreshold": 60, "gracePeriod": 60},
        {"id": "old", "name": "Old", "enabled": false},
        {"id": "hidden", "name": "Hidden"}
      ]}"#;
    const SETTINGS: &str = r##"{"uptimeThresholds": {
        "default": [{"name": "ok", "min": 0, "color": "#10b981"}],
        "strict": [{"name": "ok", "min": 0, "color": "#10b981"}]}}"##;

    fn state(id: &str, status: Status, last: Option<i64>) -> StoredState {
        StoredState {
            service_id: id.into(),
            status,
            status_since: Timestamp::from_millis(0),
            incident_started_at: None,
            accounted_until: None,
            resumed_at: None,
            last_heartbeat: last.map(Timestamp::from_millis),
            last_message: None,
            pinged_too_often: false,
        }
    }

    #[test]
    fn the_summary_counts_enabled_visible_services_in_the_seeds_words_and_units() {
        let config = Config::parse(Some(SERVICES), Some(SETTINGS)).unwrap();
        let now = Timestamp::parse_rfc3339("2025-11-10T12:01:00.123Z").unwrap();
        let seen = now.as_millis() - 60_123;
        let states = [
            state("api", Status::Up, Some(seen)),
            state("cron", Status::Late, Some(seen)),
            state("old", Status::Up, None),
        ];
        let answer = summary(&config, &states, |s| s.id.as_str() != "hidden", now);
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(
            json["summary"]["results"][0],
            serde_json::json!({"serviceId": "api", "serviceName": "API", "status": "up", "systoleStatus": "up",
                "lastSeen": "2025-11-10T12:00:00.000Z", "timeSinceLastHeartbeat": 60123,
                "stalenessThreshold": 300000, "timestamp": "2025-11-10T12:01:00.123Z",
                "groupId": "prod", "groupName": "Production", "uptimeThresholdSet": "strict"})
        );
        let s = &answer.summary;
        assert_eq!(s.timestamp, "2025-11-10T12:01:00.123Z");
        assert_eq!(
            (s.total_services, s.services_up, s.services_degraded, s.services_down, s.services_unknown),
            (3, 1, 1, 0, 1),
            "old is disabled and hidden is not visible"
        );
        let db = &s.results[1].check;
        assert_eq!((db.status, db.last_seen.clone(), db.time_since_last_heartbeat), ("unknown", None, None));
        assert_eq!(db.staleness_threshold, 180_000);
        let cron = &s.results[2];
        assert_eq!((cron.check.status, cron.check.systole_status), ("degraded", Status::Late));
        assert_eq!(
            (cron.group_id.clone(), cron.group_name.as_str(), cron.uptime_threshold_set.as_str()),
            (None, "Ungrouped", "default")
        );
    }
}
