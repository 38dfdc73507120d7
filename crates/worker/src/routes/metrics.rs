//! `GET /metrics`: the Prometheus text exposition (`systole_core::api::prometheus`), for a
//! scraper presenting the `METRICS_API_KEY` secret.

use systole_core::api::prometheus::{self, Access, CONTENT_TYPE, SECRET};
use worker::{Env, Request};

use crate::d1;
use crate::deployment::{now, DB_BINDING};
use crate::http::{self, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::routes::query_pairs;

/// Checks the key (`Authorization: Bearer <key>`, else `?key=<key>`; constant time), reads
/// the fleet in one D1 batch ([`d1::metrics`]) and answers 200 in text format 0.0.4, never
/// cached. Errors: 401 missing or wrong key, 403 `METRICS_API_KEY` not set or shorter than
/// 16 characters (problem+json naming it), 503 D1.
pub async fn get(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    let secret = env.secret(SECRET).map(|s| s.to_string()).ok();
    let presented = req
        .headers()
        .get("Authorization")?
        .and_then(|v| crate::access::bearer(&v))
        .or_else(|| query_pairs(&req).into_iter().find(|(k, _)| k == "key").map(|(_, v)| v));
    let access = prometheus::access(secret.as_deref(), presented.as_deref());
    if let Some(problem) = access.problem() {
        return Err(problem.into());
    }
    debug_assert_eq!(access, Access::Granted);
    let at = now();
    let db = env.d1(DB_BINDING)?;
    let (rows, notifications) = d1::metrics(&db, at.day_start()).await.or_unavailable(HISTORY_DB)?;
    let config = crate::catalog::config(env).await?;
    let text = prometheus::render(&config, &rows, &notifications, at);
    Ok(http::with_type(200, text, CONTENT_TYPE)?)
}
