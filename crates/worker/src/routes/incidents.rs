//! `GET /api/v1/incidents?serviceId=&kind=&limit=`: recent incidents, newest first.

use serde_json::json;
use systole_core::api::query::IncidentsQuery;
use systole_core::api::Problem;
use worker::{Env, Request};

use super::query_pairs;
use crate::deployment::DB_BINDING;
use crate::http::{self, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::{access, d1};

/// JSON: `{"incidents": [{"id" (`{serviceId}.{startedAt ms}`, for
/// `POST /api/v1/incidents/{id}/acknowledge`), "serviceId", "startedAt", "endedAt" | null,
/// "open", "durationSeconds" (so far, while open), "cause", "kind" (the cause's kind, e.g.
/// `missed`; `null` for incidents recorded before kinds were kept), "suppressed" (why its alert was held, e.g.
/// ``suppressed: parent `db` down since …``, see `systole_core::dependency`; `null` when not),
/// "acknowledgedAt" | null, "acknowledgedBy" | null}]}`, only of services the caller may
/// see, of the cause `kind` when given.
/// Errors: 400 bad parameters, 401, 404 a service not configured or not visible, 503 D1
/// failure.
pub async fn get(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let caller = call.caller()?;
    let q = IncidentsQuery::parse(&query_pairs(&req))?;
    let service = q.service_id.as_ref().map(|s| s.as_str());
    let config = crate::catalog::config(env).await?;
    let config = &*config;
    if let Some(hidden) = service.filter(|s| !access::sees(caller, config, s)) {
        return Err(Problem::unknown_service(hidden).into());
    }
    let kind = q.kind.map(|k| k.as_str());
    let rows = d1::incidents(&env.d1(DB_BINDING)?, service, kind, q.limit).await.or_unavailable(HISTORY_DB)?;
    let incidents: Vec<_> =
        rows.iter().filter(|r| access::sees(caller, config, &r.service_id)).map(super::acknowledge::listed).collect();
    Ok(http::json(200, &json!({ "incidents": incidents }))?)
}
