//! `GET /services/{id}`: one service's page.

use systole_core::monitor::{deadline, MonitorConfig};
use systole_core::time::Timestamp;
use systole_web::pages::{self, Chrome};
use systole_web::view::{self, HeartbeatView, IncidentView, ServiceDetail};
use worker::{Env, Request, Response, Result};

use super::{fleet_data, html, viewer};
use crate::access;
use crate::deployment::{self, now, DB_BINDING};
use crate::{d1, http};

/// Heartbeats shown (and charted).
const HEARTBEATS: u32 = 50;

/// Renders the page of service `id`: 401 sign-in page without a session, 404 for a service
/// that is not configured or not visible to the caller, 503 problem when D1 fails.
pub async fn get(req: &Request, env: &Env, id: &str) -> Result<Response> {
    let Ok(caller) = access::caller(req, env) else {
        return super::sign_in(401, None);
    };
    let config = deployment::config();
    let Some(service) = config.service(id).filter(|_| access::sees(caller, id)) else {
        return super::not_found(caller, &format!("There is no service {id:?} that you can see."));
    };
    let db = env.d1(DB_BINDING)?;
    let gathered = futures_util::future::try_join4(
        fleet_data(&db, caller.scope(), Some(id)),
        d1::incidents(&db, Some(id), 50),
        d1::heartbeats(&db, id, None, HEARTBEATS),
        d1::status_changes(&db, Some(id), Timestamp(0), 50),
    )
    .await;
    let ((states, uptime), incidents, beats, changes) = match gathered {
        Ok(g) => g,
        Err(e) => return http::unavailable("the history database", &e),
    };
    let fleet = view::fleet(config, caller.scope(), &states, &uptime);
    let Some(row) = fleet.rows().find(|r| r.id == id).cloned() else {
        return super::not_found(caller, &format!("There is no service {id:?} that you can see."));
    };
    let now = now();
    let detail = ServiceDetail {
        next_deadline: deadline(row.status, row.last_heartbeat, &MonitorConfig::from(service)).map(|(t, _)| t),
        row,
        group: service.group.as_ref().and_then(|g| config.groups.iter().find(|x| &x.id == g)).map(|g| g.name.clone()),
        staleness_threshold_s: service.staleness_threshold.as_secs(),
        changes: super::changes(&changes),
        grace_period_s: service.grace_period.as_secs(),
        incidents: incidents
            .iter()
            .map(|i| IncidentView {
                started_at: Timestamp(i.started_at),
                ended_at: i.ended_at.map(Timestamp),
                cause: i.cause.clone(),
            })
            .collect(),
        heartbeats: beats
            .iter()
            .map(|h| HeartbeatView {
                at: Timestamp(h.received_at),
                reported: h.status.clone(),
                message: h.message.clone(),
                metadata: h.metadata.clone(),
            })
            .collect(),
        metrics: view::metric_series(beats.iter().map(|h| (Timestamp(h.received_at), h.metrics.as_deref())), 6),
    };
    let viewer = viewer(caller);
    let chrome = Chrome { branding: deployment::branding(), viewer: &viewer, now, live: Some("/api/live") };
    html(200, pages::service(&chrome, &detail))
}
