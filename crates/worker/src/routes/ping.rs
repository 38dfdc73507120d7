//! healthchecks.io's ping URLs (`/ping/…`) and Uptime Kuma's push URL (`/api/push/<token>`):
//! thin translations (`systole_core::compat::healthchecks`, `systole_core::compat::kuma`)
//! onto the heartbeat path. Any method. The URL's credential (a ping id, a ping key with the
//! service id as slug, a push token) is checked here, then the heartbeat goes to its
//! ServiceMonitor with the credential as its key, which the object checks again. No D1.
//!
//! Besides each product's own answers, a ServiceMonitor's refusals are answered in the
//! product's format: its rate limit as 429 with `Retry-After`, an unavailable object as 503
//! with `Retry-After` (healthchecks.io: `rate limited`, `temporarily unavailable`; Kuma:
//! `{"ok":false,"msg":"Rate limit exceeded"}`, `{"ok":false,"msg":"Temporarily
//! unavailable"}`). A request naming no service counts against the client address's
//! heartbeat limit for requests without a valid key, and past it is answered 429 the same
//! way.

use systole_core::api::heartbeat::HeartbeatItem;
use systole_core::compat::healthchecks::{self as hc, Refusal, Target};
use systole_core::compat::kuma;
use systole_core::config::{ServiceConfig, ServiceId};
use systole_core::keys::{PingCredential, PingKind};
use systole_core::limit;
use systole_core::monitor::Heartbeat;
use worker::worker_sys::web_sys;
use worker::{Env, Headers, Request, Response};

use crate::deployment;
use crate::http::{self, ApiError};
use crate::limits;
use crate::router::{Call, Raw};
use crate::routes::heartbeat::call as deliver;
use crate::routes::query_pairs;

/// What became of a ping handed to its ServiceMonitor.
enum Sent {
    /// Recorded.
    Recorded,
    /// The object refused the credential (it changed since the router looked).
    Refused,
    /// The object holds no service (a managed service's id nobody created).
    Unknown,
    /// The service's rate limit: seconds to wait.
    Limited(String),
    /// The object is unavailable: seconds to wait.
    Unavailable(String),
}

/// `/ping/*`: healthchecks.io's Pinging API (see `systole_core::compat::healthchecks`).
pub async fn healthchecks(mut req: Request, env: &Env, call: Call<'_>) -> Raw {
    let rest = call.params.get("*").unwrap_or_default();
    let ping = match hc::parse(rest, &query_pairs(&req)) {
        Ok(ping) => ping,
        Err(refusal) => return hc_refused(refusal),
    };
    let (service, credential) = match &ping.target {
        Target::Uuid(id) => (by_index(env, PingKind::PingId, id), PingCredential::new(PingKind::PingId, id.as_str())),
        Target::Slug { ping_key, slug } => {
            (deployment::config().service(slug), PingCredential::new(PingKind::PingKey, ping_key.as_str()))
        }
    };
    // `?create=1` on the slug of no declared service, with a group's own ping key: the
    // service may be auto-provisioned.
    if let (Target::Slug { ping_key, slug }, None, true) = (&ping.target, service, ping.create) {
        let group = deployment::keys(env).ping_key_group(ping_key).map(str::to_owned);
        if let (Ok(id), Some(group)) = (ServiceId::parse(slug), group) {
            return created(req, env, &ping, id, &group, &credential).await;
        }
    }
    let declared = service.is_some();
    let target = match opened(env, service, &credential) {
        Some(s) => Some(s.id.clone()),
        // Not a declared service's: a managed service's ping id (one D1 read) or slug; its
        // ServiceMonitor checks the credential.
        None if !declared => match &ping.target {
            Target::Uuid(id) => crate::managed::by_ping_id(env, id).await.ok().flatten(),
            Target::Slug { slug, .. } => ServiceId::parse(slug).ok(),
        },
        None => None,
    };
    let Some(service) = target else {
        if let Err(p) = limits::check(req.inner(), env, limit::HEARTBEAT_PER_IP, "pings without a valid URL").await {
            return hc_answer(429, "rate limited", p.retry_after.map(|s| s.to_string()));
        }
        return hc_refused(Refusal::NotFound);
    };
    let body = http::read_prefix(&mut req, hc::BODY_LIMIT).await?;
    let heartbeat = match ping.check(&body) {
        Ok(heartbeat) => heartbeat,
        Err(refusal) => return hc_refused(refusal),
    };
    match send(env, &service, &credential, heartbeat, Vec::new()).await {
        Sent::Refused | Sent::Unknown => {
            if let Err(p) = limits::check(req.inner(), env, limit::HEARTBEAT_PER_IP, "pings without a valid URL").await
            {
                return hc_answer(429, "rate limited", p.retry_after.map(|s| s.to_string()));
            }
            hc_refused(Refusal::NotFound)
        }
        sent => hc_sent(sent, false),
    }
}

/// `?create=1` on the slug `id` of no declared service, with `group`'s own ping key: the ping
/// goes to the service's object (a managed service of that group checks the key); when it
/// holds none and the group allows auto-provisioning (`crate::provision`), the service is
/// created, then pinged, answered 201 `Created` as healthchecks.io does. Refusals: 404 `not
/// found` (the key does not open it, or the group does not allow auto-provisioning, as
/// healthchecks.io answers when it cannot create), 403 with the reason as text when the group
/// is at its `maxServices`.
async fn created(
    mut req: Request,
    env: &Env,
    ping: &hc::Ping,
    id: ServiceId,
    group: &str,
    credential: &PingCredential,
) -> Raw {
    let body = http::read_prefix(&mut req, hc::BODY_LIMIT).await?;
    let heartbeat = match ping.check(&body) {
        Ok(heartbeat) => heartbeat,
        Err(refusal) => return hc_refused(refusal),
    };
    let sent = send(env, &id, credential, heartbeat.clone(), Vec::new()).await;
    if !matches!(sent, Sent::Unknown) {
        return hc_sent(sent, false);
    }
    match crate::provision::create(env, &id, group, &serde_json::Map::new()).await {
        Ok(made) => {
            let new = matches!(made, crate::provision::Created::New(_));
            hc_sent(send(env, &id, credential, heartbeat, Vec::new()).await, new)
        }
        // A group that does not allow it cannot create: `not found`; one at its
        // `maxServices` says so.
        Err(ApiError::Problem(p)) if p.status == 403 && p.limit.is_none() => hc_refused(Refusal::NotFound),
        Err(ApiError::Problem(p)) => hc_answer(p.status, &p.detail, None),
        Err(ApiError::Unavailable { what, error }) => {
            worker::console_error!("auto-provisioning {id}: {what} unavailable: {error}");
            hc_answer(503, "temporarily unavailable", Some("2".to_owned()))
        }
    }
}

/// healthchecks.io's answer to a ping its object answered `sent`: 200 `OK` (201 `Created`
/// when `created`) with `Ping-Body-Limit` and `Access-Control-Allow-Origin: *`, else the
/// refusal.
fn hc_sent(sent: Sent, created: bool) -> Raw {
    match sent {
        Sent::Recorded => {
            let (status, body) = if created { (201, "Created") } else { (200, "OK") };
            let mut resp = plain(status, hc::CONTENT_TYPE, body)?;
            let headers = resp.headers_mut();
            headers.set("Ping-Body-Limit", &hc::BODY_LIMIT.to_string())?;
            headers.set("Access-Control-Allow-Origin", "*")?;
            hc_cached(resp)
        }
        Sent::Refused | Sent::Unknown => hc_refused(Refusal::NotFound),
        Sent::Limited(secs) => hc_answer(429, "rate limited", Some(secs)),
        Sent::Unavailable(secs) => hc_answer(503, "temporarily unavailable", Some(secs)),
    }
}

/// `/api/push/{token}`: Uptime Kuma's push URL (see `systole_core::compat::kuma`).
pub async fn kuma(req: Request, env: &Env, call: Call<'_>) -> Raw {
    let push = match kuma::parse(&query_pairs(&req)) {
        Ok(push) => push,
        Err(msg) => return kuma_answer(404, Some(&msg), None),
    };
    let raw = call.params.get("token").unwrap_or_default();
    let token = kuma::token(raw).unwrap_or_default();
    let credential = PingCredential::new(PingKind::PushToken, token.as_str());
    let service = by_index(env, PingKind::PushToken, &token);
    // A paused (disabled) service is "not active", as a paused Kuma monitor.
    let Some(service) = opened(env, service, &credential).filter(|s| s.enabled) else {
        if let Err(p) = limits::check(req.inner(), env, limit::HEARTBEAT_PER_IP, "pushes without a valid URL").await {
            return kuma_answer(429, Some("Too many requests"), p.retry_after.map(|s| s.to_string()));
        }
        return kuma_answer(404, Some(kuma::NOT_FOUND), None);
    };
    let (heartbeat, dropped) = push.heartbeat();
    match send(env, &service.id, &credential, heartbeat, dropped).await {
        Sent::Recorded => kuma_answer(200, None, None),
        Sent::Refused | Sent::Unknown => kuma_answer(404, Some(kuma::NOT_FOUND), None),
        Sent::Limited(secs) => kuma_answer(429, Some("Rate limit exceeded"), Some(secs)),
        Sent::Unavailable(secs) => kuma_answer(503, Some("Temporarily unavailable"), Some(secs)),
    }
}

/// The configured service whose `kind` credential is `presented`.
fn by_index(env: &Env, kind: PingKind, presented: &str) -> Option<&'static ServiceConfig> {
    let id = deployment::ping_index(env, kind).find(deployment::keys(env), presented)?;
    deployment::config().service(id.as_str())
}

/// `service` when `credential` opens it (the same check its ServiceMonitor makes).
fn opened(
    env: &Env,
    service: Option<&'static ServiceConfig>,
    credential: &PingCredential,
) -> Option<&'static ServiceConfig> {
    let granted = deployment::keys(env).authorize(service, Some(&credential.to_key())).granted();
    service.filter(|_| granted)
}

/// Hands the heartbeat to the service's ServiceMonitor with `credential` as its key.
async fn send(
    env: &Env,
    service: &ServiceId,
    credential: &PingCredential,
    heartbeat: Heartbeat,
    dropped_metrics: Vec<String>,
) -> Sent {
    let item =
        HeartbeatItem { service_id: service.clone(), key: Some(credential.to_key()), heartbeat, dropped_metrics };
    let retry_after = |resp: &web_sys::Response, default: &str| {
        resp.headers().get("Retry-After").ok().flatten().unwrap_or_else(|| default.to_owned())
    };
    match deliver(env, item).await {
        Ok(resp) if resp.status() == 200 => Sent::Recorded,
        Ok(resp) if resp.status() == 401 => {
            // An object holding no service says so (`unknownService`).
            let text = Response::from(resp).text().await.ok();
            let unknown = text
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .is_some_and(|p| p["unknownService"].as_bool() == Some(true));
            if unknown {
                Sent::Unknown
            } else {
                Sent::Refused
            }
        }
        Ok(resp) if resp.status() == 429 => Sent::Limited(retry_after(&resp, "1")),
        Ok(resp) => Sent::Unavailable(retry_after(&resp, "2")),
        Err(e) => {
            worker::console_error!("ServiceMonitor {service} unreachable: {e}");
            Sent::Unavailable("2".to_owned())
        }
    }
}

/// A response with exactly the `Content-Type` header and `body`.
fn plain(status: u16, content_type: &str, body: &str) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", content_type)?;
    Ok(Response::builder().with_status(status).with_headers(headers).fixed(body.as_bytes().to_vec()))
}

/// A healthchecks.io answer with Django's `never_cache` header.
fn hc_cached(mut resp: Response) -> Raw {
    resp.headers_mut().set("Cache-Control", hc::CACHE_CONTROL)?;
    Ok(resp.into())
}

/// A healthchecks.io answer: `status`, the text `body`, `Retry-After` if given.
fn hc_answer(status: u16, body: &str, retry_after: Option<String>) -> Raw {
    let mut resp = plain(status, hc::CONTENT_TYPE, body)?;
    if let Some(secs) = retry_after {
        resp.headers_mut().set("Retry-After", &secs)?;
    }
    hc_cached(resp)
}

/// healthchecks.io's answer to a refusal.
fn hc_refused(refusal: Refusal) -> Raw {
    hc_answer(refusal.status(), refusal.body(), None)
}

/// An Uptime Kuma answer: `{"ok":true}` or `{"ok":false,"msg":…}`, `Retry-After` if given.
fn kuma_answer(status: u16, refusal: Option<&str>, retry_after: Option<String>) -> Raw {
    let mut resp = plain(status, kuma::CONTENT_TYPE, &kuma::body(refusal))?;
    if let Some(secs) = retry_after {
        resp.headers_mut().set("Retry-After", &secs)?;
    }
    Ok(resp.into())
}
