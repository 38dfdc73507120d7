//! The seed's alerting endpoints:
//!
//! - `POST /api/alert`: the answers ([`sent`], [`validation_failed`]); parsing is
//!   [`crate::notify::alert::parse_as`] in [`Dialect::Cloudflaremon`](crate::notify::alert::Dialect),
//!   channel checks [`crate::notify::external::select`];
//! - `GET /api/alerts/recent`: [`RecentQuery`] and [`recent`], from service status changes
//!   and external alerts;
//! - `POST /api/test-notification`: [`TestRequest`], [`test_channel`], [`test_notification`]
//!   and [`test_sent`], the seed's intended contract (its HEAD answers 500).

use serde::Serialize;
use serde_json::{json, Value};

use super::{alert_id, js_f64, seed_status, Change};
use crate::config::AlertHistoryDefaults;
use crate::monitor::Status;
use crate::notify::alert::AlertBatch;
#[cfg(test)]
use crate::notify::external::Routing;
use crate::notify::external::{Refusal, Refused};
use crate::notify::{ChannelConfig, Notification, NotificationsConfig, ServiceEvent, Severity, Subject};
use crate::time::Timestamp;

/// The 401 message of `POST /api/alert`, word for word the seed's.
pub const UNAUTHORIZED: &str = "Unauthorized - Invalid or missing API key";
/// The 503 message of `POST /api/alert` while `ALERT_API_KEY` is not set, word for word the
/// seed's (lai2301/cloudflaremon `src/handlers/alert.js`).
pub const KEY_UNSET: &str = "Server misconfigured: ALERT_API_KEY not set";
/// The 503 message of `POST /api/alert` while `ALERT_API_KEY` is shorter than
/// [`crate::keys::MIN_KEY_LEN`] characters (Systole's, in the seed's words).
pub const KEY_WEAK: &str = "Server misconfigured: ALERT_API_KEY is shorter than 16 characters";
/// The most alerts `GET /api/alerts/recent` answers (the seed's history drawer asks 1,000).
pub const MAX_RECENT: u32 = 1000;

/// The title the seed's answers name: the first alert's, else `Alert` (an Alertmanager
/// body without alerts).
pub fn title(batch: &AlertBatch) -> &str {
    batch.alerts.first().map_or("Alert", |a| a.title.as_str())
}

/// 200 `{"success": true, "message": "Alert processed and notifications sent",
/// "alertTitle", "channelsSent": [channel type]}`: the types of the channels the alerts were
/// queued for, one per channel (so a type may repeat).
pub fn sent(title: &str, channel_types: &[&str]) -> Value {
    json!({
        "success": true,
        "message": "Alert processed and notifications sent",
        "alertTitle": title,
        "channelsSent": channel_types,
    })
}

/// 400 `{"success": false, "message": "Alert validation failed", "errors": [text],
/// "availableChannels": [{"type", "name"}], "alertTitle"}`, listing every enabled channel.
pub fn validation_failed(errors: &[String], config: &NotificationsConfig, title: &str) -> Value {
    let available: Vec<Value> = config
        .channels
        .iter()
        .filter(|c| c.enabled)
        .map(|c| json!({ "type": c.kind.as_str(), "name": c.name }))
        .collect();
    json!({
        "success": false,
        "message": "Alert validation failed",
        "errors": errors,
        "availableChannels": available,
        "alertTitle": title,
    })
}

/// The seed's error for each refused channel: `Channel '<name>' not found in
/// configuration`, `… is disabled`, `… does not accept external alerts`.
pub fn refusal_errors(refusal: &Refusal<'_>) -> Vec<String> {
    refusal
        .refused
        .iter()
        .map(|(name, why)| match why {
            Refused::NotConfigured => format!("Channel '{name}' not found in configuration"),
            Refused::Disabled => format!("Channel '{name}' is disabled"),
            Refused::NoAlerts | Refused::ExternalOff => format!("Channel '{name}' does not accept external alerts"),
            Refused::NotificationsOff => format!("Channel '{name}' cannot send: notifications are disabled"),
        })
        .collect()
}

/// The seed's error when no channel takes an alert routed by severity.
pub fn no_channels(severity: Severity) -> String {
    format!("No enabled channels for alert severity: {severity}")
}

/// `GET /api/alerts/recent`'s parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecentQuery {
    /// Only items strictly after this time: `since`, else `hours` before now (none when
    /// `hours` ≤ 0).
    pub after: Option<Timestamp>,
    /// `hours` (default `alertHistory.defaultRecentPeriodHours`), reported back as
    /// `periodHours` even when `since` decides.
    pub period_hours: f64,
    /// At most this many items (`limit`, default `alertHistory.defaultLimit`, at most
    /// [`MAX_RECENT`]).
    pub limit: u32,
}

impl RecentQuery {
    /// Reads `since` (RFC 3339), `hours` (a number) and `limit` (a whole number ≥ 0; above
    /// [`MAX_RECENT`] counts as that) from the query pairs; an empty value counts as absent.
    ///
    /// # Errors
    /// The message of the 400 for a value that is not what its parameter takes.
    pub fn parse(pairs: &[(String, String)], defaults: &AlertHistoryDefaults, now: Timestamp) -> Result<Self, String> {
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
        let since = match get("since") {
            None => None,
            Some(s) => Some(Timestamp::parse_rfc3339(s).ok_or_else(|| {
                format!("since must be an ISO-8601 time such as 2025-11-10T12:00:00.000Z, got {s:?}")
            })?),
        };
        let period_hours = match get("hours") {
            None => defaults.default_recent_period_hours,
            Some(h) => h
                .parse::<f64>()
                .ok()
                .filter(|h| h.is_finite())
                .ok_or_else(|| format!("hours must be a number, got {h:?}"))?,
        };
        let limit = match get("limit") {
            None => defaults.default_limit,
            Some(l) => match l.parse::<i64>() {
                Ok(n) if n >= 0 => u32::try_from(n).unwrap_or(MAX_RECENT).min(MAX_RECENT),
                _ => return Err(format!("limit must be a whole number from 0 to {MAX_RECENT}, got {l:?}")),
            },
        };
        let window = (period_hours > 0.0).then(|| {
            // At most ten years (the setting's bound), so the product fits.
            let ms = (period_hours.min(87_600.0) * 3_600_000.0) as i64;
            Timestamp::from_millis(now.as_millis().saturating_sub(ms))
        });
        Ok(Self { after: since.or(window), period_hours, limit })
    }
}

/// One item of the history. JSON: `{"id", "title", "message", "severity", "source",
/// "timestamp", "read": false}`, plus `serviceId` and `status` for a service's change and
/// `state` (`firing`, `resolved`) for an external alert.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentAlert {
    /// `alert:<epoch ms>:<9 base-36 characters>`, stable for the same item.
    pub id: String,
    /// E.g. `Service Down: API`.
    pub title: String,
    /// The text.
    pub message: String,
    /// `critical`, `error`, `warning` or `info`.
    pub severity: String,
    /// `heartbeat-monitor` for a service; the alert's source otherwise.
    pub source: String,
    /// When it happened (RFC 3339 UTC, milliseconds).
    pub timestamp: String,
    /// Always `false`, as the seed's.
    pub read: bool,
    /// A service's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// A service's new status, in the seed's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    /// An external alert's state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `timestamp` for sorting.
    #[serde(skip)]
    pub at: Timestamp,
}

/// A service's status change as the seed's history item, named `name`; `None` for a
/// change the seed would not report: one from or to `unknown` (ours: `unknown`, `paused`),
/// or one its words cannot tell apart (`late` → `degraded`).
///
/// Titles `Service Down|Recovered|Degraded: <name>`; messages `<name> is not responding.
/// Last seen: <en-US time or "Never">`, `<name> has recovered and is now operational.`,
/// `<name> is experiencing degraded performance.`; severities critical, info, warning.
pub fn from_change(c: &Change, name: &str) -> Option<RecentAlert> {
    let (from, to) = (seed_status(c.from), seed_status(c.to));
    if from == to || from == "unknown" || to == "unknown" {
        return None;
    }
    let (title, message, severity) = match c.to {
        Status::Down => (
            format!("Service Down: {name}"),
            format!(
                "{name} is not responding. Last seen: {}",
                c.last_seen.map_or_else(|| "Never".to_owned(), super::locale_time)
            ),
            "critical",
        ),
        Status::Up => {
            (format!("Service Recovered: {name}"), format!("{name} has recovered and is now operational."), "info")
        }
        _ => (format!("Service Degraded: {name}"), format!("{name} is experiencing degraded performance."), "warning"),
    };
    Some(RecentAlert {
        id: alert_id(c.at, &[&c.service_id, &c.seq.to_string()]),
        title,
        message,
        severity: severity.to_owned(),
        source: "heartbeat-monitor".to_owned(),
        timestamp: c.at.to_rfc3339(),
        read: false,
        service_id: Some(c.service_id.clone()),
        status: Some(to),
        state: None,
        at: c.at,
    })
}

/// An external alert's latest state, as D1 `external_alerts` holds it.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct External<'a> {
    /// Its fingerprint.
    pub fingerprint: &'a str,
    /// `firing` or `resolved`.
    pub state: &'a str,
    /// Its title.
    pub title: &'a str,
    /// Its message.
    pub message: &'a str,
    /// Its severity.
    pub severity: &'a str,
    /// Who sent it.
    pub source: &'a str,
    /// When a request last carried it.
    pub received_at: Timestamp,
}

/// An external alert as the seed's history item, at the time a request last carried it.
pub fn from_external(e: &External<'_>) -> RecentAlert {
    RecentAlert {
        id: alert_id(e.received_at, &[e.fingerprint, e.state]),
        title: e.title.to_owned(),
        message: e.message.to_owned(),
        severity: e.severity.to_owned(),
        source: e.source.to_owned(),
        timestamp: e.received_at.to_rfc3339(),
        read: false,
        service_id: None,
        status: None,
        state: Some(e.state.to_owned()),
        at: e.received_at,
    }
}

/// The answer: `{"success": true, "alerts": [RecentAlert], "count", "periodHours"}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentAnswer {
    /// Always `true`.
    pub success: bool,
    /// Newest first.
    pub alerts: Vec<RecentAlert>,
    /// How many.
    pub count: usize,
    /// The `hours` asked for (or its default).
    #[serde(serialize_with = "js_f64")]
    pub period_hours: f64,
}

/// The items strictly after `q.after`, newest first, at most `q.limit`.
pub fn recent(mut items: Vec<RecentAlert>, q: &RecentQuery) -> RecentAnswer {
    items.retain(|a| q.after.is_none_or(|after| a.at > after));
    items.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
    items.truncate(q.limit as usize);
    RecentAnswer { success: true, count: items.len(), alerts: items, period_hours: q.period_hours }
}

/// A `POST /api/test-notification` body: `{"channelType": "discord", "eventType": "down"}`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct TestRequest {
    /// The channel type; the first channel of that type is tested.
    pub channel_type: String,
    /// The event to simulate (default `down`).
    pub event: ServiceEvent,
    /// Its name as given.
    pub event_type: String,
}

impl TestRequest {
    /// Parses the body.
    ///
    /// # Errors
    /// The message of the 400: not a JSON object, `channelType` missing or not text,
    /// `eventType` not one of `down`, `up`, `degraded`, `late`, `reminder`, `test`.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body must be JSON: {e}"))?;
        let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
        let channel_type = text("channelType").ok_or("channelType is required, e.g. {\"channelType\": \"discord\"}")?;
        let event_type = text("eventType").unwrap_or("down");
        let event = match event_type {
            "down" => ServiceEvent::Down,
            "up" => ServiceEvent::Up,
            "degraded" => ServiceEvent::Degraded,
            "late" => ServiceEvent::Late,
            "reminder" => ServiceEvent::Reminder,
            "test" => ServiceEvent::Test,
            other => {
                return Err(format!("eventType must be down, up, degraded, late, reminder or test, got {other:?}"))
            }
        };
        Ok(Self { channel_type: channel_type.to_owned(), event, event_type: event_type.to_owned() })
    }
}

/// The channel a test goes to: the first of `channel_type` (exact, as the seed).
///
/// # Errors
/// `(status, message)` as the seed: 400 `Notifications are disabled in config`, 404
/// `Channel type 'X' not found in config`, 400 `Channel '<name>' is disabled`.
pub fn test_channel<'a>(
    config: &'a NotificationsConfig,
    channel_type: &str,
) -> Result<&'a ChannelConfig, (u16, String)> {
    if !config.enabled {
        return Err((400, "Notifications are disabled in config".to_owned()));
    }
    let channel = config
        .channels
        .iter()
        .find(|c| c.kind.as_str() == channel_type)
        .ok_or_else(|| (404, format!("Channel type '{channel_type}' not found in config")))?;
    if !channel.enabled {
        return Err((400, format!("Channel '{}' is disabled", channel.name)));
    }
    Ok(channel)
}

/// The notification a test sends at `now`: `event` of the seed's synthetic service
/// `test-service` ("Test Notification Service"), last seen now, linked to `dashboard`.
pub fn test_notification(event: ServiceEvent, now: Timestamp, dashboard: Option<&str>) -> Notification {
    let (status, previous_status) = match event {
        ServiceEvent::Down => (Status::Down, Status::Up),
        ServiceEvent::Up => (Status::Up, Status::Down),
        ServiceEvent::Degraded => (Status::Degraded, Status::Up),
        ServiceEvent::Late => (Status::Late, Status::Up),
        ServiceEvent::Reminder | ServiceEvent::Escalation => (Status::Down, Status::Down),
        ServiceEvent::Test => (Status::Up, Status::Up),
    };
    Notification {
        subject: Subject::Service(event),
        service_id: "test-service".to_owned(),
        service_name: "Test Notification Service".to_owned(),
        group: None,
        status,
        previous_status,
        since: now,
        duration: None,
        message: None,
        dashboard_url: dashboard.map(str::to_owned),
        suppressed: 0,
        last_seen: Some(now),
        metadata: None,
        ack_url: None,
    }
}

/// 200 `{"success": true, "message": "Test <eventType> notification sent to <name>",
/// "channel": name, "type": type, "event": eventType}`.
pub fn test_sent(request: &TestRequest, channel: &ChannelConfig) -> Value {
    json!({
        "success": true,
        "message": format!("Test {} notification sent to {}", request.event_type, channel.name),
        "channel": channel.name,
        "type": channel.kind.as_str(),
        "event": request.event_type,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::notify::alert::{parse_as, Dialect};
    use crate::notify::external::select;
    use crate::notify::Event;

    const CHANNELS: &str = r#"{"channels": [
        {"type": "telegram", "name": "Telegram Bot"},
        {"type": "discord", "name": "Discord", "events": ["down"]},
        {"type": "slack", "name": "Slack", "enabled": false}
    ]}"#;

    fn change(from: Status, to: Status, seen: Option<i64>) -> Change {
        Change {
            service_id: "api".into(),
            at: Timestamp::parse_rfc3339("2025-11-10T12:01:00.456Z").unwrap(),
            seq: 9,
            from,
            to,
            last_seen: seen.map(Timestamp::from_millis),
        }
    }

    #[test]
    fn the_alert_answers_are_the_seeds() {
        let config = NotificationsConfig::parse(Some(CHANNELS)).unwrap();
        let batch = parse_as(
            r#"{"version": "4", "alerts": [{"status": "firing", "labels": {"channels": "teams, slack, discord"},
                "annotations": {"summary": "Disk almost full"}}]}"#,
            Dialect::Cloudflaremon,
        )
        .unwrap();
        // Named channels take the alert whatever their events, as the seed.
        let refusal = select(&config, batch.channels.as_deref(), Routing::Seed(Severity::Warning)).unwrap_err();
        let errors = refusal_errors(&refusal);
        assert_eq!(errors, ["Channel 'teams' not found in configuration", "Channel 'slack' is disabled"]);
        let body = validation_failed(&errors, &config, title(&batch));
        assert_eq!(
            body,
            json!({"success": false, "message": "Alert validation failed", "errors": errors,
                "availableChannels": [{"type": "telegram", "name": "Telegram Bot"}, {"type": "discord", "name": "Discord"}],
                "alertTitle": "Disk almost full"})
        );
        assert_eq!(
            sent("Disk almost full", &["telegram", "telegram"]).to_string(),
            r#"{"alertTitle":"Disk almost full","channelsSent":["telegram","telegram"],"message":"Alert processed and notifications sent","success":true}"#
        );
        assert_eq!(no_channels(Severity::Warning), "No enabled channels for alert severity: warning");
        let empty = parse_as(r#"{"alerts": []}"#, Dialect::Cloudflaremon).unwrap();
        assert_eq!(title(&empty), "Alert");
    }

    #[test]
    fn status_changes_become_the_seeds_history_items() {
        let down = from_change(&change(Status::Up, Status::Down, Some(1_762_775_400_000)), "API").unwrap();
        let json = serde_json::to_value(&down).unwrap();
        assert_eq!(json["title"], "Service Down: API");
        assert_eq!(json["message"], "API is not responding. Last seen: 11/10/2025, 11:50:00 AM");
        assert_eq!((json["severity"].as_str(), json["source"].as_str()), (Some("critical"), Some("heartbeat-monitor")));
        assert_eq!((json["serviceId"].as_str(), json["status"].as_str()), (Some("api"), Some("down")));
        assert_eq!(
            (json["timestamp"].as_str(), json["read"].as_bool()),
            (Some("2025-11-10T12:01:00.456Z"), Some(false))
        );
        assert!(json["id"].as_str().unwrap().starts_with("alert:1762776060456:"));
        assert!(json.get("state").is_none());
        let never = from_change(&change(Status::Up, Status::Down, None), "API").unwrap();
        assert_eq!(never.message, "API is not responding. Last seen: Never");
        let up = from_change(&change(Status::Down, Status::Up, None), "API").unwrap();
        assert_eq!((up.title.as_str(), up.severity.as_str()), ("Service Recovered: API", "info"));
        assert_eq!(up.message, "API has recovered and is now operational.");
        let late = from_change(&change(Status::Up, Status::Late, None), "API").unwrap();
        assert_eq!(
            (late.title.as_str(), late.severity.as_str(), late.status),
            ("Service Degraded: API", "warning", Some("degraded"))
        );
        assert_eq!(late.message, "API is experiencing degraded performance.");
        for (from, to) in [
            (Status::Unknown, Status::Up),
            (Status::Up, Status::Paused),
            (Status::Paused, Status::Up),
            (Status::Late, Status::Degraded),
        ] {
            assert_eq!(from_change(&change(from, to, None), "API"), None, "{from} → {to}");
        }
    }

    #[test]
    fn recent_filters_sorts_and_limits() {
        let defaults = AlertHistoryDefaults::default();
        let now = Timestamp::parse_rfc3339("2025-11-10T12:00:00Z").unwrap();
        let pairs = |p: &[(&str, &str)]| p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        let q = RecentQuery::parse(&[], &defaults, now).unwrap();
        assert_eq!((q.after, q.period_hours, q.limit), (Some(now - crate::time::DAY), 24.0, 20));
        let q = RecentQuery::parse(&pairs(&[("hours", "0"), ("limit", "5000")]), &defaults, now).unwrap();
        assert_eq!((q.after, q.limit), (None, MAX_RECENT));
        let since =
            RecentQuery::parse(&pairs(&[("since", "2025-11-10T11:00:00.000Z"), ("hours", "1.5")]), &defaults, now)
                .unwrap();
        assert_eq!((since.after, since.period_hours), (Timestamp::parse_rfc3339("2025-11-10T11:00:00Z"), 1.5));
        for bad in [("since", "yesterday"), ("hours", "abc"), ("limit", "-1"), ("limit", "2.5")] {
            assert!(RecentQuery::parse(&pairs(&[bad]), &defaults, now).is_err(), "{bad:?}");
        }
        let ext = |fp: &'static str, at: &str| {
            from_external(&External {
                fingerprint: fp,
                state: "resolved",
                title: "Disk",
                message: "m",
                severity: "info",
                source: "grafana",
                received_at: Timestamp::parse_rfc3339(at).unwrap(),
            })
        };
        let items = vec![
            ext("a", "2025-11-10T11:00:00.000Z"),
            ext("b", "2025-11-10T11:30:00.000Z"),
            from_change(&change(Status::Up, Status::Down, None), "API").unwrap(),
        ];
        let answer = recent(items.clone(), &since);
        let times: Vec<&str> = answer.alerts.iter().map(|a| a.timestamp.as_str()).collect();
        assert_eq!(times, ["2025-11-10T12:01:00.456Z", "2025-11-10T11:30:00.000Z"], "strictly after since");
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(
            (json["success"].as_bool(), json["count"].as_u64(), json["periodHours"].as_f64()),
            (Some(true), Some(2), Some(1.5))
        );
        assert_eq!(json["alerts"][1]["state"], "resolved");
        let one = RecentQuery { after: None, period_hours: 24.0, limit: 1 };
        assert_eq!(serde_json::to_value(recent(items, &one)).unwrap()["periodHours"].to_string(), "24");
    }

    #[test]
    fn test_notifications_follow_the_seeds_intended_contract() {
        let config = NotificationsConfig::parse(Some(CHANNELS)).unwrap();
        let req = TestRequest::parse(br#"{"channelType": "telegram"}"#).unwrap();
        assert_eq!((req.event, req.event_type.as_str()), (ServiceEvent::Down, "down"));
        let channel = test_channel(&config, &req.channel_type).unwrap();
        assert_eq!(
            test_sent(&req, channel),
            json!({"success": true, "message": "Test down notification sent to Telegram Bot",
                "channel": "Telegram Bot", "type": "telegram", "event": "down"})
        );
        assert_eq!(
            test_channel(&config, "Telegram").unwrap_err(),
            (404, "Channel type 'Telegram' not found in config".into())
        );
        assert_eq!(test_channel(&config, "slack").unwrap_err(), (400, "Channel 'Slack' is disabled".into()));
        let off = NotificationsConfig::parse(Some(r#"{"enabled": false, "channels": []}"#)).unwrap();
        assert_eq!(test_channel(&off, "telegram").unwrap_err().0, 400);
        assert!(TestRequest::parse(b"{}").is_err());
        assert!(TestRequest::parse(br#"{"channelType": "x", "eventType": "boom"}"#).is_err());
        assert!(TestRequest::parse(b"nope").is_err());
        let up = TestRequest::parse(br#"{"channelType": "discord", "eventType": "up"}"#).unwrap();
        let n = test_notification(up.event, Timestamp::from_millis(5), None);
        assert_eq!((n.event(), n.status, n.service_id.as_str()), (Event::Up, Status::Up, "test-service"));
        assert_eq!(n.service_name, "Test Notification Service");
    }
}
