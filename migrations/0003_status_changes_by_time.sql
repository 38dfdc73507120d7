-- The dashboard's alert history reads recent status changes of every service by time.
CREATE INDEX IF NOT EXISTS status_changes_by_time ON status_changes (changed_at);
