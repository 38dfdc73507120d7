//! Maintenance windows at run time (see `systole_core::maintenance`):
//! - `GET /api/v1/maintenance`: every window of the services the caller sees;
//! - `POST /api/v1/maintenance` (admin): a one-off or recurring window for a service or group;
//! - `DELETE /api/v1/maintenance/{id}` (admin): removes a run-time window;
//! - `POST /api/v1/services/{id}/snooze?minutes=N`: maintenance for N minutes from now,
//!   authorized by the service's heartbeat key (`Authorization: Bearer <key>`).
//!
//! Each window is handed to its services' ServiceMonitors, which act on it (status
//! `maintenance`, the alarm at its start and end); D1 `maintenance_windows` keeps a row per
//! window and service for listing.

use serde_json::json;
use systole_core::api::Problem;
use systole_core::budget::Kind;
use systole_core::config::ServiceId;
use systole_core::maintenance::{self, Command, StoredWindow, Target, Window};
use systole_core::protocol::ToMonitor;
use systole_core::time::Timestamp;
use wasm_bindgen::{JsCast, JsValue};
use worker::{D1Database, Env, Request};

use super::query_pairs;
use crate::deployment::{self, now, DB_BINDING, MONITOR_BINDING};
use crate::http::{self, ApiError, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::{access, stub};

/// Largest body of `POST /api/v1/maintenance`: 4 KiB.
const BODY_LIMIT: usize = 4096;

/// `{"windows": [Listed]}` (see `systole_core::maintenance::Listed`): the windows of
/// `services.json` and the run-time ones of the services the caller sees, ended one-off
/// windows left out, by current or next start. Errors: 401, 503 D1 failure.
pub async fn list(_req: Request, env: &Env, call: Call<'_>) -> Reply {
    let caller = call.caller()?;
    let rows = stored(&env.d1(DB_BINDING)?).await.or_unavailable(HISTORY_DB)?;
    let config = crate::catalog::config(env).await?;
    let windows = maintenance::list(&config, &rows, |s| access::sees(caller, &config, s.id.as_str()), now());
    Ok(http::json(200, &json!({ "windows": windows }))?)
}

/// Creates a window from `{"service" | "group", "start", "end"}` or `{"service" | "group",
/// "schedule", "timezone"?, "duration"}` (and an optional `reason`): 201 with the window as
/// listed, its `id` a new UUID. Each of the target's ServiceMonitors gets it first (entering
/// maintenance at once if it is active); then its rows are written to D1. Errors: 400
/// (naming the field, every problem in `errors`), 401, 403, 413 over 4 KiB, 503.
pub async fn create(mut req: Request, env: &Env, _call: Call<'_>) -> Reply {
    let body = http::body(&mut req, BODY_LIMIT).await?;
    let config = crate::catalog::config(env).await?;
    let (target, services, mut window) = maintenance::parse_create(&body, &config)?;
    window.id = Some(random_uuid()?);
    let now = now();
    for id in &services {
        tell(env, id, Command::Add(window.clone())).await?;
    }
    let group = match &target {
        Target::Group(g) => Some(g.as_str()),
        Target::Service(_) => None,
    };
    let rows: Vec<StoredWindow> = services.iter().map(|s| StoredWindow::new(&window, s.as_str(), group, now)).collect();
    write(&env.d1(DB_BINDING)?, &rows).await.or_unavailable(HISTORY_DB)?;
    let (service, group) = match target {
        Target::Service(s) => (Some(s.to_string()), None),
        Target::Group(g) => (None, Some(g)),
    };
    let listed = maintenance::Listed { window: window.view(now), service, group, source: "api" };
    Ok(http::json(201, &listed)?)
}

/// Removes the run-time window `{id}` from every service it applies to: 204. Errors: 401,
/// 403, 404 no such window (config windows are changed in `services.json`), 503.
pub async fn delete(_req: Request, env: &Env, call: Call<'_>) -> Reply {
    let id = call.params.get("id").unwrap_or_default().to_owned();
    let db = env.d1(DB_BINDING)?;
    let rows: Vec<StoredWindow> =
        stored(&db).await.or_unavailable(HISTORY_DB)?.into_iter().filter(|r| r.id == id).collect();
    if rows.is_empty() {
        return Err(Problem::not_found(format!("no run-time maintenance window {id:?}")).into());
    }
    let config = crate::catalog::config(env).await?;
    for row in &rows {
        if let Ok(service) = ServiceId::parse(&row.service_id) {
            if config.service(service.as_str()).is_some() {
                tell(env, &service, Command::Remove(id.clone())).await?;
            }
        }
    }
    crate::budget::count(Kind::D1);
    db.prepare("DELETE FROM maintenance_windows WHERE id = ?1")
        .bind(&[JsValue::from_str(&id)])?
        .run()
        .await
        .or_unavailable(HISTORY_DB)?;
    Ok(worker::Response::empty()?.with_status(204))
}

/// `POST /api/v1/services/{id}/snooze?minutes=N` with the service's key as `Authorization:
/// Bearer <key>`: the service is in maintenance for N minutes (1–1440) from now, replacing an
/// earlier snooze → 200 `{"serviceId", "status": "maintenance", "maintenanceUntil": RFC
/// 3339}`. Errors: 400 `minutes` missing or out of range (naming the limits), 401 unknown
/// service, missing or wrong key (byte-identical), 503.
pub async fn snooze(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let bearer = req.headers().get("Authorization")?.and_then(|v| systole_core::keys::bearer(&v));
    let id = call.params.get("id").unwrap_or_default();
    let config = deployment::config();
    // A declared service's key is checked here; a managed one's by its ServiceMonitor (which
    // answers 401 for an id it does not hold), so both refuse alike.
    let service = match config.service(id) {
        Some(s) if deployment::keys(env).authorize(Some(s), bearer.as_deref()).granted() => s.id.clone(),
        None if !config.is_declared(id) => ServiceId::parse(id).map_err(|_| Problem::unauthorized())?,
        _ => return Err(Problem::unauthorized().into()),
    };
    let pairs = query_pairs(&req);
    let minutes = pairs.iter().find(|(k, _)| k == "minutes").map(|(_, v)| v.as_str());
    let minutes = maintenance::snooze_minutes(minutes).map_err(|m| Problem::invalid_field("minutes", m))?;
    let message = ToMonitor::Snooze { service_id: service.clone(), minutes, key: bearer };
    let answer = send(env, &service, &message).await?;
    let until = answer["maintenanceUntil"].as_i64().map(Timestamp::from_millis);
    if let Some(until) = until {
        let window = Window { id: Some(maintenance::SNOOZE_ID.to_owned()), ..Window::once(now(), until) };
        let row = StoredWindow::new(&window, service.as_str(), None, now());
        write(&env.d1(DB_BINDING)?, &[row]).await.or_unavailable(HISTORY_DB)?;
    }
    Ok(http::json(
        200,
        &json!({
            "serviceId": service,
            "status": answer["status"],
            "maintenanceUntil": until.map(Timestamp::to_rfc3339),
        }),
    )?)
}

/// The active and upcoming windows (current or next occurrence within 7 days) of the
/// services the public status page shows, for that page.
///
/// # Errors
/// D1's.
pub async fn public(
    db: &D1Database,
    config: &systole_core::config::Config,
    now: Timestamp,
) -> worker::Result<Vec<systole_web::view::MaintenanceItem>> {
    let scope = systole_core::access::Scope::Public;
    let rows = stored(db).await?;
    let horizon = now + std::time::Duration::from_secs(7 * 86_400);
    let name = |l: &maintenance::Listed| match (&l.service, &l.group) {
        (Some(s), _) => config.service(s).map_or_else(|| s.clone(), |s| s.name.clone()),
        (None, Some(g)) => config.groups.iter().find(|x| &x.id == g).map_or_else(|| g.clone(), |g| g.name.clone()),
        (None, None) => String::new(),
    };
    let time = |t: &Option<String>| t.as_deref().and_then(Timestamp::parse_rfc3339);
    Ok(maintenance::list(config, &rows, |s| scope.sees(config, s), now)
        .iter()
        .filter_map(|l| {
            let (start, end) = (time(&l.window.next_start)?, time(&l.window.next_end)?);
            (start <= horizon).then(|| systole_web::view::MaintenanceItem {
                target: name(l),
                active: l.window.active,
                start,
                end,
                recurring: l.window.schedule.as_ref().map(|s| format!("{} ({})", s.schedule_text, s.timezone)),
                reason: l.window.reason.clone(),
            })
        })
        .collect())
}

/// Hands `command` to the ServiceMonitor of `service`.
async fn tell(env: &Env, service: &ServiceId, command: Command) -> Result<serde_json::Value, ApiError> {
    send(env, service, &ToMonitor::Maintenance { service_id: service.clone(), command }).await
}

/// Sends `message` to the ServiceMonitor of `service` and reads its JSON answer; its
/// problem (401, 404) is passed on, an unreachable object is 503.
pub(crate) async fn send(env: &Env, service: &ServiceId, message: &ToMonitor) -> Result<serde_json::Value, ApiError> {
    let unavailable = |e: worker::Error| -> ApiError {
        worker::console_error!("ServiceMonitor {service}: {e}");
        Problem::unavailable("the service's monitor is temporarily unavailable; retry shortly", 2).into()
    };
    let object = stub::named(env, MONITOR_BINDING, service.as_str()).map_err(unavailable)?;
    crate::budget::count(Kind::Object);
    let resp =
        stub::post(&object, "https://service-monitor/", &serde_json::to_string(message)?).await.map_err(unavailable)?;
    let status = resp.status();
    let text = stub::text(&resp).await.map_err(unavailable)?;
    match status {
        200 => Ok(serde_json::from_str(&text)?),
        401 => Err(Problem::unauthorized().into()),
        404 => Err(Problem::unknown_service(service.as_str()).into()),
        _ => Err(Problem::unavailable("the service's monitor is temporarily unavailable; retry shortly", 2).into()),
    }
}

/// Every row of `maintenance_windows` (a few per service at most).
async fn stored(db: &D1Database) -> worker::Result<Vec<StoredWindow>> {
    crate::budget::count(Kind::D1);
    db.prepare("SELECT id, service_id, group_id, body, ends_at, created_at FROM maintenance_windows")
        .all()
        .await?
        .results()
}

/// Writes `rows` (replacing rows with the same id and service).
async fn write(db: &D1Database, rows: &[StoredWindow]) -> worker::Result<()> {
    crate::budget::count(Kind::D1);
    db.prepare(
        "INSERT OR REPLACE INTO maintenance_windows (id, service_id, group_id, body, ends_at, created_at) \
         SELECT json_extract(value, '$.id'), json_extract(value, '$.service_id'), json_extract(value, '$.group_id'), \
         json_extract(value, '$.body'), json_extract(value, '$.ends_at'), json_extract(value, '$.created_at') \
         FROM json_each(?1)",
    )
    .bind(&[JsValue::from_str(&serde_json::to_string(rows)?)])?
    .run()
    .await?;
    Ok(())
}

/// A new random UUID (`crypto.randomUUID()`).
fn random_uuid() -> Result<String, ApiError> {
    let uuid = (|| {
        let crypto = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))?;
        let f: js_sys::Function = js_sys::Reflect::get(&crypto, &JsValue::from_str("randomUUID"))?.dyn_into()?;
        f.call0(&crypto)?.as_string().ok_or_else(|| JsValue::from_str("randomUUID returned no string"))
    })();
    uuid.map_err(|e| {
        worker::console_error!("randomUUID: {e:?}");
        Problem::unavailable("could not create an id; retry shortly", 1).into()
    })
}
