//! The one sequence every Durable Object runs for every event: load → one call into core →
//! persist → arm the alarm → carry out the effects, whose results are the next event
//! (see `systole_core::durable`).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::future::{join_all, select, Either};
use systole_core::budget::Kind;
use systole_core::durable::{AlarmAction, Attempted, Completed, Outcome, Write, Written};
use systole_core::history::EventRow;
use systole_core::notify::queue::AttemptRecord;
use systole_core::time::Timestamp;
use wasm_bindgen::JsValue;
use worker::{Delay, Env, Method, Request, RequestInit, Response, Result, ScheduledTime, State, Stub};

use crate::deployment::{self, now};
use crate::notify::{history, send};

/// A Durable Object driven by [`run`].
pub trait Object {
    /// Its events.
    type Input;
    /// What a request is answered with.
    type Answer;
    /// What it publishes to dashboards.
    type Update;

    /// Loads the state (cached) and makes the one call into core at `now`. Never holds a
    /// borrow across an `.await`.
    ///
    /// # Errors
    /// Storage errors while loading.
    fn handle(&self, now: Timestamp, input: Self::Input) -> Result<Outcome<Self::Answer, Self::Update>>;
    /// The event that carries `done` back into core.
    fn completed(done: Completed) -> Self::Input;
    /// Writes the cached state to the object's storage.
    ///
    /// # Errors
    /// Storage or serialization errors.
    fn persist(&self) -> Result<()>;
    /// Adds (or overwrites) event rows in the object's storage; objects without event rows
    /// never get any (the default does nothing).
    ///
    /// # Errors
    /// Storage or serialization errors.
    fn append(&self, rows: &[EventRow]) -> Result<()> {
        let _ = rows;
        Ok(())
    }
    /// The object's state handle (for the alarm) and the Worker's bindings.
    fn bindings(&self) -> (&State, &Env);
    /// The `alert_history` subject of its delivery attempts.
    fn subject(&self) -> String;
    /// Publishes a live update (without waiting).
    fn publish(&self, update: Self::Update);
    /// Writes rows that only this kind of object owns; `false` (logged) when D1 failed.
    async fn write_own(&self, write: &Write) -> bool;
    /// Forgets the armed alarm in the cached state (setting it failed), so the next event
    /// sets it again.
    fn disarm(&self);
    /// Counts an alarm set (for the benchmark's counters).
    fn count_alarm(&self) {}
    /// The next deadline the object must check even while an alarm awaits its delivery
    /// attempts, and the input that checks it; `None` (the default) for objects without one.
    fn deadline(&self) -> Option<(Timestamp, Self::Input)> {
        None
    }
}

/// Runs `input` and every completion it leads to through `obj`, and returns the answer to
/// the first event.
///
/// # Errors
/// Storage errors of the object itself (reading or persisting its state); send and D1
/// failures are outcomes, and an alarm that cannot be set is logged (see [`arm`]).
pub async fn run<O: Object>(obj: &O, input: O::Input) -> Result<O::Answer> {
    let mut events = VecDeque::from([input]);
    let mut answer = None;
    while let Some(input) = events.pop_front() {
        let out = obj.handle(now(), input)?;
        store(obj, &out)?;
        if let Err(e) = arm(obj, out.alarm).await {
            // The state is stored: answering an error now would make a client send a stored
            // heartbeat again. The next event (or the hourly watchdog) sets the alarm anew.
            worker::console_error!("alarm not set after two tries (the next event sets it): {e}");
        }
        for line in &out.log {
            worker::console_log!("{line}");
        }
        if let Some(update) = out.update {
            obj.publish(update);
        }
        if !out.sends.is_empty() {
            let timeout = deployment::notifications().settings.retry.timeout;
            let finished = checking_deadlines(obj, send::all(obj.bindings().1, out.sends, timeout)).await?;
            let attempts = finished
                .into_iter()
                .map(|f| Attempted { send: f.send, started: f.started, ended: f.ended, outcome: f.outcome })
                .collect();
            events.push_back(O::completed(Completed::Sent(attempts)));
        }
        if !out.writes.is_empty() {
            let written = join_all(out.writes.into_iter().map(|write| async move {
                let ok = match &write {
                    Write::Attempts(records) => write_attempts(obj, records).await,
                    own => obj.write_own(own).await,
                };
                Written { write, ok }
            }))
            .await;
            events.push_back(O::completed(Completed::Written(written)));
        }
        answer.get_or_insert(out.answer);
    }
    answer.ok_or_else(|| worker::Error::RustError("no event was handled".into()))
}

/// Stores what `out` asks for: its event rows, then the state (so a stored state never
/// counts rows that are not there). No `.await` between them: the runtime commits both
/// together.
///
/// # Errors
/// Storage or serialization errors.
fn store<O: Object>(obj: &O, out: &Outcome<O::Answer, O::Update>) -> Result<()> {
    if !out.append.is_empty() {
        obj.append(&out.append)?;
    }
    if out.persist {
        obj.persist()?;
    }
    Ok(())
}

/// How often [`checking_deadlines`] looks at the object's deadline again (a heartbeat
/// handled meanwhile may have moved it or made one).
const RECHECK: Duration = Duration::from_secs(1);

/// Awaits `sends` (up to the attempt timeout when a receiver hangs, and the runtime runs no
/// other alarm meanwhile) while checking the object's deadlines on time: when one is due,
/// the object's deadline input runs (persist, log, publish; it starts nothing and leaves
/// the alarm to this alarm's completion).
///
/// # Errors
/// Storage errors of the object while persisting a deadline's outcome.
async fn checking_deadlines<O: Object, T>(obj: &O, sends: impl Future<Output = T>) -> Result<T> {
    let mut sends = pin!(sends);
    let mut checked = None;
    loop {
        let next = obj.deadline().map(|(at, _)| at).filter(|at| checked.is_none_or(|c| *at > c));
        let wait = next.map_or(RECHECK, |at| {
            Duration::from_millis(u64::try_from(at.as_millis() - now().as_millis()).unwrap_or(0)).min(RECHECK)
        });
        if let Either::Left((done, _)) = select(sends.as_mut(), Delay::from(wait)).await {
            return Ok(done);
        }
        let now = now();
        let Some((at, input)) = obj.deadline().filter(|(at, _)| *at <= now && checked.is_none_or(|c| *at > c)) else {
            continue;
        };
        checked = Some(at);
        let out = obj.handle(now, input)?;
        store(obj, &out)?;
        for line in &out.log {
            worker::console_log!("{line}");
        }
        if let Some(update) = out.update {
            obj.publish(update);
        }
    }
}

/// Sets the alarm an outcome asks for; tried twice, since the state it belongs to is already
/// stored. When both tries fail the cached state forgets it (the next event, or the hourly
/// watchdog, sets it again) and the error is returned for [`run`] to log; the event's answer
/// stands.
pub async fn arm<O: Object>(obj: &O, alarm: AlarmAction) -> Result<()> {
    let AlarmAction::Set(at, _) = alarm else {
        return Ok(());
    };
    let mut tries = 0;
    loop {
        // An absolute time: `ScheduledTime::from(i64)` would be an offset from now.
        let date = js_sys::Date::new(&JsValue::from_f64(at.as_millis() as f64));
        match obj.bindings().0.storage().set_alarm(ScheduledTime::new(date)).await {
            Ok(()) => {
                obj.count_alarm();
                return Ok(());
            }
            Err(e) if tries == 0 => worker::console_warn!("setting the alarm for {at} failed, retrying: {e}"),
            Err(e) => {
                obj.disarm();
                return Err(e);
            }
        }
        tries += 1;
    }
}

async fn write_attempts<O: Object>(obj: &O, records: &[AttemptRecord]) -> bool {
    // Logged there when D1 fails; nothing to write counts as written.
    history::flush(obj.bindings().1, &obj.subject(), records).await.is_none_or(|(_, ok)| ok)
}

/// Sends `message` as JSON in a `POST` to `url` of the Durable Object behind `stub`.
///
/// # Errors
/// Serialization errors, or the runtime's error reaching the object.
pub async fn post<T: serde::Serialize>(stub: &Stub, url: &str, message: &T) -> Result<Response> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(serde_json::to_string(message)?.into()));
    crate::budget::count(Kind::Object);
    stub.fetch_with_request(Request::new_with_init(url, &init)?).await
}
