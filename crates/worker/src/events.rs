//! A ServiceMonitor's recorded heartbeats, one SQLite row each: table `events (slot INTEGER
//! PRIMARY KEY, n INTEGER, flushed INTEGER, event TEXT)`, a ring of `RING_SLOTS` slots where heartbeat `n` is
//! in slot `n % RING_SLOTS` (see `systole_core::history::EventRow`). A heartbeat upserts its
//! one row; nothing is ever deleted (a `DELETE`d row is a billed write too).

use serde::Deserialize;
use systole_core::history::{ring_ranges, EventRow, RING_SLOTS};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::worker_sys::SqlStorageCursor;
use worker::{Result, SqlStorage, State};

/// Creates the table if it does not exist (logged, not fatal: the next read reports it).
pub fn create(state: &State) {
    let sql = "CREATE TABLE IF NOT EXISTS events \
               (slot INTEGER PRIMARY KEY, n INTEGER NOT NULL, flushed INTEGER NOT NULL, event TEXT NOT NULL)";
    if let Err(e) = state.storage().sql().exec(sql, None) {
        worker::console_error!("creating table events: {e}");
    }
}

/// The upsert of one event row (bound: slot, n, flushed, event).
const UPSERT: &str = "INSERT INTO events (slot, n, flushed, event) VALUES (?, ?, ?, ?) ON CONFLICT (slot) \
                      DO UPDATE SET n = excluded.n, flushed = excluded.flushed, event = excluded.event";

#[wasm_bindgen]
extern "C" {
    /// A Durable Object's `SqlStorage`, as [`append`] calls it.
    type Sql;

    /// `sql.exec(UPSERT, slot, n, flushed, event)`: one call into JavaScript with the four
    /// values as they are (`worker::SqlStorage::exec` makes an array and spreads it).
    #[wasm_bindgen(method, catch, js_name = exec)]
    fn upsert(
        this: &Sql,
        query: &JsValue,
        slot: f64,
        n: f64,
        flushed: f64,
        event: &str,
    ) -> std::result::Result<SqlStorageCursor, JsValue>;
}

/// Stores `rows`, each in its slot, through the object's `sql` handle; returns the rows
/// SQLite reports written and the bytes bound (8 per integer plus the event's JSON). Each
/// upsert runs to completion inside `exec` (it returns no rows), so its cursor is never
/// iterated: a heartbeat's one write costs one `exec` and one `rowsWritten`.
///
/// # Errors
/// Storage or serialization errors.
pub fn append(sql: &SqlStorage, rows: &[EventRow]) -> Result<(u64, u64)> {
    thread_local! {
        /// [`UPSERT`] as a JavaScript string, made once per isolate.
        static QUERY: JsValue = JsValue::from_str(UPSERT);
    }
    let sql: &Sql = sql.as_ref().unchecked_ref();
    let (mut written, mut bytes) = (0, 0);
    for row in rows {
        let event = serde_json::to_string(&row.event)?;
        bytes += 24 + event.len() as u64;
        let cursor =
            QUERY.with(|query| sql.upsert(query, row.slot() as f64, row.n as f64, row.flushed as f64, &event))?;
        written += cursor.rows_written() as u64;
    }
    Ok((written, bytes))
}

#[derive(Deserialize)]
struct Raw {
    n: f64,
    flushed: f64,
    event: String,
}

/// The event rows of heartbeats `first ..` in order, as far as they go without a gap. Reads
/// by primary key in ranges that double (32, 64, … rows), so a load reads about the rows it
/// needs, not the whole ring.
///
/// # Errors
/// Storage errors, or an event that does not parse.
pub fn read_from(state: &State, first: u64) -> Result<Vec<EventRow>> {
    let sql = state.storage().sql();
    let mut rows = Vec::new();
    let (mut from, mut len) = (first, 32);
    loop {
        let before = rows.len();
        for (start, end) in ring_ranges(from, len) {
            let raw: Vec<Raw> = sql
                .exec(
                    "SELECT n, flushed, event FROM events WHERE slot >= ? AND slot < ? ORDER BY slot",
                    vec![(start as f64).into(), (end as f64).into()],
                )?
                .to_array()?;
            for r in raw {
                let n = r.n as u64;
                if n >= from && n < from + len {
                    rows.push(EventRow { n, flushed: r.flushed as u64, event: serde_json::from_str(&r.event)? });
                }
            }
        }
        let got = (rows.len() - before) as u64;
        if got < len || rows.len() as u64 >= RING_SLOTS {
            return Ok(rows);
        }
        from += len;
        len *= 2;
    }
}
