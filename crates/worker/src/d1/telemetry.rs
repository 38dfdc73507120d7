//! CloudLine's telemetry in D1 (`migrations/0013_telemetry.sql`): metric charts (raw
//! heartbeats or rollups), error groups, and their pruning. The rollups themselves are
//! written by the history flush ([`super::history::flush`]).

use serde::{Deserialize, Serialize};
use systole_core::budget::Kind;
use systole_core::config::ServiceId;
use systole_core::telemetry::{ErrorReport, MetricRollup, Resolution};
use systole_core::time::Timestamp;
use worker::{D1Database, D1PreparedStatement, Result};

use super::rows::MetricRollupRow;
use super::{num, text};

/// Heartbeats read for one raw chart at most (the ring holds `history.heartbeatsKept`, 1,000
/// by default).
pub const RAW_POINTS: u32 = 5_000;

/// The time and metrics (JSON text) of `service`'s heartbeats received in `from..=to`, newest
/// first, at most [`RAW_POINTS`]; and its oldest stored heartbeat's time (where raw history
/// starts). One D1 batch.
///
/// # Errors
/// Any D1 error.
pub async fn raw(
    db: &D1Database,
    service: &str,
    from: Timestamp,
    to: Timestamp,
) -> Result<(Vec<(Timestamp, Option<String>)>, Option<Timestamp>)> {
    crate::budget::count(Kind::D1);
    #[derive(Deserialize)]
    struct Beat {
        received_at: i64,
        metrics: Option<String>,
    }
    let beats = db
        .prepare(
            "SELECT received_at, metrics FROM heartbeats WHERE service_id = ?1 AND received_at >= ?2 \
             AND received_at <= ?3 AND metrics IS NOT NULL ORDER BY received_at DESC, seq DESC LIMIT ?4",
        )
        .bind(&[text(service), num(from.as_millis()), num(to.as_millis()), num(i64::from(RAW_POINTS))])?;
    let oldest = db
        .prepare("SELECT received_at FROM heartbeats WHERE service_id = ?1 ORDER BY received_at, seq LIMIT 1")
        .bind(&[text(service)])?;
    let results = db.batch(vec![beats, oldest]).await?;
    let [beats, oldest] = results.as_slice() else {
        return Err(worker::Error::RustError("D1 answered a batch of two with another count".into()));
    };
    let beats =
        beats.results::<Beat>()?.into_iter().map(|b| (Timestamp::from_millis(b.received_at), b.metrics)).collect();
    let oldest = oldest.results::<Beat>()?.first().map(|b| Timestamp::from_millis(b.received_at));
    Ok((beats, oldest))
}

/// `service`'s rollup buckets of `metric` (of every metric when `None`) at `resolution`
/// starting in `from..=to` (from rounded down to its bucket), oldest first.
///
/// # Errors
/// Any D1 error.
pub async fn rollups(
    db: &D1Database,
    service: &str,
    metric: Option<&str>,
    resolution: Resolution,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<MetricRollup>> {
    crate::budget::count(Kind::D1);
    let width = resolution.width_ms().unwrap_or(1);
    let rows: Vec<MetricRollupRow> = db
        .prepare(
            "SELECT * FROM metric_rollups WHERE service_id = ?1 AND (?2 IS NULL OR metric = ?2) \
             AND width_ms = ?3 AND bucket_start >= ?4 AND bucket_start <= ?5 ORDER BY bucket_start",
        )
        .bind(&[
            text(service),
            metric.map_or(wasm_bindgen::JsValue::NULL, text),
            num(width),
            num(from.as_millis().div_euclid(width) * width),
            num(to.as_millis()),
        ])?
        .all()
        .await?
        .results()?;
    Ok(rows.iter().filter_map(MetricRollupRow::rollup).collect())
}

/// An `error_groups` row: one fingerprint's reports of a service.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct ErrorGroupRow {
    /// The service.
    pub service_id: String,
    /// The group's fingerprint.
    pub fingerprint: String,
    /// The latest report's message.
    pub message: String,
    /// The latest report's stack trace.
    pub stack: Option<String>,
    /// Reports counted.
    pub count: i64,
    /// The first report's time, ms.
    pub first_seen: i64,
    /// The latest report's time, ms.
    pub last_seen: i64,
}

impl ErrorGroupRow {
    /// The group as the API answers it: `{"fingerprint", "message", "stack", "count",
    /// "firstSeen", "lastSeen"}` (times RFC 3339 UTC).
    pub fn to_json(&self) -> serde_json::Value {
        let time = |ms: i64| Timestamp::from_millis(ms).to_rfc3339();
        serde_json::json!({
            "fingerprint": self.fingerprint, "message": self.message, "stack": self.stack, "count": self.count,
            "firstSeen": time(self.first_seen), "lastSeen": time(self.last_seen),
        })
    }
}

/// Counts `report` of `service` received at `now` in its group (created with count 1, or
/// counted up with the latest message and stack): one row written. Returns the group.
///
/// # Errors
/// Any D1 error.
pub async fn record_error(
    db: &D1Database,
    service: &str,
    report: &ErrorReport,
    now: Timestamp,
) -> Result<ErrorGroupRow> {
    crate::budget::count(Kind::D1);
    let stack = report.stack.as_deref().map_or(wasm_bindgen::JsValue::NULL, text);
    let row: Option<ErrorGroupRow> = db
        .prepare(
            "INSERT INTO error_groups (service_id, fingerprint, message, stack, count, first_seen, last_seen) \
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5) ON CONFLICT (service_id, fingerprint) DO UPDATE SET \
             count = count + 1, message = excluded.message, stack = excluded.stack, \
             last_seen = max(last_seen, excluded.last_seen) RETURNING *",
        )
        .bind(&[text(service), text(&report.fingerprint), text(&report.message), stack, num(now.as_millis())])?
        .first(None)
        .await?;
    row.ok_or_else(|| worker::Error::RustError("D1 returned no error group".into()))
}

/// `service`'s error groups, most recently seen first, at most `limit`.
///
/// # Errors
/// Any D1 error.
pub async fn errors(db: &D1Database, service: &str, limit: u32) -> Result<Vec<ErrorGroupRow>> {
    crate::budget::count(Kind::D1);
    db.prepare("SELECT * FROM error_groups WHERE service_id = ?1 ORDER BY last_seen DESC LIMIT ?2")
        .bind(&[text(service), num(i64::from(limit))])?
        .all()
        .await?
        .results()
}

/// The statements pruning the telemetry of `services`: 5-minute rollups before
/// `five_min_before`, daily ones before `daily_before`, error groups last seen before
/// `errors_before` (heartbeat retention). Three statements whatever the number of services
/// (one JSON array parameter, as `super::history::prune`).
///
/// # Errors
/// Serialization or binding errors.
pub fn prune(
    db: &D1Database,
    services: &[&ServiceId],
    five_min_before: Timestamp,
    daily_before: Timestamp,
    errors_before: Timestamp,
) -> Result<Vec<D1PreparedStatement>> {
    let ids = text(&serde_json::to_string(services)?);
    let rollups = |width: i64, before: Timestamp| {
        db.prepare(
            "DELETE FROM metric_rollups WHERE service_id IN (SELECT value FROM json_each(?1)) \
             AND width_ms = ?2 AND bucket_start < ?3",
        )
        .bind(&[ids.clone(), num(width), num(before.as_millis())])
    };
    Ok(vec![
        rollups(Resolution::FiveMin.width_ms().unwrap_or_default(), five_min_before)?,
        rollups(Resolution::Daily.width_ms().unwrap_or_default(), daily_before)?,
        db.prepare("DELETE FROM error_groups WHERE service_id IN (SELECT value FROM json_each(?1)) AND last_seen < ?2")
            .bind(&[ids.clone(), num(errors_before.as_millis())])?,
    ])
}
