//! Rust SDK for sending heartbeats to a Systole worker.
//!
//! A heartbeat is one `POST {base_url}/api/heartbeat` with a JSON body
//! (see [`Heartbeat`]) and, when the service has a key, an
//! `Authorization: Bearer <key>` header. The server answers `200` with a
//! JSON [`BeatResponse`], or a 4xx/5xx `application/problem+json` body that
//! this crate surfaces as [`Error::Problem`].
//!
//! [`Client::beat`] makes at most [`MAX_ATTEMPTS`] attempts and retries only
//! when it can help (network errors, timeouts, HTTP 429, HTTP 5xx). Every
//! attempt is bounded end to end (DNS, connect, TLS, request, response body)
//! by the client's timeout, so a call never blocks longer than
//! [`worst_case_duration`]`(timeout)`: 30.75 s with the default 10 s timeout.
//!
//! ```no_run
//! use systole_client::{Client, Heartbeat, Status, DEFAULT_TIMEOUT};
//!
//! # fn main() -> Result<(), systole_client::Error> {
//! let client = Client::new("https://systole.example.workers.dev", Some("hb_secret"), DEFAULT_TIMEOUT)?;
//! let beat = Heartbeat::new("api-prod")
//!     .with_status(Status::Degraded)
//!     .with_message("queue depth high")
//!     .with_metric("queue_depth", 1234.0);
//! let receipt = client.beat(&beat)?;
//! println!("recorded at {}", receipt.received_at);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod job;
#[cfg(unix)]
pub mod run;

pub use job::{Event, OutputTail, RunSignal, MAX_BODY_BYTES, MAX_MESSAGE_BYTES, MAX_OUTPUT_BYTES, OUTPUT_ESCAPE_BYTES};

/// Path of the heartbeat endpoint, appended to the base URL.
pub const HEARTBEAT_PATH: &str = "/api/heartbeat";

/// Default per-attempt timeout: 10 seconds, end to end (DNS lookup to the
/// last byte of the response body).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Maximum number of HTTP attempts made by one [`Client::beat`] call (the
/// first attempt plus two retries).
pub const MAX_ATTEMPTS: u32 = 3;

/// Pauses between attempts, in order: 250 milliseconds before the second
/// attempt, 500 milliseconds before the third. Fixed, no jitter; a
/// `Retry-After` header on a 429 is not honoured.
pub const RETRY_BACKOFF: [Duration; 2] = [Duration::from_millis(250), Duration::from_millis(500)];

/// Largest response body read, in bytes (64 KiB). Longer bodies fail the
/// attempt with a transport error.
const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// Longest excerpt of a non-JSON error body kept in [`Error::Problem`]'s
/// `detail`, in characters.
const MAX_DETAIL_CHARS: usize = 512;

/// Environment variable holding the base URL (e.g. `http://localhost:8787`,
/// without `/api`).
pub const ENV_URL: &str = "SYSTOLE_URL";
/// Environment variable holding the service id.
pub const ENV_SERVICE: &str = "SYSTOLE_SERVICE";
/// Environment variable holding the heartbeat key; empty or unset means "send
/// no `Authorization` header".
pub const ENV_KEY: &str = "SYSTOLE_KEY";
/// Environment variable holding the status (`up`, `degraded` or `down`).
pub const ENV_STATUS: &str = "SYSTOLE_STATUS";
/// Environment variable holding the optional free-text message.
pub const ENV_MESSAGE: &str = "SYSTOLE_MESSAGE";
/// Environment variable holding the per-attempt timeout in seconds
/// (decimals allowed, e.g. `2.5`).
pub const ENV_TIMEOUT: &str = "SYSTOLE_TIMEOUT";

/// The pause to take after failed attempt number `failed_attempt` (1-based)
/// before trying again, or `None` when no attempt is left.
///
/// `retry_delay(1)` is 250 ms, `retry_delay(2)` is 500 ms, and
/// `retry_delay(n)` is `None` for `n >= MAX_ATTEMPTS` (and for `n == 0`).
pub fn retry_delay(failed_attempt: u32) -> Option<Duration> {
    let index = usize::try_from(failed_attempt.checked_sub(1)?).ok()?;
    RETRY_BACKOFF.get(index).copied()
}

/// Upper bound on how long one [`Client::beat`] call can block for a given
/// per-attempt `timeout`: `MAX_ATTEMPTS × timeout + 250 ms + 500 ms`.
///
/// With [`DEFAULT_TIMEOUT`] (10 s) this is 30.75 seconds.
pub fn worst_case_duration(timeout: Duration) -> Duration {
    let backoff: Duration = RETRY_BACKOFF.iter().sum();
    timeout.saturating_mul(MAX_ATTEMPTS).saturating_add(backoff)
}

/// Whether an HTTP status code is worth retrying: `429 Too Many Requests`
/// and every `5xx`. Every other status (including all other 4xx, which mean
/// the request itself is wrong) is final.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Parses a timeout given in seconds (e.g. `"10"` or `"2.5"`), as accepted by
/// `SYSTOLE_TIMEOUT` and `systole beat --timeout`.
///
/// # Errors
///
/// [`Error::Config`] when the text is not a finite number of seconds greater
/// than zero and at most one day (86 400 s).
pub fn parse_timeout_secs(text: &str) -> Result<Duration, Error> {
    let secs: f64 =
        text.trim().parse().map_err(|_| Error::Config(format!("timeout must be a number of seconds, got {text:?}")))?;
    if !secs.is_finite() || secs <= 0.0 || secs > 86_400.0 {
        return Err(Error::Config(format!("timeout must be greater than 0 and at most 86400 seconds, got {text:?}")));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Health reported by a heartbeat. Serialized as the lowercase JSON strings
/// `"up"`, `"degraded"` and `"down"`; the default is [`Status::Up`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Healthy (`"up"`), the server's default when `status` is omitted.
    #[default]
    Up,
    /// Working but impaired (`"degraded"`).
    Degraded,
    /// Not working (`"down"`); the service reports its own failure.
    Down,
}

impl Status {
    /// The wire name: `"up"`, `"degraded"` or `"down"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Up => "up",
            Status::Degraded => "degraded",
            Status::Down => "down",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = Error;

    /// Parses `up`, `degraded` or `down` (ASCII case-insensitive, surrounding
    /// whitespace ignored).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for any other text.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "up" => Ok(Status::Up),
            "degraded" => Ok(Status::Degraded),
            "down" => Ok(Status::Down),
            _ => Err(Error::Config(format!("status must be up, degraded or down, got {text:?}"))),
        }
    }
}

/// One heartbeat, serialized as the request body:
///
/// ```json
/// {"serviceId": "api-prod", "status": "up", "message": "text",
///  "metadata": {"any": "object"}, "metrics": {"name": 1.5}}
/// ```
///
/// `message`, `metadata` and `metrics` are omitted when empty. The server
/// enforces the limits (message ≤ 1 KiB, metadata ≤ 4 KiB as JSON) and
/// answers 400/413 ([`Error::Problem`]) when they are exceeded; this crate
/// does not pre-validate them. Non-finite metric values (NaN, ±∞) serialize
/// as `null`, which the server rejects.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Heartbeat {
    /// Service id as configured on the server (`serviceId`).
    pub service_id: String,
    /// Reported health (`status`).
    pub status: Status,
    /// Optional free text (`message`), at most 1 KiB on the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Optional JSON object (`metadata`), at most 4 KiB serialized.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Optional numeric metrics (`metrics`), name → value; units are whatever
    /// the metric name says.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
}

impl Heartbeat {
    /// A status-`up` heartbeat for `service_id` with no message, metadata or
    /// metrics.
    pub fn new(service_id: impl Into<String>) -> Self {
        Heartbeat {
            service_id: service_id.into(),
            status: Status::Up,
            message: None,
            metadata: None,
            metrics: BTreeMap::new(),
        }
    }

    /// Sets the status.
    #[must_use]
    pub fn with_status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    /// Sets the message (the server limits it to 1 KiB).
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Sets the metadata object (the server limits it to 4 KiB of JSON).
    #[must_use]
    pub fn with_metadata(mut self, metadata: serde_json::Map<String, serde_json::Value>) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Adds or replaces one metric.
    #[must_use]
    pub fn with_metric(mut self, name: impl Into<String>, value: f64) -> Self {
        self.metrics.insert(name.into(), value);
        self
    }
}

/// The server's acknowledgement of a heartbeat (HTTP 200), parsed from
///
/// ```json
/// {"ok": true, "serviceId": "api-prod", "status": "up",
///  "receivedAt": "2026-11-21T19:40:00.123Z"}
/// ```
///
/// Unknown fields (such as the cloudflaremon-compatible `success`, `message` and
/// `timestamp`, and `nextDeadline`) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BeatResponse {
    /// Always `true` in a response returned by [`Client::beat`].
    pub ok: bool,
    /// The service the heartbeat was recorded for.
    pub service_id: String,
    /// The status that was recorded.
    pub status: Status,
    /// Server receive time, an RFC 3339 UTC timestamp with milliseconds, kept
    /// as the server sent it.
    pub received_at: String,
}

/// Everything that can go wrong when building a [`Client`] or sending a
/// heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad configuration (URL, key, timeout, status); nothing was sent.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// The server answered with a non-2xx status. For the server's
    /// `application/problem+json` bodies (`{"type", "title", "status",
    /// "detail", "field"}`) `title`, `detail` and `field` come from the body;
    /// for any other body `title` is the standard reason phrase and `detail`
    /// an excerpt of the raw body (at most 512 characters). A 3xx is reported
    /// here too: redirects are never followed.
    #[error("HTTP {status} {title}{}", problem_suffix(.detail.as_deref(), .field.as_deref()))]
    Problem {
        /// HTTP status code, e.g. 401.
        status: u16,
        /// Short summary, e.g. `Unauthorized`.
        title: String,
        /// Human-readable explanation, e.g. `missing or invalid heartbeat key`.
        detail: Option<String>,
        /// The offending request field for validation errors (HTTP 400).
        field: Option<String>,
    },

    /// The request did not complete: DNS failure, connection refused or
    /// reset, TLS failure, timeout, malformed HTTP, oversized response.
    #[error("transport error: {0}")]
    Transport(String),

    /// A 2xx response whose body is not the expected [`BeatResponse`] JSON
    /// (or has `"ok": false`), e.g. a captive portal or a wrong URL. The
    /// heartbeat may not have been recorded.
    #[error("unexpected response (HTTP {status}): {reason}")]
    InvalidResponse {
        /// HTTP status code of the response.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },
}

fn problem_suffix(detail: Option<&str>, field: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(detail) = detail.filter(|d| !d.is_empty()) {
        out.push_str(": ");
        out.push_str(detail);
    }
    if let Some(field) = field.filter(|f| !f.is_empty()) {
        out.push_str(" (field: ");
        out.push_str(field);
        out.push(')');
    }
    out
}

impl Error {
    /// Whether [`Client::beat`] retries after this error: transport errors
    /// and [`Error::Problem`] with status 429 or 5xx. Config errors, other
    /// statuses and invalid responses are final.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(_) => true,
            Error::Problem { status, .. } => is_retryable_status(*status),
            Error::Config(_) | Error::InvalidResponse { .. } => false,
        }
    }
}

/// A blocking heartbeat sender bound to one Systole deployment.
///
/// Cheap to clone (the underlying connection pool is shared). The key is
/// redacted in the `Debug` output.
#[derive(Clone)]
pub struct Client {
    base: String,
    endpoint: String,
    key: Option<String>,
    timeout: Duration,
    agent: ureq::Agent,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client.
    ///
    /// * `base_url`: `http://` or `https://` URL of the worker, without the
    ///   `/api` suffix (e.g. `http://localhost:8787`); trailing slashes are
    ///   ignored.
    /// * `key`: the heartbeat key sent as `Authorization: Bearer <key>`.
    ///   `None` or an empty/blank string sends no `Authorization` header
    ///   (for services with auth disabled). Surrounding whitespace is trimmed.
    /// * `timeout`: end-to-end bound for each attempt (DNS lookup through the
    ///   last byte of the response). See [`worst_case_duration`] for the
    ///   bound on a whole [`Client::beat`] call.
    ///
    /// HTTP(S) proxies from the standard `HTTPS_PROXY`/`HTTP_PROXY`/
    /// `ALL_PROXY`/`NO_PROXY` variables are honoured. Redirects are not
    /// followed.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the URL is not `http(s)://host…`, the key
    /// contains characters other than visible ASCII, or `timeout` is zero.
    pub fn new(base_url: &str, key: Option<&str>, timeout: Duration) -> Result<Self, Error> {
        let base = base_url.trim().trim_end_matches('/');
        let rest = base
            .strip_prefix("https://")
            .or_else(|| base.strip_prefix("http://"))
            .ok_or_else(|| Error::Config(format!("URL must start with http:// or https://, got {base_url:?}")))?;
        if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
            return Err(Error::Config(format!("URL has no valid host: {base_url:?}")));
        }
        if rest.contains(['?', '#']) {
            return Err(Error::Config(format!("URL must be a base URL without query or fragment, got {base_url:?}")));
        }

        let key = key.map(str::trim).filter(|k| !k.is_empty());
        if let Some(key) = key {
            if !key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::Config("key must contain only visible ASCII characters".to_owned()));
            }
        }
        if timeout.is_zero() {
            return Err(Error::Config("timeout must be greater than zero".to_owned()));
        }

        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("systole-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();

        Ok(Client {
            base: base.to_owned(),
            endpoint: format!("{base}{HEARTBEAT_PATH}"),
            key: key.map(str::to_owned),
            timeout,
            agent,
        })
    }

    /// Builds a client from `SYSTOLE_URL` (required), `SYSTOLE_KEY`
    /// (optional; empty means no key) and `SYSTOLE_TIMEOUT` (optional,
    /// seconds, default 10). Empty variables count as unset.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `SYSTOLE_URL` is missing or any value is
    /// invalid (see [`Client::new`] and [`parse_timeout_secs`]).
    pub fn from_env() -> Result<Self, Error> {
        let url = env_var(ENV_URL).ok_or_else(|| Error::Config(format!("{ENV_URL} is not set")))?;
        let key = env_var(ENV_KEY);
        let timeout = match env_var(ENV_TIMEOUT) {
            Some(text) => parse_timeout_secs(&text)?,
            None => DEFAULT_TIMEOUT,
        };
        Client::new(&url, key.as_deref(), timeout)
    }

    /// The full heartbeat URL, `{base_url}/api/heartbeat`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The per-attempt timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one heartbeat and returns the server's acknowledgement.
    ///
    /// Makes up to [`MAX_ATTEMPTS`] (3) attempts: the first immediately, then
    /// after 250 ms and after 500 ms ([`RETRY_BACKOFF`]), but only while the
    /// previous attempt failed with a retryable error
    /// ([`Error::is_retryable`]: transport error/timeout, HTTP 429, HTTP
    /// 5xx). Each attempt is bounded by the client's timeout, so the call
    /// returns within [`worst_case_duration`]`(timeout)` (30.75 s by
    /// default). Blocks the current thread.
    ///
    /// # Errors
    ///
    /// The error of the last attempt: [`Error::Problem`] for a non-2xx
    /// response (e.g. 401 bad key, 400 invalid field, 404 unknown service),
    /// [`Error::Transport`] when the server could not be reached in time,
    /// [`Error::InvalidResponse`] for a 2xx that is not a Systole receipt.
    pub fn beat(&self, heartbeat: &Heartbeat) -> Result<BeatResponse, Error> {
        self.beat_with(heartbeat, &mut std::thread::sleep)
    }

    /// [`Client::beat`] with an injectable `sleep`, so tests can observe the
    /// backoff schedule without waiting.
    fn beat_with(&self, heartbeat: &Heartbeat, sleep: &mut dyn FnMut(Duration)) -> Result<BeatResponse, Error> {
        let body =
            serde_json::to_vec(heartbeat).map_err(|e| Error::Config(format!("cannot serialize heartbeat: {e}")))?;
        self.send_with(&self.endpoint, &body, sleep, interpret_response)
    }

    /// Reports an error of service `service_id` (CloudLine's `captureError`): one `POST
    /// {base_url}/api/v1/services/{service_id}/errors` with the client's key, with the same
    /// attempts, retries and time bound as [`Client::beat`]. The message and stack are cut to
    /// the server's limits (1,024 and 16,384 characters) first. Returns the group the report
    /// was counted in.
    ///
    /// # Errors
    ///
    /// As [`Client::beat`]: [`Error::Problem`] for 401 (wrong key), 400 (a field), 413.
    pub fn capture_error(&self, service_id: &str, report: &ErrorReport) -> Result<ErrorGroup, Error> {
        let body = serde_json::to_vec(&report.limited())
            .map_err(|e| Error::Config(format!("cannot serialize error report: {e}")))?;
        let url = format!("{}/api/v1/services/{service_id}/errors", self.base);
        let answer = self.send_with(&url, &body, &mut std::thread::sleep, |status, location, body| {
            interpret_as::<ErrorAnswer>(status, location, body, |_| true)
        })?;
        Ok(answer.group)
    }

    /// Sends one run signal ([`RunSignal`]: a job's start or end) with the same
    /// attempts, retries and time bound as [`Client::beat`], its body built by
    /// [`RunSignal::to_body`] (so within the server's body limit).
    ///
    /// Any 2xx answer whose body is a JSON object with `"ok": true` counts as
    /// delivered; the rest of the receipt is not read.
    ///
    /// # Errors
    ///
    /// As [`Client::beat`].
    pub fn signal(&self, signal: &RunSignal) -> Result<(), Error> {
        self.signal_with(signal, &mut std::thread::sleep)
    }

    /// [`Client::signal`] with an injectable `sleep`.
    fn signal_with(&self, signal: &RunSignal, sleep: &mut dyn FnMut(Duration)) -> Result<(), Error> {
        self.send_with(&self.endpoint, &signal.to_body(), sleep, |status, location, body| {
            interpret_as::<Ack>(status, location, body, |ack| ack.ok).map(|_| ())
        })
    }

    /// Posts `body` up to [`MAX_ATTEMPTS`] times (see [`Client::beat`]),
    /// turning each answer into the result with `interpret(status, location,
    /// body)`.
    fn send_with<T>(
        &self,
        url: &str,
        body: &[u8],
        sleep: &mut dyn FnMut(Duration),
        interpret: impl Fn(u16, Option<&str>, &str) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut attempt = 1;
        loop {
            match self.attempt(url, body, &interpret) {
                Ok(receipt) => return Ok(receipt),
                Err(err) => match retry_delay(attempt) {
                    Some(delay) if err.is_retryable() => {
                        sleep(delay);
                        attempt += 1;
                    }
                    _ => return Err(err),
                },
            }
        }
    }

    /// One HTTP request, bounded by `self.timeout`.
    fn attempt<T>(
        &self,
        url: &str,
        body: &[u8],
        interpret: &impl Fn(u16, Option<&str>, &str) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut request = self
            .agent
            .post(url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, application/problem+json");
        if let Some(key) = &self.key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        let mut response = request.send(body).map_err(|e| map_ureq_error(e, self.timeout))?;
        let status = response.status().as_u16();
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_string()
            .map_err(|e| map_ureq_error(e, self.timeout))?;
        interpret(status, location.as_deref(), &text)
    }
}

/// An error report ([`Client::capture_error`]): `{"message", "stack"?, "fingerprint"?}`.
/// Reports with the same fingerprint are counted in one group; without one, the server
/// fingerprints the message.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ErrorReport {
    /// What went wrong (1–1,024 characters; longer is cut).
    pub message: String,
    /// The stack trace (at most 16,384 characters; longer is cut).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    /// The group to count it in (1–128 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl ErrorReport {
    /// A report of `message`.
    pub fn new(message: impl Into<String>) -> Self {
        ErrorReport { message: message.into(), ..ErrorReport::default() }
    }

    /// With a stack trace.
    #[must_use]
    pub fn with_stack(mut self, stack: impl Into<String>) -> Self {
        self.stack = Some(stack.into());
        self
    }

    /// With a fingerprint.
    #[must_use]
    pub fn with_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.fingerprint = Some(fingerprint.into());
        self
    }

    /// The report cut to the server's limits.
    fn limited(&self) -> ErrorReport {
        let cut = |s: &str, max: usize| s.chars().take(max).collect::<String>();
        ErrorReport {
            message: cut(&self.message, 1024),
            stack: self.stack.as_deref().map(|s| cut(s, 16 * 1024)),
            fingerprint: self.fingerprint.clone(),
        }
    }
}

/// The group an error report was counted in.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorGroup {
    /// Its fingerprint.
    pub fingerprint: String,
    /// Reports counted, this one included.
    pub count: u64,
    /// The first report's time (RFC 3339 UTC).
    pub first_seen: String,
    /// The latest report's time (RFC 3339 UTC).
    pub last_seen: String,
}

/// The answer to an error report.
#[derive(Deserialize)]
struct ErrorAnswer {
    group: ErrorGroup,
}

/// Reads an environment variable, treating unset, empty and non-UTF-8 values
/// as absent.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn map_ureq_error(err: ureq::Error, timeout: Duration) -> Error {
    match err {
        ureq::Error::BadUri(_) | ureq::Error::Http(_) | ureq::Error::InvalidProxyUrl => Error::Config(err.to_string()),
        ureq::Error::Timeout(_) => Error::Transport(format!("timed out after {timeout:?} without a complete response")),
        other => Error::Transport(other.to_string()),
    }
}

/// The problem+json fields this client reads.
#[derive(Deserialize)]
struct ProblemBody {
    title: Option<String>,
    detail: Option<String>,
    field: Option<String>,
}

/// Turns a status + body into the call's result (pure, unit-tested).
fn interpret_response(status: u16, location: Option<&str>, body: &str) -> Result<BeatResponse, Error> {
    interpret_as::<BeatResponse>(status, location, body, |receipt| receipt.ok)
}

/// The least of a receipt: `{"ok": true, …}`.
#[derive(Deserialize)]
struct Ack {
    ok: bool,
}

/// [`interpret_response`] for any receipt type `T`, `ok` telling whether it
/// says `"ok": true`.
fn interpret_as<T: serde::de::DeserializeOwned>(
    status: u16,
    location: Option<&str>,
    body: &str,
    ok: fn(&T) -> bool,
) -> Result<T, Error> {
    if (200..=299).contains(&status) {
        let receipt: T = serde_json::from_str(body).map_err(|e| Error::InvalidResponse {
            status,
            reason: format!("body is not a heartbeat receipt ({e}): {}", excerpt(body)),
        })?;
        if !ok(&receipt) {
            return Err(Error::InvalidResponse { status, reason: "server answered \"ok\": false".to_owned() });
        }
        return Ok(receipt);
    }

    let reason = ureq::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
    if let Ok(problem) = serde_json::from_str::<ProblemBody>(body) {
        if problem.title.is_some() || problem.detail.is_some() {
            return Err(Error::Problem {
                status,
                title: problem.title.unwrap_or_else(|| reason.to_owned()),
                detail: problem.detail,
                field: problem.field,
            });
        }
    }
    let detail = if (300..=399).contains(&status) {
        Some(format!(
            "redirect to {} not followed; check the base URL (scheme, host, no /api suffix)",
            location.unwrap_or("(no Location)")
        ))
    } else {
        Some(excerpt(body)).filter(|d| !d.is_empty())
    };
    Err(Error::Problem { status, title: reason.to_owned(), detail, field: None })
}

/// First `MAX_DETAIL_CHARS` characters of `body`, whitespace collapsed to
/// single spaces so the result fits on one line.
fn excerpt(body: &str) -> String {
    let mut out: String =
        body.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(MAX_DETAIL_CHARS + 1).collect();
    if out.chars().count() > MAX_DETAIL_CHARS {
        out = out.chars().take(MAX_DETAIL_CHARS).collect();
        out.push('…');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc;
    use std::thread;
    use std::time::Instant;

    // ---- pure functions -------------------------------------------------

    #[test]
    fn backoff_schedule_is_250_then_500_ms_then_stop() {
        assert_eq!(retry_delay(0), None);
        assert_eq!(retry_delay(1), Some(Duration::from_millis(250)));
        assert_eq!(retry_delay(2), Some(Duration::from_millis(500)));
        assert_eq!(retry_delay(3), None);
        assert_eq!(retry_delay(u32::MAX), None);
        // exactly MAX_ATTEMPTS - 1 pauses exist
        let pauses = (1..=MAX_ATTEMPTS).filter_map(retry_delay).count();
        assert_eq!(pauses, usize::try_from(MAX_ATTEMPTS - 1).unwrap());
    }

    #[test]
    fn worst_case_is_three_timeouts_plus_backoff() {
        assert_eq!(worst_case_duration(DEFAULT_TIMEOUT), Duration::from_millis(30_750));
        assert_eq!(worst_case_duration(Duration::from_secs(1)), Duration::from_millis(3_750));
    }

    #[test]
    fn retry_classification() {
        for status in [429, 500, 502, 503, 504, 599] {
            assert!(is_retryable_status(status), "{status} should retry");
        }
        for status in [200, 301, 400, 401, 403, 404, 409, 413, 422, 428, 430, 499, 600] {
            assert!(!is_retryable_status(status), "{status} should not retry");
        }
        assert!(Error::Transport("timeout".into()).is_retryable());
        assert!(!Error::Config("x".into()).is_retryable());
        assert!(!Error::InvalidResponse { status: 200, reason: "x".into() }.is_retryable());
        let problem = |status| Error::Problem { status, title: "t".into(), detail: None, field: None };
        assert!(problem(503).is_retryable());
        assert!(problem(429).is_retryable());
        assert!(!problem(401).is_retryable());
        assert!(!problem(400).is_retryable());
    }

    #[test]
    fn parses_timeouts_in_seconds() {
        assert_eq!(parse_timeout_secs("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_timeout_secs(" 2.5 ").unwrap(), Duration::from_millis(2500));
        for bad in ["", "0", "-1", "abc", "NaN", "inf", "86401"] {
            assert!(matches!(parse_timeout_secs(bad), Err(Error::Config(_))), "{bad:?}");
        }
    }

    #[test]
    fn status_round_trip() {
        for (text, status) in [("up", Status::Up), ("Degraded", Status::Degraded), (" DOWN ", Status::Down)] {
            assert_eq!(text.parse::<Status>().unwrap(), status);
        }
        assert!("sideways".parse::<Status>().is_err());
        assert_eq!(Status::Degraded.to_string(), "degraded");
        assert_eq!(Status::default(), Status::Up);
    }

    #[test]
    fn heartbeat_json_shape() {
        let minimal = serde_json::to_value(Heartbeat::new("api-prod")).unwrap();
        assert_eq!(minimal, serde_json::json!({"serviceId": "api-prod", "status": "up"}));

        let mut meta = serde_json::Map::new();
        meta.insert("region".into(), "eu".into());
        let full = Heartbeat::new("api-prod")
            .with_status(Status::Down)
            .with_message("disk \"full\"\n")
            .with_metadata(meta)
            .with_metric("latency_ms", 12.5);
        assert_eq!(
            serde_json::to_value(full).unwrap(),
            serde_json::json!({
                "serviceId": "api-prod",
                "status": "down",
                "message": "disk \"full\"\n",
                "metadata": {"region": "eu"},
                "metrics": {"latency_ms": 12.5}
            })
        );
    }

    #[test]
    fn client_config_validation() {
        let ok = Client::new("http://localhost:8787/", Some("  k1  "), DEFAULT_TIMEOUT).unwrap();
        assert_eq!(ok.endpoint(), "http://localhost:8787/api/heartbeat");
        assert_eq!(ok.key.as_deref(), Some("k1"));
        assert!(!format!("{ok:?}").contains("k1"), "key must be redacted");

        let no_key = Client::new("https://x.example", Some(""), DEFAULT_TIMEOUT).unwrap();
        assert_eq!(no_key.key, None);

        for bad_url in ["", "localhost:8787", "ftp://x", "http://", "http:///x", "http://a b", "http://x/?q"] {
            assert!(matches!(Client::new(bad_url, None, DEFAULT_TIMEOUT), Err(Error::Config(_))), "{bad_url:?}");
        }
        assert!(matches!(Client::new("http://x", Some("bad key"), DEFAULT_TIMEOUT), Err(Error::Config(_))));
        assert!(matches!(Client::new("http://x", None, Duration::ZERO), Err(Error::Config(_))));
    }

    #[test]
    fn interprets_problem_json_and_plain_bodies() {
        let err = interpret_response(
            401,
            None,
            r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"missing or invalid heartbeat key"}"#,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "HTTP 401 Unauthorized: missing or invalid heartbeat key");
        // The server's 401 also carries cloudflaremon's members; they change nothing here.
        let err = interpret_response(
            401,
            None,
            r#"{"type":"urn:systole:problem:unauthorized","title":"Unauthorized","status":401,"detail":"missing or invalid heartbeat key","message":"All heartbeats failed","ok":false,"results":[{"error":"Invalid API key","serviceId":"api","success":false}],"success":false,"timestamp":"2026-11-21T19:40:00.123Z"}"#,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "HTTP 401 Unauthorized: missing or invalid heartbeat key");
        // And a receipt with the seed's success/message/timestamp is still a receipt.
        let receipt = interpret_response(
            200,
            None,
            r#"{"success":true,"message":"Heartbeat received","timestamp":"2026-11-21T19:40:00.123Z","ok":true,"serviceId":"api","status":"up","receivedAt":"2026-11-21T19:40:00.123Z","nextDeadline":null}"#,
        )
        .unwrap();
        assert_eq!(receipt.service_id, "api");

        let err = interpret_response(
            400,
            None,
            r#"{"title":"Bad Request","status":400,"detail":"too long","field":"message"}"#,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "HTTP 400 Bad Request: too long (field: message)");

        let err = interpret_response(502, None, "<html>\n  bad   gateway\n</html>").unwrap_err();
        assert_eq!(err.to_string(), "HTTP 502 Bad Gateway: <html> bad gateway </html>");

        let err = interpret_response(404, None, "").unwrap_err();
        assert_eq!(err.to_string(), "HTTP 404 Not Found");

        let err = interpret_response(301, Some("https://x/api/heartbeat"), "").unwrap_err();
        assert!(err.to_string().contains("redirect to https://x/api/heartbeat"), "{err}");
        assert!(!err.is_retryable());

        let err = interpret_response(200, None, "<html>captive portal</html>").unwrap_err();
        assert!(matches!(err, Error::InvalidResponse { status: 200, .. }));

        let long = "x".repeat(5000);
        match interpret_response(500, None, &long).unwrap_err() {
            Error::Problem { detail: Some(d), .. } => assert_eq!(d.chars().count(), MAX_DETAIL_CHARS + 1),
            other => panic!("unexpected {other:?}"),
        }
    }

    // ---- against a tiny local HTTP responder ----------------------------

    const RECEIPT: &str = r#"{"ok":true,"serviceId":"api-prod","status":"up","receivedAt":"2026-11-21T19:40:00.123Z"}"#;

    fn response(status: u16) -> String {
        let (reason, ctype, body) = match status {
            200 => ("OK", "application/json", RECEIPT.to_owned()),
            401 => (
                "Unauthorized",
                "application/problem+json",
                r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"missing or invalid heartbeat key"}"#.to_owned(),
            ),
            429 => ("Too Many Requests", "text/plain", "slow down".to_owned()),
            _ => (
                "Internal Server Error",
                "application/problem+json",
                format!(r#"{{"title":"Internal Server Error","status":{status},"detail":"boom"}}"#),
            ),
        };
        format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    /// Reads one HTTP/1.1 request (head + Content-Length body) as text.
    fn read_request(stream: &TcpStream) -> String {
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().unwrap();
                }
            }
            let end = line == "\r\n";
            head.push_str(&line);
            if end {
                break;
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).unwrap();
        head + &String::from_utf8(body).unwrap()
    }

    /// Serves one connection per entry of `statuses`, in order, then stops
    /// listening (later connections are refused). Each received request is
    /// sent on the returned channel.
    fn serve(statuses: Vec<u16>) -> (String, mpsc::Receiver<String>, thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::channel();
        let handle = thread::spawn(move || {
            for status in statuses {
                let (mut stream, _) = listener.accept().unwrap();
                let request = read_request(&stream);
                stream.write_all(response(status).as_bytes()).unwrap();
                stream.flush().unwrap();
                tx.send(request).unwrap();
            }
        });
        (base, rx, handle)
    }

    fn test_client(base: &str, key: Option<&str>, timeout: Duration) -> Client {
        Client::new(base, key, timeout).unwrap()
    }

    #[test]
    fn retries_5xx_then_succeeds_on_third_attempt() {
        let (base, requests, server) = serve(vec![500, 500, 200]);
        let client = test_client(&base, Some("hb_secret"), Duration::from_secs(5));
        let mut sleeps = Vec::new();
        let receipt = client.beat_with(&Heartbeat::new("api-prod"), &mut |d| sleeps.push(d)).unwrap();
        server.join().unwrap();

        assert_eq!(receipt.service_id, "api-prod");
        assert_eq!(receipt.status, Status::Up);
        assert_eq!(receipt.received_at, "2026-11-21T19:40:00.123Z");
        assert_eq!(sleeps, RETRY_BACKOFF.to_vec());
        let requests: Vec<String> = requests.try_iter().collect();
        assert_eq!(requests.len(), 3, "three attempts");
        for request in &requests {
            assert!(request.starts_with("POST /api/heartbeat HTTP/1.1\r\n"), "{request}");
            let lower = request.to_ascii_lowercase();
            assert!(lower.contains("authorization: bearer hb_secret\r\n"), "{request}");
            assert!(lower.contains("content-type: application/json\r\n"), "{request}");
            assert!(request.ends_with(r#"{"serviceId":"api-prod","status":"up"}"#), "{request}");
        }
    }

    #[test]
    fn gives_up_after_three_5xx_or_429() {
        let (base, requests, server) = serve(vec![503, 429, 500]);
        let client = test_client(&base, None, Duration::from_secs(5));
        let mut sleeps = Vec::new();
        let err = client.beat_with(&Heartbeat::new("api-prod"), &mut |d| sleeps.push(d)).unwrap_err();
        server.join().unwrap();
        assert_eq!(err.to_string(), "HTTP 500 Internal Server Error: boom");
        assert_eq!(sleeps, RETRY_BACKOFF.to_vec());
        let requests: Vec<String> = requests.try_iter().collect();
        assert_eq!(requests.len(), 3);
        assert!(!requests[0].to_ascii_lowercase().contains("authorization:"), "no key → no Authorization header");
    }

    #[test]
    fn does_not_retry_401() {
        let (base, requests, server) = serve(vec![401]);
        let client = test_client(&base, Some("wrong"), Duration::from_secs(5));
        let mut sleeps = Vec::new();
        let err = client.beat_with(&Heartbeat::new("api-prod"), &mut |d| sleeps.push(d)).unwrap_err();
        server.join().unwrap();
        assert_eq!(
            err,
            Error::Problem {
                status: 401,
                title: "Unauthorized".into(),
                detail: Some("missing or invalid heartbeat key".into()),
                field: None,
            }
        );
        assert!(sleeps.is_empty(), "no retry pause");
        assert_eq!(requests.try_iter().count(), 1, "exactly one attempt");
    }

    #[test]
    fn retries_connection_refused() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let client = test_client(&format!("http://127.0.0.1:{port}"), None, Duration::from_secs(5));
        let mut sleeps = Vec::new();
        let err = client.beat_with(&Heartbeat::new("api-prod"), &mut |d| sleeps.push(d)).unwrap_err();
        assert!(matches!(err, Error::Transport(_)), "{err:?}");
        assert_eq!(sleeps, RETRY_BACKOFF.to_vec());
    }

    #[test]
    fn silent_server_is_bounded_by_timeout() {
        // Accepts connections and never answers.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                held.push(stream);
            }
        });
        let timeout = Duration::from_millis(300);
        let client = test_client(&base, None, timeout);
        let mut sleeps = Vec::new();
        let started = Instant::now();
        let err = client.beat_with(&Heartbeat::new("api-prod"), &mut |d| sleeps.push(d)).unwrap_err();
        let elapsed = started.elapsed();
        assert!(matches!(err, Error::Transport(ref m) if m.contains("timeout") || m.contains("timed out")), "{err:?}");
        assert_eq!(sleeps.len(), 2);
        // sleeps are not real here, so the bound is 3 × timeout (+ slack)
        assert!(elapsed < timeout * MAX_ATTEMPTS + Duration::from_secs(2), "{elapsed:?}");
    }

    #[test]
    fn error_reports_are_cut_to_the_servers_limits_and_omit_what_is_unset() {
        let report = ErrorReport::new("é".repeat(2000)).with_stack("x".repeat(20_000));
        let limited = report.limited();
        assert_eq!(limited.message.chars().count(), 1024);
        assert_eq!(limited.stack.as_deref().map(str::len), Some(16 * 1024));
        let json = serde_json::to_value(ErrorReport::new("boom").with_fingerprint("db")).unwrap();
        assert_eq!(json, serde_json::json!({"message": "boom", "fingerprint": "db"}));
    }
}
