//! `GET /api/internal/stats?serviceId=` (a ServiceMonitor's write counters) and
//! `GET /api/internal/echo?serviceId=` (a bare round trip through it) and
//! `GET /api/internal/echo-persist?serviceId=` (the round trip plus a rewrite of its stored
//! record), for `cargo xtask bench`.
//! `GET /api/internal/hub?name=` (a NotificationHub's counters).
//! `GET /api/internal/budgets[?clear]` (subrequests per invocation, `crate::budget`).
//! `GET /api/internal/relay?hubs=n` (a probe update published to `n` hubs through the
//! relay tree).
//! `GET /api/internal/trap` (a WebAssembly trap, for the end-to-end suite).
//! Compiled only with the worker's `bench` feature (`cargo xtask bench` and the end-to-end
//! builds, `cargo xtask build-worker --bench`); a default build, as deployed, has no such
//! paths (404).

use systole_core::api::Problem;
use worker::{Env, Request};

use super::query_pairs;
use crate::deployment::{self, MONITOR_BINDING};
use crate::http::Reply;
use crate::router::Call;

/// `GET /api/internal/stats`: proxies the object's `GET /stats` (see `monitor::Stats`).
/// Errors: 404 unknown `serviceId`, 503 Durable Object failure.
pub async fn stats(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    proxy(&req, env, "stats").await
}

/// `GET /api/internal/echo`: proxies the object's `GET /echo`, a round trip doing no work
/// (the benchmark's baseline). Errors as [`stats`].
pub async fn echo(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    proxy(&req, env, "echo").await
}

/// `GET /api/internal/echo-persist`: proxies the object's `GET /echo-persist`, the round
/// trip plus a rewrite of its stored record. Errors as [`stats`].
pub async fn echo_persist(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    proxy(&req, env, "echo-persist").await
}

/// `GET /api/internal/trap`: executes WebAssembly's `unreachable`, the trap a panic becomes
/// in this build, and never answers (the runtime answers 500). The end-to-end suite checks
/// that the bundle's entrypoint (`xtask/src/tools.rs` `plain_glue`) then resets the
/// instance, so the next requests are answered.
pub async fn trap(_req: Request, _env: &Env, _call: Call<'_>) -> Reply {
    core::arch::wasm32::unreachable()
}

/// Proxies `GET https://service-monitor/{op}` of the `serviceId` parameter's object.
async fn proxy(req: &Request, env: &Env, op: &str) -> Reply {
    let pairs = query_pairs(req);
    let id = pairs.iter().find(|(k, _)| k == "serviceId").map_or("", |(_, v)| v.as_str());
    if deployment::config().service(id).is_none() {
        return Err(Problem::unknown_service(id).into());
    }
    let stub = env.durable_object(MONITOR_BINDING)?.id_from_name(id)?.get_stub()?;
    crate::budget::count(systole_core::budget::Kind::Object);
    Ok(stub.fetch_with_str(&format!("https://service-monitor/{op}")).await?)
}

/// `GET /api/internal/hub?name=`: a NotificationHub's counters (`{"sockets", "wakes"}`,
/// see `live::hub`); `name` is `open`, `public` or `user:{id}`. Errors: 503 Durable Object
/// failure.
pub async fn hub(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    let pairs = query_pairs(&req);
    let name = pairs.iter().find(|(k, _)| k == "name").map_or("open", |(_, v)| v.as_str());
    let hub = systole_core::access::Hub { name: name.to_owned(), public: name == "public" };
    Ok(crate::live::stats(env, &hub).await?)
}

/// `GET /api/internal/budgets`: the largest invocation per route, cron tick and Durable
/// Object event seen by this isolate (`systole_core::budget::Peaks::to_json`: `{"limit": 50,
/// "invocations": {label: {"invocations", "max": {"fetches", "objects", "d1"}, "total"}}}`);
/// with `?clear`, forgets them after answering.
pub async fn budgets(req: Request, _env: &Env, _call: Call<'_>) -> Reply {
    let clear = query_pairs(&req).iter().any(|(k, _)| k == "clear");
    Ok(crate::http::json(200, &crate::budget::peaks(clear))?)
}

/// `GET /api/internal/relay?hubs=n`: publishes a probe update to `n` (at most 100) hubs
/// `user:probe-{i}` through the relay tree (`live::probe`) and answers `{"reached": n}`, the
/// hubs that answered. Errors: 400 for a bad `hubs`, 503 Durable Object failure.
pub async fn relay(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    let pairs = query_pairs(&req);
    let hubs = pairs.iter().find(|(k, _)| k == "hubs").and_then(|(_, v)| v.parse::<usize>().ok());
    let Some(n) = hubs.filter(|n| *n <= 100) else {
        return Err(Problem::invalid_field("hubs", "must be 0 to 100").into());
    };
    let reached = crate::live::probe(env, n).await?;
    Ok(crate::http::json(200, &serde_json::json!({ "reached": reached }))?)
}
