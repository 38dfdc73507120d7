-- Service dependencies (crates/core/src/dependency.rs): an incident that opened while a
-- parent (`dependsOn`) was down or in maintenance has its alert held until the parent
-- recovers. incidents.suppressed is that mark as text, e.g.
-- "suppressed: parent `db-prod` down since 2026-12-04T16:00:00.000Z"; NULL when not held
-- (and in rows written before). Written with the incident row (no extra row write).
ALTER TABLE incidents ADD COLUMN suppressed TEXT;
