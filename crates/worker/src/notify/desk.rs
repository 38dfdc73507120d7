//! The AlertDesk Durable Object: one instance (`external`) that owns external alerts'
//! de-duplication state and their durable delivery queue (core [`AlertDesk`]), so two
//! identical requests arriving together still send once.
//!
//! Internal protocol (only the `POST /api/alert` route calls it):
//! - `POST /receive` with [`Intake`] JSON → 200 `{"alerts": [Receipt]}`; sends happen in the
//!   alarm this sets, so the request never waits for a channel.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use serde_json::json;
use systole_core::api::Problem;
use systole_core::notify::alert::AlertBatch;
use systole_core::notify::external::AlertDesk as DeskState;
use systole_core::notify::queue::DeliveryQueue;
use systole_core::time::Timestamp;
use wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, ScheduledTime, State};

use super::QueueHost;
use crate::deployment::{self, now, DB_BINDING};
use crate::http;
use crate::row::Row;

/// The `alert_history` subject of external alerts.
pub const SUBJECT: &str = "external";

/// A parsed request handed from the route to the desk.
#[derive(Debug, Deserialize, Serialize)]
pub struct Intake {
    /// The alerts.
    pub batch: AlertBatch,
    /// The selected channel names.
    pub channels: Vec<String>,
    /// Whether the request named them (which skips `minSeverity`).
    pub explicit: bool,
}

/// The desk's row: `desk(id = 1, state)`.
const STORED: Row = Row { table: "desk", column: "state" };

/// See the module docs.
#[allow(missing_debug_implementations)] // State and Env are JS handles without Debug.
#[durable_object]
pub struct AlertDesk {
    state: State,
    env: Env,
    desk: RefCell<Option<DeskState>>,
}

impl DurableObject for AlertDesk {
    fn new(state: State, env: Env) -> Self {
        STORED.create(&state);
        Self { state, env, desk: RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if req.path() != "/receive" {
            return http::problem(&Problem::not_found("no such AlertDesk operation"));
        }
        let intake: Intake = serde_json::from_str(&req.text().await?)?;
        let now = now();
        let config = deployment::notifications();
        let channels: Vec<_> = config.channels.iter().filter(|c| intake.channels.contains(&c.name)).collect();
        let public_url = deployment::public_url(&self.env);
        let receipts = self.with(|d| d.receive(now, &intake.batch, &channels, intake.explicit, public_url))?;
        self.persist()?;
        self.wake(now).await?;
        http::json(200, &json!({ "alerts": receipts }))
    }

    async fn alarm(&self) -> Result<Response> {
        let policy = deployment::notifications().settings.retry;
        super::deliver(&self.env, SUBJECT, self, &policy).await?;
        let rows = self.with(|d| d.unwritten.clone())?;
        if !rows.is_empty() {
            match self.write_alerts(&rows).await {
                Ok(()) => {
                    // Requests may have replaced some rows meanwhile; only the written go.
                    self.with(|d| d.unwritten.retain(|r| !rows.contains(r)))?;
                    self.persist()?;
                }
                Err(e) => worker::console_error!("writing {} external alerts to D1: {e}", rows.len()),
            }
        }
        let now = now();
        let pending_rows = self.with(|d| !d.unwritten.is_empty())?;
        let next = self.with(|d| d.deliveries.next_wake())?;
        let retry_rows = pending_rows.then(|| now.plus(std::time::Duration::from_secs(5)));
        if let Some(at) = [next, retry_rows].into_iter().flatten().min() {
            self.wake(at.max(now)).await?;
        }
        Response::ok("")
    }
}

impl AlertDesk {
    fn with<T>(&self, f: impl FnOnce(&mut DeskState) -> T) -> Result<T> {
        if self.desk.borrow().is_none() {
            let loaded = self.load()?;
            *self.desk.borrow_mut() = Some(loaded.unwrap_or_default());
        }
        let mut slot = self.desk.borrow_mut();
        slot.as_mut().map(f).ok_or_else(|| worker::Error::RustError("no desk state".into()))
    }

    fn load(&self) -> Result<Option<DeskState>> {
        STORED.load(&self.state)
    }

    fn save(&self) -> Result<()> {
        if let Some(d) = self.desk.borrow().as_ref() {
            STORED.save(&self.state, d)?;
        }
        Ok(())
    }

    /// Sets the alarm to `at` unless one is already set no later.
    async fn wake(&self, at: Timestamp) -> Result<()> {
        let held = self.state.storage().get_alarm().await?;
        if held.is_some_and(|ms| ms <= at.as_millis()) {
            return Ok(());
        }
        let date = js_sys::Date::new(&JsValue::from_f64(at.as_millis() as f64));
        self.state.storage().set_alarm(ScheduledTime::new(date)).await
    }

    async fn write_alerts(&self, rows: &[systole_core::notify::external::AlertRow]) -> Result<()> {
        crate::d1::alerts::write_external(&self.env.d1(DB_BINDING)?, rows).await
    }
}

impl QueueHost for AlertDesk {
    fn with_queue<T>(&self, f: impl FnOnce(&mut DeliveryQueue) -> T) -> Result<T> {
        self.with(|d| f(&mut d.deliveries))
    }

    fn persist(&self) -> Result<()> {
        self.save()
    }
}
