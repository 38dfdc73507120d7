//! External alerts (`POST /api/v1/alerts`, and the cloudflaremon seed's `POST /api/alert`): a
//! request body from Prometheus Alertmanager, Grafana or any sender, parsed into
//! [`ExternalAlert`]s that become [`Notification`]s.
//!
//! Pure: the Worker checks the body size, authenticates, reads the `channel`/`channels`
//! query parameters, calls [`parse`] (or [`parse_as`] with the seed's [`Dialect`]), and routes
//! each alert's [`ExternalAlert::notification`] like any other
//! [`Event::Alert`](crate::notify::Event::Alert) notification.
//!
//! # Formats and how one is recognised
//!
//! A body with an `alerts` key is a grouped notification: **Alertmanager** when its `version`
//! is `"4"`, else **Grafana** when it has a top-level `orgId`, `state` or `title`, else
//! Alertmanager. A body without `alerts` is **legacy Grafana** (the pre-8 webhook) when it has
//! `evalMatches`, or both `state` and `ruleName`; otherwise it is the **generic** form:
//!
//! ```json
//! {"title": "Disk almost full", "message": "/var is 97 % full", "severity": "error",
//!  "source": "backup-host", "labels": {"disk": "/var"}, "annotations": {},
//!  "channels": ["ops"], "status": "firing", "fingerprint": "disk-var"}
//! ```
//!
//! `title` and `message` are required; `severity` is one of `critical`, `error`, `warning`
//! (default), `info`; `source` defaults to `external`; `status` is `firing` (default) or
//! `resolved`; `channels` (array) or `channel` (string) name channels by name or type.
//! Fields not described here are ignored in every format.
//!
//! Legacy Grafana (`{"ruleName", "ruleId", "ruleUrl", "state", "title", "message",
//! "imageUrl", "evalMatches", "tags"}`, as cloudflaremon reads it): `title` (else `ruleName`,
//! else `Grafana Alert`), `message` (else `No message`); `state: alerting` is a critical
//! firing alert, `ok` an `info` resolution, anything else (`no_data`, `paused`, `pending`) a
//! firing warning; `source` is `grafana`; the labels are `tags` plus `ruleName` and `ruleId`,
//! so an alert and its `ok` share a fingerprint; the link is `ruleUrl`.
//!
//! # Channels named in the body
//!
//! Besides the generic form's `channels`, a comma-separated `channels` names channels in the
//! other formats: Alertmanager's and Grafana's first alert's `labels.channels` (else its
//! `annotations.channels`), legacy Grafana's `tags.channels` (cloudflaremon's routing). The
//! shell falls back on the query string's `channel`/`channels`, then on severity routing.
//!
//! # Dialects
//!
//! [`Dialect::Systole`] (`/api/v1/alerts`) is strict about the generic form.
//! [`Dialect::Cloudflaremon`] (`/api/alert`) reads it as that seed does: any `severity`
//! word is accepted ([`severity_from_label`], so `ok` is `info` and an unknown word
//! `warning`), an unknown `status` is `firing`, `channels` may be one string, and a body with
//! no `title` or no `message` (missing, blank or not text) is the seed's "unsupported alert
//! format" ([`UNSUPPORTED`]).
//!
//! Wire formats: Alertmanager webhook payload version 4
//! (prometheus.io/docs/alerting/latest/configuration/#webhook_config); Grafana's webhook
//! contact point (grafana.com/docs/grafana/latest/alerting/configure-notifications/
//! manage-contact-points/integrations/webhook-notifier/).
//!
//! # Limits
//!
//! Senders such as Alertmanager cannot change what they send, so over-long text is cut
//! (ending with `…`, never inside a character) rather than rejected: titles to
//! [`MAX_TITLE`], messages to [`MAX_MESSAGE`], label and annotation values to [`MAX_VALUE`],
//! `source` to [`MAX_SOURCE`] characters; URLs over [`MAX_URL`] are dropped. Structure that
//! cannot be cut meaningfully is a 400: more than [`MAX_ALERTS`] alerts, more than
//! [`MAX_PAIRS`] labels or annotations on one alert, a label or annotation name over
//! [`MAX_KEY`] characters, a fingerprint over [`MAX_FINGERPRINT`] characters, more than
//! [`MAX_CHANNELS`] channels.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

mod fields;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use self::fields::{kind, At};
use crate::api::heartbeat::syntax_problem;
use crate::api::Problem;
use crate::monitor::Status;
use crate::notify::config::{self, MAX_NAME};
use crate::notify::message::{AlertDetails, Notification, Subject};
use crate::notify::text::{fit, Unit};
use crate::notify::vocab::{AlertState, Severity};
use crate::time::Timestamp;

/// Largest request body accepted, in bytes (1 MiB); larger bodies are a 413.
pub const MAX_BODY: usize = 1 << 20;
/// Most alerts in one request.
pub const MAX_ALERTS: usize = 1000;
/// Longest title kept, in characters; longer ones are cut.
pub const MAX_TITLE: usize = 256;
/// Longest message kept, in characters; longer ones are cut.
pub const MAX_MESSAGE: usize = 4096;
/// Most labels, and separately most annotations, on one alert.
pub const MAX_PAIRS: usize = 64;
/// Longest label or annotation name accepted, in characters.
pub const MAX_KEY: usize = 128;
/// Longest label or annotation value kept, in characters; longer ones are cut.
pub const MAX_VALUE: usize = 1024;
/// Longest generic `source` kept, in characters; longer ones are cut.
pub const MAX_SOURCE: usize = 128;
/// Longest `fingerprint` accepted, in characters.
pub const MAX_FINGERPRINT: usize = 128;
/// Longest URL kept, in bytes; longer ones are dropped.
pub const MAX_URL: usize = 2048;
/// Most entries in a generic body's `channels`.
pub const MAX_CHANNELS: usize = 32;

/// The detail of cloudflaremon's 400 for a body in no format it knows, word for word.
pub const UNSUPPORTED: &str = "Unsupported alert format. Use Alertmanager, Grafana, or generic format.";

/// The format of a request body. JSON: the lower-case word (`grafana-legacy` for
/// [`AlertFormat::GrafanaLegacy`]).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertFormat {
    /// Systole's own form: one alert with `title` and `message`.
    Generic,
    /// A Prometheus Alertmanager webhook payload, version 4.
    Alertmanager,
    /// A Grafana (unified alerting) webhook contact point payload.
    Grafana,
    /// A legacy Grafana (before unified alerting) webhook payload: one rule's state.
    #[serde(rename = "grafana-legacy")]
    GrafanaLegacy,
}

/// How strictly the generic form is read (see the [module docs](self#dialects)).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Dialect {
    /// Systole's own API: unknown severities and states are 400s.
    Systole,
    /// The cloudflaremon seed's `POST /api/alert`: its lenient reading.
    Cloudflaremon,
}

impl AlertFormat {
    /// The lower-case name; the grouped formats' alerts' `source` is the same word
    /// (`grafana` for both Grafana formats).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertFormat::Generic => "generic",
            AlertFormat::Alertmanager => "alertmanager",
            AlertFormat::Grafana => "grafana",
            AlertFormat::GrafanaLegacy => "grafana-legacy",
        }
    }

    /// The format of a top-level object, by the rule in the [module docs](self).
    fn detect(top: &Map<String, Value>) -> Self {
        let has = |k: &str| top.get(k).is_some_and(|v| !v.is_null());
        if !top.contains_key("alerts") {
            if has("evalMatches") || (has("state") && has("ruleName")) {
                AlertFormat::GrafanaLegacy
            } else {
                AlertFormat::Generic
            }
        } else if top.get("version").and_then(Value::as_str) == Some("4") {
            AlertFormat::Alertmanager
        } else if ["orgId", "state", "title"].iter().any(|k| top.contains_key(*k)) {
            AlertFormat::Grafana
        } else {
            AlertFormat::Alertmanager
        }
    }
}

/// One alert from outside Systole, in every format's common shape. JSON: camelCase fields,
/// times as epoch milliseconds.
#[derive(Clone, Debug, Eq, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalAlert {
    /// Identifies the alert across its firing and resolved notifications: the payload's
    /// `fingerprint` when given (≤ [`MAX_FINGERPRINT`] characters), else the first 16 hex
    /// digits of a SHA-256 over the format, the source and the sorted labels (and, for the
    /// generic form or an alert without labels, the title).
    pub fingerprint: String,
    /// Firing or resolved.
    pub state: AlertState,
    /// One line, ≤ [`MAX_TITLE`] characters. Alertmanager and Grafana: `annotations.summary`,
    /// else `labels.alertname`, else `Alert`.
    pub title: String,
    /// The details, ≤ [`MAX_MESSAGE`] characters, possibly empty. Alertmanager and Grafana:
    /// `annotations.description`, else `annotations.summary`, else Grafana's `valueString`.
    pub message: String,
    /// How bad it is. Alertmanager and Grafana: from `labels.severity` (see
    /// [`severity_from_label`]).
    pub severity: Severity,
    /// Who sent it: the generic `source` (default `external`), `alertmanager` or `grafana`.
    pub source: String,
    /// Identifying labels, sorted; values ≤ [`MAX_VALUE`] characters.
    pub labels: BTreeMap<String, String>,
    /// Descriptive annotations, sorted; values ≤ [`MAX_VALUE`] characters.
    pub annotations: BTreeMap<String, String>,
    /// When it started firing, if the sender said (`startsAt`).
    pub starts_at: Option<Timestamp>,
    /// When it ended (`endsAt`); Alertmanager's unset value `0001-01-01T00:00:00Z`, like any
    /// time before 1970, is `None`. While firing, Alertmanager may send the expected end.
    pub ends_at: Option<Timestamp>,
    /// A link to the alert's source: Alertmanager's `generatorURL`; Grafana's `panelURL`,
    /// else `dashboardURL`, else `generatorURL`. Only `http(s)://` URLs without whitespace,
    /// ≤ [`MAX_URL`] bytes, are kept.
    pub url: Option<String>,
}

impl ExternalAlert {
    /// The alert's part of a [`Notification`].
    pub fn details(&self) -> AlertDetails {
        AlertDetails {
            state: self.state,
            severity: self.severity,
            source: self.source.clone(),
            fingerprint: self.fingerprint.clone(),
            labels: self.labels.clone(),
            url: self.url.clone(),
            sender: None,
        }
    }

    /// The [`Subject::Alert`] notification for this alert, received at `now`.
    ///
    /// `service_id` is the source and `service_name` the title; firing reads as `down`
    /// (previously `up`) since `starts_at`, resolved as `up` (previously `down`) since
    /// `ends_at`, with the time it fired as `duration`; a missing time is `now`. The link
    /// is `dashboard_url`, else the alert's own [`url`](Self::url).
    pub fn notification(&self, dashboard_url: Option<String>, now: Timestamp) -> Notification {
        let (status, previous_status, since, duration) = match self.state {
            AlertState::Firing => (Status::Down, Status::Up, self.starts_at.unwrap_or(now), None),
            AlertState::Resolved => {
                let since = self.ends_at.unwrap_or(now);
                (Status::Up, Status::Down, since, self.starts_at.map(|start| since.since(start)))
            }
        };
        Notification {
            subject: Subject::Alert(self.details()),
            service_id: self.source.clone(),
            service_name: self.title.clone(),
            group: None,
            status,
            previous_status,
            since,
            duration,
            message: Some(self.message.clone()).filter(|m| !m.trim().is_empty()),
            dashboard_url,
            suppressed: 0,
            last_seen: None,
            metadata: None,
            ack_url: None,
        }
    }
}

/// One request's alerts.
#[derive(Clone, Debug, Eq, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertBatch {
    /// The format recognised.
    pub format: AlertFormat,
    /// The alerts in request order (one for the generic form; possibly none for the others).
    pub alerts: Vec<ExternalAlert>,
    /// Channel names or types to send to, as the body names them (see the
    /// [module docs](self#channels-named-in-the-body)); `None` when it names none.
    pub channels: Option<Vec<String>>,
    /// Alerts the sender left out (`truncatedAlerts`, Alertmanager's `max_alerts`); 0 for the
    /// generic form.
    pub truncated_alerts: u64,
}

/// Parses a `POST /api/v1/alerts` body in any of the four formats (see the
/// [module docs](self) for the rule that tells them apart); [`parse_as`] in
/// [`Dialect::Systole`]. Never panics.
///
/// # Errors
/// A 413 [`Problem`] when the body exceeds [`MAX_BODY`] bytes; a 400 for invalid JSON (with
/// 1-based line and column), a body that is not an object, and a field of the wrong type,
/// missing or out of its limits, naming its JSON path (`alerts[1].status`, `severity`).
pub fn parse(body: &str) -> Result<AlertBatch, Problem> {
    parse_as(body, Dialect::Systole)
}

/// Parses an alert body in `dialect`. Never panics.
///
/// # Errors
/// As [`parse`]; in [`Dialect::Cloudflaremon`], a generic body without a usable `title` and
/// `message` is a 400 whose detail is [`UNSUPPORTED`].
pub fn parse_as(body: &str, dialect: Dialect) -> Result<AlertBatch, Problem> {
    if body.len() > MAX_BODY {
        return Err(Problem::payload_too_large(MAX_BODY));
    }
    let value: Value = serde_json::from_str(body).map_err(|e| syntax_problem(&e))?;
    let Value::Object(top) = value else {
        return Err(Problem::invalid_field("", format!("body must be a JSON object, got {}", kind(&value))));
    };
    let at = At::root(&top);
    match AlertFormat::detect(&top) {
        AlertFormat::Generic => generic(&at, dialect),
        AlertFormat::GrafanaLegacy => grafana_legacy(&at),
        format => grouped(format, &at),
    }
}

/// The severity an Alertmanager or Grafana `severity` label (or a cloudflaremon generic
/// `severity`) means, ignoring ASCII case: `critical`, `page`, `p1` → critical; `error`,
/// `high`, `major` → error; `warning`, `warn`, `medium` → warning; `info`, `ok`, `low`,
/// `none` → info; anything else → warning.
pub fn severity_from_label(label: &str) -> Severity {
    match label.trim().to_ascii_lowercase().as_str() {
        "critical" | "page" | "p1" => Severity::Critical,
        "error" | "high" | "major" => Severity::Error,
        "info" | "ok" | "low" | "none" => Severity::Info,
        _ => Severity::Warning,
    }
}

/// The generic form: one alert.
fn generic(at: &At<'_>, dialect: Dialect) -> Result<AlertBatch, Problem> {
    let lenient = dialect == Dialect::Cloudflaremon;
    if lenient {
        let text = |k: &str| at.get(k).and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty());
        if !(text("title") && text("message")) {
            return Err(Problem::invalid_field("", UNSUPPORTED));
        }
    }
    let title = at.required_string("title")?;
    if title.trim().is_empty() {
        return Err(Problem::invalid_field("title", "title must not be blank"));
    }
    let message = at.required_string("message")?;
    let severity = match at.string("severity")? {
        None => Severity::Warning,
        Some(s) if lenient => severity_from_label(s),
        Some(s) => s.trim().to_ascii_lowercase().parse::<Severity>().map_err(|_| {
            Problem::invalid_field("severity", format!("severity must be critical, error, warning or info, got {s:?}"))
        })?,
    };
    let source = at.string("source")?.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("external");
    let source = cut(source, MAX_SOURCE);
    let state = match at.state("status") {
        Err(_) if lenient => AlertState::Firing,
        state => state?.unwrap_or(AlertState::Firing),
    };
    let labels = cut_values(at.pairs("labels")?);
    let annotations = cut_values(at.pairs("annotations")?);
    let title = cut(title.trim(), MAX_TITLE);
    let fingerprint = match at.fingerprint()? {
        Some(f) => f,
        None => computed_fingerprint(AlertFormat::Generic, &source, Some(&title), &labels),
    };
    let alert = ExternalAlert {
        fingerprint,
        state,
        title,
        message: cut(message, MAX_MESSAGE),
        severity,
        source,
        labels,
        annotations,
        starts_at: None,
        ends_at: None,
        url: None,
    };
    let channels = match at.get("channels") {
        Some(v @ Value::String(_)) if lenient => Some(vec![name("channels".into(), v)?]),
        _ => channels(at, lenient)?,
    };
    Ok(AlertBatch { format: AlertFormat::Generic, alerts: vec![alert], channels, truncated_alerts: 0 })
}

/// A channel name at `path`: text of 1 to [`MAX_NAME`] characters, trimmed.
fn name(path: String, v: &Value) -> Result<String, Problem> {
    let Value::String(s) = v else {
        return Err(Problem::invalid_field(&path, format!("{path} must be a channel name, got {}", kind(v))));
    };
    let s = s.trim();
    if s.is_empty() || s.chars().count() > MAX_NAME {
        return Err(Problem::invalid_field(&path, format!("{path} must be 1 to {MAX_NAME} characters")));
    }
    Ok(s.to_owned())
}

/// The generic form's `channels` (array of names) or `channel` (one name); `channels` wins
/// over `channel` when `lenient`, else both is a 400.
fn channels(at: &At<'_>, lenient: bool) -> Result<Option<Vec<String>>, Problem> {
    match (at.get("channels"), at.get("channel")) {
        (Some(_), Some(_)) if !lenient => {
            Err(Problem::invalid_field("channel", "give either channel or channels, not both"))
        }
        (None, None) => Ok(None),
        (None, Some(v)) => Ok(Some(vec![name("channel".to_owned(), v)?])),
        (Some(Value::Array(list)), _) => {
            if list.is_empty() || list.len() > MAX_CHANNELS {
                let mut p = Problem::invalid_field(
                    "channels",
                    format!("channels must list 1 to {MAX_CHANNELS} channels, got {}", list.len()),
                );
                p.limit = u32::try_from(MAX_CHANNELS).ok();
                return Err(p);
            }
            let mut names: Vec<String> = Vec::with_capacity(list.len());
            for (i, v) in list.iter().enumerate() {
                let n = name(format!("channels[{i}]"), v)?;
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            Ok(Some(names))
        }
        (Some(v), _) => {
            Err(Problem::invalid_field("channels", format!("channels must be an array of names, got {}", kind(v))))
        }
    }
}

/// Channel names in comma-separated `text` at `path` (cloudflaremon's `labels.channels`,
/// `tags.channels`): trimmed, blanks dropped, each named once; `None` when there are none.
fn channel_list(path: &str, text: &str) -> Result<Option<Vec<String>>, Problem> {
    let mut names: Vec<String> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let n = name(path.to_owned(), &Value::String(part.to_owned()))?;
        if !names.contains(&n) {
            names.push(n);
        }
    }
    if names.len() > MAX_CHANNELS {
        let mut p = Problem::invalid_field(
            path,
            format!("{path} must name at most {MAX_CHANNELS} channels, got {}", names.len()),
        );
        p.limit = u32::try_from(MAX_CHANNELS).ok();
        return Err(p);
    }
    Ok(Some(names).filter(|n| !n.is_empty()))
}

/// The legacy Grafana form: one rule's state (see the [module docs](self)).
fn grafana_legacy(at: &At<'_>) -> Result<AlertBatch, Problem> {
    let text =
        |k: &str| -> Result<Option<&str>, Problem> { Ok(at.string(k)?.map(str::trim).filter(|s| !s.is_empty())) };
    let rule = text("ruleName")?;
    let title = cut(text("title")?.or(rule).unwrap_or("Grafana Alert"), MAX_TITLE);
    let message = cut(text("message")?.unwrap_or("No message"), MAX_MESSAGE);
    let state = text("state")?.unwrap_or_default().to_ascii_lowercase();
    let (state, severity) = match state.as_str() {
        "alerting" => (AlertState::Firing, Severity::Critical),
        "ok" => (AlertState::Resolved, Severity::Info),
        _ => (AlertState::Firing, Severity::Warning),
    };
    let mut labels = at.pairs("tags")?;
    let channels = match labels.get("channels") {
        Some(list) => channel_list("tags.channels", list)?,
        None => None,
    };
    if let Some(rule) = rule {
        labels.insert("ruleName".into(), rule.to_owned());
    }
    let rule_id = match at.get("ruleId") {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        _ => None,
    };
    if let Some(id) = rule_id {
        labels.insert("ruleId".into(), id);
    }
    let mut annotations = BTreeMap::new();
    if let Some(image) = text("imageUrl")?.filter(|u| web_url(u)) {
        annotations.insert("imageUrl".to_owned(), image.to_owned());
    }
    let url = text("ruleUrl")?.filter(|u| web_url(u)).map(str::to_owned);
    let labels = cut_values(labels);
    let source = "grafana".to_owned();
    let fingerprint = match at.fingerprint()? {
        Some(f) => f,
        None => {
            let title = labels.is_empty().then_some(title.as_str());
            computed_fingerprint(AlertFormat::GrafanaLegacy, &source, title, &labels)
        }
    };
    let alert = ExternalAlert {
        fingerprint,
        state,
        title,
        message,
        severity,
        source,
        labels,
        annotations,
        starts_at: None,
        ends_at: None,
        url,
    };
    Ok(AlertBatch { format: AlertFormat::GrafanaLegacy, alerts: vec![alert], channels, truncated_alerts: 0 })
}

/// The Alertmanager and Grafana forms: a group of alerts.
fn grouped(format: AlertFormat, at: &At<'_>) -> Result<AlertBatch, Problem> {
    let list = match at.get("alerts") {
        Some(Value::Array(list)) => list.as_slice(),
        None => &[],
        Some(v) => {
            return Err(Problem::invalid_field("alerts", format!("alerts must be an array of alerts, got {}", kind(v))))
        }
    };
    if list.len() > MAX_ALERTS {
        let mut p = Problem::invalid_field(
            "alerts",
            format!("alerts must list at most {MAX_ALERTS} alerts per request, got {}", list.len()),
        );
        p.limit = u32::try_from(MAX_ALERTS).ok();
        return Err(p);
    }
    let group_state = at.state("status")?;
    let truncated_alerts = match at.get("truncatedAlerts") {
        None => 0,
        Some(v) => v.as_u64().ok_or_else(|| {
            Problem::invalid_field(
                "truncatedAlerts",
                format!("truncatedAlerts must be a whole number ≥ 0, got {}", kind(v)),
            )
        })?,
    };
    let mut alerts = Vec::with_capacity(list.len());
    let mut channels = None;
    for (i, v) in list.iter().enumerate() {
        let path = format!("alerts[{i}]");
        let Value::Object(obj) = v else {
            return Err(Problem::invalid_field(&path, format!("{path} must be an object, got {}", kind(v))));
        };
        let at = At { obj, prefix: path };
        if i == 0 {
            channels = grouped_channels(&at)?;
        }
        alerts.push(one_grouped(format, &at, group_state)?);
    }
    Ok(AlertBatch { format, alerts, channels, truncated_alerts })
}

/// The first alert's `labels.channels`, else its `annotations.channels` (comma-separated
/// text), as cloudflaremon routes Alertmanager and Grafana alerts.
fn grouped_channels(at: &At<'_>) -> Result<Option<Vec<String>>, Problem> {
    for key in ["labels", "annotations"] {
        if let Some(Value::Object(map)) = at.get(key) {
            let path = format!("{}.channels", at.path(key));
            match map.get("channels") {
                Some(Value::String(list)) => return channel_list(&path, list),
                None | Some(Value::Null) => {}
                Some(v) => {
                    return Err(Problem::invalid_field(
                        &path,
                        format!("{path} must be comma-separated channel names, got {}", kind(v)),
                    ))
                }
            }
        }
    }
    Ok(None)
}

/// One entry of a grouped form's `alerts`; its `status` falls back to the group's.
fn one_grouped(format: AlertFormat, at: &At<'_>, group_state: Option<AlertState>) -> Result<ExternalAlert, Problem> {
    let state = match at.state("status")?.or(group_state) {
        Some(s) => s,
        None => {
            let path = at.path("status");
            return Err(Problem::invalid_field(&path, format!("{path} is required: firing or resolved")));
        }
    };
    let labels = at.pairs("labels")?;
    let annotations = at.pairs("annotations")?;
    let text = |map: &BTreeMap<String, String>, key: &str| -> Option<String> {
        map.get(key).map(|s| s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)
    };
    let value_string = match format {
        AlertFormat::Grafana => at.string("valueString")?.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
        _ => None,
    };
    let title = text(&annotations, "summary").or_else(|| text(&labels, "alertname")).unwrap_or_else(|| "Alert".into());
    let message = text(&annotations, "description")
        .or_else(|| text(&annotations, "summary"))
        .or(value_string)
        .unwrap_or_default();
    let severity = labels.get("severity").map_or(Severity::Warning, |s| severity_from_label(s));
    let url_keys: &[&str] = match format {
        AlertFormat::Grafana => &["panelURL", "dashboardURL", "generatorURL"],
        _ => &["generatorURL"],
    };
    let mut url = None;
    for key in url_keys {
        if let Some(u) = at.string(key)?.filter(|u| web_url(u)) {
            url = Some(u.to_owned());
            break;
        }
    }
    let (labels, annotations) = (cut_values(labels), cut_values(annotations));
    let title = cut(&title, MAX_TITLE);
    let source = format.as_str().to_owned();
    let fingerprint = match at.fingerprint()? {
        Some(f) => f,
        None => {
            let title = labels.is_empty().then_some(title.as_str());
            computed_fingerprint(format, &source, title, &labels)
        }
    };
    Ok(ExternalAlert {
        fingerprint,
        state,
        title,
        message: cut(&message, MAX_MESSAGE),
        severity,
        source,
        labels,
        annotations,
        starts_at: at.time("startsAt")?,
        ends_at: at.time("endsAt")?,
        url,
    })
}

/// The first 16 hex digits of SHA-256 over the length-prefixed parts, so no two different
/// inputs share a preimage.
fn computed_fingerprint(
    format: AlertFormat,
    source: &str,
    title: Option<&str>,
    labels: &BTreeMap<String, String>,
) -> String {
    let mut hash = Sha256::new();
    let mut part = |text: &str| {
        hash.update((text.len() as u64).to_be_bytes());
        hash.update(text.as_bytes());
    };
    part(format.as_str());
    part(source);
    part(if title.is_some() { "title" } else { "labels" });
    if let Some(title) = title {
        part(title);
    }
    for (k, v) in labels {
        part(k);
        part(v);
    }
    hex::encode(hash.finalize().get(..8).unwrap_or_default())
}

/// Whether `text` is a plain `http(s)://` URL ([`config::web_url`]) of at most [`MAX_URL`]
/// bytes.
fn web_url(text: &str) -> bool {
    text.len() <= MAX_URL && config::web_url(text).is_some()
}

/// `text` at most `max` characters long: when longer, its first `max - 1` characters and `…`
/// (just `…` for a limit of 0).
fn cut(text: &str, max: usize) -> String {
    fit(text, max.max(1), Unit::Chars)
}

fn cut_values(map: BTreeMap<String, String>) -> BTreeMap<String, String> {
    map.into_iter().map(|(k, v)| (k, cut(&v, MAX_VALUE))).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;
    use crate::notify::vocab::Event;

    /// Alertmanager's documented v4 shape, as a real Alertmanager sends it for two alerts of
    /// one group (prometheus.io/docs/alerting/latest/configuration/#webhook_config).
    const ALERTMANAGER_FIRING: &str = r#"{
      "receiver": "systole",
      "status": "firing",
      "alerts": [
        {
          "status": "firing",
          "labels": {"alertname": "ProbeFailure", "instance": "https://server.example.org",
                     "job": "http_checks", "monitor": "master", "severity": "critical"},
          "annotations": {"description": "Instance https://server.example.org has been down for over 5m. Job: http_checks",
                          "summary": "BlackBox Probe Failure: https://server.example.org"},
          "startsAt": "2023-02-06T13:08:45.828Z",
          "endsAt": "0001-01-01T00:00:00Z",
          "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0\u0026g0.tab=1",
          "fingerprint": "1a30ba71cca2921f"
        },
        {
          "status": "firing",
          "labels": {"alertname": "ProbeFailure", "instance": "https://www.example.org",
                     "job": "http_checks", "monitor": "master", "severity": "critical"},
          "annotations": {"summary": "BlackBox Probe Failure: https://www.example.org"},
          "startsAt": "2023-02-06T13:09:45.828266876+01:00",
          "endsAt": "0001-01-01T00:00:00Z",
          "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0\u0026g0.tab=1",
          "fingerprint": "7be1d4a2cf21e6d9"
        }
      ],
      "groupLabels": {"alertname": "ProbeFailure"},
      "commonLabels": {"alertname": "ProbeFailure", "job": "http_checks", "monitor": "master", "severity": "critical"},
      "commonAnnotations": {},
      "externalURL": "http://prometheus.example.org:9093",
      "version": "4",
      "groupKey": "{}/{severity=\"critical\"}:{alertname=\"ProbeFailure\"}",
      "truncatedAlerts": 0
    }"#;

    /// The same group once both alerts ended.
    fn alertmanager_resolved() -> String {
        ALERTMANAGER_FIRING
            .replace("\"firing\"", "\"resolved\"")
            .replace(r#""endsAt": "0001-01-01T00:00:00Z""#, r#""endsAt": "2023-02-06T13:20:45.828Z""#)
    }

    /// Grafana's documented webhook example (grafana.com/docs/grafana/latest/alerting/
    /// configure-notifications/manage-contact-points/integrations/webhook-notifier/).
    const GRAFANA: &str = r#"{
      "receiver": "My Super Webhook",
      "status": "firing",
      "orgId": 1,
      "alerts": [
        {
          "status": "firing",
          "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
          "annotations": {"description": "The system has high memory usage",
                          "runbook_url": "https://myrunbook.com/runbook/1234",
                          "summary": "This alert was triggered for zone us-1"},
          "startsAt": "2021-10-12T09:51:03.157076+02:00",
          "endsAt": "0001-01-01T00:00:00Z",
          "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
          "fingerprint": "c6eadffa33fcdf37",
          "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
          "dashboardURL": "",
          "panelURL": "",
          "values": {"B": 44.23943737541908, "C": 1}
        },
        {
          "status": "firing",
          "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1"},
          "annotations": {"runbook_url": "https://myrunbook.com/runbook/1234"},
          "startsAt": "2021-10-12T09:56:03.157076+02:00",
          "endsAt": "0001-01-01T00:00:00Z",
          "generatorURL": "https://play.grafana.org/alerting/d1rdpdv7k/edit",
          "fingerprint": "bc97ff14869b13e3",
          "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT1%2Cteam%3Dblue%2Czone%3Deu-1",
          "dashboardURL": "https://play.grafana.org/d/abc",
          "panelURL": "https://play.grafana.org/d/abc?viewPanel=2",
          "valueString": "[ metric='' labels={} value=47043.702386305304 ]"
        }
      ],
      "groupLabels": {},
      "commonLabels": {"team": "blue"},
      "commonAnnotations": {},
      "externalURL": "https://play.grafana.org/",
      "version": "1",
      "groupKey": "{}:{}",
      "truncatedAlerts": 0,
      "title": "[FIRING:2] (blue)",
      "state": "alerting",
      "message": "**Firing**\n\nLabels:\n - alertname = T2\n - team = blue\n - zone = us-1\n"
    }"#;

    fn err(body: &str) -> (Option<String>, String) {
        let p = parse(body).unwrap_err();
        assert_eq!(p.status, 400, "{p:?}");
        (p.field, p.detail)
    }

    fn field(f: &str) -> Option<String> {
        Some(f.to_owned())
    }

    #[test]
    fn alertmanager_v4_payload_becomes_one_alert_per_entry() {
        let batch = parse(ALERTMANAGER_FIRING).unwrap();
        assert_eq!(
            (batch.format, batch.channels.clone(), batch.truncated_alerts),
            (AlertFormat::Alertmanager, None, 0)
        );
        assert_eq!(batch.alerts.len(), 2);
        let a = &batch.alerts[0];
        assert_eq!(
            *a,
            ExternalAlert {
                fingerprint: "1a30ba71cca2921f".into(),
                state: AlertState::Firing,
                title: "BlackBox Probe Failure: https://server.example.org".into(),
                message: "Instance https://server.example.org has been down for over 5m. Job: http_checks".into(),
                severity: Severity::Critical,
                source: "alertmanager".into(),
                labels: [
                    ("alertname", "ProbeFailure"),
                    ("instance", "https://server.example.org"),
                    ("job", "http_checks"),
                    ("monitor", "master"),
                    ("severity", "critical"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
                annotations: a.annotations.clone(),
                starts_at: Timestamp::parse_rfc3339("2023-02-06T13:08:45.828Z"),
                ends_at: None,
                url: Some("http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1".into()),
            }
        );
        assert_eq!(a.annotations.len(), 2);
        let b = &batch.alerts[1];
        assert_eq!(b.message, "BlackBox Probe Failure: https://www.example.org", "no description: the summary");
        assert_eq!(b.starts_at, Some(Timestamp::from_millis(1_675_685_385_828)), "nanoseconds and offsets are read");

        let resolved = parse(&alertmanager_resolved()).unwrap();
        let r = &resolved.alerts[0];
        assert_eq!((r.state, r.fingerprint.as_str()), (AlertState::Resolved, "1a30ba71cca2921f"));
        assert_eq!(r.ends_at, Timestamp::parse_rfc3339("2023-02-06T13:20:45.828Z"));
        let n = r.notification(None, Timestamp::from_millis(0));
        assert_eq!((n.status, n.previous_status), (Status::Up, Status::Down));
        assert_eq!((n.since, n.duration), (r.ends_at.unwrap(), Some(Duration::from_secs(720))));
    }

    #[test]
    fn grafana_payload_is_recognised_and_links_to_the_panel() {
        let batch = parse(GRAFANA).unwrap();
        assert_eq!(batch.format, AlertFormat::Grafana);
        let (a, b) = (&batch.alerts[0], &batch.alerts[1]);
        assert_eq!(a.title, "This alert was triggered for zone us-1");
        assert_eq!(a.message, "The system has high memory usage");
        assert_eq!((a.severity, a.source.as_str()), (Severity::Warning, "grafana"), "no severity label");
        assert_eq!(a.url.as_deref(), Some("https://play.grafana.org/alerting/1afz29v7z/edit"), "empty URLs skipped");
        assert_eq!(a.starts_at, Timestamp::parse_rfc3339("2021-10-12T07:51:03.157Z"));
        assert_eq!(b.title, "High CPU usage", "no summary: the alertname");
        assert_eq!(b.message, "[ metric='' labels={} value=47043.702386305304 ]", "no annotations: valueString");
        assert_eq!(b.url.as_deref(), Some("https://play.grafana.org/d/abc?viewPanel=2"));
        assert_eq!(b.fingerprint, "bc97ff14869b13e3");
    }

    #[test]
    fn the_generic_form_takes_its_fields_and_channels() {
        let batch = parse(
            r#"{"title": "Disk almost full", "message": "/var is 97 % full", "severity": "error",
                "source": "backup-host", "labels": {"disk": "/var", "port": 22}, "annotations": {"runbook": "r"},
                "channels": ["ops", "pagerduty", "ops"], "status": "resolved", "fingerprint": "disk-var"}"#,
        )
        .unwrap();
        assert_eq!((batch.format, batch.truncated_alerts), (AlertFormat::Generic, 0));
        assert_eq!(batch.channels, Some(vec!["ops".to_owned(), "pagerduty".to_owned()]));
        let a = &batch.alerts[0];
        assert_eq!((a.title.as_str(), a.message.as_str()), ("Disk almost full", "/var is 97 % full"));
        assert_eq!((a.severity, a.state, a.source.as_str()), (Severity::Error, AlertState::Resolved, "backup-host"));
        assert_eq!((a.fingerprint.as_str(), a.labels["port"].as_str()), ("disk-var", "22"));
        assert_eq!((a.starts_at, a.ends_at, a.url.clone()), (None, None, None));
        assert_eq!(
            parse(r#"{"title": "t", "message": "m", "channel": "ops"}"#).unwrap().channels,
            Some(vec!["ops".into()])
        );
    }

    #[test]
    fn the_generic_form_has_defaults() {
        let batch = parse(r#"{"title": "Backup failed", "message": ""}"#).unwrap();
        assert_eq!(batch.channels, None);
        let a = &batch.alerts[0];
        assert_eq!((a.severity, a.state, a.source.as_str()), (Severity::Warning, AlertState::Firing, "external"));
        assert_eq!(a.fingerprint.len(), 16);
        assert!(a.fingerprint.chars().all(|c| c.is_ascii_hexdigit()));
        let n = a.notification(Some("https://status.example.com/".into()), Timestamp::from_millis(42));
        assert_eq!(
            (n.event(), n.since, n.message.clone(), n.duration),
            (Event::Alert, Timestamp::from_millis(42), None, None)
        );
        assert_eq!((n.status, n.previous_status, n.service_id.as_str()), (Status::Down, Status::Up, "external"));
        assert_eq!(n.dashboard_url.as_deref(), Some("https://status.example.com/"));
    }

    #[test]
    fn detection_follows_version_then_grafana_fields() {
        let format = |body: &str| parse(body).unwrap().format;
        assert_eq!(format(r#"{"alerts": []}"#), AlertFormat::Alertmanager);
        assert_eq!(format(r#"{"alerts": [], "version": "4", "title": "x"}"#), AlertFormat::Alertmanager);
        assert_eq!(format(r#"{"alerts": [], "orgId": 1}"#), AlertFormat::Grafana);
        assert_eq!(format(r#"{"alerts": [], "version": "1", "state": "ok"}"#), AlertFormat::Grafana);
        assert_eq!(format(r#"{"alerts": [], "title": "[FIRING:1]"}"#), AlertFormat::Grafana);
        assert_eq!(format(r#"{"title": "t", "message": "m"}"#), AlertFormat::Generic);
        assert_eq!(format(r#"{"evalMatches": [], "title": "t"}"#), AlertFormat::GrafanaLegacy);
        assert_eq!(format(r#"{"state": "ok", "ruleName": "r"}"#), AlertFormat::GrafanaLegacy);
        assert_eq!(format(r#"{"state": "ok", "title": "t", "message": "m"}"#), AlertFormat::Generic);
        assert_eq!(serde_json::to_value(AlertFormat::GrafanaLegacy).unwrap(), "grafana-legacy");
    }

    /// A legacy Grafana webhook (before unified alerting), as Grafana 7 sends it.
    const GRAFANA_LEGACY: &str = r#"{
      "dashboardId": 1, "evalMatches": [{"value": 100, "metric": "High value", "tags": null}],
      "imageUrl": "https://grafana.com/static/assets/img/blog/mixed_styles.png",
      "message": "Someone is testing the alert notification within Grafana.", "orgId": 0, "panelId": 1,
      "ruleId": 7, "ruleName": "Disk usage", "ruleUrl": "https://grafana.example.com/d/abc?panelId=1",
      "state": "alerting", "tags": {"channels": "ops, Pager ,ops", "team": "infra"}, "title": "[Alerting] Disk usage"
    }"#;

    #[test]
    fn legacy_grafana_alerting_then_ok_is_one_alert_firing_then_resolved() {
        let batch = parse(GRAFANA_LEGACY).unwrap();
        assert_eq!(batch.format, AlertFormat::GrafanaLegacy);
        assert_eq!(batch.channels, Some(vec!["ops".to_owned(), "Pager".to_owned()]), "tags.channels, each once");
        let a = &batch.alerts[0];
        assert_eq!((a.title.as_str(), a.source.as_str()), ("[Alerting] Disk usage", "grafana"));
        assert_eq!(a.message, "Someone is testing the alert notification within Grafana.");
        assert_eq!((a.state, a.severity), (AlertState::Firing, Severity::Critical));
        assert_eq!((a.labels["ruleName"].as_str(), a.labels["ruleId"].as_str()), ("Disk usage", "7"));
        assert_eq!(a.url.as_deref(), Some("https://grafana.example.com/d/abc?panelId=1"));
        assert_eq!(a.annotations["imageUrl"], "https://grafana.com/static/assets/img/blog/mixed_styles.png");
        let ok = GRAFANA_LEGACY.replace(r#""state": "alerting""#, r#""state": "ok""#).replace("[Alerting]", "[OK]");
        let r = parse(&ok).unwrap().alerts.remove(0);
        assert_eq!((r.state, r.severity), (AlertState::Resolved, Severity::Info));
        assert_eq!(r.fingerprint, a.fingerprint, "the title changes, the rule does not");
        for state in ["no_data", "paused", "pending"] {
            let other = GRAFANA_LEGACY.replace("alerting", state);
            let o = parse(&other).unwrap().alerts.remove(0);
            assert_eq!((o.state, o.severity), (AlertState::Firing, Severity::Warning), "{state}");
        }
        let bare = parse(r#"{"state": "alerting", "ruleName": "CPU"}"#).unwrap().alerts.remove(0);
        assert_eq!((bare.title.as_str(), bare.message.as_str()), ("CPU", "No message"));
        let nameless = parse(r#"{"evalMatches": []}"#).unwrap().alerts.remove(0);
        assert_eq!((nameless.title.as_str(), nameless.severity), ("Grafana Alert", Severity::Warning));
        assert_eq!(err(r#"{"evalMatches": [], "tags": {"channels": ["a"]}}"#).0, field("tags.channels"));
    }

    #[test]
    fn grouped_alerts_name_channels_in_the_first_alerts_labels_or_annotations() {
        let body = |labels: &str, annotations: &str| {
            format!(
                r#"{{"version": "4", "alerts": [{{"status": "firing", "labels": {labels}, "annotations": {annotations}}},
                    {{"status": "firing", "labels": {{"channels": "ignored"}}}}]}}"#
            )
        };
        let channels = |l: &str, a: &str| parse(&body(l, a)).unwrap().channels;
        assert_eq!(
            channels(r#"{"channels": "telegram,discord"}"#, "{}"),
            Some(vec!["telegram".into(), "discord".into()])
        );
        assert_eq!(channels("{}", r#"{"channels": " slack "}"#), Some(vec!["slack".into()]));
        assert_eq!(channels(r#"{"channels": "a"}"#, r#"{"channels": "b"}"#), Some(vec!["a".into()]), "labels first");
        assert_eq!(channels("{}", "{}"), None);
        assert_eq!(channels(r#"{"channels": " , "}"#, "{}"), None);
        let long = format!(r#"{{"channels": "{}"}}"#, "x".repeat(MAX_NAME + 1));
        assert_eq!(err(&body(&long, "{}")).0, field("alerts[0].labels.channels"));
    }

    #[test]
    fn the_cloudflaremon_dialect_reads_the_generic_form_as_that_seed() {
        let seed = |body: &str| parse_as(body, Dialect::Cloudflaremon);
        let a = seed(r#"{"title": "t", "message": "m", "severity": "ok", "status": "whatever", "channels": "ops"}"#)
            .unwrap();
        assert_eq!(a.channels, Some(vec!["ops".into()]));
        assert_eq!((a.alerts[0].severity, a.alerts[0].state), (Severity::Info, AlertState::Firing));
        let fatal =
            seed(r#"{"title": "t", "message": "m", "severity": "Fatal", "channels": ["a"], "channel": "b"}"#).unwrap();
        assert_eq!((fatal.alerts[0].severity, fatal.channels), (Severity::Warning, Some(vec!["a".into()])));
        for body in [r#"{"title": "t"}"#, r#"{"title": "", "message": "m"}"#, r#"{"title": "t", "message": 3}"#, "{}"] {
            let p = seed(body).unwrap_err();
            assert_eq!((p.status, p.detail.as_str()), (400, UNSUPPORTED), "{body}");
        }
        assert_eq!(err(r#"{"title": "t", "message": "m", "severity": "ok"}"#).0, field("severity"), "strict natively");
    }

    #[test]
    fn computed_fingerprints_are_stable_and_distinct() {
        let fp = |body: &str| parse(body).unwrap().alerts[0].fingerprint.clone();
        let base = fp(r#"{"title": "t", "message": "m", "labels": {"a": "1", "b": "2"}}"#);
        assert_eq!(base, fp(r#"{"labels": {"b": "2", "a": "1"}, "message": "other", "title": "t"}"#));
        assert_eq!(base, fp(r#"{"title": "t", "message": "m", "labels": {"a": "1", "b": "2"}, "status": "resolved"}"#));
        assert_ne!(base, fp(r#"{"title": "u", "message": "m", "labels": {"a": "1", "b": "2"}}"#));
        assert_ne!(base, fp(r#"{"title": "t", "message": "m", "labels": {"a": "1", "b": "3"}}"#));
        assert_ne!(base, fp(r#"{"title": "t", "message": "m", "source": "x", "labels": {"a": "1", "b": "2"}}"#));
        assert_ne!(
            fp(r#"{"title": "t", "message": "m", "labels": {"ab": "c"}}"#),
            fp(r#"{"title": "t", "message": "m", "labels": {"a": "bc"}}"#)
        );
        // Grouped alerts without a fingerprint are identified by their labels, not their
        // (templated, changing) summary.
        let am = |summary: &str| {
            let body = format!(
                r#"{{"version": "4", "alerts": [{{"status": "firing", "labels": {{"alertname": "A"}},
                    "annotations": {{"summary": "{summary}"}}}}]}}"#
            );
            fp(&body)
        };
        assert_eq!(am("value 1"), am("value 2"));
        assert_ne!(am("value 1"), base);
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let p = parse("").unwrap_err();
        assert_eq!((p.status, p.detail.as_str()), (400, "invalid JSON at line 1, column 1: EOF while parsing a value"));
        let p = parse("{\n  \"title\": }").unwrap_err();
        assert_eq!(p.detail, "invalid JSON at line 2, column 12: expected value");
        let p = parse(&"x".repeat(MAX_BODY + 1)).unwrap_err();
        assert_eq!((p.status, p.limit), (413, Some(1 << 20)));
    }

    #[test]
    fn every_wrong_field_is_named_with_what_was_expected() {
        assert_eq!(err("[1, 2]"), (None, "body must be a JSON object, got an array".into()));
        assert_eq!(
            err(r#"{"alerts": {}}"#),
            (field("alerts"), "alerts must be an array of alerts, got an object".into())
        );
        assert_eq!(err(r#"{"alerts": [7]}"#), (field("alerts[0]"), "alerts[0] must be an object, got a number".into()));
        assert_eq!(
            err(r#"{"alerts": [{"status": "firing"}, {"status": "fired"}]}"#),
            (field("alerts[1].status"), "alerts[1].status must be firing or resolved, got \"fired\"".into())
        );
        assert_eq!(
            err(r#"{"alerts": [{"labels": {}}]}"#),
            (field("alerts[0].status"), "alerts[0].status is required: firing or resolved".into())
        );
        assert_eq!(
            err(r#"{"alerts": [{"status": "firing", "startsAt": "yesterday"}]}"#),
            (
                field("alerts[0].startsAt"),
                "alerts[0].startsAt must be an RFC 3339 time such as 2025-11-21T19:33:20Z, got \"yesterday\"".into()
            )
        );
        assert_eq!(
            err(r#"{"alerts": [{"status": "firing", "labels": {"a": ["x"]}}]}"#),
            (field("alerts[0].labels.a"), "alerts[0].labels.a must be a string, got an array".into())
        );
        assert_eq!(
            err(r#"{"alerts": [], "truncatedAlerts": -1}"#),
            (field("truncatedAlerts"), "truncatedAlerts must be a whole number ≥ 0, got a number".into())
        );
        assert_eq!(
            err(r#"{"title": "t", "message": "m", "severity": "fatal"}"#),
            (field("severity"), "severity must be critical, error, warning or info, got \"fatal\"".into())
        );
        assert_eq!(err(r#"{"message": "m"}"#), (field("title"), "title is required".into()));
        assert_eq!(err(r#"{"title": " ", "message": "m"}"#), (field("title"), "title must not be blank".into()));
        assert_eq!(
            err(r#"{"title": 3, "message": "m"}"#),
            (field("title"), "title must be a string, got a number".into())
        );
        assert_eq!(err(r#"{"title": "t"}"#), (field("message"), "message is required".into()));
        assert_eq!(
            err(r#"{"title": "t", "message": "m", "channels": []}"#),
            (field("channels"), "channels must list 1 to 32 channels, got 0".into())
        );
        assert_eq!(
            err(r#"{"title": "t", "message": "m", "channels": ["ok", 1]}"#),
            (field("channels[1]"), "channels[1] must be a channel name, got a number".into())
        );
        assert_eq!(
            err(r#"{"title": "t", "message": "m", "channel": "a", "channels": ["b"]}"#),
            (field("channel"), "give either channel or channels, not both".into())
        );
        let long = format!(r#"{{"title": "t", "message": "m", "fingerprint": "{}"}}"#, "f".repeat(129));
        assert_eq!(err(&long), (field("fingerprint"), "fingerprint must be at most 128 characters, got 129".into()));
    }

    #[test]
    fn more_than_1000_alerts_is_rejected_with_the_limit() {
        let one = r#"{"status": "firing"}"#;
        let body = |n: usize| format!(r#"{{"version": "4", "alerts": [{}]}}"#, vec![one; n].join(","));
        assert_eq!(parse(&body(1000)).unwrap().alerts.len(), 1000);
        let p = parse(&body(1001)).unwrap_err();
        assert_eq!(
            (p.field.as_deref(), p.detail.as_str(), p.limit),
            (Some("alerts"), "alerts must list at most 1000 alerts per request, got 1001", Some(1000))
        );
    }

    #[test]
    fn more_than_64_labels_is_rejected_naming_the_alert() {
        let labels = |n: usize| (0..n).map(|i| format!(r#""l{i}": "v""#)).collect::<Vec<_>>().join(",");
        let body = |n: usize| {
            format!(
                r#"{{"version": "4", "alerts": [{{"status": "firing"}}, {{"status": "firing", "labels": {{{}}}}}]}}"#,
                labels(n)
            )
        };
        assert_eq!(parse(&body(64)).unwrap().alerts[1].labels.len(), 64);
        let p = parse(&body(65)).unwrap_err();
        assert_eq!(
            (p.field.as_deref(), p.detail.as_str(), p.limit),
            (Some("alerts[1].labels"), "alerts[1].labels must have at most 64 entries, got 65", Some(64))
        );
        let key = format!(r#"{{"title": "t", "message": "m", "annotations": {{"{}": "v"}}}}"#, "k".repeat(129));
        assert_eq!(err(&key).0, field("annotations"));
    }

    #[test]
    fn long_text_is_cut_at_character_boundaries() {
        let body = format!(
            r#"{{"title": "{}", "message": "{}", "labels": {{"k": "{}"}}, "source": "{}"}}"#,
            "é".repeat(300),
            "😀".repeat(5000),
            "ß".repeat(2000),
            "s".repeat(200)
        );
        let a = parse(&body).unwrap().alerts.remove(0);
        assert_eq!(a.title, "é".repeat(255) + "…");
        assert_eq!(a.message, "😀".repeat(4095) + "…");
        assert_eq!(a.labels["k"], "ß".repeat(1023) + "…");
        assert_eq!(a.source.chars().count(), 128);
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
        assert_eq!(cut("abcd", 0), "…");
    }

    #[test]
    fn severity_labels_map_onto_four_levels() {
        let cases = [
            ("critical", Severity::Critical),
            ("PAGE", Severity::Critical),
            ("p1", Severity::Critical),
            ("high", Severity::Error),
            ("major", Severity::Error),
            ("error", Severity::Error),
            ("warn", Severity::Warning),
            ("medium", Severity::Warning),
            ("none", Severity::Info),
            ("low", Severity::Info),
            ("disaster", Severity::Warning),
        ];
        for (label, severity) in cases {
            assert_eq!(severity_from_label(label), severity, "{label}");
        }
    }

    #[test]
    fn only_web_urls_are_kept() {
        let url = |u: &str| {
            let body = format!(r#"{{"version": "4", "alerts": [{{"status": "firing", "generatorURL": "{u}"}}]}}"#);
            parse(&body).unwrap().alerts[0].url.clone()
        };
        assert_eq!(url("https://x.example/a"), Some("https://x.example/a".into()));
        assert_eq!(url("javascript:alert(1)"), None);
        assert_eq!(url("https://x.example/a b"), None);
        assert_eq!(url("https://"), None);
        assert_eq!(url(&format!("https://x.example/{}", "a".repeat(MAX_URL))), None);
    }

    #[test]
    fn alerts_serialise_as_camel_case_json() {
        let a = parse(ALERTMANAGER_FIRING).unwrap().alerts.remove(0);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!((json["state"].as_str(), json["severity"].as_str()), (Some("firing"), Some("critical")));
        assert_eq!((json["startsAt"].as_i64(), json["endsAt"].is_null()), (Some(1_675_688_925_828), true));
        assert_eq!(serde_json::from_value::<ExternalAlert>(json).unwrap(), a);
        let batch = serde_json::to_value(parse(GRAFANA).unwrap()).unwrap();
        assert_eq!((batch["format"].as_str(), batch["truncatedAlerts"].as_u64()), (Some("grafana"), Some(0)));
    }

    /// Any JSON built from the fields the parser looks at, nested anyhow.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop_oneof![
                Just("firing".to_owned()),
                Just("resolved".to_owned()),
                Just("4".to_owned()),
                Just("0001-01-01T00:00:00Z".to_owned()),
                Just("9999-12-31T23:59:59.999999999-23:59".to_owned()),
                Just("https://x".to_owned()),
                ".{0,40}",
            ]
            .prop_map(Value::String),
        ];
        let keys = prop_oneof![
            Just("alerts"),
            Just("version"),
            Just("orgId"),
            Just("title"),
            Just("message"),
            Just("status"),
            Just("labels"),
            Just("annotations"),
            Just("severity"),
            Just("startsAt"),
            Just("endsAt"),
            Just("fingerprint"),
            Just("channels"),
            Just("channel"),
            Just("truncatedAlerts"),
            Just("panelURL"),
            Just("valueString"),
            Just("summary"),
            Just("ruleName"),
            Just("ruleId"),
            Just("ruleUrl"),
            Just("imageUrl"),
            Just("evalMatches"),
            Just("tags"),
            Just("state"),
        ];
        leaf.prop_recursive(4, 64, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(keys.clone().prop_map(str::to_owned), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn parsing_never_panics_on_any_text(body in "\\PC{0,200}") {
            let _ = parse(&body);
        }

        #[test]
        fn parsing_never_panics_on_any_json(value in json_value(), seed in any::<bool>()) {
            let dialect = if seed { Dialect::Cloudflaremon } else { Dialect::Systole };
            if let Ok(batch) = parse_as(&value.to_string(), dialect) {
                for a in &batch.alerts {
                    prop_assert!(a.title.chars().count() <= MAX_TITLE);
                    prop_assert!(a.message.chars().count() <= MAX_MESSAGE);
                    prop_assert!(!a.fingerprint.is_empty());
                    let _ = a.notification(None, Timestamp::from_millis(0)).default_body();
                }
            }
        }
    }
}
