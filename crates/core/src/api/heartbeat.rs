//! `POST /api/heartbeat`: the request forms the seeds' clients send, parsed into typed
//! heartbeats with every limit enforced before any state is touched.
//!
//! Forms (all JSON, `Authorization: Bearer <key>`):
//! - single: `{"serviceId", "status"?: "up"|"degraded"|"down", "message"?, "metadata"?, "metrics"?}`
//! - batch by name: `{"services": ["id", …], "status"?, "message"?, "metadata"?, "metrics"?}`,
//!   one bearer key checked against every listed service;
//! - batch with tokens: `[{"serviceId", "token"?, "status"?, …}, …]`, each item's `token`
//!   (or else the bearer key) checked against its own service.
//!
//! In every form a body `token` takes precedence over the `Authorization` header. Unknown
//! fields are ignored so newer clients keep working.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::metrics;
use super::Problem;
use crate::config::ServiceId;
use crate::monitor::{Heartbeat, Reported, Status};
use crate::time::Timestamp;

/// Largest request body: 16 KiB.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Largest `message`: 1 KiB (UTF-8 bytes).
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// Largest `metadata` object, serialized as JSON: 4 KiB.
pub const MAX_METADATA_BYTES: usize = 4096;
/// Most services in one batch.
pub const MAX_BATCH: usize = 100;

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

#[derive(Clone)]
struct Fields {
    status: Option<String>,
    message: Option<String>,
    metadata: Option<Map<String, Value>>,
    metrics: Option<BTreeMap<String, f64>>,
}

/// A JSON object: the single form, an item of the array form, or the batch by name when
/// `services` is present (then `serviceId` and `token` are not used).
// No `#[serde(flatten)]`: it hides field paths from error messages.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Object {
    services: Option<Vec<String>>,
    service_id: Option<String>,
    token: Option<String>,
    status: Option<String>,
    message: Option<String>,
    metadata: Option<Map<String, Value>>,
    metrics: Option<BTreeMap<String, f64>>,
}

impl Object {
    /// `(services, serviceId, token, fields)`.
    fn split(self) -> (Option<Vec<String>>, Option<String>, Option<String>, Fields) {
        let fields =
            Fields { status: self.status, message: self.message, metadata: self.metadata, metrics: self.metrics };
        (self.services, self.service_id, self.token, fields)
    }
}

fn missing_service_id(prefix: &str) -> Problem {
    Problem::invalid_field(format!("{prefix}serviceId"), format!("{prefix}serviceId: missing field `serviceId`"))
}

/// A parsed heartbeat request: its items, and whether it used a batch form (answered with
/// `{"ok": true, "results": […]}` even for one item).
#[derive(Clone, Debug, PartialEq)]
pub struct HeartbeatRequest {
    /// One item per heartbeat, in request order.
    pub items: Vec<HeartbeatItem>,
    /// Whether the body was a batch form.
    pub batch: bool,
}

/// Parses a heartbeat request body; `bearer` is the `Authorization: Bearer` key, if sent.
///
/// # Errors
/// A 400 [`Problem`] for invalid JSON (with line and column), a field of the wrong type or
/// value (naming it, e.g. `[2].status`), a missing `serviceId`, a bad service id, an empty
/// or over-long batch, a message over [`MAX_MESSAGE_BYTES`], metadata over
/// [`MAX_METADATA_BYTES`], or more than [`metrics::MAX_METRICS`] metrics; a 413 when the
/// body exceeds [`MAX_BODY_BYTES`].
pub fn parse(body: &[u8], bearer: Option<&str>) -> Result<HeartbeatRequest, Problem> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Problem::payload_too_large(MAX_BODY_BYTES));
    }
    let key = |token: Option<String>| token.filter(|t| !t.is_empty()).or_else(|| bearer.map(str::to_owned));
    // One typed pass over the bytes; the first significant byte picks the form.
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => {
            let objects: Vec<Object> = typed(body)?;
            check_batch_len("", objects.len())?;
            let items = objects
                .into_iter()
                .enumerate()
                .map(|(i, o)| {
                    let prefix = format!("[{i}].");
                    let (_, id, token, fields) = o.split();
                    item(&prefix, &id.ok_or_else(|| missing_service_id(&prefix))?, key(token), fields)
                })
                .collect::<Result<_, _>>()?;
            Ok(HeartbeatRequest { items, batch: true })
        }
        Some(b'{') => {
            let (services, id, token, fields) = typed::<Object>(body)?.split();
            if let Some(services) = services {
                check_batch_len("services", services.len())?;
                let items = services
                    .iter()
                    .enumerate()
                    .map(|(i, id)| item_at(&format!("services[{i}]"), "", id, key(None), fields.clone()))
                    .collect::<Result<_, _>>()?;
                return Ok(HeartbeatRequest { items, batch: true });
            }
            let id = id.ok_or_else(|| missing_service_id(""))?;
            Ok(HeartbeatRequest { items: vec![item("", &id, key(token), fields)?], batch: false })
        }
        _ => {
            serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(|e| syntax_problem(&e))?;
            Err(Problem::invalid_field("", "body must be a JSON object or array"))
        }
    }
}

fn check_batch_len(field: &str, len: usize) -> Result<(), Problem> {
    if len == 0 || len > MAX_BATCH {
        let mut p = Problem::invalid_field(field, format!("a batch must list 1 to {MAX_BATCH} services, got {len}"));
        p.limit = u32::try_from(MAX_BATCH).ok();
        return Err(p);
    }
    Ok(())
}

fn item(prefix: &str, id: &str, key: Option<String>, f: Fields) -> Result<HeartbeatItem, Problem> {
    item_at(&format!("{prefix}serviceId"), prefix, id, key, f)
}

fn item_at(id_field: &str, prefix: &str, id: &str, key: Option<String>, f: Fields) -> Result<HeartbeatItem, Problem> {
    let service_id =
        ServiceId::parse(id).map_err(|reason| Problem::invalid_field(id_field, format!("{id_field} {reason}")))?;
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
    Ok(HeartbeatItem {
        service_id,
        key: key.filter(|k| !k.is_empty()),
        heartbeat: Heartbeat { reported, message: f.message, metadata, metrics },
        dropped_metrics,
    })
}

/// Deserializes the body into a typed request in one pass, naming the offending field on a
/// type error and the line and column on a syntax error.
fn typed<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return syntax_problem(&inner);
        }
        let reason = syntax_reason(&inner);
        let base = if path == "." { String::new() } else { path };
        // serde reports a missing field at its parent; name the field itself.
        let field = match reason.strip_prefix("missing field `").and_then(|r| r.strip_suffix('`')) {
            Some(missing) if base.is_empty() => missing.to_owned(),
            Some(missing) => format!("{base}.{missing}"),
            None => base,
        };
        let detail = if field.is_empty() { reason } else { format!("{field}: {reason}") };
        Problem::invalid_field(field, detail)
    })?;
    de.end().map_err(|e| syntax_problem(&e))?;
    Ok(value)
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
            service_id: service_id.to_string(),
            status,
            received_at: at.to_rfc3339(),
            next_deadline: next.map(Timestamp::to_rfc3339),
            dropped_metrics: dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn err(body: &str) -> Problem {
        parse(body.as_bytes(), Some("k")).unwrap_err()
    }

    #[test]
    fn single_form_with_defaults() {
        let req = parse(br#"{"serviceId": "api", "message": "ok", "extra": 1}"#, Some("k")).unwrap();
        assert!(!req.batch);
        let items = req.items;
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].service_id.as_str(), "api");
        assert_eq!(items[0].key.as_deref(), Some("k"));
        assert_eq!(items[0].heartbeat.reported, Reported::Up);
        assert_eq!(items[0].heartbeat.message.as_deref(), Some("ok"));
    }

    #[test]
    fn batch_forms() {
        let by_name = parse(br#"{"services": ["a", "b"], "status": "degraded"}"#, Some("k")).unwrap().items;
        assert_eq!(by_name.iter().map(|i| i.service_id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert!(by_name.iter().all(|i| i.heartbeat.reported == Reported::Degraded && i.key.as_deref() == Some("k")));
        let tokens = parse(br#"[{"serviceId": "a", "token": "ta"}, {"serviceId": "b"}]"#, Some("k")).unwrap().items;
        assert!(parse(br#"[{"serviceId": "a"}]"#, None).unwrap().batch);
        assert_eq!(tokens[0].key.as_deref(), Some("ta"));
        assert_eq!(tokens[1].key.as_deref(), Some("k"));
        let empty = parse(br#"{"serviceId": "a", "token": ""}"#, Some("k")).unwrap().items;
        assert_eq!(empty[0].key.as_deref(), Some("k"), "an empty token falls back to the header");
    }

    #[test]
    fn bad_input_names_the_field_and_limit() {
        assert_eq!(err(&"x".repeat(MAX_BODY_BYTES + 1)).status, 413);
        let p = err("{\n  \"serviceId\": }");
        assert_eq!((p.status, p.detail.as_str()), (400, "invalid JSON at line 2, column 16: expected value"));
        assert_eq!(err(r#"{"serviceId": 5}"#).field.as_deref(), Some("serviceId"));
        assert_eq!(err(r#"{"message": "x"}"#).field.as_deref(), Some("serviceId"));
        assert_eq!(err(r#"{"serviceId": "a", "status": "sideways"}"#).field.as_deref(), Some("status"));
        assert_eq!(err(r#"{"serviceId": "a", "metadata": [1]}"#).field.as_deref(), Some("metadata"));
        assert_eq!(err(r#"{"serviceId": "a", "metrics": {"x": "1"}}"#).field.as_deref(), Some("metrics.x"));
        assert_eq!(
            err(r#"[{"serviceId": "a"}, {"serviceId": "a", "status": 1}]"#).field.as_deref(),
            Some("[1].status")
        );
        assert_eq!(err(r#"{"serviceId": "Not Valid"}"#).field.as_deref(), Some("serviceId"));
        assert_eq!(err(r#"{"services": ["ok", "N O"]}"#).field.as_deref(), Some("services[1]"));
        assert_eq!(err(r#"{"services": []}"#).limit, Some(100));
        assert_eq!(err("[]").limit, Some(100));
        assert_eq!(err("42").status, 400);
        let long = format!(r#"{{"serviceId": "a", "message": "{}"}}"#, "m".repeat(1025));
        let p = err(&long);
        assert_eq!((p.field.as_deref(), p.limit), (Some("message"), Some(1024)));
        let meta = format!(r#"{{"serviceId": "a", "metadata": {{"k": "{}"}}}}"#, "m".repeat(4096));
        let p = err(&meta);
        assert_eq!((p.field.as_deref(), p.limit), (Some("metadata"), Some(4096)));
    }

    #[test]
    fn absurd_metrics_are_dropped_but_the_heartbeat_counts() {
        let items = parse(br#"{"serviceId": "a", "metrics": {"cpu_percent": 500, "rps": 12}}"#, None).unwrap().items;
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
}
