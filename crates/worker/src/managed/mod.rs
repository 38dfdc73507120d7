//! Managed services, the Worker's side: every management write goes to the service's
//! ServiceMonitor (which stores the service, applies it to its monitor, and writes the D1
//! registry row and the change log row; see `crate::monitor`), and reads of the registry
//! (`d1::registry`). The functions the management API (`routes::manage`), the dashboard's
//! admin pages, auto-provisioning and Heartbeat Central's API call.
//!
//! Every function takes the acting [`Actor`] (recorded in the change log) and answers a
//! core [`Managed`] (the service's entry as JSON, and its key after a create or rotation) or
//! an [`ApiError`] (problem+json: 400 naming fields, 404, 409, 503).
//!
//! - [`create`]: `POST /api/v1/services` → 201, key once.
//! - [`upsert`]: `PUT /api/v1/services/{id}` → 201 (created, key once) or 200 (replaced, keeps
//!   its key).
//! - [`update`]: `PATCH` (JSON merge patch) → 200.
//! - [`pause`] (idempotent) / [`resume`] (409 when not paused) → 200.
//! - [`rotate_key`] → 200 with the new key; the old one works for [`key_grace`] more.
//! - [`delete`] → 200 with the entry as it was (`purge`: its D1 history too).
//! - [`get`], [`list`], [`changes`], [`by_ping_id`], [`count_in_group`]: reads.
//! - [`auth::admin`]: who may call the management API.

pub mod auth;

use std::borrow::Cow;
use std::time::Duration;

use serde_json::Value;
use systole_core::api::Problem;
use systole_core::config::{Config, ServiceId};
use systole_core::live::CatalogAction;
use systole_core::managed::{self, Actor, Change, GroupDefaults, Managed, Op, Random, ServiceSpec};
use systole_core::protocol::ToMonitor;
use wasm_bindgen::{JsCast, JsValue};
use worker::Env;

use crate::catalog;
use crate::d1;
use crate::deployment::{self, DB_BINDING, MONITOR_BINDING};
use crate::http::{ApiError, OrUnavailable, HISTORY_DB};
use crate::stub;

pub use d1::registry::{ListQuery, Page};

/// `POST /api/v1/services`: creates the managed service `spec` describes.
///
/// # Errors
/// 400 listing every field problem (as `services.json`: thresholds, schedule, channels;
/// `group` naming no group), 409 when the id is declared in `config/services.json` or a
/// managed service has it, 503 when the object or D1 cannot be reached.
pub async fn create(env: &Env, spec: ServiceSpec, actor: Actor) -> Result<Managed, ApiError> {
    put(env, spec, actor, false).await.map(|(_, m)| m)
}

/// `PUT /api/v1/services/{id}`: creates (201, with its key) or replaces (200; the key and
/// ping id stay) the managed service. Returns the status and the answer.
///
/// # Errors
/// As [`create`], without the 409 for an existing managed service.
pub async fn upsert(env: &Env, spec: ServiceSpec, actor: Actor) -> Result<(u16, Managed), ApiError> {
    put(env, spec, actor, true).await
}

async fn put(env: &Env, spec: ServiceSpec, actor: Actor, replace: bool) -> Result<(u16, Managed), ApiError> {
    let id = spec.id().clone();
    refuse_declared(id.as_str())?;
    let group = group_defaults(env, spec.group()).await?;
    let op = Op::Put { spec, group, random: random()?, replace };
    call(env, &id, actor, op).await
}

/// `PATCH /api/v1/services/{id}`: merges an RFC 7396 JSON merge patch into the spec.
///
/// # Errors
/// 400 for the merged spec's problems (or a changed `id`), 404, 409 for a declared service,
/// 503.
pub async fn update(env: &Env, id: &str, patch: Value, actor: Actor) -> Result<Managed, ApiError> {
    let id = known_id(id)?;
    let named = patch.get("group").and_then(Value::as_str);
    let group = group_defaults(env, named).await?;
    call(env, &id, actor, Op::Patch { patch, group }).await.map(|(_, m)| m)
}

/// `POST /api/v1/services/{id}/pause`: pauses monitoring (idempotent): an open incident
/// closes, no deadline and no alert until resumed.
///
/// # Errors
/// 404, 409 for a declared service, 503.
pub async fn pause(env: &Env, id: &str, actor: Actor) -> Result<Managed, ApiError> {
    call(env, &known_id(id)?, actor, Op::Pause).await.map(|(_, m)| m)
}

/// `POST /api/v1/services/{id}/resume`: resumes monitoring; the service waits in `unknown`
/// for its next heartbeat.
///
/// # Errors
/// 409 when it is not paused (or declared), 404, 503.
pub async fn resume(env: &Env, id: &str, actor: Actor) -> Result<Managed, ApiError> {
    call(env, &known_id(id)?, actor, Op::Resume).await.map(|(_, m)| m)
}

/// `POST /api/v1/services/{id}/keys`: a new key (in the answer's `key`, shown once); the old
/// one keeps working for [`key_grace`] (`oldKeyValidUntil`, epoch ms), then answers 401.
///
/// # Errors
/// 404, 409 for a declared service, 503.
pub async fn rotate_key(env: &Env, id: &str, actor: Actor) -> Result<Managed, ApiError> {
    let grace_secs = key_grace(env).as_secs();
    call(env, &known_id(id)?, actor, Op::Rotate { random: random()?, grace_secs }).await.map(|(_, m)| m)
}

/// `DELETE /api/v1/services/{id}`: closes an open incident (reason `deleted`), writes the
/// history it buffered, clears the object's storage and alarm, removes the registry row
/// (so it leaves listings, status and live views) and, with `purge`, deletes its D1 history
/// (heartbeats, changes, incidents, rollups, runs, alert history, change log). Answers the
/// entry as it was.
///
/// # Errors
/// 404, 409 for a declared service, 503.
pub async fn delete(env: &Env, id: &str, purge: bool, actor: Actor) -> Result<Managed, ApiError> {
    call(env, &known_id(id)?, actor, Op::Delete { purge }).await.map(|(_, m)| m)
}

/// `GET /api/v1/services/{id}`: a declared service's entry (`kind: "declared"`) from the
/// config, a managed one's from its object (authoritative).
///
/// # Errors
/// 404 for an unknown id, 503.
pub async fn get(env: &Env, id: &str) -> Result<Value, ApiError> {
    if let Some(s) = deployment::config().declared_services().iter().find(|s| s.id.as_str() == id) {
        return Ok(serde_json::to_value(managed::Entry::declared(s))?);
    }
    let id = known_id(id)?;
    call(env, &id, Actor::ApiKey, Op::Get).await.map(|(_, m)| m.service)
}

/// One page of managed services by id (declared ones are not in it: `GET /api/v1/services`
/// lists those first), filtered by `group`, `tag`, `status` and the caller's groups,
/// `limit` per page after `cursor` (keyset pagination in D1: one page of registry rows per
/// request, never the whole registry). Each entry comes with its status.
///
/// # Errors
/// 503 when D1 cannot be read.
pub async fn list(env: &Env, query: &ListQuery) -> Result<Page, ApiError> {
    let db = env.d1(DB_BINDING).or_unavailable(HISTORY_DB)?;
    d1::registry::list(&db, deployment::config(), query).await.or_unavailable(HISTORY_DB)
}

/// `GET /api/v1/services/{id}/changes`: the change log, newest first, `limit` entries
/// before `before` (epoch ms; `None`: the newest).
///
/// # Errors
/// 503 when D1 cannot be read.
pub async fn changes(env: &Env, id: &str, before: Option<i64>, limit: u32) -> Result<Vec<Change>, ApiError> {
    let db = env.d1(DB_BINDING).or_unavailable(HISTORY_DB)?;
    d1::registry::changes(&db, id, before, limit).await.or_unavailable(HISTORY_DB)
}

/// The managed service whose ping id is `ping_id` (a lower-case UUID), for
/// `POST /heartbeat/{uuid}` and `/ping/{uuid}`; the heartbeat then goes to its object with
/// the ping id as a `PingCredential` key (`PingKind::PingId`).
///
/// # Errors
/// 503 when D1 cannot be read.
pub async fn by_ping_id(env: &Env, ping_id: &str) -> Result<Option<ServiceId>, ApiError> {
    let db = env.d1(DB_BINDING).or_unavailable(HISTORY_DB)?;
    d1::registry::by_ping_id(&db, ping_id).await.or_unavailable(HISTORY_DB)
}

/// How many managed services are in `group` (auto-provisioning's `maxServices`).
///
/// # Errors
/// 503 when D1 cannot be read.
pub async fn count_in_group(env: &Env, group: &str) -> Result<u64, ApiError> {
    let db = env.d1(DB_BINDING).or_unavailable(HISTORY_DB)?;
    d1::registry::count_in_group(&db, group).await.or_unavailable(HISTORY_DB)
}

/// How long a rotated-out key keeps working: the `KEY_ROTATION_GRACE_SECONDS` variable
/// (whole seconds, for tests), else [`managed::DEFAULT_KEY_GRACE`] (24 h).
pub fn key_grace(env: &Env) -> Duration {
    env.var("KEY_ROTATION_GRACE_SECONDS")
        .ok()
        .and_then(|v| v.to_string().trim().parse().ok())
        .map_or(managed::DEFAULT_KEY_GRACE, Duration::from_secs)
}

/// 409 when `id` is declared in `config/services.json`.
fn refuse_declared(id: &str) -> Result<(), ApiError> {
    if deployment::config().is_declared(id) {
        return Err(managed::declared_conflict(id).into());
    }
    Ok(())
}

/// `id` as a service id of a service that is not declared.
fn known_id(id: &str) -> Result<ServiceId, ApiError> {
    refuse_declared(id)?;
    ServiceId::parse(id).map_err(|_| Problem::not_found(format!("no managed service {id:?}")).into())
}

/// The defaults of group `id` (`None`: no group named): a declared group's from
/// `services.json`, else a managed group's from D1; `None` as well for a group that does not
/// exist (the spec's resolution then answers 400 naming `group`).
async fn group_defaults(env: &Env, id: Option<&str>) -> Result<Option<GroupDefaults>, ApiError> {
    let Some(id) = id else { return Ok(None) };
    let config: &Config = deployment::config();
    if config.groups.iter().any(|g| g.id == id) {
        return Ok(Some(config.group_defaults(id).cloned().unwrap_or_default()));
    }
    let db = env.d1(DB_BINDING).or_unavailable(HISTORY_DB)?;
    let group = d1::registry::group(&db, id).await.or_unavailable(HISTORY_DB)?;
    Ok(group.map(|g| g.defaults))
}

/// Sends one operation to the service's ServiceMonitor and reads its answer; a change the
/// object stored makes this isolate's catalog reload ([`catalog::invalidate`]).
async fn call(env: &Env, id: &ServiceId, actor: Actor, operation: Op) -> Result<(u16, Managed), ApiError> {
    let writes = !matches!(operation, Op::Get);
    let published = catalog_action(&operation);
    let message = ToMonitor::Manage(managed::Manage { service_id: id.clone(), actor, operation });
    let obj = stub::named(env, MONITOR_BINDING, id.as_str()).or_unavailable("storage")?;
    crate::budget::count(systole_core::budget::Kind::Object);
    let resp = stub::post(&obj, "https://service-monitor/", &serde_json::to_string(&message)?)
        .await
        .or_unavailable("storage")?;
    let status = resp.status();
    let text = stub::text(&resp).await.or_unavailable("storage")?;
    if writes {
        catalog::invalidate();
    }
    match status {
        200 | 201 => {
            let answer: Managed = serde_json::from_str(&text)?;
            // Open pages hear of it (the dashboard's admin pages; see `live::publish_catalog`).
            if let Some(action) = published {
                let action = if status == 201 { CatalogAction::Added } else { action };
                let group = answer.service.get("group").and_then(Value::as_str);
                // The write is done: a group that cannot be read is left out.
                let config = with_group(env, group).await;
                crate::live::publish_catalog(env, &config, id.as_str(), group, action, deployment::now()).await;
            }
            Ok((status, answer))
        }
        _ => match serde_json::from_str::<ProblemBody>(&text) {
            Ok(p) => Err(p.into_problem(status).into()),
            Err(_) => Err(ApiError::from(worker::Error::RustError(format!("ServiceMonitor {id}: {status} {text}")))),
        },
    }
}

/// The declared config, plus the managed group `group` when it is one: all that routing a
/// catalog change to the hubs that see it needs (one registry row, never the whole registry,
/// so a write costs the same at 10 or 10,000 managed services). A group that cannot be read
/// is left out (its change then reaches only the readers who see everything).
async fn with_group(env: &Env, group: Option<&str>) -> Cow<'static, Config> {
    let declared = deployment::config();
    let Some(group) = group.filter(|g| !declared.groups.iter().any(|d| d.id == *g)) else {
        return Cow::Borrowed(declared);
    };
    let Ok(db) = env.d1(DB_BINDING) else { return Cow::Borrowed(declared) };
    match d1::registry::group(&db, group).await {
        Ok(Some(g)) => Cow::Owned(declared.with_managed(Vec::new(), vec![g.config()])),
        _ => Cow::Borrowed(declared),
    }
}

/// What open pages are told of a write `op` that succeeded (a create answers 201 and is
/// told as `Added` whatever this says); nothing for a read.
fn catalog_action(op: &Op) -> Option<CatalogAction> {
    match op {
        Op::Get => None,
        Op::Delete { .. } => Some(CatalogAction::Removed),
        _ => Some(CatalogAction::Changed),
    }
}

/// A problem+json body read back from a ServiceMonitor.
#[derive(serde::Deserialize)]
struct ProblemBody {
    detail: String,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    errors: Option<Value>,
}

impl ProblemBody {
    fn into_problem(self, status: u16) -> Problem {
        let mut p = match status {
            400 => Problem::invalid_field(self.field.clone().unwrap_or_default(), self.detail),
            404 => Problem::not_found(self.detail),
            409 => Problem::conflict(self.detail),
            _ => Problem::unavailable(self.detail, 2),
        };
        p.field = self.field;
        match self.errors {
            Some(e) => p.with("errors", e),
            None => p,
        }
    }
}

/// [`managed::RANDOM_BYTES`] bytes from the runtime's `crypto.getRandomValues`.
///
/// # Errors
/// 503 when the runtime has no `crypto` (never on Workers).
pub fn random() -> Result<Random, ApiError> {
    let fill = || -> Result<[u8; managed::RANDOM_BYTES], JsValue> {
        let crypto = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))?;
        let get: js_sys::Function = js_sys::Reflect::get(&crypto, &JsValue::from_str("getRandomValues"))?.dyn_into()?;
        let array = js_sys::Uint8Array::new_with_length(managed::RANDOM_BYTES as u32);
        get.call1(&crypto, &array)?;
        let mut bytes = [0u8; managed::RANDOM_BYTES];
        array.copy_to(&mut bytes);
        Ok(bytes)
    };
    fill().map(Random).map_err(|e| ApiError::from(worker::Error::from(e)))
}
