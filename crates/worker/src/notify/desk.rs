//! The AlertDesk Durable Object: one instance (`external`) that owns external alerts'
//! de-duplication state and their durable delivery queue (core [`AlertDesk`]), so two
//! identical requests arriving together still send once.
//!
//! Internal protocol (only the `POST /api/alert` route calls it):
//! - `POST /` with a core `Intake` message → 200 `{"alerts": [Receipt]}`; sends happen in the
//!   alarm this sets, so the request never waits for a channel.

use std::cell::{Cell, RefCell};

use serde_json::json;
use systole_core::api::Problem;
use systole_core::desk::{DeskContext, DeskInput, DeskOutcome, DeskRecord};
use systole_core::durable::{Completed, Write};
use systole_core::notify::external::{AlertRow, Tracked};
use systole_core::protocol::Intake;
use systole_core::time::Timestamp;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::deployment::{self, DB_BINDING};
use crate::durable::{self, Object};
use crate::http;
use crate::row::Row;

/// The `alert_history` subject of external alerts.
pub const SUBJECT: &str = systole_core::config::EXTERNAL_SUBJECT;

/// The desk's row: `desk(id = 1, state)`: its delivery queue and bookkeeping.
const STORED: Row = Row { table: "desk", column: "state" };

/// One row per tracked external alert: its key (`<sender>/<fingerprint>`), what the desk
/// remembers of it, and its D1 row while that is unwritten (JSON).
const ALERTS_TABLE: &str = "CREATE TABLE IF NOT EXISTS desk_alerts \
     (key TEXT PRIMARY KEY, tracked TEXT NOT NULL, unwritten TEXT)";

/// See the module docs.
#[allow(missing_debug_implementations)] // State and Env are JS handles without Debug.
#[durable_object]
pub struct AlertDesk {
    state: State,
    env: Env,
    record: RefCell<DeskRecord>,
    /// Whether `record` holds what storage holds (loaded once per instance).
    loaded: Cell<bool>,
}

impl DurableObject for AlertDesk {
    fn new(state: State, env: Env) -> Self {
        STORED.create(&state);
        if let Err(e) = state.storage().sql().exec(ALERTS_TABLE, None) {
            worker::console_error!("creating table desk_alerts: {e}");
        }
        Self { state, env, record: RefCell::new(DeskRecord::default()), loaded: Cell::new(false) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if req.path() != "/" {
            return http::problem(&Problem::not_found("no such AlertDesk operation"));
        }
        let intake: Intake = serde_json::from_str(&req.text().await?)?;
        let receipts =
            crate::budget::invocation("AlertDesk receive", durable::run(self, DeskInput::Receive(intake))).await?;
        http::json(200, &json!({ "alerts": receipts }))
    }

    async fn alarm(&self) -> Result<Response> {
        crate::budget::invocation("AlertDesk alarm", durable::run(self, DeskInput::Alarm)).await?;
        Response::ok("")
    }
}

impl Object for AlertDesk {
    type Input = DeskInput;
    type Answer = Vec<systole_core::notify::external::Receipt>;
    type Update = Vec<systole_core::live::AlertUpdate>;

    fn handle(&self, now: Timestamp, input: DeskInput) -> Result<DeskOutcome> {
        if !self.loaded.get() {
            let mut stored: DeskRecord = STORED.load(&self.state)?.unwrap_or_default();
            stored.desk.restore(self.load_alerts()?);
            *self.record.borrow_mut() = stored;
            self.loaded.set(true);
        }
        let ctx = DeskContext {
            notifications: deployment::notifications(),
            dashboard_url: deployment::public_url(&self.env),
        };
        Ok(self.record.borrow_mut().handle(now, input, &ctx))
    }

    fn completed(done: Completed) -> DeskInput {
        DeskInput::Completed(done)
    }

    fn persist(&self) -> Result<()> {
        let mut record = self.record.borrow_mut();
        STORED.save(&self.state, &*record)?;
        let sql = self.state.storage().sql();
        for key in std::mem::take(&mut record.desk.changed) {
            let cursor = match record.desk.row(&key) {
                Some((tracked, row)) => {
                    let row = row.map(serde_json::to_string).transpose()?;
                    sql.exec(
                        "INSERT INTO desk_alerts (key, tracked, unwritten) VALUES (?, ?, ?) ON CONFLICT (key) \
                         DO UPDATE SET tracked = excluded.tracked, unwritten = excluded.unwritten",
                        vec![key.into(), serde_json::to_string(tracked)?.into(), row.into()],
                    )?
                }
                None => sql.exec("DELETE FROM desk_alerts WHERE key = ?", vec![key.into()])?,
            };
            let _ = cursor.raw().count();
        }
        Ok(())
    }

    fn bindings(&self) -> (&State, &Env) {
        (&self.state, &self.env)
    }

    fn subject(&self) -> String {
        SUBJECT.to_owned()
    }

    fn publish(&self, update: Self::Update) {
        crate::live::publish_alerts(&self.env, &update);
    }

    fn disarm(&self) {
        self.record.borrow_mut().armed.spent();
    }

    async fn write_own(&self, write: &Write) -> bool {
        let Write::Alerts(rows) = write else {
            return false;
        };
        match self.write_alerts(rows).await {
            Ok(()) => true,
            Err(e) => {
                worker::console_error!("writing {} external alerts to D1: {e}", rows.len());
                false
            }
        }
    }
}

impl AlertDesk {
    /// Every stored tracked alert: (key, tracked, unwritten D1 row).
    fn load_alerts(&self) -> Result<Vec<(String, Tracked, Option<AlertRow>)>> {
        #[derive(serde::Deserialize)]
        struct Stored {
            key: String,
            tracked: String,
            unwritten: Option<String>,
        }
        let rows: Vec<Stored> =
            self.state.storage().sql().exec("SELECT key, tracked, unwritten FROM desk_alerts", None)?.to_array()?;
        rows.into_iter()
            .map(|r| {
                let row = r.unwritten.as_deref().map(serde_json::from_str).transpose()?;
                Ok((r.key, serde_json::from_str(&r.tracked)?, row))
            })
            .collect()
    }

    async fn write_alerts(&self, rows: &[systole_core::notify::external::AlertRow]) -> Result<()> {
        crate::d1::alerts::write_external(&self.env.d1(DB_BINDING)?, rows).await
    }
}
