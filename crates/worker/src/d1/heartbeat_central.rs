//! D1 reads of Heartbeat Central's API (`routes::heartbeat_central`): the highest
//! application id in use, and applications' heartbeats from the `heartbeats` table.

use serde::Deserialize;
use systole_core::compat::heartbeat_central::ID_PREFIX;
use systole_core::time::Timestamp;
use worker::{D1Database, Result};

use super::{num, text};
use systole_core::budget::Kind;

/// The highest application id among managed services (`hc-{n}`), 0 when there is none.
///
/// # Errors
/// Any D1 error.
pub async fn max_app_id(db: &D1Database) -> Result<u64> {
    #[derive(Deserialize)]
    struct Max {
        n: Option<i64>,
    }
    crate::budget::count(Kind::D1);
    // Ids from `hc-` up to `hc.` (`.` follows `-`): one range of the primary key.
    let max: Option<Max> = db
        .prepare("SELECT MAX(CAST(substr(id, ?1) AS INTEGER)) AS n FROM managed_services WHERE id >= ?2 AND id < ?3")
        .bind(&[num(ID_PREFIX.len() as i64 + 1), text(ID_PREFIX), text("hc.")])?
        .first(None)
        .await?;
    Ok(max.and_then(|m| m.n).and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

/// Each of `services`' newest heartbeat time (those with any), by service id.
///
/// # Errors
/// Any D1 error.
pub async fn last_heartbeats(db: &D1Database, services: &[String]) -> Result<Vec<(String, Timestamp)>> {
    #[derive(Deserialize)]
    struct Last {
        service_id: String,
        received_at: i64,
    }
    crate::budget::count(Kind::D1);
    let ids = serde_json::to_string(services)?;
    let rows: Vec<Last> = db
        .prepare(
            "SELECT service_id, MAX(received_at) AS received_at FROM heartbeats \
             WHERE service_id IN (SELECT value FROM json_each(?1)) GROUP BY service_id",
        )
        .bind(&[text(&ids)])?
        .all()
        .await?
        .results()?;
    Ok(rows.into_iter().map(|r| (r.service_id, Timestamp::from_millis(r.received_at))).collect())
}

/// One page of a service's heartbeats, newest first, as (sequence number, received at):
/// `limit` after skipping `offset`.
///
/// # Errors
/// Any D1 error.
pub async fn heartbeats(db: &D1Database, service: &str, limit: u32, offset: u64) -> Result<Vec<(i64, Timestamp)>> {
    #[derive(Deserialize)]
    struct Beat {
        seq: i64,
        received_at: i64,
    }
    crate::budget::count(Kind::D1);
    let rows: Vec<Beat> = db
        .prepare(
            "SELECT seq, received_at FROM heartbeats WHERE service_id = ?1 \
             ORDER BY received_at DESC, seq DESC LIMIT ?2 OFFSET ?3",
        )
        .bind(&[text(service), num(i64::from(limit)), num(i64::try_from(offset).unwrap_or(i64::MAX))])?
        .all()
        .await?
        .results()?;
    Ok(rows.into_iter().map(|r| (r.seq, Timestamp::from_millis(r.received_at))).collect())
}

/// How many heartbeats of `service` D1 holds.
///
/// # Errors
/// Any D1 error.
pub async fn count(db: &D1Database, service: &str) -> Result<u64> {
    #[derive(Deserialize)]
    struct Count {
        n: i64,
    }
    crate::budget::count(Kind::D1);
    let c: Option<Count> = db
        .prepare("SELECT COUNT(*) AS n FROM heartbeats WHERE service_id = ?1")
        .bind(&[text(service)])?
        .first(None)
        .await?;
    Ok(c.and_then(|c| u64::try_from(c.n).ok()).unwrap_or(0))
}

/// Deletes every heartbeat of `service` (a deleted application's).
///
/// # Errors
/// Any D1 error.
pub async fn forget_heartbeats(db: &D1Database, service: &str) -> Result<()> {
    crate::budget::count(Kind::D1);
    db.prepare("DELETE FROM heartbeats WHERE service_id = ?1").bind(&[text(service)])?.run().await?;
    Ok(())
}
