//! `POST /api/heartbeat` and `POST /api/v1/heartbeat`: limits and parsing at the edge, every
//! key checked here, then each granted heartbeat to its service's ServiceMonitor Durable
//! Object. No D1 on this path, but for auto-provisioning (`crate::provision`).

use futures_util::future::join_all;
use serde_json::{Map, Value};
use systole_core::api::heartbeat::{
    self, Accepted, Entry, Failure, HeartbeatItem, ItemError, MAX_BODY_BYTES, MAX_READ_BYTES,
};
use systole_core::api::Problem;
use systole_core::budget::Kind;
use systole_core::config::Config;
use systole_core::keys::{Authorization, KeyRing};
use systole_core::limit;
use systole_core::protocol::ToMonitor;
use worker::worker_sys::web_sys;
use worker::{Env, Response};

use crate::deployment::{self, MONITOR_BINDING};
use crate::http;
use crate::limits;
use crate::provision;
use crate::router::{Call, Raw};
use crate::stub;

/// Seconds a client should wait after a Durable Object could not be reached.
const RETRY_AFTER: u16 = 2;

/// Handles a heartbeat request in any of cloudflaremon's forms and ours
/// ([`heartbeat::parse`]), answering as [`heartbeat::answer`] decides: 200 when every
/// heartbeat was recorded, 207 when some were, else 401 (every one refused by its key check),
/// 429 (every one over its service's rate limit), 503 (every one unavailable) or 400, each
/// with cloudflaremon's `success`, `message` and per-item `results`. Errors before any
/// heartbeat is considered: 413 over 16 KiB (not counting the escaping of `output`, see
/// [`heartbeat::parse`]), 400 with the field for bad JSON, fields or
/// limits. A request in which no heartbeat passed its key check counts against the client
/// address's [`limit::HEARTBEAT_PER_IP`], and past it answers 429 problem+json with
/// `Retry-After` instead of 401.
///
/// The single form's accepted heartbeat is the hot path: the request is read as the runtime
/// gives it (never converted into `worker`'s `Request`), and the ServiceMonitor's answer goes
/// to the runtime as it is (never read, copied or rebuilt here), as the runtime's floor does.
pub async fn post(req: web_sys::Request, env: &Env, _call: Call<'_>) -> Raw {
    let headers = req.headers();
    let bearer = headers.get("Authorization").map_err(worker::Error::from)?.and_then(|v| crate::access::bearer(&v));
    let declared = headers.get("Content-Length").map_err(worker::Error::from)?;
    let body = http::read_declared(&req, declared.as_deref(), MAX_READ_BYTES)
        .await?
        .ok_or_else(|| Problem::payload_too_large(MAX_BODY_BYTES))?;
    let request = heartbeat::parse(&body, bearer.as_deref())?;
    let config = deployment::config();
    let keys = deployment::keys(env);
    // Every key is checked here, before any Durable Object is contacted: unknown services and
    // wrong keys never reach one, so a flood of them cannot queue in front of real heartbeats,
    // and both cost the same work (no round trip tells them apart). Each ServiceMonitor
    // verifies its own key again.
    let mut checked: Vec<_> = request
        .entries
        .into_iter()
        .map(|entry| match entry {
            Entry::Beat(mut item) => match authorize(keys, config, &mut item) {
                Authorization::Granted => Ok(item),
                // An id not declared may be a managed service: its ServiceMonitor holds its
                // keys and checks them (an object holding none answers 401 and stores nothing).
                Authorization::UnknownService => Ok(item),
                denied => Err(Failure::new(item.service_id.as_str(), ItemError::Denied(denied))),
            },
            Entry::Failed(failure) => Err(failure),
        })
        .collect();
    let refused_at_edge = checked.iter().all(Result::is_err);
    if refused_at_edge {
        count_refused(&req, env).await?;
    }
    if let (false, [Ok(_)]) = (request.batch, checked.as_slice()) {
        // The single form's one heartbeat: the ServiceMonitor answers an accepted one with
        // this request's whole answer, passed on as it is (no second JSON on the hot path).
        if let Some(Ok(item)) = checked.pop() {
            let service_id = item.service_id.as_str().to_owned();
            // A group's provisioning key may create the service its object does not hold.
            let provisioning = provision::group_of(keys, item.key.as_deref()).map(|g| (g, item.clone()));
            let outcome = match call(env, item).await {
                Ok(resp) if resp.status() == 200 => return Ok(resp),
                sent => outcome(&service_id, sent.map(Response::from)).await,
            };
            if let (Some((group, item)), Err(f)) = (provisioning, &outcome) {
                if matches!(f.error, ItemError::Denied(Authorization::UnknownService)) {
                    return provisioned(env, &group, item, &request.settings).await;
                }
            }
            if matches!(&outcome, Err(f) if matches!(f.error, ItemError::Denied(_))) {
                // Refused by its object (a managed service's key): counted as at the edge.
                count_refused(&req, env).await?;
            }
            let summary = heartbeat::answer(vec![outcome], false, deployment::now())?;
            return Ok(http::json(summary.status, &summary)?.into());
        }
    }
    let outcomes = join_all(checked.into_iter().map(|c| async {
        match c {
            Ok(item) => {
                let service_id = item.service_id.as_str().to_owned();
                outcome(&service_id, call(env, item).await.map(Response::from)).await
            }
            Err(failure) => Err(failure),
        }
    }))
    .await;
    let refused = |o: &Result<Accepted, Failure>| matches!(o, Err(f) if matches!(f.error, ItemError::Denied(_)));
    if !refused_at_edge && !outcomes.iter().any(Result::is_ok) && outcomes.iter().any(refused) {
        // Refused by their objects (managed services' keys): counted once, as at the edge.
        count_refused(&req, env).await?;
    }
    let summary = heartbeat::answer(outcomes, request.batch, deployment::now())?;
    Ok(http::json(summary.status, &summary)?.into())
}

/// Counts a request none of whose heartbeats got through a key check (at the edge, or at a
/// managed service's object) against its address's limit: a guessing loop or a misconfigured
/// client. Once per request; a right key never calls the limiter.
///
/// # Errors
/// 429 problem+json past [`limit::HEARTBEAT_PER_IP`].
async fn count_refused(req: &web_sys::Request, env: &Env) -> Result<(), Problem> {
    limits::check(req, env, limit::HEARTBEAT_PER_IP, "heartbeat requests without a valid key").await
}

/// The key check of `item` at the edge ([`KeyRing::authorize`]); a key that does not open the
/// service but is a group's provisioning key is replaced by its encoded credential
/// (`provision::credential`), which opens the group's services (its object checks it again)
/// and lets the single form create one.
fn authorize(keys: &KeyRing, config: &Config, item: &mut HeartbeatItem) -> Authorization {
    let service = config.service(item.service_id.as_str());
    let granted = keys.authorize(service, item.key.as_deref());
    if granted.granted() {
        return granted;
    }
    match provision::credential(keys, item.key.as_deref()) {
        Some((_, encoded)) => {
            item.key = Some(encoded);
            keys.authorize(service, item.key.as_deref())
        }
        None => granted,
    }
}

/// Creates the service a heartbeat with `group`'s provisioning key named (its object holds
/// none; see `crate::provision`) and delivers the heartbeat again: 201 with the single form's
/// answer, `"created": true` and the new service's own `key` (shown once).
///
/// # Errors
/// 403 (the group does not allow it, or is at its `maxServices`), 400 (a setting the
/// service cannot have), 503; the heartbeat's own refusals as the single form answers them.
async fn provisioned(env: &Env, group: &str, item: HeartbeatItem, settings: &Map<String, Value>) -> Raw {
    let service_id = item.service_id.as_str().to_owned();
    let created = provision::create(env, &item.service_id, group, settings).await?;
    let sent = call(env, item).await;
    let (key, sent) = match (created, sent) {
        // Another request created it meanwhile: answered as any heartbeat of it.
        (provision::Created::Existing, Ok(resp)) if resp.status() == 200 => return Ok(resp),
        (provision::Created::Existing, sent) => return answer_one(&service_id, sent).await,
        (provision::Created::New(key), sent) => (key, sent),
    };
    match sent {
        Ok(resp) if resp.status() == 200 => {
            let mut answer: Value = serde_json::from_str(&Response::from(resp).text().await?)?;
            if let Some(o) = answer.as_object_mut() {
                o.insert("created".into(), Value::Bool(true));
                if let Some(k) = key {
                    o.insert("key".into(), Value::String(k));
                }
            }
            Ok(http::json(201, &answer)?.into())
        }
        sent => answer_one(&service_id, sent).await,
    }
}

/// The single form's answer for the heartbeat of `service_id` its object answered `sent`.
async fn answer_one(service_id: &str, sent: worker::Result<web_sys::Response>) -> Raw {
    let outcome = outcome(service_id, sent.map(Response::from)).await;
    let summary = heartbeat::answer(vec![outcome], false, deployment::now())?;
    Ok(http::json(summary.status, &summary)?.into())
}

/// Hands one granted heartbeat to its ServiceMonitor; the object's answer as the runtime
/// gives it ([`crate::stub`]): for an accepted heartbeat 200 with the single form's whole
/// answer (`heartbeat::answer` of its [`Accepted`], which reads back as that [`Accepted`]).
pub(crate) async fn call(env: &Env, item: HeartbeatItem) -> worker::Result<web_sys::Response> {
    let stub = stub::named(env, MONITOR_BINDING, item.service_id.as_str())?;
    let body = serde_json::to_string(&ToMonitor::Heartbeat(item))?;
    crate::budget::count(Kind::Object);
    stub::post(&stub, "https://service-monitor/", &body).await
}

/// What a ServiceMonitor's answer `sent` (or the runtime's error reaching it) means for the
/// heartbeat of `service_id`: its `Accepted`, or the failure its answer or the runtime
/// reports (a refused key as `Invalid API key`, the service's rate limit as `Rate limit
/// exceeded` with its `Retry-After`, anything else as unavailable, keeping the object's
/// detail and `Retry-After`).
async fn outcome(service_id: &str, sent: worker::Result<Response>) -> Result<Accepted, Failure> {
    let sent = async {
        let mut resp = sent?;
        let status = resp.status_code();
        // Only a refusal carries one: an accepted heartbeat skips the header lookup.
        let retry_after =
            if status == 200 { None } else { resp.headers().get("Retry-After")?.and_then(|v| v.parse().ok()) };
        Ok::<_, worker::Error>((status, retry_after, resp.text().await?))
    };
    let unavailable = |detail: Option<String>, retry_after: Option<u16>| {
        let detail = detail.unwrap_or_else(|| "storage is temporarily unavailable; retry shortly".to_owned());
        let retry_after = retry_after.unwrap_or(RETRY_AFTER);
        Failure::new(service_id, ItemError::Unavailable { detail, retry_after })
    };
    match sent.await {
        Ok((200, _, text)) => serde_json::from_str(&text).map_err(|e| {
            worker::console_error!("ServiceMonitor {service_id}: unreadable answer: {e}");
            unavailable(None, None)
        }),
        Ok((401, _, text)) => {
            // An object holding no service says so (`unknownService`), as the edge does for
            // an id nobody declared.
            let unknown = serde_json::from_str::<serde_json::Value>(&text)
                .is_ok_and(|p| p["unknownService"].as_bool() == Some(true));
            let denied = if unknown { Authorization::UnknownService } else { Authorization::WrongKey };
            Err(Failure::new(service_id, ItemError::Denied(denied)))
        }
        Ok((429, retry_after, _)) => {
            Err(Failure::new(service_id, ItemError::Limited { retry_after: retry_after.unwrap_or(1) }))
        }
        Ok((_, retry_after, text)) => {
            let problem = serde_json::from_str::<serde_json::Value>(&text).ok();
            let detail = problem.and_then(|p| p["detail"].as_str().map(str::to_owned));
            Err(unavailable(detail, retry_after))
        }
        Err(e) => {
            worker::console_error!("ServiceMonitor {service_id} unreachable: {e}");
            Err(unavailable(None, None))
        }
    }
}
