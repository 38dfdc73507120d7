//! Every D1 query: history flushes (one `batch`, each table's rows passed as one JSON
//! parameter and expanded with `json_each`) and the read APIs' queries.
//!
//! Writes are idempotent (insert-or-ignore by sequence number, upsert by key, rollups as
//! absolute totals), so a flush repeated after a crash changes nothing.

use serde::Deserialize;
use serde_json::json;
use systole_core::api::status::StoredState;
use systole_core::history::{FlushBatch, Tally};
use systole_core::monitor::Status;
use systole_core::record::ServiceSnapshot;
use systole_core::time::Timestamp;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Result};

fn text(v: &str) -> JsValue {
    JsValue::from_str(v)
}

fn num(v: i64) -> JsValue {
    JsValue::from_f64(v as f64)
}

fn opt_num(v: Option<Timestamp>) -> JsValue {
    v.map_or(JsValue::NULL, |t| num(t.as_millis()))
}

fn tallies(rows: &[(i64, Tally)]) -> String {
    let rows: Vec<_> =
        rows.iter().map(|(k, t)| json!([k, t.up_ms, t.degraded_ms, t.late_ms, t.down_ms, t.heartbeats])).collect();
    serde_json::Value::Array(rows).to_string()
}

const INSERT_HEARTBEATS: &str = "INSERT OR IGNORE INTO heartbeats \
    (service_id, received_at, seq, status, message, metadata, metrics) \
    SELECT ?1, json_extract(value, '$.at'), json_extract(value, '$.seq'), json_extract(value, '$.reported'), \
    json_extract(value, '$.message'), json_extract(value, '$.metadata'), json_extract(value, '$.metrics') \
    FROM json_each(?2)";
const INSERT_CHANGES: &str = "INSERT OR IGNORE INTO status_changes \
    (service_id, changed_at, seq, from_status, to_status, reason) \
    SELECT ?1, json_extract(value, '$.at'), json_extract(value, '$.seq'), json_extract(value, '$.from'), \
    json_extract(value, '$.to'), json_extract(value, '$.reason') FROM json_each(?2)";
const UPSERT_INCIDENTS: &str = "INSERT INTO incidents (service_id, started_at, ended_at, cause) \
    SELECT ?1, json_extract(value, '$.startedAt'), json_extract(value, '$.endedAt'), json_extract(value, '$.cause') \
    FROM json_each(?2) WHERE true \
    ON CONFLICT (service_id, started_at) DO UPDATE SET ended_at = excluded.ended_at";
fn upsert_tallies(table: &str, key: &str) -> String {
    format!(
        "INSERT INTO {table} (service_id, {key}, up_ms, degraded_ms, late_ms, down_ms, heartbeats) \
         SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
         json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]') FROM json_each(?2) WHERE true \
         ON CONFLICT (service_id, {key}) DO UPDATE SET up_ms = excluded.up_ms, degraded_ms = excluded.degraded_ms, \
         late_ms = excluded.late_ms, down_ms = excluded.down_ms, heartbeats = excluded.heartbeats"
    )
}
const UPSERT_STATE: &str = "INSERT INTO service_state \
    (service_id, status, status_since, incident_started_at, accounted_until) VALUES (?1, ?2, ?3, ?4, ?5) \
    ON CONFLICT (service_id) DO UPDATE SET status = excluded.status, status_since = excluded.status_since, \
    incident_started_at = excluded.incident_started_at, accounted_until = excluded.accounted_until";

/// Writes one flush in a single D1 batch (a transaction) and returns the rows D1 reports
/// written (`meta.rows_written`, indexes included).
///
/// # Errors
/// Any D1 error; nothing is written then and the caller retries the same batch.
pub async fn flush(db: &D1Database, batch: &FlushBatch, snapshot: &ServiceSnapshot) -> Result<u64> {
    let id = text(snapshot.service_id.as_str());
    let mut statements: Vec<D1PreparedStatement> = Vec::new();
    let mut add = |sql: &str, rows: String| -> Result<()> {
        statements.push(db.prepare(sql).bind(&[id.clone(), text(&rows)])?);
        Ok(())
    };
    let o = &batch.outbox;
    if !o.heartbeats.is_empty() {
        add(INSERT_HEARTBEATS, serde_json::to_string(&o.heartbeats)?)?;
    }
    if !o.changes.is_empty() {
        add(INSERT_CHANGES, serde_json::to_string(&o.changes)?)?;
    }
    if !o.incidents.is_empty() {
        add(UPSERT_INCIDENTS, serde_json::to_string(&o.incidents)?)?;
    }
    if !batch.five_min.is_empty() {
        add(&upsert_tallies("uptime_5m", "bucket_start"), tallies(&batch.five_min))?;
    }
    if !batch.daily.is_empty() {
        add(&upsert_tallies("uptime_daily", "day_start"), tallies(&batch.daily))?;
    }
    if let Some(until) = batch.rollups_until {
        let s = snapshot;
        statements.push(db.prepare(UPSERT_STATE).bind(&[
            id.clone(),
            text(s.status.as_str()),
            num(s.status_since.as_millis()),
            opt_num(s.incident_started_at),
            num(until.as_millis()),
        ])?);
    }
    let results = db.batch(statements).await?;
    let mut written = 0;
    for r in results {
        if let Some(e) = r.error() {
            return Err(worker::Error::RustError(e));
        }
        written += r.meta()?.and_then(|m| m.rows_written).unwrap_or(0) as u64;
    }
    Ok(written)
}

/// A `service_state` row, with the service's latest heartbeat (time and message) when read
/// by [`statuses`].
#[derive(Clone, Debug, Deserialize)]
pub struct StateRow {
    pub service_id: String,
    pub status: String,
    pub status_since: i64,
    pub incident_started_at: Option<i64>,
    pub accounted_until: Option<i64>,
    #[serde(default)]
    pub last_heartbeat: Option<i64>,
    #[serde(default)]
    pub last_message: Option<String>,
}

impl StateRow {
    /// The row as core's stored state; `None` for a status name this version does not know.
    pub fn stored(&self) -> Option<StoredState> {
        Some(StoredState {
            service_id: self.service_id.clone(),
            status: Status::parse(&self.status)?,
            status_since: Timestamp(self.status_since),
            incident_started_at: self.incident_started_at.map(Timestamp),
            accounted_until: self.accounted_until.map(Timestamp),
            last_heartbeat: self.last_heartbeat.map(Timestamp),
            last_message: self.last_message.clone(),
        })
    }
}

/// Every service's last written state.
pub async fn states(db: &D1Database) -> Result<Vec<StateRow>> {
    db.prepare("SELECT * FROM service_state").all().await?.results()
}

/// Every service's last written state with its latest heartbeat, found by primary-key seek.
pub async fn statuses(db: &D1Database) -> Result<Vec<StateRow>> {
    db.prepare(
        "SELECT s.*, \
         (SELECT received_at FROM heartbeats h WHERE h.service_id = s.service_id \
          ORDER BY received_at DESC, seq DESC LIMIT 1) AS last_heartbeat, \
         (SELECT message FROM heartbeats h WHERE h.service_id = s.service_id \
          ORDER BY received_at DESC, seq DESC LIMIT 1) AS last_message \
         FROM service_state s",
    )
    .all()
    .await?
    .results()
}

/// A `heartbeats` row.
#[derive(Clone, Debug, Deserialize)]
pub struct HeartbeatRow {
    pub seq: i64,
    pub received_at: i64,
    pub status: String,
    pub message: Option<String>,
    pub metadata: Option<String>,
    pub metrics: Option<String>,
}

/// Up to `limit` heartbeats of one service received before `before` (ms), newest first
/// (callers ask one more than they show, to cut pages; see `api::query::page`).
pub async fn heartbeats(
    db: &D1Database,
    service: &str,
    before: Option<Timestamp>,
    limit: u32,
) -> Result<Vec<HeartbeatRow>> {
    db.prepare(
        "SELECT seq, received_at, status, message, metadata, metrics FROM heartbeats \
         WHERE service_id = ?1 AND received_at < ?2 ORDER BY received_at DESC, seq DESC LIMIT ?3",
    )
    .bind(&[text(service), num(before.map_or(i64::MAX / 2, Timestamp::as_millis)), num(i64::from(limit))])?
    .all()
    .await?
    .results()
}

/// A `status_changes` row.
#[derive(Clone, Debug, Deserialize)]
pub struct ChangeRow {
    pub service_id: String,
    pub changed_at: i64,
    pub from_status: String,
    pub to_status: String,
    pub reason: String,
}

/// Status changes at or after `since` (ms), newest first, at most `limit`, optionally of one
/// service.
pub async fn status_changes(
    db: &D1Database,
    service: Option<&str>,
    since: Timestamp,
    limit: u32,
) -> Result<Vec<ChangeRow>> {
    db.prepare(
        "SELECT service_id, changed_at, from_status, to_status, reason FROM status_changes \
         WHERE changed_at >= ?1 AND (?2 IS NULL OR service_id = ?2) ORDER BY changed_at DESC, seq DESC LIMIT ?3",
    )
    .bind(&[num(since.as_millis()), service.map_or(JsValue::NULL, text), num(i64::from(limit))])?
    .all()
    .await?
    .results()
}

/// An `incidents` row.
#[derive(Clone, Debug, Deserialize)]
pub struct IncidentRow {
    pub service_id: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub cause: String,
}

/// Recent incidents, newest first, optionally of one service.
pub async fn incidents(db: &D1Database, service: Option<&str>, limit: u32) -> Result<Vec<IncidentRow>> {
    let stmt = match service {
        Some(s) => db
            .prepare("SELECT * FROM incidents WHERE service_id = ?1 ORDER BY started_at DESC LIMIT ?2")
            .bind(&[text(s), num(i64::from(limit))])?,
        None => {
            db.prepare("SELECT * FROM incidents ORDER BY started_at DESC LIMIT ?1").bind(&[num(i64::from(limit))])?
        }
    };
    stmt.all().await?.results()
}

/// One day of one service from `uptime_daily`: (service id, day start in epoch ms UTC, tally).
pub type DayRow = (String, i64, Tally);

/// Daily rollups with `from <= day_start <= to` (ms), of every service or only of
/// `services` (bound as one JSON array and read with `json_each`, so any number of ids fits
/// D1's 100 bound parameters).
///
/// SQLite folds each service's days into one JSON array (`[[day_start, up_ms, degraded_ms,
/// late_ms, down_ms, heartbeats], …]`): one row per service crosses into the Worker instead
/// of one per day, which for 1,000 services × 120 days is the difference between reading
/// 1,000 strings and converting 120,000 JS objects field by field.
pub async fn daily(db: &D1Database, services: Option<&[&str]>, from: Timestamp, to: Timestamp) -> Result<Vec<DayRow>> {
    #[derive(Deserialize)]
    struct Days {
        service_id: String,
        days: String,
    }
    const DAYS: &str = "SELECT service_id, json_group_array(json_array(day_start, up_ms, degraded_ms, late_ms, \
                        down_ms, heartbeats)) AS days FROM uptime_daily WHERE day_start BETWEEN ?1 AND ?2";
    let (from, to) = (num(from.as_millis()), num(to.as_millis()));
    let stmt = match services {
        Some(ids) => db
            .prepare(format!("{DAYS} AND service_id IN (SELECT value FROM json_each(?3)) GROUP BY service_id"))
            .bind(&[from, to, text(&serde_json::to_string(ids)?)])?,
        None => db.prepare(format!("{DAYS} GROUP BY service_id")).bind(&[from, to])?,
    };
    let mut rows = Vec::new();
    for service in stmt.all().await?.results::<Days>()? {
        let days: Vec<[i64; 6]> = serde_json::from_str(&service.days)?;
        rows.extend(days.into_iter().map(|[day, up_ms, degraded_ms, late_ms, down_ms, heartbeats]| {
            (service.service_id.clone(), day, Tally { up_ms, degraded_ms, late_ms, down_ms, heartbeats })
        }));
    }
    Ok(rows)
}

/// Deletes one service's history older than the retention cutoffs (ms); returns rows deleted.
pub async fn prune(
    db: &D1Database,
    service: &str,
    heartbeats_before: Timestamp,
    uptime_before: Timestamp,
) -> Result<u64> {
    let id = text(service);
    let hb = num(heartbeats_before.as_millis());
    let up = num(uptime_before.as_millis());
    let statements = vec![
        db.prepare("DELETE FROM heartbeats WHERE service_id = ?1 AND received_at < ?2")
            .bind(&[id.clone(), hb.clone()])?,
        db.prepare("DELETE FROM uptime_5m WHERE service_id = ?1 AND bucket_start < ?2").bind(&[id.clone(), hb])?,
        db.prepare("DELETE FROM status_changes WHERE service_id = ?1 AND changed_at < ?2")
            .bind(&[id.clone(), up.clone()])?,
        db.prepare("DELETE FROM uptime_daily WHERE service_id = ?1 AND day_start < ?2")
            .bind(&[id.clone(), up.clone()])?,
        db.prepare("DELETE FROM incidents WHERE service_id = ?1 AND ended_at IS NOT NULL AND ended_at < ?2")
            .bind(&[id, up])?,
    ];
    let mut deleted = 0;
    for r in db.batch(statements).await? {
        deleted += r.meta()?.and_then(|m| m.changes).unwrap_or(0) as u64;
    }
    Ok(deleted)
}
