//! Uptime reports from daily rollups: per-day percentages, totals and CSV export.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::api::status::StoredState;
use crate::config::{Config, ServiceConfig};
use crate::history::Tally;
use crate::monitor::Status;
use crate::time::{Timestamp, DAY_MS};

/// One day's uptime for one service.
///
/// JSON: `{"date": "YYYY-MM-DD", "uptimePercent": number | null, "downtimeMinutes",
/// "monitoredMinutes", "heartbeats"}`; `uptimePercent` is `null` on days with no monitored
/// time, which is different from 100 %.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayUptime {
    /// The UTC date.
    pub date: String,
    /// Percent of monitored time not `down`, rounded to 3 decimals.
    pub uptime_percent: Option<f64>,
    /// Minutes `down`, rounded to 1 decimal.
    pub downtime_minutes: f64,
    /// Minutes monitored, rounded to 1 decimal.
    pub monitored_minutes: f64,
    /// Heartbeats received.
    pub heartbeats: i64,
}

/// The state of the time not yet in the rollups: since `since`, the service has been
/// `status` (from D1 `service_state`).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct OpenInterval {
    /// Start of the unaccounted time (`accounted_until`).
    pub since: Timestamp,
    /// Status its time accrues as (the stored status as the service's `maintenanceUptime`
    /// counts it: see [`OpenInterval::of`]).
    pub status: Status,
}

impl OpenInterval {
    /// The open interval of `service` from its stored state: from `accounted_until` on,
    /// under the stored status as its `maintenanceUptime` counts it
    /// ([`crate::maintenance::MaintenanceUptime::accrued`]), so the live figures agree with
    /// the rollups the ServiceMonitor writes later. `None` before rollups were written.
    pub fn of(state: &StoredState, service: &ServiceConfig) -> Option<Self> {
        Some(Self { since: state.accounted_until?, status: service.maintenance_uptime.accrued(state.status) })
    }
}

/// Builds the per-day report for `from..=to` (day starts, UTC) from daily rollup rows keyed
/// by day start, extending the last known status over the time not yet rolled up (up to
/// `now`), so an outage in progress counts before the service's next write.
pub fn daily(
    rows: &BTreeMap<i64, Tally>,
    open: Option<OpenInterval>,
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
) -> Vec<DayUptime> {
    let mut days = Vec::new();
    let mut day = from.day_start().as_millis();
    while day <= to.as_millis() {
        let mut tally = rows.get(&day).copied().unwrap_or_default();
        if let Some(open) = open {
            let start = open.since.as_millis().max(day);
            let end = now.as_millis().min(day + DAY_MS);
            if end > start {
                tally.add(open.status, end - start);
            }
        }
        days.push(DayUptime {
            date: Timestamp::from_millis(day).date_string().unwrap_or_default(),
            uptime_percent: tally.uptime_percent().map(|p| round(p, 1000.0)),
            downtime_minutes: round(tally.down_ms as f64 / 60_000.0, 10.0),
            monitored_minutes: round(tally.monitored_ms() as f64 / 60_000.0, 10.0),
            heartbeats: tally.heartbeats,
        });
        day += DAY_MS;
    }
    days
}

/// Uptime over a whole report, weighted by monitored time; `None` if nothing was monitored.
pub fn overall(days: &[DayUptime]) -> Option<f64> {
    let monitored: f64 = days.iter().map(|d| d.monitored_minutes).sum();
    let down: f64 = days.iter().map(|d| d.downtime_minutes).sum();
    (monitored > 0.0).then(|| round(100.0 * (monitored - down) / monitored, 1000.0))
}

fn round(v: f64, scale: f64) -> f64 {
    (v * scale).round() / scale
}

/// A service's report, for CSV export.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceUptime {
    /// Service id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Uptime over the whole range.
    pub uptime_percent: Option<f64>,
    /// Per-day rows.
    pub days: Vec<DayUptime>,
}

/// Builds the report of every configured service in config order, or only of those in
/// `services`, in that order (ids not configured are left out), for `from..=to` (day
/// starts, UTC) from daily rollup rows `(service id, day start ms, tally)` and the stored
/// states, which give each service's open interval (time since its last rollup write under
/// its last written status).
pub fn report(
    config: &Config,
    services: Option<&[&str]>,
    rows: &[(String, i64, Tally)],
    states: &[StoredState],
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
) -> Vec<ServiceUptime> {
    let mut by_service: BTreeMap<&str, BTreeMap<i64, Tally>> = BTreeMap::new();
    for (id, day, tally) in rows {
        by_service.entry(id.as_str()).or_default().insert(*day, *tally);
    }
    let open: BTreeMap<&str, OpenInterval> = states
        .iter()
        .filter_map(|s| Some((s.service_id.as_str(), OpenInterval::of(s, config.service(&s.service_id)?)?)))
        .collect();
    let empty = BTreeMap::new();
    let wanted: Vec<&ServiceConfig> = match services {
        Some(ids) => ids.iter().filter_map(|id| config.service(id)).collect(),
        None => config.services.iter().collect(),
    };
    wanted
        .into_iter()
        .map(|s| {
            let id = s.id.as_str();
            let days = daily(by_service.get(id).unwrap_or(&empty), open.get(id).copied(), from, to, now);
            ServiceUptime { id: id.to_owned(), name: s.name.clone(), uptime_percent: overall(&days), days }
        })
        .collect()
}

/// Renders reports as CSV with header
/// `date,service_id,service_name,uptime_percent,downtime_minutes,monitored_minutes,heartbeats`;
/// an empty `uptime_percent` cell means no data that day.
pub fn to_csv(services: &[ServiceUptime]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header =
        ["date", "service_id", "service_name", "uptime_percent", "downtime_minutes", "monitored_minutes", "heartbeats"];
    let mut rows: Vec<Vec<String>> = Vec::new();
    for s in services {
        for d in &s.days {
            rows.push(vec![
                d.date.clone(),
                s.id.clone(),
                s.name.clone(),
                d.uptime_percent.map(|p| p.to_string()).unwrap_or_default(),
                d.downtime_minutes.to_string(),
                d.monitored_minutes.to_string(),
                d.heartbeats.to_string(),
            ]);
        }
    }
    // Writing to a Vec cannot fail.
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(r);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_open_maintenance_counts_as_up_when_the_service_says_so() {
        let config =
            Config::parse(Some(r#"{"services": [{"id": "up", "maintenanceUptime": "up"}, {"id": "out"}]}"#), None)
                .unwrap();
        let d0 = 20_000 * DAY_MS;
        let state = |id: &str| StoredState {
            service_id: id.into(),
            status: Status::Maintenance,
            status_since: Timestamp::from_millis(d0),
            incident_started_at: None,
            accounted_until: Some(Timestamp::from_millis(d0)),
            resumed_at: None,
            last_heartbeat: None,
            last_message: None,
            pinged_too_often: false,
        };
        let now = Timestamp::from_millis(d0 + 1_800_000);
        let r = report(&config, None, &[], &[state("up"), state("out")], now, now, now);
        assert_eq!(r[0].days[0].monitored_minutes, 30.0, "maintenance counted as up");
        assert_eq!(r[0].uptime_percent, Some(100.0));
        assert_eq!(r[1].days[0].monitored_minutes, 0.0, "maintenance not monitored");
        assert_eq!(r[1].uptime_percent, None);
    }

    #[test]
    fn days_without_data_are_null_and_open_outages_count() {
        let d0 = 20_000 * DAY_MS;
        let mut rows = BTreeMap::new();
        rows.insert(d0, Tally { up_ms: DAY_MS - 600_000, down_ms: 600_000, heartbeats: 1440, ..Tally::default() });
        let now = Timestamp::from_millis(d0 + 2 * DAY_MS + 3_600_000);
        let open = OpenInterval { since: Timestamp::from_millis(d0 + 2 * DAY_MS), status: Status::Down };
        let days =
            daily(&rows, Some(open), Timestamp::from_millis(d0 - DAY_MS), Timestamp::from_millis(d0 + 2 * DAY_MS), now);
        let pct: Vec<Option<f64>> = days.iter().map(|d| d.uptime_percent).collect();
        assert_eq!(pct, [None, Some(99.306), None, Some(0.0)]);
        assert_eq!(days[3].downtime_minutes, 60.0);
        assert_eq!(overall(&days), Some(95.333));
        let csv = to_csv(&[ServiceUptime { id: "a".into(), name: "A, \"quoted\"".into(), uptime_percent: None, days }]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "date,service_id,service_name,uptime_percent,downtime_minutes,monitored_minutes,heartbeats"
        );
        assert_eq!(lines[1], r#"2024-10-03,a,"A, ""quoted""",,0,0,0"#);
    }
}
