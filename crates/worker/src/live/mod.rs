//! Live updates: ServiceMonitors publish each heartbeat and status change to the
//! NotificationHubs of everyone who may see the service ([`publish`]), the AlertDesk each
//! announced external alert to the hubs of readers who see everything ([`publish_alerts`]);
//! dashboard tabs reach their hub through `/api/v1/live` and the status page through
//! `/status/live` ([`connect`]).

#[allow(missing_docs)] // The JS glue `#[durable_object]` generates on the NotificationHub.
pub mod hub;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use systole_core::access::{self, Hub};
use systole_core::api::Problem;
use systole_core::budget::Kind;
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
/// alarm do not wait for tabs. The hubs are reached through a relay tree
/// (`systole_core::live::fan_out`): this invocation posts to at most
/// [`live::FANOUT`] hubs, each of which relays to its share. Every hub's answer (its socket
/// count) goes back into `gate`. A lost update is repaired by the tab's resynchronisation on
/// reconnect. Returns the hubs posted to, directly or relayed: each is one Durable Object
/// request.
pub fn publish(env: &Env, service: &ServiceConfig, update: &ServiceUpdate, gate: &Rc<RefCell<PublishGate>>) -> u64 {
    let now = Timestamp::from_millis(update.at);
    let change = update.is_event();
    let mut hubs = access::hubs(deployment::users(), deployment::config(), service);
    hubs.retain(|hub| gate.borrow().admits(&hub.name, now, change));
    if hubs.is_empty() {
        // The common case for a heartbeat nobody is watching: nothing to serialize.
        return 0;
    }
    let (full, public) = (update.to_json(), update.public().to_json());
    let mut posts = 0;
    for hub in &hubs {
        gate.borrow_mut().sent(&hub.name, now);
    }
    for post in live::fan_out(hubs, live::FANOUT) {
        let body = if post.hub.public { public.clone() } else { full.clone() };
        let Ok(stub) = crate::stub::named(env, HUB_BINDING, &post.hub.name) else {
            worker::console_error!("no NotificationHub binding: live updates are off");
            return posts;
        };
        posts += 1 + post.relays.len() as u64;
        // Counted here: the post starts after this invocation's code returns.
        crate::budget::count(Kind::Object);
        let gate = Rc::clone(gate);
        wasm_bindgen_futures::spawn_local(async move {
            match relay(&stub, &post.hub.name, vec![body], &post.relays).await {
                Ok(sockets) => {
                    for (hub, n) in sockets {
                        gate.borrow_mut().answered(&hub, n);
                    }
                }
                Err(e) => worker::console_warn!("publishing to hub {}: {e}", post.hub.name),
            }
        });
    }
    posts
}

/// Sends the announced external alerts to the hubs of readers who see everything
/// (`systole_core::access::hubs_seeing_all`), all of them in one post per hub, through the
/// same relay tree as [`publish`] and without waiting; the hubs pass them on and do not keep
/// them. A tab that misses one finds it by polling `/api/v1/alerts/recent` while its socket
/// is down.
pub fn publish_alerts(env: &Env, alerts: &[AlertUpdate]) {
    let bodies: Vec<String> = alerts.iter().map(AlertUpdate::to_json).collect();
    if bodies.is_empty() {
        return;
    }
    for post in live::fan_out(access::hubs_seeing_all(deployment::users()), live::FANOUT) {
        let Ok(stub) = crate::stub::named(env, HUB_BINDING, &post.hub.name) else {
            worker::console_error!("no NotificationHub binding: live updates are off");
            return;
        };
        crate::budget::count(Kind::Object);
        let bodies = bodies.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = relay(&stub, &post.hub.name, bodies, &post.relays).await {
                worker::console_warn!("publishing alerts to hub {}: {e}", post.hub.name);
            }
        });
    }
}

/// Tells every hub that must hear about service `id` of group `group` (as [`publish`],
/// without a gate; `config` is the catalog, whose groups say who sees it) that the
/// management API added, changed or removed it (`systole_core::live::CatalogUpdate`): their
/// tabs fetch their page again, or drop a removed service's rows, and the hubs forget a
/// removed service's last update. Call it after the change is stored; it waits for the
/// posts (at most [`live::FANOUT`], the rest relayed), because a request's unawaited work
/// may be cancelled once it is answered. A hub that cannot be reached is logged: its tabs
/// catch up on their next resynchronisation.
pub async fn publish_catalog(
    env: &Env,
    config: &systole_core::config::Config,
    id: &str,
    group: Option<&str>,
    action: live::CatalogAction,
    now: Timestamp,
) {
    let body = live::CatalogUpdate::new(id, action, now).to_json();
    let hubs = access::hubs_of_group(deployment::users(), config, group);
    let mut posts = Vec::new();
    for post in live::fan_out(hubs, live::FANOUT) {
        match crate::stub::named(env, HUB_BINDING, &post.hub.name) {
            Ok(stub) => posts.push((stub, post)),
            Err(e) => worker::console_error!("no NotificationHub binding: live updates are off ({e})"),
        }
    }
    let sends = posts.iter().map(|(stub, post)| {
        crate::budget::count(Kind::Object);
        let body = vec![body.clone()];
        async move {
            if let Err(e) = relay(stub, &post.hub.name, body, &post.relays).await {
                worker::console_warn!("publishing a catalog change to hub {}: {e}", post.hub.name);
            }
        }
    });
    futures_util::future::join_all(sends).await;
}

/// What a hub's `POST /relay` carries: the updates (JSON texts, sent as they are) and the
/// hubs it passes them on to.
#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct RelayBody {
    /// `ServiceUpdate` or `AlertUpdate` JSON texts.
    pub updates: Vec<String>,
    /// Names of the hubs to relay to (never the public hub).
    pub relays: Vec<String>,
}

/// `POST /relay` of `updates` to the hub `head` (behind `stub`), which relays them on to
/// `relays`; the socket count of every hub reached, by name (the caller counts the
/// subrequest).
pub(crate) async fn relay(
    stub: &crate::stub::Object,
    head: &str,
    updates: Vec<String>,
    relays: &[Hub],
) -> Result<BTreeMap<String, u64>> {
    let body = RelayBody { updates, relays: relays.iter().map(|h| h.name.clone()).collect() };
    let answer = crate::stub::post(stub, "https://hub/relay", &serde_json::to_string(&body)?).await?;
    let text = crate::stub::text(&answer).await?;
    let answer: RelayAnswer = serde_json::from_str(&text)?;
    let mut sockets = answer.relayed;
    sockets.insert(head.to_owned(), answer.sockets);
    Ok(sockets)
}

/// A hub's answer to `POST /relay`: `{"sockets": n, "relayed": {hub name: sockets}}`, its own
/// open sockets the updates went to and those of every hub it relayed to.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct RelayAnswer {
    /// The hub's own sockets.
    pub sockets: u64,
    /// Socket counts of the hubs it relayed to (and they to), by name.
    pub relayed: BTreeMap<String, u64>,
}

/// The stub of the hub named `name`, for [`relay`].
pub(crate) fn stub_named(env: &Env, name: &str) -> Result<crate::stub::Object> {
    crate::stub::named(env, HUB_BINDING, name)
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
    crate::budget::count(Kind::Object);
    Ok(stub(env, hub)?.fetch_with_request(Request::new_with_init(&url, &init)?).await?)
}

/// The session generation of `user`'s hub (see `systole_core::session`); `end` adds one
/// first (signing out).
///
/// # Errors
/// When the Durable Object fails or answers something else than `{"generation": n}`.
pub async fn session_generation(env: &Env, user: &str, end: bool) -> Result<u64> {
    let stub = stub(env, &Hub::user(user))?;
    crate::budget::count(Kind::Object);
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
    crate::budget::count(Kind::Object);
    stub(env, hub)?.fetch_with_str("https://hub/stats").await
}

/// Publishes a probe update (service id `probe`) to `n` hubs named `user:probe-{i}` through
/// the relay tree and waits for it to reach them all; the number of hubs that answered
/// (benchmark only: the `bench` feature's `/api/internal/relay`).
#[cfg(feature = "bench")]
pub async fn probe(env: &Env, n: usize) -> Result<usize> {
    let hubs: Vec<Hub> = (0..n).map(|i| Hub::user(&format!("probe-{i}"))).collect();
    let update = serde_json::json!({"type": "service", "id": "probe", "at": 0}).to_string();
    let mut reached = 0;
    for post in live::fan_out(hubs, live::FANOUT) {
        let stub = stub_named(env, &post.hub.name)?;
        crate::budget::count(Kind::Object);
        reached += relay(&stub, &post.hub.name, vec![update.clone()], &post.relays).await?.len();
    }
    Ok(reached)
}
