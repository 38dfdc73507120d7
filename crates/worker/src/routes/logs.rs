//! `GET /api/v1/logs?serviceId=&limit=&before=`: a service's recent heartbeats, paginated.

use serde_json::{json, Value};
use systole_core::api::query::{self, LogsQuery};
use systole_core::api::Problem;
use systole_core::time::Timestamp;
use worker::{Env, Request};

use super::query_pairs;
use crate::deployment::DB_BINDING;
use crate::http::{self, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::{access, d1};

/// JSON: `{"serviceId", "heartbeats": [{"seq", "receivedAt", "status", "message",
/// "metadata", "metrics"}], "nextBefore": ms | null}`, newest first. Heartbeats appear once
/// their ServiceMonitor has flushed (within `flushIntervalSeconds`). Errors: 400 for bad
/// parameters, 401 without credentials, 404 for a service that is not configured or not
/// visible to the caller, 503 when D1 fails.
pub async fn get(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let caller = call.caller()?;
    let q = LogsQuery::parse(&query_pairs(&req))?;
    let config = crate::catalog::config(env).await?;
    if !access::sees(caller, &config, q.service_id.as_str()) {
        return Err(Problem::unknown_service(q.service_id.as_str()).into());
    }
    let db = env.d1(DB_BINDING)?;
    let rows = d1::heartbeats(&db, q.service_id.as_str(), q.before, q.limit + 1).await.or_unavailable(HISTORY_DB)?;
    let times: Vec<i64> = rows.iter().map(|r| r.received_at).collect();
    let (keep, next) = query::page(&times, q.limit as usize);
    let parse = |t: &Option<String>| t.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok());
    let heartbeats: Vec<Value> = rows[..keep]
        .iter()
        .map(|r| {
            json!({
                "seq": r.seq,
                "receivedAt": Timestamp::from_millis(r.received_at).to_rfc3339(),
                "status": r.status,
                "message": r.message,
                "metadata": parse(&r.metadata),
                "metrics": parse(&r.metrics),
            })
        })
        .collect();
    Ok(http::json(200, &json!({ "serviceId": q.service_id, "heartbeats": heartbeats, "nextBefore": next }))?)
}
