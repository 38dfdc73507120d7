//! `GET /api/uptime?serviceId=`: the seed's per-day check counters over the retention
//! window, from our rollups.
//!
//! ```json
//! {"serviceId": "api",
//!  "days": [{"date": "2025-09-12", "totalChecks": 0, "upChecks": 0, "downChecks": 0,
//!            "degradedChecks": 0, "unknownChecks": 0, "uptimePercentage": null}, …,
//!           {"date": "2025-11-10", "totalChecks": 144, "upChecks": 140, "downChecks": 4,
//!            "degradedChecks": 0, "unknownChecks": 0, "uptimePercentage": 97.22,
//!            "lastUpdate": "2025-11-10T12:05:00.000Z"}],
//!  "overallUptime": 97.22, "totalDays": 1, "retentionDays": 60}
//! ```
//!
//! - A **check** is one 5-minute bucket (the seed counts one per 10-minute cron run).
//!   Its status is the one that held most of the bucket's monitored time, a tie going to the
//!   worse ([`classify`]): `up`; `degraded` (our `degraded` and `late`); `down`; `unknown`
//!   for a bucket without monitored time. The time since the last write counts under the
//!   last written status, so an outage in progress shows at once.
//! - 5-minute buckets are computed from the service's status changes
//!   ([`five_minute_buckets`]) over the last `history.heartbeatRetentionDays`; older days of
//!   the window count their daily rollup's time in each status in 5-minute units (rounded).
//! - Percentages are the seed's formula, `(up + 0.5 × degraded) / (total − unknown) × 100`
//!   rounded to 2 decimals: per day (`null` for a day without checks, `0` for one with only
//!   unknown checks) and over the window as `overallUptime` (`0` without known checks).
//! - `days` has `retentionDays` entries (`uptime.retentionDays`), oldest first, ending
//!   today (UTC); `totalDays` counts those with checks. A day with checks carries
//!   `lastUpdate`, the end of its last check (at most now).

use std::collections::BTreeMap;

use serde::Serialize;

use super::js_option;
use crate::config::Settings;
use crate::history::{accrue_into, Rollups, Tally, BUCKET_MS};
use crate::maintenance::MaintenanceUptime;
use crate::monitor::Status;
use crate::time::{Timestamp, DAY, DAY_MS};
use crate::uptime::OpenInterval;

/// What one check counted as.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Check {
    /// Up most of the bucket.
    Up,
    /// Degraded or late most of the bucket.
    Degraded,
    /// Down most of the bucket.
    Down,
    /// Not monitored in the bucket.
    Unknown,
}

/// One bucket's check: the status with the most monitored time (`late` counts as
/// `degraded`), a tie going to the worse; [`Check::Unknown`] without monitored time.
pub fn classify(t: &Tally) -> Check {
    let degraded = t.degraded_ms + t.late_ms;
    if t.monitored_ms() <= 0 {
        Check::Unknown
    } else if t.down_ms >= t.up_ms && t.down_ms >= degraded {
        Check::Down
    } else if degraded >= t.up_ms {
        Check::Degraded
    } else {
        Check::Up
    }
}

/// One day's counters. JSON: camelCase; `lastUpdate` only on a day with checks.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayChecks {
    /// The UTC date, `YYYY-MM-DD`.
    pub date: String,
    /// Checks counted.
    pub total_checks: u32,
    /// Of them `up`.
    pub up_checks: u32,
    /// Of them `down`.
    pub down_checks: u32,
    /// Of them `degraded`.
    pub degraded_checks: u32,
    /// Of them `unknown`.
    pub unknown_checks: u32,
    /// The seed's formula, `null` on a day without checks.
    #[serde(serialize_with = "js_option")]
    pub uptime_percentage: Option<f64>,
    /// The end of the day's last check (RFC 3339 UTC, at most now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update: Option<String>,
}

impl DayChecks {
    fn count(&mut self, check: Check, n: u32) {
        self.total_checks += n;
        *match check {
            Check::Up => &mut self.up_checks,
            Check::Degraded => &mut self.degraded_checks,
            Check::Down => &mut self.down_checks,
            Check::Unknown => &mut self.unknown_checks,
        } += n;
    }
}

/// The whole answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UptimeAnswer {
    /// The id asked for (answered for any id, as the seed: unknown ids get empty days).
    pub service_id: String,
    /// Oldest first.
    pub days: Vec<DayChecks>,
    /// The seed's formula over every day; `0` without known checks.
    #[serde(serialize_with = "super::js_f64")]
    pub overall_uptime: f64,
    /// Days with checks.
    pub total_days: u32,
    /// `uptime.retentionDays`: the window's length.
    pub retention_days: u32,
}

/// `(up + 0.5 × degraded) / (total − unknown) × 100`, rounded to 2 decimals; `None` without
/// known checks.
pub fn percentage(up: u32, degraded: u32, total: u32, unknown: u32) -> Option<f64> {
    let known = total.saturating_sub(unknown);
    (known > 0).then(|| {
        let p = (f64::from(up) + 0.5 * f64::from(degraded)) / f64::from(known) * 100.0;
        (p * 100.0).round() / 100.0
    })
}

/// The first day whose 5-minute buckets are counted (`history.heartbeatRetentionDays` back);
/// earlier days are counted from daily rollups. The Worker reads status changes from here (or
/// the window's start, if later) for [`five_minute_buckets`].
pub fn five_minute_from(settings: &Settings, now: Timestamp) -> Timestamp {
    let kept = (now - DAY * settings.heartbeat_retention_days).day_start() + DAY;
    kept.max(settings.uptime_window_start(now))
}

/// The 5-minute buckets (keyed by start, epoch ms) of the time from `from` to `now`, from the
/// service's status changes at or after `from` as `(at, from status, to status)` in any order,
/// and its current status and since when (D1 `service_state`): each stretch between changes
/// counts under the status it held (before the first change its `from` status; with no
/// change, the current status since `max(from, since)`), maintenance time as `counts` says.
/// Heartbeat counts stay 0.
pub fn five_minute_buckets(
    changes: &[(Timestamp, Status, Status)],
    current: Option<(Status, Timestamp)>,
    from: Timestamp,
    now: Timestamp,
    counts: MaintenanceUptime,
) -> BTreeMap<i64, Tally> {
    let mut sorted = changes.to_vec();
    sorted.sort_by_key(|c| c.0);
    let mut out = BTreeMap::new();
    let mut add = |a: Timestamp, b: Timestamp, status: Status| {
        let (a, b) = (a.max(from).as_millis(), b.min(now).as_millis());
        if b > a {
            accrue_into(&mut out, BUCKET_MS, a, b, counts.accrued(status));
        }
    };
    match (sorted.first(), current) {
        (Some(first), _) => {
            add(from, first.0, first.1);
            for (a, b) in sorted.iter().zip(sorted.iter().skip(1)) {
                add(a.0, b.0, a.2);
            }
            if let Some(last) = sorted.last() {
                add(last.0, now, last.2);
            }
        }
        (None, Some((status, since))) => add(since, now, status),
        (None, None) => {}
    }
    out
}

/// Builds the answer for `service_id` at `now` from its 5-minute buckets up to `now` (from
/// [`five_minute_buckets`]) and the daily rollups of the window, both keyed by bucket start in
/// epoch ms, and its open interval (the time since its last rollup write, under its last
/// written status), which extends the daily rollups.
pub fn uptime(
    service_id: &str,
    five_min: BTreeMap<i64, Tally>,
    daily: BTreeMap<i64, Tally>,
    open: Option<OpenInterval>,
    settings: &Settings,
    now: Timestamp,
) -> UptimeAnswer {
    let start = settings.uptime_window_start(now);
    let mut rollups = Rollups { accounted_until: None, daily, ..Rollups::default() };
    if let Some(open) = open {
        rollups.accounted_until = Some(open.since.max(start));
        rollups.accrue(now, open.status);
    }
    let cutoff = five_minute_from(settings, now).as_millis();
    let mut days = Vec::new();
    let mut day = start.as_millis();
    while day <= now.as_millis() {
        let mut d =
            DayChecks { date: Timestamp::from_millis(day).date_string().unwrap_or_default(), ..DayChecks::default() };
        let mut last = None;
        if day >= cutoff {
            for (&bucket, tally) in five_min.range(day..day + DAY_MS) {
                d.count(classify(tally), 1);
                last = Some(bucket + BUCKET_MS);
            }
        } else if let Some(t) = rollups.daily.get(&day) {
            let units = |ms: i64| u32::try_from((ms + BUCKET_MS / 2) / BUCKET_MS).unwrap_or(0);
            d.count(Check::Up, units(t.up_ms));
            d.count(Check::Degraded, units(t.degraded_ms + t.late_ms));
            d.count(Check::Down, units(t.down_ms));
            last = Some(day + DAY_MS);
        }
        if d.total_checks > 0 {
            let p = percentage(d.up_checks, d.degraded_checks, d.total_checks, d.unknown_checks);
            d.uptime_percentage = Some(p.unwrap_or(0.0));
            d.last_update = last.map(|t| Timestamp::from_millis(t.min(now.as_millis())).to_rfc3339());
        }
        days.push(d);
        day += DAY_MS;
    }
    let sum = |f: fn(&DayChecks) -> u32| days.iter().map(f).sum::<u32>();
    let overall = percentage(
        sum(|d| d.up_checks),
        sum(|d| d.degraded_checks),
        sum(|d| d.total_checks),
        sum(|d| d.unknown_checks),
    );
    UptimeAnswer {
        service_id: service_id.to_owned(),
        total_days: u32::try_from(days.iter().filter(|d| d.total_checks > 0).count()).unwrap_or(u32::MAX),
        days,
        overall_uptime: overall.unwrap_or(0.0),
        retention_days: settings.uptime_retention_days,
    }
}

/// The answer as CSV in the seed dashboard's export columns: `Date, Service Name, Service ID,
/// Group, Status, Uptime %, Total Checks, Up Checks, Degraded Checks, Down Checks, Unknown
/// Checks`, one row per day (`Status` is the service's current one, in the seed's words;
/// `Uptime %` the day's percentage, empty without checks).
pub fn to_csv(answer: &UptimeAnswer, name: &str, group: &str, status: &str) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "Date",
        "Service Name",
        "Service ID",
        "Group",
        "Status",
        "Uptime %",
        "Total Checks",
        "Up Checks",
        "Degraded Checks",
        "Down Checks",
        "Unknown Checks",
    ];
    // Writing to a Vec cannot fail.
    let _ = w.write_record(header);
    for d in &answer.days {
        let _ = w.write_record([
            d.date.clone(),
            name.to_owned(),
            answer.service_id.clone(),
            group.to_owned(),
            status.to_owned(),
            d.uptime_percentage.map(|p| super::js_number(p).to_string()).unwrap_or_default(),
            d.total_checks.to_string(),
            d.up_checks.to_string(),
            d.degraded_checks.to_string(),
            d.down_checks.to_string(),
            d.unknown_checks.to_string(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::monitor::Status;

    fn tally(up: i64, degraded: i64, late: i64, down: i64) -> Tally {
        Tally { up_ms: up, degraded_ms: degraded, late_ms: late, down_ms: down, heartbeats: 0 }
    }

    fn settings(retention: u32, heartbeat_retention: u32) -> Settings {
        Settings {
            uptime_retention_days: retention,
            heartbeat_retention_days: heartbeat_retention,
            ..Settings::default()
        }
    }

    #[test]
    fn a_bucket_counts_as_the_status_that_held_it_longest_ties_to_the_worse() {
        let m = 60_000;
        assert_eq!(classify(&tally(5 * m, 0, 0, 0)), Check::Up);
        assert_eq!(classify(&tally(3 * m, 0, 0, 2 * m)), Check::Up);
        assert_eq!(classify(&tally(2 * m, 0, 0, 3 * m)), Check::Down);
        assert_eq!(classify(&tally(2 * m, m, m, m)), Check::Degraded, "late counts as degraded");
        assert_eq!(classify(&tally(2 * m, 2 * m, 0, 0)), Check::Degraded, "a tie goes to the worse");
        assert_eq!(classify(&tally(m, m, 0, m)), Check::Down);
        assert_eq!(classify(&tally(0, 0, 0, 0)), Check::Unknown);
    }

    #[test]
    fn the_seeds_formula_counts_degraded_half_and_leaves_unknown_out() {
        assert_eq!(percentage(70, 0, 72, 0), Some(97.22));
        assert_eq!(percentage(1, 2, 4, 1), Some(66.67), "(1 + 1) / (4 - 1)");
        assert_eq!(percentage(0, 0, 3, 3), None, "only unknown checks");
        assert_eq!(percentage(0, 0, 0, 0), None);
        assert_eq!(percentage(288, 0, 288, 0), Some(100.0));
    }

    #[test]
    fn days_count_buckets_recent_days_and_daily_time_older_ones() {
        let s = settings(40, 30);
        let today = 20_000 * DAY_MS;
        let now = Timestamp::from_millis(today + 3_600_000 + 120_000); // 01:02 UTC
                                                                       // Yesterday from 00:00: two up buckets, one degraded, one down, one unknown (a bucket
                                                                       // without monitored time), then paused; today up from 00:00, down from 00:30.
        let y = today - DAY_MS;
        let at = |ms: i64| Timestamp::from_millis(ms);
        let changes = [
            (at(y), Status::Unknown, Status::Up),
            (at(y + 2 * BUCKET_MS), Status::Up, Status::Degraded),
            (at(y + 3 * BUCKET_MS), Status::Degraded, Status::Down),
            (at(y + 4 * BUCKET_MS), Status::Down, Status::Paused),
            (at(today), Status::Paused, Status::Up),
            (at(today + 6 * BUCKET_MS), Status::Up, Status::Down),
        ];
        let mut five = five_minute_buckets(
            &changes,
            Some((Status::Down, at(today + 6 * BUCKET_MS))),
            at(y),
            now,
            MaintenanceUptime::Exclude,
        );
        five.insert(y + 4 * BUCKET_MS, Tally { heartbeats: 1, ..Tally::default() });
        let open = OpenInterval { since: Timestamp::from_millis(today + 6 * BUCKET_MS), status: Status::Down };
        // 35 days ago: before the 5-minute retention, a daily rollup of 23 h up and 1 h down.
        let old = today - 35 * DAY_MS;
        let daily: BTreeMap<i64, Tally> = [(old, tally(23 * 3_600_000, 0, 0, 3_600_000))].into_iter().collect();
        let a = uptime("api", five, daily, Some(open), &s, now);
        assert_eq!((a.days.len(), a.retention_days, a.total_days), (40, 40, 3));
        assert_eq!(a.days[0].date, Timestamp::from_millis(today - 39 * DAY_MS).date_string().unwrap());
        let yday = &a.days[38];
        assert_eq!(
            (yday.total_checks, yday.up_checks, yday.degraded_checks, yday.down_checks, yday.unknown_checks),
            (5, 2, 1, 1, 1)
        );
        assert_eq!(yday.uptime_percentage, Some(62.5), "(2 + 0.5) / (5 - 1)");
        assert_eq!(yday.last_update.as_deref(), Some("2024-10-03T00:25:00.000Z"));
        let t = &a.days[39];
        // 00:30 to 01:02 down: six whole buckets and the current one.
        assert_eq!((t.total_checks, t.up_checks, t.down_checks), (13, 6, 7));
        assert_eq!(t.last_update.as_deref(), Some(now.to_rfc3339().as_str()), "capped at now");
        let o = &a.days[4];
        assert_eq!((o.total_checks, o.up_checks, o.down_checks), (288, 276, 12));
        assert_eq!(o.uptime_percentage, Some(95.83));
        let empty = &a.days[5];
        assert_eq!((empty.total_checks, empty.uptime_percentage, empty.last_update.clone()), (0, None, None));
        assert_eq!(Some(a.overall_uptime), percentage(2 + 6 + 276, 1, 5 + 13 + 288, 1));
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(
            json["days"][5],
            serde_json::json!({"date": empty.date, "totalChecks": 0, "upChecks": 0, "downChecks": 0,
                "degradedChecks": 0, "unknownChecks": 0, "uptimePercentage": null})
        );
        assert_eq!(json["days"][4]["uptimePercentage"], 95.83);
        let csv = to_csv(&a, "API", "Ungrouped", "down");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 41);
        assert_eq!(lines[0], "Date,Service Name,Service ID,Group,Status,Uptime %,Total Checks,Up Checks,Degraded Checks,Down Checks,Unknown Checks");
        assert_eq!(lines[39], "2024-10-03,API,api,Ungrouped,down,62.5,5,2,1,1,1");
    }

    #[test]
    fn an_unknown_service_gets_an_empty_window_and_zero_overall() {
        let a = uptime(
            "nope",
            BTreeMap::new(),
            BTreeMap::new(),
            None,
            &settings(60, 30),
            Timestamp::from_millis(DAY_MS * 20_000),
        );
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(
            (json["overallUptime"].clone(), json["totalDays"].clone()),
            (serde_json::json!(0), serde_json::json!(0))
        );
        assert_eq!(a.days.len(), 60);
        assert!(a.days.iter().all(|d| d.uptime_percentage.is_none()));
        let only_unknown: BTreeMap<i64, Tally> =
            [(DAY_MS * 20_000, Tally { heartbeats: 1, ..Tally::default() })].into();
        let a = uptime(
            "x",
            only_unknown,
            BTreeMap::new(),
            None,
            &settings(60, 30),
            Timestamp::from_millis(DAY_MS * 20_000 + 1),
        );
        assert_eq!(a.days[59].uptime_percentage, Some(0.0), "the seed shows 0 for a day of unknown checks");
    }
}
