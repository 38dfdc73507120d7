//! The ServiceMonitor Durable Object: the single writer for one service.
//!
//! Holds the service's [`ServiceRecord`] in its own SQLite storage (one row), verifies
//! heartbeat keys, runs the core state machine, keeps exactly one alarm for its earliest
//! deadline, notification or history flush, and from that alarm sends notifications
//! (retrying durably, see [`crate::notify`]) and writes history to D1 in batches. Every
//! heartbeat and status change is published to the NotificationHubs ([`crate::live`]).
//!
//! Internal protocol (only the Worker's router calls it):
//! - `POST /heartbeat` with [`Delivery`] JSON → 200 `Accepted` JSON, or a problem (401, 503);
//! - `POST /ensure-alarm` with `{"serviceId"}` → 200 `{"alarmAt": ms | null}` (the cron watchdog);
//! - `GET /stats` → 200 [`Stats`] JSON (in-memory counters for `cargo xtask bench`);
//! - `GET /echo` → 200 `{"ok": true}` (no work: the benchmark's round-trip baseline);
//! - `GET /echo-persist` → the same after rewriting the stored record (the benchmark's
//!   round trip plus the heartbeat's one durable row write).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use systole_core::api::heartbeat::Accepted;
use systole_core::api::Problem;
use systole_core::config::{ServiceConfig, ServiceId};
use systole_core::history::Backpressure;
use systole_core::history::FlushBatch;
use systole_core::keys::Authorization;
use systole_core::live::{PublishGate, ServiceUpdate};
use systole_core::monitor::{Effect, Heartbeat, MonitorConfig, Reported};
use systole_core::notify::queue::DeliveryQueue;
use systole_core::notify::service::Routing;
use systole_core::record::{AlarmAction, ServiceRecord, ServiceSnapshot};
use systole_core::time::Timestamp;
use wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, ScheduledTime, State};

use crate::deployment::{self, now};
use crate::live;
use crate::notify::{self, QueueHost};
use crate::row::Row;
use crate::{d1, http};

/// A heartbeat handed from the router to its ServiceMonitor.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// The service.
    pub service_id: String,
    /// The key presented, if any.
    pub key: Option<String>,
    /// What the heartbeat reports.
    pub reported: Reported,
    /// Message (≤ 1 KiB).
    pub message: Option<String>,
    /// Metadata object as JSON text (≤ 4 KiB).
    pub metadata: Option<String>,
    /// Clamped metrics as JSON text.
    pub metrics: Option<String>,
    /// Metrics the clamp dropped (echoed in the answer).
    pub dropped_metrics: Vec<String>,
}

/// Counters since this object was loaded, for the benchmark: SQL rows written (from the
/// cursors' `rowsWritten`), alarms set, D1 rows written (from D1 `meta.rows_written`).
#[derive(Clone, Copy, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Heartbeats recorded.
    pub heartbeats: u64,
    /// Rows written to this object's SQLite storage.
    pub storage_rows_written: u64,
    /// `setAlarm` calls (each a billed row write).
    pub alarms_set: u64,
    /// Rows written to D1 by history flushes.
    pub d1_rows_written: u64,
    /// Successful flushes.
    pub flushes: u64,
}

/// The record's row: `monitor(id = 1, record)`.
const STORED: Row = Row { table: "monitor", column: "record" };

/// One service's monitor (see the module docs).
#[allow(missing_debug_implementations)] // State and Env are JS handles without Debug.
#[durable_object]
pub struct ServiceMonitor {
    state: State,
    env: Env,
    record: RefCell<Option<ServiceRecord>>,
    stats: Cell<Stats>,
    /// Which live updates are worth sending to which hub (in memory only).
    live: Rc<RefCell<PublishGate>>,
}

impl DurableObject for ServiceMonitor {
    fn new(state: State, env: Env) -> Self {
        STORED.create(&state);
        Self {
            state,
            env,
            record: RefCell::new(None),
            stats: Cell::new(Stats::default()),
            live: Rc::new(RefCell::new(PublishGate::default())),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match req.path().as_str() {
            "/heartbeat" => {
                // serde_json over the text: `Request::json` converts field by field across
                // the JS boundary, which costs more than the whole heartbeat's logic.
                let delivery: Delivery = serde_json::from_str(&req.text().await?)?;
                self.on_heartbeat(delivery).await
            }
            "/ensure-alarm" => {
                let body: serde_json::Value = serde_json::from_str(&req.text().await?)?;
                let id = body.get("serviceId").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
                self.on_watchdog(&id).await
            }
            "/stats" => http::json(200, &self.stats.get()),
            "/echo" => http::json(200, &serde_json::json!({ "ok": true })),
            "/echo-persist" => {
                self.persist()?;
                http::json(200, &serde_json::json!({ "ok": true }))
            }
            _ => http::problem(&Problem::not_found("no such ServiceMonitor operation")),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.on_alarm().await?;
        Response::ok("")
    }
}

impl ServiceMonitor {
    async fn on_heartbeat(&self, d: Delivery) -> Result<Response> {
        let now = now();
        let config = deployment::config();
        let service = config.service(&d.service_id);
        // Verified here, by the object that owns the service; the router's identical
        // pre-check only makes batches all-or-nothing.
        if deployment::keys(&self.env).authorize(service, d.key.as_deref()) == Authorization::Denied {
            return http::problem(&Problem::unauthorized());
        }
        let Some(service) = service else {
            return http::problem(&Problem::unauthorized());
        };
        let flush = config.settings.flush_interval;
        let hb = Heartbeat { reported: d.reported, message: d.message, metadata: d.metadata, metrics: d.metrics };
        let routing = routing(service, &self.env);
        let outcome = self.update(service, now, |rec| {
            let mut effects = rec.on_config(now, MonitorConfig::from(service));
            effects.extend(rec.on_heartbeat(now, hb)?);
            // Queued only: the alarm this sets (at `now`) sends, so the ack never waits.
            rec.notify(now, &effects, &routing);
            let next = rec.monitor.next_deadline().map(|(t, _)| t);
            let update = ServiceUpdate::new(service.id.as_str(), rec.monitor.state(), &effects, now);
            Ok::<_, Backpressure>((rec.monitor.status(), next, rec.rearm(now, flush), update))
        })?;
        match outcome {
            Ok((status, next, alarm, update)) => {
                self.apply(alarm).await?;
                live::publish(&self.env, service, &update, &self.live);
                self.count(|s| s.heartbeats += 1);
                http::json(200, &Accepted::new(&service.id, status, now, next, d.dropped_metrics))
            }
            Err(full) => http::problem(&Problem::unavailable(full.to_string(), 5)),
        }
    }

    /// The alarm: check deadlines, flush history if due, re-arm.
    async fn on_alarm(&self) -> Result<()> {
        let now = now();
        let Some(id) = self.stored_id()? else {
            return Ok(());
        };
        let config = deployment::config();
        let service = config.service(id.as_str());
        let (changed, update) = self.existing(|rec| {
            let Some(service) = service else {
                return (false, None);
            };
            let mut effects = rec.on_config(now, MonitorConfig::from(service));
            effects.extend(rec.on_alarm(now));
            let queued = rec.notify(now, &effects, &routing(service, &self.env));
            let transition = effects.iter().any(|e| matches!(e, Effect::StatusChanged(_)));
            let update =
                transition.then(|| ServiceUpdate::new(service.id.as_str(), rec.monitor.state(), &effects, now));
            (queued || effects.iter().any(|e| !matches!(e, Effect::Record(_))), update)
        })?;
        if changed {
            // A status change (and what it queued) is durable before anything is sent or
            // written elsewhere. Flush bookkeeping alone is not persisted: replaying a
            // flush writes the same rows.
            self.persist()?;
        }
        if let (Some(update), Some(service)) = (update, service) {
            live::publish(&self.env, service, &update, &self.live);
        }
        // Notifications first: they are what someone is waiting for.
        notify::deliver(&self.env, id.as_str(), self, &deployment::notifications().settings.retry).await?;
        let (batch, snapshot) = self.existing(|rec| (rec.begin_flush(now), rec.snapshot()))?;
        let mut ok = true;
        if let Some(batch) = batch {
            // Other events may run while D1 answers; they share the cached record.
            ok = self.flush(&batch, &snapshot).await;
            self.existing(|rec| rec.finish_flush(now, &batch, ok))?;
        }
        let alarm = match service {
            Some(_) => self.existing(|rec| rec.rearm(now, config.settings.flush_interval))?,
            // Removed from the config: what it buffered is written (retried if need be),
            // then the monitor sleeps.
            None if !ok => self.existing(|rec| rec.history.retry_at.map_or(AlarmAction::Keep, AlarmAction::Set))?,
            None => {
                worker::console_log!("service {id} is no longer configured; its monitor sleeps");
                AlarmAction::Keep
            }
        };
        self.apply(alarm).await
    }

    /// Writes one batch to D1; `false` (logged) when D1 fails.
    async fn flush(&self, batch: &FlushBatch, snapshot: &ServiceSnapshot) -> bool {
        let db = match self.env.d1(deployment::DB_BINDING) {
            Ok(db) => db,
            Err(e) => {
                worker::console_error!("no D1 binding: {e}");
                return false;
            }
        };
        match d1::flush(&db, batch, snapshot).await {
            Ok(rows) => {
                self.count(|s| {
                    s.d1_rows_written += rows;
                    s.flushes += 1;
                });
                true
            }
            Err(e) => {
                worker::console_error!("flushing history of {} to D1: {e}", snapshot.service_id);
                false
            }
        }
    }

    /// The cron watchdog: re-arm if the runtime holds no alarm although one is needed.
    async fn on_watchdog(&self, id: &str) -> Result<Response> {
        let now = now();
        let config = deployment::config();
        let Some(service) = config.service(id) else {
            return http::problem(&Problem::not_found("unknown service"));
        };
        if self.stored_id()?.is_none() {
            return http::json(200, &serde_json::json!({ "alarmAt": null }));
        }
        let held = self.state.storage().get_alarm().await?;
        let flush = config.settings.flush_interval;
        let (alarm, wanted) = self.update(service, now, |rec| {
            // Apply a deployed config change now (e.g. a service disabled while down).
            let effects = rec.on_config(now, MonitorConfig::from(service));
            rec.notify(now, &effects, &routing(service, &self.env));
            if held.is_none() {
                rec.armed = None;
            }
            (rec.rearm(now, flush), rec.next_wake(flush).map(|(t, _)| t.as_millis()))
        })?;
        self.apply(alarm).await?;
        http::json(200, &serde_json::json!({ "alarmAt": wanted }))
    }

    /// Runs `f` on the record (loading or creating it) and persists it in one row write.
    fn update<T>(&self, service: &ServiceConfig, now: Timestamp, f: impl FnOnce(&mut ServiceRecord) -> T) -> Result<T> {
        let out = self.modify(service, now, f)?;
        self.persist()?;
        Ok(out)
    }

    /// Runs `f` on the cached record without persisting. Never held across an `.await`.
    fn modify<T>(&self, service: &ServiceConfig, now: Timestamp, f: impl FnOnce(&mut ServiceRecord) -> T) -> Result<T> {
        self.stored_id()?;
        let mut slot = self.record.borrow_mut();
        let rec = slot.get_or_insert_with(|| ServiceRecord::new(service.id.clone(), MonitorConfig::from(service), now));
        Ok(f(rec))
    }

    /// Runs `f` on the stored record (after [`Self::stored_id`] found one), without persisting.
    fn existing<T>(&self, f: impl FnOnce(&mut ServiceRecord) -> T) -> Result<T> {
        self.stored_id()?;
        let mut slot = self.record.borrow_mut();
        slot.as_mut().map(f).ok_or_else(|| worker::Error::RustError("no stored record".into()))
    }

    fn stored_id(&self) -> Result<Option<ServiceId>> {
        if self.record.borrow().is_none() {
            let loaded = self.load()?;
            *self.record.borrow_mut() = loaded;
        }
        Ok(self.record.borrow().as_ref().map(|r| r.service_id.clone()))
    }

    fn load(&self) -> Result<Option<ServiceRecord>> {
        STORED.load(&self.state)
    }

    fn persist(&self) -> Result<()> {
        let written = match self.record.borrow().as_ref() {
            Some(rec) => STORED.save(&self.state, rec)?,
            None => return Ok(()),
        };
        self.count(|s| s.storage_rows_written += written);
        Ok(())
    }

    async fn apply(&self, alarm: AlarmAction) -> Result<()> {
        if let AlarmAction::Set(at) = alarm {
            // An absolute time: `ScheduledTime::from(i64)` would be an offset from now.
            let date = js_sys::Date::new(&JsValue::from_f64(at.as_millis() as f64));
            self.state.storage().set_alarm(ScheduledTime::new(date)).await?;
            self.count(|s| s.alarms_set += 1);
        }
        Ok(())
    }

    fn count(&self, f: impl FnOnce(&mut Stats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }
}

impl QueueHost for ServiceMonitor {
    fn with_queue<T>(&self, f: impl FnOnce(&mut DeliveryQueue) -> T) -> Result<T> {
        self.existing(|rec| f(&mut rec.deliveries))
    }

    fn persist(&self) -> Result<()> {
        ServiceMonitor::persist(self)
    }
}

/// Where `service`'s notifications go in this deployment.
fn routing<'a>(service: &'a ServiceConfig, env: &Env) -> Routing<'a> {
    Routing { notifications: deployment::notifications(), service, dashboard_url: deployment::public_url(env) }
}
