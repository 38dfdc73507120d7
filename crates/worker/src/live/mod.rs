//! Live updates: ServiceMonitors publish each heartbeat and status change to the
//! NotificationHubs of everyone who may see the service ([`publish`]); dashboard tabs reach
//! their hub through `/api/live` and the status page through `/status/live` ([`connect`]).

pub mod hub;

use systole_core::access::{self, Hub};
use systole_core::api::Problem;
use systole_core::config::ServiceConfig;
use systole_core::live::ServiceUpdate;
use worker::{Env, Headers, Method, Request, RequestInit, Response, Result, Stub};

use crate::deployment::{self, HUB_BINDING};
use crate::http;

fn stub(env: &Env, hub: &Hub) -> Result<Stub> {
    env.durable_object(HUB_BINDING)?.id_from_name(&hub.name)?.get_stub()
}

/// Sends `update` of `service` to every hub that must hear about it (the public hub gets it
/// without message), without waiting: the heartbeat's answer and the alarm do not wait for
/// tabs. A lost update is repaired by the tab's resynchronisation on reconnect.
pub fn publish(env: &Env, service: &ServiceConfig, update: &ServiceUpdate) {
    let hubs = access::hubs(deployment::users(), deployment::config(), service);
    let (full, public) = (update.to_json(), update.public().to_json());
    for hub in hubs {
        let body = if hub.public { public.clone() } else { full.clone() };
        let Ok(stub) = stub(env, &hub) else {
            worker::console_error!("no NotificationHub binding: live updates are off");
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            let mut init = RequestInit::new();
            init.with_method(Method::Post).with_body(Some(body.into()));
            let sent = match Request::new_with_init("https://hub/publish", &init) {
                Ok(req) => stub.fetch_with_request(req).await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = sent {
                worker::console_warn!("publishing to hub {}: {e}", hub.name);
            }
        });
    }
}

/// Hands a WebSocket upgrade request to `hub`.
///
/// # Errors
/// Answers 426 problem+json when the request is not a WebSocket upgrade; Durable Object
/// errors propagate (the router answers 503).
pub async fn connect(req: &Request, env: &Env, hub: &Hub) -> Result<Response> {
    let upgrade = req.headers().get("Upgrade")?.unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        let mut p = Problem::invalid_field("Upgrade", "this endpoint only accepts WebSocket upgrades");
        p.status = 426;
        return http::problem(&p);
    }
    let headers = Headers::new();
    headers.set("Upgrade", "websocket")?;
    let mut init = RequestInit::new();
    init.with_headers(headers);
    stub(env, hub)?.fetch_with_request(Request::new_with_init("https://hub/connect", &init)?).await
}

/// The counters of `hub` (benchmark only).
pub async fn stats(env: &Env, hub: &Hub) -> Result<Response> {
    stub(env, hub)?.fetch_with_str("https://hub/stats").await
}
