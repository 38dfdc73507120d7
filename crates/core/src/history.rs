//! What a ServiceMonitor owes D1: buffered heartbeats, status changes and incidents, and the
//! uptime tallies (daily rollups) accrued from status time.
//!
//! Rows are written idempotently (insert-or-ignore by sequence number, replace by key, and
//! rollups as absolute totals), so a flush repeated after a crash never double-counts.
//!
//! D1 keeps each service's heartbeats as a ring ([`HEARTBEATS_KEPT`], [`stale_heartbeats`]):
//! a heartbeat's row reuses the service's oldest stale row (an `UPDATE` of its key, one billed
//! row write) instead of being inserted and later deleted (two).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::maintenance::MaintenanceUptime;
use crate::monitor::{Effect, HeartbeatEvent, Incident, Status, StatusChange};
use crate::run::Run;
use crate::telemetry::{MetricRollup, MetricRollups};
use crate::time::{Timestamp, DAY_MS};

/// Width of a short rollup bucket: 5 minutes, in milliseconds (the cloudflaremon
/// compatibility's checks, computed from status changes when read; see
/// [`crate::compat::cloudflaremon::uptime`]).
pub const BUCKET_MS: i64 = 300_000;
/// Heartbeats D1 keeps per service by default (`history.heartbeatsKept`): those among its
/// newest this many sequence numbers (status changes share them).
pub const HEARTBEATS_KEPT: u32 = 1_000;
/// Buffered heartbeats that trigger a flush at once instead of waiting for the interval.
pub const FLUSH_NOW_HEARTBEATS: usize = 200;
/// Buffered heartbeats beyond which new ones are refused (503) until a flush succeeds.
pub const MAX_BUFFERED_HEARTBEATS: usize = 2_000;
/// Buffered bytes (message + metadata + metrics) beyond which new heartbeats are refused.
pub const MAX_BUFFERED_BYTES: usize = 1 << 20;
/// Runs buffered for D1 at most (the oldest is dropped beyond; runs flush at once, so only an
/// unreachable D1 gets here).
pub const MAX_BUFFERED_RUNS: usize = 64;
/// Bytes of run output buffered for D1 at most (the oldest runs' outputs are dropped beyond).
pub const MAX_BUFFERED_OUTPUT: usize = 64 * 1024;
/// Slots of the ring of event rows a ServiceMonitor keeps its heartbeats in (at least
/// [`MAX_BUFFERED_HEARTBEATS`], so an unflushed heartbeat is never overwritten).
pub const RING_SLOTS: u64 = 2_048;
/// Heartbeats written through to D1 (see [`History::may_write_through`]) that the stored
/// record may lag behind before it is rewritten: a load reads them back from D1
/// ([`crate::record::ServiceRecord::catch_up`]), so this bounds that read (one state row
/// write per this many sparse heartbeats).
pub const MAX_UNSTORED_THROUGH: u64 = 64;

/// One recorded heartbeat as its own row of the ServiceMonitor's storage: table `events`,
/// `slot` ([`EventRow::slot`], the primary key), `n`, `flushed` and the event as JSON
/// ([`HeartbeatEvent`]). Heartbeats are numbered 1, 2, … per service in the order they are
/// recorded (`n`, distinct from `seq`, which status changes share), and heartbeat `n` lives
/// in slot `n % RING_SLOTS`, overwriting the one `RING_SLOTS` before it (long flushed): a
/// heartbeat writes one small row whatever the buffer holds, and nothing is ever deleted.
/// Each row also carries the flushed position when it was written, so a flush need not
/// rewrite the state row to store it: the next heartbeat's row does.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// The heartbeat's number (1, 2, …).
    pub n: u64,
    /// [`History::flushed`] when the row was written.
    pub flushed: u64,
    /// The heartbeat.
    pub event: HeartbeatEvent,
}

impl EventRow {
    /// Its slot in the ring: `n % RING_SLOTS`.
    pub fn slot(&self) -> u64 {
        self.n % RING_SLOTS
    }
}

/// The slot ranges `[start, end)` that hold heartbeats `from .. from + len` (at most two: the
/// ring wraps), in the heartbeats' order. `len` is capped at [`RING_SLOTS`].
pub fn ring_ranges(from: u64, len: u64) -> Vec<(u64, u64)> {
    let len = len.min(RING_SLOTS);
    let start = from % RING_SLOTS;
    let end = start + len;
    if end <= RING_SLOTS {
        vec![(start, end)]
    } else {
        vec![(start, RING_SLOTS), (0, end - RING_SLOTS)]
    }
}

/// Time spent in each status (milliseconds) and heartbeats received, within one bucket.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    /// Milliseconds `up`.
    pub up_ms: i64,
    /// Milliseconds `degraded`.
    pub degraded_ms: i64,
    /// Milliseconds `late` (deadline passed, inside grace).
    pub late_ms: i64,
    /// Milliseconds `down`.
    pub down_ms: i64,
    /// Heartbeats received.
    pub heartbeats: i64,
}

impl Tally {
    /// Adds `ms` milliseconds spent in `status`; `unknown`, `paused` and `maintenance` time
    /// is not monitored and is not counted.
    pub fn add(&mut self, status: Status, ms: i64) {
        match status {
            Status::Up => self.up_ms += ms,
            Status::Degraded => self.degraded_ms += ms,
            Status::Late => self.late_ms += ms,
            Status::Down => self.down_ms += ms,
            Status::Unknown | Status::Paused | Status::Maintenance => {}
        }
    }

    /// Milliseconds monitored (all counted statuses).
    pub fn monitored_ms(&self) -> i64 {
        self.up_ms + self.degraded_ms + self.late_ms + self.down_ms
    }

    /// Uptime in percent: time not `down` over time monitored (`late` and `degraded` count
    /// as available); `None` when nothing was monitored.
    pub fn uptime_percent(&self) -> Option<f64> {
        let total = self.monitored_ms();
        (total > 0).then(|| 100.0 * (total - self.down_ms) as f64 / total as f64)
    }
}

/// Uptime tallies accrued by a monitor per UTC day (keys are day starts in epoch
/// milliseconds), covering time up to `accounted_until`. Records stored before daily-only
/// rollups also held 5-minute buckets (`fiveMin`); a load ignores them.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollups {
    /// Time up to which status time has been accrued.
    pub accounted_until: Option<Timestamp>,
    /// Daily buckets not yet final in D1 (each an absolute total of its day so far).
    pub daily: BTreeMap<i64, Tally>,
    /// Metric rollup buckets not yet written to D1 (absent in records stored before
    /// telemetry rollups).
    #[serde(default, skip_serializing_if = "is_empty")]
    pub metrics: MetricRollups,
}

fn is_empty(m: &MetricRollups) -> bool {
    m.0.is_empty()
}

impl Rollups {
    /// Accrues the time from `accounted_until` to `until` as spent in `status`, split at day
    /// boundaries. Going backwards in time is ignored.
    pub fn accrue(&mut self, until: Timestamp, status: Status) {
        let Some(from) = self.accounted_until else {
            self.accounted_until = Some(until);
            return;
        };
        if until <= from {
            return;
        }
        accrue_into(&mut self.daily, DAY_MS, from.as_millis(), until.as_millis(), status);
        self.accounted_until = Some(until);
    }

    /// Counts one heartbeat received at `at`.
    pub fn count_heartbeat(&mut self, at: Timestamp) {
        self.daily.entry(at.as_millis().div_euclid(DAY_MS) * DAY_MS).or_default().heartbeats += 1;
    }

    /// Drops days that ended at or before `t` (already written in full).
    pub fn prune_through(&mut self, t: Timestamp) {
        self.daily.retain(|start, _| start + DAY_MS > t.as_millis());
    }
}

/// The bytes a heartbeat counts against [`MAX_BUFFERED_BYTES`]: its message, metadata and
/// metrics.
fn event_bytes(hb: &HeartbeatEvent) -> usize {
    [&hb.message, &hb.metadata, &hb.metrics].iter().map(|s| s.as_ref().map_or(0, String::len)).sum()
}

/// Adds the time from `from` to `until` (ms) spent in `status` to `map`'s buckets of `width`
/// ms (keyed by bucket start), split at bucket boundaries; `unknown`, `paused` and
/// `maintenance` time is not monitored and adds nothing.
pub fn accrue_into(map: &mut BTreeMap<i64, Tally>, width: i64, from: i64, until: i64, status: Status) {
    if matches!(status, Status::Unknown | Status::Paused | Status::Maintenance) {
        return;
    }
    let mut t = from;
    while t < until {
        let start = t.div_euclid(width) * width;
        let end = (start + width).min(until);
        map.entry(start).or_default().add(status, end - t);
        t = end;
    }
}

/// Rows waiting to be written to D1.
///
/// Stored with the record except its heartbeats (and their byte count), which live in event
/// rows ([`EventRow`]) and are read back from them; records of version 1 held them here
/// (see [`crate::record::ServiceRecord::upgrade`]).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outbox {
    /// Heartbeats, oldest first.
    #[serde(default, skip_serializing)]
    pub heartbeats: Vec<HeartbeatEvent>,
    /// Status changes, oldest first.
    pub changes: Vec<StatusChange>,
    /// Incidents opened or closed (latest version of each, by `started_at`).
    pub incidents: Vec<Incident>,
    /// Runs finished, declared overrun or dropped (latest version of each, by `n`; absent in
    /// records stored before runs existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<Run>,
    /// When the oldest buffered row was added.
    pub since: Option<Timestamp>,
    /// Bytes of message, metadata and metrics buffered.
    #[serde(default, skip_serializing)]
    pub bytes: usize,
}

impl Outbox {
    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.heartbeats.is_empty() && self.changes.is_empty() && self.incidents.is_empty() && self.runs.is_empty()
    }

    fn push_incident(&mut self, incident: Incident) {
        self.incidents.retain(|i| i.started_at != incident.started_at);
        self.incidents.push(incident);
    }

    /// Buffers a run (replacing an earlier version of it), within the bounds: at most
    /// [`MAX_BUFFERED_RUNS`] runs (the oldest is dropped beyond) and [`MAX_BUFFERED_OUTPUT`]
    /// bytes of output (the oldest runs lose theirs beyond), so the record stays small while
    /// D1 is unreachable.
    fn push_run(&mut self, run: Run) {
        self.runs.retain(|r| r.n != run.n);
        self.runs.push(run);
        if self.runs.len() > MAX_BUFFERED_RUNS {
            self.runs.remove(0);
        }
        let mut total: usize = self.runs.iter().map(|r| r.output.as_ref().map_or(0, String::len)).sum();
        for r in &mut self.runs {
            if total <= MAX_BUFFERED_OUTPUT {
                break;
            }
            total -= r.output.take().map_or(0, |o| o.len());
        }
    }

    /// Puts an unacknowledged earlier outbox back in front of this one.
    fn prepend(&mut self, mut earlier: Outbox) {
        earlier.heartbeats.append(&mut self.heartbeats);
        earlier.changes.append(&mut self.changes);
        for i in self.incidents.drain(..) {
            earlier.push_incident(i);
        }
        for r in self.runs.drain(..) {
            earlier.push_run(r);
        }
        earlier.since = match (earlier.since, self.since) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        earlier.bytes += self.bytes;
        *self = earlier;
    }
}

/// Why a heartbeat was refused before being recorded.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
pub enum Backpressure {
    /// Too many heartbeats are waiting for D1 (it has been failing); retry shortly.
    #[error("history buffer is full ({0} heartbeats waiting for the database); retry shortly")]
    BufferFull(usize),
}

/// The history side of a ServiceMonitor: what is pending, what is being written, the
/// rollups, and when to flush.
///
/// Write policy, chosen to keep D1 rows per heartbeat at one: every flush writes its
/// heartbeats (one row each, reusing stale ring rows), status changes and incidents; the
/// daily rollups and the `service_state` row are written only on the first flush, with a
/// status change (every day not yet final, today's so far, and `accounted_until` = now), and
/// at the first flush of a UTC day when there is none (the days before it, final, and
/// `accounted_until` = the day's start; today's tally stays in the record). So the time since
/// `accounted_until` was spent in the written status, and readers extend it to `now`; today's
/// heartbeat count is carried by the newest heartbeat's row ([`FlushBatch::day_heartbeats`]).
/// A service that beats all day without a status change writes two rollup rows a day.
///
/// Heartbeats are numbered ([`EventRow`]): `recorded` is the newest, `flushed` the last one
/// D1 holds, so the buffered ones are `flushed + 1 ..= recorded`, `in_flight`'s first.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    /// Rows not yet handed to a flush.
    pub pending: Outbox,
    /// Rows handed to a flush that has not been acknowledged (survives a crash mid-flush).
    pub in_flight: Option<Outbox>,
    /// Uptime tallies.
    pub rollups: Rollups,
    /// Time up to which rollups are written to D1 (`service_state.accounted_until`).
    pub rollups_written_until: Option<Timestamp>,
    /// Consecutive failed flushes.
    pub failures: u32,
    /// No flush before this time (after a failure).
    pub retry_at: Option<Timestamp>,
    /// When the last flush started, if it carried heartbeats (traffic is flowing): the next
    /// flush is then planned one interval later, so a steady stream needs one alarm per
    /// interval, not one per buffered first row plus one for the deadline.
    pub busy_since_flush: Option<Timestamp>,
    /// The number of the newest heartbeat recorded ([`EventRow::n`]); 0 before the first.
    /// In the stored record: the newest one whose bookkeeping (uptime tally, the monitor's
    /// last heartbeat) the record includes; newer event rows are applied when it is loaded.
    #[serde(default)]
    pub recorded: u64,
    /// The number of the last heartbeat written to D1 (all before it are too). In the stored
    /// record it may lag: the newest event row's `flushed` may be later.
    #[serde(default)]
    pub flushed: u64,
    /// `flushed` as the stored record holds it (a load reads the event rows from there on).
    #[serde(skip)]
    pub stored_flushed: u64,
    /// The heartbeat being written through to D1 ([`History::begin_through`]), until its
    /// write ends. In memory only: until then it is stored nowhere, and not yet answered.
    #[serde(skip)]
    pub through: Option<HeartbeatEvent>,
    /// When the last write-through started (in memory only; a fresh object may write the
    /// first heartbeat through at once).
    #[serde(skip)]
    pub last_through: Option<Timestamp>,
    /// Heartbeats written through since the record was last stored: D1 holds them, the
    /// object's storage does not (a load reads them back; see
    /// [`crate::record::ServiceRecord::catch_up`]).
    #[serde(skip)]
    pub unstored_through: u64,
}

impl History {
    /// Refuses a new heartbeat when the buffer is full.
    ///
    /// # Errors
    /// [`Backpressure::BufferFull`] when more than [`MAX_BUFFERED_HEARTBEATS`] heartbeats or
    /// [`MAX_BUFFERED_BYTES`] bytes are waiting.
    pub fn admit(&self) -> Result<(), Backpressure> {
        let flying = self.in_flight.as_ref();
        let count = self.pending.heartbeats.len() + flying.map_or(0, |o| o.heartbeats.len());
        let bytes = self.pending.bytes + flying.map_or(0, |o| o.bytes);
        if count >= MAX_BUFFERED_HEARTBEATS || bytes >= MAX_BUFFERED_BYTES {
            return Err(Backpressure::BufferFull(count));
        }
        Ok(())
    }

    /// Buffers the rows for `effects` (from a call made at `now` while the status was
    /// `status_before`) and accrues uptime, maintenance time as `counts` says. Returns the
    /// event rows to store: one per recorded heartbeat.
    pub fn apply(
        &mut self,
        now: Timestamp,
        status_before: Status,
        effects: &[Effect],
        counts: MaintenanceUptime,
    ) -> Vec<EventRow> {
        let mut status = status_before;
        let mut rows = Vec::new();
        for effect in effects {
            match effect {
                Effect::Record(hb) => {
                    self.rollups.count_heartbeat(hb.at);
                    self.rollups.metrics.add(hb.at, hb.metrics.as_deref());
                    self.buffer(hb.clone());
                    self.recorded += 1;
                    rows.push(EventRow { n: self.recorded, flushed: self.flushed, event: hb.clone() });
                }
                Effect::StatusChanged(change) => {
                    self.rollups.accrue(change.at, counts.accrued(status));
                    status = change.to;
                    self.pending.changes.push(change.clone());
                }
                Effect::IncidentOpened(i) | Effect::IncidentClosed(i) | Effect::IncidentAcknowledged(i) => {
                    self.pending.push_incident(i.clone());
                }
                // The level is kept in the incident; the next write of it carries it.
                Effect::Escalated { .. } => continue,
                Effect::Run(run) => self.pending.push_run(run.clone()),
            }
            self.pending.since.get_or_insert(now);
        }
        rows
    }

    /// Adds a heartbeat to the pending rows (not counted, not numbered).
    fn buffer(&mut self, hb: HeartbeatEvent) {
        self.pending.bytes += event_bytes(&hb);
        self.pending.heartbeats.push(hb);
    }

    /// Puts rows handed to a flush that never finished (the object restarted meanwhile) back
    /// in front of the pending ones.
    pub fn unflight(&mut self) {
        if let Some(earlier) = self.in_flight.take() {
            self.pending.prepend(earlier);
        }
    }

    /// Whether the record must be stored with this event so that a load finds every event
    /// row it needs: a load reads heartbeats from the stored `flushed + 1` on, and the ring
    /// holds the last [`RING_SLOTS`] only.
    pub fn must_store(&self) -> bool {
        self.recorded.saturating_sub(self.stored_flushed) >= RING_SLOTS
    }

    /// The record is being stored as it is now.
    pub fn stored(&mut self) {
        self.stored_flushed = self.flushed;
        self.unstored_through = 0;
    }

    /// Whether a heartbeat arriving at `now` should be written through to D1 at once rather
    /// than buffered: nothing is waiting for D1 or being written, no failed flush is backing
    /// off, and the last flush or write-through was at least `flush_interval` ago (sparse
    /// traffic, where buffering batches nothing and costs a row and a flush alarm). Closer
    /// heartbeats are buffered and flushed together.
    pub fn may_write_through(&self, now: Timestamp, flush_interval: Duration) -> bool {
        let quiet = |t: Option<Timestamp>| t.is_none_or(|t| now >= t + flush_interval);
        self.pending.is_empty()
            && self.in_flight.is_none()
            && self.retry_at.is_none()
            && quiet(self.busy_since_flush)
            && quiet(self.last_through)
    }

    /// Turns the heartbeat just recorded by [`History::apply`] (its event row `row`, the only
    /// buffered one) into a write-through at `now`: it gets no event row (its number is
    /// handed back), and the flush of it (with the rollups when due) is returned to write at
    /// once; [`History::finish_through`] ends it. No flush is planned after it.
    pub fn begin_through(&mut self, now: Timestamp, status: Status, row: EventRow) -> Option<FlushBatch> {
        debug_assert_eq!(row.n, self.recorded);
        self.recorded -= 1;
        let busy = self.busy_since_flush;
        let Some(batch) = self.begin_flush(now, status) else {
            self.recorded += 1;
            return None;
        };
        self.busy_since_flush = busy;
        self.through = Some(row.event);
        self.last_through = Some(now);
        Some(batch)
    }

    /// Ends a flush at `now` that may be the write-through of [`History::begin_through`].
    /// Returns `None` when `batch` is not one. Otherwise, when D1 took it, nothing is owed
    /// (answers whether the record must be stored now: after [`MAX_UNSTORED_THROUGH`] such
    /// heartbeats, so a load never reads back more); when it failed, the heartbeat is
    /// numbered and returned as the event row to store at once (it stays in flight, and is
    /// retried like any failed flush).
    pub fn finish_through(&mut self, now: Timestamp, batch: &FlushBatch, ok: bool) -> Option<Through> {
        let event = self.through.take_if(|e| batch.outbox.heartbeats.last() == Some(&*e))?;
        let _ = self.finish_flush(now, batch, ok);
        if ok {
            self.unstored_through += 1;
            return Some(Through::Written { store: self.unstored_through >= MAX_UNSTORED_THROUGH });
        }
        self.recorded += 1;
        Some(Through::Buffered(EventRow { n: self.recorded, flushed: self.flushed, event }))
    }

    /// Reads back the event rows of heartbeats `flushed + 1 ..` (oldest first, as stored)
    /// into a history just loaded, stopping at the first gap: moves `flushed` to the newest
    /// row's, buffers the rows after it, and counts those newer than `recorded` (stored after
    /// the record was) in the uptime tallies. Returns the rows newer than `recorded`, whose
    /// heartbeats the caller applies to the monitor.
    pub fn restore(&mut self, rows: Vec<EventRow>) -> Vec<EventRow> {
        self.unflight();
        self.stored_flushed = self.flushed;
        let first = self.flushed + 1;
        let rows: Vec<EventRow> = (first..).zip(rows).take_while(|(n, row)| row.n == *n).map(|(_, r)| r).collect();
        self.flushed = rows.iter().map(|r| r.flushed).fold(self.flushed, u64::max);
        let mut newer = Vec::new();
        for row in rows {
            if row.n > self.flushed {
                let at = row.event.at;
                self.pending.since = Some(self.pending.since.map_or(at, |s| s.min(at)));
                self.buffer(row.event.clone());
            }
            if row.n > self.recorded {
                self.rollups.count_heartbeat(row.event.at);
                self.rollups.metrics.add(row.event.at, row.event.metrics.as_deref());
                self.recorded = row.n;
                newer.push(row);
            }
        }
        newer
    }

    /// Moves the heartbeats a version 1 record held inside itself into numbered event rows
    /// (`in_flight`'s first): they become heartbeats `recorded + 1 ..`, already counted.
    pub fn upgrade(&mut self) -> Vec<EventRow> {
        self.unflight();
        let heartbeats = std::mem::take(&mut self.pending.heartbeats);
        self.pending.bytes = 0;
        let first = self.recorded.max(self.flushed) + 1;
        self.flushed = first - 1;
        self.recorded = first - 1 + heartbeats.len() as u64;
        let flushed = self.flushed;
        (first..).zip(heartbeats).map(|(n, event)| EventRow { n, flushed, event }).collect()
    }

    /// When the next flush should run: at once after a crash mid-flush, for status changes,
    /// incidents, runs or a full buffer; otherwise `flush_interval` after the oldest buffered row,
    /// or after the last flush while traffic flows; never before a failure's `retry_at`.
    /// `None` when nothing needs writing.
    pub fn flush_due(&self, flush_interval: Duration) -> Option<Timestamp> {
        let pending = if let Some(flying) = &self.in_flight {
            flying.since
        } else if self.pending.is_empty() {
            None
        } else {
            let since = self.pending.since?;
            let urgent = !self.pending.changes.is_empty()
                || !self.pending.incidents.is_empty()
                || !self.pending.runs.is_empty()
                || self.pending.heartbeats.len() >= FLUSH_NOW_HEARTBEATS;
            Some(if urgent { since } else { since + flush_interval })
        };
        let planned = self.busy_since_flush.map(|t| t + flush_interval);
        let due = [pending, planned, self.rollups.metrics.next_close()].into_iter().flatten().min()?;
        Some(self.retry_at.map_or(due, |r| due.max(r)))
    }

    /// Starts a flush at `now` (the shell calls it on every alarm): accrues uptime to `now`
    /// under `status` (as accrued: see [`MaintenanceUptime::accrued`]), moves pending rows in flight, and returns what to write, with the
    /// rollups and service state when they are due. `None` when there is nothing to write
    /// or a failed flush is still backing off.
    pub fn begin_flush(&mut self, now: Timestamp, status: Status) -> Option<FlushBatch> {
        if self.retry_at.is_some_and(|r| now < r) {
            return None;
        }
        self.rollups.accrue(now, status);
        if let Some(earlier) = self.in_flight.take() {
            self.pending.prepend(earlier);
        }
        let rollups_until = self.rollups_due(now);
        let metric_rollups = self.rollups.metrics.closed(now);
        if self.pending.is_empty() && rollups_until.is_none() && metric_rollups.is_empty() {
            self.busy_since_flush = None;
            return None;
        }
        let outbox = std::mem::take(&mut self.pending);
        self.busy_since_flush = (!outbox.heartbeats.is_empty()).then_some(now);
        self.in_flight = Some(outbox.clone());
        let daily = match rollups_until {
            Some(until) => self.rollups.daily.range(..until.as_millis()).map(|(k, v)| (*k, *v)).collect(),
            None => Vec::new(),
        };
        let day_heartbeats = outbox
            .heartbeats
            .last()
            .and_then(|hb| self.rollups.daily.get(&hb.at.day_start().as_millis()))
            .map(|t| t.heartbeats);
        Some(FlushBatch { through: self.recorded, outbox, daily, rollups_until, day_heartbeats, metric_rollups })
    }

    /// Whether a flush at `now` (rollups accrued to it) writes the rollups, and up to when
    /// (see the write policy above): `now` on the first flush or with a status change pending;
    /// the start of `now`'s UTC day at the first flush of a day otherwise; `None` when the
    /// rollups were written today.
    fn rollups_due(&self, now: Timestamp) -> Option<Timestamp> {
        let accounted = self.rollups.accounted_until.unwrap_or(now);
        match self.rollups_written_until {
            None => Some(accounted),
            Some(_) if !self.pending.changes.is_empty() => Some(accounted),
            Some(w) if w.day_start() < now.day_start() => Some(now.day_start().min(accounted)),
            Some(_) => None,
        }
    }

    /// Ends the flush started by [`History::begin_flush`]. On success drops the written rows
    /// and the finished rollup buckets and moves `flushed` to the batch's last heartbeat; on
    /// failure keeps everything for a retry with [`crate::retry::D1_WRITES`] backoff (1 s,
    /// 2 s, 4 s … capped at 60 s).
    ///
    /// Returns whether the record should be stored now. A flush of heartbeats alone does not
    /// need it: the next event row carries the new `flushed`, and until then a restarted
    /// object writes those heartbeats again (insert-or-ignore, so harmlessly). It is stored
    /// after a flush of [`FLUSH_NOW_HEARTBEATS`] or more (so a restart never re-sends much,
    /// nor finds the buffer full), or of status changes, incidents, rollups or metric
    /// rollups (so a restart does not flush them again at once).
    pub fn finish_flush(&mut self, now: Timestamp, batch: &FlushBatch, ok: bool) -> bool {
        if ok {
            self.in_flight = None;
            self.flushed = self.flushed.max(batch.through);
            self.failures = 0;
            self.retry_at = None;
            self.rollups.metrics.written(&batch.metric_rollups);
            if let Some(until) = batch.rollups_until {
                self.rollups.prune_through(until);
                self.rollups_written_until = Some(until);
            }
            let o = &batch.outbox;
            o.heartbeats.len() >= FLUSH_NOW_HEARTBEATS
                || !o.changes.is_empty()
                || !o.incidents.is_empty()
                || !o.runs.is_empty()
                || batch.rollups_until.is_some()
                || !batch.metric_rollups.is_empty()
        } else {
            self.failures = self.failures.saturating_add(1);
            self.retry_at = Some(now + crate::retry::D1_WRITES.after(self.failures));
            false
        }
    }
}

/// How a write-through ended ([`History::finish_through`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Through {
    /// D1 holds the heartbeat; `store` says whether the record must be stored now.
    Written {
        /// Whether the record must be rewritten (it lags by [`MAX_UNSTORED_THROUGH`]).
        store: bool,
    },
    /// D1 failed: this event row must be stored before the heartbeat is answered.
    Buffered(EventRow),
}

/// One flush's worth of rows for D1.
#[derive(Clone, Debug, PartialEq)]
pub struct FlushBatch {
    /// The number of its last heartbeat ([`EventRow::n`]): once D1 holds the batch, every
    /// heartbeat up to it is flushed.
    pub through: u64,
    /// Heartbeats, changes and incidents.
    pub outbox: Outbox,
    /// Absolute daily tallies `(day start ms, tally)` of the days before `rollups_until`;
    /// empty when not due.
    pub daily: Vec<(i64, Tally)>,
    /// When rollups and the service state are written in this batch: the time up to which
    /// the tallies account for status time.
    pub rollups_until: Option<Timestamp>,
    /// Heartbeats counted on the UTC day of the batch's newest heartbeat, that one included
    /// (its D1 row's `day_heartbeats`, which readers take as that day's count).
    pub day_heartbeats: Option<i64>,
    /// Metric rollup buckets closed by the flush's time, absolute totals
    /// ([`MetricRollups::closed`]); written with `INSERT OR REPLACE`, so a repeated flush
    /// changes nothing.
    pub metric_rollups: Vec<MetricRollup>,
}

/// Which of a service's stored heartbeat rows a flush may reuse for its new ones
/// (`d1::history`): rows with a sequence number at most `seq_at_most` (out of the ring of the
/// newest `kept` numbers) or received before `before` (in the last thirtieth of the
/// retention: the hourly cron would delete them within a few percent of it anyway, so a
/// service beating more often than that reuses them instead).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Stale {
    /// Rows numbered up to here are out of the ring (may be negative: none are).
    pub seq_at_most: i64,
    /// Rows received before this are about to age out.
    pub before: Timestamp,
}

/// [`Stale`] for a flush whose newest heartbeat is `newest_seq`, received at `newest_at`,
/// keeping `kept` heartbeats and `retention_days` days of them.
pub fn stale_heartbeats(newest_seq: u64, newest_at: Timestamp, kept: u32, retention_days: u32) -> Stale {
    let retention = i64::from(retention_days) * DAY_MS;
    Stale {
        seq_at_most: i64::try_from(newest_seq).unwrap_or(i64::MAX) - i64::from(kept),
        before: Timestamp::from_millis(newest_at.as_millis() - retention + retention / 30),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn accrual_splits_at_bucket_and_day_boundaries() {
        let mut r = Rollups::default();
        let day = 20_000 * DAY_MS;
        r.accrue(Timestamp::from_millis(day - 60_000), Status::Up);
        r.accrue(Timestamp::from_millis(day + 360_000), Status::Down);
        assert_eq!(r.daily[&(day - DAY_MS)].down_ms, 60_000);
        assert_eq!(r.daily[&day].down_ms, 360_000);
        let mut five = BTreeMap::new();
        accrue_into(&mut five, BUCKET_MS, day - 60_000, day + 360_000, Status::Down);
        assert_eq!(five[&(day - BUCKET_MS)].down_ms, 60_000);
        assert_eq!(five[&day].down_ms, 300_000);
        assert_eq!(five[&(day + BUCKET_MS)].down_ms, 60_000);
        r.accrue(Timestamp::from_millis(day), Status::Up);
        assert_eq!(r.accounted_until, Some(Timestamp::from_millis(day + 360_000)), "time never goes backwards");
        r.prune_through(Timestamp::from_millis(day + 360_000));
        assert_eq!(r.daily.keys().copied().collect::<Vec<_>>(), [day]);
    }

    #[test]
    fn unknown_and_paused_time_is_not_monitored() {
        let mut t = Tally::default();
        t.add(Status::Unknown, 5);
        t.add(Status::Paused, 5);
        assert_eq!(t.uptime_percent(), None);
        t.add(Status::Up, 75);
        t.add(Status::Late, 20);
        t.add(Status::Down, 5);
        assert_eq!(t.uptime_percent(), Some(95.0));
    }

    #[test]
    fn buffered_runs_are_bounded_in_number_and_output() {
        use crate::run::{Run, RunOutcome};
        let run = |n: u64| Run {
            n,
            run_id: None,
            started_at: None,
            ended_at: Some(Timestamp::from_millis(1)),
            duration_ms: None,
            outcome: RunOutcome::Success,
            exit_status: None,
            reason: None,
            output: Some("x".repeat(10_000)),
        };
        let mut h = History::default();
        for n in 1..=100 {
            let _ = h.apply(Timestamp::from_millis(1), Status::Up, &[Effect::Run(run(n))], MaintenanceUptime::Exclude);
        }
        let runs = &h.pending.runs;
        assert_eq!((runs.len(), runs[0].n, runs[63].n), (MAX_BUFFERED_RUNS, 37, 100));
        let kept: usize = runs.iter().filter_map(|r| r.output.as_ref()).map(String::len).sum();
        assert!(kept <= MAX_BUFFERED_OUTPUT && runs[63].output.is_some(), "the newest keep theirs");
        // A later version of a run replaces the buffered one.
        let _ = h.apply(
            Timestamp::from_millis(2),
            Status::Up,
            &[Effect::Run(Run { output: None, ..run(100) })],
            MaintenanceUptime::Exclude,
        );
        assert_eq!(h.pending.runs.iter().filter(|r| r.n == 100).count(), 1);
    }

    #[test]
    fn failed_flush_keeps_rows_and_backs_off() {
        let mut h = History::default();
        let hb = HeartbeatEvent {
            seq: 1,
            at: Timestamp::from_millis(1_000),
            reported: crate::monitor::Reported::Up,
            message: Some("hi".into()),
            metadata: None,
            metrics: None,
            event: crate::monitor::Event::Success,
            exit_status: None,
            pinged_too_often: false,
        };
        let _ = h.apply(
            Timestamp::from_millis(1_000),
            Status::Up,
            &[Effect::Record(hb.clone())],
            MaintenanceUptime::Exclude,
        );
        let interval = Duration::from_secs(10);
        assert_eq!(h.flush_due(interval), Some(Timestamp::from_millis(11_000)));
        let batch = h.begin_flush(Timestamp::from_millis(11_000), Status::Up).unwrap();
        assert_eq!(batch.outbox.heartbeats, std::slice::from_ref(&hb));
        assert_eq!(batch.rollups_until, Some(Timestamp::from_millis(11_000)), "first flush writes rollups");
        h.finish_flush(Timestamp::from_millis(11_500), &batch, false);
        assert_eq!(h.flush_due(interval), Some(Timestamp::from_millis(12_500)));
        assert!(h.begin_flush(Timestamp::from_millis(12_000), Status::Up).is_none(), "still backing off");
        let again = h.begin_flush(Timestamp::from_millis(12_500), Status::Up).unwrap();
        assert_eq!(again.outbox.heartbeats, [hb]);
        h.finish_flush(Timestamp::from_millis(12_600), &again, true);
        assert!(h.in_flight.is_none() && h.pending.is_empty());
        assert_eq!(h.flush_due(interval), Some(Timestamp::from_millis(22_500)), "traffic flowed: plan the next flush");
        assert!(h.begin_flush(Timestamp::from_millis(22_500), Status::Up).is_none(), "same day, nothing new");
        assert_eq!(h.flush_due(interval), None, "idle: no more wake-ups for history");
        assert!(h.begin_flush(Timestamp::from_millis(BUCKET_MS), Status::Up).is_none(), "a closed 5 minutes is not");
    }

    #[test]
    fn metric_rollups_are_written_once_their_bucket_closes_and_the_flush_wakes_for_it() {
        let day = 20_000 * DAY_MS;
        let mut h = History::default();
        let with = |seq: u64, at: i64, metrics: &str| {
            let Effect::Record(hb) = beat(seq, at) else { unreachable!() };
            Effect::Record(HeartbeatEvent { metrics: Some(metrics.into()), ..hb })
        };
        let _ = h.apply(
            Timestamp::from_millis(day + 1_000),
            Status::Up,
            &[with(1, day + 1_000, r#"{"a_ms":10}"#)],
            MaintenanceUptime::Exclude,
        );
        let _ = h.apply(
            Timestamp::from_millis(day + 2_000),
            Status::Up,
            &[with(2, day + 2_000, r#"{"a_ms":30}"#)],
            MaintenanceUptime::Exclude,
        );
        let first = flush(&mut h, day + 3_000).unwrap();
        assert!(first.metric_rollups.is_empty(), "the bucket is still open");
        // No heartbeat since: the flush still wakes at the bucket's end to write it.
        let interval = Duration::from_secs(1);
        assert!(h.begin_flush(Timestamp::from_millis(day + 4_000), Status::Up).is_none());
        assert_eq!(h.flush_due(interval), Some(Timestamp::from_millis(day + BUCKET_MS)));
        let now = Timestamp::from_millis(day + BUCKET_MS);
        let closed = h.begin_flush(now, Status::Up).unwrap();
        let got: Vec<_> =
            closed.metric_rollups.iter().map(|r| (r.resolution, r.start, r.count, r.sum, r.min, r.max)).collect();
        assert_eq!(got, [(crate::telemetry::Resolution::FiveMin, day, 2, 40.0, 10.0, 30.0)]);
        assert!(!h.finish_flush(now, &closed, false), "a failure keeps it");
        let again = h.begin_flush(now + Duration::from_secs(60), Status::Up).unwrap();
        assert_eq!(again.metric_rollups, closed.metric_rollups);
        assert!(h.finish_flush(now, &again, true), "the record is stored with them written");
        assert_eq!(h.flush_due(interval), Some(Timestamp::from_millis(day + DAY_MS)), "the day's bucket is next");
    }

    #[test]
    fn maintenance_time_accrues_as_up_or_not_at_all_as_the_service_says() {
        let day = 20_000 * DAY_MS;
        let change = |seq, at: i64, from, to| {
            Effect::StatusChanged(StatusChange {
                seq,
                at: Timestamp::from_millis(at),
                from,
                to,
                reason: String::new(),
                kind: None,
            })
        };
        let tally = |counts: MaintenanceUptime| {
            let mut h = History::default();
            h.rollups.accounted_until = Some(Timestamp::from_millis(day));
            // Up for 10 min, in maintenance for 30, up again for 20.
            let _ = h.apply(
                Timestamp::from_millis(day + 600_000),
                Status::Up,
                &[change(1, day + 600_000, Status::Up, Status::Maintenance)],
                counts,
            );
            let _ = h.apply(
                Timestamp::from_millis(day + 2_400_000),
                Status::Maintenance,
                &[change(2, day + 2_400_000, Status::Maintenance, Status::Up)],
                counts,
            );
            let batch = h.begin_flush(Timestamp::from_millis(day + 3_600_000), counts.accrued(Status::Up)).unwrap();
            batch.daily[0].1
        };
        let excluded = tally(MaintenanceUptime::Exclude);
        assert_eq!((excluded.up_ms, excluded.monitored_ms()), (1_800_000, 1_800_000));
        let counted = tally(MaintenanceUptime::Up);
        assert_eq!((counted.up_ms, counted.monitored_ms()), (3_600_000, 3_600_000));
    }

    fn beat(seq: u64, at: i64) -> Effect {
        Effect::Record(HeartbeatEvent {
            seq,
            at: Timestamp::from_millis(at),
            reported: crate::monitor::Reported::Up,
            message: None,
            metadata: None,
            metrics: None,
            event: crate::monitor::Event::Success,
            exit_status: None,
            pinged_too_often: false,
        })
    }

    fn flush(h: &mut History, at: i64) -> Option<FlushBatch> {
        let now = Timestamp::from_millis(at);
        let batch = h.begin_flush(now, Status::Up)?;
        h.finish_flush(now, &batch, true);
        Some(batch)
    }

    #[test]
    fn rollups_are_written_with_status_changes_and_once_a_day() {
        let day = 20_000 * DAY_MS;
        let mut h = History::default();
        h.rollups.accounted_until = Some(Timestamp::from_millis(day));
        let change = StatusChange {
            seq: 1,
            at: Timestamp::from_millis(day + 1_000),
            from: Status::Unknown,
            to: Status::Up,
            reason: "first heartbeat".into(),
            kind: None,
        };
        let _ = h.apply(
            Timestamp::from_millis(day + 1_000),
            Status::Unknown,
            &[Effect::StatusChanged(change)],
            MaintenanceUptime::Exclude,
        );
        let _ = h.apply(
            Timestamp::from_millis(day + 1_000),
            Status::Up,
            &[beat(2, day + 1_000)],
            MaintenanceUptime::Exclude,
        );
        let first = flush(&mut h, day + 2_000).unwrap();
        assert_eq!(first.rollups_until, Some(Timestamp::from_millis(day + 2_000)), "a status change writes them");
        assert_eq!(first.daily, [(day, Tally { up_ms: 1_000, heartbeats: 1, ..Tally::default() })]);
        assert_eq!(first.day_heartbeats, Some(1));
        // A heartbeat a minute all day: each flush writes its heartbeat only.
        let mut seq = 2;
        for minute in 1..1_440 {
            seq += 1;
            let at = day + minute * 60_000;
            let _ = h.apply(Timestamp::from_millis(at), Status::Up, &[beat(seq, at)], MaintenanceUptime::Exclude);
            let b = flush(&mut h, at + 10).unwrap();
            assert_eq!((b.rollups_until, b.daily.len()), (None, 0), "minute {minute}");
            assert_eq!(b.day_heartbeats, Some(minute + 1));
        }
        // The first flush of the next day writes yesterday, final, up to midnight.
        let next = day + DAY_MS;
        let _ = h.apply(
            Timestamp::from_millis(next + 30_000),
            Status::Up,
            &[beat(seq + 1, next + 30_000)],
            MaintenanceUptime::Exclude,
        );
        let close = flush(&mut h, next + 30_010).unwrap();
        assert_eq!(close.rollups_until, Some(Timestamp::from_millis(next)));
        assert_eq!(close.daily, [(day, Tally { up_ms: DAY_MS - 1_000, heartbeats: 1_440, ..Tally::default() })]);
        assert_eq!(close.day_heartbeats, Some(1), "today's first");
        assert_eq!(h.rollups.daily.keys().copied().collect::<Vec<_>>(), [next], "today's tally stays");
        assert_eq!(h.rollups.daily[&next].up_ms, 30_010);
        let _ = h.apply(
            Timestamp::from_millis(next + 90_000),
            Status::Up,
            &[beat(seq + 2, next + 90_000)],
            MaintenanceUptime::Exclude,
        );
        assert_eq!(flush(&mut h, next + 90_010).unwrap().rollups_until, None, "once a day");
    }

    #[test]
    fn a_record_stored_with_five_minute_buckets_still_loads() {
        let stored = r#"{"accountedUntil": 600000, "fiveMin": {"300000": {"upMs": 300000, "degradedMs": 0,
            "lateMs": 0, "downMs": 0, "heartbeats": 5}}, "daily": {"0": {"upMs": 600000, "degradedMs": 0,
            "lateMs": 0, "downMs": 0, "heartbeats": 10}}}"#;
        let r: Rollups = serde_json::from_str(stored).unwrap();
        assert_eq!(r.accounted_until, Some(Timestamp::from_millis(600_000)));
        assert_eq!(r.daily[&0].heartbeats, 10);
    }

    #[test]
    fn stale_rows_are_out_of_the_ring_or_about_to_age_out() {
        let at = Timestamp::from_millis(100 * DAY_MS);
        let s = stale_heartbeats(5_000, at, 1_000, 30);
        assert_eq!(s.seq_at_most, 4_000);
        assert_eq!(s.before, Timestamp::from_millis(71 * DAY_MS), "29 of 30 days back");
        assert_eq!(stale_heartbeats(3, at, 1_000, 30).seq_at_most, -997, "none while the ring fills");
    }
}
