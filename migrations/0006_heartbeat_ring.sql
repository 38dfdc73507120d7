-- Each service's heartbeats are a ring in D1: a new heartbeat's row reuses the service's
-- oldest stale row (out of its newest `history.heartbeatsKept` sequence numbers, or about to
-- age out) with one `UPDATE` of its key, instead of an insert now and a delete at retention.
-- The table and its key stay as they are, so every reader still seeks by time; existing rows
-- are kept and become the ring's first stale rows (see crates/worker/src/d1/history.rs).
-- `day_heartbeats`: the heartbeats its service had received that UTC day, this one included
-- (written on the newest heartbeat of each flush, NULL on the others and on older rows);
-- readers take the newest heartbeat's as its day's count, so the daily rollup need not be
-- rewritten during the day.
ALTER TABLE heartbeats ADD COLUMN day_heartbeats INTEGER;

-- 5-minute rollups are no longer written: the cloudflaremon compatibility computes its
-- 5-minute checks from `status_changes` when read.
DROP TABLE IF EXISTS uptime_5m;
