//! `GET /status`: the public status page (when `settings.json` has `statusPage.enabled`).

use systole_core::access::Scope;
use systole_web::pages;
use systole_web::view::{self, Viewer};
use worker::{Env, Request};

use super::{chrome, fleet_data, html};
use crate::deployment::{self, now, DB_BINDING};
use crate::http::{OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;

/// Renders the public groups without messages. Errors: 404 problem when the page is
/// disabled, 503 when D1 fails.
pub async fn get(_req: Request, env: &Env, _call: Call<'_>) -> Reply {
    let config = deployment::config();
    if !config.settings.status_page {
        return Err(systole_core::api::Problem::not_found(
            "the public status page is disabled (settings.json statusPage.enabled)",
        )
        .into());
    }
    let (states, uptime) = fleet_data(&env.d1(DB_BINDING)?, Scope::Public, None).await.or_unavailable(HISTORY_DB)?;
    let fleet = view::fleet(config, Scope::Public, &states, &uptime);
    html(200, pages::status(&chrome(&Viewer::Public, now(), Some("/status/live")), &fleet))
}
