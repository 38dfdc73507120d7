//! CloudLine's telemetry: the numeric metrics heartbeats report, rolled up per 5 minutes and
//! per UTC day so charts keep working after raw heartbeats are gone; the resolution a chart
//! is drawn at; units read from metric names; error reports grouped by fingerprint; and the
//! reliability label of a service.
//!
//! Rollups are computed here from the heartbeats a ServiceMonitor records (see
//! [`crate::history::History::apply`]) and written with the history flush, never per
//! heartbeat: a bucket is written once, as an absolute total, at the first flush after it has
//! closed ([`MetricRollups::closed`]). D1 row budget: one row per metric per 5 minutes per
//! service (288 a day), plus one per metric per day; with [`MAX_ROLLED_UP_METRICS`] metrics at
//! most 10 × 289 = 2,890 rows a day per service, twice what a service beating once a minute
//! writes for its heartbeats (1,440). Under D1's free 100,000 rows a day that leaves room for
//! about 20 such services with 10 metrics each; services with fewer metrics cost less, and a
//! metric not reported in a bucket writes nothing.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::api::Problem;
use crate::time::{Timestamp, DAY_MS};

/// Width of a 5-minute rollup bucket, ms.
pub const FIVE_MIN_MS: i64 = 300_000;
/// Days 5-minute rollups are kept (the cron prunes older ones).
pub const FIVE_MIN_RETENTION_DAYS: u32 = 14;
/// Days daily rollups are kept (the cron prunes older ones).
pub const DAILY_RETENTION_DAYS: u32 = 400;
/// Metrics of one heartbeat that are rolled up: the first this many by name (a heartbeat may
/// carry up to [`crate::api::metrics::MAX_METRICS`]; the others still show as tiles and in raw
/// charts). Bounds the rollup rows D1 writes (see the module docs).
pub const MAX_ROLLED_UP_METRICS: usize = 10;

/// The resolution of a chart's points.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
pub enum Resolution {
    /// One point per heartbeat (table `heartbeats`).
    #[serde(rename = "raw")]
    Raw,
    /// One point per 5 minutes (table `metric_rollups`, `width_ms` 300,000).
    #[serde(rename = "5m")]
    FiveMin,
    /// One point per UTC day (table `metric_rollups`, `width_ms` 86,400,000).
    #[serde(rename = "1d")]
    Daily,
}

impl Resolution {
    /// Its name on the wire: `raw`, `5m` or `1d`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::FiveMin => "5m",
            Self::Daily => "1d",
        }
    }

    /// A rollup's bucket width in ms (`None` for raw points).
    pub fn width_ms(self) -> Option<i64> {
        match self {
            Self::Raw => None,
            Self::FiveMin => Some(FIVE_MIN_MS),
            Self::Daily => Some(DAY_MS),
        }
    }

    /// The rollup resolution of bucket width `width_ms`, if it is one.
    pub fn of_width(width_ms: i64) -> Option<Self> {
        [Self::FiveMin, Self::Daily].into_iter().find(|r| r.width_ms() == Some(width_ms))
    }

    /// The resolution a chart from `from` (ms) answers at, at `now`: `raw` when the service's
    /// oldest stored heartbeat (`oldest_raw`) is at or before `from` (the window lies inside
    /// heartbeat retention), else `5m` when `from` is within [`FIVE_MIN_RETENTION_DAYS`] of
    /// `now`, else `1d`.
    pub fn for_window(from: Timestamp, now: Timestamp, oldest_raw: Option<Timestamp>) -> Self {
        let five_min_from = now.as_millis() - i64::from(FIVE_MIN_RETENTION_DAYS) * DAY_MS;
        if oldest_raw.is_some_and(|o| o <= from) {
            Self::Raw
        } else if from.as_millis() >= five_min_from {
            Self::FiveMin
        } else {
            Self::Daily
        }
    }
}

/// One metric's values within one bucket: how many, their sum, smallest and largest.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricRollup {
    /// `5m` or `1d`.
    pub resolution: Resolution,
    /// The metric's name.
    pub name: String,
    /// The bucket's start, ms (UTC; a multiple of its width).
    pub start: i64,
    /// Values seen.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
}

impl MetricRollup {
    /// The mean value.
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// When the bucket ends, ms.
    pub fn end(&self) -> i64 {
        self.start + self.resolution.width_ms().unwrap_or(0)
    }

    fn same_bucket(&self, other: &Self) -> bool {
        self.resolution == other.resolution && self.start == other.start && self.name == other.name
    }
}

/// The rollup buckets a ServiceMonitor has not written to D1 yet (each an absolute total of
/// the heartbeats it has recorded in that bucket), kept in its record.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct MetricRollups(pub Vec<MetricRollup>);

impl MetricRollups {
    /// Adds the metrics of a heartbeat received at `at` (its metrics object as JSON text,
    /// values already clamped; non-numbers are skipped) to its 5-minute and daily buckets: the
    /// first [`MAX_ROLLED_UP_METRICS`] by name.
    pub fn add(&mut self, at: Timestamp, metrics: Option<&str>) {
        for (name, v) in numbers(metrics).into_iter().take(MAX_ROLLED_UP_METRICS) {
            for resolution in [Resolution::FiveMin, Resolution::Daily] {
                let width = resolution.width_ms().unwrap_or(FIVE_MIN_MS);
                let start = at.as_millis().div_euclid(width) * width;
                match self.0.iter_mut().find(|r| r.resolution == resolution && r.start == start && r.name == name) {
                    Some(r) => {
                        r.count += 1;
                        r.sum += v;
                        r.min = r.min.min(v);
                        r.max = r.max.max(v);
                    }
                    None => self.0.push(MetricRollup {
                        resolution,
                        name: name.clone(),
                        start,
                        count: 1,
                        sum: v,
                        min: v,
                        max: v,
                    }),
                }
            }
        }
    }

    /// The buckets that have closed by `now` (end at or before it), to write.
    pub fn closed(&self, now: Timestamp) -> Vec<MetricRollup> {
        self.0.iter().filter(|r| r.end() <= now.as_millis()).cloned().collect()
    }

    /// When the earliest open bucket closes (a flush then writes it), ms.
    pub fn next_close(&self) -> Option<Timestamp> {
        self.0.iter().map(|r| Timestamp::from_millis(r.end())).min()
    }

    /// Drops the buckets D1 now holds (`written`, as [`MetricRollups::closed`] returned them).
    pub fn written(&mut self, written: &[MetricRollup]) {
        self.0.retain(|r| !written.iter().any(|w| w.same_bucket(r)));
    }
}

/// The numeric values of a metrics object (JSON text), by name; empty when absent or not an
/// object.
pub fn numbers(metrics: Option<&str>) -> BTreeMap<String, f64> {
    let Some(Ok(map)) = metrics.map(serde_json::from_str::<BTreeMap<String, serde_json::Value>>) else {
        return BTreeMap::new();
    };
    map.into_iter().filter_map(|(k, v)| Some((k, v.as_f64().filter(|v| v.is_finite())?))).collect()
}

/// A metric's newest value: what its tile shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Latest {
    /// The metric's name.
    pub name: String,
    /// Its newest value.
    pub value: f64,
    /// When the heartbeat that carried it was received.
    pub at: Timestamp,
}

/// Each metric's newest value in `heartbeats` (`(time, metrics JSON text)`, newest first),
/// by name.
pub fn latest<'a>(heartbeats: impl Iterator<Item = (Timestamp, Option<&'a str>)>) -> Vec<Latest> {
    let mut seen: BTreeMap<String, Latest> = BTreeMap::new();
    for (at, metrics) in heartbeats {
        for (name, value) in numbers(metrics) {
            seen.entry(name.clone()).or_insert(Latest { name, value, at });
        }
    }
    seen.into_values().collect()
}

/// The unit a metric's name says, by suffix: `_ms` milliseconds, `_seconds`/`_s` seconds,
/// `_bytes` bytes, `_percent`/`_pct` percent, `_count`/`_total` a count; `None` otherwise (the
/// value is shown as is). The same suffixes the sanity clamp reads
/// ([`crate::api::metrics::clamp`]).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Unit {
    /// `_ms`.
    Milliseconds,
    /// `_seconds`, `_s`.
    Seconds,
    /// `_bytes`.
    Bytes,
    /// `_percent`, `_pct`.
    Percent,
    /// `_count`, `_total`.
    Count,
}

impl Unit {
    /// The unit `name`'s suffix says, if any.
    pub fn of(name: &str) -> Option<Self> {
        const SUFFIXES: [(&str, Unit); 8] = [
            ("_ms", Unit::Milliseconds),
            ("_seconds", Unit::Seconds),
            ("_s", Unit::Seconds),
            ("_bytes", Unit::Bytes),
            ("_percent", Unit::Percent),
            ("_pct", Unit::Percent),
            ("_count", Unit::Count),
            ("_total", Unit::Count),
        ];
        SUFFIXES.iter().find(|(s, _)| name.ends_with(s)).map(|(_, u)| *u)
    }

    /// Its symbol on the wire and on tiles: `ms`, `s`, `bytes`, `%`, `count`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Milliseconds => "ms",
            Self::Seconds => "s",
            Self::Bytes => "bytes",
            Self::Percent => "%",
            Self::Count => "count",
        }
    }
}

/// `v` for a person, with the unit `name` says: `12.5 ms`, `3 s`, `1.5 MiB`, `42 %`, `7`;
/// at most three significant decimals.
pub fn display(name: &str, v: f64) -> String {
    let plain = |v: f64| {
        let s = format!("{v:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".to_owned()
        } else {
            s.to_owned()
        }
    };
    match Unit::of(name) {
        Some(Unit::Bytes) => {
            let mut scaled = v;
            let mut unit = "B";
            for u in ["KiB", "MiB", "GiB", "TiB"] {
                if scaled.abs() < 1024.0 {
                    break;
                }
                scaled /= 1024.0;
                unit = u;
            }
            let s = format!("{scaled:.1}");
            format!("{} {unit}", s.trim_end_matches(".0"))
        }
        Some(Unit::Count) | None => plain(v),
        Some(u) => format!("{} {}", plain(v), u.as_str()),
    }
}

/// One point of a chart: a bucket's (or a heartbeat's) time and values.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    /// The bucket's start (or the heartbeat's time), ms UTC.
    pub t: i64,
    /// The smallest value.
    pub min: f64,
    /// The mean value.
    pub avg: f64,
    /// The largest value.
    pub max: f64,
    /// Values it covers (1 for a raw point).
    pub count: u64,
}

impl Point {
    /// A raw point: one heartbeat's value.
    pub fn raw(t: Timestamp, v: f64) -> Self {
        Self { t: t.as_millis(), min: v, avg: v, max: v, count: 1 }
    }

    /// The point of a rollup bucket.
    pub fn of(r: &MetricRollup) -> Self {
        Self { t: r.start, min: r.min, avg: r.avg(), max: r.max, count: r.count }
    }
}

/// The points of metric `name` in raw heartbeats (`(time, metrics JSON text)`, any order)
/// within `from..=to`, oldest first.
pub fn raw_points<'a>(
    name: &str,
    heartbeats: impl Iterator<Item = (Timestamp, Option<&'a str>)>,
    from: Timestamp,
    to: Timestamp,
) -> Vec<Point> {
    let mut points: Vec<Point> = heartbeats
        .filter(|(t, _)| (from..=to).contains(t))
        .filter_map(|(t, m)| Some(Point::raw(t, *numbers(m).get(name)?)))
        .collect();
    points.sort_by_key(|p| p.t);
    points
}

/// The points of a rollup chart at `resolution`: the stored buckets `rollups` (one metric's,
/// oldest first), then buckets of the same width computed from the raw points `raw` received
/// after the last of them ends (oldest first): the open buckets a flush has not written yet,
/// so a chart reaches the present (today's daily point covers the raw heartbeats D1 still
/// holds).
pub fn rollup_points(resolution: Resolution, rollups: &[MetricRollup], raw: &[Point]) -> Vec<Point> {
    let width = resolution.width_ms().unwrap_or(FIVE_MIN_MS);
    let mut points: Vec<Point> = rollups.iter().map(Point::of).collect();
    let covered = rollups.last().map_or(i64::MIN, MetricRollup::end);
    let mut open: BTreeMap<i64, MetricRollup> = BTreeMap::new();
    for p in raw.iter().filter(|p| p.t >= covered) {
        let start = p.t.div_euclid(width) * width;
        let b = open.entry(start).or_insert(MetricRollup {
            resolution,
            name: String::new(),
            start,
            count: 0,
            sum: 0.0,
            min: p.min,
            max: p.max,
        });
        b.count += p.count;
        b.sum += p.avg * p.count as f64;
        b.min = b.min.min(p.min);
        b.max = b.max.max(p.max);
    }
    points.extend(open.values().map(Point::of));
    points
}

/// A service's reliability over the last [`RELIABILITY_DAYS`] days, from its uptime there and
/// the incidents that started there.
///
/// | label | uptime | incidents |
/// |---|---|---|
/// | `excellent` | ≥ 99.9 % | ≤ 1 |
/// | `good` | ≥ 99.5 % | ≤ 3 |
/// | `fair` | ≥ 98 % | ≤ 10 |
/// | `poor` | anything else | |
/// | `unknown` | nothing monitored yet | |
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reliability {
    /// ≥ 99.9 % and at most 1 incident.
    Excellent,
    /// ≥ 99.5 % and at most 3 incidents.
    Good,
    /// ≥ 98 % and at most 10 incidents.
    Fair,
    /// Below those.
    Poor,
    /// No monitored time in the window.
    Unknown,
}

/// The window the reliability label covers, days.
pub const RELIABILITY_DAYS: u32 = 30;

impl Reliability {
    /// The label of `uptime_percent` (`None`: nothing monitored) with `incidents` started in
    /// the window.
    pub fn of(uptime_percent: Option<f64>, incidents: u64) -> Self {
        let Some(u) = uptime_percent else { return Self::Unknown };
        if u >= 99.9 && incidents <= 1 {
            Self::Excellent
        } else if u >= 99.5 && incidents <= 3 {
            Self::Good
        } else if u >= 98.0 && incidents <= 10 {
            Self::Fair
        } else {
            Self::Poor
        }
    }

    /// Its name: `excellent`, `good`, `fair`, `poor`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Excellent => "excellent",
            Self::Good => "good",
            Self::Fair => "fair",
            Self::Poor => "poor",
            Self::Unknown => "unknown",
        }
    }
}

/// The chart ranges the service page offers (`?range=`), with their spans in ms; the first is
/// the default.
pub const RANGES: [(&str, i64); 4] = [("24h", DAY_MS), ("7d", 7 * DAY_MS), ("30d", 30 * DAY_MS), ("90d", 90 * DAY_MS)];
/// Longest chart window, days.
pub const MAX_WINDOW_DAYS: i64 = 400;

/// The span of chart range `name` (one of [`RANGES`]), ms.
pub fn range_ms(name: &str) -> Option<i64> {
    RANGES.iter().find(|(n, _)| *n == name).map(|(_, ms)| *ms)
}

/// A chart's window: `GET /api/v1/services/{id}/metrics/{name}?from=&to=&range=`.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Window {
    /// Its start, inclusive.
    pub from: Timestamp,
    /// Its end, inclusive.
    pub to: Timestamp,
}

impl Window {
    /// Parses the query at `now`: `to` (RFC 3339 UTC, default now), `from` (RFC 3339, default
    /// `to` minus `range`), `range` (`24h`, `7d`, `30d`, `90d`; default `24h`).
    ///
    /// # Errors
    /// 400 naming `from`, `to` or `range`: not a time, `from` after `to`, a window over
    /// [`MAX_WINDOW_DAYS`] days, an unknown range.
    pub fn parse(pairs: &[(String, String)], now: Timestamp) -> Result<Self, Problem> {
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let time = |k: &str| -> Result<Option<Timestamp>, Problem> {
            get(k)
                .map(|v| {
                    Timestamp::parse_rfc3339(v)
                        .ok_or_else(|| Problem::invalid_field(k, format!("{k} must be an RFC 3339 time, got {v:?}")))
                })
                .transpose()
        };
        let span = match get("range") {
            None => DAY_MS,
            Some(r) => range_ms(r).ok_or_else(|| {
                Problem::invalid_field("range", format!("range must be one of 24h, 7d, 30d, 90d, got {r:?}"))
            })?,
        };
        let to = time("to")?.unwrap_or(now);
        let from = time("from")?.unwrap_or(Timestamp::from_millis(to.as_millis() - span));
        if from > to {
            return Err(Problem::invalid_field("from", "from must not be after to"));
        }
        if to.as_millis() - from.as_millis() > MAX_WINDOW_DAYS * DAY_MS {
            let mut p = Problem::invalid_field("from", format!("a window may span at most {MAX_WINDOW_DAYS} days"));
            p.limit = Some(400);
            return Err(p);
        }
        Ok(Self { from, to })
    }
}

/// The cutoffs of the hourly prune at `now`: `(5-minute rollups before, daily rollups
/// before)`, [`FIVE_MIN_RETENTION_DAYS`] and [`DAILY_RETENTION_DAYS`] back.
pub fn prune_before(now: Timestamp) -> (Timestamp, Timestamp) {
    let back = |days: u32| Timestamp::from_millis(now.as_millis() - i64::from(days) * DAY_MS);
    (back(FIVE_MIN_RETENTION_DAYS), back(DAILY_RETENTION_DAYS))
}

/// Largest error report body, bytes (`POST /api/v1/services/{id}/errors`; 413 beyond).
pub const MAX_ERROR_BODY: usize = 32 * 1024;
/// Longest error message, characters.
pub const MAX_ERROR_MESSAGE: usize = 1024;
/// Longest stack trace, characters.
pub const MAX_ERROR_STACK: usize = 16 * 1024;
/// Longest fingerprint, characters.
pub const MAX_FINGERPRINT: usize = 128;

/// An error report (CloudLine's `captureError`), parsed: `{"message": string (1–1024
/// characters), "stack"?: string (≤ 16,384), "fingerprint"?: string (1–128 characters)}`.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorReport {
    /// What went wrong.
    pub message: String,
    /// The stack trace, if sent.
    pub stack: Option<String>,
    /// The group it counts in: as sent, else the first 16 hex digits of the SHA-256 of the
    /// message.
    pub fingerprint: String,
}

impl ErrorReport {
    /// Parses a report body.
    ///
    /// # Errors
    /// A 400 problem naming the field (`message`, `stack`, `fingerprint`, or the body when it
    /// is not a JSON object) and its limit.
    pub fn parse(body: &[u8]) -> Result<Self, Problem> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            message: String,
            #[serde(default)]
            stack: Option<String>,
            #[serde(default)]
            fingerprint: Option<String>,
        }
        let bad = |e: String| {
            Problem::invalid_field(
                "body",
                format!("must be a JSON object {{\"message\", \"stack\"?, \"fingerprint\"?}}: {e}"),
            )
        };
        // An object only: serde would also read a struct from an array.
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
        if !value.is_object() {
            return Err(bad("not an object".to_owned()));
        }
        let raw: Raw = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        let check = |field: &str, text: &str, max: usize| {
            let n = text.chars().count();
            if n == 0 {
                Err(Problem::invalid_field(field, "must not be empty"))
            } else if n > max {
                let mut p = Problem::invalid_field(field, format!("{field} must be at most {max} characters, got {n}"));
                p.limit = u32::try_from(max).ok();
                Err(p)
            } else {
                Ok(())
            }
        };
        check("message", &raw.message, MAX_ERROR_MESSAGE)?;
        if let Some(s) = &raw.stack {
            check("stack", s, MAX_ERROR_STACK)?;
        }
        if let Some(f) = &raw.fingerprint {
            check("fingerprint", f, MAX_FINGERPRINT)?;
        }
        let fingerprint = raw.fingerprint.unwrap_or_else(|| fingerprint_of(&raw.message));
        Ok(Self { message: raw.message, stack: raw.stack, fingerprint })
    }
}

/// The default fingerprint of `message`: the first 16 hex digits of its SHA-256.
pub fn fingerprint_of(message: &str) -> String {
    let digest = Sha256::digest(message.as_bytes());
    digest.iter().take(8).fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const T0: i64 = 20_000 * DAY_MS;

    #[test]
    fn rollups_keep_count_sum_min_max_per_bucket_and_close_at_the_bucket_end() {
        let mut r = MetricRollups::default();
        r.add(Timestamp::from_millis(T0 + 1_000), Some(r#"{"latency_ms": 10, "cpu_percent": 50, "note": "x"}"#));
        r.add(Timestamp::from_millis(T0 + 200_000), Some(r#"{"latency_ms": 30}"#));
        r.add(Timestamp::from_millis(T0 + 300_000), Some(r#"{"latency_ms": 5}"#));
        let five: Vec<&MetricRollup> =
            r.0.iter().filter(|b| b.resolution == Resolution::FiveMin && b.name == "latency_ms").collect();
        assert_eq!(five.len(), 2);
        assert_eq!((five[0].start, five[0].count, five[0].sum, five[0].min, five[0].max), (T0, 2, 40.0, 10.0, 30.0));
        assert_eq!(five[0].avg(), 20.0);
        let day = r.0.iter().find(|b| b.resolution == Resolution::Daily && b.name == "latency_ms").unwrap();
        assert_eq!((day.start, day.count, day.sum, day.min, day.max), (T0, 3, 45.0, 5.0, 30.0));
        assert_eq!(r.next_close(), Some(Timestamp::from_millis(T0 + FIVE_MIN_MS)));
        assert!(r.closed(Timestamp::from_millis(T0 + FIVE_MIN_MS - 1)).is_empty());
        let closed = r.closed(Timestamp::from_millis(T0 + FIVE_MIN_MS));
        assert_eq!(closed.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(), ["cpu_percent", "latency_ms"]);
        r.written(&closed);
        assert_eq!(r.0.len(), 3, "the open 5-minute bucket and the two days stay");
        assert_eq!(r.next_close(), Some(Timestamp::from_millis(T0 + 2 * FIVE_MIN_MS)));
    }

    #[test]
    fn only_the_first_metrics_by_name_are_rolled_up() {
        let metrics: BTreeMap<String, f64> = (0..20).map(|i| (format!("m{i:02}"), 1.0)).collect();
        let mut r = MetricRollups::default();
        r.add(Timestamp::from_millis(T0), Some(&serde_json::to_string(&metrics).unwrap()));
        assert_eq!(r.0.len(), 2 * MAX_ROLLED_UP_METRICS);
        assert!(r.0.iter().all(|b| b.name.as_str() < "m10"));
    }

    #[test]
    fn charts_fall_back_from_raw_to_five_minutes_to_days() {
        let now = Timestamp::from_millis(T0);
        let at = |days_ago: i64| Timestamp::from_millis(T0 - days_ago * DAY_MS);
        let oldest = Some(at(2));
        assert_eq!(Resolution::for_window(at(1), now, oldest), Resolution::Raw);
        assert_eq!(Resolution::for_window(at(2), now, oldest), Resolution::Raw);
        assert_eq!(Resolution::for_window(at(3), now, oldest), Resolution::FiveMin);
        assert_eq!(Resolution::for_window(at(14), now, oldest), Resolution::FiveMin);
        assert_eq!(
            Resolution::for_window(Timestamp::from_millis(T0 - 14 * DAY_MS - 1), now, oldest),
            Resolution::Daily
        );
        assert_eq!(Resolution::for_window(at(90), now, None), Resolution::Daily);
        assert_eq!(Resolution::for_window(at(1), now, None), Resolution::FiveMin, "no heartbeats stored");
        assert_eq!(Resolution::of_width(DAY_MS), Some(Resolution::Daily));
        assert_eq!(serde_json::to_string(&Resolution::FiveMin).unwrap(), r#""5m""#);
    }

    #[test]
    fn units_come_from_name_suffixes() {
        assert_eq!(Unit::of("latency_ms"), Some(Unit::Milliseconds));
        assert_eq!(Unit::of("uptime_seconds"), Some(Unit::Seconds));
        assert_eq!(Unit::of("gc_s"), Some(Unit::Seconds));
        assert_eq!(Unit::of("heap_bytes"), Some(Unit::Bytes));
        assert_eq!(Unit::of("cpu_pct"), Some(Unit::Percent));
        assert_eq!(Unit::of("jobs_total"), Some(Unit::Count));
        assert_eq!(Unit::of("queue_depth"), None);
        assert_eq!(display("latency_ms", 12.5), "12.5 ms");
        assert_eq!(display("cpu_percent", 42.0), "42 %");
        assert_eq!(display("heap_bytes", 1_572_864.0), "1.5 MiB");
        assert_eq!(display("heap_bytes", 512.0), "512 B");
        assert_eq!(display("queue_depth", 1.0 / 3.0), "0.333");
        assert_eq!(display("guilds_count", 7.0), "7");
    }

    #[test]
    fn reliability_labels_follow_the_documented_thresholds() {
        assert_eq!(Reliability::of(Some(100.0), 0), Reliability::Excellent);
        assert_eq!(Reliability::of(Some(99.9), 1), Reliability::Excellent);
        assert_eq!(Reliability::of(Some(99.9), 2), Reliability::Good);
        assert_eq!(Reliability::of(Some(99.89), 0), Reliability::Good);
        assert_eq!(Reliability::of(Some(99.5), 3), Reliability::Good);
        assert_eq!(Reliability::of(Some(99.5), 4), Reliability::Fair);
        assert_eq!(Reliability::of(Some(98.0), 10), Reliability::Fair);
        assert_eq!(Reliability::of(Some(97.99), 0), Reliability::Poor);
        assert_eq!(Reliability::of(Some(100.0), 11), Reliability::Poor);
        assert_eq!(Reliability::of(None, 0), Reliability::Unknown);
    }

    #[test]
    fn error_reports_parse_with_a_default_fingerprint_and_name_bad_fields() {
        let r = ErrorReport::parse(br#"{"message": "boom"}"#).unwrap();
        assert_eq!(r.fingerprint, fingerprint_of("boom"));
        assert_eq!(r.fingerprint.len(), 16);
        let r = ErrorReport::parse(br#"{"message": "boom", "stack": "at x", "fingerprint": "db-timeout"}"#).unwrap();
        assert_eq!((r.stack.as_deref(), r.fingerprint.as_str()), (Some("at x"), "db-timeout"));
        assert_eq!(ErrorReport::parse(br#"{"message": ""}"#).unwrap_err().field.as_deref(), Some("message"));
        let long = format!(r#"{{"message": "{}"}}"#, "x".repeat(MAX_ERROR_MESSAGE + 1));
        let e = ErrorReport::parse(long.as_bytes()).unwrap_err();
        assert_eq!((e.status, e.field.as_deref()), (400, Some("message")));
        assert_eq!(ErrorReport::parse(b"[1]").unwrap_err().field.as_deref(), Some("body"));
        assert_eq!(ErrorReport::parse(br#"["boom", "at x", "fp"]"#).unwrap_err().field.as_deref(), Some("body"));
        assert_eq!(ErrorReport::parse(br#"{"message": "a", "extra": 1}"#).unwrap_err().field.as_deref(), Some("body"));
        assert_eq!(
            ErrorReport::parse(br#"{"message": "a", "fingerprint": ""}"#).unwrap_err().field.as_deref(),
            Some("fingerprint")
        );
    }

    #[test]
    fn windows_default_to_a_day_and_refuse_bad_bounds() {
        let now = Timestamp::from_millis(T0);
        let q = |s: &str| -> Vec<(String, String)> {
            s.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
        };
        assert_eq!(Window::parse(&[], now).unwrap(), Window { from: Timestamp::from_millis(T0 - DAY_MS), to: now });
        assert_eq!(Window::parse(&q("range=90d"), now).unwrap().from, Timestamp::from_millis(T0 - 90 * DAY_MS));
        assert_eq!(Window::parse(&q("range=1y"), now).unwrap_err().field.as_deref(), Some("range"));
        assert_eq!(Window::parse(&q("from=yesterday"), now).unwrap_err().field.as_deref(), Some("from"));
        let far = Timestamp::from_millis(T0 - 401 * DAY_MS).to_rfc3339();
        assert_eq!(Window::parse(&q(&format!("from={far}")), now).unwrap_err().limit, Some(400));
        let later = Timestamp::from_millis(T0 + 1_000).to_rfc3339();
        assert_eq!(Window::parse(&q(&format!("from={later}")), now).unwrap_err().field.as_deref(), Some("from"));
        assert_eq!(
            prune_before(now),
            (Timestamp::from_millis(T0 - 14 * DAY_MS), Timestamp::from_millis(T0 - 400 * DAY_MS))
        );
    }

    #[test]
    fn each_metric_shows_its_newest_value() {
        let beats = [
            (Timestamp::from_millis(3), Some(r#"{"b": 3}"#)),
            (Timestamp::from_millis(2), None),
            (Timestamp::from_millis(1), Some(r#"{"a": 1, "b": 2}"#)),
        ];
        let l = latest(beats.into_iter());
        assert_eq!(
            l.iter().map(|l| (l.name.as_str(), l.value, l.at.as_millis())).collect::<Vec<_>>(),
            [("a", 1.0, 1), ("b", 3.0, 3)]
        );
    }

    #[test]
    fn rollup_charts_reach_the_present_with_buckets_computed_from_raw_points() {
        let stored = MetricRollup {
            resolution: Resolution::FiveMin,
            name: "a".into(),
            start: T0,
            count: 2,
            sum: 10.0,
            min: 4.0,
            max: 6.0,
        };
        let raw = [
            Point::raw(Timestamp::from_millis(T0 + 1_000), 99.0),
            Point::raw(Timestamp::from_millis(T0 + FIVE_MIN_MS), 1.0),
            Point::raw(Timestamp::from_millis(T0 + FIVE_MIN_MS + 5), 3.0),
            Point::raw(Timestamp::from_millis(T0 + 3 * FIVE_MIN_MS), 7.0),
        ];
        let points = rollup_points(Resolution::FiveMin, &[stored], &raw);
        let got: Vec<(i64, f64, f64, f64, u64)> =
            points.iter().map(|p| (p.t - T0, p.min, p.avg, p.max, p.count)).collect();
        assert_eq!(
            got,
            [(0, 4.0, 5.0, 6.0, 2), (FIVE_MIN_MS, 1.0, 2.0, 3.0, 2), (3 * FIVE_MIN_MS, 7.0, 7.0, 7.0, 1)],
            "the stored bucket wins over raw points inside it"
        );
        let daily = rollup_points(Resolution::Daily, &[], &raw);
        assert_eq!(daily.iter().map(|p| (p.t, p.count)).collect::<Vec<_>>(), [(T0, 4)]);
    }

    #[test]
    fn raw_points_read_one_metric_in_the_window_oldest_first() {
        let beats = [
            (Timestamp::from_millis(3), Some(r#"{"a": 3}"#)),
            (Timestamp::from_millis(2), Some(r#"{"b": 1}"#)),
            (Timestamp::from_millis(1), Some(r#"{"a": 1}"#)),
            (Timestamp::from_millis(0), Some(r#"{"a": 0}"#)),
        ];
        let points = raw_points("a", beats.into_iter(), Timestamp::from_millis(1), Timestamp::from_millis(3));
        assert_eq!(points.iter().map(|p| (p.t, p.avg)).collect::<Vec<_>>(), [(1, 1.0), (3, 3.0)]);
    }
}
