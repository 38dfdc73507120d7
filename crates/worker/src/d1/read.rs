//! The read APIs' and pages' queries of the monitoring history.

use std::collections::BTreeMap;

use serde::Deserialize;
use systole_core::api::prometheus::{NotificationCount, StoredMetrics};
use systole_core::api::status::Summary;
use systole_core::budget::Kind;
use systole_core::config::ServiceConfig;
use systole_core::history::Tally;
use systole_core::monitor::HeartbeatEvent;
use systole_core::time::Timestamp;
use wasm_bindgen::JsValue;
use worker::{D1Database, Result};

use super::rows::{ChangeRow, HeartbeatRow, IncidentRow, StateRow};

/// A `runs` row as listed: every column but the output, and whether it has one.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct RunListed {
    /// The run's number.
    pub n: i64,
    /// Its run id.
    pub run_id: Option<String>,
    /// When it started, ms.
    pub started_at: Option<i64>,
    /// When it ended, ms.
    pub ended_at: Option<i64>,
    /// Its duration, ms.
    pub duration_ms: Option<i64>,
    /// `success`, `fail`, `overrun` or `unknown`.
    pub outcome: String,
    /// Its exit status.
    pub exit_status: Option<i64>,
    /// Why it failed, if it did.
    pub reason: Option<String>,
    /// 1 when it has output (SQLite's boolean).
    pub has_output: i64,
}

/// Up to `limit` runs of `service` numbered below `before` (all when `None`), newest first.
///
/// # Errors
/// Any D1 error.
pub async fn runs(db: &D1Database, service: &str, before: Option<u64>, limit: u32) -> Result<Vec<RunListed>> {
    crate::budget::count(Kind::D1);
    let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
    db.prepare(
        "SELECT n, run_id, started_at, ended_at, duration_ms, outcome, exit_status, reason, \
         output IS NOT NULL AS has_output FROM runs WHERE service_id = ?1 AND n < ?2 ORDER BY n DESC LIMIT ?3",
    )
    .bind(&[text(service), num(before), num(i64::from(limit))])?
    .all()
    .await?
    .results()
}

/// The output of run `n` of `service`: `None` when there is no such run or it has none.
///
/// # Errors
/// Any D1 error.
pub async fn run_output(db: &D1Database, service: &str, n: u64) -> Result<Option<String>> {
    #[derive(Deserialize)]
    struct Output {
        output: Option<String>,
    }
    crate::budget::count(Kind::D1);
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let row: Option<Output> = db
        .prepare("SELECT output FROM runs WHERE service_id = ?1 AND n = ?2")
        .bind(&[text(service), num(n)])?
        .first(None)
        .await?;
    Ok(row.and_then(|r| r.output))
}
use super::{num, text};

/// The last written state of the services `ids` only (bound as one JSON array).
///
/// # Errors
/// Any D1 error.
pub async fn states_of(db: &D1Database, ids: &[&str]) -> Result<Vec<StateRow>> {
    crate::budget::count(Kind::D1);
    db.prepare("SELECT * FROM service_state WHERE service_id IN (SELECT value FROM json_each(?1))")
        .bind(&[text(&serde_json::to_string(ids)?)])?
        .all()
        .await?
        .results()
}

/// Every service's last written state with its latest heartbeat, found by primary-key seek
/// (the cloudflaremon routes' whole-fleet answers; the native API and pages read a page,
/// [`statuses_of`]).
///
/// # Errors
/// Any D1 error.
pub async fn statuses(db: &D1Database) -> Result<Vec<StateRow>> {
    crate::budget::count(Kind::D1);
    db.prepare(WITH_LAST).all().await?.results()
}

/// The columns of [`statuses`]: the state row with its latest heartbeat's time, message and
/// `pinged_too_often` flag, each found by primary-key seek (a run's `start` and `log` signals
/// move no deadline, so they are not the last heartbeat).
const WITH_LAST: &str = "SELECT s.*, \
     (SELECT received_at FROM heartbeats h WHERE h.service_id = s.service_id \
      AND (h.event IS NULL OR h.event = 'fail') ORDER BY received_at DESC, seq DESC LIMIT 1) AS last_heartbeat, \
     (SELECT message FROM heartbeats h WHERE h.service_id = s.service_id \
      AND (h.event IS NULL OR h.event = 'fail') ORDER BY received_at DESC, seq DESC LIMIT 1) AS last_message, \
     (SELECT pinged_too_often FROM heartbeats h WHERE h.service_id = s.service_id \
      AND (h.event IS NULL OR h.event = 'fail') ORDER BY received_at DESC, seq DESC LIMIT 1) AS pinged_too_often \
     FROM service_state s";

/// [`statuses`] of only the services `ids` (bound as one JSON array, any number): one page's.
///
/// # Errors
/// Any D1 error.
pub async fn statuses_of(db: &D1Database, ids: &[&str]) -> Result<Vec<StateRow>> {
    crate::budget::count(Kind::D1);
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    db.prepare(format!("{WITH_LAST} WHERE s.service_id IN (SELECT value FROM json_each(?1))"))
        .bind(&[text(&serde_json::to_string(ids)?)])?
        .all()
        .await?
        .results()
}

/// The services in `need` (`down`, `late`, `degraded`) with their latest heartbeat, most
/// recently changed first, at most `limit`; of every service, or only of `ids`. D1 scans
/// `service_state` (one small row per service); only the matches cross into the Worker.
///
/// # Errors
/// Any D1 error.
pub async fn attention(db: &D1Database, ids: Option<&[&str]>, limit: u32) -> Result<Vec<StateRow>> {
    crate::budget::count(Kind::D1);
    const NEED: &str = "s.status IN ('down', 'late', 'degraded')";
    const ORDER: &str = "ORDER BY s.status_since DESC, s.service_id LIMIT";
    let stmt = match ids {
        Some(ids) => db
            .prepare(format!(
                "{WITH_LAST} WHERE {NEED} AND s.service_id IN (SELECT value FROM json_each(?1)) {ORDER} ?2"
            ))
            .bind(&[text(&serde_json::to_string(ids)?), num(i64::from(limit))])?,
        None => db.prepare(format!("{WITH_LAST} WHERE {NEED} {ORDER} ?1")).bind(&[num(i64::from(limit))])?,
    };
    stmt.all().await?.results()
}

/// The services a [`summary`] counts, ready to bind: their ids and those of the disabled
/// ones, each as one JSON array, and how many of each. Built once per isolate for the whole
/// fleet (`routes::status::counted`), so a request does not serialize every id again.
#[derive(Clone, Debug)]
pub struct Counted {
    ids: String,
    disabled: String,
    total: u32,
    disabled_total: u32,
}

impl Counted {
    /// The services `services` (every service a caller sees).
    ///
    /// # Errors
    /// None in practice (serializing strings).
    pub fn of<'a>(services: impl Iterator<Item = &'a ServiceConfig> + Clone) -> Result<Self> {
        let ids: Vec<&str> = services.clone().map(|s| s.id.as_str()).collect();
        let disabled: Vec<&str> = services.filter(|s| !s.enabled).map(|s| s.id.as_str()).collect();
        let count = |v: &[&str]| u32::try_from(v.len()).unwrap_or(u32::MAX);
        Ok(Self {
            total: count(&ids),
            disabled_total: count(&disabled),
            ids: serde_json::to_string(&ids)?,
            disabled: serde_json::to_string(&disabled)?,
        })
    }
}

/// The summary counts of the services `counted` (every service a caller sees), counted by
/// D1: `service_state` rows of those services grouped by status, with how many of each are
/// disabled; the services without a row (never written) are counted by difference, as
/// `unknown` or `paused` when disabled (`Summary::from_stored`, as `api::status::current`).
/// SQLite looks each row up in the bound id list (one index built per query), never parses
/// a JSON value per service, and only one `(status, n, disabled)` row per status crosses
/// into the Worker, whatever the fleet's size.
///
/// # Errors
/// Any D1 error.
pub async fn summary(db: &D1Database, counted: &Counted) -> Result<Summary> {
    crate::budget::count(Kind::D1);
    #[derive(Deserialize)]
    struct Count {
        status: String,
        n: u32,
        disabled: u32,
    }
    let rows: Vec<Count> = db
        .prepare(
            "SELECT status, COUNT(*) AS n, SUM(service_id IN (SELECT value FROM json_each(?2))) AS disabled \
             FROM service_state WHERE service_id IN (SELECT value FROM json_each(?1)) GROUP BY status",
        )
        .bind(&[text(&counted.ids), text(&counted.disabled)])?
        .all()
        .await?
        .results()?;
    let stored = rows.iter().map(|c| (c.status.as_str(), c.n, c.disabled));
    Ok(Summary::from_stored(stored, counted.total, counted.disabled_total))
}

/// Up to `limit` heartbeats of one service received before `before` (ms), newest first
/// (callers ask one more than they show, to cut pages; see `api::query::page`).
///
/// # Errors
/// Any D1 error.
pub async fn heartbeats(
    db: &D1Database,
    service: &str,
    before: Option<Timestamp>,
    limit: u32,
) -> Result<Vec<HeartbeatRow>> {
    crate::budget::count(Kind::D1);
    db.prepare(
        "SELECT * FROM heartbeats WHERE service_id = ?1 AND received_at < ?2 \
         ORDER BY received_at DESC, seq DESC LIMIT ?3",
    )
    .bind(&[text(service), num(before.map_or(i64::MAX / 2, Timestamp::as_millis)), num(i64::from(limit))])?
    .all()
    .await?
    .results()
}

/// Status changes at or after `since` (ms), newest first, at most `limit`, optionally of one
/// service.
///
/// # Errors
/// Any D1 error.
pub async fn status_changes(
    db: &D1Database,
    service: Option<&str>,
    since: Timestamp,
    limit: u32,
) -> Result<Vec<ChangeRow>> {
    crate::budget::count(Kind::D1);
    db.prepare(
        "SELECT * FROM status_changes WHERE changed_at >= ?1 AND (?2 IS NULL OR service_id = ?2) \
         ORDER BY changed_at DESC, seq DESC LIMIT ?3",
    )
    .bind(&[num(since.as_millis()), service.map_or(JsValue::NULL, text), num(i64::from(limit))])?
    .all()
    .await?
    .results()
}

/// [`status_changes`] with each change's `last_seen`: the newest heartbeat at or before it
/// (a primary-key seek per change).
///
/// # Errors
/// Any D1 error.
pub async fn changes_seen(
    db: &D1Database,
    service: Option<&str>,
    since: Timestamp,
    limit: u32,
) -> Result<Vec<ChangeRow>> {
    crate::budget::count(Kind::D1);
    db.prepare(
        "SELECT c.*, (SELECT h.received_at FROM heartbeats h WHERE h.service_id = c.service_id \
         AND h.received_at <= c.changed_at ORDER BY h.received_at DESC, h.seq DESC LIMIT 1) AS last_seen \
         FROM status_changes c WHERE c.changed_at >= ?1 AND (?2 IS NULL OR c.service_id = ?2) \
         ORDER BY c.changed_at DESC, c.seq DESC LIMIT ?3",
    )
    .bind(&[num(since.as_millis()), service.map_or(JsValue::NULL, text), num(i64::from(limit))])?
    .all()
    .await?
    .results()
}

/// Recent incidents, newest first, optionally of one service and of one cause `kind` (rows
/// written before kinds were kept have none and match no kind).
///
/// # Errors
/// Any D1 error.
pub async fn incidents(
    db: &D1Database,
    service: Option<&str>,
    kind: Option<&str>,
    limit: u32,
) -> Result<Vec<IncidentRow>> {
    crate::budget::count(Kind::D1);
    let kind = kind.map_or(JsValue::NULL, text);
    let stmt = match service {
        Some(s) => db
            .prepare(
                "SELECT * FROM incidents WHERE service_id = ?1 AND (?3 IS NULL OR kind = ?3) \
                 ORDER BY started_at DESC LIMIT ?2",
            )
            .bind(&[text(s), num(i64::from(limit)), kind])?,
        None => db
            .prepare("SELECT * FROM incidents WHERE (?2 IS NULL OR kind = ?2) ORDER BY started_at DESC LIMIT ?1")
            .bind(&[num(i64::from(limit)), kind])?,
    };
    stmt.all().await?.results()
}

/// The incident of `service` that started at `started_at` (ms), if D1 holds it.
///
/// # Errors
/// Any D1 error.
pub async fn incident(db: &D1Database, service: &str, started_at: i64) -> Result<Option<IncidentRow>> {
    crate::budget::count(Kind::D1);
    db.prepare("SELECT * FROM incidents WHERE service_id = ?1 AND started_at = ?2")
        .bind(&[text(service), num(started_at)])?
        .first(None)
        .await
}

/// One day of one service from `uptime_daily`: (service id, day start in epoch ms UTC, tally).
pub type DayRow = (String, i64, Tally);

/// Daily rollups with `from <= day_start <= to` (ms), of every service or only of
/// `services` (bound as one JSON array and read with `json_each`, so any number of ids fits
/// D1's 100 bound parameters), each day's heartbeat count completed from the service's
/// newest heartbeat: its row's `day_heartbeats` counts its UTC day up to it, so the day's
/// count is the larger of the two (the daily rollup is written with status changes and once
/// a day, not with each heartbeat; a day with heartbeats but no rollup row yet gets a row of
/// its count alone, its time coming from the open interval).
///
/// SQLite folds each service's days into one JSON array (`[[day_start, up_ms, degraded_ms,
/// late_ms, down_ms, heartbeats], …]`) with its newest heartbeat (`[received_at,
/// day_heartbeats]`, a primary-key seek): one row per service crosses into the Worker instead
/// of one per day, which for 1,000 services × 120 days is the difference between reading
/// 1,000 strings and converting 120,000 JS objects field by field.
///
/// # Errors
/// Any D1 error, or a `days` array that is not as built.
pub async fn daily(db: &D1Database, services: Option<&[&str]>, from: Timestamp, to: Timestamp) -> Result<Vec<DayRow>> {
    crate::budget::count(Kind::D1);
    #[derive(Deserialize)]
    struct Days {
        service_id: String,
        days: Option<String>,
        newest: Option<String>,
    }
    const COLUMNS: &str = "SELECT s.service_id AS service_id, (SELECT json_group_array(json_array(day_start, \
         up_ms, degraded_ms, late_ms, down_ms, heartbeats)) FROM uptime_daily d WHERE d.service_id = s.service_id \
         AND day_start BETWEEN ?1 AND ?2) AS days, (SELECT json_array(received_at, day_heartbeats) FROM heartbeats h \
         WHERE h.service_id = s.service_id ORDER BY received_at DESC, seq DESC LIMIT 1) AS newest";
    let (from_ms, to_ms) = (from.as_millis(), to.as_millis());
    let stmt = match services {
        Some(ids) => db
            .prepare(format!("{COLUMNS} FROM (SELECT DISTINCT value AS service_id FROM json_each(?3)) s"))
            .bind(&[num(from_ms), num(to_ms), text(&serde_json::to_string(ids)?)])?,
        None => db
            .prepare(format!(
                "{COLUMNS} FROM (SELECT service_id FROM uptime_daily WHERE day_start BETWEEN ?1 AND ?2 \
                 UNION SELECT service_id FROM service_state) s"
            ))
            .bind(&[num(from_ms), num(to_ms)])?,
    };
    let mut rows = Vec::new();
    for service in stmt.all().await?.results::<Days>()? {
        let days: Vec<[i64; 6]> = serde_json::from_str(service.days.as_deref().unwrap_or("[]"))?;
        let mut by_day: BTreeMap<i64, Tally> = BTreeMap::new();
        for [day, up_ms, degraded_ms, late_ms, down_ms, heartbeats] in days {
            by_day.insert(day, Tally { up_ms, degraded_ms, late_ms, down_ms, heartbeats });
        }
        let newest: Option<(i64, Option<i64>)> = service.newest.as_deref().map(serde_json::from_str).transpose()?;
        if let Some((at, Some(count))) = newest {
            let day = Timestamp::from_millis(at).day_start().as_millis();
            if (from_ms..=to_ms).contains(&day) {
                let tally = by_day.entry(day).or_default();
                tally.heartbeats = tally.heartbeats.max(count);
            }
        }
        rows.extend(by_day.into_iter().map(|(day, tally)| (service.service_id.clone(), day, tally)));
    }
    Ok(rows)
}

/// What a ServiceMonitor loaded afresh reads back (see `ServiceRecord::catch_up`), in one D1
/// batch: the heartbeats of `service` received at or after `since` (ms; `None`: any time)
/// with sequence numbers from `seq` on, oldest first, at most `limit` (the ones it wrote
/// through to D1 after its stored record; a primary-key range read), and the time up to which
/// D1 holds its rollups (`service_state.accounted_until`), if any.
///
/// # Errors
/// Any D1 error, or a row that does not parse.
pub async fn catch_up(
    db: &D1Database,
    service: &str,
    since: Option<Timestamp>,
    seq: u64,
    limit: u32,
) -> Result<(Vec<HeartbeatEvent>, Option<Timestamp>)> {
    crate::budget::count(Kind::D1);
    let heartbeats = db
        .prepare(
            "SELECT seq, received_at AS at, status AS reported, message, metadata, metrics FROM heartbeats \
             WHERE service_id = ?1 AND received_at >= ?2 AND seq >= ?3 ORDER BY received_at, seq LIMIT ?4",
        )
        .bind(&[
            text(service),
            num(since.map_or(0, Timestamp::as_millis)),
            num(i64::try_from(seq).unwrap_or(i64::MAX)),
            num(i64::from(limit)),
        ])?;
    let state = db.prepare("SELECT accounted_until FROM service_state WHERE service_id = ?1").bind(&[text(service)])?;
    let results = db.batch(vec![heartbeats, state]).await?;
    let [beats, state] = results.as_slice() else {
        return Err(worker::Error::RustError("D1 answered a batch of two with another count".into()));
    };
    #[derive(Deserialize)]
    struct Until {
        accounted_until: Option<i64>,
    }
    let until = state.results::<Until>()?.first().and_then(|u| u.accounted_until).map(Timestamp::from_millis);
    Ok((beats.results()?, until))
}

/// What `GET /metrics` shows (`systole_core::api::prometheus`), in one D1 batch of two
/// statements: every `service_state` row with its newest heartbeat's time and day count
/// (primary-key seeks) and its incidents started at or after `day_start` (a primary-key
/// range), folded by SQLite into JSON arrays of up to [`METRICS_CHUNK`] services each (a few
/// strings cross into the Worker instead of one JS object per service); and the
/// notification attempts at or after `day_start` grouped by channel and outcome (the
/// `alert_history_by_time` index).
///
/// # Errors
/// Any D1 error, or a chunk that is not as built.
pub async fn metrics(db: &D1Database, day_start: Timestamp) -> Result<(Vec<StoredMetrics>, Vec<NotificationCount>)> {
    crate::budget::count(Kind::D1);
    let services = db
        .prepare(format!(
            "SELECT json_group_array(json(r)) AS chunk FROM (SELECT json_array(s.service_id, s.status, \
             s.incident_started_at, s.resumed_at, \
             (SELECT received_at FROM heartbeats h WHERE h.service_id = s.service_id \
              AND (h.event IS NULL OR h.event = 'fail') ORDER BY received_at DESC, seq DESC LIMIT 1), \
             (SELECT day_heartbeats FROM heartbeats h WHERE h.service_id = s.service_id \
              ORDER BY received_at DESC, seq DESC LIMIT 1), \
             (SELECT COUNT(*) FROM incidents i WHERE i.service_id = s.service_id AND i.started_at >= ?1), \
             (SELECT duration_ms FROM runs r WHERE r.service_id = s.service_id AND r.duration_ms IS NOT NULL \
              ORDER BY n DESC LIMIT 1)) AS r, \
             (row_number() OVER (ORDER BY s.service_id) - 1) / {METRICS_CHUNK} AS n FROM service_state s) \
             GROUP BY n"
        ))
        .bind(&[num(day_start.as_millis())])?;
    let notifications = db
        .prepare(
            "SELECT channel, outcome, COUNT(*) AS n FROM alert_history WHERE attempted_at >= ?1 \
             GROUP BY channel, outcome",
        )
        .bind(&[num(day_start.as_millis())])?;
    let results = db.batch(vec![services, notifications]).await?;
    let [services, notifications] = results.as_slice() else {
        return Err(worker::Error::RustError("D1 answered a batch of two with another count".into()));
    };
    #[derive(Deserialize)]
    struct Chunk {
        chunk: String,
    }
    type Row = (String, String, Option<i64>, Option<i64>, Option<i64>, Option<i64>, u64, Option<i64>);
    let mut rows = Vec::new();
    for chunk in services.results::<Chunk>()? {
        let parsed: Vec<Row> = serde_json::from_str(&chunk.chunk)?;
        rows.extend(parsed.into_iter().map(|(service_id, status, incident, resumed, last, day, incidents, run)| {
            StoredMetrics {
                service_id,
                status,
                incident_started_at: incident.map(Timestamp::from_millis),
                resumed_at: resumed.map(Timestamp::from_millis),
                last_heartbeat: last.map(Timestamp::from_millis),
                day_heartbeats: day.and_then(|d| u64::try_from(d).ok()),
                incidents_today: incidents,
                last_run_duration_ms: run.and_then(|d| u64::try_from(d).ok()),
            }
        }));
    }
    #[derive(Deserialize)]
    struct Count {
        channel: String,
        outcome: String,
        n: u64,
    }
    let counts = notifications
        .results::<Count>()?
        .into_iter()
        .map(|c| NotificationCount { channel: c.channel, outcome: c.outcome, count: c.n })
        .collect();
    Ok((rows, counts))
}

/// Services per JSON chunk of [`metrics`]: at most ~150 bytes each, so a chunk stays far
/// below D1's 2 MB value limit.
const METRICS_CHUNK: u32 = 2_000;
