//! Carrying out delivery attempts: render each notification for its channel (core), send it
//! with `fetch` under a timeout, and report what happened as a core [`Outcome`].

use std::time::Duration;

use futures_util::future::{join_all, select, Either};
use systole_core::notify::queue::{retry_after, Outcome, Send};
use systole_core::notify::text::head;
use systole_core::notify::{render, Notification, OutboundRequest, ResolvedChannel};
use systole_core::time::Timestamp;
use wasm_bindgen::JsValue;
use worker::{AbortController, AbortSignal, Delay, Env, Fetch, Headers, Method, Request, RequestInit};

use crate::deployment::{self, now};

/// Longest excerpt of an error response's body kept for the record, in bytes.
const BODY_EXCERPT: usize = 300;

/// One finished attempt: the send, when it started and ended (epoch ms), and its outcome.
#[derive(Debug)]
pub struct Finished {
    /// The attempt.
    pub send: Send,
    /// When it started.
    pub started: Timestamp,
    /// When it ended.
    pub ended: Timestamp,
    /// What happened.
    pub outcome: Outcome,
}

/// Sends every attempt concurrently, each bounded by `timeout`.
pub async fn all(env: &Env, sends: Vec<Send>, timeout: Duration) -> Vec<Finished> {
    join_all(sends.into_iter().map(|send| async move {
        let started = now();
        let outcome = attempt(env, &send.channel, &send.notification, started, timeout).await;
        Finished { send, started, ended: now(), outcome }
    }))
    .await
}

/// One attempt to deliver `n` through the channel named `channel` at `now`.
pub async fn attempt(env: &Env, channel: &str, n: &Notification, now: Timestamp, timeout: Duration) -> Outcome {
    let resolved = match find(env, channel) {
        Ok(c) => c,
        Err(reason) => return Outcome::Unsendable(reason),
    };
    let request = render(resolved, n, now);
    let controller = AbortController::default();
    let answered = {
        let exchange = Box::pin(exchange(&request, controller.signal()));
        let raced = select(exchange, Delay::from(timeout)).await;
        match raced {
            Either::Left((outcome, _)) => Some(outcome),
            Either::Right(_) => None,
        }
    };
    answered.unwrap_or_else(|| {
        controller.abort();
        Outcome::NetworkError(format!("no answer within {} s", timeout.as_secs()))
    })
}

/// The ready channel named `name`, or why it cannot send.
fn find<'a>(env: &'a Env, name: &str) -> Result<&'a ResolvedChannel, String> {
    let (ready, missing) = deployment::channels(env);
    if let Some(c) = ready.iter().find(|c| c.config.name == name) {
        return Ok(c);
    }
    let problems: Vec<String> = missing.iter().filter(|m| m.channel == name).map(ToString::to_string).collect();
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    match deployment::notifications().channels.iter().find(|c| c.name == name) {
        Some(c) if !c.enabled => Err(format!("channel {name:?} is disabled")),
        Some(_) => Err("notifications are disabled in notifications.json".to_owned()),
        None => Err(format!("channel {name:?} is no longer configured")),
    }
}

/// Sends `request` and reads the answer.
async fn exchange(request: &OutboundRequest, signal: AbortSignal) -> Outcome {
    let headers = Headers::new();
    for (name, value) in &request.headers {
        if let Err(e) = headers.append(name, value) {
            return Outcome::Unsendable(format!("header {name}: {e}"));
        }
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(request.method.to_owned()))
        .with_headers(headers)
        .with_body(Some(JsValue::from_str(&request.body)));
    let req = match Request::new_with_init(&request.url, &init) {
        Ok(r) => r,
        Err(e) => return Outcome::Unsendable(format!("invalid request: {e}")),
    };
    crate::budget::count(systole_core::budget::Kind::Fetch);
    let mut resp = match Fetch::Request(req).send_with_signal(&signal).await {
        Ok(r) => r,
        Err(e) => return Outcome::NetworkError(e.to_string()),
    };
    let status = resp.status_code();
    let retry = resp.headers().get("Retry-After").ok().flatten().and_then(|v| retry_after(&v, now()));
    let body = if (200..300).contains(&status) { String::new() } else { resp.text().await.unwrap_or_default() };
    Outcome::Answered { status, retry_after: retry, body: head(&body, BODY_EXCERPT).to_owned() }
}
