//! `GET /api/v1/services/{id}/runs?limit=&cursor=` and `GET /api/v1/services/{id}/runs/{n}/log`:
//! a job's runs (see `systole_core::run`) and a run's output.

use serde_json::json;
use systole_core::api::query::RunsQuery;
use systole_core::api::Problem;
use systole_core::time::Timestamp;
use worker::{Env, Request};

use super::query_pairs;
use crate::deployment::DB_BINDING;
use crate::http::{self, ApiError, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::{access, d1};

/// The service of the path, if configured (in the catalog) and visible to the caller.
///
/// # Errors
/// 401 without a caller, 404 for a service not configured or not visible.
pub(super) async fn service<'a>(env: &Env, call: &Call<'a>) -> Result<&'a str, ApiError> {
    let caller = call.caller()?;
    let id = call.params.get("id").unwrap_or_default();
    let config = crate::catalog::config(env).await?;
    if !access::sees(caller, &config, id) {
        return Err(Problem::unknown_service(id).into());
    }
    Ok(id)
}

/// JSON: `{"serviceId", "runs": [{"n", "runId", "startedAt", "endedAt", "durationMs",
/// "outcome", "exitStatus", "reason", "hasOutput"}], "nextCursor": string | null}`, newest
/// first (by `n`), `limit` (default 50, at most 500) after `cursor` (the previous page's
/// `nextCursor`); times RFC 3339 UTC or `null`. A run appears once its ServiceMonitor has
/// flushed it (at once after it ends). Errors: 400 (`limit`, `cursor`), 401, 404 a service
/// not configured or not visible, 503 D1.
pub async fn list(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let id = service(env, &call).await?;
    let q = RunsQuery::parse(&query_pairs(&req))?;
    let db = env.d1(DB_BINDING)?;
    let rows = d1::read::runs(&db, id, q.cursor, q.limit + 1).await.or_unavailable(HISTORY_DB)?;
    let more = rows.len() > q.limit as usize;
    let shown = &rows[..rows.len().min(q.limit as usize)];
    let time = |t: Option<i64>| t.map(|t| Timestamp::from_millis(t).to_rfc3339());
    let runs: Vec<_> = shown
        .iter()
        .map(|r| {
            json!({
                "n": r.n,
                "runId": r.run_id,
                "startedAt": time(r.started_at),
                "endedAt": time(r.ended_at),
                "durationMs": r.duration_ms,
                "outcome": r.outcome,
                "exitStatus": r.exit_status,
                "reason": r.reason,
                "hasOutput": r.has_output != 0,
            })
        })
        .collect();
    let next = if more { shown.last().map(|r| r.n.to_string()) } else { None };
    Ok(http::json(200, &json!({ "serviceId": id, "runs": runs, "nextCursor": next }))?)
}

/// The run's output as `text/plain; charset=utf-8` (the first 10,000 bytes its end sent).
/// Errors: 400 `n` not a run number, 401, 404 a service not configured or not visible, or no
/// such run or no output (problem+json), 503 D1.
pub async fn log(_req: Request, env: &Env, call: Call<'_>) -> Reply {
    let id = service(env, &call).await?;
    let text = call.params.get("n").unwrap_or_default();
    let n = text
        .parse::<u64>()
        .map_err(|_| Problem::invalid_field("n", format!("n must be a run number, got {text:?}")))?;
    let db = env.d1(DB_BINDING)?;
    match d1::read::run_output(&db, id, n).await.or_unavailable(HISTORY_DB)? {
        Some(output) => Ok(http::with_type(200, output, "text/plain; charset=utf-8")?),
        None => Err(Problem::not_found(format!("run {n} of service {id:?} has no output")).into()),
    }
}
