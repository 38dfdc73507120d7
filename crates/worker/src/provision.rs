//! Auto-provisioning, the Worker's side (see `systole_core::provision`): a heartbeat whose
//! credential names a group (its provisioning key, or with `?create=1` its ping key) for a
//! service nobody created yet creates it in that group through [`crate::managed::create`]
//! (the change log names `provisioning:<group>`), then the heartbeat is delivered again.
//!
//! Only after the service's ServiceMonitor has answered that it holds no service: the hot
//! path of every other heartbeat is unchanged.

use serde_json::{Map, Value};
use systole_core::config::ServiceId;
use systole_core::keys::{KeyRing, PingCredential, PingKind};
use systole_core::managed::{Actor, ServiceSpec};
use systole_core::provision::{self, AutoProvision};
use worker::Env;

use crate::deployment::{self, DB_BINDING};
use crate::http::{ApiError, OrUnavailable, HISTORY_DB};
use crate::{d1, managed};

/// What [`create`] did.
pub enum Created {
    /// The service was created: its own key (shown once), if it has one.
    New(Option<String>),
    /// Another request created it meanwhile (its heartbeat goes through as any).
    Existing,
}

/// The provisioning credential `key` is, when it is a group's provisioning key (checked only
/// when `PROVISIONING_KEYS` is set): the group and the key encoded as the credential every
/// object checks ([`PingCredential::to_key`]).
pub fn credential(keys: &KeyRing, key: Option<&str>) -> Option<(String, String)> {
    if !keys.has_provisioning_keys() {
        return None;
    }
    let key = key.filter(|k| PingCredential::from_key(k).is_none())?;
    let group = keys.provisioning_group(key)?.to_owned();
    Some((group, PingCredential::new(PingKind::ProvisioningKey, key).to_key()))
}

/// The group a provisioning-encoded heartbeat key names, if it is one.
pub fn group_of(keys: &KeyRing, key: Option<&str>) -> Option<String> {
    let c = PingCredential::from_key(key?)?;
    match c.kind {
        PingKind::ProvisioningKey => keys.provisioning_group(&c.value).map(str::to_owned),
        _ => None,
    }
}

/// Creates service `id` in `group` with the heartbeat's `settings` (the group's defaults
/// for the rest), if the group allows it (`autoProvision`) and is below its
/// `maxServices`.
///
/// # Errors
/// 403 naming `autoProvision` or the limit ([`provision::check`]), 400 naming a setting the
/// service cannot have, 503 when D1 or the object cannot be reached.
pub async fn create(
    env: &Env,
    id: &ServiceId,
    group: &str,
    settings: &Map<String, Value>,
) -> Result<Created, ApiError> {
    let allowed = auto_provision(env, group).await?;
    // A group that does not allow it is refused before its services are counted.
    provision::check(group, allowed, 0)?;
    let count = managed::count_in_group(env, group).await?;
    provision::check(group, allowed, count)?;
    let spec = ServiceSpec::from_value(provision::spec(id, group, settings), None)?;
    match managed::create(env, spec, Actor::Provisioning(group.to_owned())).await {
        Ok(m) => Ok(Created::New(m.key)),
        Err(ApiError::Problem(p)) if p.status == 409 => Ok(Created::Existing),
        Err(e) => Err(e),
    }
}

/// The `autoProvision` of group `group`: from `services.json` when it is declared there, else
/// from its one row in the D1 registry (never the whole catalog, so a provisioning heartbeat
/// costs the same at any number of managed services); `None` for a group that does not exist.
///
/// # Errors
/// 503 when D1 cannot be read.
async fn auto_provision(env: &Env, group: &str) -> Result<Option<AutoProvision>, ApiError> {
    if let Some(g) = deployment::config().groups.iter().find(|g| g.id == group) {
        return Ok(g.auto_provision);
    }
    let db = env.d1(DB_BINDING).or_unavailable(HISTORY_DB)?;
    let row = d1::registry::group(&db, group).await.or_unavailable(HISTORY_DB)?;
    Ok(row.and_then(|g| g.config().auto_provision))
}
