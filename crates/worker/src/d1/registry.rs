//! The managed services' D1 tables (migration `0008_managed.sql`): the registry
//! (`managed_services`), the managed groups, the change log (`service_changes`) and the
//! catalog version every write raises.

use serde::Deserialize;
use serde_json::Value;
use systole_core::budget::Kind;
use systole_core::config::{Config, ServiceConfig, ServiceId};
use systole_core::managed::{Actor, Change, Entry, ManagedGroup, RegistryRow, StoredSpec};
use systole_core::time::Timestamp;
use worker::{D1Database, D1PreparedStatement, Result};

use super::{num, text};

/// The statement raising the catalog version (every isolate then reloads its catalog).
fn bump(db: &D1Database) -> D1PreparedStatement {
    db.prepare("UPDATE catalog SET version = version + 1 WHERE id = 1")
}

fn change_row(db: &D1Database, c: &Change) -> Result<D1PreparedStatement> {
    db.prepare(
        "INSERT OR IGNORE INTO service_changes (service_id, at, actor, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(&[
        text(&c.service_id),
        num(c.at.as_millis()),
        text(&c.actor.to_string()),
        text(&c.action),
        text(&c.detail.to_string()),
    ])
}

/// Writes a managed service's registry row and its change, and raises the catalog version:
/// one batch.
///
/// # Errors
/// Any D1 error.
pub async fn write(db: &D1Database, row: &RegistryRow, change: Option<&Change>) -> Result<()> {
    crate::budget::count(Kind::D1);
    let upsert = db
        .prepare(
            "INSERT INTO managed_services (id, group_id, name, tags, spec, ping_id, paused, created_at, updated_at, \
             created_by, updated_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             ON CONFLICT (id) DO UPDATE SET group_id = excluded.group_id, name = excluded.name, \
             tags = excluded.tags, spec = excluded.spec, paused = excluded.paused, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
        )
        .bind(&[
            text(&row.id),
            row.group_id.as_deref().map_or(wasm_bindgen::JsValue::NULL, text),
            text(&row.name),
            text(&row.tags),
            text(&row.spec),
            text(&row.ping_id),
            num(i64::from(row.paused)),
            num(row.created_at.as_millis()),
            num(row.updated_at.as_millis()),
            text(&row.created_by),
            text(&row.updated_by),
        ])?;
    let mut batch = vec![upsert];
    if let Some(c) = change {
        batch.push(change_row(db, c)?);
    }
    batch.push(bump(db));
    db.batch(batch).await?;
    Ok(())
}

/// The tables holding a service's history, deleted by a purge.
const HISTORY_TABLES: [&str; 5] = ["heartbeats", "status_changes", "incidents", "uptime_daily", "runs"];

/// Removes a deleted service: its registry row and `service_state` row (so it leaves the
/// status and its counts), records the change, raises the catalog version; with `purge` also
/// deletes its history (heartbeats, status changes, incidents, rollups, runs, alert history)
/// and its change log (the delete included). One batch.
///
/// # Errors
/// Any D1 error.
pub async fn remove(db: &D1Database, id: &str, change: &Change, purge: bool) -> Result<()> {
    crate::budget::count(Kind::D1);
    let by_id = |sql: &str| db.prepare(sql).bind(&[text(id)]);
    let mut batch = vec![
        by_id("DELETE FROM managed_services WHERE id = ?1")?,
        by_id("DELETE FROM service_state WHERE service_id = ?1")?,
    ];
    if purge {
        for table in HISTORY_TABLES {
            batch.push(by_id(&format!("DELETE FROM {table} WHERE service_id = ?1"))?);
        }
        batch.push(by_id("DELETE FROM alert_history WHERE subject = ?1")?);
        batch.push(by_id("DELETE FROM service_changes WHERE service_id = ?1")?);
    } else {
        batch.push(change_row(db, change)?);
    }
    batch.push(bump(db));
    db.batch(batch).await?;
    Ok(())
}

/// A registry row as read back (`paused` as SQLite's integer).
#[derive(Debug, Deserialize)]
struct Listed {
    id: String,
    spec: String,
    ping_id: String,
    paused: i64,
    created_at: i64,
    updated_at: i64,
    created_by: String,
    updated_by: String,
    #[serde(default)]
    status: Option<String>,
}

impl Listed {
    fn entry(&self, config: &Config) -> Option<Entry> {
        let stored: StoredSpec = serde_json::from_str(&self.spec).ok()?;
        let resolved = stored.config(config, self.paused != 0);
        let mut e = Entry::declared(&resolved);
        e.kind = systole_core::managed::Kind::Managed;
        e.paused = self.paused != 0;
        e.ping_id = Some(self.ping_id.clone());
        e.created_at = Some(Timestamp::from_millis(self.created_at));
        e.updated_at = Some(Timestamp::from_millis(self.updated_at));
        e.created_by = Some(Actor::parse(&self.created_by));
        e.updated_by = Some(Actor::parse(&self.updated_by));
        Some(e)
    }
}

/// The filters of a listing of managed services.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Only services of this group.
    pub group: Option<String>,
    /// Only services carrying this tag.
    pub tag: Option<String>,
    /// Only services in this status (`up`, `down`, `late`, `degraded`, `paused`, `unknown`).
    pub status: Option<String>,
    /// Only services of these groups (a viewer's scope); `None`: every service.
    pub visible_groups: Option<Vec<String>>,
    /// The last id of the previous page (managed ids only; `None`: from the start).
    pub cursor: Option<String>,
    /// Services per page (1 to 500).
    pub limit: u32,
}

/// One page of managed services.
#[derive(Debug)]
pub struct Page {
    /// The services by id, each with its `status`.
    pub services: Vec<(Entry, String)>,
    /// The cursor of the next page (the last id listed), when more follow.
    pub next_cursor: Option<String>,
}

/// One page of managed services by id (keyset: `id > cursor`, `limit + 1` rows read, never
/// the whole registry), filtered in D1; each resolved under the declared `config`'s settings.
///
/// # Errors
/// Any D1 error.
pub async fn list(db: &D1Database, config: &Config, q: &ListQuery) -> Result<Page> {
    let limit = q.limit.clamp(1, 500) as usize;
    let visible = q.visible_groups.as_ref().map(serde_json::to_string).transpose()?;
    crate::budget::count(Kind::D1);
    let rows: Vec<Listed> = db
        .prepare(
            "SELECT m.id, m.spec, m.ping_id, m.paused, m.created_at, m.updated_at, m.created_by, m.updated_by, \
             COALESCE(s.status, CASE WHEN m.paused THEN 'paused' ELSE 'unknown' END) AS status \
             FROM managed_services m LEFT JOIN service_state s ON s.service_id = m.id \
             WHERE m.id > ?1 AND (?2 IS NULL OR m.group_id = ?2) \
             AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = ?3)) \
             AND (?4 IS NULL OR COALESCE(s.status, CASE WHEN m.paused THEN 'paused' ELSE 'unknown' END) = ?4) \
             AND (?5 IS NULL OR m.group_id IN (SELECT value FROM json_each(?5))) \
             ORDER BY m.id LIMIT ?6",
        )
        .bind(&[
            text(q.cursor.as_deref().unwrap_or("")),
            q.group.as_deref().map_or(wasm_bindgen::JsValue::NULL, text),
            q.tag.as_deref().map_or(wasm_bindgen::JsValue::NULL, text),
            q.status.as_deref().map_or(wasm_bindgen::JsValue::NULL, text),
            visible.as_deref().map_or(wasm_bindgen::JsValue::NULL, text),
            num(limit as i64 + 1),
        ])?
        .all()
        .await?
        .results()?;
    let more = rows.len() > limit;
    let services: Vec<(Entry, String)> = rows
        .iter()
        .take(limit)
        .filter_map(|row| Some((row.entry(config)?, row.status.clone().unwrap_or_else(|| "unknown".into()))))
        .collect();
    let next_cursor = if more { rows.get(limit - 1).map(|r| r.id.clone()) } else { None };
    Ok(Page { services, next_cursor })
}

/// Every managed service's resolved config (for the catalog), by id, and the managed
/// groups. Reads the whole registry: called once per isolate per catalog version.
///
/// # Errors
/// Any D1 error.
pub async fn catalog(db: &D1Database, config: &Config) -> Result<(i64, Vec<ServiceConfig>, Vec<ManagedGroup>)> {
    #[derive(Deserialize)]
    struct Row {
        spec: String,
        paused: i64,
    }
    crate::budget::count(Kind::D1);
    let results = db
        .batch(vec![
            db.prepare("SELECT version FROM catalog WHERE id = 1"),
            db.prepare("SELECT spec, paused FROM managed_services ORDER BY id"),
            db.prepare("SELECT id, name, public, defaults FROM managed_groups ORDER BY id"),
        ])
        .await?;
    let mut results = results.into_iter();
    let version =
        results.next().map(|r| r.results::<Version>()).transpose()?.and_then(|v| v.first().map(|v| v.version));
    let rows: Vec<Row> = results.next().map(|r| r.results()).transpose()?.unwrap_or_default();
    let groups: Vec<GroupRow> = results.next().map(|r| r.results()).transpose()?.unwrap_or_default();
    let services = rows
        .iter()
        .filter_map(|r| {
            let stored: StoredSpec = serde_json::from_str(&r.spec).ok()?;
            Some(stored.config(config, r.paused != 0))
        })
        .collect();
    Ok((version.unwrap_or(0), services, groups.into_iter().filter_map(GroupRow::group).collect()))
}

#[derive(Deserialize)]
struct Version {
    version: i64,
}

/// The catalog version (raised by every registry write).
///
/// # Errors
/// Any D1 error.
pub async fn version(db: &D1Database) -> Result<i64> {
    crate::budget::count(Kind::D1);
    let row: Option<Version> = db.prepare("SELECT version FROM catalog WHERE id = 1").first(None).await?;
    Ok(row.map_or(0, |v| v.version))
}

/// A service's change log, newest first: `limit` entries before `before` (epoch ms).
///
/// # Errors
/// Any D1 error.
pub async fn changes(db: &D1Database, id: &str, before: Option<i64>, limit: u32) -> Result<Vec<Change>> {
    #[derive(Deserialize)]
    struct Row {
        service_id: String,
        at: i64,
        actor: String,
        action: String,
        detail: String,
    }
    crate::budget::count(Kind::D1);
    let rows: Vec<Row> = db
        .prepare(
            "SELECT service_id, at, actor, action, detail FROM service_changes WHERE service_id = ?1 AND at < ?2 \
             ORDER BY at DESC LIMIT ?3",
        )
        .bind(&[text(id), num(before.unwrap_or(i64::MAX)), num(i64::from(limit))])?
        .all()
        .await?
        .results()?;
    Ok(rows
        .into_iter()
        .map(|r| Change {
            service_id: r.service_id,
            at: Timestamp::from_millis(r.at),
            actor: Actor::parse(&r.actor),
            action: r.action,
            detail: serde_json::from_str(&r.detail).unwrap_or(Value::Null),
        })
        .collect())
}

/// The managed service with ping id `ping_id`.
///
/// # Errors
/// Any D1 error.
pub async fn by_ping_id(db: &D1Database, ping_id: &str) -> Result<Option<ServiceId>> {
    #[derive(Deserialize)]
    struct Row {
        id: String,
    }
    crate::budget::count(Kind::D1);
    let row: Option<Row> =
        db.prepare("SELECT id FROM managed_services WHERE ping_id = ?1").bind(&[text(ping_id)])?.first(None).await?;
    Ok(row.and_then(|r| ServiceId::parse(&r.id).ok()))
}

/// Whether a managed service `id` is registered.
///
/// # Errors
/// Any D1 error.
pub async fn exists(db: &D1Database, id: &str) -> Result<bool> {
    crate::budget::count(Kind::D1);
    let row: Option<serde_json::Value> =
        db.prepare("SELECT 1 AS one FROM managed_services WHERE id = ?1").bind(&[text(id)])?.first(None).await?;
    Ok(row.is_some())
}

/// How many managed services are in `group`.
///
/// # Errors
/// Any D1 error.
pub async fn count_in_group(db: &D1Database, group: &str) -> Result<u64> {
    #[derive(Deserialize)]
    struct Row {
        n: i64,
    }
    crate::budget::count(Kind::D1);
    let row: Option<Row> = db
        .prepare("SELECT COUNT(*) AS n FROM managed_services WHERE group_id = ?1")
        .bind(&[text(group)])?
        .first(None)
        .await?;
    Ok(row.map_or(0, |r| u64::try_from(r.n).unwrap_or(0)))
}

#[derive(Deserialize)]
struct GroupRow {
    id: String,
    name: String,
    public: i64,
    defaults: String,
}

impl GroupRow {
    fn group(self) -> Option<ManagedGroup> {
        let defaults = serde_json::from_str(&self.defaults).ok()?;
        Some(ManagedGroup { id: self.id, name: self.name, public: self.public != 0, defaults })
    }
}

/// The managed group `id`.
///
/// # Errors
/// Any D1 error.
pub async fn group(db: &D1Database, id: &str) -> Result<Option<ManagedGroup>> {
    crate::budget::count(Kind::D1);
    let row: Option<GroupRow> = db
        .prepare("SELECT id, name, public, defaults FROM managed_groups WHERE id = ?1")
        .bind(&[text(id)])?
        .first(None)
        .await?;
    Ok(row.and_then(GroupRow::group))
}

/// Every managed group, by id.
///
/// # Errors
/// Any D1 error.
pub async fn groups(db: &D1Database) -> Result<Vec<ManagedGroup>> {
    crate::budget::count(Kind::D1);
    let rows: Vec<GroupRow> =
        db.prepare("SELECT id, name, public, defaults FROM managed_groups ORDER BY id").all().await?.results()?;
    Ok(rows.into_iter().filter_map(GroupRow::group).collect())
}

/// Creates or replaces a managed group at `now`; raises the catalog version.
///
/// # Errors
/// Any D1 error.
pub async fn write_group(db: &D1Database, g: &ManagedGroup, now: Timestamp) -> Result<()> {
    crate::budget::count(Kind::D1);
    let upsert = db
        .prepare(
            "INSERT INTO managed_groups (id, name, public, defaults, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             public = excluded.public, defaults = excluded.defaults, updated_at = excluded.updated_at",
        )
        .bind(&[
            text(&g.id),
            text(&g.name),
            num(i64::from(g.public)),
            text(&Value::Object(g.defaults.clone()).to_string()),
            num(now.as_millis()),
        ])?;
    db.batch(vec![upsert, bump(db)]).await?;
    Ok(())
}

/// Deletes the managed group `id`; raises the catalog version. Returns whether it existed.
///
/// # Errors
/// Any D1 error.
pub async fn delete_group(db: &D1Database, id: &str) -> Result<bool> {
    crate::budget::count(Kind::D1);
    let results =
        db.batch(vec![db.prepare("DELETE FROM managed_groups WHERE id = ?1").bind(&[text(id)])?, bump(db)]).await?;
    let changed = results.first().and_then(|r| r.meta().ok().flatten()).and_then(|m| m.changes).unwrap_or(0);
    Ok(changed > 0)
}
