//! `GET /api/v1/uptime?serviceId=&limit=&cursor=&from=&to=&format=`: daily uptime per service,
//! one page of services at a time, JSON or CSV.

use serde_json::json;
use systole_core::api::query::UptimeQuery;
use systole_core::api::{status, Problem};
use systole_core::time::Timestamp;
use systole_core::uptime;
use worker::{Env, Request};

use super::query_pairs;
use crate::deployment::{now, DB_BINDING};
use crate::http::{self, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::{access, d1};

/// `serviceId` may repeat (or list ids comma-separated); without it, every service the
/// caller may see. Paged as `/api/v1/status` (`limit`, default 100, at most 500, services
/// after `cursor`, config order; `api::status::page`), so only one page's rows are read.
/// JSON: `{"from", "to", "services": [{"id", "name", "uptimePercent", "days": [DayUptime]}],
/// "nextCursor": string | null}` (see `systole_core::uptime::DayUptime`); `format=csv`
/// answers `text/csv` with one row per service and day, and the next page's cursor in the
/// `Next-Cursor` header (absent on the last page). The time since a service's last write
/// counts under its last known status, so an outage in progress shows at once. Errors: 400
/// bad parameters (`limit`, `cursor`, `serviceId`, `from`, `to`, `format`), 401, 404 a
/// service not configured or not visible, 503 D1 failure.
pub async fn get(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let caller = call.caller()?;
    let now = now();
    let config = crate::catalog::config(env).await?;
    let config = &*config;
    let q = UptimeQuery::parse(&query_pairs(&req), now, &config.settings)?;
    let list = &q.list;
    if let Some(hidden) = list.service_ids.iter().find(|s| !access::sees(caller, config, s.as_str())) {
        return Err(Problem::unknown_service(hidden.as_str()).into());
    }
    let listed = status::listed(config, caller.scope(), &list.service_ids);
    let (shown, next) = status::page(&listed, |s| s.id.as_str(), list.cursor.as_deref(), list.limit as usize)?;
    let ids: Vec<&str> = shown.iter().map(|s| s.id.as_str()).collect();
    let db = env.d1(DB_BINDING)?;
    let (rows, states) =
        futures_util::future::try_join(d1::daily(&db, Some(&ids), q.from, q.to), d1::states_of(&db, &ids))
            .await
            .or_unavailable(HISTORY_DB)?;
    let states: Vec<_> = states.iter().filter_map(d1::StateRow::stored).collect();
    let services = uptime::report(config, Some(&ids), &rows, &states, q.from, q.to, now);
    if q.csv {
        let mut resp = http::with_type(200, uptime::to_csv(&services), "text/csv; charset=utf-8")?;
        let name = format!("attachment; filename=\"uptime-{}-{}.csv\"", date(q.from), date(q.to));
        resp.headers_mut().set("Content-Disposition", &name)?;
        if let Some(next) = &next {
            resp.headers_mut().set("Next-Cursor", next)?;
        }
        return Ok(resp);
    }
    let answer = json!({ "from": date(q.from), "to": date(q.to), "services": services, "nextCursor": next });
    Ok(http::json(200, &answer)?)
}

fn date(t: Timestamp) -> String {
    t.date_string().unwrap_or_default()
}
