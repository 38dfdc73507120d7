//! `POST /api/heartbeat` (also served at `/api/v1/heartbeat`): every request form of
//! cloudflaremon's clients and ours, parsed into typed heartbeats with every limit enforced
//! before any state is touched, and the answer decided from what became of each heartbeat.
//!
//! Forms (all JSON; the key in `Authorization: Bearer <key>` or a body `token`):
//! - single: `{"serviceId", "status"?: "up"|"degraded"|"down", "message"?, "metadata"?,
//!   "metrics"?, "token"?, "event"?, "runId"?, "exitStatus"?, "durationMs"?, "output"?}`,
//!   and the settings of a service it creates (`name`, `stalenessThreshold`, `gracePeriod`,
//!   `schedule`, `timezone`; see [`crate::provision`]), kept as sent in
//!   [`HeartbeatRequest::settings`];
//! - batch: `{"services": [entry, …], "status"?, "message"?, "metadata"?, "metrics"?}`, where
//!   an entry is a service id (string) or an object like the single form; the object's
//!   fields override the batch's (cloudflaremon's `services` form, lai2301/cloudflaremon
//!   `src/handlers/heartbeat.js`);
//! - array: `[entry, …]`, the same entries without batch-wide fields.
//!
//! The run fields (a job's signals; see [`crate::run`]): `event` is `start`, `success`
//! (default), `fail` or `log`; `runId` pairs a start with its end (1 to [`MAX_RUN_ID`]
//! characters from `[A-Za-z0-9._:-]`, so a UUID as healthchecks.io's `rid`); `exitStatus` is
//! an integer 0..=255 and ends a run: non-zero means `fail` (with no `event`; with `event:
//! "success"` it is a 400, with `start` or `log` any exit status is); an explicit `fail` wins
//! over an exit status 0; `durationMs` is the client's measured duration (a non-negative
//! integer, capped at [`MAX_DURATION_MS`]); `output` is the job's output, of which the first
//! [`MAX_OUTPUT_BYTES`] bytes are kept (cut on a character boundary).
//!
//! An entry's non-empty `token` takes precedence over the `Authorization` header. Unknown
//! fields are ignored, so newer clients and the seed's (`metadata`, `message`, …) keep
//! working. An entry that is neither a string nor an object with a `serviceId` fails alone
//! (`Invalid service format`; an empty string: `Invalid service entry`), as does an id that
//! is not configured, while malformed JSON, a field of the wrong type or a broken limit
//! refuses the whole request with a problem naming the field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::metrics;
use super::Problem;
use crate::config::ServiceId;
use crate::keys::Authorization;
use crate::monitor::{Event, Heartbeat, Reported, Status, MAX_OUTPUT_BYTES};
use crate::run::truncate_utf8;
use crate::time::Timestamp;

/// Largest request body: 16 KiB, not counting the JSON escaping of `output` (see
/// [`OUTPUT_ESCAPE_BYTES`]).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Bytes a body may exceed [`MAX_BODY_BYTES`] by for each byte of `output` it carries (up to
/// [`MAX_OUTPUT_BYTES`] per request): 5, since JSON escapes one byte into at most six
/// (`\u0001`). So a heartbeat with 10,000 bytes of output is never refused for its size,
/// however its output escapes.
pub const OUTPUT_ESCAPE_BYTES: usize = 5;
/// Largest request body read at all: [`MAX_BODY_BYTES`] plus the escaping of a full output,
/// 66,384 bytes. Over it the body is refused unread (413).
pub const MAX_READ_BYTES: usize = MAX_BODY_BYTES + OUTPUT_ESCAPE_BYTES * MAX_OUTPUT_BYTES;
/// Largest `message`: 1 KiB (UTF-8 bytes).
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// Largest `metadata` object, serialized as JSON: 4 KiB.
pub const MAX_METADATA_BYTES: usize = 4096;
/// Longest `runId`: 64 characters (a UUID has 36).
pub const MAX_RUN_ID: usize = 64;
/// Largest `durationMs` kept: 365 days; larger values are capped to it.
pub const MAX_DURATION_MS: u64 = 365 * 86_400_000;
/// Most entries in one batch: each entry is one Durable Object call, and the free plan allows
/// 50 subrequests per invocation (45 leaves room for the rest of the request).
pub const MAX_BATCH: usize = 45;

/// The `serviceId` a failed entry without a usable id is reported under (cloudflaremon's).
pub const UNKNOWN_ENTRY: &str = "unknown";

/// One heartbeat to deliver: for which service, with which key, saying what. Also the
/// body the router hands to the ServiceMonitor ([`crate::protocol::ToMonitor`]).
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatItem {
    /// The target service (syntax checked; may still be unconfigured).
    pub service_id: ServiceId,
    /// The key presented for it, if any.
    pub key: Option<String>,
    /// What the heartbeat says.
    pub heartbeat: Heartbeat,
    /// Metrics removed by the sanity clamp.
    pub dropped_metrics: Vec<String>,
}

/// One entry of a request: a heartbeat to check and deliver, or one that already failed.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// A well-formed heartbeat for a well-formed service id.
    Beat(HeartbeatItem),
    /// An entry that cannot be a heartbeat (bad format, or an id no service can have).
    Failed(Failure),
}

/// A heartbeat of a request that was not recorded, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The id as sent, or [`UNKNOWN_ENTRY`] when the entry had none.
    pub service_id: String,
    /// Why.
    pub error: ItemError,
}

/// Why one heartbeat of a request was not recorded.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemError {
    /// Neither a string nor an object with a `serviceId`.
    Format,
    /// An empty string.
    EmptyEntry,
    /// The key check refused it (never [`Authorization::Granted`]).
    Denied(Authorization),
    /// Its ServiceMonitor could not record it: unreachable, failed, or its history buffer
    /// is full.
    Unavailable {
        /// What happened, for the 503 problem when every heartbeat failed so.
        detail: String,
        /// Seconds to wait before retrying.
        retry_after: u16,
    },
    /// Its service sent more heartbeats than [`crate::limit::SERVICE_HEARTBEATS`] allows.
    Limited {
        /// Seconds until the service may send again.
        retry_after: u16,
    },
}

impl ItemError {
    /// The per-item `error` string: cloudflaremon's (`Invalid service format`, `Invalid
    /// service entry`, [`Authorization::error`]), `Temporarily unavailable` or `Rate limit
    /// exceeded`.
    pub fn message(&self) -> &'static str {
        match self {
            ItemError::Format => "Invalid service format",
            ItemError::EmptyEntry => "Invalid service entry",
            ItemError::Denied(a) => a.error().unwrap_or("Invalid API key"),
            ItemError::Unavailable { .. } => "Temporarily unavailable",
            ItemError::Limited { .. } => "Rate limit exceeded",
        }
    }
}

impl Failure {
    /// A failure of the entry for `service_id`.
    pub fn new(service_id: impl Into<String>, error: ItemError) -> Self {
        Self { service_id: service_id.into(), error }
    }
}

#[derive(Clone, Default)]
struct Fields {
    status: Option<String>,
    message: Option<String>,
    metadata: Option<Map<String, Value>>,
    metrics: Option<BTreeMap<String, f64>>,
    event: Option<String>,
    run_id: Option<String>,
    exit_status: Option<i64>,
    duration_ms: Option<u64>,
    output: Option<String>,
}

impl Fields {
    /// These fields, each falling back to `defaults`'.
    fn or(self, defaults: &Fields) -> Fields {
        Fields {
            status: self.status.or_else(|| defaults.status.clone()),
            message: self.message.or_else(|| defaults.message.clone()),
            metadata: self.metadata.or_else(|| defaults.metadata.clone()),
            metrics: self.metrics.or_else(|| defaults.metrics.clone()),
            event: self.event.or_else(|| defaults.event.clone()),
            run_id: self.run_id.or_else(|| defaults.run_id.clone()),
            exit_status: self.exit_status.or(defaults.exit_status),
            duration_ms: self.duration_ms.or(defaults.duration_ms),
            output: self.output.or_else(|| defaults.output.clone()),
        }
    }
}

/// A JSON object: the single form, an object entry, or the batch when `services` is
/// present (then its `serviceId` and `token` are not used).
// No `#[serde(flatten)]`: it hides field paths from error messages.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Object {
    services: Option<Vec<Value>>,
    service_id: Option<String>,
    token: Option<String>,
    status: Option<String>,
    message: Option<String>,
    metadata: Option<Map<String, Value>>,
    metrics: Option<BTreeMap<String, f64>>,
    event: Option<String>,
    run_id: Option<String>,
    exit_status: Option<i64>,
    duration_ms: Option<u64>,
    output: Option<String>,
    // The settings of a service the heartbeat creates (crate::provision::SETTINGS), checked
    // only when it does.
    name: Option<Value>,
    staleness_threshold: Option<Value>,
    grace_period: Option<Value>,
    schedule: Option<Value>,
    timezone: Option<Value>,
}

impl Object {
    /// The [`crate::provision::SETTINGS`] members it has, as sent.
    fn settings(&mut self) -> Map<String, Value> {
        let fields = [
            ("name", self.name.take()),
            ("stalenessThreshold", self.staleness_threshold.take()),
            ("gracePeriod", self.grace_period.take()),
            ("schedule", self.schedule.take()),
            ("timezone", self.timezone.take()),
        ];
        fields.into_iter().filter_map(|(k, v)| Some((k.to_owned(), v?))).collect()
    }

    /// `(services, serviceId, token, fields)`.
    fn split(self) -> (Option<Vec<Value>>, Option<String>, Option<String>, Fields) {
        let fields = Fields {
            status: self.status,
            message: self.message,
            metadata: self.metadata,
            metrics: self.metrics,
            event: self.event,
            run_id: self.run_id,
            exit_status: self.exit_status,
            duration_ms: self.duration_ms,
            output: self.output,
        };
        (self.services, self.service_id, self.token, fields)
    }
}

/// cloudflaremon's 400 for an object with neither a `serviceId` nor a `services` array, as
/// a problem carrying the seed's `error` and `usage` members.
fn neither_id_nor_services() -> Problem {
    let usage = json!({
        "single": r#"{ "serviceId": "service-1" }"#,
        "batchShared": r#"{ "services": ["service-1", "service-2"] }"#,
        "batchPerService": r#"{ "services": [{"serviceId": "service-1", "token": "xxx"}, {"serviceId": "service-2", "token": "yyy"}] }"#,
    });
    Problem::invalid_field("serviceId", "serviceId: either serviceId or a services array is required")
        .with("error", "Either serviceId or services array is required")
        .with("usage", usage)
}

/// A parsed heartbeat request: its entries, and whether it used a batch form (answered with
/// `results` even for one entry).
#[derive(Clone, Debug, PartialEq)]
pub struct HeartbeatRequest {
    /// One entry per heartbeat, in request order.
    pub entries: Vec<Entry>,
    /// Whether the body was a batch form (`services` or an array).
    pub batch: bool,
    /// The single form's settings for a service it may create ([`crate::provision`]:
    /// `name`, `stalenessThreshold`, `gracePeriod`, `schedule`, `timezone`, as sent, checked
    /// only then); empty for a batch.
    pub settings: Map<String, Value>,
}

/// Parses a heartbeat request body; `bearer` is the `Authorization: Bearer` key, if sent.
///
/// # Errors
/// A 400 [`Problem`] for invalid JSON (with line and column), a field of the wrong type or
/// value (naming it, e.g. `services[2].status`), an object with neither `serviceId` nor
/// `services` (with cloudflaremon's `error` and `usage` members), an empty or over-long
/// batch, a message over [`MAX_MESSAGE_BYTES`], metadata over [`MAX_METADATA_BYTES`], or
/// more than [`metrics::MAX_METRICS`] metrics; a 413 (naming [`MAX_BODY_BYTES`]) when the
/// body exceeds [`MAX_BODY_BYTES`] plus [`OUTPUT_ESCAPE_BYTES`] for each byte of `output`
/// kept (at most [`MAX_OUTPUT_BYTES`] counted), or [`MAX_READ_BYTES`] in any case. Entries
/// that cannot be heartbeats are not errors: they come back as [`Entry::Failed`].
pub fn parse(body: &[u8], bearer: Option<&str>) -> Result<HeartbeatRequest, Problem> {
    if body.len() > MAX_READ_BYTES {
        return Err(Problem::payload_too_large(MAX_BODY_BYTES));
    }
    let too_large = || Problem::payload_too_large(MAX_BODY_BYTES);
    // A body over the plain limit is only read for its output: any other problem is its size.
    let request = parse_body(body, bearer).map_err(|p| if body.len() > MAX_BODY_BYTES { too_large() } else { p })?;
    if body.len() > MAX_BODY_BYTES {
        let output: usize = request
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Beat(item) => item.heartbeat.output.as_ref().map(String::len),
                Entry::Failed(_) => None,
            })
            .sum();
        if body.len() > MAX_BODY_BYTES + OUTPUT_ESCAPE_BYTES * output.min(MAX_OUTPUT_BYTES) {
            return Err(too_large());
        }
    }
    Ok(request)
}

/// [`parse`] without the size check.
fn parse_body(body: &[u8], bearer: Option<&str>) -> Result<HeartbeatRequest, Problem> {
    // One typed pass over the bytes; the first significant byte picks the form.
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => {
            let values: Vec<Value> = typed(body)?;
            check_batch_len("", values.len())?;
            let entries = entries("", values, &Fields::default(), bearer)?;
            Ok(HeartbeatRequest { entries, batch: true, settings: Map::new() })
        }
        Some(b'{') => {
            let mut object = typed::<Object>(body)?;
            let settings = object.settings();
            let (services, id, token, fields) = object.split();
            if let Some(values) = services {
                check_batch_len("services", values.len())?;
                let entries = entries("services", values, &fields, bearer)?;
                return Ok(HeartbeatRequest { entries, batch: true, settings: Map::new() });
            }
            let id = id.filter(|id| !id.is_empty()).ok_or_else(neither_id_nor_services)?;
            let entries = vec![entry("", &id, key(token, bearer), fields)?];
            Ok(HeartbeatRequest { entries, batch: false, settings })
        }
        _ => {
            serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(|e| syntax_problem(&e))?;
            Err(Problem::invalid_field("", "body must be a JSON object or array"))
        }
    }
}

/// The key for an entry: its non-empty `token`, else the header's.
fn key(token: Option<String>, bearer: Option<&str>) -> Option<String> {
    token.filter(|t| !t.is_empty()).or_else(|| bearer.map(str::to_owned))
}

fn check_batch_len(field: &str, len: usize) -> Result<(), Problem> {
    if len == 0 || len > MAX_BATCH {
        let mut p = Problem::invalid_field(field, format!("a batch must list 1 to {MAX_BATCH} services, got {len}"));
        p.limit = u32::try_from(MAX_BATCH).ok();
        if len == 0 && !field.is_empty() {
            p = p.with("error", "services array cannot be empty");
        }
        return Err(p);
    }
    Ok(())
}

/// The entries of a batch under `field` (`services`, or `""` for an array body).
fn entries(field: &str, values: Vec<Value>, shared: &Fields, bearer: Option<&str>) -> Result<Vec<Entry>, Problem> {
    let mut out = Vec::with_capacity(values.len());
    for (i, value) in values.into_iter().enumerate() {
        out.push(match value {
            Value::String(id) if id.is_empty() => Entry::Failed(Failure::new(UNKNOWN_ENTRY, ItemError::EmptyEntry)),
            Value::String(id) => entry("", &id, bearer.map(str::to_owned), shared.clone())?,
            Value::Object(map) if map.get("serviceId").is_some_and(truthy) => {
                let prefix = format!("{field}[{i}].");
                let (_, id, token, fields) = typed_value::<Object>(&prefix, Value::Object(map))?.split();
                entry(&prefix, &id.unwrap_or_default(), key(token, bearer), fields.or(shared))?
            }
            _ => Entry::Failed(Failure::new(UNKNOWN_ENTRY, ItemError::Format)),
        });
    }
    Ok(out)
}

/// JavaScript truthiness, which cloudflaremon applies to an entry's `serviceId`.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// One entry's heartbeat: its fields are checked first (a problem naming `prefix` + the
/// field), then its id: one that no service can have is an unknown service.
fn entry(prefix: &str, id: &str, key: Option<String>, f: Fields) -> Result<Entry, Problem> {
    // A string, not an enum: serde_json reports a mistyped enum as a syntax error.
    let reported = match f.status.as_deref() {
        None | Some("up") => Reported::Up,
        Some("degraded") => Reported::Degraded,
        Some("down") => Reported::Down,
        Some(other) => {
            let field = format!("{prefix}status");
            return Err(Problem::invalid_field(&field, format!("{field} must be up, degraded or down, got {other:?}")));
        }
    };
    let run = run_fields(prefix, &f)?;
    if let Some(m) = &f.message {
        if m.len() > MAX_MESSAGE_BYTES {
            return Err(Problem::too_long(&format!("{prefix}message"), MAX_MESSAGE_BYTES, m.len()));
        }
    }
    let metadata = match f.metadata {
        Some(map) => {
            let text = serde_json::to_string(&map).unwrap_or_default();
            if text.len() > MAX_METADATA_BYTES {
                return Err(Problem::too_long(&format!("{prefix}metadata"), MAX_METADATA_BYTES, text.len()));
            }
            Some(text)
        }
        None => None,
    };
    let (metrics, dropped_metrics) = match f.metrics {
        Some(m) if m.len() > metrics::MAX_METRICS => {
            let mut p = Problem::invalid_field(
                format!("{prefix}metrics"),
                format!("at most {} metrics per heartbeat, got {}", metrics::MAX_METRICS, m.len()),
            );
            p.limit = u32::try_from(metrics::MAX_METRICS).ok();
            return Err(p);
        }
        Some(m) => {
            let (kept, dropped) = metrics::clamp(m);
            ((!kept.is_empty()).then(|| serde_json::to_string(&kept).unwrap_or_default()), dropped)
        }
        None => (None, Vec::new()),
    };
    let Ok(service_id) = ServiceId::parse(id) else {
        return Ok(Entry::Failed(Failure::new(id, ItemError::Denied(Authorization::UnknownService))));
    };
    Ok(Entry::Beat(HeartbeatItem {
        service_id,
        key: key.filter(|k| !k.is_empty()),
        heartbeat: Heartbeat {
            reported,
            message: f.message,
            metadata,
            metrics,
            event: run.event,
            exit_status: run.exit_status,
            run_id: f.run_id,
            duration_ms: f.duration_ms.map(|d| d.min(MAX_DURATION_MS)),
            output: f.output.map(|o| truncate_utf8(o, MAX_OUTPUT_BYTES)),
        },
        dropped_metrics,
    }))
}

/// The checked run signal of an entry.
struct RunFields {
    event: Event,
    exit_status: Option<u8>,
}

/// Checks an entry's run fields (`event`, `runId`, `exitStatus`; see [`parse`]).
fn run_fields(prefix: &str, f: &Fields) -> Result<RunFields, Problem> {
    let exit_status = match f.exit_status {
        None => None,
        Some(code) => Some(u8::try_from(code).map_err(|_| {
            let field = format!("{prefix}exitStatus");
            let mut p = Problem::invalid_field(&field, format!("{field} must be an integer from 0 to 255, got {code}"));
            p.limit = Some(255);
            p
        })?),
    };
    let event = match f.event.as_deref() {
        None => match exit_status {
            Some(code) if code != 0 => Event::Fail,
            _ => Event::Success,
        },
        Some("success") => Event::Success,
        Some("start") => Event::Start,
        Some("fail") => Event::Fail,
        Some("log") => Event::Log,
        Some(other) => {
            let field = format!("{prefix}event");
            return Err(Problem::invalid_field(
                &field,
                format!("{field} must be start, success, fail or log, got {other:?}"),
            ));
        }
    };
    if let Some(code) = exit_status {
        let field = format!("{prefix}exitStatus");
        if event == Event::Success && code != 0 {
            let detail = format!("{field} {code} is a failure, but event is success: send event fail or leave it out");
            return Err(Problem::invalid_field(&field, detail));
        }
        if matches!(event, Event::Start | Event::Log) {
            let detail = format!("{field} ends a run: it goes with event success or fail, not {}", event.as_str());
            return Err(Problem::invalid_field(&field, detail));
        }
    }
    if let Some(id) = &f.run_id {
        if !valid_run_id(id) {
            let field = format!("{prefix}runId");
            let mut p = Problem::invalid_field(
                &field,
                format!("{field} must be 1 to {MAX_RUN_ID} characters from [A-Za-z0-9._:-] (e.g. a UUID), got {id:?}"),
            );
            p.limit = u32::try_from(MAX_RUN_ID).ok();
            return Err(p);
        }
    }
    Ok(RunFields { event, exit_status })
}

/// Whether `id` is a valid run id: 1 to [`MAX_RUN_ID`] characters from `[A-Za-z0-9._:-]`.
pub fn valid_run_id(id: &str) -> bool {
    (1..=MAX_RUN_ID).contains(&id.len())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

/// Deserializes the body into a typed request in one pass, naming the offending field on a
/// type error and the line and column on a syntax error.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| path_problem("", e))?;
    de.end().map_err(|e| syntax_problem(&e))?;
    Ok(value)
}

/// Deserializes one entry of a batch, naming the offending field under `prefix`
/// (`services[2].`).
fn typed_value<T: serde::de::DeserializeOwned>(prefix: &str, value: Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| path_problem(prefix, e))
}

/// The 400 problem for a deserialization error at a JSON path under `prefix`.
fn path_problem(prefix: &str, e: serde_path_to_error::Error<serde_json::Error>) -> Problem {
    // From the segments, not the path's `Display`, which writes the root and a key "." alike.
    let mut path = String::new();
    for segment in e.path().iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => path.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } | serde_path_to_error::Segment::Enum { variant: key } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    let inner = e.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return syntax_problem(&inner);
    }
    let reason = syntax_reason(&inner);
    let base = path;
    // serde reports a missing field at its parent; name the field itself.
    let field = match reason.strip_prefix("missing field `").and_then(|r| r.strip_suffix('`')) {
        Some(missing) if base.is_empty() => missing.to_owned(),
        Some(missing) => format!("{base}.{missing}"),
        None => base,
    };
    // The prefix (`services[2].`) ends in a dot that only a field after it keeps; a field
    // name may itself end in dots.
    let field = if field.is_empty() { prefix.trim_end_matches('.').to_owned() } else { format!("{prefix}{field}") };
    let detail = if field.is_empty() { reason } else { format!("{field}: {reason}") };
    Problem::invalid_field(field, detail)
}

/// The 400 problem for a body that is not JSON, e.g. `invalid JSON at line 2, column 16:
/// expected value` (serde_json's message without its position suffix, which the problem
/// states separately; an empty body, where serde_json says column 0, is column 1). Used by
/// every JSON request body.
pub fn syntax_problem(e: &serde_json::Error) -> Problem {
    Problem::invalid_json(e.line().max(1), e.column().max(1), &syntax_reason(e))
}

/// serde_json's message without the " at line L column C" it appends.
fn syntax_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let reason = text.rfind(" at line ").and_then(|i| text.get(..i));
    reason.map_or_else(|| text.clone(), ToOwned::to_owned)
}

/// The success answer for one heartbeat (HTTP 200).
///
/// JSON: `{"ok": true, "serviceId", "status", "receivedAt": RFC 3339 UTC,
/// "nextDeadline": RFC 3339 UTC | null, "droppedMetrics"?: [names]}`.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// Always `true`.
    pub ok: bool,
    /// The service.
    pub service_id: String,
    /// Its status after this heartbeat.
    pub status: Status,
    /// When it was recorded.
    pub received_at: String,
    /// When the next heartbeat is due.
    pub next_deadline: Option<String>,
    /// Metrics dropped by the sanity clamp.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped_metrics: Vec<String>,
}

impl Accepted {
    /// Builds the answer from the monitor's outcome.
    pub fn new(
        service_id: &ServiceId,
        status: Status,
        at: Timestamp,
        next: Option<Timestamp>,
        dropped: Vec<String>,
    ) -> Self {
        Self {
            ok: true,
            service_id: service_id.as_str().to_owned(),
            status,
            received_at: at.to_rfc3339(),
            next_deadline: next.map(Timestamp::to_rfc3339),
            dropped_metrics: dropped,
        }
    }
}

/// What one heartbeat of a request became, in cloudflaremon's per-item shape
/// `{"serviceId", "success", "error"?, "timestamp"?}`; a recorded one also carries the
/// [`Accepted`] fields (`ok`, `status`, `receivedAt`, `nextDeadline`, `droppedMetrics`?).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ItemResult {
    /// Recorded.
    Recorded {
        /// `true`.
        success: bool,
        /// When it was recorded (its `receivedAt`).
        timestamp: String,
        /// Our receipt.
        #[serde(flatten)]
        accepted: Accepted,
    },
    /// Not recorded.
    #[serde(rename_all = "camelCase")]
    Failed {
        /// The id as sent, or [`UNKNOWN_ENTRY`].
        service_id: String,
        /// `false`.
        success: bool,
        /// Why: [`ItemError::message`].
        error: String,
    },
}

impl From<Result<Accepted, Failure>> for ItemResult {
    fn from(outcome: Result<Accepted, Failure>) -> Self {
        match outcome {
            Ok(accepted) => ItemResult::Recorded { success: true, timestamp: accepted.received_at.clone(), accepted },
            Err(f) => ItemResult::Failed { service_id: f.service_id, success: false, error: f.error.message().into() },
        }
    }
}

/// The answer to a request of which at least one heartbeat was recorded (see [`answer`]).
///
/// JSON: `{"success": true, "message", "timestamp": RFC 3339 UTC, …}` with the one
/// heartbeat's [`Accepted`] fields (single form) or `"ok"` and `"results": [ItemResult]`
/// (batch forms, and any request with a failure).
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct Summary {
    /// HTTP status: 200 when every heartbeat was recorded, 207 when some failed.
    #[serde(skip)]
    pub status: u16,
    /// `true` (cloudflaremon's: at least one was recorded).
    pub success: bool,
    /// cloudflaremon's message.
    pub message: String,
    /// The latest `receivedAt` of the recorded heartbeats.
    pub timestamp: String,
    /// The heartbeats.
    #[serde(flatten)]
    pub receipt: Receipt,
}

/// The heartbeats of a [`Summary`].
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Receipt {
    /// The single form's one recorded heartbeat: its fields at the top level.
    Single(Accepted),
    /// Every heartbeat, in request order.
    Batch {
        /// Whether every heartbeat was recorded.
        ok: bool,
        /// One per entry.
        results: Vec<ItemResult>,
    },
}

/// Decides the answer to a request from what became of each of its heartbeats (in request
/// order), as cloudflaremon does (`src/handlers/heartbeat.js`), with our fields added.
/// `batch` says whether the body was a batch form; `now` is when the request arrived (the
/// `timestamp` when nothing was recorded).
///
/// - Every heartbeat recorded → 200, `message` `Heartbeat received` for one and `Batch
///   heartbeat received for N service(s)` for more.
/// - Some → 207, `Partial success: S succeeded, F failed`, `ok: false`.
///
/// # Errors
/// When none was recorded: a problem carrying cloudflaremon's `success: false`, `message:
/// "All heartbeats failed"` and `results` (and `ok: false`, `timestamp`). It is 401
/// `unauthorized` when every heartbeat failed its key check (an unknown id counts: it is
/// refused by the same check), 429 `rate-limited` with the longest `Retry-After` when every
/// one was refused by its service's rate limit, 503 `unavailable` with the first one's detail
/// and the longest `Retry-After` when every one was unavailable, and 400 `heartbeats-failed`
/// otherwise.
pub fn answer(outcomes: Vec<Result<Accepted, Failure>>, batch: bool, now: Timestamp) -> Result<Summary, Problem> {
    let total = outcomes.len();
    let failures: Vec<&Failure> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    let failed = failures.len();
    let latest = outcomes.iter().filter_map(|o| o.as_ref().ok()).map(|a| a.received_at.clone()).max();
    let Some(timestamp) = latest else {
        let unavailable: Vec<_> = failures
            .iter()
            .filter_map(|f| match &f.error {
                ItemError::Unavailable { detail, retry_after } => Some((detail, *retry_after)),
                _ => None,
            })
            .collect();
        let limited: Vec<u16> = failures
            .iter()
            .filter_map(|f| match f.error {
                ItemError::Limited { retry_after } => Some(retry_after),
                _ => None,
            })
            .collect();
        let problem = if failures.iter().all(|f| matches!(f.error, ItemError::Denied(_))) {
            Problem::unauthorized()
        } else if !limited.is_empty() && limited.len() == failed {
            let retry_after = limited.iter().copied().max().unwrap_or(1);
            let rate = crate::limit::SERVICE_HEARTBEATS;
            let detail = format!(
                "more than {} heartbeats at once, or one per {} ms sustained, for one service; retry after {retry_after} s",
                rate.burst,
                rate.interval.as_millis()
            );
            Problem::rate_limited(detail, retry_after)
        } else if let (Some((detail, _)), true) = (unavailable.first(), unavailable.len() == failed) {
            let retry_after = unavailable.iter().map(|(_, r)| *r).max().unwrap_or(2);
            Problem::unavailable(detail.as_str(), retry_after)
        } else {
            Problem::new("heartbeats-failed", "All heartbeats failed", 400, "no heartbeat of the request was recorded")
        };
        let results: Vec<ItemResult> = outcomes.into_iter().map(ItemResult::from).collect();
        return Err(problem
            .with("success", false)
            .with("ok", false)
            .with("message", "All heartbeats failed")
            .with("timestamp", now.to_rfc3339())
            .with("results", serde_json::to_value(results).unwrap_or_default()));
    };
    let message = match (failed, total) {
        (0, 1) => "Heartbeat received".to_owned(),
        (0, n) => format!("Batch heartbeat received for {n} service(s)"),
        (f, n) => format!("Partial success: {} succeeded, {f} failed", n - f),
    };
    let status = if failed == 0 { 200 } else { 207 };
    // The single form's one recorded heartbeat answers with its fields at the top level.
    let mut outcomes = outcomes;
    let receipt = match outcomes.pop() {
        Some(Ok(accepted)) if !batch && failed == 0 && outcomes.is_empty() => Receipt::Single(accepted),
        last => {
            outcomes.extend(last);
            Receipt::Batch { ok: failed == 0, results: outcomes.into_iter().map(ItemResult::from).collect() }
        }
    };
    Ok(Summary { status, success: true, message, timestamp, receipt })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// A ServiceMonitor answers an accepted heartbeat with the single form's whole answer;
    /// the router reads the `Accepted` back out of it for a batch.
    #[test]
    fn the_single_answer_reads_back_as_its_accepted() {
        let id = crate::config::ServiceId::parse("api").unwrap();
        let at = Timestamp::from_millis(1_700_000_000_000);
        let accepted = Accepted::new(&id, Status::Up, at, Some(at), vec!["cpu".into()]);
        let summary = answer(vec![Ok(accepted.clone())], false, at).unwrap();
        let json = serde_json::to_string(&summary).unwrap();
        assert_eq!(serde_json::from_str::<Accepted>(&json).unwrap(), accepted);
    }

    fn err(body: &str) -> Problem {
        parse(body.as_bytes(), Some("k")).unwrap_err()
    }

    /// An entry as the tests compare it: `Ok((id, key))` for a heartbeat, `Err((id, error))`
    /// for a failed entry.
    type Parsed = Result<(String, Option<String>), (String, &'static str)>;

    /// The entries of `body` sent with `bearer`.
    fn entries(body: &str, bearer: Option<&str>) -> Vec<Parsed> {
        let req = parse(body.as_bytes(), bearer).unwrap();
        req.entries
            .into_iter()
            .map(|e| match e {
                Entry::Beat(i) => Ok((i.service_id.to_string(), i.key)),
                Entry::Failed(f) => Err((f.service_id, f.error.message())),
            })
            .collect()
    }

    fn beat(body: &str, bearer: Option<&str>) -> Vec<HeartbeatItem> {
        let req = parse(body.as_bytes(), bearer).unwrap();
        req.entries
            .into_iter()
            .map(|e| match e {
                Entry::Beat(i) => i,
                Entry::Failed(f) => panic!("failed entry {f:?}"),
            })
            .collect()
    }

    fn ok(id: &str, key: Option<&str>) -> Parsed {
        Ok((id.to_owned(), key.map(str::to_owned)))
    }

    #[test]
    fn single_form_with_defaults() {
        let req = parse(br#"{"serviceId": "api", "message": "ok", "extra": 1}"#, Some("k")).unwrap();
        assert!(!req.batch);
        let items = beat(r#"{"serviceId": "api", "message": "ok", "extra": 1}"#, Some("k"));
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].service_id.as_str(), "api");
        assert_eq!(items[0].key.as_deref(), Some("k"));
        assert_eq!(items[0].heartbeat.reported, Reported::Up);
        assert_eq!(items[0].heartbeat.message.as_deref(), Some("ok"));
    }

    #[test]
    fn the_seed_clients_bodies_parse_with_their_extra_fields() {
        // heartbeat-client.js and docker-compose.yml: status, metadata, message.
        let node = r#"{"serviceId": "api", "status": "up", "message": "Heartbeat from host",
                       "metadata": {"hostname": "h", "timestamp": "2025-11-10T12:00:00.000Z", "platform": "linux", "arch": "x64"}}"#;
        let items = beat(node, Some("k"));
        assert_eq!(items[0].heartbeat.message.as_deref(), Some("Heartbeat from host"));
        assert!(items[0].heartbeat.metadata.as_deref().unwrap().contains("\"platform\":\"linux\""));
        // The k8s cronjob: objects with metadata and no token, a shared header.
        let k8s = r#"{"services": [{"serviceId": "node-1", "metadata": {"cluster": "c", "status": "Ready"}},
                                    {"serviceId": "node-2", "metadata": {"role": "worker"}}]}"#;
        assert_eq!(entries(k8s, Some("k")), [ok("node-1", Some("k")), ok("node-2", Some("k"))]);
    }

    #[test]
    fn batch_of_names_uses_the_header_for_every_entry() {
        let req = parse(br#"{"services": ["a", "b"], "status": "degraded"}"#, Some("k")).unwrap();
        assert!(req.batch);
        let items = beat(r#"{"services": ["a", "b"], "status": "degraded"}"#, Some("k"));
        assert_eq!(items.iter().map(|i| i.service_id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert!(items.iter().all(|i| i.heartbeat.reported == Reported::Degraded && i.key.as_deref() == Some("k")));
        assert_eq!(entries(r#"{"services": ["a"]}"#, None), [ok("a", None)]);
        // `services` selects the batch even next to a `serviceId`, as in the seed.
        assert_eq!(entries(r#"{"serviceId": "x", "services": ["a"]}"#, Some("k")), [ok("a", Some("k"))]);
    }

    #[test]
    fn batch_of_objects_takes_each_token_over_the_header() {
        let body =
            r#"{"services": [{"serviceId": "a", "token": "ta"}, {"serviceId": "b"}, {"serviceId": "c", "token": ""}]}"#;
        assert_eq!(entries(body, Some("k")), [ok("a", Some("ta")), ok("b", Some("k")), ok("c", Some("k"))]);
        // Without a header (the Python client's per-service keys).
        assert_eq!(entries(body, None), [ok("a", Some("ta")), ok("b", None), ok("c", None)]);
        // Our array form is the same entries.
        let array = r#"[{"serviceId": "a", "token": "ta"}, {"serviceId": "b"}, "c"]"#;
        assert!(parse(array.as_bytes(), None).unwrap().batch);
        assert_eq!(entries(array, Some("k")), [ok("a", Some("ta")), ok("b", Some("k")), ok("c", Some("k"))]);
        let single = r#"{"serviceId": "a", "token": ""}"#;
        assert_eq!(entries(single, Some("k")), [ok("a", Some("k"))], "an empty token falls back to the header");
    }

    #[test]
    fn mixed_batches_and_an_objects_fields_override_the_batchs() {
        let body = r#"{"services": ["a", {"serviceId": "b", "token": "tb", "status": "down", "extra": [1]}],
                       "status": "degraded", "message": "shared"}"#;
        assert_eq!(entries(body, Some("k")), [ok("a", Some("k")), ok("b", Some("tb"))]);
        let items = beat(body, Some("k"));
        assert_eq!(items[0].heartbeat.reported, Reported::Degraded);
        assert_eq!(items[1].heartbeat.reported, Reported::Down);
        assert_eq!(items[1].heartbeat.message.as_deref(), Some("shared"));
    }

    #[test]
    fn entries_that_cannot_be_heartbeats_fail_alone_with_the_seeds_errors() {
        let body = r#"{"services": ["a", "", null, 5, true, [], {"token": "t"}, {"serviceId": ""}, {"serviceId": null},
                                    "Not Valid", {"serviceId": "NO/PE"}]}"#;
        let format = || Err(("unknown".to_owned(), "Invalid service format"));
        assert_eq!(
            entries(body, Some("k")),
            [
                ok("a", Some("k")),
                Err(("unknown".to_owned(), "Invalid service entry")),
                format(),
                format(),
                format(),
                format(),
                format(),
                format(),
                format(),
                Err(("Not Valid".to_owned(), "Unknown serviceId")),
                Err(("NO/PE".to_owned(), "Unknown serviceId")),
            ]
        );
        // A single heartbeat for an id no service can have is an unknown service too.
        assert_eq!(
            entries(r#"{"serviceId": "Guarded Service"}"#, None),
            [Err(("Guarded Service".into(), "Unknown serviceId"))]
        );
    }

    #[test]
    fn an_object_without_service_id_or_services_gets_the_seeds_hint() {
        for body in [r#"{"message": "x"}"#, r#"{"serviceId": ""}"#, r#"{"serviceId": null}"#, "{}"] {
            let p = err(body);
            assert_eq!((p.status, p.field.as_deref()), (400, Some("serviceId")), "{body}");
            let json: Value = serde_json::from_str(&p.to_json()).unwrap();
            assert_eq!(json["error"], "Either serviceId or services array is required");
            assert_eq!(json["usage"]["single"], r#"{ "serviceId": "service-1" }"#);
            assert_eq!(json["usage"]["batchShared"], r#"{ "services": ["service-1", "service-2"] }"#);
            assert!(json["usage"]["batchPerService"].as_str().unwrap().contains(r#""token": "yyy""#));
        }
        let empty: Value = serde_json::from_str(&err(r#"{"services": []}"#).to_json()).unwrap();
        assert_eq!(
            (empty["error"].as_str(), empty["field"].as_str()),
            (Some("services array cannot be empty"), Some("services"))
        );
    }

    #[test]
    fn the_single_form_keeps_the_settings_of_a_service_it_may_create() {
        let body = r#"{"serviceId": "new-job", "name": "New job", "schedule": "0 3 * * *", "gracePeriod": "x"}"#;
        let r = parse(body.as_bytes(), Some("k")).unwrap();
        assert_eq!(
            Value::Object(r.settings),
            json!({"name": "New job", "schedule": "0 3 * * *", "gracePeriod": "x"}),
            "as sent: checked only when it creates"
        );
        let batch = parse(br#"{"services": [{"serviceId": "a", "name": "A"}], "name": "x"}"#, None).unwrap();
        assert!(batch.settings.is_empty());
    }

    #[test]
    fn an_output_of_ten_thousand_bytes_fits_however_it_escapes() {
        // Every byte a control character: six bytes of JSON each, 60,000 in all.
        let output = "\u{1}".repeat(MAX_OUTPUT_BYTES);
        let body = serde_json::to_vec(&json!({"serviceId": "job", "event": "fail", "output": output,
            "message": "m".repeat(MAX_MESSAGE_BYTES)}))
        .unwrap();
        assert!(body.len() > 61_000);
        let request = parse(&body, Some("k")).unwrap();
        let Entry::Beat(item) = &request.entries[0] else { panic!("{request:?}") };
        assert_eq!(item.heartbeat.output.as_deref(), Some(output.as_str()));
        // The allowance is five bytes per output byte: padding beyond it is refused.
        let padded = json!({"serviceId": "job", "output": "x".repeat(100), "pad": "y".repeat(MAX_BODY_BYTES + 500)});
        assert_eq!(parse(&serde_json::to_vec(&padded).unwrap(), None).unwrap_err().status, 413);
        let fits = json!({"serviceId": "job", "output": "x".repeat(100), "pad": "y".repeat(MAX_BODY_BYTES - 100)});
        assert!(parse(&serde_json::to_vec(&fits).unwrap(), None).is_ok());
        // Over the read limit, refused whatever it holds; over 16 KiB and malformed, too.
        let huge = json!({"serviceId": "job", "output": "\u{1}".repeat(MAX_READ_BYTES / 6 + 10)});
        assert_eq!(parse(&serde_json::to_vec(&huge).unwrap(), None).unwrap_err().status, 413);
        assert_eq!(err(&format!("{{\"output\": \"{}\"", "x".repeat(MAX_BODY_BYTES))).status, 413);
    }

    #[test]
    fn bad_input_names_the_field_and_limit() {
        assert_eq!(err(&"x".repeat(MAX_BODY_BYTES + 1)).status, 413);
        let p = err("{\n  \"serviceId\": }");
        assert_eq!((p.status, p.detail.as_str()), (400, "invalid JSON at line 2, column 16: expected value"));
        assert_eq!(err(r#"{"serviceId": 5}"#).field.as_deref(), Some("serviceId"));
        assert_eq!(err(r#"{"serviceId": "a", "status": "sideways"}"#).field.as_deref(), Some("status"));
        assert_eq!(err(r#"{"serviceId": "a", "metadata": [1]}"#).field.as_deref(), Some("metadata"));
        assert_eq!(err(r#"{"serviceId": "a", "metrics": {"x": "1"}}"#).field.as_deref(), Some("metrics.x"));
        assert_eq!(
            err(r#"[{"serviceId": "a"}, {"serviceId": "a", "status": 1}]"#).field.as_deref(),
            Some("[1].status")
        );
        assert_eq!(
            err(r#"{"services": ["a", {"serviceId": "b", "metrics": {"x": true}}]}"#).field.as_deref(),
            Some("services[1].metrics.x")
        );
        assert_eq!(err(r#"{"services": [{"serviceId": 7}]}"#).field.as_deref(), Some("services[0].serviceId"));
        assert_eq!(err(r#"{"services": "a"}"#).field.as_deref(), Some("services"));
        assert_eq!(err(r#"{"services": []}"#).limit, Some(45));
        assert_eq!(err(&format!(r#"{{"services": [{}"a"]}}"#, r#""a","#.repeat(MAX_BATCH))).limit, Some(45));
        assert_eq!(err("[]").limit, Some(45));
        assert_eq!(err("42").status, 400);
        let long = format!(r#"{{"serviceId": "a", "message": "{}"}}"#, "m".repeat(1025));
        let p = err(&long);
        assert_eq!((p.field.as_deref(), p.limit), (Some("message"), Some(1024)));
        let meta = format!(r#"{{"services": [{{"serviceId": "a", "metadata": {{"k": "{}"}}}}]}}"#, "m".repeat(4096));
        let p = err(&meta);
        assert_eq!((p.field.as_deref(), p.limit), (Some("services[0].metadata"), Some(4096)));
    }

    #[test]
    fn run_signals_are_parsed_and_checked() {
        use crate::monitor::Event;
        let one = |body: &str| beat(body, None).remove(0).heartbeat;
        let hb = one(r#"{"serviceId": "a", "event": "start", "runId": "0b9a7c3e-1f2d-4e5f-8a9b-0c1d2e3f4a5b"}"#);
        assert_eq!((hb.event, hb.run_id.as_deref()), (Event::Start, Some("0b9a7c3e-1f2d-4e5f-8a9b-0c1d2e3f4a5b")));
        let hb = one(r#"{"serviceId": "a", "exitStatus": 3, "durationMs": 1200, "output": "boom"}"#);
        assert_eq!((hb.event, hb.exit_status, hb.duration_ms), (Event::Fail, Some(3), Some(1200)));
        assert_eq!(hb.output.as_deref(), Some("boom"));
        assert_eq!(one(r#"{"serviceId": "a", "exitStatus": 0}"#).event, Event::Success);
        assert_eq!(one(r#"{"serviceId": "a", "event": "fail", "exitStatus": 0}"#).event, Event::Fail, "fail wins");
        assert_eq!(one(r#"{"serviceId": "a", "event": "log"}"#).event, Event::Log);
        assert_eq!(one(r#"{"serviceId": "a"}"#).event, Event::Success, "the cloudflaremon forms are plain successes");
        assert_eq!(one(r#"{"serviceId": "a", "durationMs": 99999999999999}"#).duration_ms, Some(MAX_DURATION_MS));
        // Output: the first 10,000 bytes, cut on a character boundary.
        let long = format!(r#"{{"serviceId": "a", "output": "{}"}}"#, "é".repeat(6000));
        let kept = one(&long).output.unwrap();
        assert_eq!(kept.len(), 10_000);
        assert!(kept.chars().all(|c| c == 'é'));
        // Batch entries take the batch's run fields unless they set their own.
        let items = beat(r#"{"services": ["a", {"serviceId": "b", "event": "log"}], "event": "start"}"#, None);
        assert_eq!((items[0].heartbeat.event, items[1].heartbeat.event), (Event::Start, Event::Log));

        let p = err(r#"{"serviceId": "a", "exitStatus": 256}"#);
        assert_eq!((p.status, p.field.as_deref(), p.limit), (400, Some("exitStatus"), Some(255)));
        assert!(p.detail.contains("0 to 255"), "{}", p.detail);
        assert_eq!(err(r#"{"serviceId": "a", "exitStatus": -1}"#).field.as_deref(), Some("exitStatus"));
        assert_eq!(err(r#"{"serviceId": "a", "exitStatus": 1.5}"#).field.as_deref(), Some("exitStatus"));
        let p = err(r#"{"serviceId": "a", "event": "success", "exitStatus": 2}"#);
        assert_eq!(p.field.as_deref(), Some("exitStatus"));
        assert_eq!(
            err(r#"{"serviceId": "a", "event": "start", "exitStatus": 0}"#).field.as_deref(),
            Some("exitStatus")
        );
        assert_eq!(err(r#"{"serviceId": "a", "event": "finish"}"#).field.as_deref(), Some("event"));
        assert_eq!(err(r#"{"serviceId": "a", "durationMs": -5}"#).field.as_deref(), Some("durationMs"));
        let p = err(&format!(r#"{{"serviceId": "a", "runId": "{}"}}"#, "x".repeat(65)));
        assert_eq!((p.field.as_deref(), p.limit), (Some("runId"), Some(64)));
        assert_eq!(err(r#"{"serviceId": "a", "runId": ""}"#).field.as_deref(), Some("runId"));
        assert_eq!(err(r#"{"serviceId": "a", "runId": "a b"}"#).field.as_deref(), Some("runId"));
        assert_eq!(err(r#"[{"serviceId": "a", "exitStatus": 300}]"#).field.as_deref(), Some("[0].exitStatus"));
    }

    #[test]
    fn absurd_metrics_are_dropped_but_the_heartbeat_counts() {
        let items = beat(r#"{"serviceId": "a", "metrics": {"cpu_percent": 500, "rps": 12}}"#, None);
        assert_eq!(items[0].dropped_metrics, ["cpu_percent"]);
        assert_eq!(items[0].heartbeat.metrics.as_deref(), Some(r#"{"rps":12.0}"#));
        assert_eq!(items[0].key, None);
    }

    #[test]
    fn unauthorized_body_is_fixed() {
        assert_eq!(
            Problem::unauthorized().to_json(),
            r#"{"type":"urn:systole:problem:unauthorized","title":"Unauthorized","status":401,"detail":"missing or invalid heartbeat key"}"#
        );
    }

    // The answer.

    const T0: i64 = 1_762_776_000_000; // 2025-11-10T12:00:00.000Z

    fn recorded(id: &str, ms: i64) -> Result<Accepted, Failure> {
        let id = ServiceId::parse(id).unwrap();
        let at = Timestamp::from_millis(T0 + ms);
        Ok(Accepted::new(&id, Status::Up, at, Some(Timestamp::from_millis(T0 + ms + 60_000)), Vec::new()))
    }

    fn failed(id: &str, error: ItemError) -> Result<Accepted, Failure> {
        Err(Failure::new(id, error))
    }

    fn denied(id: &str, a: Authorization) -> Result<Accepted, Failure> {
        failed(id, ItemError::Denied(a))
    }

    fn unavailable(id: &str, retry_after: u16) -> Result<Accepted, Failure> {
        failed(id, ItemError::Unavailable { detail: format!("{id} is busy"), retry_after })
    }

    fn now() -> Timestamp {
        Timestamp::from_millis(T0 + 500)
    }

    fn body(summary: &Summary) -> Value {
        serde_json::to_value(summary).unwrap()
    }

    fn problem(p: &Problem) -> Value {
        serde_json::from_str(&p.to_json()).unwrap()
    }

    #[test]
    fn one_recorded_heartbeat_answers_the_seeds_fields_and_ours() {
        let s = answer(vec![recorded("api", 3)], false, now()).unwrap();
        assert_eq!(s.status, 200);
        assert_eq!(
            body(&s),
            json!({"success": true, "message": "Heartbeat received", "timestamp": "2025-11-10T12:00:00.003Z",
                   "ok": true, "serviceId": "api", "status": "up", "receivedAt": "2025-11-10T12:00:00.003Z",
                   "nextDeadline": "2025-11-10T12:01:00.003Z"})
        );
        // A batch of one keeps `results` (our batch answer), with the seed's message.
        let s = answer(vec![recorded("api", 3)], true, now()).unwrap();
        let b = body(&s);
        assert_eq!((s.status, b["message"].as_str(), b["ok"].as_bool()), (200, Some("Heartbeat received"), Some(true)));
        assert_eq!(b["results"][0]["success"], true);
        assert_eq!(b["results"][0]["timestamp"], "2025-11-10T12:00:00.003Z");
        assert_eq!(b["results"][0]["serviceId"], "api");
    }

    #[test]
    fn a_fully_recorded_batch_is_200_with_every_result() {
        let s = answer(vec![recorded("a", 1), recorded("b", 7)], true, now()).unwrap();
        let b = body(&s);
        assert_eq!(s.status, 200);
        assert_eq!(b["message"], "Batch heartbeat received for 2 service(s)");
        assert_eq!(b["timestamp"], "2025-11-10T12:00:00.007Z", "the latest receivedAt");
        assert_eq!(b["ok"], true);
        let ids: Vec<_> =
            b["results"].as_array().unwrap().iter().map(|r| (r["serviceId"].clone(), r["success"].clone())).collect();
        assert_eq!(ids, [(json!("a"), json!(true)), (json!("b"), json!(true))]);
    }

    #[test]
    fn some_failures_are_a_207_partial_success_in_request_order() {
        let outcomes = vec![
            denied("nope", Authorization::UnknownService),
            recorded("a", 1),
            denied("b", Authorization::WrongKey),
            unavailable("c", 5),
        ];
        let s = answer(outcomes, false, now()).unwrap();
        let b = body(&s);
        assert_eq!(s.status, 207);
        assert_eq!(b["success"], true);
        assert_eq!(b["ok"], false);
        assert_eq!(b["message"], "Partial success: 1 succeeded, 3 failed");
        assert_eq!(b["results"][0], json!({"serviceId": "nope", "success": false, "error": "Unknown serviceId"}));
        assert_eq!(b["results"][1]["success"], true);
        assert_eq!(b["results"][2], json!({"serviceId": "b", "success": false, "error": "Invalid API key"}));
        assert_eq!(b["results"][3], json!({"serviceId": "c", "success": false, "error": "Temporarily unavailable"}));
        // The Python client reads success and serviceId of every result with hard access.
        assert!(b["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["success"].is_boolean() && r["serviceId"].is_string()));
    }

    #[test]
    fn every_key_refused_is_a_401_that_still_carries_the_results() {
        let all = vec![
            denied("a", Authorization::WrongKey),
            denied("ghost", Authorization::UnknownService),
            denied("b", Authorization::NoKey),
            denied("c", Authorization::KeysUnset),
        ];
        let p = answer(all, true, now()).unwrap_err();
        assert_eq!(p.status, 401);
        let b = problem(&p);
        assert_eq!(b["type"], "urn:systole:problem:unauthorized");
        assert_eq!(b["detail"], "missing or invalid heartbeat key");
        assert_eq!((b["success"].as_bool(), b["ok"].as_bool()), (Some(false), Some(false)));
        assert_eq!(b["message"], "All heartbeats failed");
        assert_eq!(b["timestamp"], "2025-11-10T12:00:00.500Z");
        let errors: Vec<_> = b["results"].as_array().unwrap().iter().map(|r| r["error"].as_str().unwrap()).collect();
        assert_eq!(
            errors,
            [
                "Invalid API key",
                "Unknown serviceId",
                "No API key configured for this service",
                "Server misconfigured: API_KEYS not set"
            ]
        );
        // A single heartbeat with a wrong key: the same 401, with its one result.
        let p = answer(vec![denied("api", Authorization::WrongKey)], false, now()).unwrap_err();
        assert_eq!(problem(&p)["results"], json!([{"serviceId": "api", "success": false, "error": "Invalid API key"}]));
    }

    #[test]
    fn a_request_refused_only_by_rate_limits_is_429_and_a_partial_one_207() {
        let limited = |id: &str, retry_after| failed(id, ItemError::Limited { retry_after });
        let p = answer(vec![limited("a", 1), limited("b", 3)], true, now()).unwrap_err();
        assert_eq!((p.status, p.code, p.retry_after), (429, "rate-limited", Some(3)));
        assert_eq!(p.extensions.as_ref().unwrap()["results"][1]["error"], "Rate limit exceeded");
        let s = answer(vec![recorded("a", 0), limited("b", 1)], true, now()).unwrap();
        assert_eq!(s.status, 207);
        let mixed = answer(vec![limited("a", 1), unavailable("b", 5)], true, now()).unwrap_err();
        assert_eq!(mixed.status, 400, "as any other mix of failures");
    }

    #[test]
    fn other_total_failures_are_400_or_503() {
        let p = answer(vec![failed("unknown", ItemError::Format), denied("a", Authorization::WrongKey)], true, now())
            .unwrap_err();
        assert_eq!((p.status, p.code), (400, "heartbeats-failed"));
        assert_eq!(
            problem(&p)["results"][0],
            json!({"serviceId": "unknown", "success": false, "error": "Invalid service format"})
        );
        let p = answer(vec![failed("unknown", ItemError::EmptyEntry)], true, now()).unwrap_err();
        assert_eq!(problem(&p)["results"][0]["error"], "Invalid service entry");
        let p = answer(vec![unavailable("a", 2), unavailable("b", 5)], true, now()).unwrap_err();
        assert_eq!((p.status, p.retry_after, p.detail.as_str()), (503, Some(5), "a is busy"));
        assert_eq!(problem(&p)["message"], "All heartbeats failed");
        let p = answer(vec![unavailable("a", 2), denied("b", Authorization::WrongKey)], true, now()).unwrap_err();
        assert_eq!(p.status, 400, "a client error among them: retrying as is cannot succeed");
    }
}
