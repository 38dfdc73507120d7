//! The cloudflaremon Worker's HTTP API (lai2301/cloudflaremon at `347d332`; `/api/logs` as
//! its first version `60ca92e` answered it): pure conversions from Systole's model to that
//! project's answers, byte-compatible where its clients look. The Worker's
//! `routes::cloudflaremon` reads D1 and calls these.
//!
//! - [`status`]: `GET /api/status`, computed at request time (the seed's cron summary).
//! - [`uptime`]: `GET /api/uptime`, one check per 5-minute rollup bucket.
//! - [`services`]: `GET /api/services`, the flat array of resolved services.
//! - [`logs`]: `GET /api/logs`, check results from heartbeats and status changes.
//! - [`alerts`]: `POST /api/alert` answers, `GET /api/alerts/recent` and
//!   `POST /api/test-notification`.
//!
//! # Vocabulary
//!
//! The seed's statuses are `up`, `down` and `unknown` (plus `degraded`, which its formulas
//! know but it never produces). [`seed_status`] maps ours onto them: `late` (the deadline
//! passed, inside the grace period the seed does not have) and `degraded` (a heartbeat
//! reported trouble) are `degraded`; `paused` is `unknown`. Each answer that carries a
//! status also carries ours as `systoleStatus`.
//!
//! # Switches, CORS and errors
//!
//! - Each endpoint is switched by `settings.json` `api` ([`Endpoint`]); a disabled one
//!   answers 403 with the seed's body ([`Endpoint::disabled_body`]).
//! - [`cors_origin`] is the seed's `allowedOrigins` rule; the Worker applies it to the read
//!   endpoints (these and `/api/v1`) and to `OPTIONS` preflights, and sends no CORS header to
//!   any other origin.
//! - Errors use the seed's three body shapes ([`ErrorShape`]).
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::macros::format_description;
use time::OffsetDateTime;

use crate::config::Api;
use crate::monitor::Status;
use crate::time::Timestamp;

pub mod alerts;
pub mod logs;
pub mod services;
pub mod status;
pub mod uptime;

/// `Cache-Control` of `/api/status` and `/api/uptime`, as the seed sends it (with
/// `Pragma: no-cache` and `Expires: 0`).
pub const NO_CACHE: &str = "no-cache, no-store, must-revalidate, max-age=0";
/// `Cache-Control` of `/api/alerts/recent`, as the seed sends it.
pub const NO_CACHE_ALERTS: &str = "no-cache, no-store, must-revalidate";
/// `Access-Control-Allow-Methods` of a preflight answer.
pub const PREFLIGHT_METHODS: &str = "GET, POST, OPTIONS";
/// `Access-Control-Allow-Headers` of a preflight answer.
pub const PREFLIGHT_HEADERS: &str = "Content-Type, Authorization";

/// One of the seed's endpoints that `settings.json` `api` switches.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Endpoint {
    /// `GET /api/status` (`enableStatusEndpoint`).
    Status,
    /// `GET /api/uptime` (`enableUptimeEndpoint`).
    Uptime,
    /// `GET /api/services` (`enableServicesEndpoint`).
    Services,
    /// `POST /api/heartbeat` (`enableHeartbeatEndpoint`).
    Heartbeat,
    /// `POST /api/alert` (`enableAlertEndpoint`).
    Alert,
    /// `GET /api/alerts/recent` (`enableAlertHistoryEndpoint`).
    AlertHistory,
    /// `POST /api/test-notification` (`enableTestNotificationEndpoint`, off by default).
    TestNotification,
}

impl Endpoint {
    /// Whether `api` enables this endpoint.
    pub fn enabled(self, api: &Api) -> bool {
        match self {
            Endpoint::Status => api.status,
            Endpoint::Uptime => api.uptime,
            Endpoint::Services => api.services,
            Endpoint::Heartbeat => api.heartbeat,
            Endpoint::Alert => api.alert,
            Endpoint::AlertHistory => api.alert_history,
            Endpoint::TestNotification => api.test_notification,
        }
    }

    /// The body of the 403 a disabled endpoint answers, word for word the seed's:
    /// `{"error": "<Name> API is disabled"}`.
    pub fn disabled_body(self) -> Value {
        let name = match self {
            Endpoint::Status => "Status",
            Endpoint::Uptime => "Uptime",
            Endpoint::Services => "Services",
            Endpoint::Heartbeat => "Heartbeat",
            Endpoint::Alert => "Alert",
            Endpoint::AlertHistory => "Alert history",
            Endpoint::TestNotification => "Test notification",
        };
        json!({ "error": format!("{name} API is disabled") })
    }
}

/// The seed's status word for one of ours (see the [module docs](self#vocabulary)).
pub fn seed_status(status: Status) -> &'static str {
    match status {
        Status::Up => "up",
        Status::Late | Status::Degraded => "degraded",
        Status::Down => "down",
        Status::Unknown | Status::Paused | Status::Maintenance => "unknown",
    }
}

/// The seed's error bodies, by endpoint.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum ErrorShape {
    /// `/api/status`, `/api/uptime`, `/api/services`, `/api/logs`: `{"error": message}`.
    Read,
    /// `/api/alert`, `/api/test-notification`: `{"success": false, "message": message}`.
    Alert,
    /// `/api/alerts/recent`: `{"success": false, "error": message, "alerts": [], "count": 0}`.
    Recent,
}

impl ErrorShape {
    /// The error body carrying `message`.
    pub fn body(self, message: &str) -> Value {
        match self {
            ErrorShape::Read => json!({ "error": message }),
            ErrorShape::Alert => json!({ "success": false, "message": message }),
            ErrorShape::Recent => json!({ "success": false, "error": message, "alerts": [], "count": 0 }),
        }
    }
}

/// The origin to allow for a request from `origin` (its `Origin` header): that origin when
/// `allowed` (`settings.json` `allowedOrigins`) lists it exactly or holds `"*"`; `None`
/// otherwise, and always without an `Origin`. The answer echoes the origin, never a literal
/// `*`, and adds `Vary: Origin` (seed §3.1).
pub fn cors_origin<'a>(allowed: &[String], origin: Option<&'a str>) -> Option<&'a str> {
    origin.filter(|o| !o.is_empty() && allowed.iter().any(|a| a == "*" || a == o))
}

/// A time as the seed's runtime prints `Date.toLocaleString()` (UTC, en-US):
/// `11/10/2025, 12:00:00 PM`; the raw milliseconds outside the calendar's range.
pub fn locale_time(t: Timestamp) -> String {
    let format = format_description!(
        "[month padding:none]/[day padding:none]/[year], [hour repr:12 padding:none]:[minute]:[second] [period]"
    );
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.as_millis()) * 1_000_000)
        .ok()
        .and_then(|dt| dt.format(format).ok())
        .unwrap_or_else(|| t.as_millis().to_string())
}

/// A status change, as the seed's history and logs show it. Built by the Worker from a D1
/// `status_changes` row and the last heartbeat before it.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Change {
    /// The service.
    pub service_id: String,
    /// When it changed.
    pub at: Timestamp,
    /// The change's per-service sequence number.
    pub seq: i64,
    /// The status before.
    pub from: Status,
    /// The status after.
    pub to: Status,
    /// The newest heartbeat at or before the change, if one is still stored.
    pub last_seen: Option<Timestamp>,
}

/// A JSON number as JavaScript prints it: whole values without a fraction (`24`, not
/// `24.0`); `NaN` and infinities (which JSON cannot hold) as `null`.
pub fn js_number(v: f64) -> Value {
    // Whole values within 2^53 are exactly representable as i64.
    if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        json!(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

/// [`js_number`] as a serde `serialize_with`, for `f64` fields.
fn js_f64<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    js_number(*v).serialize(s)
}

/// [`js_number`] as a serde `serialize_with`, for `Option<f64>` fields.
fn js_option<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    v.map_or(Value::Null, js_number).serialize(s)
}

/// A stable `alert:<ms>:<9 base-36 characters>` id, the seed's shape: the characters come
/// from a hash of `parts` instead of randomness, so the same item keeps its id.
fn alert_id(at: Timestamp, parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for p in parts {
        hash.update((p.len() as u64).to_be_bytes());
        hash.update(p.as_bytes());
    }
    let digest = hash.finalize();
    let mut n = digest.iter().take(8).fold(0u64, |n, b| (n << 8) | u64::from(*b));
    let mut suffix = [b'0'; 9];
    for c in suffix.iter_mut().rev() {
        let d = u8::try_from(n % 36).unwrap_or(0);
        *c = if d < 10 { b'0' + d } else { b'a' + d - 10 };
        n /= 36;
    }
    format!("alert:{}:{}", at.as_millis(), String::from_utf8_lossy(&suffix))
}

/// The `serviceId` query parameter of the seed's read endpoints (`/api/uptime`,
/// `/api/logs`): the first non-empty one.
///
/// # Errors
/// The seed's 400 message `serviceId parameter required`.
pub fn service_id(pairs: &[(String, String)]) -> Result<String, String> {
    pairs
        .iter()
        .find(|(k, v)| k == "serviceId" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .ok_or_else(|| "serviceId parameter required".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn disabled_endpoints_answer_the_seeds_bodies() {
        let bodies: Vec<String> = [
            Endpoint::Heartbeat,
            Endpoint::Alert,
            Endpoint::AlertHistory,
            Endpoint::Status,
            Endpoint::Uptime,
            Endpoint::TestNotification,
            Endpoint::Services,
        ]
        .iter()
        .map(|e| e.disabled_body().to_string())
        .collect();
        assert_eq!(
            bodies,
            [
                r#"{"error":"Heartbeat API is disabled"}"#,
                r#"{"error":"Alert API is disabled"}"#,
                r#"{"error":"Alert history API is disabled"}"#,
                r#"{"error":"Status API is disabled"}"#,
                r#"{"error":"Uptime API is disabled"}"#,
                r#"{"error":"Test notification API is disabled"}"#,
                r#"{"error":"Services API is disabled"}"#,
            ]
        );
        let api = Api::default();
        assert!(Endpoint::Status.enabled(&api) && !Endpoint::TestNotification.enabled(&api));
        let off = Api { uptime: false, ..Api::default() };
        assert!(!Endpoint::Uptime.enabled(&off));
    }

    #[test]
    fn our_statuses_map_onto_the_seeds_words() {
        let words: Vec<&str> = Status::ALL.iter().map(|s| seed_status(*s)).collect();
        assert_eq!(words, ["up", "degraded", "degraded", "down", "unknown", "unknown", "unknown"]);
    }

    #[test]
    fn cors_allows_listed_origins_and_the_wildcard_only() {
        let list = vec!["https://ops.example.com".to_owned()];
        assert_eq!(cors_origin(&list, Some("https://ops.example.com")), Some("https://ops.example.com"));
        assert_eq!(cors_origin(&list, Some("https://evil.example.com")), None);
        assert_eq!(cors_origin(&list, None), None);
        assert_eq!(cors_origin(&[], Some("https://ops.example.com")), None, "the default allows nobody");
        let any = vec!["*".to_owned()];
        assert_eq!(cors_origin(&any, Some("http://localhost:3000")), Some("http://localhost:3000"), "echoed");
    }

    #[test]
    fn error_shapes_and_numbers_are_the_seeds() {
        assert_eq!(ErrorShape::Read.body("x").to_string(), r#"{"error":"x"}"#);
        assert_eq!(ErrorShape::Alert.body("x").to_string(), r#"{"message":"x","success":false}"#);
        assert_eq!(ErrorShape::Recent.body("x")["count"], 0);
        assert_eq!((js_number(24.0).to_string(), js_number(97.22).to_string()), ("24".into(), "97.22".into()));
        assert_eq!(js_number(f64::NAN), Value::Null);
    }

    #[test]
    fn times_print_as_the_seeds_runtime_locale() {
        let t = Timestamp::parse_rfc3339("2025-11-10T12:00:00.000Z").unwrap();
        assert_eq!(locale_time(t), "11/10/2025, 12:00:00 PM");
        let t = Timestamp::parse_rfc3339("2025-01-02T00:05:09.000Z").unwrap();
        assert_eq!(locale_time(t), "1/2/2025, 12:05:09 AM");
        let t = Timestamp::parse_rfc3339("2025-07-04T23:59:59.999Z").unwrap();
        assert_eq!(locale_time(t), "7/4/2025, 11:59:59 PM");
    }

    #[test]
    fn alert_ids_have_the_seeds_shape_and_are_stable() {
        let id = alert_id(Timestamp::from_millis(1_762_776_060_123), &["api", "7"]);
        assert_eq!(id, alert_id(Timestamp::from_millis(1_762_776_060_123), &["api", "7"]));
        let (prefix, suffix) = id.rsplit_once(':').unwrap();
        assert_eq!(prefix, "alert:1762776060123");
        assert!(suffix.len() == 9 && suffix.chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()), "{id}");
        assert_ne!(id, alert_id(Timestamp::from_millis(1_762_776_060_123), &["api", "8"]));
    }
}
