//! D1 `alert_history`: writing delivery attempts (idempotent by subject, delivery and
//! attempt) and reading them back for `GET /api/alerts/history`.

use serde::{Deserialize, Serialize};
use serde_json::json;
use systole_core::notify::queue::AttemptRecord;
use systole_core::time::Timestamp;
use wasm_bindgen::JsValue;
use worker::{D1Database, Env, Result};

use crate::deployment::{self, DB_BINDING};

const INSERT: &str = "INSERT OR REPLACE INTO alert_history \
    (subject, delivery_id, attempt, attempted_at, channel, channel_type, event, incident, http_status, error, \
     latency_ms, outcome, next_attempt_at) \
    SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
    json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), json_extract(value, '$[6]'), \
    json_extract(value, '$[7]'), json_extract(value, '$[8]'), json_extract(value, '$[9]'), json_extract(value, '$[10]'), \
    json_extract(value, '$[11]') FROM json_each(?2)";

/// Writes `records` of `subject` (a service id, `external` or `test`) in one statement.
///
/// # Errors
/// Any D1 error; nothing is written then.
pub async fn write(db: &D1Database, subject: &str, records: &[AttemptRecord]) -> Result<()> {
    let types = &deployment::notifications().channels;
    let rows: Vec<_> = records
        .iter()
        .map(|r| {
            let kind = types.iter().find(|c| c.name == r.channel).map(|c| c.kind.as_str());
            json!([
                r.delivery,
                r.attempt,
                r.at.as_millis(),
                r.channel,
                kind,
                r.event.as_str(),
                r.incident.map(Timestamp::as_millis),
                r.status,
                r.error,
                r.latency_ms,
                r.verdict.as_str(),
                r.next_attempt_at.map(Timestamp::as_millis),
            ])
        })
        .collect();
    let rows = serde_json::Value::Array(rows).to_string();
    db.prepare(INSERT).bind(&[JsValue::from_str(subject), JsValue::from_str(&rows)])?.run().await?;
    Ok(())
}

/// Writes `records` (a queue's unwritten attempts) and says how many and whether it worked,
/// for [`systole_core::notify::queue::DeliveryQueue::written`]; `None` when there are none.
/// A D1 failure is logged and retried later by the queue's schedule.
pub async fn flush(env: &Env, subject: &str, records: &[AttemptRecord]) -> Option<(usize, bool)> {
    if records.is_empty() {
        return None;
    }
    let n = records.len();
    let result = match env.d1(DB_BINDING) {
        Ok(db) => write(&db, subject, records).await,
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        worker::console_error!("writing {n} alert attempts of {subject} to D1: {e}");
    }
    Some((n, result.is_ok()))
}

/// One `alert_history` row as `GET /api/alerts/history` returns it (camelCase JSON; times
/// RFC 3339 UTC).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Row {
    pub subject: String,
    pub delivery_id: i64,
    pub attempt: i64,
    pub attempted_at: i64,
    pub channel: String,
    pub channel_type: Option<String>,
    pub event: String,
    pub incident: Option<i64>,
    pub http_status: Option<i64>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub outcome: String,
    pub next_attempt_at: Option<i64>,
}

impl Row {
    /// The row as API JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let time = |ms: i64| Timestamp(ms).to_rfc3339();
        json!({
            "subject": self.subject,
            "deliveryId": self.delivery_id,
            "attempt": self.attempt,
            "attemptedAt": time(self.attempted_at),
            "channel": self.channel,
            "channelType": self.channel_type,
            "event": self.event,
            "incidentStartedAt": self.incident.map(time),
            "httpStatus": self.http_status,
            "error": self.error,
            "latencyMs": self.latency_ms,
            "outcome": self.outcome,
            "nextAttemptAt": self.next_attempt_at.map(time),
        })
    }
}

/// Attempts with `since <= attempted_at`, newest first, at most `limit`, optionally only
/// those of one subject and/or one channel.
pub async fn read(
    db: &D1Database,
    since: Timestamp,
    subject: Option<&str>,
    channel: Option<&str>,
    limit: u32,
) -> Result<Vec<Row>> {
    let opt = |v: Option<&str>| v.map_or(JsValue::NULL, JsValue::from_str);
    db.prepare(
        "SELECT * FROM alert_history WHERE attempted_at >= ?1 AND (?2 IS NULL OR subject = ?2) \
         AND (?3 IS NULL OR channel = ?3) ORDER BY attempted_at DESC, attempt DESC LIMIT ?4",
    )
    .bind(&[
        JsValue::from_f64(since.as_millis() as f64),
        opt(subject),
        opt(channel),
        JsValue::from_f64(f64::from(limit)),
    ])?
    .all()
    .await?
    .results()
}
