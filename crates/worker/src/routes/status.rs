//! `GET /api/v1/status?limit=&cursor=&serviceId=`: the summary counts over every service the
//! caller sees and one page of their current states.

use std::collections::BTreeSet;

use systole_core::api::query::StatusQuery;
use systole_core::api::status;
use systole_core::config::ServiceConfig;
use worker::{Env, Request};

use crate::d1;
use crate::deployment::{self, now, DB_BINDING};
use crate::http::{self, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::routes::query_pairs;

/// Answers `systole_core::api::status::StatusReport` as JSON: the services the caller may
/// see in config order (only those named by `serviceId`, if given; other ids are left out),
/// `limit` of them (default 100, at most 500) after `cursor` (the previous page's
/// `nextCursor`), and the summary over all the caller sees, counted by D1 (`d1::summary`).
/// Status comes from D1 `service_state` (each ServiceMonitor writes it at once on a status
/// change), the last heartbeat from the `heartbeats` table (written within
/// `flushIntervalSeconds`), and the next deadline from both and the config. Only the page's
/// rows are read. Errors: 400 (`limit`, `cursor`, `serviceId`), 401, 503.
pub async fn get(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let caller = call.caller()?;
    let query = StatusQuery::parse(&query_pairs(&req))?;
    let config = deployment::config();
    let scope = caller.scope();
    let visible: Vec<&ServiceConfig> = config.services.iter().filter(|s| scope.sees(config, s)).collect();
    let listed: Vec<&ServiceConfig> = if query.service_ids.is_empty() {
        visible.clone()
    } else {
        let wanted: BTreeSet<&str> = query.service_ids.iter().map(|id| id.as_str()).collect();
        visible.iter().copied().filter(|s| wanted.contains(s.id.as_str())).collect()
    };
    let (shown, next) = status::page(&listed, |s| s.id.as_str(), query.cursor.as_deref(), query.limit as usize)?;
    let ids: Vec<&str> = shown.iter().map(|s| s.id.as_str()).collect();
    let db = env.d1(DB_BINDING)?;
    let (rows, summary) = futures_util::future::try_join(d1::statuses_of(&db, &ids), d1::summary(&db, &visible))
        .await
        .or_unavailable(HISTORY_DB)?;
    let states: Vec<_> = rows.iter().filter_map(d1::StateRow::stored).collect();
    Ok(http::json(200, &status::report_page(shown, &states, summary, next, now()))?)
}
