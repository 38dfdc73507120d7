//! `GET /services/{id}`: one service's page.

use systole_core::api::status::Summary;
use systole_core::monitor::{deadline, MonitorConfig};
use systole_core::time::Timestamp;
use systole_web::pages::{self, Chrome};
use systole_web::view::{self, HeartbeatView, IncidentView, RunView, ServiceDetail};
use worker::{Env, Request};

use super::{chrome, fleet_data, html, viewer};
use crate::access;
use crate::d1;
use crate::deployment::{now, DB_BINDING};
use crate::http::{OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;

/// Heartbeats shown (and charted).
const HEARTBEATS: u32 = 50;
/// Runs shown (and charted).
const RUNS: u32 = 30;

/// Renders the page of service `id` (the rest of the path after `/services/`; the router
/// answers the sign-in page, 401, without a session): the 404 page for a service that is
/// not configured or not visible to the caller. Errors: 503 problem when D1 fails.
pub async fn get(_req: Request, env: &Env, call: Call<'_>) -> Reply {
    let caller = call.caller()?;
    let id = call.params.get("*").unwrap_or_default();
    let config = crate::catalog::config(env).await?;
    let config = &*config;
    let Some(service) = config.service(id).filter(|_| access::sees(caller, config, id)) else {
        return super::not_found(caller, &format!("There is no service {id:?} that you can see."));
    };
    let db = env.d1(DB_BINDING)?;
    let gathered = futures_util::future::try_join5(
        fleet_data(&db, config, &[id]),
        d1::incidents(&db, Some(id), None, 50),
        d1::heartbeats(&db, id, None, HEARTBEATS),
        d1::status_changes(&db, Some(id), Timestamp::from_millis(0), 50),
        d1::read::runs(&db, id, None, RUNS),
    )
    .await;
    let ((states, uptime), incidents, beats, changes, runs) = gathered.or_unavailable(HISTORY_DB)?;
    let (managed, audit) = super::admin::managed_detail(env, config, service).await;
    let fleet = view::fleet_page(config, caller.scope(), &[id], &states, &uptime, Summary::default(), None, &[]);
    let Some(row) = fleet.rows().find(|r| r.id == id).cloned() else {
        return super::not_found(caller, &format!("There is no service {id:?} that you can see."));
    };
    let now = now();
    let pinged_too_often = states.iter().any(|s| s.service_id == id && s.pinged_too_often);
    let detail = ServiceDetail {
        pinged_too_often,
        next_deadline: deadline(
            row.status,
            row.status_since.unwrap_or(now),
            row.last_heartbeat,
            &MonitorConfig::from(service),
        )
        .map(|(t, _)| t),
        row,
        group: service.group.as_ref().and_then(|g| config.groups.iter().find(|x| &x.id == g)).map(|g| g.name.clone()),
        staleness_threshold_s: service.staleness_threshold.as_secs(),
        schedule: service.schedule.clone(),
        changes: super::changes(&changes),
        grace_period_s: service.grace_period.as_secs(),
        incidents: incidents
            .iter()
            .map(|i| IncidentView {
                started_at: Timestamp::from_millis(i.started_at),
                ended_at: i.ended_at.map(Timestamp::from_millis),
                cause: i.cause.clone(),
                acknowledged: i.acknowledged_by.clone().zip(i.acknowledged_at.map(Timestamp::from_millis)),
                id: systole_core::escalation::incident_id(id, Timestamp::from_millis(i.started_at)),
            })
            .collect(),
        heartbeats: beats
            .iter()
            .map(|h| HeartbeatView {
                at: Timestamp::from_millis(h.received_at),
                reported: h.status.clone(),
                event: h.event.clone(),
                exit_status: h.exit_status.and_then(|c| u8::try_from(c).ok()),
                message: h.message.clone(),
                metadata: h.metadata.clone(),
            })
            .collect(),
        metrics: view::metric_series(
            beats.iter().map(|h| (Timestamp::from_millis(h.received_at), h.metrics.as_deref())),
            6,
        ),
        runs: runs
            .into_iter()
            .map(|r| RunView {
                n: u64::try_from(r.n).unwrap_or_default(),
                started_at: r.started_at.map(Timestamp::from_millis),
                ended_at: r.ended_at.map(Timestamp::from_millis),
                duration_ms: r.duration_ms.and_then(|d| u64::try_from(d).ok()),
                outcome: r.outcome,
                exit_status: r.exit_status.and_then(|c| u8::try_from(c).ok()),
                reason: r.reason,
                has_output: r.has_output != 0,
            })
            .collect(),
        group_id: service.group.clone(),
        managed,
        audit,
        can_acknowledge: matches!(caller, access::Caller::User(_)),
    };
    let viewer = viewer(caller);
    let admin = super::admin::admin_view(caller, config);
    let chrome = Chrome { admin: admin.as_ref(), ..chrome(&viewer, now, Some("/api/v1/live")) };
    html(200, pages::service(&chrome, &detail))
}
