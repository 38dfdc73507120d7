-- Run-time maintenance windows (crates/core/src/maintenance.rs), for listing: one row per
-- window and service (a group's window has a row for each member, with the same id; a
-- snooze has id 'snooze', one per service, replaced by the next). The window itself lives in
-- each ServiceMonitor's state, which acts on it; this table is what GET /api/v1/maintenance,
-- DELETE /api/v1/maintenance/{id} and the status page read. body: the window's stored JSON;
-- ends_at: a one-off window's end (epoch ms; NULL for a recurring one), for pruning.
CREATE TABLE maintenance_windows (
  id          TEXT    NOT NULL,
  service_id  TEXT    NOT NULL,
  group_id    TEXT,
  body        TEXT    NOT NULL,
  ends_at     INTEGER,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (id, service_id)
) WITHOUT ROWID;
