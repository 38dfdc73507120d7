//! CloudLine's telemetry (see `systole_core::telemetry`): `GET /api/v1/services/{id}/metrics`,
//! `GET /api/v1/services/{id}/metrics/{name}?from=&to=&range=`, `POST` and `GET
//! /api/v1/services/{id}/errors`; and the reliability label of a service.

use serde_json::json;
use systole_core::api::Problem;
use systole_core::config::{Config, ServiceId};
use systole_core::protocol::ToMonitor;
use systole_core::telemetry::{self, ErrorReport, MetricRollup, Point, Reliability, Resolution, Unit, Window};
use systole_core::time::{Timestamp, DAY_MS};
use systole_core::uptime;
use worker::{D1Database, Env, Request};

use super::query_pairs;
use crate::d1;
use crate::deployment::{self, now, DB_BINDING};
use crate::http::{self, ApiError, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;

/// Heartbeats read for the metrics' latest values.
pub const LATEST_FROM: u32 = 200;
/// Error groups listed at most.
pub const ERROR_GROUPS: u32 = 100;

/// JSON: `{"serviceId", "metrics": [{"name", "unit": "ms" | "s" | "bytes" | "%" | "count" |
/// null, "latest": number, "latestAt": RFC 3339}]}`, by name: every numeric metric among the
/// service's newest 200 heartbeats, with its newest value. Errors: 401, 404 a service not
/// configured or not visible, 503 D1.
pub async fn list(_req: Request, env: &Env, call: Call<'_>) -> Reply {
    let id = super::runs::service(env, &call).await?;
    let db = env.d1(DB_BINDING)?;
    let beats = d1::heartbeats(&db, id, None, LATEST_FROM).await.or_unavailable(HISTORY_DB)?;
    let latest = telemetry::latest(beats.iter().map(|h| (Timestamp::from_millis(h.received_at), h.metrics.as_deref())));
    let metrics: Vec<_> = latest
        .iter()
        .map(|l| {
            json!({"name": l.name, "unit": Unit::of(&l.name).map(Unit::as_str), "latest": l.value,
                "latestAt": l.at.to_rfc3339()})
        })
        .collect();
    Ok(http::json(200, &json!({ "serviceId": id, "metrics": metrics }))?)
}

/// One metric's chart. JSON: `{"serviceId", "metric", "unit", "from", "to" (RFC 3339),
/// "resolution": "raw" | "5m" | "1d", "points": [{"t": ms UTC, "min", "avg", "max", "count"}]}`,
/// oldest first: raw heartbeats when the window lies inside what D1 still holds of them,
/// else 5-minute rollups when `from` is within 14 days, else daily rollups
/// ([`Resolution::for_window`]); rollup charts end with the buckets not written yet, computed
/// from the raw heartbeats ([`telemetry::rollup_points`]). Errors: 400 (`name` not a metric name, `from`, `to`,
/// `range`; see [`Window::parse`]), 401, 404 a service not configured or not visible, 503 D1.
pub async fn series(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let id = super::runs::service(env, &call).await?;
    let name = call.params.get("name").unwrap_or_default();
    let valid = (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c));
    if !valid {
        return Err(Problem::invalid_field("name", "a metric name is 1-64 characters of A-Z a-z 0-9 _ . : -").into());
    }
    let now = now();
    let w = Window::parse(&query_pairs(&req), now)?;
    let db = env.d1(DB_BINDING)?;
    let (resolution, mut charts) = charts(&db, id, &[name], w, now).await.or_unavailable(HISTORY_DB)?;
    let points = charts.pop().map(|(_, p)| p).unwrap_or_default();
    Ok(http::json(
        200,
        &json!({
            "serviceId": id, "metric": name, "unit": Unit::of(name).map(Unit::as_str),
            "from": w.from.to_rfc3339(), "to": w.to.to_rfc3339(), "resolution": resolution, "points": points,
        }),
    )?)
}

/// The points of `service`'s metrics `names` over `w` at `now` (one chart each, in that
/// order), at the resolution [`Resolution::for_window`] picks: two D1 queries at most (the raw
/// heartbeats, then the rollups of one metric or of all).
///
/// # Errors
/// Any D1 error.
pub async fn charts(
    db: &D1Database,
    service: &str,
    names: &[&str],
    w: Window,
    now: Timestamp,
) -> worker::Result<(Resolution, Vec<(String, Vec<Point>)>)> {
    let (beats, oldest) = d1::telemetry::raw(db, service, w.from, w.to).await?;
    let resolution = Resolution::for_window(w.from, now, oldest);
    let rollups = match (resolution, names) {
        (Resolution::Raw, _) => Vec::new(),
        (r, [one]) => d1::telemetry::rollups(db, service, Some(one), r, w.from, w.to).await?,
        (r, _) => d1::telemetry::rollups(db, service, None, r, w.from, w.to).await?,
    };
    let charts = names
        .iter()
        .map(|name| {
            let raw = telemetry::raw_points(name, beats.iter().map(|(t, m)| (*t, m.as_deref())), w.from, w.to);
            let points = match resolution {
                Resolution::Raw => raw,
                r => {
                    let stored: Vec<MetricRollup> = rollups.iter().filter(|b| b.name == *name).cloned().collect();
                    telemetry::rollup_points(r, &stored, &raw)
                }
            };
            ((*name).to_owned(), points)
        })
        .collect();
    Ok((resolution, charts))
}

/// Records an error report (CloudLine's `captureError`) of the service, authorized with its
/// heartbeat key (`Authorization: Bearer <key>`, as heartbeats): body
/// `{"message", "stack"?, "fingerprint"?}` ([`ErrorReport::parse`], at most 32 KiB). 201
/// with the group it counts in: `{"serviceId", "group": {"fingerprint", "message", "stack",
/// "count", "firstSeen", "lastSeen"}}`. Errors: 400 (a field and its limit), 401 a wrong or
/// missing key or a service that does not exist, 413 a body over 32 KiB, 503 D1.
pub async fn report(mut req: Request, env: &Env, call: Call<'_>) -> Reply {
    let bearer = req.headers().get("Authorization")?.and_then(|v| systole_core::keys::bearer(&v));
    let id = call.params.get("id").unwrap_or_default();
    let service = authorize(env, id, bearer).await?;
    let body = http::body(&mut req, telemetry::MAX_ERROR_BODY).await?;
    let report = ErrorReport::parse(&body)?;
    let db = env.d1(DB_BINDING)?;
    let group = d1::telemetry::record_error(&db, service.as_str(), &report, now()).await.or_unavailable(HISTORY_DB)?;
    Ok(http::json(201, &json!({ "serviceId": service, "group": group.to_json() }))?)
}

/// The service `id` if `key` opens it: a declared service's key is checked here, a managed
/// one's by its ServiceMonitor (which answers 401 for an id it does not hold), so both refuse
/// alike.
async fn authorize(env: &Env, id: &str, key: Option<String>) -> Result<ServiceId, ApiError> {
    let config = deployment::config();
    match config.service(id) {
        Some(s) if deployment::keys(env).authorize(Some(s), key.as_deref()).granted() => Ok(s.id.clone()),
        None if !config.is_declared(id) => {
            let service = ServiceId::parse(id).map_err(|_| Problem::unauthorized())?;
            let message = ToMonitor::Authorize { service_id: service.clone(), key };
            super::maintenance::send(env, &service, &message).await?;
            Ok(service)
        }
        _ => Err(Problem::unauthorized().into()),
    }
}

/// JSON: `{"serviceId", "groups": [{"fingerprint", "message", "stack", "count", "firstSeen",
/// "lastSeen"}]}`, most recently seen first, at most 100. Errors: 401, 404 a service not
/// configured or not visible, 503 D1.
pub async fn errors(_req: Request, env: &Env, call: Call<'_>) -> Reply {
    let id = super::runs::service(env, &call).await?;
    let db = env.d1(DB_BINDING)?;
    let groups = d1::telemetry::errors(&db, id, ERROR_GROUPS).await.or_unavailable(HISTORY_DB)?;
    let groups: Vec<_> = groups.iter().map(d1::telemetry::ErrorGroupRow::to_json).collect();
    Ok(http::json(200, &json!({ "serviceId": id, "groups": groups }))?)
}

/// A service's reliability over the last 30 days at `now`: its label, uptime there (`None`
/// when nothing was monitored) and the incidents that started there (up to 50 counted).
///
/// # Errors
/// Any D1 error.
pub async fn reliability(
    db: &D1Database,
    config: &Config,
    id: &str,
    now: Timestamp,
) -> worker::Result<(Reliability, Option<f64>, u64)> {
    let from = Timestamp::from_millis(now.as_millis() - i64::from(telemetry::RELIABILITY_DAYS) * DAY_MS);
    let ids = [id];
    let ids = ids.as_slice();
    let (rows, states, incidents) = futures_util::future::try_join3(
        d1::daily(db, Some(ids), from.day_start(), now),
        d1::states_of(db, ids),
        d1::incidents(db, Some(id), None, 50),
    )
    .await?;
    let states: Vec<_> = states.iter().filter_map(d1::StateRow::stored).collect();
    let uptime = uptime::report(config, Some(ids), &rows, &states, from.day_start(), now, now)
        .first()
        .and_then(|s| s.uptime_percent);
    let incidents = incidents.iter().filter(|i| i.started_at >= from.as_millis()).count() as u64;
    Ok((Reliability::of(uptime, incidents), uptime, incidents))
}

/// [`reliability`] as JSON: `{"label", "uptimePercent": number | null, "incidents",
/// "windowDays": 30}`.
pub fn reliability_json((label, uptime, incidents): (Reliability, Option<f64>, u64)) -> serde_json::Value {
    json!({ "label": label, "uptimePercent": uptime, "incidents": incidents, "windowDays": telemetry::RELIABILITY_DAYS })
}
