-- One row per run of a job (see crates/core/src/run.rs): a start paired with its end, an end
-- without a start, or a run declared overrun (ended_at NULL until it finishes) or dropped
-- unfinished. Written with the ServiceMonitor's history flush; a start waits in the object's
-- state until its run ends, so a run costs one row write (an overrun run that finishes later,
-- two: its row is replaced). n: the run's number, the sequence number of its start (else of
-- its end). outcome: success | fail | overrun | unknown; reason: failed | overrun |
-- tooShort | tooLong, when it counts as a failure. output: the first 10,000 bytes its end
-- carried. Pruned with the status changes (history.uptimeRetentionDays).
CREATE TABLE runs (
  service_id  TEXT    NOT NULL,
  n           INTEGER NOT NULL,
  run_id      TEXT,
  started_at  INTEGER,
  ended_at    INTEGER,
  duration_ms INTEGER,
  outcome     TEXT    NOT NULL,
  exit_status INTEGER,
  reason      TEXT,
  output      TEXT,
  PRIMARY KEY (service_id, n)
) WITHOUT ROWID;

-- A heartbeat's run signal when it is not a plain success: start | fail | log (NULL: success,
-- as every row written before). Readers of the last heartbeat skip start and log rows: they
-- move no deadline.
ALTER TABLE heartbeats ADD COLUMN event TEXT;
