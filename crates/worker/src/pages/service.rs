//! `GET /services/{id}`: one service's page.

use systole_core::api::status::Summary;
use systole_core::dependency;
use systole_core::monitor::{deadline, MonitorConfig};
use systole_core::telemetry::{self, Window, RANGES};
use systole_core::time::Timestamp;
use systole_web::pages::{self, Chrome};
use systole_web::view::{
    self, Dependencies, ErrorGroupView, HeartbeatView, IncidentView, Related, RunView, ServiceDetail, TelemetryView,
};
use worker::{Env, Request};

use super::{chrome, fleet_data, html, viewer};
use crate::access;
use crate::d1;
use crate::deployment::{now, DB_BINDING};
use crate::http::{OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::routes;

/// Heartbeats shown (and charted).
const HEARTBEATS: u32 = 50;
/// Runs shown (and charted).
const RUNS: u32 = 30;

/// Renders the page of service `id` (the rest of the path after `/services/`; the router
/// answers the sign-in page, 401, without a session): the 404 page for a service that is
/// not configured or not visible to the caller. Errors: 503 problem when D1 fails.
pub async fn get(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let caller = call.caller()?;
    let id = call.params.get("*").unwrap_or_default();
    let config = crate::catalog::config(env).await?;
    let config = &*config;
    let Some(service) = config.service(id).filter(|_| access::sees(caller, config, id)) else {
        return super::not_found(caller, &format!("There is no service {id:?} that you can see."));
    };
    let db = env.d1(DB_BINDING)?;
    // Its parents and dependents are read with it (their status, in the same query).
    let seen = |s: &&str| access::sees(caller, config, s);
    let parents: Vec<&str> = service.depends_on.iter().map(|p| p.as_str()).filter(seen).collect();
    let dependents: Vec<&str> = dependency::dependents(config, id).map(|s| s.as_str()).filter(seen).collect();
    let ids: Vec<&str> = std::iter::once(id).chain(parents.iter().copied()).chain(dependents.iter().copied()).collect();
    let gathered = futures_util::future::try_join5(
        fleet_data(&db, config, &ids),
        d1::incidents(&db, Some(id), None, 50),
        d1::heartbeats(&db, id, None, HEARTBEATS),
        d1::status_changes(&db, Some(id), Timestamp::from_millis(0), 50),
        d1::read::runs(&db, id, None, RUNS),
    )
    .await;
    let ((states, uptime), incidents, beats, changes, runs) = gathered.or_unavailable(HISTORY_DB)?;
    let (managed, audit) = super::admin::managed_detail(env, config, service).await;
    let telemetry = telemetry(&req, &db, config, id, &beats).await.or_unavailable(HISTORY_DB)?;
    let fleet = view::fleet_page(config, caller.scope(), &ids, &states, &uptime, Summary::default(), None, &[]);
    let Some(row) = fleet.rows().find(|r| r.id == id).cloned() else {
        return super::not_found(caller, &format!("There is no service {id:?} that you can see."));
    };
    let now = now();
    let stored = states.iter().find(|s| s.service_id == id);
    let pinged_too_often = stored.is_some_and(|s| s.pinged_too_often);
    let resumed_at = stored.and_then(|s| s.resumed_at);
    let detail = ServiceDetail {
        pinged_too_often,
        next_deadline: deadline(row.status, row.last_heartbeat, resumed_at, &MonitorConfig::from(service))
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
                suppressed: i.suppressed.clone(),
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
            systole_core::api::metrics::MAX_METRICS,
        ),
        telemetry: Some(telemetry),
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
        dependencies: Dependencies { parents: related(&fleet, &parents), dependents: related(&fleet, &dependents) },
        can_acknowledge: matches!(caller, access::Caller::User(_)),
    };
    let viewer = viewer(caller);
    let admin = super::admin::admin_view(caller, config);
    let chrome = Chrome { admin: admin.as_ref(), ..chrome(&viewer, now, Some("/api/v1/live")) };
    html(200, pages::service(&chrome, &detail))
}

/// The rows of `ids` in `fleet` as links (a service without a row is left out).
fn related(fleet: &view::Fleet, ids: &[&str]) -> Vec<Related> {
    ids.iter()
        .filter_map(|id| fleet.rows().find(|r| r.id == *id))
        .map(|r| Related { id: r.id.clone(), name: r.name.clone(), status: r.status })
        .collect()
}

/// The page's telemetry: tiles from the recent heartbeats `beats` (newest first), a chart of
/// each of their metrics over the `?range=` (`24h` by default, see
/// `systole_core::telemetry::RANGES`; an unknown one is the default), the error groups and
/// the reliability label.
///
/// # Errors
/// Any D1 error.
async fn telemetry(
    req: &Request,
    db: &worker::D1Database,
    config: &systole_core::config::Config,
    id: &str,
    beats: &[d1::rows::HeartbeatRow],
) -> worker::Result<TelemetryView> {
    let now = now();
    let pairs = crate::routes::query_pairs(req);
    let asked = pairs.iter().find(|(k, _)| k == "range").and_then(|(_, v)| RANGES.iter().find(|(n, _)| n == v));
    let (range, span) = asked.copied().unwrap_or(RANGES[0]);
    let window = Window { from: Timestamp::from_millis(now.as_millis() - span), to: now };
    let tiles = telemetry::latest(beats.iter().map(|h| (Timestamp::from_millis(h.received_at), h.metrics.as_deref())));
    let names: Vec<&str> = tiles.iter().map(|t| t.name.as_str()).collect();
    let (charts, errors, reliability) = futures_util::future::try_join3(
        routes::telemetry::charts(db, id, &names, window, now),
        d1::telemetry::errors(db, id, routes::telemetry::ERROR_GROUPS),
        routes::telemetry::reliability(db, config, id, now),
    )
    .await?;
    let (resolution, charts) = charts;
    let errors = errors
        .into_iter()
        .map(|e| ErrorGroupView {
            fingerprint: e.fingerprint,
            message: e.message,
            stack: e.stack,
            count: e.count,
            first_seen: Timestamp::from_millis(e.first_seen),
            last_seen: Timestamp::from_millis(e.last_seen),
        })
        .collect();
    Ok(TelemetryView { tiles, range, resolution, charts, errors, reliability })
}
