-- CloudLine's telemetry (see crates/core/src/telemetry.rs, docs/metrics.md "Telemetry").
-- Times are Unix epoch milliseconds, UTC.

-- Metric rollups: one row per service, metric, bucket width and bucket, an absolute total of
-- the values its heartbeats reported there (count, sum, min, max; the mean is sum / count).
-- Written by the ServiceMonitor's history flush once the bucket has closed (INSERT OR
-- REPLACE, so a repeated flush changes nothing). `width_ms`: 300000 (5 minutes, kept 14
-- days) or 86400000 (a UTC day, kept 400 days); the hourly cron prunes older rows.
CREATE TABLE metric_rollups (
  service_id   TEXT    NOT NULL,
  metric       TEXT    NOT NULL,
  width_ms     INTEGER NOT NULL,
  bucket_start INTEGER NOT NULL,
  count        INTEGER NOT NULL,
  sum          REAL    NOT NULL,
  min          REAL    NOT NULL,
  max          REAL    NOT NULL,
  PRIMARY KEY (service_id, metric, width_ms, bucket_start)
) WITHOUT ROWID;

-- Error reports (`POST /api/v1/services/{id}/errors`), one row per service and fingerprint:
-- the latest message and stack, how many, first and last seen. Groups last seen before
-- heartbeat retention (`history.heartbeatRetentionDays`) are pruned by the hourly cron.
CREATE TABLE error_groups (
  service_id  TEXT    NOT NULL,
  fingerprint TEXT    NOT NULL,
  message     TEXT    NOT NULL,
  stack       TEXT,
  count       INTEGER NOT NULL,
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL,
  PRIMARY KEY (service_id, fingerprint)
) WITHOUT ROWID;
