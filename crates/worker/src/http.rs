//! Building responses: JSON bodies, `application/problem+json` errors, and [`ApiError`], the
//! one error type of every route handler.

use std::cell::RefCell;

use futures_util::StreamExt;
use serde::Serialize;
use systole_core::api::Problem;
use worker::worker_sys::web_sys;
use worker::{Headers, Request, Response, Result};

/// What a route handler answers: a response, or an [`ApiError`] the router turns into
/// problem+json.
pub type Reply = std::result::Result<Response, ApiError>;

/// Why a route handler did not produce its answer. Converted to a response once, by the
/// router ([`ApiError::respond`]), so handlers use `?` instead of early returns.
#[derive(Debug)]
pub enum ApiError {
    /// The request's own problem (4xx), or a refusal decided as data (e.g. a 503 with
    /// `Retry-After`): answered as it is.
    Problem(Problem),
    /// A dependency failed (D1, a Durable Object, the runtime): answered 503 problem+json
    /// `"{what} is temporarily unavailable; retry shortly"` with `Retry-After: 2`, and
    /// logged; never a 500.
    Unavailable {
        /// The dependency, as the detail names it: `storage`, `the history database`.
        what: &'static str,
        /// The error, logged, never sent.
        error: worker::Error,
    },
}

/// The name of D1 in 503 answers of the read APIs and pages.
pub const HISTORY_DB: &str = "the history database";

impl ApiError {
    /// The problem+json response for this error (see [`problem`] and [`unavailable`]).
    ///
    /// # Errors
    /// Only if the runtime cannot build a response (headers); the router answers 503 then.
    pub fn respond(self) -> Result<Response> {
        match self {
            ApiError::Problem(p) => problem(&p),
            ApiError::Unavailable { what, error } => unavailable(what, &error),
        }
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError::Problem(p)
    }
}

/// Any runtime error without a more specific name is `storage` unavailable, as before route
/// handlers had their own error type.
impl From<worker::Error> for ApiError {
    fn from(error: worker::Error) -> Self {
        ApiError::Unavailable { what: "storage", error }
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        ApiError::from(worker::Error::from(e))
    }
}

/// Names the dependency behind a runtime error, for its 503 answer.
pub trait OrUnavailable<T> {
    /// `Err(e)` becomes [`ApiError::Unavailable`] of `what`.
    ///
    /// # Errors
    /// That error, when `self` is one.
    fn or_unavailable(self, what: &'static str) -> std::result::Result<T, ApiError>;
}

impl<T> OrUnavailable<T> for Result<T> {
    fn or_unavailable(self, what: &'static str) -> std::result::Result<T, ApiError> {
        self.map_err(|error| ApiError::Unavailable { what, error })
    }
}

/// A JSON response with `status`.
///
/// # Errors
/// Serialization or runtime (headers) errors.
pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    let text = serde_json::to_string(body)?;
    with_type(status, text, "application/json")
}

/// A problem+json response, with `Allow` / `Retry-After` when the problem carries them.
///
/// # Errors
/// Runtime (headers) errors.
pub fn problem(p: &Problem) -> Result<Response> {
    let mut resp = with_type(p.status, p.to_json(), "application/problem+json")?;
    if let Some(allow) = &p.allow {
        resp.headers_mut().set("Allow", allow)?;
    }
    if let Some(secs) = p.retry_after {
        resp.headers_mut().set("Retry-After", &secs.to_string())?;
    }
    Ok(resp)
}

/// A text response with an explicit content type; never cached, never sniffed.
///
/// Its headers are a copy of a set made once per isolate for each content type (one call
/// into JavaScript instead of one per header); the copy is the response's own, so callers
/// may add to it.
///
/// # Errors
/// Runtime (headers) errors.
pub fn with_type(status: u16, body: String, content_type: &str) -> Result<Response> {
    let headers = made_headers(content_type, |made| Ok(web_sys::Headers::new_with_headers(made)?))?;
    Ok(Response::builder().with_status(status).with_headers(Headers(headers)).fixed(body.into_bytes()))
}

/// [`json`] for a response that goes to the runtime as it is and is never changed (a
/// Durable Object's answer to the heartbeat), built as the runtime takes it: the JSON text
/// as the body (no byte copy into a `Uint8Array`) and a `ResponseInit` made once per isolate
/// for each status, whose headers are the per-isolate set itself (the runtime copies both
/// into the response it builds).
///
/// # Errors
/// Serialization or runtime (headers) errors.
pub fn json_as_is<T: Serialize>(status: u16, body: &T) -> Result<web_sys::Response> {
    thread_local! {
        static INITS: RefCell<Vec<(u16, web_sys::ResponseInit)>> = const { RefCell::new(Vec::new()) };
    }
    let text = serde_json::to_string(body)?;
    INITS.with(|inits| {
        let mut inits = inits.borrow_mut();
        let init = match inits.iter().position(|(s, _)| *s == status) {
            Some(i) => &inits[i].1,
            None => {
                let init = web_sys::ResponseInit::new();
                init.set_status(status);
                let headers = made_headers("application/json", |made| Ok(made.clone()))?;
                init.set_headers(&headers);
                inits.push((status, init));
                &inits[inits.len() - 1].1
            }
        };
        Ok::<_, worker::Error>(web_sys::Response::new_with_opt_str_and_init(Some(&text), init)?)
    })
}

/// `f` of the headers `Content-Type: {content_type}`, `Cache-Control: no-store` and
/// `X-Content-Type-Options: nosniff`, made once per isolate for each content type.
fn made_headers(
    content_type: &str,
    f: impl FnOnce(&web_sys::Headers) -> Result<web_sys::Headers>,
) -> Result<web_sys::Headers> {
    thread_local! {
        static MADE: RefCell<Vec<(String, web_sys::Headers)>> = const { RefCell::new(Vec::new()) };
    }
    MADE.with(|made| {
        let mut made = made.borrow_mut();
        if let Some((_, headers)) = made.iter().find(|(t, _)| t == content_type) {
            return f(headers);
        }
        let headers = Headers::new();
        headers.set("Content-Type", content_type)?;
        headers.set("Cache-Control", "no-store")?;
        headers.set("X-Content-Type-Options", "nosniff")?;
        let answer = f(&headers.0);
        made.push((content_type.to_owned(), headers.0));
        answer
    })
}

/// 503 for a dependency that failed (D1, a Durable Object): logged, never a 500.
///
/// # Errors
/// Runtime (headers) errors.
pub fn unavailable(what: &str, err: &worker::Error) -> Result<Response> {
    worker::console_error!("{what} failed: {err}");
    problem(&Problem::unavailable(format!("{what} is temporarily unavailable; retry shortly"), 2))
}

/// Reads `req`'s body, at most `limit` bytes: a declared `Content-Length` over the limit is
/// refused before reading, a body that declares one within it is read at once (the runtime
/// never delivers more than it declares), and a body without one (chunked) is refused as soon
/// as it passes the limit while it is read, so no upload costs more than `limit` bytes of
/// memory. `None` when the body is too large; an absent body is empty.
///
/// # Errors
/// A runtime error while reading.
pub async fn read_capped(req: &Request, limit: usize) -> Result<Option<Vec<u8>>> {
    let declared = req.headers().get("Content-Length")?;
    read_declared(req.inner(), declared.as_deref(), limit).await
}

/// [`read_capped`] of the request as the runtime gives it, with its `Content-Length` header
/// already read (`declared`).
///
/// # Errors
/// A runtime error while reading (also for a body already read).
pub async fn read_declared(req: &web_sys::Request, declared: Option<&str>, limit: usize) -> Result<Option<Vec<u8>>> {
    let declared = declared.and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    if declared.is_some() {
        // One `arrayBuffer()` instead of a stream reader's reads: the heartbeat's hot path
        // (an absent body reads as empty).
        let buffer = crate::promise::settled(&req.array_buffer()?).await?;
        let body = js_sys::Uint8Array::new(&buffer).to_vec();
        return Ok((body.len() <= limit).then_some(body));
    }
    let Some(body) = req.body() else {
        return Ok(Some(Vec::new()));
    };
    let mut stream = worker::ByteStream::from(body);
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// The first `limit` bytes of the request's body, the rest left unread (healthchecks.io's
/// ping bodies: kept up to a limit, never refused for their size). Reads the stream chunk by
/// chunk and stops at the limit, so no upload costs more than `limit` bytes plus one chunk
/// of memory; an absent body is empty.
///
/// # Errors
/// A runtime error while reading.
pub async fn read_prefix(req: &mut Request, limit: usize) -> Result<Vec<u8>> {
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let mut stream = req.stream()?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(chunk.get(..room).unwrap_or(&chunk));
        if body.len() >= limit {
            break;
        }
    }
    Ok(body)
}

/// [`read_capped`] for the API routes: a body over `limit` bytes is a 413 problem naming the
/// limit.
///
/// # Errors
/// 413 over the limit; a runtime error while reading (503).
pub async fn body(req: &mut Request, limit: usize) -> std::result::Result<Vec<u8>, ApiError> {
    read_capped(req, limit).await?.ok_or_else(|| Problem::payload_too_large(limit).into())
}
