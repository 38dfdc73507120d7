-- Alerting: every delivery attempt of every notification, and external alerts received.
-- Times are Unix epoch milliseconds, UTC.

-- One row per attempt to deliver one notification to one channel. `subject` is the
-- service id for status notifications, `external` for external alerts and `test` for test
-- messages; (subject, delivery_id, attempt) makes a replayed write a no-op.
CREATE TABLE alert_history (
  subject         TEXT    NOT NULL,
  delivery_id     INTEGER NOT NULL,
  attempt         INTEGER NOT NULL,      -- 1-based; 0 when abandoned before any attempt
  attempted_at    INTEGER NOT NULL,
  channel         TEXT    NOT NULL,      -- channel name in notifications.json
  channel_type    TEXT,                  -- discord | slack | ... (NULL if no longer configured)
  event           TEXT    NOT NULL,      -- down | up | degraded | late | reminder | test | alert
  incident        INTEGER,               -- incident start (service events) or NULL
  http_status     INTEGER,               -- NULL when there was no answer
  error           TEXT,
  latency_ms      INTEGER NOT NULL,
  outcome         TEXT    NOT NULL,      -- delivered | retrying | failed | abandoned
  next_attempt_at INTEGER,               -- when outcome = retrying
  PRIMARY KEY (subject, delivery_id, attempt)
) WITHOUT ROWID;
-- The history panel and `GET /api/alerts/history` read newest first across subjects.
CREATE INDEX alert_history_by_time ON alert_history (attempted_at);

-- One row per external alert (by fingerprint): its latest state.
CREATE TABLE external_alerts (
  fingerprint  TEXT    NOT NULL PRIMARY KEY,
  format       TEXT    NOT NULL,         -- generic | alertmanager | grafana
  state        TEXT    NOT NULL,         -- firing | resolved
  title        TEXT    NOT NULL,
  message      TEXT    NOT NULL,
  severity     TEXT    NOT NULL,         -- critical | error | warning | info
  source       TEXT    NOT NULL,
  labels       TEXT    NOT NULL,         -- JSON object text
  url          TEXT,
  starts_at    INTEGER,
  ends_at      INTEGER,
  received_at  INTEGER NOT NULL,         -- last time a request carried it
  notified_at  INTEGER,                  -- last time it was sent to channels
  repeats      INTEGER NOT NULL          -- requests that repeated it without a change
) WITHOUT ROWID;
CREATE INDEX external_alerts_by_time ON external_alerts (received_at);
