//! `GET /`: the dashboard, with the alert history panel (`?activity=1h|24h|7d|30d`).

use systole_core::access::Scope;
use systole_core::api::query::PageQuery;
use systole_core::config::Config;
use systole_core::time::Timestamp;
use systole_web::pages;
use systole_web::view::{self, ActivityItem, AttemptRecord, Window};
use worker::{Env, Request};

use super::{chrome, fleet_page, html, viewer};
use crate::access::{self, Caller};
use crate::d1;
use crate::deployment::{now, DB_BINDING};
use crate::http::{OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::routes::query_pairs;

/// Renders the dashboard for the caller (the router answers the sign-in page, 401, without
/// a session): page `page` (from 1) of `limit` services (default 100, at most 500; see
/// `fleet_page`). Errors: 400 problem for a bad `page` or `limit`, 503 when D1 fails.
pub async fn get(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let caller = call.caller()?;
    let pairs = query_pairs(&req);
    let window = Window::parse(pairs.iter().find(|(k, _)| k == "activity").map(|(_, v)| v.as_str()));
    let now = now();
    let since = now - window.span();
    let page = PageQuery::parse(&pairs)?;
    let db = env.d1(DB_BINDING)?;
    let config = crate::catalog::config(env).await?;
    let config = &*config;
    let (fleet, changes, alerts) = futures_util::future::try_join3(
        fleet_page(&db, config, caller.scope(), &page),
        d1::status_changes(&db, None, since, 500),
        d1::alerts::attempts(&db, since, None, None, 200),
    )
    .await
    .or_unavailable(HISTORY_DB)?;
    let activity = activity(caller, config, since, &changes, &alerts);
    let viewer = viewer(caller);
    let chrome = chrome(&viewer, now, Some("/api/v1/live"));
    let others = PageQuery::others(&pairs);
    html(200, pages::dashboard(&chrome, &fleet, &activity, window, config.settings.uptime_window_start(now), &others))
}

/// Status changes and delivery results since `since` that the caller may see, newest first
/// (see `systole_web::view::activity`).
fn activity(
    caller: Caller,
    config: &Config,
    since: Timestamp,
    changes: &[d1::ChangeRow],
    alerts: &[d1::rows::AlertHistoryRow],
) -> Vec<ActivityItem> {
    let changes = super::changes(changes);
    let attempts: Vec<AttemptRecord<'_>> = alerts
        .iter()
        .map(|a| AttemptRecord {
            at: Timestamp::from_millis(a.attempted_at),
            service_id: config.service(&a.subject).map(|s| s.id.as_str()),
            subject: &a.subject,
            channel: &a.channel,
            event: &a.event,
            outcome: &a.outcome,
            attempt: a.attempt,
            http_status: a.http_status,
            error: a.error.as_deref(),
        })
        .collect();
    let everything = caller.scope() == Scope::All;
    let sees = |service: Option<&str>| service.map_or(everything, |id| access::sees(caller, config, id));
    view::activity(&changes, &attempts, since, sees, 200)
}
