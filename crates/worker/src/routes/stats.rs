//! `GET /api/internal/stats?serviceId=`: a ServiceMonitor's write counters, for
//! `cargo xtask bench`. Exists only when the `SYSTOLE_BENCH` var is `1`; 404 otherwise.

use systole_core::api::query::IncidentsQuery;
use systole_core::api::Problem;
use worker::{Env, Request, Response, Result};

use super::query_pairs;
use crate::deployment::{self, MONITOR_BINDING};
use crate::http;

/// Proxies the object's `GET /stats` (see `monitor::Stats`).
pub async fn get(req: &Request, env: &Env) -> Result<Response> {
    if !deployment::bench_enabled(env) {
        return http::problem(&Problem::not_found("no route for /api/internal/stats"));
    }
    let Ok(IncidentsQuery { service_id: Some(id), .. }) = IncidentsQuery::parse(&query_pairs(req)) else {
        return http::problem(&Problem::invalid_field("serviceId", "serviceId is required"));
    };
    let stub = env.durable_object(MONITOR_BINDING)?.id_from_name(id.as_str())?.get_stub()?;
    stub.fetch_with_str("https://service-monitor/stats").await
}
