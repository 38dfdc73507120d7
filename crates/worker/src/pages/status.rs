//! `GET /status`: the public status page (when `settings.json` has `statusPage.enabled`).

use systole_core::access::Scope;
use systole_web::pages;
use systole_web::view::Viewer;
use worker::{Env, Request};

use super::{chrome, fleet_page, html};
use crate::deployment::{self, now, DB_BINDING};
use crate::http::{OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::routes::query_pairs;
use systole_core::api::query::PageQuery;

/// Renders the public groups without messages, paged as the dashboard (`page`, `limit`),
/// with their active and upcoming maintenance windows.
/// Errors: 400 problem for a bad `page` or `limit`, 404 when the page is disabled, 503 when
/// D1 fails.
pub async fn get(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    let config = deployment::config();
    if !config.settings.status_page {
        return Err(systole_core::api::Problem::not_found(
            "the public status page is disabled (settings.json statusPage.enabled)",
        )
        .into());
    }
    let pairs = query_pairs(&req);
    let page = PageQuery::parse(&pairs)?;
    let catalog = crate::catalog::config(env).await?;
    let db = env.d1(DB_BINDING)?;
    let fleet = fleet_page(&db, &catalog, Scope::Public, &page).await.or_unavailable(HISTORY_DB)?;
    let windows = crate::routes::maintenance::public(&db, &catalog, now()).await.or_unavailable(HISTORY_DB)?;
    let chrome = chrome(&Viewer::Public, now(), Some("/status/live"));
    html(200, pages::status_with_maintenance(&chrome, &fleet, &PageQuery::others(&pairs), &windows))
}
