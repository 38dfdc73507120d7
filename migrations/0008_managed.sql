-- Managed services (issue 12): services created at run time through the management API,
-- the dashboard or auto-provisioning. Each one's ServiceMonitor holds its record (the
-- authoritative copy); these tables serve listing, search and the audit log. Times are Unix
-- epoch milliseconds, UTC.

-- One row per managed service, written by its ServiceMonitor after every change it stores.
-- spec: the spec and its group's defaults as the object stored them (JSON, see
-- systole_core::managed::StoredSpec); tags: a JSON array of strings. Listing pages by id
-- (the primary key) and by (group_id, id); a ping id finds its service by its own index.
CREATE TABLE managed_services (
  id         TEXT    PRIMARY KEY NOT NULL,
  group_id   TEXT,
  name       TEXT    NOT NULL,
  tags       TEXT    NOT NULL DEFAULT '[]',
  spec       TEXT    NOT NULL,
  ping_id    TEXT    NOT NULL,
  paused     INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  created_by TEXT    NOT NULL,
  updated_by TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX managed_services_by_group ON managed_services (group_id, id);
CREATE UNIQUE INDEX managed_services_by_ping_id ON managed_services (ping_id);

-- Managed groups (/api/v1/groups): defaults is the group's default fields as JSON (as a
-- services.json group writes them).
CREATE TABLE managed_groups (
  id         TEXT    PRIMARY KEY NOT NULL,
  name       TEXT    NOT NULL,
  public     INTEGER NOT NULL DEFAULT 0,
  defaults   TEXT    NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Every change to a managed service (who, when, what), newest read first per service.
-- action: create | replace | update | pause | resume | rotate-key | delete; detail: JSON.
-- Kept after a delete (the audit log outlives the service) unless purged.
CREATE TABLE service_changes (
  service_id TEXT    NOT NULL,
  at         INTEGER NOT NULL,
  actor      TEXT    NOT NULL,
  action     TEXT    NOT NULL,
  detail     TEXT    NOT NULL DEFAULT 'null',
  PRIMARY KEY (service_id, at, action)
) WITHOUT ROWID;

-- The catalog's version: raised by every write to managed_services or managed_groups, so
-- each isolate reloads its merged catalog (declared + managed) when it changes.
CREATE TABLE catalog (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
INSERT INTO catalog (id, version) VALUES (1, 0);
