//! Acknowledging an incident (see `systole_core::escalation`):
//! - `POST /api/v1/incidents/{id}/acknowledge`: the `MANAGEMENT_API_KEY` bearer secret
//!   (recorded as `api`) or a signed-in user who sees the service (recorded by user id); the
//!   service page's form posts here and is sent back to the page (303);
//! - `GET /ack/{id}?expires=&sig=`: the signed link notifications carry (no sign-in) shows a
//!   confirm page with a button, so link scanners acknowledge nothing;
//!   `POST /ack/{id}?expires=&sig=` (that button) acknowledges, recorded as `link`.
//!
//! The incident id is `{serviceId}.{startedAt epoch ms}`. The service's ServiceMonitor does
//! the acknowledging and writes the incident row with who and when to D1 before it answers,
//! so the page a form post is sent back to shows it.

use serde_json::{json, Value};
use systole_core::api::Problem;
use systole_core::config::{Config, ServiceId};
use systole_core::escalation::{self, LinkError};
use systole_core::keys::{bearer, secret_matches, MIN_KEY_LEN};
use systole_core::monitor::Incident;
use systole_core::protocol::ToMonitor;
use systole_core::session;
use systole_core::time::Timestamp;
use systole_web::pages::{self, AckPage};
use systole_web::view::Viewer;
use worker::{Env, Request};

use super::query_pairs;
use crate::access::{self, Caller};
use crate::d1::rows::IncidentRow;
use crate::deployment::{self, now, DB_BINDING};
use crate::http::{self, ApiError, OrUnavailable, Reply, HISTORY_DB};
use crate::pages::{chrome, html, redirect};
use crate::router::Call;

/// Who acknowledges through a signed link.
const BY_LINK: &str = "link";

/// `POST /api/v1/incidents/{id}/acknowledge` (no body) → 200 `{"incident": Incident as the
/// incidents API lists it}`, also when it was already acknowledged (the first
/// acknowledgement stays); a form post from the service page (`Accept: text/html`) → 303 to
/// the service's page. Errors: 401 without the management key or a user, 403 posted from
/// another site's page, 404 an id that names no incident of a service the caller sees, 409
/// the incident is already resolved, 503.
pub async fn post(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let id = call.params.get("id").unwrap_or_default();
    let config = crate::catalog::config(env).await?;
    let (service, started_at) = named(id, &config)?;
    let by = who(&req, env, &config, service.as_str()).await?;
    let incident = acknowledge(env, &service, started_at, &by).await?;
    if req.headers().get("Accept")?.is_some_and(|a| a.contains("text/html")) {
        return redirect(&format!("/services/{service}"), None);
    }
    Ok(http::json(200, &json!({ "incident": view(service.as_str(), &incident) }))?)
}

/// `GET /ack/{id}?expires=&sig=`: the confirm page (200) for a valid link, whose button
/// POSTs the same URL; 403 for a link that is not valid (tampered, for another incident),
/// 410 for an expired one, 404 for an incident of no configured service, as a page.
pub async fn confirm(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let (_, started_at, name) = match opened(&req, env, &call).await? {
        Ok(opened) => opened,
        Err((status, reason)) => return page(status, &AckPage::Refused { reason }),
    };
    let url = req.url()?;
    let action = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    page(200, &AckPage::Confirm { service: &name, started_at, action: &action })
}

/// `POST /ack/{id}?expires=&sig=`: acknowledges the link's incident (by `link`) → 200 page
/// saying who acknowledged it and when (the first acknowledgement, if it already was); 403
/// not valid or posted from another site's page, 410 expired, 404 unknown, 409 the
/// incident is already resolved, 503, each as a page.
pub async fn accept(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let (service, started_at, name) = match opened(&req, env, &call).await? {
        Ok(opened) => opened,
        Err((status, reason)) => return page(status, &AckPage::Refused { reason }),
    };
    if !same_origin(&req)? {
        return page(403, &AckPage::Refused { reason: "Acknowledge from the link's own page." });
    }
    match acknowledge(env, &service, started_at, BY_LINK).await {
        Ok(incident) => {
            let ack = incident.acknowledged.as_ref();
            let by = ack.map_or(BY_LINK, |a| a.by.as_str());
            page(200, &AckPage::Done { service: &name, by, at: ack.map_or_else(now, |a| a.at) })
        }
        Err(e) => {
            let status = match e {
                ApiError::Problem(p) => p.status,
                ApiError::Unavailable { .. } => 503,
            };
            let reason = match status {
                409 => "This incident is already resolved: there is nothing to acknowledge.",
                404 => "There is no such incident.",
                _ => "The service's monitor is temporarily unavailable; try again shortly.",
            };
            page(status, &AckPage::Refused { reason })
        }
    }
}

/// The service and start an incident id names, for a service of `config`.
fn named(id: &str, config: &Config) -> Result<(ServiceId, Timestamp), ApiError> {
    escalation::parse_incident_id(id)
        .filter(|(s, _)| config.service(s.as_str()).is_some())
        .ok_or_else(|| Problem::not_found(format!("no incident {id:?}")).into())
}

/// The incident a link request names, with its service's display name, when the link's
/// signature and expiry check out at now; else the page's status and sentence.
async fn opened(
    req: &Request,
    env: &Env,
    call: &Call<'_>,
) -> Result<Result<(ServiceId, Timestamp, String), (u16, &'static str)>, ApiError> {
    let id = call.params.get("id").unwrap_or_default();
    let config = crate::catalog::config(env).await?;
    Ok(checked(req, env, id, &config).map(|(service, started_at)| {
        let name = config.service(service.as_str()).map_or_else(|| service.to_string(), |s| s.name.clone());
        (service, started_at, name)
    }))
}

/// The link's incident when its signature and expiry check out at now; else the page's
/// status and sentence.
fn checked(req: &Request, env: &Env, id: &str, config: &Config) -> Result<(ServiceId, Timestamp), (u16, &'static str)> {
    let pairs = query_pairs(req);
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let expires = get("expires").and_then(|e| e.parse::<i64>().ok());
    let (Some(expires), Some(sig)) = (expires, get("sig")) else {
        return Err((403, "This acknowledgement link is not valid."));
    };
    match deployment::ack_links(env).verify(id, expires, sig, now()) {
        Ok(()) => {}
        Err(LinkError::Invalid) => return Err((403, "This acknowledgement link is not valid.")),
        Err(LinkError::Expired) => {
            return Err((410, "This acknowledgement link has expired: acknowledge from the dashboard."));
        }
    }
    named(id, config).map_err(|_| (404, "There is no such incident."))
}

/// Who is acknowledging through the API: `api` for the management key, else the signed-in
/// user's id (`anonymous` in an open deployment).
async fn who(req: &Request, env: &Env, config: &Config, service: &str) -> Result<String, ApiError> {
    if !same_origin(req)? {
        return Err(Problem::forbidden("acknowledgements from a browser must come from this site's pages").into());
    }
    let key = env
        .secret(crate::managed::auth::KEY_SECRET)
        .map(|s| s.to_string())
        .ok()
        .filter(|k| k.chars().count() >= MIN_KEY_LEN);
    let presented = req.headers().get("Authorization")?.and_then(|v| bearer(&v));
    if let (Some(key), Some(presented)) = (key.as_deref(), presented.as_deref()) {
        if secret_matches(key, presented) {
            return Ok("api".to_owned());
        }
    }
    let caller = access::caller(req, env).await?;
    if !access::sees(caller, config, service) {
        return Err(Problem::unknown_service(service).into());
    }
    Ok(match caller {
        Caller::User(u) => u.id.clone(),
        Caller::Open => "anonymous".to_owned(),
    })
}

/// [`session::same_origin_post`] for `req`.
fn same_origin(req: &Request) -> worker::Result<bool> {
    let headers = req.headers();
    let own = req.url()?.origin().ascii_serialization();
    Ok(session::same_origin_post(headers.get("Origin")?.as_deref(), headers.get("Sec-Fetch-Site")?.as_deref(), &own))
}

/// Asks the service's ServiceMonitor to acknowledge its open incident that started at
/// `started_at` for `by`: the incident (acknowledged now or before). Errors: 409 when D1
/// holds it resolved, 404 when nobody knows it, 503.
async fn acknowledge(env: &Env, service: &ServiceId, started_at: Timestamp, by: &str) -> Result<Incident, ApiError> {
    let message = ToMonitor::Acknowledge { service_id: service.clone(), started_at, by: by.to_owned() };
    let answer = super::maintenance::send(env, service, &message).await?;
    if let Some(incident) = answer.get("incident").filter(|i| !i.is_null()) {
        return Ok(serde_json::from_value(incident.clone())?);
    }
    let known = crate::d1::read::incident(&env.d1(DB_BINDING)?, service.as_str(), started_at.as_millis())
        .await
        .or_unavailable(HISTORY_DB)?;
    Err(match known {
        Some(_) => Problem::conflict("the incident is already resolved").into(),
        None => Problem::not_found(format!("no incident {:?}", escalation::incident_id(service.as_str(), started_at)))
            .into(),
    })
}

/// The incident as `GET /api/v1/incidents` lists it.
pub fn view(service: &str, i: &Incident) -> Value {
    listed(&IncidentRow::new(service, i))
}

/// One incident row as the incidents API lists it: `{"id", "serviceId", "startedAt",
/// "endedAt" | null, "open", "durationSeconds", "cause", "kind" | null, "suppressed" | null,
/// "acknowledgedAt" | null, "acknowledgedBy" | null}` (times RFC 3339 UTC).
pub fn listed(r: &IncidentRow) -> Value {
    let start = Timestamp::from_millis(r.started_at);
    let end = r.ended_at.map(Timestamp::from_millis);
    json!({
        "id": escalation::incident_id(&r.service_id, start),
        "serviceId": r.service_id,
        "startedAt": start.to_rfc3339(),
        "endedAt": end.map(Timestamp::to_rfc3339),
        "open": end.is_none(),
        "durationSeconds": end.unwrap_or_else(now).since(start).as_secs_f64(),
        "cause": r.cause,
        "kind": r.kind,
        "suppressed": r.suppressed,
        "acknowledgedAt": r.acknowledged_at.map(|at| Timestamp::from_millis(at).to_rfc3339()),
        "acknowledgedBy": r.acknowledged_by,
    })
}

/// The acknowledgement page with `status`, for an anonymous viewer.
fn page(status: u16, page: &AckPage<'_>) -> Reply {
    html(status, pages::ack(&chrome(&Viewer::Anonymous, now(), None), page))
}
