//! A ServiceMonitor's history flush, and the cron's retention pruning.

use systole_core::budget::Kind;
use systole_core::config::ServiceId;
use systole_core::history::{stale_heartbeats, FlushBatch, Stale};
use systole_core::monitor::Incident;
use systole_core::record::ServiceSnapshot;
use systole_core::time::Timestamp;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Result};

use super::rows::{ChangeRow, HeartbeatRow, IncidentRow, MetricRollupRow, RunRow, StateRow, UptimeDailyRow};
use super::{insert, num, text, Table};

/// Writes one flush in a single D1 batch (a transaction): heartbeats (into the service's
/// ring, [`ring`]), status changes, incidents, runs (one row each), the closed metric rollup
/// buckets (one row each), and when due the daily rollups and the service's state. Returns the rows D1 reports written (`meta.rows_written`, indexes
/// included): one per heartbeat in steady state.
///
/// # Errors
/// Any D1 error; nothing is written then and the caller retries the same batch.
pub async fn flush(db: &D1Database, batch: &FlushBatch, snapshot: &ServiceSnapshot) -> Result<u64> {
    crate::budget::count(Kind::D1);
    let id = snapshot.service_id.as_str();
    let o = &batch.outbox;
    let mut statements = Vec::new();
    let mut beats: Vec<HeartbeatRow> = o.heartbeats.iter().map(|e| HeartbeatRow::new(id, e)).collect();
    if let (Some(last), Some(newest)) = (beats.last_mut(), o.heartbeats.last()) {
        last.day_heartbeats = batch.day_heartbeats;
        let settings = &crate::deployment::config().settings;
        let stale =
            stale_heartbeats(newest.seq, newest.at, settings.heartbeats_kept, settings.heartbeat_retention_days);
        statements.extend(ring(db, id, &beats, stale)?);
    }
    add(db, &mut statements, beats)?;
    add(db, &mut statements, o.changes.iter().map(|c| ChangeRow::new(id, c)))?;
    add(db, &mut statements, o.incidents.iter().map(|i| IncidentRow::new(id, i)))?;
    add(db, &mut statements, o.runs.iter().map(|r| RunRow::new(id, r)))?;
    add(db, &mut statements, batch.daily.iter().map(|(start, t)| UptimeDailyRow::new(id, *start, t)))?;
    add(db, &mut statements, batch.metric_rollups.iter().map(|r| MetricRollupRow::new(id, r)))?;
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

/// Writes one incident row of `service_id` at once, ahead of the next flush (see
/// `systole_core::durable::Write::Incident`). Never clears what a later write stored (the
/// table fills, see [`IncidentRow`]'s conflict), so it may land in any order with flushes.
///
/// # Errors
/// Any D1 error.
pub async fn incident(db: &D1Database, service_id: &str, incident: &Incident) -> Result<()> {
    crate::budget::count(Kind::D1);
    insert(db, &[IncidentRow::new(service_id, incident)])?.run().await?;
    Ok(())
}

/// The two statements that make room for one service's new heartbeat `rows` (then inserted
/// with [`insert`], `INSERT OR IGNORE`) in its ring, each reading the service's oldest
/// `2 × rows.len()` rows by primary key and keeping the [`Stale`] ones, oldest first:
///
/// 1. [`trim_sql`] deletes those ranked after `rows.len()`: only a service holding more rows
///    than its ring (written before the ring, or after `history.heartbeatsKept` was lowered)
///    has any, and loses at most one per new heartbeat until it fits;
/// 2. [`recycle_sql`] moves the first `rows.len()` of them to the new rows' keys and values
///    (an `UPDATE` of the key: one billed row write, where an insert and the delete at
///    retention would be two), each paired with a new row not stored yet (so a replayed
///    flush moves nothing); the insert then finds those rows present and writes only the
///    rest.
///
/// Parameters: `?1` the rows as JSON, `?2` the service, `?3` [`Stale::seq_at_most`], `?4`
/// [`Stale::before`] (ms), `?5` the number of rows.
///
/// # Errors
/// Serialization or binding errors.
fn ring(db: &D1Database, id: &str, rows: &[HeartbeatRow], stale: Stale) -> Result<Vec<D1PreparedStatement>> {
    let params = [
        text(&serde_json::to_string(rows)?),
        text(id),
        num(stale.seq_at_most),
        num(stale.before.as_millis()),
        num(i64::try_from(rows.len()).unwrap_or(i64::MAX)),
    ];
    Ok(vec![db.prepare(trim_sql()).bind(&params)?, db.prepare(recycle_sql()).bind(&params)?])
}

/// The [`Stale`] rows among the service's oldest `2 × ?5`, numbered `i` from 1 (oldest
/// first), read by primary key.
const STALE: &str = "stale AS (SELECT received_at AS at, seq AS s, \
     row_number() OVER (ORDER BY received_at, seq) AS i FROM (SELECT received_at, seq FROM heartbeats \
     WHERE service_id = ?2 ORDER BY received_at, seq LIMIT 2 * ?5) WHERE seq <= ?3 OR received_at < ?4)";

/// Deletes the stale rows beyond the first `?5` (see [`ring`]; `?1` is unused).
pub(crate) fn trim_sql() -> String {
    format!(
        "WITH {STALE} DELETE FROM heartbeats WHERE service_id = ?2 \
         AND (received_at, seq) IN (SELECT at, s FROM stale WHERE i > ?5)"
    )
}

/// Moves the first `?5` stale rows to the new rows not stored yet (`new`, numbered `i` from
/// 1, oldest first; see [`ring`]): every column but the service is set from the new row's
/// field of its name.
pub(crate) fn recycle_sql() -> String {
    let set: Vec<String> =
        HeartbeatRow::COLUMNS.iter().skip(1).map(|c| format!("{c} = json_extract(new.v, '$.{c}')")).collect();
    format!(
        "WITH new AS (SELECT j.value AS v, row_number() OVER (ORDER BY json_extract(j.value, '$.received_at'), \
         json_extract(j.value, '$.seq')) AS i FROM json_each(?1) j WHERE NOT EXISTS (SELECT 1 FROM heartbeats h \
         WHERE h.service_id = ?2 AND h.received_at = json_extract(j.value, '$.received_at') \
         AND h.seq = json_extract(j.value, '$.seq'))), {STALE} \
         UPDATE heartbeats SET {} FROM stale JOIN new USING (i) WHERE heartbeats.service_id = ?2 \
         AND heartbeats.received_at = stale.at AND heartbeats.seq = stale.s",
        set.join(", ")
    )
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
/// (ms): heartbeats before `heartbeats_before` (only those of services that beat too rarely
/// to reuse them, or stopped: see [`ring`]); status changes, daily rollups and closed
/// incidents and runs (by their end, else their start) before `uptime_before`; and one-off
/// maintenance windows (`maintenance_windows`, of any service) that ended before
/// `heartbeats_before`, through the `maintenance_windows_by_end` index (recurring windows
/// never end and stay). Six statements whatever the number of services: the first five
/// name them as one JSON array parameter (`json_each`), so SQLite seeks each service's rows
/// by primary key.
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
        delete("status_changes", "changed_at", "", &up)?,
        delete("uptime_daily", "day_start", "", &up)?,
        delete("incidents", "ended_at", "ended_at IS NOT NULL AND ", &up)?,
        delete("runs", "COALESCE(ended_at, started_at, 0)", "", &up)?,
        db.prepare("DELETE FROM maintenance_windows WHERE ends_at IS NOT NULL AND ends_at < ?1").bind(&[hb])?,
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

#[cfg(test)]
mod tests {
    //! Native: the ring's statements as D1 runs them (their effect is tested end to end in
    //! `tests/tests/housekeeping.rs`).
    use super::*;

    #[test]
    fn the_ring_moves_every_column_but_the_service_and_binds_the_same_five_parameters() {
        let recycle = recycle_sql();
        for c in HeartbeatRow::COLUMNS.iter().skip(1) {
            assert!(recycle.contains(&format!("{c} = json_extract(new.v, '$.{c}')")), "{c}");
        }
        assert!(!recycle.contains("SET service_id"));
        for sql in [recycle, trim_sql()] {
            assert!(sql.contains("?5") && !sql.contains("?6"), "{sql}");
            assert!(sql.contains("LIMIT 2 * ?5) WHERE seq <= ?3 OR received_at < ?4"), "{sql}");
        }
    }
}
