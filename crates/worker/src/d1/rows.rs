//! One struct per D1 table, its fields the table's columns (same names, same order, times in
//! Unix epoch milliseconds UTC), read by serde from query results and written through
//! [`super::insert`]. Core values become rows here, field by field, so no serde name of a
//! core type ever reaches a column.

use serde::{Deserialize, Serialize};
use systole_core::api::status::StoredState;
use systole_core::history::Tally;
use systole_core::monitor::{Event, HeartbeatEvent, Incident, Status, StatusChange};
use systole_core::notify::external::AlertRow;
use systole_core::notify::queue::AttemptRecord;
use systole_core::record::ServiceSnapshot;
use systole_core::run::Run;
use systole_core::telemetry::MetricRollup;
use systole_core::time::Timestamp;

use super::{Conflict, Table};

/// Clamps a count or id into SQLite's INTEGER.
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `heartbeats` row.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct HeartbeatRow {
    /// The service.
    pub service_id: String,
    /// When its ServiceMonitor received it, ms.
    pub received_at: i64,
    /// Per-service sequence number.
    pub seq: i64,
    /// What it reported: `up`, `degraded` or `down`.
    pub status: String,
    /// Its message.
    pub message: Option<String>,
    /// Its metadata object, as JSON text.
    pub metadata: Option<String>,
    /// Its metrics object (clamped), as JSON text.
    pub metrics: Option<String>,
    /// Heartbeats of its service that UTC day, this one included: set on the newest
    /// heartbeat of each flush, `None` on the others (readers take the newest's).
    pub day_heartbeats: Option<i64>,
    /// Its run signal when not a plain success: `start`, `fail` or `log` (`None`: success).
    pub event: Option<String>,
    /// The exit status it carried, if any.
    pub exit_status: Option<i64>,
    /// 1 when the service was `pingedTooOften` after it (`None`: not).
    pub pinged_too_often: Option<i64>,
}

impl HeartbeatRow {
    /// The row of heartbeat `e` of `service_id` (without a day count).
    pub fn new(service_id: &str, e: &HeartbeatEvent) -> Self {
        Self {
            service_id: service_id.to_owned(),
            received_at: e.at.as_millis(),
            seq: int(e.seq),
            status: e.reported.as_str().to_owned(),
            message: e.message.clone(),
            metadata: e.metadata.clone(),
            metrics: e.metrics.clone(),
            day_heartbeats: None,
            event: (e.event != Event::Success).then(|| e.event.as_str().to_owned()),
            exit_status: e.exit_status.map(i64::from),
            pinged_too_often: e.pinged_too_often.then_some(1),
        }
    }
}

impl Table for HeartbeatRow {
    const NAME: &'static str = "heartbeats";
    const COLUMNS: &'static [&'static str] = &[
        "service_id",
        "received_at",
        "seq",
        "status",
        "message",
        "metadata",
        "metrics",
        "day_heartbeats",
        "event",
        "exit_status",
        "pinged_too_often",
    ];
    /// A replayed flush writes nothing; new rows mostly reuse stale ones first
    /// (`super::history::flush`).
    const CONFLICT: Conflict = Conflict::Ignore;
}

/// A `status_changes` row.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct ChangeRow {
    /// The service.
    pub service_id: String,
    /// When the status changed, ms.
    pub changed_at: i64,
    /// Per-service sequence number (shared with heartbeats).
    pub seq: i64,
    /// The status before.
    pub from_status: String,
    /// The status after.
    pub to_status: String,
    /// Why, in words.
    pub reason: String,
    /// The reason's kind (`noHeartbeat`, `missed`, `overrun`, `failed`, …; see
    /// [`systole_core::run::Reason`]); `None` in rows written before it was kept.
    pub kind: Option<String>,
    /// The newest heartbeat at or before the change, ms (read by
    /// [`super::read::changes_seen`] only).
    #[serde(default, skip_serializing)]
    pub last_seen: Option<i64>,
}

impl ChangeRow {
    /// The row of change `c` of `service_id`.
    pub fn new(service_id: &str, c: &StatusChange) -> Self {
        Self {
            service_id: service_id.to_owned(),
            changed_at: c.at.as_millis(),
            seq: int(c.seq),
            from_status: c.from.as_str().to_owned(),
            to_status: c.to.as_str().to_owned(),
            reason: c.reason.clone(),
            kind: c.kind.map(|k| k.as_str().to_owned()),
            last_seen: None,
        }
    }
}

impl Table for ChangeRow {
    const NAME: &'static str = "status_changes";
    const COLUMNS: &'static [&'static str] =
        &["service_id", "changed_at", "seq", "from_status", "to_status", "reason", "kind"];
    const CONFLICT: Conflict = Conflict::Ignore;
}

/// An `incidents` row.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct IncidentRow {
    /// The service.
    pub service_id: String,
    /// When it went down, ms.
    pub started_at: i64,
    /// When it recovered, ms; `None` while open.
    pub ended_at: Option<i64>,
    /// Why it went down.
    pub cause: String,
    /// The cause's kind (`noHeartbeat`, `missed`, `overrun`, `failed`, …; see
    /// [`systole_core::run::Reason`]); `None` in rows written before it was kept.
    pub kind: Option<String>,
    /// Why its alert was held (`suppressed: parent `db-prod` down since …`, see
    /// [`systole_core::dependency::Suppression`]); `None` when it was not.
    #[serde(default)]
    pub suppressed: Option<String>,
    /// When it was acknowledged, ms; `None` until someone does (and in rows written before).
    pub acknowledged_at: Option<i64>,
    /// Who acknowledged it: a user id, `api` or `link`.
    pub acknowledged_by: Option<String>,
}

impl IncidentRow {
    /// The row of incident `i` of `service_id`.
    pub fn new(service_id: &str, i: &Incident) -> Self {
        Self {
            service_id: service_id.to_owned(),
            started_at: i.started_at.as_millis(),
            ended_at: i.ended_at.map(Timestamp::as_millis),
            cause: i.cause.clone(),
            kind: i.kind.map(|k| k.as_str().to_owned()),
            suppressed: i.suppressed.as_ref().map(ToString::to_string),
            acknowledged_at: i.acknowledged.as_ref().map(|a| a.at.as_millis()),
            acknowledged_by: i.acknowledged.as_ref().map(|a| a.by.clone()),
        }
    }
}

impl Table for IncidentRow {
    const NAME: &'static str = "incidents";
    const COLUMNS: &'static [&'static str] =
        &["service_id", "started_at", "ended_at", "cause", "kind", "suppressed", "acknowledged_at", "acknowledged_by"];
    /// An incident is written open, then again acknowledged and closed; its `suppressed` mark
    /// is the last one written (a hold for a silent parent that became a parent's
    /// suppression says so once the incident is written again). An end or acknowledgement
    /// once stored stays: the acknowledgement is also written ahead of the flush, which may
    /// land after it.
    const CONFLICT: Conflict = Conflict::Fill {
        key: &["service_id", "started_at"],
        set: &["ended_at", "suppressed", "acknowledged_at", "acknowledged_by"],
    };
}

/// A `runs` row: one run of a job ([`Run`]).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct RunRow {
    /// The service.
    pub service_id: String,
    /// The run's number (the sequence number of its start, else of its end).
    pub n: i64,
    /// Its run id, if sent.
    pub run_id: Option<String>,
    /// When its start arrived, ms; `None` without a start.
    pub started_at: Option<i64>,
    /// When its end arrived, ms; `None` while overrun and unfinished, or dropped.
    pub ended_at: Option<i64>,
    /// Its duration, ms, if known.
    pub duration_ms: Option<i64>,
    /// `success`, `fail`, `overrun` or `unknown`.
    pub outcome: String,
    /// Its exit status, if sent.
    pub exit_status: Option<i64>,
    /// Why it counts as a failure (`failed`, `overrun`, `tooShort`, `tooLong`), if it does.
    pub reason: Option<String>,
    /// The first 10,000 bytes of its output, if sent.
    pub output: Option<String>,
}

impl RunRow {
    /// The row of run `r` of `service_id`.
    pub fn new(service_id: &str, r: &Run) -> Self {
        Self {
            service_id: service_id.to_owned(),
            n: int(r.n),
            run_id: r.run_id.clone(),
            started_at: r.started_at.map(Timestamp::as_millis),
            ended_at: r.ended_at.map(Timestamp::as_millis),
            duration_ms: r.duration_ms.map(int),
            outcome: r.outcome.as_str().to_owned(),
            exit_status: r.exit_status.map(i64::from),
            reason: r.reason.map(|k| k.as_str().to_owned()),
            output: r.output.clone(),
        }
    }
}

impl Table for RunRow {
    const NAME: &'static str = "runs";
    const COLUMNS: &'static [&'static str] = &[
        "service_id",
        "n",
        "run_id",
        "started_at",
        "ended_at",
        "duration_ms",
        "outcome",
        "exit_status",
        "reason",
        "output",
    ];
    /// An overrun run that finishes later replaces its row.
    const CONFLICT: Conflict = Conflict::Replace;
}

/// The tally columns of a rollup table after its key.
const TALLY: [&str; 5] = ["up_ms", "degraded_ms", "late_ms", "down_ms", "heartbeats"];

/// An `uptime_daily` row: time in each status within a UTC day (absolute totals).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct UptimeDailyRow {
    /// The service.
    pub service_id: String,
    /// The day's start (00:00 UTC), ms.
    pub day_start: i64,
    /// Time up, ms.
    pub up_ms: i64,
    /// Time degraded, ms.
    pub degraded_ms: i64,
    /// Time late, ms.
    pub late_ms: i64,
    /// Time down, ms.
    pub down_ms: i64,
    /// Heartbeats received.
    pub heartbeats: i64,
}

impl UptimeDailyRow {
    /// The row of `service_id`'s day starting at `day_start` (ms).
    pub fn new(service_id: &str, day_start: i64, t: &Tally) -> Self {
        Self {
            service_id: service_id.to_owned(),
            day_start,
            up_ms: t.up_ms,
            degraded_ms: t.degraded_ms,
            late_ms: t.late_ms,
            down_ms: t.down_ms,
            heartbeats: t.heartbeats,
        }
    }
}

impl Table for UptimeDailyRow {
    const NAME: &'static str = "uptime_daily";
    const COLUMNS: &'static [&'static str] =
        &["service_id", "day_start", "up_ms", "degraded_ms", "late_ms", "down_ms", "heartbeats"];
    const CONFLICT: Conflict = Conflict::Update { key: &["service_id", "day_start"], set: &TALLY };
}

/// A `service_state` row; as read by [`super::statuses`] also the service's latest
/// heartbeat time and message (computed, never written).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct StateRow {
    /// The service.
    pub service_id: String,
    /// Its status.
    pub status: String,
    /// Since when, ms.
    pub status_since: i64,
    /// When its open incident started, ms.
    pub incident_started_at: Option<i64>,
    /// Until when the rollups account for its time, ms.
    pub accounted_until: Option<i64>,
    /// When its last maintenance ended, ms (`migrations/0014_maintenance_housekeeping.sql`).
    pub resumed_at: Option<i64>,
    /// Its latest heartbeat's time, ms (read by [`super::statuses`] only).
    #[serde(default, skip_serializing)]
    pub last_heartbeat: Option<i64>,
    /// Its latest heartbeat's message (read by [`super::statuses`] only).
    #[serde(default, skip_serializing)]
    pub last_message: Option<String>,
    /// Its latest success or fail's `pinged_too_often` (read by [`super::statuses`] only).
    #[serde(default, skip_serializing)]
    pub pinged_too_often: Option<i64>,
}

impl StateRow {
    /// The row of `snapshot` with rollups written up to `until`.
    pub fn new(snapshot: &ServiceSnapshot, until: Timestamp) -> Self {
        Self {
            service_id: snapshot.service_id.as_str().to_owned(),
            status: snapshot.status.as_str().to_owned(),
            status_since: snapshot.status_since.as_millis(),
            incident_started_at: snapshot.incident_started_at.map(Timestamp::as_millis),
            accounted_until: Some(until.as_millis()),
            resumed_at: snapshot.resumed_at.map(Timestamp::as_millis),
            last_heartbeat: None,
            last_message: None,
            pinged_too_often: None,
        }
    }

    /// The row as core's stored state; `None` for a status name this version does not know.
    pub fn stored(&self) -> Option<StoredState> {
        Some(StoredState {
            service_id: self.service_id.clone(),
            status: Status::parse(&self.status)?,
            status_since: Timestamp::from_millis(self.status_since),
            incident_started_at: self.incident_started_at.map(Timestamp::from_millis),
            accounted_until: self.accounted_until.map(Timestamp::from_millis),
            resumed_at: self.resumed_at.map(Timestamp::from_millis),
            last_heartbeat: self.last_heartbeat.map(Timestamp::from_millis),
            last_message: self.last_message.clone(),
            pinged_too_often: self.pinged_too_often.is_some_and(|f| f != 0),
        })
    }
}

impl Table for StateRow {
    const NAME: &'static str = "service_state";
    const COLUMNS: &'static [&'static str] =
        &["service_id", "status", "status_since", "incident_started_at", "accounted_until", "resumed_at"];
    const CONFLICT: Conflict = Conflict::Update {
        key: &["service_id"],
        set: &["status", "status_since", "incident_started_at", "accounted_until", "resumed_at"],
    };
}

/// An `alert_history` row: one attempt to deliver one notification to one channel.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct AlertHistoryRow {
    /// A service id, `external` or `test`.
    pub subject: String,
    /// The delivery, unique within the subject.
    pub delivery_id: i64,
    /// 1-based attempt number; 0 when abandoned before any attempt.
    pub attempt: i64,
    /// When it was attempted, ms.
    pub attempted_at: i64,
    /// The channel's name.
    pub channel: String,
    /// The channel's type (`discord`, `slack`, …); `None` once no longer configured.
    pub channel_type: Option<String>,
    /// The event: `down`, `up`, `degraded`, `late`, `reminder`, `test` or `alert`.
    pub event: String,
    /// The incident's start, ms, for service events.
    pub incident: Option<i64>,
    /// The channel's HTTP status; `None` without an answer.
    pub http_status: Option<i64>,
    /// What went wrong.
    pub error: Option<String>,
    /// How long the attempt took, ms.
    pub latency_ms: i64,
    /// `delivered`, `retrying`, `failed` or `abandoned`.
    pub outcome: String,
    /// When it is retried, ms, while `retrying`.
    pub next_attempt_at: Option<i64>,
}

impl AlertHistoryRow {
    /// The row of attempt `r` of `subject` on a channel of type `channel_type`.
    pub fn new(subject: &str, r: &AttemptRecord, channel_type: Option<&str>) -> Self {
        Self {
            subject: subject.to_owned(),
            delivery_id: int(r.delivery),
            attempt: i64::from(r.attempt),
            attempted_at: r.at.as_millis(),
            channel: r.channel.clone(),
            channel_type: channel_type.map(str::to_owned),
            event: r.event.as_str().to_owned(),
            incident: r.incident.map(Timestamp::as_millis),
            http_status: r.status.map(i64::from),
            error: r.error.clone(),
            latency_ms: int(r.latency_ms),
            outcome: r.verdict.as_str().to_owned(),
            next_attempt_at: r.next_attempt_at.map(Timestamp::as_millis),
        }
    }

    /// The row as `GET /api/v1/alerts/history` returns it: `{"subject", "deliveryId",
    /// "attempt", "attemptedAt", "channel", "channelType", "event", "incidentStartedAt",
    /// "httpStatus", "error", "latencyMs", "outcome", "nextAttemptAt"}`, times RFC 3339 UTC.
    pub fn to_json(&self) -> serde_json::Value {
        let time = |ms: i64| Timestamp::from_millis(ms).to_rfc3339();
        serde_json::json!({
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

impl Table for AlertHistoryRow {
    const NAME: &'static str = "alert_history";
    const COLUMNS: &'static [&'static str] = &[
        "subject",
        "delivery_id",
        "attempt",
        "attempted_at",
        "channel",
        "channel_type",
        "event",
        "incident",
        "http_status",
        "error",
        "latency_ms",
        "outcome",
        "next_attempt_at",
    ];
    const CONFLICT: Conflict = Conflict::Replace;
}

/// An `external_alerts` row: an external alert's latest state, by sender and fingerprint.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct ExternalAlertRow {
    /// Its fingerprint.
    pub fingerprint: String,
    /// `generic`, `alertmanager` or `grafana`.
    pub format: String,
    /// `firing` or `resolved`.
    pub state: String,
    /// Its title.
    pub title: String,
    /// Its message.
    pub message: String,
    /// `critical`, `error`, `warning` or `info`.
    pub severity: String,
    /// Who sent it.
    pub source: String,
    /// Its labels, as JSON object text.
    pub labels: String,
    /// Its link.
    pub url: Option<String>,
    /// When it started, ms.
    pub starts_at: Option<i64>,
    /// When it ended, ms.
    pub ends_at: Option<i64>,
    /// When a request last carried it, ms.
    pub received_at: i64,
    /// When it was last sent to channels, ms.
    pub notified_at: Option<i64>,
    /// Requests that repeated it without a change since it was last sent.
    pub repeats: i64,
    /// Its sender (`<format>.<key id>`, empty for rows written before senders were told
    /// apart); with the fingerprint, the row's key.
    pub sender: String,
}

impl ExternalAlertRow {
    /// The row of the desk's `r`.
    pub fn new(r: &AlertRow) -> Self {
        let a = &r.alert;
        Self {
            fingerprint: a.fingerprint.clone(),
            format: r.format.clone(),
            state: a.state.as_str().to_owned(),
            title: a.title.clone(),
            message: a.message.clone(),
            severity: a.severity.as_str().to_owned(),
            source: a.source.clone(),
            labels: serde_json::to_string(&a.labels).unwrap_or_default(),
            url: a.url.clone(),
            starts_at: a.starts_at.map(Timestamp::as_millis),
            ends_at: a.ends_at.map(Timestamp::as_millis),
            received_at: r.tracked.received_at.as_millis(),
            notified_at: r.tracked.notified_at.map(Timestamp::as_millis),
            repeats: i64::from(r.tracked.repeats),
            sender: r.sender.clone(),
        }
    }

    /// The row as `GET /api/v1/alerts/recent` returns it: `{"fingerprint", "format", "state",
    /// "title", "message", "severity", "source", "labels" (object), "url", "startsAt",
    /// "endsAt", "receivedAt", "notifiedAt", "repeats"}`, times RFC 3339 UTC.
    pub fn to_json(&self) -> serde_json::Value {
        let time = |ms: i64| Timestamp::from_millis(ms).to_rfc3339();
        serde_json::json!({
            "fingerprint": self.fingerprint, "format": self.format, "state": self.state, "title": self.title,
            "message": self.message, "severity": self.severity, "source": self.source,
            "labels": serde_json::from_str::<serde_json::Value>(&self.labels).unwrap_or_default(),
            "url": self.url, "startsAt": self.starts_at.map(time), "endsAt": self.ends_at.map(time),
            "receivedAt": time(self.received_at), "notifiedAt": self.notified_at.map(time), "repeats": self.repeats,
        })
    }
}

impl Table for ExternalAlertRow {
    const NAME: &'static str = "external_alerts";
    const COLUMNS: &'static [&'static str] = &[
        "fingerprint",
        "format",
        "state",
        "title",
        "message",
        "severity",
        "source",
        "labels",
        "url",
        "starts_at",
        "ends_at",
        "received_at",
        "notified_at",
        "repeats",
        "sender",
    ];
    const CONFLICT: Conflict = Conflict::Replace;
}

/// A `metric_rollups` row: one metric's values in one bucket of one service.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct MetricRollupRow {
    /// The service.
    pub service_id: String,
    /// The metric's name.
    pub metric: String,
    /// The bucket's width, ms (300,000 or 86,400,000).
    pub width_ms: i64,
    /// The bucket's start, ms.
    pub bucket_start: i64,
    /// Values seen.
    pub count: i64,
    /// Their sum.
    pub sum: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
}

impl MetricRollupRow {
    /// The row of bucket `r` of `service_id`.
    pub fn new(service_id: &str, r: &MetricRollup) -> Self {
        Self {
            service_id: service_id.to_owned(),
            metric: r.name.clone(),
            width_ms: r.resolution.width_ms().unwrap_or_default(),
            bucket_start: r.start,
            count: int(r.count),
            sum: r.sum,
            min: r.min,
            max: r.max,
        }
    }

    /// The bucket this row holds (`None` for a width that is no rollup resolution).
    pub fn rollup(&self) -> Option<MetricRollup> {
        Some(MetricRollup {
            resolution: systole_core::telemetry::Resolution::of_width(self.width_ms)?,
            name: self.metric.clone(),
            start: self.bucket_start,
            count: u64::try_from(self.count).unwrap_or_default(),
            sum: self.sum,
            min: self.min,
            max: self.max,
        })
    }
}

impl Table for MetricRollupRow {
    const NAME: &'static str = "metric_rollups";
    const COLUMNS: &'static [&'static str] =
        &["service_id", "metric", "width_ms", "bucket_start", "count", "sum", "min", "max"];
    /// Absolute totals of a closed bucket: a repeated flush writes the same row.
    const CONFLICT: Conflict = Conflict::Replace;
}

#[cfg(test)]
mod tests {
    //! Native (`cargo test -p systole-worker --lib`): every row struct writes exactly its
    //! table's columns as `migrations/` create them, under their names.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::d1::insert_sql;

    const MIGRATIONS: &[&str] = &[
        include_str!("../../../../migrations/0001_history.sql"),
        include_str!("../../../../migrations/0002_alerts.sql"),
        include_str!("../../../../migrations/0003_status_changes_by_time.sql"),
        include_str!("../../../../migrations/0004_external_alerts_by_sender.sql"),
        include_str!("../../../../migrations/0005_housekeeping.sql"),
        include_str!("../../../../migrations/0006_heartbeat_ring.sql"),
        include_str!("../../../../migrations/0007_runs.sql"),
        include_str!("../../../../migrations/0010_signals.sql"),
        include_str!("../../../../migrations/0011_dependencies.sql"),
        include_str!("../../../../migrations/0012_acknowledgements.sql"),
        include_str!("../../../../migrations/0013_telemetry.sql"),
        include_str!("../../../../migrations/0014_maintenance_housekeeping.sql"),
    ];

    /// The columns of the last `CREATE TABLE {table}` in the migrations, in order, with the
    /// columns later migrations add (`ALTER TABLE {table} ADD COLUMN`).
    fn schema(table: &str) -> Vec<String> {
        let create = format!("CREATE TABLE {table} (");
        let at = MIGRATIONS.iter().rposition(|m| m.contains(&create)).unwrap();
        let sql = MIGRATIONS[at].split_once(&create).unwrap().1;
        let body = &sql[..sql.find(") WITHOUT ROWID").unwrap()];
        let mut columns: Vec<String> = body
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("--") && !l.starts_with("PRIMARY KEY"))
            .map(|l| l.split_whitespace().next().unwrap().to_owned())
            .collect();
        let add = format!("ALTER TABLE {table} ADD COLUMN ");
        for m in &MIGRATIONS[at..] {
            columns.extend(
                m.lines().filter_map(|l| l.strip_prefix(&add)).map(|l| l.split_whitespace().next().unwrap().to_owned()),
            );
        }
        columns
    }

    /// The keys `row` serializes to, sorted.
    fn keys<T: Serialize>(row: &T) -> Vec<String> {
        let serde_json::Value::Object(map) = serde_json::to_value(row).unwrap() else { panic!("not an object") };
        map.keys().cloned().collect()
    }

    fn check<T: Table + Default>() {
        let mut columns = T::COLUMNS.to_vec();
        columns.sort_unstable();
        assert_eq!(keys(&T::default()), columns, "{}: the struct's fields are its columns", T::NAME);
        assert_eq!(schema(T::NAME), T::COLUMNS, "{}: the columns are the migrations' columns", T::NAME);
        if let Conflict::Update { key, set } | Conflict::Fill { key, set } = T::CONFLICT {
            assert!(key.iter().chain(set).all(|c| T::COLUMNS.contains(c)), "{}", T::NAME);
        }
    }

    #[test]
    fn every_row_struct_writes_exactly_its_tables_columns() {
        check::<HeartbeatRow>();
        check::<ChangeRow>();
        check::<IncidentRow>();
        check::<RunRow>();
        check::<UptimeDailyRow>();
        check::<StateRow>();
        check::<AlertHistoryRow>();
        check::<ExternalAlertRow>();
        check::<MetricRollupRow>();
    }

    #[test]
    fn inserts_read_each_column_by_name() {
        assert_eq!(
            insert_sql::<IncidentRow>(),
            "INSERT INTO incidents (service_id, started_at, ended_at, cause, kind, suppressed, acknowledged_at, \
             acknowledged_by) SELECT json_extract(value, '$.service_id'), json_extract(value, '$.started_at'), \
             json_extract(value, '$.ended_at'), json_extract(value, '$.cause'), json_extract(value, '$.kind'), \
             json_extract(value, '$.suppressed'), json_extract(value, '$.acknowledged_at'), json_extract(value, \
             '$.acknowledged_by') FROM json_each(?1) WHERE true ON CONFLICT (service_id, started_at) DO UPDATE SET \
             ended_at = COALESCE(excluded.ended_at, ended_at), suppressed = \
             COALESCE(excluded.suppressed, suppressed), acknowledged_at = \
             COALESCE(excluded.acknowledged_at, acknowledged_at), acknowledged_by = \
             COALESCE(excluded.acknowledged_by, acknowledged_by)"
        );
        assert!(insert_sql::<HeartbeatRow>().starts_with("INSERT OR IGNORE INTO heartbeats (service_id, "));
        assert!(insert_sql::<AlertHistoryRow>().starts_with("INSERT OR REPLACE INTO alert_history (subject, "));
    }

    #[test]
    fn core_values_become_rows_field_by_field() {
        use systole_core::monitor::Reported;
        let e = HeartbeatEvent {
            seq: 7,
            at: Timestamp::from_millis(1_000),
            reported: Reported::Degraded,
            message: Some("slow".into()),
            metadata: Some(r#"{"k":1}"#.into()),
            metrics: None,
            event: systole_core::monitor::Event::Success,
            exit_status: None,
            pinged_too_often: false,
        };
        let row = HeartbeatRow::new("api", &e);
        assert_eq!(
            serde_json::to_value(&row).unwrap(),
            serde_json::json!({"service_id": "api", "received_at": 1000, "seq": 7, "status": "degraded",
                "message": "slow", "metadata": "{\"k\":1}", "metrics": null, "day_heartbeats": null, "event": null,
                "exit_status": null, "pinged_too_often": null})
        );
        let c = StatusChange {
            seq: 8,
            at: Timestamp::from_millis(2_000),
            from: Status::Up,
            to: Status::Down,
            reason: "r".into(),
            kind: None,
        };
        assert_eq!(
            serde_json::to_value(ChangeRow::new("api", &c)).unwrap(),
            serde_json::json!({"service_id": "api", "changed_at": 2000, "seq": 8, "from_status": "up",
                "to_status": "down", "reason": "r", "kind": null})
        );
        let i = Incident {
            started_at: Timestamp::from_millis(3_000),
            ended_at: None,
            cause: "c".into(),
            kind: None,
            suppressed: None,
            acknowledged: Some(systole_core::escalation::Acknowledgement {
                by: "ana".into(),
                at: Timestamp::from_millis(4_000),
            }),
            escalated: 1,
        };
        assert_eq!(
            serde_json::to_value(IncidentRow::new("api", &i)).unwrap(),
            serde_json::json!({"service_id": "api", "started_at": 3000, "ended_at": null, "cause": "c", "kind": null,
                "suppressed": null, "acknowledged_at": 4000, "acknowledged_by": "ana"})
        );
    }
}
