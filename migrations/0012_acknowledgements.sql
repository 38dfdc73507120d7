-- Who acknowledged an incident, and when (escalation and acknowledgement, see
-- docs/alerting.md): written with the incident row when someone acknowledges it from the
-- dashboard, the API or a signed link. NULL while unacknowledged, and in rows written before.
-- - incidents.acknowledged_at: epoch ms (UTC);
-- - incidents.acknowledged_by: a user id, `api` (the management key) or `link`.
ALTER TABLE incidents ADD COLUMN acknowledged_at INTEGER;
ALTER TABLE incidents ADD COLUMN acknowledged_by TEXT;
