//! `GET /`: the dashboard, with the alert history panel (`?activity=1h|24h|7d|30d`).

use systole_core::time::Timestamp;
use systole_web::pages::{self, Chrome};
use systole_web::view::{self, ActivityItem, Tone, Window};
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
    let (data, incidents, alerts) = futures_util::future::try_join3(
        fleet_data(&db, None),
        d1::incidents(&db, None, 200),
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
    let activity = activity(caller, since, &incidents, &alerts);
    let viewer = viewer(caller);
    let chrome = Chrome { branding: deployment::branding(), viewer: &viewer, now, live: Some("/api/live") };
    html(200, pages::dashboard(&chrome, &fleet, &activity, window, config.settings.uptime_retention_days))
}

/// Status changes (incident starts and ends) and delivery results since `since` that the
/// caller may see, newest first.
fn activity(
    caller: Caller,
    since: Timestamp,
    incidents: &[d1::IncidentRow],
    alerts: &[history::Row],
) -> Vec<ActivityItem> {
    let mut items = Vec::new();
    for i in incidents.iter().filter(|i| access::sees(caller, &i.service_id)) {
        if i.started_at >= since.0 {
            items.push(ActivityItem {
                at: Timestamp(i.started_at),
                service_id: Some(i.service_id.clone()),
                text: format!("went down: {}", i.cause),
                tone: Tone::Bad,
            });
        }
        if let Some(end) = i.ended_at.filter(|e| *e >= since.0) {
            items.push(ActivityItem {
                at: Timestamp(end),
                service_id: Some(i.service_id.clone()),
                text: format!("recovered after {}", systole_web::pages::duration(end - i.started_at)),
                tone: Tone::Good,
            });
        }
    }
    let admin = matches!(caller.scope(), systole_core::access::Scope::All);
    for a in alerts {
        let service = deployment::config().service(&a.subject).map(|s| s.id.to_string());
        let visible = match &service {
            Some(id) => access::sees(caller, id),
            None => admin,
        };
        if !visible {
            continue;
        }
        let what = match a.subject.as_str() {
            "external" => "external alert".to_owned(),
            "test" => "test notification".to_owned(),
            _ => format!("{} notification", a.event),
        };
        let detail = a.error.as_deref().unwrap_or("");
        let tone = match a.outcome.as_str() {
            "delivered" => Tone::Good,
            "retrying" => Tone::Neutral,
            _ => Tone::Bad,
        };
        let status = a.http_status.map(|s| format!(", HTTP {s}")).unwrap_or_default();
        let detail = if detail.is_empty() { String::new() } else { format!(": {detail}") };
        items.push(ActivityItem {
            at: Timestamp(a.attempted_at),
            service_id: service,
            text: format!("{what} to {} {} (attempt {}{status}){detail}", a.channel, a.outcome, a.attempt),
            tone,
        });
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.at));
    items.truncate(200);
    items
}
