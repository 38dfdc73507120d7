-- External alerts keyed by sender and fingerprint: one sender's alert never overwrites the row
-- of another sender's alert with the same fingerprint. `sender` is the AlertDesk's sender id
-- (`<format>.<key id>`); rows written before it have the empty sender.
ALTER TABLE external_alerts RENAME TO external_alerts_by_fingerprint;
DROP INDEX IF EXISTS external_alerts_by_time;
CREATE TABLE external_alerts (
  fingerprint  TEXT    NOT NULL,
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
  repeats      INTEGER NOT NULL,         -- requests that repeated it without a change
  sender       TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (sender, fingerprint)
) WITHOUT ROWID;
INSERT INTO external_alerts
  SELECT fingerprint, format, state, title, message, severity, source, labels, url, starts_at, ends_at,
         received_at, notified_at, repeats, '' FROM external_alerts_by_fingerprint;
DROP TABLE external_alerts_by_fingerprint;
CREATE INDEX external_alerts_by_time ON external_alerts (received_at);
