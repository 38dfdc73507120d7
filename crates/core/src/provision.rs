//! Auto-provisioning: a group that allows it (`autoProvision` in `services.json`) lets a
//! heartbeat for a service nobody has created yet create it, as a managed service of that
//! group, and then records the heartbeat.
//!
//! Who may: a native heartbeat presenting the group's provisioning key (the
//! `PROVISIONING_KEYS` secret, see [`crate::keys::KeyRing::provisioning_group`]), or a
//! healthchecks.io slug ping `/ping/<ping key>/<slug>?create=1` presenting the group's own
//! `PING_KEYS` key (healthchecks.io's auto-provisioning; see
//! [`crate::compat::healthchecks`]). The id must match the id rule (as every service id), the
//! group must allow it ([`AutoProvision::enabled`]) and hold fewer than
//! [`AutoProvision::max_services`] managed services ([`check`]).
//!
//! The new service's settings may come with the native heartbeat ([`SETTINGS`]: `name`,
//! `stalenessThreshold`, `gracePeriod`, `schedule`, `timezone`), validated as any service's
//! (a 400 naming the field); the rest, and all of them for a ping, are the group's defaults.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::Problem;
use crate::config::ServiceId;

/// The fields of a native heartbeat that set up the service it creates.
pub const SETTINGS: [&str; 5] = ["name", "stalenessThreshold", "gracePeriod", "schedule", "timezone"];

/// Most services `autoProvision.maxServices` may allow.
pub const MAX_SERVICES: u32 = 10_000;

/// A group's `autoProvision`: `{"enabled": bool, "maxServices": 1..=10000}` (`maxServices`
/// required when enabled).
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoProvision {
    /// Whether heartbeats may create services in the group.
    pub enabled: bool,
    /// The most managed services the group may hold; a creation beyond is refused (403).
    pub max_services: u32,
}

/// Whether a heartbeat may create a service in group `group_id` whose `autoProvision` is
/// `allowed` (`None`: the group does not exist or does not set it), when the group holds
/// `count` managed services.
///
/// # Errors
/// 403 problem naming `autoProvision` when the group does not allow it, or naming the limit
/// (`limit`: `maxServices`) when it is reached.
pub fn check(group_id: &str, allowed: Option<AutoProvision>, count: u64) -> Result<(), Problem> {
    let Some(auto) = allowed.filter(|a| a.enabled) else {
        return Err(Problem::forbidden(format!(
            "group {group_id:?} does not allow auto-provisioning (set autoProvision.enabled in services.json)"
        )));
    };
    if count >= u64::from(auto.max_services) {
        let mut p = Problem::forbidden(format!(
            "group {group_id:?} allows at most {} services (autoProvision.maxServices) and has {count}",
            auto.max_services
        ));
        p.limit = Some(auto.max_services);
        return Err(p);
    }
    Ok(())
}

/// The service spec (JSON, as `POST /api/v1/services` takes it) of service `id` created in
/// `group`, with the [`SETTINGS`] the heartbeat carried (`settings`; other members are
/// ignored).
pub fn spec(id: &ServiceId, group: &str, settings: &Map<String, Value>) -> Value {
    let mut spec = Map::new();
    spec.insert("id".into(), Value::String(id.to_string()));
    spec.insert("group".into(), Value::String(group.to_owned()));
    for name in SETTINGS {
        if let Some(v) = settings.get(name) {
            spec.insert(name.into(), v.clone());
        }
    }
    Value::Object(spec)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn the_limit_and_the_switch_are_403s_naming_them() {
        let auto = AutoProvision { enabled: true, max_services: 2 };
        assert!(check("fleet", Some(auto), 1).is_ok());
        let full = check("fleet", Some(auto), 2).unwrap_err();
        assert_eq!((full.status, full.limit), (403, Some(2)));
        assert!(full.detail.contains("at most 2 services (autoProvision.maxServices)"), "{}", full.detail);
        let off = check("fleet", Some(AutoProvision { enabled: false, ..auto }), 0).unwrap_err();
        assert!(off.status == 403 && off.detail.contains("autoProvision.enabled"), "{}", off.detail);
        assert_eq!(check("fleet", None, 0).unwrap_err().status, 403);
    }

    #[test]
    fn the_spec_takes_the_settings_the_heartbeat_carried_and_nothing_else() {
        let settings = json!({"name": "Backup", "gracePeriod": 60, "status": "up", "auth": {"required": false}});
        let id = ServiceId::parse("backup-7").unwrap();
        assert_eq!(
            spec(&id, "fleet", settings.as_object().unwrap()),
            json!({"id": "backup-7", "group": "fleet", "name": "Backup", "gracePeriod": 60})
        );
    }
}
