-- Systole history. Every table is keyed by service first, so the ServiceMonitor's idempotent
-- writes and every per-service read use the primary key; there are no secondary indexes
-- (each index is an extra billed row write per insert). Fleet-wide reads (all incidents, all
-- uptime rows of a date range) scan, which is fine at fleet sizes of thousands of services.
-- Times are Unix epoch milliseconds, UTC.

-- One row per heartbeat, written in batches by the service's Durable Object.
CREATE TABLE heartbeats (
  service_id  TEXT    NOT NULL,
  received_at INTEGER NOT NULL,
  seq         INTEGER NOT NULL,          -- per-service sequence number
  status      TEXT    NOT NULL,          -- reported: up | degraded | down
  message     TEXT,
  metadata    TEXT,                      -- JSON object text
  metrics     TEXT,                      -- JSON object text, clamped
  PRIMARY KEY (service_id, received_at, seq)
) WITHOUT ROWID;

-- One row per status transition.
CREATE TABLE status_changes (
  service_id  TEXT    NOT NULL,
  changed_at  INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  from_status TEXT    NOT NULL,
  to_status   TEXT    NOT NULL,
  reason      TEXT    NOT NULL,
  PRIMARY KEY (service_id, changed_at, seq)
) WITHOUT ROWID;

-- One row per down -> up cycle; ended_at is NULL while open.
CREATE TABLE incidents (
  service_id TEXT    NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at   INTEGER,
  cause      TEXT    NOT NULL,
  PRIMARY KEY (service_id, started_at)
) WITHOUT ROWID;

-- Milliseconds spent in each status per 5-minute bucket (absolute totals).
CREATE TABLE uptime_5m (
  service_id   TEXT    NOT NULL,
  bucket_start INTEGER NOT NULL,
  up_ms        INTEGER NOT NULL,
  degraded_ms  INTEGER NOT NULL,
  late_ms      INTEGER NOT NULL,
  down_ms      INTEGER NOT NULL,
  heartbeats   INTEGER NOT NULL,
  PRIMARY KEY (service_id, bucket_start)
) WITHOUT ROWID;

-- The same per UTC day; uptime queries read this.
CREATE TABLE uptime_daily (
  service_id  TEXT    NOT NULL,
  day_start   INTEGER NOT NULL,
  up_ms       INTEGER NOT NULL,
  degraded_ms INTEGER NOT NULL,
  late_ms     INTEGER NOT NULL,
  down_ms     INTEGER NOT NULL,
  heartbeats  INTEGER NOT NULL,
  PRIMARY KEY (service_id, day_start)
) WITHOUT ROWID;

-- Each service's status, written with a status change and with the rollups (first flush,
-- then whenever a 5-minute bucket has closed). The last heartbeat and message are read from
-- `heartbeats`; readers count the time since `accounted_until` under `status`.
CREATE TABLE service_state (
  service_id          TEXT PRIMARY KEY NOT NULL,
  status              TEXT    NOT NULL,
  status_since        INTEGER NOT NULL,
  incident_started_at INTEGER,
  accounted_until     INTEGER NOT NULL  -- rollups cover time up to here
) WITHOUT ROWID;
