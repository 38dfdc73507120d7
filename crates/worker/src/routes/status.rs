//! `GET /api/v1/status`: summary counts and every configured service's current state.

use systole_core::api::status;
use worker::{Env, Request};

use crate::deployment::{self, now, DB_BINDING};
use crate::http::{self, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::{access, d1};

/// Answers `systole_core::api::status::StatusReport` as JSON. Status comes from D1 `service_state` (each ServiceMonitor writes it
/// at once on a status change), the last heartbeat from the `heartbeats` table (written within
/// `flushIntervalSeconds`), and the next deadline from both and the config.
/// Only the services the caller may see are listed and counted. Errors: 401, 503.
pub async fn get(_req: Request, env: &Env, call: Call<'_>) -> Reply {
    let caller = call.caller()?;
    let rows = d1::statuses(&env.d1(DB_BINDING)?).await.or_unavailable(HISTORY_DB)?;
    let states: Vec<_> = rows.iter().filter_map(d1::StateRow::stored).collect();
    let mut report = status::report(deployment::config(), &states, now());
    report.retain(|s| access::sees(caller, &s.id));
    Ok(http::json(200, &report)?)
}
