//! The cron trigger: housekeeping only, never staleness detection (each ServiceMonitor's
//! own alarm does that at the deadline).
//!
//! - prunes history past `history.heartbeatRetentionDays` (heartbeats, 5-minute rollups)
//!   and `uptime.retentionDays` (daily rollups, status changes, closed incidents), and the
//!   external alerts past `notifications.json`'s `settings.alertHistory` (`maxAgeDays`,
//!   `maxAlerts`);
//! - the watchdog: asks every service's ServiceMonitor to apply the deployed config and to
//!   re-arm its alarm if the runtime holds none although a deadline or flush is pending.

use systole_core::config::ServiceId;
use systole_core::protocol::ToMonitor;
use systole_core::time::DAY;
use worker::Env;

use crate::d1;
use crate::deployment::{self, now, DB_BINDING, MONITOR_BINDING};

/// Runs one housekeeping pass; failures are logged and retried on the next tick.
pub async fn run(env: &Env) {
    let now = now();
    let config = deployment::config();
    let days = |n: u32| now - DAY * n;
    let heartbeats_before = days(config.settings.heartbeat_retention_days);
    let uptime_before = days(config.settings.uptime_retention_days);
    let Ok(db) = env.d1(DB_BINDING) else { return };
    let Ok(namespace) = env.durable_object(MONITOR_BINDING) else {
        return;
    };
    let mut pruned = 0;
    for service in &config.services {
        let id = service.id.as_str();
        match d1::prune(&db, id, heartbeats_before, uptime_before).await {
            Ok(n) => pruned += n,
            Err(e) => worker::console_error!("pruning {id}: {e}"),
        }
        if let Err(e) = watchdog(&namespace, &service.id).await {
            worker::console_error!("watchdog for {id}: {e}");
        }
    }
    let history = deployment::notifications().settings.alert_history;
    match d1::alerts::prune_external(&db, history.max_age_days.map(days), history.max_alerts).await {
        Ok(n) => pruned += n,
        Err(e) => worker::console_error!("pruning external alerts: {e}"),
    }
    worker::console_log!("housekeeping: pruned {pruned} rows, checked {} services", config.services.len());
}

async fn watchdog(namespace: &worker::ObjectNamespace, id: &ServiceId) -> worker::Result<()> {
    let stub = namespace.id_from_name(id.as_str())?.get_stub()?;
    let message = ToMonitor::Watchdog { service_id: id.clone() };
    crate::durable::post(&stub, "https://service-monitor/", &message).await?;
    Ok(())
}
