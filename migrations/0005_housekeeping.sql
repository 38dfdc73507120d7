-- The hourly cron's own state, one row per name. `watchdog`: the last service id the paged
-- watchdog asked; the next tick starts after it (see crates/core/src/housekeeping.rs).
CREATE TABLE IF NOT EXISTS housekeeping (
  name  TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
) WITHOUT ROWID;
