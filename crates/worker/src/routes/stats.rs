//! `GET /api/internal/stats?serviceId=` (a ServiceMonitor's write counters) and
//! `GET /api/internal/echo?serviceId=` (a bare round trip through it) and
//! `GET /api/internal/echo-persist?serviceId=` (the round trip plus a rewrite of its stored
//! record), for `cargo xtask bench`.
//! `GET /api/internal/hub?name=` (a NotificationHub's counters).
//! Routed only when the `SYSTOLE_BENCH` var is `1`; otherwise these paths are 404.

use systole_core::api::Problem;
use worker::{Env, Request, Response, Result};

use super::query_pairs;
use crate::deployment::{self, MONITOR_BINDING};
use crate::http;

/// Proxies the object's `GET /stats` (see `monitor::Stats`), or with `op = "echo"` its
/// `GET /echo`: a round trip through the object doing no work, the benchmark's baseline.
pub async fn get(req: &Request, env: &Env, op: &str) -> Result<Response> {
    let pairs = query_pairs(req);
    let id = pairs.iter().find(|(k, _)| k == "serviceId").map_or("", |(_, v)| v.as_str());
    if deployment::config().service(id).is_none() {
        return http::problem(&Problem::unknown_service(id));
    }
    let stub = env.durable_object(MONITOR_BINDING)?.id_from_name(id)?.get_stub()?;
    stub.fetch_with_str(&format!("https://service-monitor/{op}")).await
}

/// `GET /api/internal/hub?name=`: a NotificationHub's counters (`{"sockets", "wakes"}`,
/// see `live::hub`); `name` is `open`, `public` or `user:{id}`.
pub async fn hub(req: &Request, env: &Env) -> Result<Response> {
    let pairs = query_pairs(req);
    let name = pairs.iter().find(|(k, _)| k == "name").map_or("open", |(_, v)| v.as_str());
    let hub = systole_core::access::Hub { name: name.to_owned(), public: name == "public" };
    crate::live::stats(env, &hub).await
}
