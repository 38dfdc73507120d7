//! External alerts and the alert history:
//! - `POST /api/alert`: a generic, Alertmanager v4 or Grafana payload, routed to channels;
//! - `GET /api/v1/alerts/history`: every delivery attempt, newest first;
//! - `GET /api/v1/alerts/recent`: external alerts received, newest first.

use serde_json::json;
use systole_core::access::Scope;
use systole_core::api::query::AlertsQuery;
use systole_core::api::Problem;
use systole_core::keys::secret_matches;
use systole_core::notify::alert::{self, MAX_BODY};
use systole_core::notify::external::select;
use worker::{Env, Request};

use super::query_pairs;
use crate::deployment::{self, now, DB_BINDING, DESK_BINDING};
use crate::http::{self, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::{access, d1};
use systole_core::protocol::Intake;

/// `POST /api/alert`. Optional `ALERT_API_KEY` (as `Authorization: Bearer` or `X-API-Key`,
/// constant-time). Channels: the generic body's `channels`/`channel`, or for any format the
/// `channel` query parameter (comma-separated names or types); else routing by severity.
///
/// 202 `{"format", "received", "truncatedAlerts", "alerts": [{"fingerprint", "state",
/// "action": "sent" | "duplicate" | "unannounced", "channels"}]}`. Errors: 401 bad key,
/// 413 over 1 MiB, 400 malformed body (naming the field) or a named channel that is
/// unknown, disabled or does not take alerts (listing those available), 503 storage.
pub async fn post(mut req: Request, env: &Env, _call: Call<'_>) -> Reply {
    if let Ok(expected) = env.secret("ALERT_API_KEY").map(|s| s.to_string()) {
        let headers = req.headers();
        let presented = headers
            .get("Authorization")?
            .and_then(|v| access::bearer(&v))
            .or(headers.get("X-API-Key")?)
            .unwrap_or_default();
        if !secret_matches(expected.trim(), presented.trim()) {
            return Err(Problem::bad_alert_key().into());
        }
    }
    let body = http::body(&mut req, MAX_BODY).await?;
    let text = std::str::from_utf8(&body).map_err(|_| Problem::invalid_field("", "the body must be UTF-8 JSON"))?;
    let batch = alert::parse(text)?;
    let from_query: Option<Vec<String>> = query_pairs(&req)
        .into_iter()
        .find(|(k, _)| k == "channel" || k == "channels")
        .map(|(_, v)| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect());
    let named = batch.channels.clone().or(from_query);
    let channels = select(deployment::notifications(), named.as_deref())?.into_iter().map(|c| c.name.clone()).collect();
    let (format, received, truncated) = (batch.format, batch.alerts.len(), batch.truncated_alerts);
    let intake = Intake { batch, channels, explicit: named.is_some() };
    let stub = env.durable_object(DESK_BINDING)?.id_from_name(crate::notify::desk::SUBJECT)?.get_stub()?;
    let mut resp = crate::durable::post(&stub, "https://alert-desk/", &intake).await?;
    if resp.status_code() != 200 {
        return Err(Problem::unavailable("the alert desk is temporarily unavailable", 2).into());
    }
    let answer: serde_json::Value = serde_json::from_str(&resp.text().await?)?;
    Ok(http::json(
        202,
        &json!({
            "format": format.as_str(),
            "received": received,
            "truncatedAlerts": truncated,
            "alerts": answer.get("alerts"),
        }),
    )?)
}

/// `GET /api/v1/alerts/history?since=&serviceId=|subject=&channel=&limit=`:
/// `{"attempts": [d1::rows::AlertHistoryRow JSON]}`. Errors: 400 bad parameters, 401, 503.
pub async fn history(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let caller = call.caller()?;
    let everything = caller.scope() == Scope::All;
    let q = AlertsQuery::parse(&query_pairs(&req), now())?;
    let db = env.d1(DB_BINDING)?;
    let rows = d1::alerts::attempts(&db, q.since, q.subject.as_deref(), q.channel.as_deref(), q.limit)
        .await
        .or_unavailable(HISTORY_DB)?;
    // A viewer sees the notifications of their services only (not external or test).
    let rows = rows.iter().filter(|r| everything || access::sees(caller, &r.subject));
    Ok(http::json(200, &json!({ "attempts": rows.map(d1::rows::AlertHistoryRow::to_json).collect::<Vec<_>>() }))?)
}

/// `GET /api/v1/alerts/recent?since=&limit=`: `{"alerts": [{"fingerprint", "format", "state",
/// "title", "message", "severity", "source", "labels", "url", "startsAt", "endsAt",
/// "receivedAt", "notifiedAt", "repeats"}]}` (times RFC 3339 UTC), newest first.
pub async fn recent(req: Request, env: &Env, call: Call<'_>) -> Reply {
    // External alerts belong to no group: only callers who see everything see them.
    if call.caller()?.scope() != Scope::All {
        return Ok(http::json(200, &json!({ "alerts": [] }))?);
    }
    let q = AlertsQuery::parse(&query_pairs(&req), now())?;
    let rows = d1::alerts::external(&env.d1(DB_BINDING)?, q.since, q.limit).await.or_unavailable(HISTORY_DB)?;
    let alerts: Vec<_> = rows.iter().map(d1::rows::ExternalAlertRow::to_json).collect();
    Ok(http::json(200, &json!({ "alerts": alerts }))?)
}
