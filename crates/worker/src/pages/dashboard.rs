//! `GET /`: the dashboard, with the alert history panel (`?activity=1h|24h|7d|30d`).

use systole_core::access::Scope;
use systole_core::time::Timestamp;
use systole_web::pages::{self, Chrome};
use systole_web::view::{self, ActivityItem, AttemptRecord, Window};
use worker::{Env, Request, Response, Result};

use super::{fleet_data, html, viewer};
use crate::access::{self, Caller};
use crate::deployment::{self, now, DB_BINDING};
use crate::notify::history;
use crate::routes::query_pairs;
use crate::{d1, http};

/// Renders the dashboard for the caller: 401 sign-in page without a session, 503 problem
/// when D1 fails.
pub async fn get(req: &Request, env: &Env) -> Result<Response> {
    let Ok(caller) = access::caller(req, env) else {
        return super::sign_in(401, None);
    };
    let pairs = query_pairs(req);
    let window = Window::parse(pairs.iter().find(|(k, _)| k == "activity").map(|(_, v)| v.as_str()));
    let now = now();
    let since = Timestamp(now.0 - window.ms());
    let db = env.d1(DB_BINDING)?;
    let (data, changes, alerts) = futures_util::future::try_join3(
        fleet_data(&db, caller.scope(), None),
        d1::status_changes(&db, None, since, 500),
        history::read(&db, since, None, None, 200),
    )
    .await
    .map_or_else(|e| (Err(e), Vec::new(), Vec::new()), |(d, i, a)| (Ok(d), i, a));
    let (states, uptime) = match data {
        Ok(d) => d,
        Err(e) => return http::unavailable("the history database", &e),
    };
    let config = deployment::config();
    let fleet = view::fleet(config, caller.scope(), &states, &uptime);
    let activity = activity(caller, since, &changes, &alerts);
    let viewer = viewer(caller);
    let chrome = Chrome { branding: deployment::branding(), viewer: &viewer, now, live: Some("/api/live") };
    html(200, pages::dashboard(&chrome, &fleet, &activity, window, config.settings.uptime_retention_days))
}

/// Status changes and delivery results since `since` that the caller may see, newest first
/// (see `systole_web::view::activity`).
fn activity(caller: Caller, since: Timestamp, changes: &[d1::ChangeRow], alerts: &[history::Row]) -> Vec<ActivityItem> {
    let config = deployment::config();
    let changes = super::changes(changes);
    let attempts: Vec<AttemptRecord<'_>> = alerts
        .iter()
        .map(|a| AttemptRecord {
            at: Timestamp(a.attempted_at),
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
    let sees = |service: Option<&str>| service.map_or(everything, |id| access::sees(caller, id));
    view::activity(&changes, &attempts, since, sees, 200)
}
