//! `GET /api/v1/uptime?serviceId=&from=&to=&format=`: daily uptime per service, JSON or CSV.

use serde_json::json;
use systole_core::api::query::UptimeQuery;
use systole_core::api::Problem;
use systole_core::time::Timestamp;
use systole_core::uptime;
use worker::{Env, Request};

use super::query_pairs;
use crate::deployment::{self, now, DB_BINDING};
use crate::http::{self, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::{access, d1};

/// `serviceId` may repeat (or list ids comma-separated); without it, every service the
/// caller may see. JSON: `{"from", "to", "services": [{"id", "name", "uptimePercent", "days": [DayUptime]}]}`
/// (see `systole_core::uptime::DayUptime`); `format=csv` answers `text/csv` with one row per
/// service and day. The time since a service's last write counts under its last known
/// status, so an outage in progress shows at once. Errors: 400 bad parameters, 401, 404 a
/// service not configured or not visible, 503 D1 failure.
pub async fn get(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let caller = call.caller()?;
    let now = now();
    let config = deployment::config();
    let q = UptimeQuery::parse(&query_pairs(&req), now, &config.settings)?;
    if let Some(hidden) = q.service_ids.iter().find(|s| !access::sees(caller, s.as_str())) {
        return Err(Problem::unknown_service(hidden.as_str()).into());
    }
    // The services asked for (each checked above), or else the ones the caller sees.
    let ids = if q.service_ids.is_empty() {
        caller.scope().service_ids(config)
    } else {
        Some(q.service_ids.iter().map(|s| s.as_str()).collect())
    };
    let db = env.d1(DB_BINDING)?;
    let rows = d1::daily(&db, ids.as_deref(), q.from, q.to).await.or_unavailable(HISTORY_DB)?;
    let states = match ids.as_deref() {
        Some(ids) => d1::states_of(&db, ids).await,
        None => d1::states(&db).await,
    };
    let states = states.or_unavailable(HISTORY_DB)?;
    let states: Vec<_> = states.iter().filter_map(d1::StateRow::stored).collect();
    let services = uptime::report(config, ids.as_deref(), &rows, &states, q.from, q.to, now);
    if q.csv {
        let mut resp = http::with_type(200, uptime::to_csv(&services), "text/csv; charset=utf-8")?;
        let name = format!("attachment; filename=\"uptime-{}-{}.csv\"", date(q.from), date(q.to));
        resp.headers_mut().set("Content-Disposition", &name)?;
        return Ok(resp);
    }
    Ok(http::json(200, &json!({ "from": date(q.from), "to": date(q.to), "services": services }))?)
}

fn date(t: Timestamp) -> String {
    t.date_string().unwrap_or_default()
}
