//! The ServiceMonitor Durable Object: the single writer for one service.
//!
//! Holds the service's [`ServiceRecord`] in its own SQLite storage (one state row, plus one
//! row per recorded heartbeat in a ring, [`crate::events`]), verifies
//! heartbeat keys, runs the core state machine, keeps exactly one alarm for its earliest
//! deadline, notification or history flush, and from that alarm sends notifications
//! (retrying durably, see [`crate::notify`]) and writes history to D1 in batches. Every
//! heartbeat and status change is published to the NotificationHubs ([`crate::live`]).
//!
//! Internal protocol (only the Worker's router calls it):
//! - `POST /` with a core `ToMonitor` message (a heartbeat, or the cron watchdog); an accepted
//!   heartbeat is answered 200 with the single form's whole public answer
//!   (`heartbeat::answer` of its `Accepted`), which the router passes on for a single
//!   heartbeat and reads back as the `Accepted` for a batch;
//! - `POST /` with `{"op": "manage", "data": …}` (a core `Manage`): a management operation on the
//!   managed service this object holds (`systole_core::managed::handle`): the service is
//!   stored in the object's own SQLite (table `managed`, authoritative), applied to the
//!   monitor at once, and written to the D1 registry with its change log row; answered 200/201
//!   with the core `Managed` JSON, or problem+json;
//! - `GET /stats` → 200 [`Stats`] JSON (in-memory counters for `cargo xtask bench`);
//! - `GET /echo` → 200 `{"ok": true}` (no work: the benchmark's round-trip baseline);
//! - `GET /echo-persist` → the same after rewriting the stored record (the benchmark's
//!   round trip plus the heartbeat's one durable row write).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::Serialize;
use std::panic::AssertUnwindSafe;
use systole_core::api::heartbeat::HeartbeatItem;
use systole_core::api::heartbeat::{self, Accepted};
use systole_core::api::Problem;
use systole_core::config::{ServiceConfig, ServiceId};
use systole_core::dependency::ParentState;
use systole_core::durable::{AlarmAction, Completed, Wake, Write};
use systole_core::history::{EventRow, FlushBatch};
use systole_core::live::{PublishGate, ServiceUpdate};
use systole_core::managed::{self, Manage, ManageContext, ManagedService, Store};
use systole_core::monitor::{HeartbeatEvent, MonitorConfig};
use systole_core::protocol::ToMonitor;
use systole_core::record::{Answer, Context, Input, ServiceOutcome, ServiceRecord, ServiceSnapshot};
use systole_core::time::Timestamp;
use wasm_bindgen::prelude::*;
use worker::worker_sys::{web_sys, DurableObjectState};
use worker::{Env, Response, Result, SqlStorage, State};

use crate::budget;
use crate::deployment;
use crate::durable::{self, Object};
use crate::live;
use crate::promise;
use crate::row::Row;
use crate::{d1, events, http};

/// Counters since this object was loaded, for the benchmark: SQL rows written (from the
/// cursors' `rowsWritten`) and the bytes bound in them, alarms set, D1 rows written (from D1
/// `meta.rows_written`).
#[derive(Clone, Copy, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Heartbeat requests that reached this object (accepted or not).
    pub heartbeat_requests: u64,
    /// Heartbeats recorded.
    pub heartbeats: u64,
    /// Rows written to this object's SQLite storage.
    pub storage_rows_written: u64,
    /// Bytes of the values bound in those writes (JSON text; 8 per integer).
    pub storage_bytes_written: u64,
    /// State row rewrites among them.
    pub state_writes: u64,
    /// `setAlarm` calls (each a billed row write).
    pub alarms_set: u64,
    /// Alarm invocations (each a billed Durable Object request).
    pub alarms_fired: u64,
    /// Live updates posted to NotificationHubs, relayed ones included (each a billed
    /// Durable Object request).
    pub live_posts: u64,
    /// Rows written to D1 by history flushes.
    pub d1_rows_written: u64,
    /// Successful flushes.
    pub flushes: u64,
}

/// Heartbeats read back from D1 per query when a record is loaded ([`ServiceMonitor::ready`]).
const CATCH_UP_PAGE: u32 = 256;

/// Seconds after which an alarm that could not catch its record up from D1 runs again.
const CATCH_UP_RETRY_SECS: u32 = 30;

/// The record's row: `monitor(id = 1, record)`.
const STORED: Row = Row { table: "monitor", column: "record" };

/// A managed service's row: `managed(id = 1, service)` ([`ManagedService`] JSON).
const MANAGED: Row = Row { table: "managed", column: "service" };

/// One service's monitor (see the module docs).
///
/// Exported to the runtime by hand rather than by `worker`'s `#[durable_object]`, whose
/// glue wraps every request and answer (a `Request` read field by field, the answer's body
/// copied into a new `Uint8Array` with a new `ResponseInit`): the heartbeat's answer is built
/// once, as the runtime takes it ([`http::json_as_is`]).
#[allow(missing_debug_implementations)] // State and Env are JS handles without Debug.
#[wasm_bindgen]
pub struct ServiceMonitor {
    state: State,
    /// The object's SQLite handle, taken once (each heartbeat writes its event row with it).
    sql: SqlStorage,
    env: Env,
    record: RefCell<Option<ServiceRecord>>,
    /// Whether `record` holds what storage holds (loaded once per instance).
    loaded: Cell<bool>,
    /// The service named by the last request (the stored record names it once it exists).
    service_id: RefCell<Option<String>>,
    stats: Cell<Stats>,
    /// Which live updates are worth sending to which hub (in memory only).
    live: Rc<RefCell<PublishGate>>,
    /// The managed service this object holds, with its resolved config (loaded with the
    /// record; `None` for a declared service or an empty object).
    managed: RefCell<Option<(ManagedService, ServiceConfig)>>,
    /// Whether `managed` holds what storage holds.
    managed_loaded: Cell<bool>,
    /// Whether this instance made its tables (before its first write; an object that only
    /// ever refused heartbeats writes nothing).
    tables: Cell<bool>,
    /// The status change to push to the service's dependents once the event's work is done
    /// (the last one published; see [`ServiceMonitor::run`]).
    parent_change: RefCell<Option<(String, ParentState)>>,
}

#[wasm_bindgen]
impl ServiceMonitor {
    /// The runtime's constructor: the object's `state` and the Worker's bindings.
    #[wasm_bindgen(constructor)]
    pub fn new(state: DurableObjectState, env: Env) -> Self {
        let state = State::from(state);
        Self {
            sql: state.storage().sql(),
            state,
            env,
            record: RefCell::new(None),
            loaded: Cell::new(false),
            service_id: RefCell::new(None),
            stats: Cell::new(Stats::default()),
            live: Rc::new(RefCell::new(PublishGate::default())),
            managed: RefCell::new(None),
            managed_loaded: Cell::new(false),
            tables: Cell::new(false),
            parent_change: RefCell::new(None),
        }
    }

    /// The runtime's `fetch`: answers one request of the internal protocol (module docs)
    /// with a `Response`; a runtime or storage error rejects (the caller answers 503).
    pub async fn fetch(&self, req: web_sys::Request) -> std::result::Result<JsValue, JsValue> {
        AssertUnwindSafe(self.serve(req)).await.map(JsValue::from).map_err(JsValue::from)
    }

    /// The runtime's `alarm` (see [`ServiceMonitor::on_alarm`]).
    pub async fn alarm(&self) -> std::result::Result<JsValue, JsValue> {
        AssertUnwindSafe(self.on_alarm()).await.map(|()| JsValue::UNDEFINED).map_err(JsValue::from)
    }
}

impl ServiceMonitor {
    /// The answer to `req` (the module docs' protocol).
    async fn serve(&self, req: web_sys::Request) -> Result<web_sys::Response> {
        let url = req.url();
        let path = systole_core::api::route::path_of(&url);
        if path != "/" {
            return self.inspect(path).map(web_sys::Response::from);
        }
        let text = promise::settled(&req.text()?).await?.as_string().unwrap_or_default();
        self.message(serde_json::from_str(&text)?).await
    }

    /// The answer to one heartbeat: for an accepted one the single form's whole answer.
    async fn heartbeat(&self, item: HeartbeatItem) -> Result<web_sys::Response> {
        self.count(|s| s.heartbeat_requests += 1);
        self.service_id.replace(Some(item.service_id.as_str().to_owned()));
        self.ready(true).await?;
        if self.resumes(item.key.as_deref()) {
            // A heartbeat with a valid key resumes a paused managed service (as a ping to a
            // paused healthchecks.io check does): logged as a change.
            let resume = Manage {
                service_id: item.service_id.clone(),
                actor: managed::Actor::Heartbeat,
                operation: managed::Op::Resume,
            };
            self.manage(resume).await?;
        }
        let input = Input::Heartbeat { heartbeat: item.heartbeat, key: item.key };
        let refused = match budget::invocation("ServiceMonitor heartbeat", self.run(input)).await? {
            Answer::Accepted { service_id, received_at, status, next_deadline } => {
                self.count(|s| s.heartbeats += 1);
                let dropped = item.dropped_metrics;
                let accepted = Accepted::new(&service_id, status, received_at, next_deadline, dropped);
                // The single form's whole answer, which the router passes on as it is (and
                // reads back as the `Accepted` within for a batch).
                return match heartbeat::answer(vec![Ok(accepted)], false, received_at) {
                    Ok(summary) => http::json_as_is(summary.status, &summary),
                    Err(problem) => http::problem(&problem).map(web_sys::Response::from),
                };
            }
            refused => {
                let held =
                    self.managed.borrow().is_some() || deployment::config().is_declared(item.service_id.as_str());
                refused.refusal(held)
            }
        };
        http::problem(&refused).map(web_sys::Response::from)
    }

    /// The answer to `message`; a heartbeat's is built as the runtime takes it
    /// ([`ServiceMonitor::heartbeat`]), every other one through `worker`'s `Response`.
    async fn message(&self, message: ToMonitor) -> Result<web_sys::Response> {
        let answer = match message {
            ToMonitor::Heartbeat(item) => return self.heartbeat(item).await,
            ToMonitor::Maintenance { service_id, command } => {
                self.maintenance(service_id.as_str(), Input::Maintenance(command)).await
            }
            ToMonitor::Snooze { service_id, minutes, key } => {
                self.maintenance(service_id.as_str(), Input::Snooze { minutes, key }).await
            }
            ToMonitor::Parent { service_id, parent, state } => {
                self.service_id.replace(Some(service_id.to_string()));
                self.ready(false).await?;
                let input = Input::Parents(vec![(parent, state)]);
                match budget::invocation("ServiceMonitor parent", self.run(input)).await? {
                    Answer::UnknownService => http::problem(&Problem::not_found("unknown service")),
                    _ => http::json(200, &serde_json::json!({})),
                }
            }
            ToMonitor::Authorize { service_id, key } => {
                self.maintenance(service_id.as_str(), Input::Authorize { key }).await
            }
            ToMonitor::Acknowledge { service_id, started_at, by } => {
                self.service_id.replace(Some(service_id.to_string()));
                self.ready(false).await?;
                let input = Input::Acknowledge { started_at, by };
                let incident = match budget::invocation("ServiceMonitor acknowledge", durable::run(self, input)).await?
                {
                    Answer::Acknowledged(incident) => Some(incident),
                    _ => None,
                };
                http::json(200, &serde_json::json!({ "incident": incident }))
            }
            ToMonitor::Watchdog { service_id } => {
                self.service_id.replace(Some(service_id.to_string()));
                let alarm_held = self.state.storage().get_alarm().await?.is_some();
                let input = Input::Watchdog { alarm_held };
                self.ready(false).await?;
                let visit = async {
                    self.observe_parents(&service_id).await?;
                    self.run(input).await
                };
                match budget::invocation("ServiceMonitor watchdog", visit).await? {
                    Answer::WakeAt(at) => {
                        http::json(200, &serde_json::json!({ "alarmAt": at.map(Timestamp::as_millis) }))
                    }
                    _ => http::problem(&Problem::not_found("unknown service")),
                }
            }
            ToMonitor::Manage(request) => {
                self.service_id.replace(Some(request.service_id.as_str().to_owned()));
                budget::invocation("ServiceMonitor manage", self.manage(request)).await
            }
        };
        answer.map(web_sys::Response::from)
    }

    /// `f` of the config of service `id`: declared in `services.json`, else the managed
    /// service this object holds; `None` when it has neither.
    fn with_service<R>(&self, id: &str, f: impl FnOnce(&ServiceConfig) -> R) -> Option<R> {
        let managed = self.managed.borrow();
        deployment::config().service(id).or(managed.as_ref().map(|(_, c)| c)).map(f)
    }

    /// Remembers each parent's state as D1 last holds it (`service_state` and its latest
    /// heartbeat, with when it goes `down` if silent, per its config in the catalog), as its
    /// push would have said it (`systole_core::dependency::ParentState::observed`):
    /// - at the watchdog's visit, a push that was lost, or made before this service existed,
    ///   is caught up, so an alert is never held, nor left unheld, for longer than one round
    ///   of the watchdog;
    /// - at this service's own deadline, what each parent last heard decides whether its
    ///   `down` waits for a silent parent's verdict (`systole_core::dependency::awaiting`).
    ///
    /// Two D1 reads (the catalog's version, and the catalog itself when it changed; the
    /// parents' states), none without parents, counted with the caller's invocation. An
    /// older state than the one held is ignored (`systole_core::dependency::remember`); a D1
    /// failure is logged and leaves them as they are.
    ///
    /// # Errors
    /// Storage errors of the object itself.
    async fn observe_parents(&self, service_id: &ServiceId) -> Result<()> {
        let depends_on = self.with_service(service_id.as_str(), |s| s.depends_on.clone()).unwrap_or_default();
        if depends_on.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = depends_on.iter().map(ServiceId::as_str).collect();
        let read = async {
            let catalog = crate::catalog::config(&self.env).await.map_err(|e| format!("catalog: {e:?}"))?;
            let db = self.env.d1(deployment::DB_BINDING).map_err(|e| e.to_string())?;
            let rows = d1::read::statuses_of(&db, &ids).await.map_err(|e| e.to_string())?;
            Ok::<_, String>((catalog, rows))
        };
        let (catalog, rows) = match read.await {
            Ok(read) => read,
            Err(e) => {
                worker::console_error!("{service_id}: parents not observed (D1): {e}");
                return Ok(());
            }
        };
        let parents: Vec<_> = rows
            .iter()
            .filter_map(|row| {
                let stored = row.stored()?;
                let config = catalog.service(&stored.service_id)?;
                let state = ParentState::observed(&stored, &MonitorConfig::from(config));
                Some((config.id.clone(), state))
            })
            .collect();
        if !parents.is_empty() {
            self.run(Input::Parents(parents)).await?;
        }
        Ok(())
    }

    /// The answer to `GET path` for a path other than `/` (the benchmark's counters and round
    /// trips).
    fn inspect(&self, path: &str) -> Result<Response> {
        match path {
            "/stats" => http::json(200, &self.stats.get()),
            "/echo" => http::json(200, &serde_json::json!({ "ok": true })),
            "/echo-persist" => {
                self.persist()?;
                http::json(200, &serde_json::json!({ "ok": true }))
            }
            _ => http::problem(&Problem::not_found("no such ServiceMonitor operation")),
        }
    }

    /// The alarm: the record caught up from D1 (retried in [`CATCH_UP_RETRY_SECS`] when it
    /// cannot be), then one run of the deadline, deliveries and flush it is for.
    async fn on_alarm(&self) -> Result<()> {
        self.count(|s| s.alarms_fired += 1);
        if let Err(e) = self.ready(false).await {
            // The deadline waits for D1's read-back (the record may not know the last
            // heartbeat): try again shortly rather than leave it to the runtime's bounded retries.
            worker::console_error!("alarm: the record could not be caught up, again in {CATCH_UP_RETRY_SECS} s: {e}");
            let at = Timestamp::from_millis(deployment::now().as_millis() + i64::from(CATCH_UP_RETRY_SECS) * 1_000);
            durable::arm(self, AlarmAction::Set(at, Wake::Deadline)).await?;
            return Ok(());
        }
        // A deadline due now may make the service `down`: whether its alert waits for a silent
        // parent depends on what each parent last heard.
        let now = deployment::now();
        let due = self
            .record
            .borrow()
            .as_ref()
            .filter(|r| r.deadline().is_some_and(|at| at <= now))
            .map(|r| r.service_id.clone());
        let alarm = async {
            if let Some(id) = due {
                self.observe_parents(&id).await?;
            }
            self.run(Input::Alarm).await
        };
        budget::invocation("ServiceMonitor alarm", alarm).await?;
        Ok(())
    }
}

impl Object for ServiceMonitor {
    type Input = Input;
    type Answer = Answer;
    type Update = ServiceUpdate;

    fn handle(&self, now: Timestamp, input: Input) -> Result<ServiceOutcome> {
        let mut slot = self.loaded()?;
        #[cfg(feature = "bench")]
        if matches!(input, Input::Heartbeat { .. }) && bench_unlimited(&self.env) {
            if let Some(rec) = slot.as_mut() {
                rec.limiter = systole_core::limit::Limiter::default();
            }
        }
        // The stored record names the service; before the first heartbeat, the request does.
        let id = slot.as_ref().map(|r| r.service_id.as_str().to_owned()).or_else(|| self.service_id.borrow().clone());
        let config = deployment::config();
        let managed = self.managed.borrow();
        let declared = id.as_deref().and_then(|id| config.service(id));
        let managed = if declared.is_some() { None } else { managed.as_ref() };
        let ctx = Context {
            service: declared.or(managed.map(|(_, c)| c)),
            notifications: deployment::notifications(),
            keys: deployment::keys(&self.env),
            dashboard_url: deployment::public_url(&self.env),
            flush_interval: config.settings.flush_interval,
            managed: managed.map(|(m, _)| m),
            ack_links: Some(deployment::ack_links(&self.env)),
        };
        Ok(ServiceRecord::handle(&mut slot, now, input, &ctx))
    }

    fn completed(done: Completed) -> Input {
        Input::Completed(done)
    }

    fn persist(&self) -> Result<()> {
        self.tables();
        let (rows, bytes) = match self.record.borrow().as_ref() {
            Some(rec) => STORED.save(&self.state, rec)?,
            None => return Ok(()),
        };
        self.count(|s| {
            s.storage_rows_written += rows;
            s.storage_bytes_written += bytes;
            s.state_writes += 1;
        });
        Ok(())
    }

    fn append(&self, rows: &[EventRow]) -> Result<()> {
        self.tables();
        let (rows, bytes) = events::append(&self.sql, rows)?;
        self.count(|s| {
            s.storage_rows_written += rows;
            s.storage_bytes_written += bytes;
        });
        Ok(())
    }

    fn bindings(&self) -> (&State, &Env) {
        (&self.state, &self.env)
    }

    fn subject(&self) -> String {
        self.record.borrow().as_ref().map(|r| r.service_id.to_string()).unwrap_or_default()
    }

    fn publish(&self, update: ServiceUpdate) {
        if let Some(posts) =
            self.with_service(&update.id, |service| live::publish(&self.env, service, &update, &self.live))
        {
            self.count(|s| s.live_posts += posts);
        }
        if update.change.is_some() {
            let state = self.record.borrow().as_ref().map(|r| r.monitor.as_parent());
            *self.parent_change.borrow_mut() = state.map(|state| (update.id, state));
        }
    }

    async fn write_own(&self, write: &Write) -> bool {
        match write {
            Write::History(batch) => {
                let snapshot = self.record.borrow().as_ref().map(ServiceRecord::snapshot);
                match snapshot {
                    Some(snapshot) => self.flush(batch, &snapshot).await,
                    None => false,
                }
            }
            Write::Incident(incident) => {
                let id = self.subject();
                let written =
                    async { d1::history::incident(&self.env.d1(deployment::DB_BINDING)?, &id, incident).await };
                match written.await {
                    Ok(()) => true,
                    Err(e) => {
                        worker::console_error!("writing incident of {id} to D1 (the next flush writes it): {e}");
                        false
                    }
                }
            }
            _ => false,
        }
    }

    fn disarm(&self) {
        if let Some(rec) = self.record.borrow_mut().as_mut() {
            rec.armed.spent();
        }
    }

    fn count_alarm(&self) {
        self.count(|s| s.alarms_set += 1);
    }

    fn deadline(&self) -> Option<(Timestamp, Input)> {
        let at = self.record.borrow().as_ref()?.deadline()?;
        Some((at, Input::Deadline))
    }
}

impl ServiceMonitor {
    /// Runs `input` through [`durable::run`], then pushes a status change it made to the
    /// service's dependents ([`crate::dependents::push`]), within the same invocation (its
    /// subrequests are counted with it).
    ///
    /// # Errors
    /// As [`durable::run`].
    async fn run(&self, input: Input) -> Result<Answer> {
        let answer = durable::run(self, input).await?;
        let change = self.parent_change.borrow_mut().take();
        if let Some((id, state)) = change {
            crate::dependents::push(&self.env, &id, state).await;
        }
        Ok(answer)
    }

    /// Creates this object's tables once per instance, before its first write.
    fn tables(&self) {
        if !self.tables.replace(true) {
            STORED.create(&self.state);
            MANAGED.create(&self.state);
            events::create(&self.state);
        }
    }

    /// Loads the managed service this object holds, once per instance (none for a declared
    /// id: those never have one).
    fn load_managed(&self) -> Result<()> {
        if self.managed_loaded.get() {
            return Ok(());
        }
        let declared = self.service_id.borrow().as_deref().is_some_and(|id| deployment::config().is_declared(id));
        let stored = if declared { None } else { MANAGED.load::<ManagedService>(&self.state)? };
        let config = deployment::config();
        *self.managed.borrow_mut() = stored.map(|m| {
            let c = m.config(config);
            (m, c)
        });
        self.managed_loaded.set(true);
        Ok(())
    }

    /// Whether a heartbeat presenting `key` now resumes the paused managed service this
    /// object holds (the key opens it).
    fn resumes(&self, key: Option<&str>) -> bool {
        let held = self.managed.borrow();
        let Some((m, config)) = held.as_ref().filter(|(m, _)| m.paused) else { return false };
        m.authorize(config, deployment::keys(&self.env), key, deployment::now()).granted()
    }

    /// One management operation (see the module docs): load → one core call
    /// ([`managed::handle`]) → persist → apply to the monitor (re-arm, publish) → registry
    /// and change rows in D1 → the answer.
    async fn manage(&self, request: Manage) -> Result<Response> {
        self.load_managed()?;
        let now = deployment::now();
        let id = request.service_id.clone();
        let config = deployment::config();
        // A written spec's `dependsOn` is checked against the whole catalog (one D1 read).
        let catalog = match &request.operation {
            managed::Op::Put { .. } | managed::Op::Patch { .. } => match crate::catalog::config(&self.env).await {
                Ok(c) => Some(c),
                Err(_) => return http::problem(&Problem::unavailable("the service catalog cannot be read", 2)),
            },
            _ => None,
        };
        let ctx = ManageContext {
            config,
            notifications: deployment::notifications(),
            keys: deployment::keys(&self.env),
            catalog: catalog.as_deref(),
        };
        let outcome = {
            let mut held = self.managed.borrow_mut();
            let mut slot = held.take().map(|(m, _)| m);
            let outcome = managed::handle(&mut slot, now, request, &ctx);
            *held = slot.map(|m| {
                let c = m.config(config);
                (m, c)
            });
            outcome
        };
        let (status, answer) = match outcome.answer {
            Ok(a) => a,
            Err(problem) => return http::problem(&problem),
        };
        let db = self.env.d1(deployment::DB_BINDING)?;
        match outcome.store {
            Store::Nothing => {}
            Store::Save => {
                self.tables();
                let row = {
                    let held = self.managed.borrow();
                    let Some((m, c)) = held.as_ref() else { return http::problem(&Problem::not_found("gone")) };
                    MANAGED.save(&self.state, m)?;
                    m.registry_row(c)
                };
                // The monitor follows at once (a pause closes an incident, a resume waits).
                self.ready(false).await?;
                self.run(Input::Configured).await?;
                if let Err(e) = d1::registry::write(&db, &row, outcome.change.as_ref()).await {
                    worker::console_error!("{id}: registry write failed (the object holds the change): {e}");
                    return http::problem(&Problem::unavailable(
                        "the service was stored but the registry could not be updated; repeat the request",
                        2,
                    ));
                }
            }
            Store::Delete { purge } => {
                self.ready(false).await?;
                self.run(Input::Delete).await?;
                if let Some(change) = &outcome.change {
                    if let Err(e) = d1::registry::remove(&db, id.as_str(), change, purge).await {
                        worker::console_error!("{id}: registry delete failed: {e}");
                        // The object still holds the service: the delete can be repeated.
                        if let Some(m) = MANAGED.load::<ManagedService>(&self.state)? {
                            let c = m.config(config);
                            *self.managed.borrow_mut() = Some((m, c));
                        }
                        return http::problem(&Problem::unavailable(
                            "the history database is temporarily unavailable",
                            2,
                        ));
                    }
                }
                self.state.storage().delete_alarm().await?;
                self.state.storage().delete_all().await?;
                *self.record.borrow_mut() = None;
                self.loaded.set(true);
                self.tables.set(false);
            }
        }
        http::json(status, &answer)
    }

    /// A maintenance window added or removed, or a snooze, for `service_id` → 200
    /// `{"status", "maintenanceUntil": ms | null}`; a key check → 200 `{}`; 401 for a snooze's
    /// or a key check's wrong key, 404 for a service not configured.
    async fn maintenance(&self, service_id: &str, input: Input) -> Result<Response> {
        self.service_id.replace(Some(service_id.to_owned()));
        self.load_managed()?;
        self.ready(false).await?;
        match budget::invocation("ServiceMonitor maintenance", self.run(input)).await? {
            Answer::Maintenance { status, until } => http::json(
                200,
                &serde_json::json!({ "status": status, "maintenanceUntil": until.map(Timestamp::as_millis) }),
            ),
            Answer::Nothing => http::json(200, &serde_json::json!({})),
            Answer::Unauthorized => http::problem(&Problem::unauthorized()),
            _ => http::problem(&Problem::not_found("unknown service")),
        }
    }

    /// The cached record (loaded from storage on first use). Never held across an `.await`.
    fn loaded(&self) -> Result<std::cell::RefMut<'_, Option<ServiceRecord>>> {
        self.load_managed()?;
        if !self.loaded.get() {
            let stored = self.load()?;
            *self.record.borrow_mut() = stored;
            self.loaded.set(true);
        }
        Ok(self.record.borrow_mut())
    }

    /// Loads the record on first use, caught up with the heartbeats D1 holds that its
    /// storage does not (written through, see `ServiceRecord::catch_up`): one D1 read per
    /// load of an existing record. Before that read answers, no event may use the record
    /// (a service that beat would look overdue, and sequence numbers could be reused).
    ///
    /// When D1 cannot answer and `without_d1` is set (a heartbeat: it sets the last
    /// heartbeat itself), the record goes on as stored (`ServiceRecord::catch_up_unavailable`),
    /// so a heartbeat is never refused for D1's sake.
    ///
    /// # Errors
    /// Storage errors, or D1 failing without `without_d1`: the event fails and the next one
    /// tries again (an alarm sets itself again, see [`ServiceMonitor::alarm`]).
    async fn ready(&self, without_d1: bool) -> Result<()> {
        self.load_managed()?;
        if self.loaded.get() {
            return Ok(());
        }
        let Some(mut rec) = self.load()? else {
            return Ok(());
        };
        let caught = self.read_back(&rec).await;
        // Another event may have loaded it while D1 answered: that one is newer.
        if self.loaded.get() {
            return Ok(());
        }
        match caught {
            Ok((events, written)) => rec.catch_up(events, written),
            Err(e) if without_d1 => {
                worker::console_error!(
                    "{}: D1 did not answer the catch-up read, going on as stored: {e}",
                    rec.service_id
                );
                rec.catch_up_unavailable();
            }
            Err(e) => return Err(e),
        }
        *self.record.borrow_mut() = Some(rec);
        self.loaded.set(true);
        Ok(())
    }

    /// The heartbeats D1 holds from where `rec` asks on, and the time D1's rollups reach.
    async fn read_back(&self, rec: &ServiceRecord) -> Result<(Vec<HeartbeatEvent>, Option<Timestamp>)> {
        let db = self.env.d1(deployment::DB_BINDING)?;
        let (mut since, mut seq) = rec.catch_up_from();
        let (mut events, mut written) = (Vec::new(), None);
        loop {
            let (got, until) = d1::read::catch_up(&db, rec.service_id.as_str(), since, seq, CATCH_UP_PAGE).await?;
            written = written.or(until);
            let last = got.last().map(|e| (e.at, e.seq));
            let full = got.len() == CATCH_UP_PAGE as usize;
            events.extend(got);
            match last {
                Some((at, s)) if full => (since, seq) = (Some(at), s + 1),
                _ => return Ok((events, written)),
            }
        }
    }

    /// Reads the record: its state row, upgraded (a version 1 record's buffered heartbeats
    /// are moved into event rows, then the record is rewritten), completed with the event
    /// rows stored after it.
    fn load(&self) -> Result<Option<ServiceRecord>> {
        let Some(mut rec) = STORED.load::<ServiceRecord>(&self.state)? else {
            return Ok(None);
        };
        if let Some(moved) = rec.upgrade() {
            worker::console_log!(
                "{}: record upgraded, {} buffered heartbeats moved to rows",
                rec.service_id,
                moved.len()
            );
            events::append(&self.sql, &moved)?;
            STORED.save(&self.state, &rec)?;
        }
        let rows = events::read_from(&self.state, rec.history.flushed + 1)?;
        rec.restore(rows);
        Ok(Some(rec))
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

    fn count(&self, f: impl FnOnce(&mut Stats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }
}

/// Whether the benchmark turned the per-service heartbeat rate limit off
/// (`BENCH_SERVICE_RATE_UNLIMITED=1`, read once per isolate; only a build with the `bench`
/// feature reads it): each heartbeat then finds the limiter full, so the benchmark can load
/// one service as fast as the runtime's floor Workers.
#[cfg(feature = "bench")]
fn bench_unlimited(env: &Env) -> bool {
    static UNLIMITED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *UNLIMITED.get_or_init(|| {
        let name = "BENCH_SERVICE_RATE_UNLIMITED";
        let value = env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string()));
        value.is_ok_and(|v| v == "1")
    })
}
