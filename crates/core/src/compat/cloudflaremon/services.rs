//! `GET /api/services`: the seed's flat array of services, disabled ones included, in
//! `services.json` order.
//!
//! ```json
//! [{"id": "gmk-m6", "name": "GMK M6", "enabled": true, "stalenessThreshold": 300,
//!   "gracePeriod": 0, "notifications": {"enabled": true, "channels": [], "events": []},
//!   "groupId": "k3s-cluster", "groupName": "K3s Cluster", "uptimeThresholdSet": "strict",
//!   "auth": {"required": true}}]
//! ```
//!
//! The seed echoes each `services.json` object as written; this answers the resolved
//! service (group defaults and defaults applied, thresholds in seconds), so every field is
//! always there.

use serde::Serialize;

use super::status::group;
use crate::config::{Config, NotificationPolicy, ServiceConfig};

/// One service.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedService<'a> {
    /// The id.
    pub id: &'a str,
    /// The display name.
    pub name: &'a str,
    /// Whether it is monitored.
    pub enabled: bool,
    /// Seconds.
    pub staleness_threshold: u64,
    /// Seconds of grace after the deadline (Systole's; 0 by default).
    pub grace_period: u64,
    /// Notification routing: `{"enabled", "channels", "events"}` (empty lists mean every
    /// channel, and each channel's own events).
    pub notifications: &'a NotificationPolicy,
    /// The group id, `null` in no group.
    pub group_id: Option<String>,
    /// The group's name, `Ungrouped` in no group.
    pub group_name: String,
    /// The uptime threshold profile.
    pub uptime_threshold_set: &'a str,
    /// `{"required": bool}`: whether heartbeats need the service's key.
    pub auth: Auth,
}

/// `auth` of a [`SeedService`].
#[derive(Clone, Copy, Debug, Eq, PartialEq, Serialize)]
pub struct Auth {
    /// Whether heartbeats need the service's key.
    pub required: bool,
}

/// Every service `sees` accepts, in `services.json` order.
pub fn services<'a>(config: &'a Config, sees: impl Fn(&ServiceConfig) -> bool) -> Vec<SeedService<'a>> {
    config
        .services
        .iter()
        .filter(|s| sees(s))
        .map(|s| {
            let (group_id, group_name) = group(config, s);
            SeedService {
                id: s.id.as_str(),
                name: &s.name,
                enabled: s.enabled,
                staleness_threshold: s.staleness_threshold.as_secs(),
                grace_period: s.grace_period.as_secs(),
                notifications: &s.notifications,
                group_id,
                group_name,
                uptime_threshold_set: &s.uptime_threshold_set,
                auth: Auth { required: s.auth_required },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn services_are_a_flat_array_with_the_seeds_derived_fields() {
        let config = Config::parse(
            Some(
                r#"{"groups": [{"id": "k3s", "name": "K3s Cluster", "services": ["node-1"], "auth": {"required": false},
                    "uptimeThresholdSet": "strict", "notifications": {"channels": ["ops"], "events": ["down"]}}],
                   "services": [{"id": "node-1", "name": "Node 1", "stalenessThreshold": 120},
                                {"id": "nas", "name": "NAS", "enabled": false}]}"#,
            ),
            Some(
                r##"{"uptimeThresholds": {"default": [{"name": "a", "min": 0, "color": "#10b981"}],
                                          "strict": [{"name": "a", "min": 0, "color": "#10b981"}]}}"##,
            ),
        )
        .unwrap();
        let json = serde_json::to_value(services(&config, |_| true)).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"id": "node-1", "name": "Node 1", "enabled": true, "stalenessThreshold": 120, "gracePeriod": 0,
                 "notifications": {"enabled": true, "channels": ["ops"], "events": ["down"]},
                 "groupId": "k3s", "groupName": "K3s Cluster", "uptimeThresholdSet": "strict",
                 "auth": {"required": false}},
                {"id": "nas", "name": "NAS", "enabled": false, "stalenessThreshold": 300, "gracePeriod": 0,
                 "notifications": {"enabled": true, "channels": [], "events": []},
                 "groupId": null, "groupName": "Ungrouped", "uptimeThresholdSet": "default",
                 "auth": {"required": true}}
            ])
        );
        assert_eq!(services(&config, |s| s.enabled).len(), 1);
    }
}
