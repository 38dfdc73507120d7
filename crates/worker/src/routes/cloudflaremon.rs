//! The cloudflaremon compatibility surface: the seed's paths, answered in its shapes by thin
//! translations onto the same model (the conversions are `systole_core::compat::cloudflaremon`).
//!
//! - `GET /api/status`, `GET /api/uptime?serviceId=[&format=csv]`, `GET /api/services`,
//!   `GET /api/logs?serviceId=[&limit=]`, `GET /api/alerts/recent?since=&hours=&limit=`:
//!   the read endpoints, pretty-printed (2-space indent) as the seed's, behind our access
//!   rules (open without `users.json`), each service filtered by the caller's scope;
//! - `POST /api/alert`: `routes::alerts::take` in the seed's dialect, with its answers;
//! - `POST /api/test-notification`: the seed's intended contract, admin only when users
//!   are configured.
//!
//! The router switches them by `settings.json` `api` (403 with the seed's body) and adds
//! CORS headers for allowed origins. Errors use the seed's body shapes
//! ([`ErrorShape`]), with our status codes (400 for bad input, 503 when D1 or a Durable
//! Object fails, never a 500).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use systole_core::api::status::{current, StoredState};
use systole_core::compat::cloudflaremon::{self as seed, alerts, logs, services, status, uptime, Change, ErrorShape};
use systole_core::monitor::Status;
use systole_core::notify::alert::Dialect;
use systole_core::time::Timestamp;
use systole_core::uptime::OpenInterval;
use worker::{Env, Request, Response, Result};

use super::alerts::{take, Refused};
use super::query_pairs;
use crate::d1::{self, ChangeRow, StateRow};
use crate::deployment::{self, now, DB_BINDING};
use crate::http::{self, ApiError, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use systole_core::keys::AlertAccess;

/// `GET /api/status`: `compat::cloudflaremon::status::StatusAnswer`, computed now from D1
/// (`service_state` and the latest heartbeats), enabled services the caller may see.
/// Errors (`{"error"}`): 503 D1.
pub async fn status(_req: Request, env: &Env, call: Call<'_>) -> Reply {
    let scope = call.caller()?.scope();
    let config = deployment::config();
    seed_errors(
        ErrorShape::Read,
        async {
            let rows = d1::statuses(&env.d1(DB_BINDING)?).await.or_unavailable(HISTORY_DB)?;
            let states: Vec<StoredState> = rows.iter().filter_map(StateRow::stored).collect();
            let answer = status::summary(config, &states, |s| scope.sees(config, s), now());
            Ok(no_cache(pretty(200, &answer)?)?)
        }
        .await,
    )
}

/// The most status changes `GET /api/uptime` reads for one service's 5-minute checks.
const MAX_CHANGES: u32 = 10_000;

/// `GET /api/uptime?serviceId=[&format=csv]`: `compat::cloudflaremon::uptime::UptimeAnswer`,
/// or with `format=csv` the seed dashboard's export columns (`text/csv`). An id that is not
/// configured, or not visible to the caller, answers an empty window, as the seed.
/// Errors (`{"error"}`): 400 `serviceId parameter required`, 503 D1.
pub async fn uptime(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let scope = call.caller()?.scope();
    let config = deployment::config();
    let settings = &config.settings;
    seed_errors(
        ErrorShape::Read,
        async {
            let pairs = query_pairs(&req);
            let id = seed::service_id(&pairs).map_err(bad_request)?;
            let csv = pairs.iter().any(|(k, v)| k == "format" && v == "csv");
            let now = now();
            let service = config.service(&id).filter(|s| scope.sees(config, s));
            let (mut five, mut daily, mut stored) = (BTreeMap::new(), BTreeMap::new(), None);
            if let Some(s) = service {
                let db = env.d1(DB_BINDING)?;
                let sid = s.id.as_str();
                let rows = d1::daily(&db, Some(&[sid]), settings.uptime_window_start(now), now)
                    .await
                    .or_unavailable(HISTORY_DB)?;
                daily = rows.into_iter().map(|(_, day, tally)| (day, tally)).collect();
                let states = d1::states_of(&db, &[sid]).await.or_unavailable(HISTORY_DB)?;
                stored = states.iter().find(|r| r.service_id == sid).and_then(StateRow::stored);
                // The 5-minute checks, from the status changes since they are counted.
                let from = uptime::five_minute_from(settings, now);
                let changes = d1::status_changes(&db, Some(sid), from, MAX_CHANGES).await.or_unavailable(HISTORY_DB)?;
                let changes: Vec<(Timestamp, Status, Status)> = changes
                    .iter()
                    .filter_map(|c| {
                        let at = Timestamp::from_millis(c.changed_at);
                        Some((at, Status::parse(&c.from_status)?, Status::parse(&c.to_status)?))
                    })
                    .collect();
                // Past the limit, the checks start at the oldest change read.
                let from = if changes.len() >= MAX_CHANGES as usize {
                    changes.iter().map(|c| c.0).min().unwrap_or(from)
                } else {
                    from
                };
                let current = stored.as_ref().map(|s| (s.status, s.status_since));
                five = uptime::five_minute_buckets(&changes, current, from, now, s.maintenance_uptime);
            }
            let open = service.zip(stored.as_ref()).and_then(|(s, st)| OpenInterval::of(st, s));
            let answer = uptime::uptime(&id, five, daily, open, settings, now);
            if !csv {
                return Ok(no_cache(pretty(200, &answer)?)?);
            }
            let (name, group, word, file) = match service {
                Some(s) => {
                    let word = seed::seed_status(current(s, stored.as_ref()));
                    (s.name.as_str(), status::group(config, s).1, word, format!("uptime-{}.csv", s.id))
                }
                None => ("", status::UNGROUPED.to_owned(), "unknown", "uptime.csv".to_owned()),
            };
            let mut resp =
                http::with_type(200, uptime::to_csv(&answer, name, &group, word), "text/csv; charset=utf-8")?;
            resp.headers_mut().set("Content-Disposition", &format!("attachment; filename=\"{file}\""))?;
            Ok(no_cache(resp)?)
        }
        .await,
    )
}

/// `GET /api/services`: the flat array of `compat::cloudflaremon::services::SeedService`,
/// disabled services included, those the caller may see.
pub async fn services(_req: Request, _env: &Env, call: Call<'_>) -> Reply {
    let scope = call.caller()?.scope();
    let config = deployment::config();
    Ok(pretty(200, &services::services(config, |s| scope.sees(config, s)))?)
}

/// `GET /api/logs?serviceId=[&limit=]`: `[compat::cloudflaremon::logs::LogEntry]`, newest
/// first, at most `limit` (default 100, at most 1,000); `[]` for a service not configured or
/// not visible. Errors (`{"error"}`): 400 no `serviceId` or a bad `limit`, 503 D1.
pub async fn logs(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let scope = call.caller()?.scope();
    let config = deployment::config();
    seed_errors(
        ErrorShape::Read,
        async {
            let (id, limit) = logs::query(&query_pairs(&req)).map_err(bad_request)?;
            let Some(service) = config.service(&id).filter(|s| scope.sees(config, s)) else {
                return Ok(http::json(200, &Vec::<Value>::new())?);
            };
            let db = env.d1(DB_BINDING)?;
            let n = u32::try_from(limit).unwrap_or(u32::MAX);
            let beats = d1::heartbeats(&db, service.id.as_str(), None, n).await.or_unavailable(HISTORY_DB)?;
            let beats: Vec<(Timestamp, Status)> = beats
                .iter()
                .map(|r| (Timestamp::from_millis(r.received_at), Status::parse(&r.status).unwrap_or(Status::Up)))
                .collect();
            let rows = d1::changes_seen(&db, Some(service.id.as_str()), Timestamp::from_millis(0), n)
                .await
                .or_unavailable(HISTORY_DB)?;
            let changes: Vec<Change> = rows.iter().filter_map(change).collect();
            Ok(http::json(200, &logs::logs(service, &beats, &changes, limit))?)
        }
        .await,
    )
}

/// `GET /api/alerts/recent?since=&hours=&limit=`: `compat::cloudflaremon::alerts::RecentAnswer`
/// from the services' status changes (those the caller may see) and the external alerts
/// (for callers who see everything: they belong to no group). Errors (`{"success": false,
/// "error", "alerts": [], "count": 0}`): 400 a bad parameter, 503 D1.
pub async fn recent(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let scope = call.caller()?.scope();
    let config = deployment::config();
    seed_errors(
        ErrorShape::Recent,
        async {
            let q = alerts::RecentQuery::parse(&query_pairs(&req), &config.settings.alert_history, now())
                .map_err(bad_request)?;
            let db = env.d1(DB_BINDING)?;
            let from = q.after.unwrap_or(Timestamp::from_millis(0));
            // Some changes are not the seed's (unknown → up): read more than asked.
            let rows = d1::changes_seen(&db, None, from, q.limit.saturating_mul(2)).await.or_unavailable(HISTORY_DB)?;
            let mut items: Vec<alerts::RecentAlert> = rows
                .iter()
                .filter_map(|r| {
                    let s = config.service(&r.service_id).filter(|s| scope.sees(config, s))?;
                    alerts::from_change(&change(r)?, &s.name)
                })
                .collect();
            if scope == systole_core::access::Scope::All {
                let external = d1::alerts::external(&db, from, q.limit).await.or_unavailable(HISTORY_DB)?;
                items.extend(external.iter().map(|r| {
                    alerts::from_external(&alerts::External {
                        fingerprint: &r.fingerprint,
                        state: &r.state,
                        title: &r.title,
                        message: &r.message,
                        severity: &r.severity,
                        source: &r.source,
                        received_at: Timestamp::from_millis(r.received_at),
                    })
                }));
            }
            let mut resp = pretty(200, &alerts::recent(items, &q))?;
            resp.headers_mut().set("Cache-Control", seed::NO_CACHE_ALERTS)?;
            Ok(resp)
        }
        .await,
    )
}

/// `POST /api/alert`: `routes::alerts::take` in the seed's dialect (legacy Grafana,
/// `labels.channels`, any severity word). 200 `{"success": true, "message", "alertTitle",
/// "channelsSent": [channel type]}` (the types of the channels the alerts were queued for;
/// `[]` for a repeat). Errors (`{"success": false, "message"}`): 401 `Unauthorized -
/// Invalid or missing API key`, 503 `Server misconfigured: ALERT_API_KEY not set` (the seed's;
/// unless `api.allowAlertsWithoutKey`) or `… is shorter than 16 characters`, 400 `Unsupported alert format…` or a malformed field, 400
/// `Alert validation failed` with `errors`, `availableChannels` and `alertTitle`, 413, 503.
pub async fn alert(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    let notifications = deployment::notifications();
    match take(req, env, Dialect::Cloudflaremon).await {
        Ok(t) => {
            let mut names: Vec<&str> = Vec::new();
            for receipt in t.receipts.as_array().into_iter().flatten() {
                for name in receipt["channels"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
            let types: Vec<&str> = names
                .iter()
                .filter_map(|n| notifications.channels.iter().find(|c| c.name == *n).map(|c| c.kind.as_str()))
                .collect();
            Ok(http::json(200, &alerts::sent(&t.title, &types))?)
        }
        Err(Refused::Key) => Ok(http::json(401, &ErrorShape::Alert.body(alerts::UNAUTHORIZED))?),
        Err(Refused::Misconfigured(AlertAccess::Weak)) => {
            Ok(http::json(503, &ErrorShape::Alert.body(alerts::KEY_WEAK))?)
        }
        Err(Refused::Misconfigured(_)) => Ok(http::json(503, &ErrorShape::Alert.body(alerts::KEY_UNSET))?),
        Err(Refused::Error(e)) => seed_errors(ErrorShape::Alert, Err(e)),
        Err(Refused::Channels(errors, title)) => {
            Ok(http::json(400, &alerts::validation_failed(&errors, notifications, &title))?)
        }
    }
}

/// Largest body of `POST /api/test-notification`: 4 KiB.
const TEST_BODY_LIMIT: usize = 4096;

/// `POST /api/test-notification` with `{"channelType", "eventType"?}`: sends that event
/// (default `down`) about the seed's synthetic `test-service` to the first channel of that
/// type now, recorded in `alert_history` under subject `test`. 200 `{"success": true,
/// "message": "Test <event> notification sent to <name>", "channel", "type", "event"}`.
/// Errors (`{"success": false, "message"}`): 400 bad body, notifications or the channel
/// disabled; 404 no channel of that type; 502 the channel did not accept it; 413.
pub async fn test_notification(mut req: Request, env: &Env, _call: Call<'_>) -> Reply {
    seed_errors(
        ErrorShape::Alert,
        async {
            let body = http::body(&mut req, TEST_BODY_LIMIT).await?;
            let request = alerts::TestRequest::parse(&body).map_err(bad_request)?;
            let channel = alerts::test_channel(deployment::notifications(), &request.channel_type)
                .map_err(|(status, message)| problem(status, message))?;
            let now = now();
            let n = alerts::test_notification(request.event, now, deployment::public_url(env));
            let (delivered, record) = super::notifications::send_test(env, &channel.name, &n, now).await;
            if !delivered {
                let why = record.error.unwrap_or_else(|| format!("HTTP {}", record.status.unwrap_or_default()));
                let message = format!("Test {} notification to {} failed: {why}", request.event_type, channel.name);
                return Err(problem(502, message));
            }
            Ok(http::json(200, &alerts::test_sent(&request, channel))?)
        }
        .await,
    )
}

/// A D1 change as the seed's history and logs take it; `None` for a status this version
/// does not know.
fn change(r: &ChangeRow) -> Option<Change> {
    Some(Change {
        service_id: r.service_id.clone(),
        at: Timestamp::from_millis(r.changed_at),
        seq: r.seq,
        from: Status::parse(&r.from_status)?,
        to: Status::parse(&r.to_status)?,
        last_seen: r.last_seen.map(Timestamp::from_millis),
    })
}

/// A 4xx whose message the seed's body carries.
fn problem(status: u16, message: String) -> ApiError {
    let mut p = systole_core::api::Problem::invalid_field("", message);
    p.status = status;
    p.into()
}

/// 400 with `message`.
fn bad_request(message: String) -> ApiError {
    problem(400, message)
}

/// `answer`, with an error turned into the seed's body of `shape` under the same status
/// (a dependency's failure: 503 with `Retry-After: 2`, logged).
fn seed_errors(shape: ErrorShape, answer: Reply) -> Reply {
    let (status, message, retry) = match answer {
        Ok(resp) => return Ok(resp),
        Err(ApiError::Problem(p)) => (p.status, p.detail, p.retry_after),
        Err(ApiError::Unavailable { what, error }) => {
            worker::console_error!("{what} failed: {error}");
            (503, format!("{what} is temporarily unavailable; retry shortly"), Some(2))
        }
    };
    let mut resp = http::json(status, &shape.body(&message))?;
    if let Some(secs) = retry {
        resp.headers_mut().set("Retry-After", &secs.to_string())?;
    }
    Ok(resp)
}

/// A pretty-printed (2-space indent) JSON answer, as the seed's read endpoints.
fn pretty(status: u16, body: &impl Serialize) -> Result<Response> {
    http::with_type(status, serde_json::to_string_pretty(body)?, "application/json")
}

/// The seed's no-cache headers of `/api/status` and `/api/uptime`.
fn no_cache(resp: Response) -> Result<Response> {
    let headers = resp.headers();
    headers.set("Cache-Control", seed::NO_CACHE)?;
    headers.set("Pragma", "no-cache")?;
    headers.set("Expires", "0")?;
    Ok(resp)
}
