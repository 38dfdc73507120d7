//! External alerts and the alert history:
//! - `POST /api/v1/alerts`: a generic, Alertmanager v4, Grafana or legacy Grafana payload,
//!   routed to channels (the cloudflaremon seed's `POST /api/alert` takes the same path,
//!   [`take`], and answers in its own shape: `routes::cloudflaremon`);
//! - `GET /api/v1/alerts/history`: every delivery attempt, newest first;
//! - `GET /api/v1/alerts/recent`: external alerts received, newest first.

use serde_json::{json, Value};
use systole_core::access::Scope;
use systole_core::api::query::AlertsQuery;
use systole_core::api::Problem;
use systole_core::compat::cloudflaremon::alerts as seed;
use systole_core::keys::{alert_access, AlertAccess};
use systole_core::notify::alert::{self, AlertFormat, Dialect, MAX_BODY};
use systole_core::notify::external::{select, Routing};
use systole_core::notify::Severity;
use systole_core::protocol::Intake;
use worker::{Env, Request};

use super::query_pairs;
use crate::deployment::{self, now, DB_BINDING, DESK_BINDING};
use crate::http::{self, ApiError, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::{access, d1};

/// What the AlertDesk did with a request's alerts.
#[derive(Debug)]
pub struct Taken {
    /// The format recognised.
    pub format: AlertFormat,
    /// Alerts in the request.
    pub received: usize,
    /// Alerts the sender said it left out.
    pub truncated: u64,
    /// The first alert's title (`Alert` without one).
    pub title: String,
    /// The desk's receipts: `[{"fingerprint", "state", "action", "channels"}]`.
    pub receipts: Value,
}

/// Why [`take`] refused a request.
#[derive(Debug)]
pub enum Refused {
    /// `ALERT_API_KEY` is set and was not presented.
    Key,
    /// `ALERT_API_KEY` is not set (and `api.allowAlertsWithoutKey` is off), or it is too
    /// short ([`AlertAccess::Weak`]): 503, nothing accepted.
    Misconfigured(AlertAccess),
    /// A 4xx about the request, or a dependency that failed.
    Error(ApiError),
    /// Named channels that cannot take the alert, or none to route it to
    /// ([`Dialect::Cloudflaremon`] only): the seed's error texts and the alert's title.
    Channels(Vec<String>, String),
}

/// Each error `?` meets in [`take`] is an [`ApiError`] refusal.
macro_rules! refused_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Refused {
            fn from(e: $t) -> Self {
                Refused::Error(e.into())
            }
        }
    )*};
}
refused_from!(ApiError, Problem, worker::Error, serde_json::Error);

/// Takes in an alert request: checks the `ALERT_API_KEY` ([`alert_access`]: as
/// `Authorization: Bearer` or `X-API-Key`, constant-time; without the secret nothing is
/// accepted unless `settings.json` `api.allowAlertsWithoutKey` opens it; a secret under 16
/// characters accepts nothing), reads at most 1 MiB, parses it in `dialect`,
/// selects the channels (those the body names, else the `channel`/`channels` query
/// parameter's comma-separated names or types, else routing by severity) and hands it to
/// the AlertDesk, which de-duplicates and queues the sends.
///
/// In [`Dialect::Cloudflaremon`] as the seed: channels are chosen by [`Routing::Seed`] (named
/// channels whatever their events; else by the first alert's severity mapped onto a status
/// event, or `alert`), with notifications off nothing is routed (the alerts are still
/// recorded), and with no channel to route to by severity the request is refused.
///
/// # Errors
/// [`Refused`]: the key (401), its absence or weakness (503); 413, 400 (malformed body or a
/// named channel that is unknown, disabled or takes no alerts), 503 (the desk).
pub async fn take(mut req: Request, env: &Env, dialect: Dialect) -> Result<Taken, Refused> {
    deployment::report_weak_secrets(env);
    let secret = env.secret("ALERT_API_KEY").map(|s| s.to_string()).ok();
    let headers = req.headers();
    let presented = headers.get("Authorization")?.and_then(|v| access::bearer(&v)).or(headers.get("X-API-Key")?);
    let allow = deployment::config().settings.api.allow_alerts_without_key;
    let key_id = match alert_access(secret.as_deref(), allow, presented.as_deref()) {
        AlertAccess::Granted { key_id } => key_id,
        AlertAccess::Denied => return Err(Refused::Key),
        refused => return Err(Refused::Misconfigured(refused)),
    };
    let body = http::body(&mut req, MAX_BODY).await?;
    let text = std::str::from_utf8(&body).map_err(|_| Problem::invalid_field("", "the body must be UTF-8 JSON"))?;
    let batch = alert::parse_as(text, dialect)?;
    let from_query: Option<Vec<String>> = query_pairs(&req)
        .into_iter()
        .find(|(k, _)| k == "channel" || k == "channels")
        .map(|(_, v)| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect());
    let named = batch.channels.clone().or(from_query);
    let title = seed::title(&batch).to_owned();
    let config = deployment::notifications();
    let severity = batch.alerts.first().map_or(Severity::Warning, |a| a.severity);
    let routing = match dialect {
        Dialect::Cloudflaremon => Routing::Seed(severity),
        Dialect::Systole => Routing::Alert,
    };
    let chosen = match (dialect, select(config, named.as_deref(), routing)) {
        (Dialect::Cloudflaremon, _) if !config.enabled => Vec::new(),
        (Dialect::Cloudflaremon, Err(refusal)) => return Err(Refused::Channels(seed::refusal_errors(&refusal), title)),
        (Dialect::Cloudflaremon, Ok(none)) if none.is_empty() && named.is_none() => {
            return Err(Refused::Channels(vec![seed::no_channels(severity)], title));
        }
        (_, chosen) => chosen.map_err(Problem::from)?,
    };
    let channels = chosen.into_iter().map(|c| c.name.clone()).collect();
    let (format, received, truncated) = (batch.format, batch.alerts.len(), batch.truncated_alerts);
    let intake = Intake { batch, channels, explicit: named.is_some(), key_id };
    let stub = env.durable_object(DESK_BINDING)?.id_from_name(crate::notify::desk::SUBJECT)?.get_stub()?;
    let mut resp = crate::durable::post(&stub, "https://alert-desk/", &intake).await?;
    if resp.status_code() != 200 {
        return Err(Problem::unavailable("the alert desk is temporarily unavailable", 2).into());
    }
    let mut answer: Value = serde_json::from_str(&resp.text().await?)?;
    Ok(Taken { format, received, truncated, title, receipts: answer["alerts"].take() })
}

/// `POST /api/v1/alerts`: [`take`] in [`Dialect::Systole`].
///
/// 202 `{"format", "received", "truncatedAlerts", "alerts": [{"fingerprint", "state",
/// "action": "sent" | "duplicate" | "unannounced", "channels"}]}`. Errors: 401 bad key, 503
/// `ALERT_API_KEY` not set (or shorter than 16 characters; problem+json naming it),
/// 413 over 1 MiB, 400 malformed body (naming the field) or a named channel that is
/// unknown, disabled or does not take alerts (listing those available), 503 storage.
pub async fn post(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    match take(req, env, Dialect::Systole).await {
        Ok(t) => Ok(http::json(
            202,
            &json!({
                "format": t.format.as_str(),
                "received": t.received,
                "truncatedAlerts": t.truncated,
                "alerts": t.receipts,
            }),
        )?),
        Err(Refused::Key) => Err(Problem::bad_alert_key().into()),
        Err(Refused::Misconfigured(AlertAccess::Weak)) => Err(Problem::alert_key_weak().into()),
        Err(Refused::Misconfigured(_)) => Err(Problem::alert_key_unset().into()),
        Err(Refused::Error(e)) => Err(e),
        Err(Refused::Channels(errors, _)) => Err(Problem::invalid_field("channels", errors.join("; ")).into()),
    }
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
    let config = if everything { None } else { Some(crate::catalog::config(env).await?) };
    let rows = rows.iter().filter(|r| config.as_ref().is_none_or(|c| access::sees(caller, c, &r.subject)));
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
