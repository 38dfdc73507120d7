//! A ServiceMonitor's history flush, and the cron's retention pruning.

use systole_core::budget::Kind;
use systole_core::config::ServiceId;
use systole_core::history::FlushBatch;
use systole_core::record::ServiceSnapshot;
use systole_core::time::Timestamp;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Result};

use super::rows::{ChangeRow, HeartbeatRow, IncidentRow, StateRow, Uptime5mRow, UptimeDailyRow};
use super::{insert, num, text, Table};

/// Writes one flush in a single D1 batch (a transaction): heartbeats, status changes,
/// incidents, 5-minute and daily rollups, and with the rollups the service's state. Returns
/// the rows D1 reports written (`meta.rows_written`, indexes included).
///
/// # Errors
/// Any D1 error; nothing is written then and the caller retries the same batch.
pub async fn flush(db: &D1Database, batch: &FlushBatch, snapshot: &ServiceSnapshot) -> Result<u64> {
    crate::budget::count(Kind::D1);
    let id = snapshot.service_id.as_str();
    let o = &batch.outbox;
    let mut statements = Vec::new();
    add(db, &mut statements, o.heartbeats.iter().map(|e| HeartbeatRow::new(id, e)))?;
    add(db, &mut statements, o.changes.iter().map(|c| ChangeRow::new(id, c)))?;
    add(db, &mut statements, o.incidents.iter().map(|i| IncidentRow::new(id, i)))?;
    add(db, &mut statements, batch.five_min.iter().map(|(start, t)| Uptime5mRow::new(id, *start, t)))?;
    add(db, &mut statements, batch.daily.iter().map(|(start, t)| UptimeDailyRow::new(id, *start, t)))?;
    add(db, &mut statements, batch.rollups_until.map(|until| StateRow::new(snapshot, until)))?;
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

/// Appends the [`insert`] of `rows` to `statements`, unless there are none.
fn add<T: Table>(
    db: &D1Database,
    statements: &mut Vec<D1PreparedStatement>,
    rows: impl IntoIterator<Item = T>,
) -> Result<()> {
    let rows: Vec<T> = rows.into_iter().collect();
    if !rows.is_empty() {
        statements.push(insert(db, &rows)?);
    }
    Ok(())
}

/// The statements deleting the history of `services` older than the retention cutoffs
/// (ms): heartbeats and 5-minute rollups before `heartbeats_before`; status changes, daily
/// rollups and closed incidents before `uptime_before`. Five statements whatever the number
/// of services: each names them as one JSON array parameter (`json_each`), so SQLite seeks
/// each service's rows by primary key.
///
/// # Errors
/// Serialization or binding errors.
pub fn prune(
    db: &D1Database,
    services: &[&ServiceId],
    heartbeats_before: Timestamp,
    uptime_before: Timestamp,
) -> Result<Vec<D1PreparedStatement>> {
    let ids = text(&serde_json::to_string(services)?);
    let hb = num(heartbeats_before.as_millis());
    let up = num(uptime_before.as_millis());
    let delete = |table: &str, column: &str, extra: &str, before: &JsValue| {
        let sql = format!(
            "DELETE FROM {table} WHERE service_id IN (SELECT value FROM json_each(?1)) AND {extra}{column} < ?2"
        );
        db.prepare(sql).bind(&[ids.clone(), before.clone()])
    };
    Ok(vec![
        delete("heartbeats", "received_at", "", &hb)?,
        delete("uptime_5m", "bucket_start", "", &hb)?,
        delete("status_changes", "changed_at", "", &up)?,
        delete("uptime_daily", "day_start", "", &up)?,
        delete("incidents", "ended_at", "ended_at IS NOT NULL AND ", &up)?,
    ])
}

/// Runs the pruning `statements` (of [`prune`] and `alerts::prune_external`) as one D1
/// batch; returns the rows deleted.
///
/// # Errors
/// Any D1 error.
pub async fn run_prune(db: &D1Database, statements: Vec<D1PreparedStatement>) -> Result<u64> {
    if statements.is_empty() {
        return Ok(0);
    }
    crate::budget::count(Kind::D1);
    let mut deleted = 0;
    for r in db.batch(statements).await? {
        deleted += r.meta()?.and_then(|m| m.changes).unwrap_or(0) as u64;
    }
    Ok(deleted)
}

/// The paged watchdog's cursor: the last service id the previous tick asked
/// (`housekeeping` row `watchdog`), `None` before the first paged tick.
///
/// # Errors
/// Any D1 error.
pub async fn watchdog_cursor(db: &D1Database) -> Result<Option<String>> {
    crate::budget::count(Kind::D1);
    let row: Option<serde_json::Value> =
        db.prepare("SELECT value FROM housekeeping WHERE name = 'watchdog'").first(None).await?;
    Ok(row.and_then(|r| r.get("value").and_then(|v| v.as_str()).map(str::to_owned)))
}

/// Stores the watchdog's cursor (one row written).
///
/// # Errors
/// Any D1 error.
pub async fn store_watchdog_cursor(db: &D1Database, last: &ServiceId) -> Result<()> {
    crate::budget::count(Kind::D1);
    db.prepare("INSERT OR REPLACE INTO housekeeping (name, value) VALUES ('watchdog', ?1)")
        .bind(&[text(last.as_str())])?
        .run()
        .await?;
    Ok(())
}
