//! `GET /api/incidents?serviceId=&limit=`: recent incidents, newest first.

use serde_json::json;
use systole_core::api::query::IncidentsQuery;
use systole_core::api::Problem;
use systole_core::time::Timestamp;
use worker::{Env, Request, Response, Result};

use super::query_pairs;
use crate::deployment::{now, DB_BINDING};
use crate::{access, d1, http};

/// JSON: `{"incidents": [{"serviceId", "startedAt", "endedAt" | null, "open",
/// "durationSeconds" (so far, while open), "cause"}]}`, only of services the caller may see.
/// Errors: 400 bad parameters, 401, 404 a service not configured or not visible, 503 D1
/// failure.
pub async fn get(req: &Request, env: &Env) -> Result<Response> {
    let caller = match access::caller(req, env) {
        Ok(c) => c,
        Err(p) => return http::problem(&p),
    };
    let q = match IncidentsQuery::parse(&query_pairs(req)) {
        Ok(q) => q,
        Err(p) => return http::problem(&p),
    };
    let service = q.service_id.as_ref().map(|s| s.as_str());
    if service.is_some_and(|s| !access::sees(caller, s)) {
        return http::problem(&Problem::unknown_service(service.unwrap_or_default()));
    }
    let rows = match d1::incidents(&env.d1(DB_BINDING)?, service, q.limit).await {
        Ok(rows) => rows,
        Err(e) => return http::unavailable("the history database", &e),
    };
    let now = now();
    let incidents: Vec<_> = rows
        .iter()
        .filter(|r| access::sees(caller, &r.service_id))
        .map(|r| {
            let end = r.ended_at.map(Timestamp);
            json!({
                "serviceId": r.service_id,
                "startedAt": Timestamp(r.started_at).to_rfc3339(),
                "endedAt": end.map(Timestamp::to_rfc3339),
                "open": end.is_none(),
                "durationSeconds": end.unwrap_or(now).since(Timestamp(r.started_at)).as_secs_f64(),
                "cause": r.cause,
            })
        })
        .collect();
    http::json(200, &json!({ "incidents": incidents }))
}
