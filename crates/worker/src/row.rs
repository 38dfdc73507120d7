//! A Durable Object's state as one JSON row in its SQLite storage: table `{table}` with
//! `id = 1` and the JSON in `{column}`. Used by the ServiceMonitor (its whole state) and the
//! AlertDesk (its queue; its tracked alerts are rows of their own, `notify::desk`).

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Result, State};

/// Where one object's state lives.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    /// Table name.
    pub table: &'static str,
    /// Column holding the JSON text.
    pub column: &'static str,
}

impl Row {
    /// Creates the table if it does not exist (logged, not fatal: the next read reports it).
    pub fn create(self, state: &State) {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (id INTEGER PRIMARY KEY CHECK (id = 1), {} TEXT NOT NULL)",
            self.table, self.column
        );
        if let Err(e) = state.storage().sql().exec(&sql, None) {
            worker::console_error!("creating table {}: {e}", self.table);
        }
    }

    /// Deletes the state row (the table stays).
    ///
    /// # Errors
    /// Storage errors.
    pub fn clear(self, state: &State) -> Result<()> {
        let sql = format!("DELETE FROM {}", self.table);
        match state.storage().sql().exec(&sql, None) {
            Ok(cursor) => {
                let _ = cursor.raw().count();
                Ok(())
            }
            Err(e) if e.to_string().contains("no such table") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The stored state, if any (`None` too when the table was never created).
    ///
    /// # Errors
    /// Storage errors, or JSON that does not parse as `T`.
    pub fn load<T: DeserializeOwned>(self, state: &State) -> Result<Option<T>> {
        let sql = format!("SELECT {} AS value FROM {} WHERE id = 1", self.column, self.table);
        let rows: Vec<serde_json::Value> = match state.storage().sql().exec(&sql, None) {
            Ok(cursor) => cursor.to_array()?,
            // Tables are created before the first write: an object never written has none.
            Err(e) if e.to_string().contains("no such table") => return Ok(None),
            Err(e) => return Err(e),
        };
        let text = rows.first().and_then(|r| r.get("value")).and_then(|v| v.as_str());
        text.map(|t| serde_json::from_str(t).map_err(worker::Error::from)).transpose()
    }

    /// Writes `value` as the state; returns the rows SQLite reports written and the bytes of
    /// the JSON written.
    ///
    /// # Errors
    /// Storage or serialization errors.
    pub fn save<T: Serialize>(self, state: &State, value: &T) -> Result<(u64, u64)> {
        let sql = format!(
            "INSERT INTO {t} (id, {c}) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET {c} = excluded.{c}",
            t = self.table,
            c = self.column
        );
        let json = serde_json::to_string(value)?;
        let bytes = json.len() as u64;
        let cursor = state.storage().sql().exec(&sql, vec![json.into()])?;
        let _ = cursor.raw().count();
        Ok((cursor.rows_written() as u64, bytes))
    }
}
