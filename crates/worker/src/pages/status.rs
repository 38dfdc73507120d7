//! `GET /status`: the public status page (when `settings.json` has `statusPage.enabled`).

use systole_core::access::Scope;
use systole_web::pages::{self, Chrome};
use systole_web::view::{self, Viewer};
use worker::{Env, Response, Result};

use super::{fleet_data, html};
use crate::deployment::{self, now, DB_BINDING};
use crate::http;

/// Renders the public groups without messages; 404 problem when the page is disabled, 503
/// when D1 fails.
pub async fn get(env: &Env) -> Result<Response> {
    let config = deployment::config();
    if !config.settings.status_page {
        return http::problem(&systole_core::api::Problem::not_found(
            "the public status page is disabled (settings.json statusPage.enabled)",
        ));
    }
    let (states, uptime) = match fleet_data(&env.d1(DB_BINDING)?, Scope::Public, None).await {
        Ok(d) => d,
        Err(e) => return http::unavailable("the history database", &e),
    };
    let fleet = view::fleet(config, Scope::Public, &states, &uptime);
    let chrome =
        Chrome { branding: deployment::branding(), viewer: &Viewer::Public, now: now(), live: Some("/status/live") };
    html(200, pages::status(&chrome, &fleet))
}
