//! The cron trigger: housekeeping only, never staleness detection (each ServiceMonitor's
//! own alarm does that at the deadline). What a tick does is decided by
//! `systole_core::housekeeping::plan`, within the free plan's 50 subrequests whatever the
//! number of services:
//!
//! 1. reads the watchdog's cursor (one D1 query);
//! 2. prunes, in one D1 batch: history past `history.heartbeatRetentionDays` (heartbeats a
//!    service did not reuse in its ring) and `uptime.retentionDays` (daily rollups, status changes, closed
//!    incidents) of every service, its metric rollups (5-minute ones after 14 days, daily ones
//!    after 400) and error groups (last seen before heartbeat retention), one-off maintenance
//!    windows that ended before heartbeat retention, and the external
//!    alerts past `notifications.json`'s `settings.alertHistory` (`maxAgeDays`, `maxAlerts`);
//! 3. stores the next cursor (one D1 query, only when the fleet needs more than one page);
//! 4. the watchdog: asks the page's ServiceMonitors (at most 40) to apply the deployed
//!    config, to re-arm their alarm if the runtime holds none although a deadline or flush
//!    is pending, and to catch up their parents' statuses from D1 (a missed push; each
//!    object reads them in its own invocation).

use systole_core::config::ServiceId;
use systole_core::housekeeping;
use systole_core::protocol::ToMonitor;
use systole_core::telemetry;
use systole_core::time::DAY;
use worker::Env;

use crate::d1;
use crate::deployment::{self, now, DB_BINDING, MONITOR_BINDING};

/// Runs one housekeeping tick; failures are logged and retried on the next tick.
pub async fn run(env: &Env) {
    let now = now();
    // The catalog: managed services are pruned and watched as declared ones are.
    let config = match crate::catalog::config(env).await {
        Ok(c) => c,
        Err(_) => {
            worker::console_error!("housekeeping: the catalog could not be read; declared services only");
            std::rc::Rc::new(deployment::config().clone())
        }
    };
    let config = &*config;
    let Ok(db) = env.d1(DB_BINDING) else { return };
    let Ok(namespace) = env.durable_object(MONITOR_BINDING) else {
        return;
    };
    let cursor = d1::history::watchdog_cursor(&db).await.unwrap_or_else(|e| {
        worker::console_error!("reading the watchdog's cursor (starting over): {e}");
        None
    });
    let tick = housekeeping::plan(now, config, cursor.as_deref());
    let history = deployment::notifications().settings.alert_history;
    let statements =
        d1::history::prune(&db, &tick.prune, tick.heartbeats_before, tick.uptime_before).and_then(|mut s| {
            s.extend(d1::alerts::prune_external(&db, history.max_age_days.map(|n| now - DAY * n), history.max_alerts)?);
            let (five_min, daily) = telemetry::prune_before(now);
            s.extend(d1::telemetry::prune(&db, &tick.prune, five_min, daily, tick.heartbeats_before)?);
            Ok(s)
        });
    let pruned = match statements {
        Ok(s) => d1::history::run_prune(&db, s).await,
        Err(e) => Err(e),
    }
    .unwrap_or_else(|e| {
        worker::console_error!("pruning: {e}");
        0
    });
    if let Some(last) = tick.cursor.filter(|last| cursor.as_deref() != Some(last.as_str())) {
        if let Err(e) = d1::history::store_watchdog_cursor(&db, last).await {
            worker::console_error!("storing the watchdog's cursor: {e}");
        }
    }
    // One at a time: the runtime allows 6 simultaneous connections per invocation.
    for id in &tick.watch {
        if let Err(e) = watchdog(&namespace, id).await {
            worker::console_error!("watchdog for {id}: {e}");
        }
    }
    worker::console_log!(
        "housekeeping: pruned {pruned} rows, watched {} of {} services",
        tick.watch.len(),
        config.services.len()
    );
}

async fn watchdog(namespace: &worker::ObjectNamespace, id: &ServiceId) -> worker::Result<()> {
    let stub = namespace.id_from_name(id.as_str())?.get_stub()?;
    let message = ToMonitor::Watchdog { service_id: id.clone() };
    crate::durable::post(&stub, "https://service-monitor/", &message).await?;
    Ok(())
}
