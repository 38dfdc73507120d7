//! A ServiceMonitor's history flush, and the cron's retention pruning.

use systole_core::history::FlushBatch;
use systole_core::record::ServiceSnapshot;
use systole_core::time::Timestamp;
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

/// Deletes one service's history older than the retention cutoffs (ms): heartbeats and
/// 5-minute rollups before `heartbeats_before`; status changes, daily rollups and closed
/// incidents before `uptime_before`. Returns the rows deleted.
///
/// # Errors
/// Any D1 error.
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
