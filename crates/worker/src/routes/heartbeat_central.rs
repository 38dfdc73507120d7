//! Heartbeat Central's API (`systole_core::compat::heartbeat_central`): its applications
//! are managed services with ids `hc-{n}`, created and changed through [`crate::managed`] as
//! `Actor::HeartbeatCentral`; its heartbeats go to their ServiceMonitor with the ping id as
//! their credential; its history is read from D1.
//!
//! - `POST /heartbeat/{uuid}` (any method: its Docker `HEALTHCHECK` example sends `curl -f`,
//!   a `GET`): 200 `{"application", "status": "ok", "timestamp"}`; 404 `{"error":
//!   "Application not found"}`; 400 `{"error": "Application is not active"}` for a paused one;
//!   429 / 503 `{"error"}` with `Retry-After` when the service's limit or storage refuses.
//! - `GET`/`POST /api/applications`, `GET`/`PUT`/`DELETE /api/applications/{id}`,
//!   `GET /api/applications/{id}/heartbeats?page=&per_page=`: its answers and
//!   `{"error"}` bodies. Unlike Heartbeat Central, which has no authentication, these need the
//!   management API's credential (`MANAGEMENT_API_KEY` as a bearer token, or an admin user):
//!   401 / 403 problem+json otherwise, as `/api/v1/services`.
//! - `GET /health`: `{"status": "healthy", "timestamp"}`.

use serde_json::Value;
use systole_core::api::heartbeat::HeartbeatItem;
use systole_core::compat::heartbeat_central::{self as hc, Application, Fields, Page, Refused};
use systole_core::config::ServiceId;
use systole_core::keys::{PingCredential, PingKind};
use systole_core::limit;
use systole_core::managed::{Actor, ServiceSpec, MAX_BODY_BYTES};
use systole_core::monitor::Heartbeat;
use worker::{Env, Request, Response};

use super::query_pairs;
use crate::deployment::{self, DB_BINDING};
use crate::http::{self, ApiError, OrUnavailable, Reply, HISTORY_DB};
use crate::managed::{self, auth, ListQuery};
use crate::router::{Call, Raw};
use crate::{d1, limits};

/// How many times a create tries the next free id when another create took it first.
const CREATE_ATTEMPTS: u64 = 5;

/// `GET /health`.
pub async fn health(_req: Request, _env: &Env, _call: Call<'_>) -> Reply {
    answer(200, &hc::health(deployment::now()))
}

/// `POST /heartbeat/{uuid}` (see the module docs).
pub async fn heartbeat(req: Request, env: &Env, call: Call<'_>) -> Raw {
    let uuid = hc::path_uuid(call.params.get("uuid").unwrap_or_default());
    let found = match &uuid {
        Some(uuid) => managed::by_ping_id(env, uuid).await?,
        None => None,
    };
    let (Some(uuid), Some(id)) = (uuid, found) else {
        if let Err(p) = limits::check(req.inner(), env, limit::HEARTBEAT_PER_IP, "heartbeats without a valid URL").await
        {
            return Ok(with_retry(error(429, "Rate limit exceeded")?, p.retry_after.map(|s| s.to_string()))?.into());
        }
        return Ok(error(404, hc::NOT_FOUND)?.into());
    };
    let entry = match managed::get(env, id.as_str()).await {
        Ok(entry) => entry,
        Err(ApiError::Problem(p)) if p.status == 404 => return Ok(error(404, hc::NOT_FOUND)?.into()),
        Err(e) => return Err(e),
    };
    if entry.get("paused").and_then(Value::as_bool).unwrap_or(false) {
        return Ok(error(400, hc::NOT_ACTIVE)?.into());
    }
    let name = entry.get("name").and_then(Value::as_str).unwrap_or(id.as_str()).to_owned();
    let key = PingCredential::new(PingKind::PingId, uuid.as_str()).to_key();
    let item =
        HeartbeatItem { service_id: id, key: Some(key), heartbeat: Heartbeat::default(), dropped_metrics: vec![] };
    let retry_after = |resp: &worker::worker_sys::web_sys::Response, default: &str| {
        Some(resp.headers().get("Retry-After").ok().flatten().unwrap_or_else(|| default.to_owned()))
    };
    let resp = match crate::routes::heartbeat::call(env, item).await {
        Ok(resp) if resp.status() == 200 => answer(200, &hc::accepted(&name, deployment::now()))?,
        Ok(resp) if resp.status() == 401 => error(404, hc::NOT_FOUND)?,
        Ok(resp) if resp.status() == 429 => with_retry(error(429, "Rate limit exceeded")?, retry_after(&resp, "1"))?,
        Ok(resp) => with_retry(error(503, "Temporarily unavailable")?, retry_after(&resp, "2"))?,
        Err(e) => {
            worker::console_error!("heartbeat for {name}: {e}");
            with_retry(error(503, "Temporarily unavailable")?, Some("2".to_owned()))?
        }
    };
    Ok(resp.into())
}

/// `GET /api/applications`: every application, by id.
pub async fn list(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    auth::admin(&req, env, false).await?;
    let mut entries = Vec::new();
    let mut cursor = Some(hc::ID_PREFIX.to_owned());
    // Keyset pages of the registry from `hc-`, until an id is not an application's.
    'pages: while let Some(after) = cursor.take() {
        let query = ListQuery { cursor: Some(after), limit: 500, ..ListQuery::default() };
        let page = managed::list(env, &query).await?;
        for (entry, _) in page.services {
            let entry = serde_json::to_value(entry)?;
            if !entry.get("id").and_then(Value::as_str).is_some_and(|id| id.starts_with(hc::ID_PREFIX)) {
                break 'pages;
            }
            entries.push(entry);
        }
        cursor = page.next_cursor;
    }
    let ids: Vec<String> =
        entries.iter().filter_map(|e| e.get("id").and_then(Value::as_str)).map(ToOwned::to_owned).collect();
    let db = env.d1(DB_BINDING).or_unavailable(HISTORY_DB)?;
    let last = d1::heartbeat_central::last_heartbeats(&db, &ids).await.or_unavailable(HISTORY_DB)?;
    let mut apps: Vec<Application> = entries
        .iter()
        .filter_map(|e| {
            let id = e.get("id").and_then(Value::as_str)?;
            let at = last.iter().find(|(s, _)| s == id).map(|(_, t)| *t);
            Application::from_entry(e, at)
        })
        .collect();
    apps.sort_by_key(|a| a.id);
    answer(200, &Value::Array(apps.iter().map(Application::to_json).collect()))
}

/// `POST /api/applications`: 201 with the new application.
pub async fn create(mut req: Request, env: &Env, _call: Call<'_>) -> Reply {
    auth::admin(&req, env, true).await?;
    let fields = match Fields::create(&http::body(&mut req, MAX_BODY_BYTES).await?) {
        Ok(f) => f,
        Err(r) => return refused(&r),
    };
    let db = env.d1(DB_BINDING).or_unavailable(HISTORY_DB)?;
    let first = d1::heartbeat_central::max_app_id(&db).await.or_unavailable(HISTORY_DB)? + 1;
    for n in first..first + CREATE_ATTEMPTS {
        let mut spec = fields.native();
        spec.insert("id".to_owned(), Value::from(hc::service_id(n)));
        spec.entry("gracePeriod").or_insert(Value::from(0));
        let spec = match ServiceSpec::from_value(Value::Object(spec), None) {
            Ok(spec) => spec,
            Err(p) => return translated(ApiError::Problem(p)),
        };
        match managed::create(env, spec, Actor::HeartbeatCentral).await {
            Ok(created) => {
                let mut entry = created.service;
                if fields.is_active == Some(false) {
                    entry = managed::pause(env, &hc::service_id(n), Actor::HeartbeatCentral).await?.service;
                }
                let app = Application::from_entry(&entry, None).ok_or_else(|| unreadable(n))?;
                return answer(201, &app.to_json());
            }
            // Another create took this id meanwhile: the next one.
            Err(ApiError::Problem(p)) if p.status == 409 => continue,
            Err(e) => return translated(e),
        }
    }
    Err(ApiError::Problem(systole_core::api::Problem::unavailable(
        "application ids are being taken concurrently; retry shortly".to_owned(),
        1,
    )))
}

/// `GET /api/applications/{id}`: the application with `is_overdue` and its ten newest
/// heartbeats.
pub async fn get(req: Request, env: &Env, call: Call<'_>) -> Reply {
    auth::admin(&req, env, false).await?;
    let Some((n, entry)) = find(env, &call).await? else { return error(404, hc::NOT_FOUND) };
    let db = env.d1(DB_BINDING).or_unavailable(HISTORY_DB)?;
    let recent =
        d1::heartbeat_central::heartbeats(&db, &hc::service_id(n), hc::RECENT, 0).await.or_unavailable(HISTORY_DB)?;
    let app = Application::from_entry(&entry, recent.first().map(|(_, t)| *t)).ok_or_else(|| unreadable(n))?;
    answer(200, &app.detail(deployment::now(), &recent))
}

/// `PUT /api/applications/{id}`: changes the fields the body names → 200 with the
/// application.
pub async fn put(mut req: Request, env: &Env, call: Call<'_>) -> Reply {
    let actor = auth::admin(&req, env, true).await?;
    let body = http::body(&mut req, MAX_BODY_BYTES).await?;
    let Some((n, mut entry)) = find(env, &call).await? else { return error(404, hc::NOT_FOUND) };
    let fields = match Fields::update(&body) {
        Ok(f) => f,
        Err(r) => return refused(&r),
    };
    let id = hc::service_id(n);
    let native = fields.native();
    if !native.is_empty() {
        entry = match managed::update(env, &id, Value::Object(native), actor.clone()).await {
            Ok(m) => m.service,
            Err(e) => return translated(e),
        };
    }
    let paused = entry.get("paused").and_then(Value::as_bool).unwrap_or(false);
    match fields.is_active {
        Some(false) if !paused => entry = managed::pause(env, &id, actor).await?.service,
        Some(true) if paused => entry = managed::resume(env, &id, actor).await?.service,
        _ => {}
    }
    let db = env.d1(DB_BINDING).or_unavailable(HISTORY_DB)?;
    let last = d1::heartbeat_central::last_heartbeats(&db, &[id]).await.or_unavailable(HISTORY_DB)?;
    let app = Application::from_entry(&entry, last.first().map(|(_, t)| *t)).ok_or_else(|| unreadable(n))?;
    answer(200, &app.to_json())
}

/// `DELETE /api/applications/{id}`: 204; the service is deleted with its heartbeats
/// (Heartbeat Central deletes an application's heartbeat events with it), so an id used
/// again starts with none.
pub async fn delete(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let actor = auth::admin(&req, env, true).await?;
    let Some((n, _)) = find(env, &call).await? else { return error(404, hc::NOT_FOUND) };
    let id = hc::service_id(n);
    managed::delete(env, &id, false, actor).await?;
    let db = env.d1(DB_BINDING).or_unavailable(HISTORY_DB)?;
    d1::heartbeat_central::forget_heartbeats(&db, &id).await.or_unavailable(HISTORY_DB)?;
    Ok(Response::empty()?.with_status(204))
}

/// `GET /api/applications/{id}/heartbeats?page=&per_page=`: one page of its heartbeats,
/// newest first.
pub async fn heartbeats(req: Request, env: &Env, call: Call<'_>) -> Reply {
    auth::admin(&req, env, false).await?;
    let Some((n, _)) = find(env, &call).await? else { return error(404, hc::NOT_FOUND) };
    let page = Page::parse(&query_pairs(&req));
    let id = hc::service_id(n);
    let db = env.d1(DB_BINDING).or_unavailable(HISTORY_DB)?;
    let beats =
        d1::heartbeat_central::heartbeats(&db, &id, page.per_page, page.offset()).await.or_unavailable(HISTORY_DB)?;
    let total = d1::heartbeat_central::count(&db, &id).await.or_unavailable(HISTORY_DB)?;
    answer(200, &hc::heartbeat_page(n, &page, &beats, total))
}

/// The application the path's `{id}` names and its entry; `None` when there is none.
async fn find(env: &Env, call: &Call<'_>) -> Result<Option<(u64, Value)>, ApiError> {
    let Some(n) = hc::path_id(call.params.get("id").unwrap_or_default()) else { return Ok(None) };
    let id = hc::service_id(n);
    if ServiceId::parse(&id).is_err() {
        return Ok(None);
    }
    match managed::get(env, &id).await {
        Ok(entry) => Ok(Some((n, entry))),
        Err(ApiError::Problem(p)) if p.status == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// A JSON answer in Heartbeat Central's content type.
fn answer(status: u16, body: &Value) -> Reply {
    Ok(http::json(status, body)?)
}

/// An `{"error": message}` answer.
fn error(status: u16, message: &str) -> Reply {
    answer(status, &hc::error(message))
}

/// `resp` with `Retry-After` when given.
fn with_retry(mut resp: Response, retry_after: Option<String>) -> worker::Result<Response> {
    if let Some(secs) = retry_after {
        resp.headers_mut().set("Retry-After", &secs)?;
    }
    Ok(resp)
}

/// A refused body as `{"error"}`.
fn refused(r: &Refused) -> Reply {
    error(r.status, &r.message)
}

/// A management error in Heartbeat Central's shape: a 400 (every field problem, with its
/// field names), 404 and 409 as `{"error"}`; anything else (401, 403, 413, 503) stays
/// problem+json.
fn translated(e: ApiError) -> Reply {
    let ApiError::Problem(p) = &e else { return Err(e) };
    if !matches!(p.status, 400 | 404 | 409) {
        return Err(e);
    }
    let listed = p.extensions.as_ref().and_then(|x| x.get("errors")).and_then(Value::as_array).map(|errors| {
        errors
            .iter()
            .map(|x| {
                let field = x.get("field").and_then(Value::as_str).unwrap_or_default();
                let detail = x.get("detail").and_then(Value::as_str).unwrap_or_default();
                if field.is_empty() {
                    detail.to_owned()
                } else {
                    format!("{field}: {detail}")
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    });
    let message = match (listed, &p.field) {
        (Some(list), _) if !list.is_empty() => list,
        (_, Some(field)) if !field.is_empty() && !p.detail.contains(field.as_str()) => {
            format!("{field}: {}", p.detail)
        }
        _ => p.detail.clone(),
    };
    error(p.status, &hc::translate(&message))
}

/// A stored service that no longer reads as an application (never: its id and ping id were
/// written by the create).
fn unreadable(n: u64) -> ApiError {
    ApiError::Problem(systole_core::api::Problem::unavailable(format!("application {n} cannot be read"), 2))
}
