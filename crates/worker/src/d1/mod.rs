//! Every D1 query: the ServiceMonitors' history flushes and the cron's pruning
//! ([`history`]), the read APIs' and pages' reads ([`read`]), and the alerting tables
//! ([`alerts`]).
//!
//! Each table has one row struct in [`rows`] whose fields are its columns, same names. Every
//! write goes through [`insert`]: the rows serialized by serde as one JSON array, bound as
//! one parameter and expanded with `json_each`, each column read by name
//! (`json_extract(value, '$.column')`). So any number of rows is one statement within D1's
//! 100 bound parameters, and a column is written from the field of its own name, never
//! from a position or from a core type's serde names. Writes are idempotent (insert-or-ignore
//! by sequence number, upsert by key, rollups as absolute totals), so a repeated flush
//! changes nothing.

pub mod alerts;
pub mod heartbeat_central;
pub mod history;
pub mod read;
pub mod registry;
pub mod rows;
pub mod telemetry;

use serde::Serialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Result};

pub use history::flush;
pub use read::{
    attention, changes_seen, daily, heartbeats, incidents, metrics, states_of, status_changes, statuses, statuses_of,
    summary, Counted,
};
pub use rows::{ChangeRow, StateRow};

/// A D1 table written from a row struct: one field per column, in the table's order, with
/// the column's name (checked against `migrations/` by a native test in [`rows`]).
pub trait Table: Serialize {
    /// The table's name.
    const NAME: &'static str;
    /// Its columns, in the struct's field order.
    const COLUMNS: &'static [&'static str];
    /// What writing a row whose key exists does.
    const CONFLICT: Conflict;
}

/// What writing a row whose key already exists does.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Conflict {
    /// `INSERT OR IGNORE`: the stored row stays (rows keyed by sequence number).
    Ignore,
    /// `INSERT OR REPLACE`: the new row replaces the stored one.
    Replace,
    /// `ON CONFLICT (key) DO UPDATE SET column = excluded.column` for each of `set`.
    Update {
        /// The key columns.
        key: &'static [&'static str],
        /// The columns the new row overwrites.
        set: &'static [&'static str],
    },
    /// `ON CONFLICT (key) DO UPDATE SET column = COALESCE(excluded.column, column)` for each
    /// of `set`: the new row fills those columns in and never clears one, so an older write
    /// that lands late cannot undo a newer one.
    Fill {
        /// The key columns.
        key: &'static [&'static str],
        /// The columns the new row fills in.
        set: &'static [&'static str],
    },
}

/// The one write statement of every table: inserts `rows` (at least one) as described in
/// the module docs.
///
/// # Errors
/// Serialization or binding errors; D1's own errors come when the statement runs.
pub fn insert<T: Table>(db: &D1Database, rows: &[T]) -> Result<D1PreparedStatement> {
    db.prepare(insert_sql::<T>()).bind(&[text(&serde_json::to_string(rows)?)])
}

/// The SQL of [`insert`] for `T`, its one parameter (`?1`) the JSON array of rows.
pub fn insert_sql<T: Table>() -> String {
    let verb = match T::CONFLICT {
        Conflict::Ignore => "INSERT OR IGNORE",
        Conflict::Replace => "INSERT OR REPLACE",
        Conflict::Update { .. } | Conflict::Fill { .. } => "INSERT",
    };
    let values: Vec<String> = T::COLUMNS.iter().map(|c| format!("json_extract(value, '$.{c}')")).collect();
    // `WHERE true` lets SQLite tell the upsert's ON CONFLICT from a join constraint.
    let mut sql = format!(
        "{verb} INTO {} ({}) SELECT {} FROM json_each(?1) WHERE true",
        T::NAME,
        T::COLUMNS.join(", "),
        values.join(", ")
    );
    let (key, set): (_, Vec<String>) = match T::CONFLICT {
        Conflict::Update { key, set } => (key, set.iter().map(|c| format!("{c} = excluded.{c}")).collect()),
        Conflict::Fill { key, set } => {
            (key, set.iter().map(|c| format!("{c} = COALESCE(excluded.{c}, {c})")).collect())
        }
        Conflict::Ignore | Conflict::Replace => return sql,
    };
    sql.push_str(&format!(" ON CONFLICT ({}) DO UPDATE SET {}", key.join(", "), set.join(", ")));
    sql
}

fn text(v: &str) -> JsValue {
    JsValue::from_str(v)
}

fn num(v: i64) -> JsValue {
    JsValue::from_f64(v as f64)
}
