//! Live updates: ServiceMonitors publish each heartbeat and status change to the
//! NotificationHubs of everyone who may see the service ([`publish`]), the AlertDesk each
//! announced external alert to the hubs of readers who see everything ([`publish_alerts`]);
//! dashboard tabs reach their hub through `/api/v1/live` and the status page through
//! `/status/live` ([`connect`]).

#[allow(missing_docs)] // The JS glue `#[durable_object]` generates on the NotificationHub.
pub mod hub;

use std::cell::RefCell;
use std::rc::Rc;

use systole_core::access::{self, Hub};
use systole_core::api::Problem;
use systole_core::config::ServiceConfig;
use systole_core::live::{self, AlertUpdate, PublishGate, ServiceUpdate};
use systole_core::time::Timestamp;
use worker::{Env, Headers, Method, Request, RequestInit, Result, Stub};

use crate::deployment::{self, HUB_BINDING};
use crate::http::Reply;
use crate::router::Call;

fn stub(env: &Env, hub: &Hub) -> Result<Stub> {
    env.durable_object(HUB_BINDING)?.id_from_name(&hub.name)?.get_stub()
}

/// Sends `update` of `service` to every hub that must hear about it (the public hub gets it
/// without message) and that `gate` admits, without waiting: the heartbeat's answer and the
/// alarm do not wait for tabs. Each hub's answer (its socket count) goes back into `gate`. A
/// lost update is repaired by the tab's resynchronisation on reconnect.
pub fn publish(env: &Env, service: &ServiceConfig, update: &ServiceUpdate, gate: &Rc<RefCell<PublishGate>>) {
    let now = Timestamp::from_millis(update.at);
    let change = update.change.is_some();
    let mut hubs = access::hubs(deployment::users(), deployment::config(), service);
    hubs.retain(|hub| gate.borrow().admits(&hub.name, now, change));
    if hubs.is_empty() {
        // The common case for a heartbeat nobody is watching: nothing to serialize.
        return;
    }
    let (full, public) = (update.to_json(), update.public().to_json());
    for hub in hubs {
        let body = if hub.public { public.clone() } else { full.clone() };
        let Ok(stub) = stub(env, &hub) else {
            worker::console_error!("no NotificationHub binding: live updates are off");
            return;
        };
        gate.borrow_mut().sent(&hub.name, now);
        let gate = Rc::clone(gate);
        wasm_bindgen_futures::spawn_local(async move {
            match post(&stub, body).await {
                Ok(text) => {
                    let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    if let Some(n) = answer.get("sockets").and_then(serde_json::Value::as_u64) {
                        gate.borrow_mut().answered(&hub.name, n);
                    }
                }
                Err(e) => worker::console_warn!("publishing to hub {}: {e}", hub.name),
            }
        });
    }
}

/// Sends each announced external alert to the hubs of readers who see everything
/// (`systole_core::access::hubs_seeing_all`), without waiting; the hubs pass them on and do
/// not keep them. A tab that misses one finds it by polling `/api/v1/alerts/recent` while
/// its socket is down.
pub fn publish_alerts(env: &Env, alerts: &[AlertUpdate]) {
    for hub in access::hubs_seeing_all(deployment::users()) {
        let Ok(stub) = stub(env, &hub) else {
            worker::console_error!("no NotificationHub binding: live updates are off");
            return;
        };
        let bodies: Vec<String> = alerts.iter().map(AlertUpdate::to_json).collect();
        wasm_bindgen_futures::spawn_local(async move {
            for body in bodies {
                if let Err(e) = post(&stub, body).await {
                    worker::console_warn!("publishing an alert to hub {}: {e}", hub.name);
                }
            }
        });
    }
}

/// `POST /publish` of `body` to a hub; its answer's text.
async fn post(stub: &Stub, body: String) -> Result<String> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let req = Request::new_with_init("https://hub/publish", &init)?;
    stub.fetch_with_request(req).await?.text().await
}

/// `GET /api/v1/live`: the caller's hub (see [`connect`]).
pub async fn connect_user(req: Request, env: &Env, call: Call<'_>) -> Reply {
    connect(&req, env, &call.caller()?.hub()).await
}

/// `GET /status/live`: the public hub, for the status page (see [`connect`]).
pub async fn connect_public(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    connect(&req, env, &Hub::public()).await
}

/// Hands a WebSocket upgrade request to `hub`, with the hub's socket cap
/// (`systole_core::live::socket_cap`), after checking its `Origin`
/// (`systole_core::live::origin_allowed`: none, this request's host, `PUBLIC_URL`'s origin
/// or `settings.json` `allowedOrigins`).
///
/// # Errors
/// 426 problem+json when the request is not a WebSocket upgrade; 403 for a page of another
/// origin; 503 `too-many-sockets` (from the hub) when the hub is full; 503 when the Durable
/// Object fails.
async fn connect(req: &Request, env: &Env, hub: &Hub) -> Reply {
    let upgrade = req.headers().get("Upgrade")?.unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        let mut p = Problem::invalid_field("Upgrade", "this endpoint only accepts WebSocket upgrades");
        p.status = 426;
        return Err(p.into());
    }
    let origin = req.headers().get("Origin")?;
    let host = req.headers().get("Host")?.unwrap_or_default();
    let url = req.url()?;
    let url_host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (h, None) => h.unwrap_or_default().to_owned(),
        (None, Some(_)) => String::new(),
    };
    let allowed = &deployment::config().settings.allowed_origins;
    if !live::origin_allowed(origin.as_deref(), &[&host, &url_host], deployment::public_url(env), allowed) {
        return Err(live::foreign_origin(origin.as_deref().unwrap_or_default()).into());
    }
    let headers = Headers::new();
    headers.set("Upgrade", "websocket")?;
    let mut init = RequestInit::new();
    init.with_headers(headers);
    let url = format!("https://hub/connect?cap={}", live::socket_cap(hub));
    Ok(stub(env, hub)?.fetch_with_request(Request::new_with_init(&url, &init)?).await?)
}

/// The session generation of `user`'s hub (see `systole_core::session`); `end` adds one
/// first (signing out).
///
/// # Errors
/// When the Durable Object fails or answers something else than `{"generation": n}`.
pub async fn session_generation(env: &Env, user: &str, end: bool) -> Result<u64> {
    let stub = stub(env, &Hub::user(user))?;
    let mut resp = if end {
        let mut init = RequestInit::new();
        init.with_method(Method::Post);
        stub.fetch_with_request(Request::new_with_init("https://hub/session/end", &init)?).await?
    } else {
        stub.fetch_with_str("https://hub/session").await?
    };
    let answer: serde_json::Value = resp.json().await?;
    answer
        .get("generation")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| worker::Error::RustError(format!("hub {user}: no session generation in {answer}")))
}

/// The counters of `hub` (benchmark only: the `bench` feature's `/api/internal/hub`).
#[cfg(feature = "bench")]
pub async fn stats(env: &Env, hub: &Hub) -> Result<worker::Response> {
    stub(env, hub)?.fetch_with_str("https://hub/stats").await
}
