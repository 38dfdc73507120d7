//! The HTTP API's request parsing, limits, response shapes and errors — as data, so the
//! Worker only moves bytes.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

pub mod heartbeat;
pub mod metrics;
pub mod prometheus;
pub mod query;
pub mod route;
pub mod services;
pub mod status;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An error answer: RFC 9457 `application/problem+json`.
///
/// JSON shape: `{"type": "urn:systole:problem:<code>", "title", "status", "detail",
/// "field"?, "limit"?, …extensions}`. `field` names the offending input (a JSON path such as
/// `services[2]` or a query parameter) and `limit` the bound it broke, in the unit the
/// detail states. Extension members (RFC 9457 §3.2) carry the fields a compatible client
/// reads, e.g. cloudflaremon's `success`, `message` and `results` on a heartbeat answer.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct Problem {
    /// The problem code, sent as `"type": "urn:systole:problem:<code>"`.
    #[serde(rename = "type", serialize_with = "type_uri")]
    pub code: &'static str,
    /// Short summary of the problem type.
    pub title: &'static str,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong in this request.
    pub detail: String,
    /// The offending field or parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The limit that was exceeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// For 405: the methods the path allows (sent as the `Allow` header). A `Box<str>`, not
    /// a `String`, so a `Result<_, Problem>` stays small.
    #[serde(skip)]
    pub allow: Option<Box<str>>,
    /// For 429 and 503: seconds to wait (sent as `Retry-After`; a `u16` keeps the struct
    /// small).
    #[serde(skip)]
    pub retry_after: Option<u16>,
    /// Extension members, sent after the standard ones (names must not repeat theirs).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Box<Map<String, Value>>>,
}

fn type_uri<S: serde::Serializer>(code: &&'static str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("urn:systole:problem:{code}"))
}

impl Problem {
    fn new(code: &'static str, title: &'static str, status: u16, detail: impl Into<String>) -> Self {
        Self {
            code,
            title,
            status,
            detail: detail.into(),
            field: None,
            limit: None,
            allow: None,
            retry_after: None,
            extensions: None,
        }
    }

    /// This problem with the extension member `name` set to `value`.
    #[must_use]
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.extensions.get_or_insert_with(Default::default).insert(name.to_owned(), value.into());
        self
    }

    /// 400: a field has the wrong type, value or length; an empty `field` means the whole body.
    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let mut p = Self::new("invalid-field", "Invalid field", 400, detail);
        p.field = Some(field.into()).filter(|f| !f.is_empty());
        p
    }

    /// 400: a field is longer than `limit` bytes.
    pub fn too_long(field: &str, limit: usize, got: usize) -> Self {
        let mut p = Self::invalid_field(field, format!("{field} must be at most {limit} bytes, got {got}"));
        p.limit = u32::try_from(limit).ok();
        p
    }

    /// 400: the body is not JSON; `line` and `column` are 1-based.
    pub fn invalid_json(line: usize, column: usize, reason: &str) -> Self {
        Self::new(
            "invalid-json",
            "Invalid JSON",
            400,
            format!("invalid JSON at line {line}, column {column}: {reason}"),
        )
    }

    /// 413: the body exceeds `limit` bytes.
    pub fn payload_too_large(limit: usize) -> Self {
        let mut p = Self::new(
            "payload-too-large",
            "Payload too large",
            413,
            format!("request body must be at most {limit} bytes"),
        );
        p.limit = u32::try_from(limit).ok();
        p
    }

    /// 401: every heartbeat of a request was refused by its key check (unknown service,
    /// missing or wrong key); the standard members are always these, and
    /// [`heartbeat::answer`] adds the per-item results.
    pub fn unauthorized() -> Self {
        Self::new("unauthorized", "Unauthorized", 401, "missing or invalid heartbeat key")
    }

    /// 401 for the user APIs: no valid session or `Authorization: Bearer <user token>`.
    pub fn unauthenticated() -> Self {
        Self::new("unauthenticated", "Unauthenticated", 401, "sign in, or send Authorization: Bearer <user token>")
    }

    /// 401 for `POST /api/alert`: `ALERT_API_KEY` is set and the request did not present it.
    pub fn bad_alert_key() -> Self {
        Self::new(
            "unauthorized",
            "Unauthorized",
            401,
            "missing or invalid alert API key (Authorization: Bearer <key> or X-API-Key)",
        )
    }

    /// 503 for the alert endpoints while the `ALERT_API_KEY` secret is not set (and
    /// `settings.json` `api.allowAlertsWithoutKey` is off): alerts fail closed.
    pub fn alert_key_unset() -> Self {
        Self::new(
            "alert-key-unset",
            "Alert API key not set",
            503,
            format!(
                "the ALERT_API_KEY secret is not set, so no alert is accepted: set it (at least {} characters, \
                 e.g. `openssl rand -hex 24 | wrangler secret put ALERT_API_KEY`), or set settings.json \
                 api.allowAlertsWithoutKey to true to accept alerts from anyone",
                crate::keys::MIN_KEY_LEN
            ),
        )
    }

    /// 503 for the alert endpoints while the `ALERT_API_KEY` secret is shorter than
    /// [`crate::keys::MIN_KEY_LEN`] characters: no key is accepted until it is replaced.
    pub fn alert_key_weak() -> Self {
        Self::new(
            "alert-key-weak",
            "Alert API key too short",
            503,
            format!(
                "the ALERT_API_KEY secret is shorter than {} characters, so no alert is accepted: replace it with \
                 a longer one (e.g. `openssl rand -hex 24 | wrangler secret put ALERT_API_KEY`)",
                crate::keys::MIN_KEY_LEN
            ),
        )
    }

    /// 403: authenticated, but the role does not allow this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new("forbidden", "Forbidden", 403, detail)
    }

    /// 404: nothing at this path, or no such service.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new("not-found", "Not found", 404, detail)
    }

    /// 409: the request conflicts with what exists (a duplicate id, a declared service, a
    /// resume of a service that is not paused).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new("conflict", "Conflict", 409, detail)
    }

    /// 404 naming `serviceId`: no such service is configured.
    pub fn unknown_service(id: &str) -> Self {
        let mut p = Self::not_found(format!("no service {id:?} is configured"));
        p.field = Some("serviceId".into());
        p
    }

    /// 405: the path exists but not for this method.
    pub fn method_not_allowed(method: &str, allow: &str) -> Self {
        let mut p = Self::new(
            "method-not-allowed",
            "Method not allowed",
            405,
            format!("{method} is not allowed here; use {allow}"),
        );
        p.allow = Some(allow.into());
        p
    }

    /// 429: too many requests; try again after `retry_after` seconds (sent as
    /// `Retry-After`).
    pub fn rate_limited(detail: impl Into<String>, retry_after: u16) -> Self {
        let mut p = Self::new("rate-limited", "Too many requests", 429, detail);
        p.retry_after = Some(retry_after);
        p
    }

    /// 429 for a per-client-IP limit at the edge ([`crate::limit::PerIp`]): `what` (e.g.
    /// `sign-in attempts`) went over `limit.limit` per `limit.period_secs` s from this address.
    /// Carries cloudflaremon's `success: false` and `message` for the seed's paths' clients.
    pub fn too_many_from_ip(what: &str, limit: crate::limit::PerIp) -> Self {
        let detail = format!(
            "more than {} {what} per {} s from this address; retry after {} s",
            limit.limit, limit.period_secs, limit.period_secs
        );
        Self::rate_limited(detail, limit.period_secs).with("success", false).with("message", "Rate limit exceeded")
    }

    /// 503: try again after `retry_after` seconds.
    pub fn unavailable(detail: impl Into<String>, retry_after: u16) -> Self {
        let mut p = Self::new("unavailable", "Service unavailable", 503, detail);
        p.retry_after = Some(retry_after);
        p
    }

    /// The body as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

/// The body of `POST /api/v1/notifications/test`: `{"channel": name, "serviceId"?: id}`.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TestRequest {
    /// The channel's name (checked against the configuration by the caller).
    pub channel: String,
    /// The service the test message is about; a sample service when absent.
    pub service_id: Option<String>,
}

impl TestRequest {
    /// Parses the body.
    ///
    /// # Errors
    /// 400 `invalid-json` (with line and column) for a body that is not JSON; 400
    /// `invalid-field` naming the field (`channel`, `serviceId`, or an unknown one) that is
    /// missing, of the wrong type or not allowed, or without a field for a body that is not
    /// an object.
    pub fn parse(body: &[u8]) -> Result<Self, Problem> {
        heartbeat::typed(body)
    }
}
