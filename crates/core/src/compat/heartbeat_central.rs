//! Heartbeat Central's API (seed 003), translated onto Systole's managed services, so its
//! senders and scripts keep working by changing only the host.
//!
//! Its routes, as it documents them: `POST /heartbeat/{uuid}`; `GET`/`POST /api/applications`;
//! `GET`/`PUT`/`DELETE /api/applications/{id}`; `GET /api/applications/{id}/heartbeats`;
//! `GET /health`. An *application* is a managed service:
//!
//! | Heartbeat Central | Systole |
//! | --- | --- |
//! | `id` (integer) | the service id `hc-{id}` ([`service_id`]) |
//! | `uuid` | the service's `pingId` |
//! | `name` | `name` |
//! | `expected_interval` (s) | `stalenessThreshold` (s) |
//! | `grace_period` (s, default 0) | `gracePeriod` (s) |
//! | `is_active` (default `true`) | not paused |
//! | `last_heartbeat`, `created_at`, `updated_at` | the service's last heartbeat, creation and last change |
//!
//! Its answers, as its Flask app writes them (`jsonify`, keys sorted): an application is
//! `{"created_at", "expected_interval", "grace_period", "id", "is_active", "last_heartbeat",
//! "name", "updated_at", "uuid"}` with times as Python's `datetime.isoformat()` of a naive
//! time (`2025-11-21T19:33:20.123000`, no zone; here always UTC, see [`iso`]); a heartbeat is
//! `{"application_id", "id", "received_at"}`; errors are `{"error": "…"}`. A request body that
//! Heartbeat Central would store blindly (and fail on with a 500) is refused here with a 400
//! naming the field, in the same `{"error"}` shape.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use serde_json::{json, Map, Value};

use crate::time::Timestamp;

/// The content type of every JSON answer (Flask's `jsonify`).
pub const CONTENT_TYPE: &str = "application/json";

/// The prefix of the id of a service that is Heartbeat Central application `n`: `hc-{n}`.
pub const ID_PREFIX: &str = "hc-";

/// Heartbeat Central's `name` column: `String(100)`.
pub const MAX_NAME: usize = 100;

/// The answer to a heartbeat for an unknown uuid, and to any route naming an unknown
/// application.
pub const NOT_FOUND: &str = "Application not found";

/// The answer to a heartbeat for an application that is not active (a paused service).
pub const NOT_ACTIVE: &str = "Application is not active";

/// Heartbeats listed per page when `per_page` is absent (Heartbeat Central's default).
pub const DEFAULT_PER_PAGE: u32 = 50;

/// The most heartbeats listed per page (Flask-SQLAlchemy's `max_per_page`).
pub const MAX_PER_PAGE: u32 = 100;

/// Heartbeats `GET /api/applications/{id}` lists as `recent_heartbeats`.
pub const RECENT: u32 = 10;

/// The service id of application `id`: `hc-{id}`.
pub fn service_id(id: u64) -> String {
    format!("{ID_PREFIX}{id}")
}

/// The application id of a service id written by [`service_id`]; `None` for any other
/// service (they are not Heartbeat Central applications).
pub fn app_id(service_id: &str) -> Option<u64> {
    let digits = service_id.strip_prefix(ID_PREFIX)?;
    let canonical = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    canonical.then(|| digits.parse().ok()).flatten()
}

/// The application id in a URL path segment, as Flask's `<int:app_id>` converter reads it:
/// ASCII digits only (no sign, no leading zeros but `0` itself); `None` answers 404.
pub fn path_id(segment: &str) -> Option<u64> {
    let digits = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
    let canonical = segment == "0" || !segment.starts_with('0');
    (digits && canonical).then(|| segment.parse().ok()).flatten()
}

/// The uuid in `POST /heartbeat/{uuid}`, as Flask's `<uuid:…>` converter reads it: 32 hex
/// digits in groups of 8-4-4-4-12, any case; returned lower-case (how Heartbeat Central
/// stores and compares it). `None` answers 404.
pub fn path_uuid(segment: &str) -> Option<String> {
    let groups: Vec<&str> = segment.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let hex = segment.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit());
    (hex && lengths == [8, 4, 4, 4, 12]).then(|| segment.to_ascii_lowercase())
}

/// `at` as Python's `datetime.isoformat()` writes a naive time: `YYYY-MM-DDTHH:MM:SS`, then
/// `.ffffff` (microseconds) unless they are zero. Heartbeat Central writes its server's local
/// time; Systole writes UTC.
pub fn iso(at: Timestamp) -> String {
    let rfc = at.to_rfc3339();
    // `to_rfc3339` is `YYYY-MM-DDTHH:MM:SS.mmmZ`: the first 19 bytes are the seconds.
    let seconds = rfc.get(..19).unwrap_or(&rfc);
    match at.as_millis().rem_euclid(1000) {
        0 => seconds.to_owned(),
        ms => format!("{seconds}.{:06}", ms * 1000),
    }
}

/// An `{"error": message}` body.
pub fn error(message: &str) -> Value {
    json!({ "error": message })
}

/// `GET /health`: `{"status": "healthy", "timestamp": iso(now)}`.
pub fn health(now: Timestamp) -> Value {
    json!({ "status": "healthy", "timestamp": iso(now) })
}

/// `POST /heartbeat/{uuid}`'s 200 answer: `{"application": name, "status": "ok",
/// "timestamp": iso(at)}`.
pub fn accepted(name: &str, at: Timestamp) -> Value {
    json!({ "status": "ok", "application": name, "timestamp": iso(at) })
}

/// An application as Systole knows it: what its answers are made of.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Application {
    /// Its integer id.
    pub id: u64,
    /// The service's `pingId`.
    pub uuid: String,
    /// The service's name.
    pub name: String,
    /// The staleness threshold, in seconds.
    pub expected_interval: u64,
    /// The grace period, in seconds.
    pub grace_period: u64,
    /// When its last heartbeat arrived, if ever.
    pub last_heartbeat: Option<Timestamp>,
    /// Whether it is monitored (not paused).
    pub is_active: bool,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Option<Timestamp>,
}

impl Application {
    /// The application a managed service's entry (the management API's JSON: `id`, `name`,
    /// `stalenessThreshold` and `gracePeriod` in seconds, `paused`, `pingId`, `createdAt` and
    /// `updatedAt` in epoch ms) describes, with its last heartbeat; `None` for a service that
    /// is no application (an id not written by [`service_id`], or no ping id).
    pub fn from_entry(entry: &Value, last_heartbeat: Option<Timestamp>) -> Option<Self> {
        let id = app_id(entry.get("id")?.as_str()?)?;
        let time = |key: &str| entry.get(key).and_then(Value::as_i64).map(Timestamp::from_millis);
        let secs = |key: &str| entry.get(key).and_then(Value::as_u64).unwrap_or(0);
        Some(Self {
            id,
            uuid: entry.get("pingId")?.as_str()?.to_owned(),
            name: entry.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
            expected_interval: secs("stalenessThreshold"),
            grace_period: secs("gracePeriod"),
            last_heartbeat,
            is_active: !entry.get("paused").and_then(Value::as_bool).unwrap_or(false),
            created_at: time("createdAt"),
            updated_at: time("updatedAt"),
        })
    }

    /// Its JSON, as `Application.to_dict()` writes it.
    pub fn to_json(&self) -> Value {
        let time = |t: Option<Timestamp>| t.map_or(Value::Null, |t| Value::String(iso(t)));
        json!({
            "id": self.id,
            "uuid": self.uuid,
            "name": self.name,
            "expected_interval": self.expected_interval,
            "grace_period": self.grace_period,
            "last_heartbeat": time(self.last_heartbeat),
            "is_active": self.is_active,
            "created_at": time(self.created_at),
            "updated_at": time(self.updated_at),
        })
    }

    /// Whether it is overdue at `now`, as Heartbeat Central decides: its last heartbeat (or,
    /// before any, its creation) is at least `expected_interval + grace_period` old.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        let window = self.expected_interval.saturating_add(self.grace_period).saturating_mul(1000);
        let window = i64::try_from(window).unwrap_or(i64::MAX);
        match self.last_heartbeat.or(self.created_at) {
            Some(since) => since.as_millis() <= now.as_millis().saturating_sub(window),
            None => false,
        }
    }

    /// `GET /api/applications/{id}`: [`to_json`](Self::to_json) with `is_overdue` and
    /// `recent_heartbeats` (the newest [`RECENT`] heartbeats, newest first, each as
    /// [`heartbeat`] writes it).
    pub fn detail(&self, now: Timestamp, recent: &[(i64, Timestamp)]) -> Value {
        let mut v = self.to_json();
        if let Value::Object(map) = &mut v {
            map.insert("is_overdue".to_owned(), Value::Bool(self.is_overdue(now)));
            let beats = recent.iter().map(|(id, at)| heartbeat(*id, self.id, *at)).collect();
            map.insert("recent_heartbeats".to_owned(), Value::Array(beats));
        }
        v
    }
}

/// One heartbeat: `{"application_id", "id", "received_at"}`.
pub fn heartbeat(id: i64, application_id: u64, received_at: Timestamp) -> Value {
    json!({ "id": id, "application_id": application_id, "received_at": iso(received_at) })
}

/// `GET /api/applications/{id}/heartbeats`'s page: `{"current_page", "heartbeats",
/// "pages", "total"}`, `pages` being `total / per_page` rounded up.
pub fn heartbeat_page(application_id: u64, page: &Page, beats: &[(i64, Timestamp)], total: u64) -> Value {
    let per_page = u64::from(page.per_page);
    let heartbeats: Vec<Value> = beats.iter().map(|(id, at)| heartbeat(*id, application_id, *at)).collect();
    json!({
        "heartbeats": heartbeats,
        "total": total,
        "pages": total.div_ceil(per_page),
        "current_page": page.page,
    })
}

/// The `page` and `per_page` query of the heartbeat history.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Page {
    /// 1-based page number.
    pub page: u32,
    /// Heartbeats per page, 1..=[`MAX_PER_PAGE`].
    pub per_page: u32,
}

impl Page {
    /// Reads `page` (default 1) and `per_page` (default [`DEFAULT_PER_PAGE`]) as Flask's
    /// `request.args.get(…, type=int)` does: a value that is not an integer is the default.
    /// A page below 1 is 1; `per_page` is kept within 1..=[`MAX_PER_PAGE`].
    pub fn parse(query: &[(String, String)]) -> Self {
        let int = |name: &str| query.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.trim().parse::<i64>().ok());
        let page = int("page").unwrap_or(1).clamp(1, i64::from(u32::MAX));
        let per_page = int("per_page").unwrap_or(i64::from(DEFAULT_PER_PAGE)).clamp(1, i64::from(MAX_PER_PAGE));
        Self { page: u32::try_from(page).unwrap_or(1), per_page: u32::try_from(per_page).unwrap_or(DEFAULT_PER_PAGE) }
    }

    /// How many heartbeats precede this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }
}

/// What a `POST /api/applications` or `PUT /api/applications/{id}` body sets; `None`: left
/// as it is (`PUT`) or the default (`POST`: `grace_period` 0, `is_active` true).
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Fields {
    /// `name`: 1..=100 characters, not blank.
    pub name: Option<String>,
    /// `expected_interval`, seconds: a positive integer.
    pub expected_interval: Option<u64>,
    /// `grace_period`, seconds: an integer ≥ 0.
    pub grace_period: Option<u64>,
    /// `is_active`: a boolean.
    pub is_active: Option<bool>,
}

/// A refused body: the status and the `{"error"}` message.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    /// 400, or 413 for a body over the limit.
    pub status: u16,
    /// The message, naming the field.
    pub message: String,
}

impl Refused {
    fn bad(message: impl Into<String>) -> Self {
        Self { status: 400, message: message.into() }
    }
}

impl Fields {
    /// Parses a `POST /api/applications` body: `name` and `expected_interval` required.
    ///
    /// # Errors
    /// [`Refused`] 400: not a JSON object, or without `name` or `expected_interval`
    /// (`"Name and expected_interval are required"`, Heartbeat Central's words), or a field
    /// of the wrong type or range (`"expected_interval: must be a positive integer of
    /// seconds, got \"5m\""`).
    pub fn create(body: &[u8]) -> Result<Self, Refused> {
        let map = object(body)?;
        if !map.contains_key("name") || !map.contains_key("expected_interval") {
            return Err(Refused::bad("Name and expected_interval are required"));
        }
        Self::read(&map)
    }

    /// Parses a `PUT /api/applications/{id}` body: every field optional.
    ///
    /// # Errors
    /// [`Refused`] 400: not a JSON object, an empty one (`"No data provided"`, Heartbeat
    /// Central's words), or a field of the wrong type or range.
    pub fn update(body: &[u8]) -> Result<Self, Refused> {
        let map = object(body)?;
        if map.is_empty() {
            return Err(Refused::bad("No data provided"));
        }
        Self::read(&map)
    }

    fn read(map: &Map<String, Value>) -> Result<Self, Refused> {
        let mut problems = Vec::new();
        let mut fields = Fields::default();
        for (key, value) in map {
            match key.as_str() {
                "name" => match value.as_str().map(str::trim) {
                    Some(n) if !n.is_empty() && n.chars().count() <= MAX_NAME => fields.name = Some(n.to_owned()),
                    _ => problems.push(format!(
                        "name: must be a non-blank string of at most {MAX_NAME} characters, got {value}"
                    )),
                },
                "expected_interval" => match value.as_u64() {
                    Some(s) if s > 0 => fields.expected_interval = Some(s),
                    _ => {
                        problems.push(format!("expected_interval: must be a positive integer of seconds, got {value}"))
                    }
                },
                "grace_period" => match value.as_u64() {
                    Some(s) => fields.grace_period = Some(s),
                    None => problems.push(format!("grace_period: must be an integer of seconds ≥ 0, got {value}")),
                },
                "is_active" => match value.as_bool() {
                    Some(b) => fields.is_active = Some(b),
                    None => problems.push(format!("is_active: must be true or false, got {value}")),
                },
                // Heartbeat Central ignores other keys (`id`, `uuid`, times sent back): so do we.
                _ => {}
            }
        }
        if problems.is_empty() {
            Ok(fields)
        } else {
            Err(Refused::bad(problems.join("; ")))
        }
    }

    /// The native service fields these set, as a JSON object for the management API's
    /// parser (`POST`/`PUT /api/v1/services`): `name`, `stalenessThreshold` and
    /// `gracePeriod` (seconds); `is_active` is a pause, not a field.
    pub fn native(&self) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(n) = &self.name {
            out.insert("name".to_owned(), Value::from(n.as_str()));
        }
        if let Some(s) = self.expected_interval {
            out.insert("stalenessThreshold".to_owned(), Value::from(s));
        }
        if let Some(s) = self.grace_period {
            out.insert("gracePeriod".to_owned(), Value::from(s));
        }
        out
    }
}

/// The body as a JSON object.
fn object(body: &[u8]) -> Result<Map<String, Value>, Refused> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Refused::bad("No data provided"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Refused::bad(format!("the body must be a JSON object, got {other}"))),
        Err(e) => Err(Refused::bad(format!("the body is not JSON: {e}"))),
    }
}

/// A native validation problem's message with Heartbeat Central's field names:
/// `stalenessThreshold` → `expected_interval`, `gracePeriod` → `grace_period`, with any
/// path before the field (`services[0].`) removed.
pub fn translate(problem: &str) -> String {
    let mut text = problem.to_owned();
    for (native, theirs) in [("stalenessThreshold", "expected_interval"), ("gracePeriod", "grace_period")] {
        text = text.replace(native, theirs);
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(1_763_753_600_123);

    fn app() -> Application {
        Application {
            id: 7,
            uuid: "0f8fad5b-d9cb-469f-a165-70867728950e".to_owned(),
            name: "Nightly backup".to_owned(),
            expected_interval: 60,
            grace_period: 30,
            last_heartbeat: Some(Timestamp::from_millis(1_763_753_500_000)),
            is_active: true,
            created_at: Some(Timestamp::from_millis(1_763_750_000_000)),
            updated_at: Some(Timestamp::from_millis(1_763_750_000_500)),
        }
    }

    #[test]
    fn applications_are_written_as_heartbeat_central_writes_them() {
        assert_eq!(
            app().to_json().to_string(),
            r#"{"created_at":"2025-11-21T18:33:20","expected_interval":60,"grace_period":30,"id":7,"is_active":true,"last_heartbeat":"2025-11-21T19:31:40","name":"Nightly backup","updated_at":"2025-11-21T18:33:20.500000","uuid":"0f8fad5b-d9cb-469f-a165-70867728950e"}"#,
            "keys sorted as jsonify sorts them; isoformat drops zero microseconds"
        );
        let never = Application { last_heartbeat: None, ..app() };
        assert_eq!(never.to_json()["last_heartbeat"], Value::Null);
        assert_eq!(health(NOW), json!({"status": "healthy", "timestamp": "2025-11-21T19:33:20.123000"}));
        assert_eq!(
            accepted("Nightly backup", NOW),
            json!({"status": "ok", "application": "Nightly backup", "timestamp": "2025-11-21T19:33:20.123000"})
        );
        assert_eq!(error(NOT_FOUND).to_string(), r#"{"error":"Application not found"}"#);
    }

    #[test]
    fn a_managed_services_entry_reads_as_an_application() {
        let entry = json!({
            "id": "hc-7", "name": "Nightly backup", "group": null, "enabled": true, "stalenessThreshold": 60,
            "gracePeriod": 30, "kind": "managed", "paused": false, "pingId": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "createdAt": 1_763_750_000_000_i64, "createdBy": "heartbeat-central", "updatedAt": 1_763_750_000_500_i64,
        });
        let last = Some(Timestamp::from_millis(1_763_753_500_000));
        assert_eq!(Application::from_entry(&entry, last), Some(app()));
        let mut paused = entry.clone();
        paused["paused"] = json!(true);
        assert!(!Application::from_entry(&paused, last).unwrap().is_active);
        let mut other = entry.clone();
        other["id"] = json!("api-prod");
        assert_eq!(Application::from_entry(&other, last), None, "not one of Heartbeat Central's");
        let mut declared = entry;
        declared.as_object_mut().unwrap().remove("pingId");
        assert_eq!(Application::from_entry(&declared, last), None);
    }

    #[test]
    fn an_application_is_overdue_once_interval_and_grace_have_passed() {
        let a = app(); // last heartbeat 19:31:40, window 90 s: overdue from 19:33:10.
        assert!(!a.is_overdue(Timestamp::from_millis(1_763_753_589_999)));
        assert!(a.is_overdue(Timestamp::from_millis(1_763_753_590_000)));
        let fresh = Application { last_heartbeat: None, created_at: Some(NOW), ..app() };
        assert!(!fresh.is_overdue(NOW), "before any heartbeat, counted from its creation");
        let d = a.detail(NOW, &[(12, Timestamp::from_millis(1_763_753_500_000))]);
        assert_eq!(d["is_overdue"], true);
        assert_eq!(
            d["recent_heartbeats"],
            json!([{"id": 12, "application_id": 7, "received_at": "2025-11-21T19:31:40"}])
        );
        assert_eq!(d["name"], "Nightly backup");
    }

    #[test]
    fn ids_and_uuids_are_read_as_flask_converters_read_them() {
        assert_eq!(path_id("42"), Some(42));
        assert_eq!(path_id("0"), Some(0));
        for bad in ["", "-1", "+1", "042", "4a", "1.0", "99999999999999999999999"] {
            assert_eq!(path_id(bad), None, "{bad}");
        }
        assert_eq!(service_id(42), "hc-42");
        assert_eq!(app_id("hc-42"), Some(42));
        for other in ["api", "hc-", "hc-042", "hc-4x", "HC-4"] {
            assert_eq!(app_id(other), None, "{other}");
        }
        assert_eq!(
            path_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E").as_deref(),
            Some("0f8fad5b-d9cb-469f-a165-70867728950e")
        );
        for bad in [
            "0f8fad5bd9cb469fa16570867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950",
            "x",
            "0f8fad5b-d9cb-469f-a165-7086772895zz",
        ] {
            assert_eq!(path_uuid(bad), None, "{bad}");
        }
    }

    #[test]
    fn create_and_update_bodies_are_checked_field_by_field() {
        let f = Fields::create(br#"{"name": " Backup ", "expected_interval": 3600, "grace_period": 300, "uuid": "x"}"#)
            .unwrap();
        assert_eq!(
            f,
            Fields {
                name: Some("Backup".into()),
                expected_interval: Some(3600),
                grace_period: Some(300),
                is_active: None
            }
        );
        assert_eq!(
            Value::Object(f.native()),
            json!({"name": "Backup", "stalenessThreshold": 3600, "gracePeriod": 300})
        );
        let refused = |r: Result<Fields, Refused>| r.unwrap_err().message;
        assert_eq!(refused(Fields::create(br#"{"name": "a"}"#)), "Name and expected_interval are required");
        assert_eq!(refused(Fields::create(b"")), "No data provided");
        assert_eq!(refused(Fields::create(b"[1]")), "the body must be a JSON object, got [1]");
        assert!(refused(Fields::create(b"{nope")).starts_with("the body is not JSON: "));
        assert_eq!(
            refused(Fields::create(br#"{"name": "", "expected_interval": "5m", "grace_period": -1, "is_active": 1}"#)),
            "expected_interval: must be a positive integer of seconds, got \"5m\"; grace_period: must be an integer \
             of seconds ≥ 0, got -1; is_active: must be true or false, got 1; name: must be a non-blank string of at \
             most 100 characters, got \"\""
        );
        assert_eq!(refused(Fields::update(b"{}")), "No data provided");
        assert_eq!(Fields::update(br#"{"is_active": false}"#).unwrap().is_active, Some(false));
        assert!(Fields::update(br#"{"is_active": false}"#).unwrap().native().is_empty());
        assert_eq!(translate("stalenessThreshold: must be ≥ 10 s, got 5"), "expected_interval: must be ≥ 10 s, got 5");
    }

    #[test]
    fn heartbeat_pages_read_the_query_as_flask_does() {
        let q = |pairs: &[(&str, &str)]| {
            Page::parse(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>())
        };
        assert_eq!(q(&[]), Page { page: 1, per_page: 50 });
        assert_eq!(q(&[("page", "3"), ("per_page", "2")]), Page { page: 3, per_page: 2 });
        assert_eq!(q(&[("page", "x"), ("per_page", "1000")]), Page { page: 1, per_page: 100 });
        assert_eq!(q(&[("page", "-4"), ("per_page", "0")]), Page { page: 1, per_page: 1 });
        assert_eq!(q(&[("page", "3"), ("per_page", "2")]).offset(), 4);
        let page =
            heartbeat_page(7, &q(&[("per_page", "2")]), &[(5, NOW), (4, Timestamp::from_millis(1_763_753_000_000))], 5);
        assert_eq!(
            page,
            json!({
                "heartbeats": [
                    {"id": 5, "application_id": 7, "received_at": "2025-11-21T19:33:20.123000"},
                    {"id": 4, "application_id": 7, "received_at": "2025-11-21T19:23:20"}
                ],
                "total": 5, "pages": 3, "current_page": 1
            })
        );
        assert_eq!(heartbeat_page(7, &q(&[]), &[], 0)["pages"], 0);
    }
}
