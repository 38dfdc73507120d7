-- Maintenance windows, housekeeping and deadlines (docs/maintenance.md):
-- * the hourly housekeeping deletes one-off windows that ended before the heartbeat
--   retention (history.heartbeatRetentionDays) with one statement, which this index keeps
--   to the rows it deletes (recurring windows have no ends_at and are not in it);
-- * service_state.resumed_at: when the service's last maintenance ended (epoch ms; NULL if
--   never, or not written since this migration). The read APIs count its next deadline from
--   there when that is later than its last heartbeat, as its ServiceMonitor does.
CREATE INDEX maintenance_windows_by_end ON maintenance_windows (ends_at) WHERE ends_at IS NOT NULL;
ALTER TABLE service_state ADD COLUMN resumed_at INTEGER;
