//! The alerting tables: `alert_history` (every delivery attempt) and `external_alerts`
//! (each external alert's latest state).

use systole_core::budget::Kind;
use systole_core::notify::external::AlertRow;
use systole_core::notify::queue::AttemptRecord;
use systole_core::time::Timestamp;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Result};

use super::rows::{AlertHistoryRow, ExternalAlertRow};
use super::{insert, num, text};

/// Writes `records` of `subject` (a service id, `external` or `test`) in one statement,
/// idempotent by (subject, delivery, attempt); `channel_type` names each channel's type.
///
/// # Errors
/// Any D1 error; nothing is written then.
pub async fn write_attempts(
    db: &D1Database,
    subject: &str,
    records: &[AttemptRecord],
    channel_type: impl Fn(&str) -> Option<&'static str>,
) -> Result<()> {
    crate::budget::count(Kind::D1);
    let rows: Vec<_> = records.iter().map(|r| AlertHistoryRow::new(subject, r, channel_type(&r.channel))).collect();
    insert(db, &rows)?.run().await?;
    Ok(())
}

/// Attempts with `since <= attempted_at`, newest first, at most `limit`, optionally only
/// those of one subject and/or one channel.
///
/// # Errors
/// Any D1 error.
pub async fn attempts(
    db: &D1Database,
    since: Timestamp,
    subject: Option<&str>,
    channel: Option<&str>,
    limit: u32,
) -> Result<Vec<AlertHistoryRow>> {
    crate::budget::count(Kind::D1);
    let opt = |v: Option<&str>| v.map_or(JsValue::NULL, text);
    db.prepare(
        "SELECT * FROM alert_history WHERE attempted_at >= ?1 AND (?2 IS NULL OR subject = ?2) \
         AND (?3 IS NULL OR channel = ?3) ORDER BY attempted_at DESC, attempt DESC LIMIT ?4",
    )
    .bind(&[num(since.as_millis()), opt(subject), opt(channel), num(i64::from(limit))])?
    .all()
    .await?
    .results()
}

/// Writes the AlertDesk's `rows` (each alert's latest state) in one statement, replacing
/// the stored rows of the same fingerprints.
///
/// # Errors
/// Any D1 error; nothing is written then.
pub async fn write_external(db: &D1Database, rows: &[AlertRow]) -> Result<()> {
    crate::budget::count(Kind::D1);
    let rows: Vec<_> = rows.iter().map(ExternalAlertRow::new).collect();
    insert(db, &rows)?.run().await?;
    Ok(())
}

/// External alerts received at or after `since` (ms), newest first, at most `limit`.
///
/// # Errors
/// Any D1 error.
pub async fn external(db: &D1Database, since: Timestamp, limit: u32) -> Result<Vec<ExternalAlertRow>> {
    crate::budget::count(Kind::D1);
    db.prepare("SELECT * FROM external_alerts WHERE received_at >= ?1 ORDER BY received_at DESC LIMIT ?2")
        .bind(&[num(since.as_millis()), num(i64::from(limit))])?
        .all()
        .await?
        .results()
}

/// The statements trimming `external_alerts` to the file's `settings.alertHistory`: delete
/// the alerts last received before `before` (`maxAgeDays`), then all but the newest `keep`
/// (`maxAlerts`). Either limit may be off (no statement). Run by
/// `d1::history::run_prune`.
///
/// # Errors
/// Binding errors.
pub fn prune_external(
    db: &D1Database,
    before: Option<Timestamp>,
    keep: Option<u32>,
) -> Result<Vec<D1PreparedStatement>> {
    let mut statements = Vec::new();
    if let Some(before) = before {
        statements
            .push(db.prepare("DELETE FROM external_alerts WHERE received_at < ?1").bind(&[num(before.as_millis())])?);
    }
    if let Some(keep) = keep {
        statements.push(
            db.prepare(
                "DELETE FROM external_alerts WHERE (sender, fingerprint) NOT IN \
                 (SELECT sender, fingerprint FROM external_alerts ORDER BY received_at DESC, fingerprint, sender \
                 LIMIT ?1)",
            )
            .bind(&[num(i64::from(keep))])?,
        );
    }
    Ok(statements)
}
