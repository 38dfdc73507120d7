-- What readers need of a heartbeat's run signal and of a status change's reason, in columns
-- of rows already written (no extra row writes):
-- - heartbeats.exit_status: the exit status a signal carried (service page, logs API);
-- - heartbeats.pinged_too_often: 1 when the service was `pingedTooOften` after this heartbeat
--   (a success earlier than its `minInterval` after the previous one); readers take the
--   newest success or fail's, as for the last heartbeat (status API, service page);
-- - status_changes.kind and incidents.kind: the reason's kind (noHeartbeat | missed | overrun
--   | failed | tooShort | tooLong | reported | late | heartbeat | config; see
--   crates/core/src/run.rs `Reason`), so the incidents API can show and filter it.
-- NULL in rows written before.
ALTER TABLE heartbeats ADD COLUMN exit_status INTEGER;
ALTER TABLE heartbeats ADD COLUMN pinged_too_often INTEGER;
ALTER TABLE status_changes ADD COLUMN kind TEXT;
ALTER TABLE incidents ADD COLUMN kind TEXT;
