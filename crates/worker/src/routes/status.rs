//! `GET /api/v1/status?limit=&cursor=&serviceId=`: the summary counts over every service the
//! caller sees and one page of their current states.

use std::borrow::Cow;
use std::sync::OnceLock;

use systole_core::access::Scope;
use systole_core::api::query::ListQuery;
use systole_core::api::status;
use systole_core::config::Config;
use worker::{Env, Request};

use crate::d1;
use crate::deployment::{now, DB_BINDING};
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
    let query = ListQuery::parse(&query_pairs(&req))?;
    let config = crate::catalog::config(env).await?;
    let config = &*config;
    let scope = caller.scope();
    let listed = status::listed(config, scope, &query.service_ids);
    let (shown, next) = status::page(&listed, |s| s.id.as_str(), query.cursor.as_deref(), query.limit as usize)?;
    let ids: Vec<&str> = shown.iter().map(|s| s.id.as_str()).collect();
    let db = env.d1(DB_BINDING)?;
    let counted = counted(config, scope)?;
    let (rows, summary) = futures_util::future::try_join(d1::statuses_of(&db, &ids), d1::summary(&db, &counted))
        .await
        .or_unavailable(HISTORY_DB)?;
    let states: Vec<_> = rows.iter().filter_map(d1::StateRow::stored).collect();
    Ok(http::json(200, &status::report_page(shown, &states, summary, next, now()))?)
}

/// The services of `config` (the catalog) that `scope` sees, ready for `d1::summary`: with
/// only declared services, the whole fleet's and the public status page's are built once per
/// isolate (the config is embedded); a user's groups', and any with managed services, per
/// request.
///
/// # Errors
/// None in practice (serializing ids).
pub fn counted(config: &Config, scope: Scope<'_>) -> worker::Result<Cow<'static, d1::Counted>> {
    static ALL: OnceLock<d1::Counted> = OnceLock::new();
    static PUBLIC: OnceLock<d1::Counted> = OnceLock::new();
    let of = || d1::Counted::of(config.services.iter().filter(|s| scope.sees(config, s)));
    if config.has_managed() {
        return Ok(Cow::Owned(of()?));
    }
    let cell = match scope {
        Scope::All => &ALL,
        Scope::Public => &PUBLIC,
        Scope::Groups(_) => return Ok(Cow::Owned(of()?)),
    };
    if let Some(c) = cell.get() {
        return Ok(Cow::Borrowed(c));
    }
    let c = of()?;
    Ok(Cow::Borrowed(cell.get_or_init(|| c)))
}
