//! `GET /api/v1/services`: one service's entry.

use serde::Serialize;

use crate::config::ServiceConfig;
use crate::schedule::ScheduleView;
use crate::time::Timestamp;

/// A service as `/api/v1/services` lists it: its resolved config (thresholds in seconds) and,
/// for a service on a schedule, the [`ScheduleView`] fields (`schedule`, `timezone`,
/// `scheduleText`, `nextExpectedAt`, `nextExpectedLocal`) beside them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntry<'a> {
    /// The resolved config.
    #[serde(flatten)]
    pub config: &'a ServiceConfig,
    /// The schedule, if the service has one.
    #[serde(flatten)]
    pub schedule: Option<ScheduleView>,
    /// Its healthchecks.io ping URL (`<origin>/ping/<ping id>`), for callers who may see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ping_url: Option<String>,
    /// Its Uptime Kuma push URL (`<origin>/api/push/<push token>`), for callers who may see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_url: Option<String>,
    /// Its status badge's URL (`docs/metrics.md`), when the deployment has badge keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub badge_url: Option<String>,
}

impl<'a> ServiceEntry<'a> {
    /// The entry of `config` at `now` (the next expected run is the first after `now`).
    pub fn new(config: &'a ServiceConfig, now: Timestamp) -> Self {
        let schedule = config.schedule.as_ref().map(|s| ScheduleView::new(s, now));
        Self { config, schedule, ping_url: None, push_url: None, badge_url: None }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::config::Config;

    #[test]
    fn a_scheduled_service_lists_its_schedule_beside_its_config_and_a_periodic_one_does_not() {
        let c =
            Config::parse(Some(r#"{"services": [{"id": "job", "schedule": "*/5 * * * * *"}, {"id": "api"}]}"#), None)
                .unwrap();
        let now = Timestamp::parse_rfc3339("2026-12-03T12:00:01Z").unwrap();
        let job = serde_json::to_value(ServiceEntry::new(&c.services[0], now)).unwrap();
        assert_eq!(job["id"], "job");
        assert_eq!(job["schedule"], "*/5 * * * * *");
        assert_eq!(job["timezone"], "UTC");
        assert_eq!(job["scheduleText"], "every 5 seconds");
        assert_eq!(job["nextExpectedAt"], "2026-12-03T12:00:05.000Z");
        assert_eq!(job["nextExpectedLocal"], "2026-12-03T12:00:05Z");
        let api = serde_json::to_value(ServiceEntry::new(&c.services[1], now)).unwrap();
        assert!(api.get("schedule").is_none() && api.get("timezone").is_none(), "{api}");
        assert_eq!(api["stalenessThreshold"], 300);
    }
}
