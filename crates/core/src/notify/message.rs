//! A notification as data: what happened to which service (its [`Subject`]), its stored
//! JSON shape ([`wire`]) and its default human text; [`super::template`] replaces that text.
//!
//! Nothing here knows about channels; [`super::render`](mod@super::render) turns a
//! [`Notification`] into one channel's request.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use crate::monitor::Status;
use crate::notify::vocab::{AlertState, Event, Severity, Urgency};
use crate::time::{human_duration, Timestamp, Zone};

/// What a notification about an external alert adds: the alert's identity and severity.
/// JSON: camelCase fields.
#[derive(Clone, Debug, Eq, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertDetails {
    /// Firing or resolved.
    pub state: AlertState,
    /// How bad it is.
    pub severity: Severity,
    /// Who sent it, e.g. `alertmanager`.
    pub source: String,
    /// Identifies the alert across its firing and resolved notifications.
    pub fingerprint: String,
    /// The alert's labels, sorted by name.
    pub labels: BTreeMap<String, String>,
    /// A link to the alert at its source (an `http(s)` URL), if any.
    pub url: Option<String>,
    /// Who sent it, as the AlertDesk namespaces fingerprints
    /// ([`crate::notify::external::sender_id`]: format and key id, never the key); `None` in
    /// notifications stored before senders were told apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
}

/// Most labels an alert's default body lists; the rest are counted.
const BODY_LABELS: usize = 20;

/// A service's own events: every [`Event`] but `alert`, which only an external alert raises.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum ServiceEvent {
    /// [`Event::Down`].
    Down,
    /// [`Event::Up`].
    Up,
    /// [`Event::Degraded`].
    Degraded,
    /// [`Event::Late`].
    Late,
    /// [`Event::Reminder`].
    Reminder,
    /// [`Event::Test`].
    Test,
    /// [`Event::Escalation`].
    Escalation,
}

impl ServiceEvent {
    /// The event it is.
    pub fn event(self) -> Event {
        match self {
            ServiceEvent::Down => Event::Down,
            ServiceEvent::Up => Event::Up,
            ServiceEvent::Degraded => Event::Degraded,
            ServiceEvent::Late => Event::Late,
            ServiceEvent::Reminder => Event::Reminder,
            ServiceEvent::Test => Event::Test,
            ServiceEvent::Escalation => Event::Escalation,
        }
    }

    /// The service event `event` is; `None` for [`Event::Alert`].
    pub fn of(event: Event) -> Option<Self> {
        match event {
            Event::Down => Some(ServiceEvent::Down),
            Event::Up => Some(ServiceEvent::Up),
            Event::Degraded => Some(ServiceEvent::Degraded),
            Event::Late => Some(ServiceEvent::Late),
            Event::Reminder => Some(ServiceEvent::Reminder),
            Event::Test => Some(ServiceEvent::Test),
            Event::Escalation => Some(ServiceEvent::Escalation),
            Event::Alert => None,
        }
    }
}

/// What a notification is about: an event of a monitored service, or an external alert
/// with its details (so an alert without details cannot be built).
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Subject {
    /// A service's status event, or a test.
    Service(ServiceEvent),
    /// An external alert (`POST /api/alert`), firing or resolved.
    Alert(AlertDetails),
}

impl Subject {
    /// The event: the service's, or [`Event::Alert`].
    pub fn event(&self) -> Event {
        match self {
            Subject::Service(e) => e.event(),
            Subject::Alert(_) => Event::Alert,
        }
    }
}

impl From<ServiceEvent> for Subject {
    fn from(event: ServiceEvent) -> Self {
        Subject::Service(event)
    }
}

/// One notification about one service, before it is shaped for a channel.
///
/// Stored as JSON in a ServiceMonitor's and the AlertDesk's pending deliveries and held
/// notifications: `{"event", "serviceId", "serviceName", "group", "status",
/// "previousStatus", "since", "duration", "message", "dashboardUrl", "suppressed"}` (camelCase,
/// `since` in epoch ms, `duration` as `{secs, nanos}` or `null`), plus `"alert":
/// {AlertDetails}` for an `alert` event, `"lastSeen"` (epoch ms) and `"metadata"` (JSON
/// object text) and `"ackUrl"` when known, each omitted otherwise. The [`subject`](Self::subject)
/// is stored as `event` and `alert`; see [`wire::Notification`] for how odd pairs read back.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq)]
#[serde(from = "wire::Notification")]
pub struct Notification {
    /// What happened: a service event, or an external alert and its details.
    pub subject: Subject,
    /// The service id, e.g. `api-prod`; for an alert its source.
    pub service_id: String,
    /// The service's display name, e.g. `Production API`; for an alert its title.
    pub service_name: String,
    /// The service's group id, if it has one.
    pub group: Option<String>,
    /// The status now.
    pub status: Status,
    /// The status before this event.
    pub previous_status: Status,
    /// When the current status began: for `up` the moment of recovery, for `down` and
    /// `reminder` the moment it went down.
    pub since: Timestamp,
    /// For `up`, the downtime that just ended; for `reminder`, the downtime so far.
    pub duration: Option<Duration>,
    /// Why, in the service's or the monitor's words (e.g. `no heartbeat within 300 s`).
    pub message: Option<String>,
    /// A link to this service on the dashboard.
    pub dashboard_url: Option<String>,
    /// How many notifications about this service the cooldown held back since the last one
    /// sent.
    pub suppressed: u32,
    /// When the service's last heartbeat arrived, if it ever sent one (the seed's
    /// `{{lastSeen}}`).
    pub last_seen: Option<Timestamp>,
    /// The last heartbeat's `metadata` object as JSON text, when `settings.includeMetadata`
    /// is on and it had one.
    pub metadata: Option<String>,
    /// The signed link acknowledging the open incident (`down`, `reminder` and
    /// `escalation` of a deployment with `PUBLIC_URL` and a server secret; see
    /// [`crate::escalation::AckLinks`]); the default body ends with `Acknowledge: {url}`.
    pub ack_url: Option<String>,
}

impl Notification {
    /// The `test` notification `POST /api/v1/notifications/test` sends at `now`: about
    /// `service`, or a sample service when `None`; linked to `{dashboard_base}/services/{id}`
    /// for a real service, else to the dashboard itself.
    pub fn test(service: Option<&crate::config::ServiceConfig>, now: Timestamp, dashboard_base: Option<&str>) -> Self {
        Self {
            subject: Subject::Service(ServiceEvent::Test),
            service_id: service.map_or_else(|| "example".to_owned(), |s| s.id.to_string()),
            service_name: service.map_or_else(|| "Example service".to_owned(), |s| s.name.clone()),
            group: service.and_then(|s| s.group.as_ref().map(ToString::to_string)),
            status: Status::Up,
            previous_status: Status::Up,
            since: now,
            duration: None,
            message: None,
            dashboard_url: dashboard_base.map(|base| match service {
                Some(s) => format!("{base}/services/{}", s.id),
                None => base.to_owned(),
            }),
            suppressed: 0,
            last_seen: None,
            metadata: None,
            ack_url: None,
        }
    }

    /// What happened: [`Subject::event`].
    pub fn event(&self) -> Event {
        self.subject.event()
    }

    /// The external alert, if this notification is about one.
    pub fn alert(&self) -> Option<&AlertDetails> {
        match &self.subject {
            Subject::Alert(a) => Some(a),
            Subject::Service(_) => None,
        }
    }

    /// How urgently people should hear about it: for an alert, by state and severity
    /// (resolved and `info` low, `warning` medium, `error` and `critical` high); otherwise
    /// [`Event::urgency`].
    pub fn urgency(&self) -> Urgency {
        match &self.subject {
            Subject::Alert(a) => match (a.state, a.severity) {
                (AlertState::Resolved, _) | (_, Severity::Info) => Urgency::Low,
                (_, Severity::Warning) => Urgency::Medium,
                (_, Severity::Critical | Severity::Error) => Urgency::High,
            },
            Subject::Service(e) => e.event().urgency(),
        }
    }

    /// Whether it ends a problem: `up`, or a resolved alert.
    pub fn resolves(&self) -> bool {
        match &self.subject {
            Subject::Service(e) => *e == ServiceEvent::Up,
            Subject::Alert(a) => a.state == AlertState::Resolved,
        }
    }

    /// The default one-line title, e.g. `🔴 Production API is DOWN` or
    /// `✅ Production API is back UP after 4 min 12 s`; for an alert
    /// `🔥 [CRITICAL] High memory usage` (🔥 critical, 🔴 error, 🟠 warning, 🔵 info) or
    /// `✅ [RESOLVED] High memory usage`.
    pub fn default_title(&self) -> String {
        let name = &self.service_name;
        let after = |prefix: &str| self.duration.map(|d| format!("{prefix}{}", human_duration(d))).unwrap_or_default();
        match &self.subject {
            Subject::Service(ServiceEvent::Down) => format!("🔴 {name} is DOWN"),
            Subject::Service(ServiceEvent::Up) => format!("✅ {name} is back UP{}", after(" after ")),
            Subject::Service(ServiceEvent::Degraded) => format!("🟠 {name} is DEGRADED"),
            Subject::Service(ServiceEvent::Late) => format!("🟡 {name} is LATE"),
            Subject::Service(ServiceEvent::Reminder) => format!("🔴 {name} is still DOWN{}", after(" after ")),
            Subject::Service(ServiceEvent::Test) => format!("🧪 Test notification for {name}"),
            Subject::Service(ServiceEvent::Escalation) => {
                format!("🚨 {name} is still DOWN and not acknowledged{}", after(" after "))
            }
            Subject::Alert(a) if a.state == AlertState::Resolved => format!("✅ [RESOLVED] {name}"),
            Subject::Alert(a) => {
                let icon = match a.severity {
                    Severity::Critical => "🔥",
                    Severity::Error => "🔴",
                    Severity::Warning => "🟠",
                    Severity::Info => "🔵",
                };
                format!("{icon} [{}] {name}", a.severity.as_str().to_ascii_uppercase())
            }
        }
    }

    /// The default body: a sentence saying what happened and when, then `Details:`,
    /// `Service:`, `Group:` and cooldown lines as they apply, separated by `\n`. The dashboard
    /// link is not included: each channel shows it in its own way.
    ///
    /// For an alert: its message, `Source:`, `Severity:`, `Labels:` with one `name=value`
    /// line per label (the first 20 by name, then `and N more`), then `Started: …` while
    /// firing or `Resolved after …` once resolved.
    ///
    /// Times are in UTC; [`default_body_in`](Self::default_body_in) shows them in a zone.
    pub fn default_body(&self) -> String {
        self.default_body_in(&Zone::utc())
    }

    /// [`default_body`](Self::default_body) with times in `zone` (`settings.timezone`), and
    /// the heartbeat's [`metadata`](Self::metadata), when present, as `Metadata:` and one
    /// `key=value` line per key (the first 20, then `and N more`; string values as they are,
    /// others as JSON).
    pub fn default_body_in(&self, zone: &Zone) -> String {
        let event = match &self.subject {
            Subject::Alert(a) => return self.alert_body(a, zone),
            Subject::Service(e) => *e,
        };
        let name = &self.service_name;
        let since = self.since.human_in(zone);
        let mut lines = vec![match event {
            ServiceEvent::Down => format!("{name} is down since {since}."),
            ServiceEvent::Up => match self.duration {
                Some(d) => format!("{name} is up again since {since}, after {} down.", human_duration(d)),
                None => format!("{name} is up again since {since}."),
            },
            ServiceEvent::Degraded => format!("{name} reported trouble at {since}."),
            ServiceEvent::Late => format!(
                "{name}'s heartbeat is overdue since {since}; it goes down if none arrives within its grace period."
            ),
            ServiceEvent::Reminder => match self.duration {
                Some(d) => format!("{name} is still down, for {} now (since {since}).", human_duration(d)),
                None => format!("{name} is still down (since {since})."),
            },
            ServiceEvent::Test => {
                format!("This is a test notification from Systole for {name}. If you can read it, the channel works.")
            }
            ServiceEvent::Escalation => match self.duration {
                Some(d) => format!(
                    "{name} is down since {since} and nobody acknowledged it for {}: escalated.",
                    human_duration(d)
                ),
                None => format!("{name} is down since {since} and nobody acknowledged it: escalated."),
            },
        }];
        if let Some(message) = &self.message {
            lines.push(format!("Details: {message}"));
        }
        lines.push(format!("Service: {}", self.service_id));
        if let Some(group) = &self.group {
            lines.push(format!("Group: {group}"));
        }
        self.push_metadata(&mut lines);
        self.push_suppressed(&mut lines);
        if let Some(url) = &self.ack_url {
            lines.push(format!("Acknowledge: {url}"));
        }
        lines.join("\n")
    }

    fn push_metadata(&self, lines: &mut Vec<String>) {
        let Some(Ok(serde_json::Value::Object(map))) =
            self.metadata.as_deref().map(serde_json::from_str::<serde_json::Value>)
        else {
            return;
        };
        if map.is_empty() {
            return;
        }
        lines.push("Metadata:".to_owned());
        lines.extend(map.iter().take(BODY_LABELS).map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        }));
        if map.len() > BODY_LABELS {
            lines.push(format!("and {} more", map.len() - BODY_LABELS));
        }
    }

    fn alert_body(&self, a: &AlertDetails, zone: &Zone) -> String {
        let mut lines: Vec<String> = self.message.iter().filter(|m| !m.trim().is_empty()).cloned().collect();
        lines.push(format!("Source: {}", a.source));
        lines.push(format!("Severity: {}", a.severity.as_str()));
        if !a.labels.is_empty() {
            lines.push("Labels:".to_owned());
            lines.extend(a.labels.iter().take(BODY_LABELS).map(|(k, v)| format!("{k}={v}")));
            if a.labels.len() > BODY_LABELS {
                lines.push(format!("and {} more", a.labels.len() - BODY_LABELS));
            }
        }
        let since = self.since.human_in(zone);
        lines.push(match (a.state, self.duration) {
            (AlertState::Firing, _) => format!("Started: {since}"),
            (AlertState::Resolved, Some(d)) => format!("Resolved after {} (at {since})", human_duration(d)),
            (AlertState::Resolved, None) => format!("Resolved at {since}"),
        });
        self.push_suppressed(&mut lines);
        lines.join("\n")
    }

    fn push_suppressed(&self, lines: &mut Vec<String>) {
        match self.suppressed {
            0 => {}
            1 => lines.push("1 more notification was held back by the cooldown.".to_owned()),
            n => lines.push(format!("{n} more notifications were held back by the cooldown.")),
        }
    }
}

impl Serialize for Notification {
    /// The shape in [`Notification`]'s docs, field for field as stored before
    /// [`Subject`] existed.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        wire::NotificationRef {
            event: self.event(),
            service_id: &self.service_id,
            service_name: &self.service_name,
            group: self.group.as_deref(),
            status: self.status,
            previous_status: self.previous_status,
            since: self.since,
            duration: self.duration,
            message: self.message.as_deref(),
            dashboard_url: self.dashboard_url.as_deref(),
            suppressed: self.suppressed,
            alert: self.alert(),
            last_seen: self.last_seen,
            metadata: self.metadata.as_deref(),
            ack_url: self.ack_url.as_deref(),
        }
        .serialize(serializer)
    }
}

/// A [`Notification`] as stored: `event` and an optional `alert` side by side.
pub mod wire {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use serde::{Deserialize, Serialize};

    use super::{AlertDetails, ServiceEvent, Subject};
    use crate::monitor::Status;
    use crate::notify::vocab::{AlertState, Event, Severity};
    use crate::time::Timestamp;

    /// The stored form, read back into a [`super::Notification`].
    ///
    /// Every version wrote `alert` exactly when `event` is `alert`. Other pairs are read
    /// leniently, so one odd entry cannot make a whole queue unreadable: `alert` details on
    /// another event are ignored (as they always were), and an `alert` event without them
    /// reads as a `warning` alert from `serviceId` (fingerprint `serviceId`, no labels),
    /// resolved when `status` is `up`, firing otherwise.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Notification {
        event: Event,
        service_id: String,
        service_name: String,
        group: Option<String>,
        status: Status,
        previous_status: Status,
        since: Timestamp,
        duration: Option<Duration>,
        message: Option<String>,
        dashboard_url: Option<String>,
        suppressed: u32,
        #[serde(default)]
        alert: Option<AlertDetails>,
        #[serde(default)]
        last_seen: Option<Timestamp>,
        #[serde(default)]
        metadata: Option<String>,
        #[serde(default)]
        ack_url: Option<String>,
    }

    /// The stored form, borrowed for writing.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct NotificationRef<'a> {
        pub event: Event,
        pub service_id: &'a str,
        pub service_name: &'a str,
        pub group: Option<&'a str>,
        pub status: Status,
        pub previous_status: Status,
        pub since: Timestamp,
        pub duration: Option<Duration>,
        pub message: Option<&'a str>,
        pub dashboard_url: Option<&'a str>,
        pub suppressed: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub alert: Option<&'a AlertDetails>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub last_seen: Option<Timestamp>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub metadata: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub ack_url: Option<&'a str>,
    }

    impl From<Notification> for super::Notification {
        fn from(w: Notification) -> Self {
            let subject = match (ServiceEvent::of(w.event), w.alert) {
                (Some(e), _) => Subject::Service(e),
                (None, Some(a)) => Subject::Alert(a),
                (None, None) => Subject::Alert(AlertDetails {
                    state: if w.status == Status::Up { AlertState::Resolved } else { AlertState::Firing },
                    severity: Severity::Warning,
                    source: w.service_id.clone(),
                    fingerprint: w.service_id.clone(),
                    labels: BTreeMap::new(),
                    url: None,
                    sender: None,
                }),
            };
            Self {
                subject,
                service_id: w.service_id,
                service_name: w.service_name,
                group: w.group,
                status: w.status,
                previous_status: w.previous_status,
                since: w.since,
                duration: w.duration,
                message: w.message,
                dashboard_url: w.dashboard_url,
                suppressed: w.suppressed,
                last_seen: w.last_seen,
                metadata: w.metadata,
                ack_url: w.ack_url,
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// `Production API` went down at 2025-11-21 19:33:20 UTC.
    pub(crate) fn down() -> Notification {
        Notification {
            subject: Subject::Service(ServiceEvent::Down),
            service_id: "api-prod".to_owned(),
            service_name: "Production API".to_owned(),
            group: Some("production".to_owned()),
            status: Status::Down,
            previous_status: Status::Up,
            since: Timestamp::from_millis(1_763_753_600_000),
            duration: None,
            message: Some("no heartbeat within 300 s".to_owned()),
            dashboard_url: Some("https://status.example.com/services/api-prod".to_owned()),
            suppressed: 0,
            last_seen: None,
            metadata: None,
            ack_url: None,
        }
    }

    /// The same service recovered 4 min 12 s later.
    pub(crate) fn up() -> Notification {
        Notification {
            subject: Subject::Service(ServiceEvent::Up),
            status: Status::Up,
            previous_status: Status::Down,
            since: Timestamp::from_millis(1_763_753_852_000),
            duration: Some(Duration::from_secs(252)),
            message: None,
            ..down()
        }
    }

    /// A critical external alert from Alertmanager, firing since 2025-11-21 19:33:20 UTC.
    pub(crate) fn alert_firing() -> Notification {
        let labels = [("alertname", "HighMemory"), ("instance", "db-1:9100"), ("severity", "critical")];
        Notification {
            subject: Subject::Alert(AlertDetails {
                state: AlertState::Firing,
                severity: Severity::Critical,
                source: "alertmanager".to_owned(),
                fingerprint: "1a30ba71cca2921f".to_owned(),
                labels: labels.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
                url: Some("https://prometheus.example.com/graph?g0.expr=mem".to_owned()),
                sender: None,
            }),
            service_id: "alertmanager".to_owned(),
            service_name: "High memory usage".to_owned(),
            group: None,
            status: Status::Down,
            previous_status: Status::Up,
            since: Timestamp::from_millis(1_763_753_600_000),
            duration: None,
            message: Some("db-1 uses 97 % of its memory".to_owned()),
            dashboard_url: Some("https://prometheus.example.com/graph?g0.expr=mem".to_owned()),
            suppressed: 0,
            last_seen: None,
            metadata: None,
            ack_url: None,
        }
    }

    /// The same alert resolved 4 min 12 s later.
    pub(crate) fn alert_resolved() -> Notification {
        let firing = alert_firing();
        Notification {
            status: Status::Up,
            previous_status: Status::Down,
            since: Timestamp::from_millis(1_763_753_852_000),
            duration: Some(Duration::from_secs(252)),
            subject: Subject::Alert(AlertDetails { state: AlertState::Resolved, ..alert_of(&firing) }),
            ..firing
        }
    }

    /// The details of an alert notification (a copy).
    pub(crate) fn alert_of(n: &Notification) -> AlertDetails {
        n.alert().cloned().unwrap()
    }

    /// `n` with its alert details changed by `f`.
    pub(crate) fn with_alert(mut n: Notification, f: impl FnOnce(&mut AlertDetails)) -> Notification {
        if let Subject::Alert(a) = &mut n.subject {
            f(a);
        }
        n
    }

    fn with_severity(severity: Severity) -> Notification {
        with_alert(alert_firing(), |a| a.severity = severity)
    }

    #[test]
    fn a_test_notification_names_its_service_or_a_sample() {
        let config =
            crate::config::Config::parse(Some(r#"{"services": [{"id": "api", "name": "API"}]}"#), None).unwrap();
        let n = Notification::test(config.service("api"), Timestamp::from_millis(0), Some("https://s.example"));
        assert_eq!((n.event(), n.default_title()), (Event::Test, "🧪 Test notification for API".to_owned()));
        assert_eq!(n.dashboard_url.as_deref(), Some("https://s.example/services/api"));
        let sample = Notification::test(None, Timestamp::from_millis(0), None);
        assert_eq!((sample.service_id.as_str(), sample.dashboard_url), ("example", None));
    }

    #[test]
    fn events_match_the_names_the_service_config_accepts() {
        let names: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(names, crate::config::NOTIFICATION_EVENTS);
        assert_eq!(Event::parse("reminder"), Some(Event::Reminder));
        assert_eq!(Event::parse("Down"), None);
    }

    #[test]
    fn default_text_says_what_happened_in_plain_words() {
        assert_eq!(down().default_title(), "🔴 Production API is DOWN");
        assert_eq!(
            down().default_body(),
            "Production API is down since 2025-11-21 19:33:20 UTC.\n\
             Details: no heartbeat within 300 s\n\
             Service: api-prod\n\
             Group: production"
        );
        assert_eq!(up().default_title(), "✅ Production API is back UP after 4 min 12 s");
        assert_eq!(
            up().default_body(),
            "Production API is up again since 2025-11-21 19:37:32 UTC, after 4 min 12 s down.\n\
             Service: api-prod\n\
             Group: production"
        );
        let reminder = Notification {
            subject: ServiceEvent::Reminder.into(),
            duration: Some(Duration::from_secs(7_200)),
            ..down()
        };
        assert_eq!(reminder.default_title(), "🔴 Production API is still DOWN after 2 h");
        let held = Notification { suppressed: 3, group: None, message: None, ..down() };
        assert_eq!(
            held.default_body(),
            "Production API is down since 2025-11-21 19:33:20 UTC.\n\
             Service: api-prod\n\
             3 more notifications were held back by the cooldown."
        );
    }

    #[test]
    fn alerts_read_with_their_severity_and_labels() {
        assert_eq!(alert_firing().default_title(), "🔥 [CRITICAL] High memory usage");
        assert_eq!(
            alert_firing().default_body(),
            "db-1 uses 97 % of its memory\n\
             Source: alertmanager\n\
             Severity: critical\n\
             Labels:\n\
             alertname=HighMemory\n\
             instance=db-1:9100\n\
             severity=critical\n\
             Started: 2025-11-21 19:33:20 UTC"
        );
        assert_eq!(alert_resolved().default_title(), "✅ [RESOLVED] High memory usage");
        assert!(alert_resolved().default_body().ends_with("Resolved after 4 min 12 s (at 2025-11-21 19:37:32 UTC)"));
        let titles: Vec<String> = [Severity::Error, Severity::Warning, Severity::Info]
            .into_iter()
            .map(|s| with_severity(s).default_title())
            .collect();
        assert_eq!(
            titles,
            ["🔴 [ERROR] High memory usage", "🟠 [WARNING] High memory usage", "🔵 [INFO] High memory usage"]
        );

        let many = with_alert(alert_firing(), |a| {
            a.labels = (0..25).map(|i| (format!("l{i:02}"), "v".to_owned())).collect();
        });
        let body = many.default_body();
        assert!(body.contains("l19=v\nand 5 more\nStarted:"), "{body}");
        assert!(!body.contains("l20=v"));
        let quiet = Notification { message: None, ..alert_firing() };
        assert!(quiet.default_body().starts_with("Source: alertmanager\nSeverity: critical\n"));
    }

    #[test]
    fn alert_urgency_follows_severity_and_resolution() {
        assert_eq!(with_severity(Severity::Critical).urgency(), Urgency::High);
        assert_eq!(with_severity(Severity::Error).urgency(), Urgency::High);
        assert_eq!(with_severity(Severity::Warning).urgency(), Urgency::Medium);
        assert_eq!(with_severity(Severity::Info).urgency(), Urgency::Low);
        assert_eq!(alert_resolved().urgency(), Urgency::Low);
        assert_eq!(down().urgency(), Urgency::High);
        assert_eq!(up().urgency(), Urgency::Low);
    }

    #[test]
    fn alert_details_are_stored_only_when_present() {
        let json = serde_json::to_value(alert_firing()).unwrap();
        assert_eq!(json["alert"]["state"], "firing");
        assert_eq!(json["alert"]["severity"], "critical");
        assert_eq!(serde_json::from_value::<Notification>(json).unwrap(), alert_firing());
        let json = serde_json::to_value(down()).unwrap();
        assert!(json.get("alert").is_none(), "pending deliveries stored before alerts still read back");
        assert_eq!(serde_json::from_value::<Notification>(json).unwrap(), down());
    }

    /// `up()` and `alert_resolved()` as the code before [`Subject`] wrote them.
    const STORED_UP: &str = r#"{"event":"up","serviceId":"api-prod","serviceName":"Production API","group":"production","status":"up","previousStatus":"down","since":1763753852000,"duration":{"secs":252,"nanos":0},"message":null,"dashboardUrl":"https://status.example.com/services/api-prod","suppressed":0}"#;
    const STORED_RESOLVED: &str = r#"{"event":"alert","serviceId":"alertmanager","serviceName":"High memory usage","group":null,"status":"up","previousStatus":"down","since":1763753852000,"duration":{"secs":252,"nanos":0},"message":"db-1 uses 97 % of its memory","dashboardUrl":"https://prometheus.example.com/graph?g0.expr=mem","suppressed":0,"alert":{"state":"resolved","severity":"critical","source":"alertmanager","fingerprint":"1a30ba71cca2921f","labels":{"alertname":"HighMemory","instance":"db-1:9100","severity":"critical"},"url":"https://prometheus.example.com/graph?g0.expr=mem"}}"#;

    #[test]
    fn notifications_stored_by_earlier_versions_read_back_and_are_written_alike() {
        for (stored, n) in [(STORED_UP, up()), (STORED_RESOLVED, alert_resolved())] {
            assert_eq!(serde_json::from_str::<Notification>(stored).unwrap(), n);
            assert_eq!(serde_json::to_string(&n).unwrap(), stored, "the same bytes, field order included");
        }
    }

    #[test]
    fn odd_stored_pairs_of_event_and_alert_read_leniently() {
        let mut json = serde_json::to_value(alert_firing()).unwrap();
        json["event"] = "down".into();
        let n: Notification = serde_json::from_value(json.clone()).unwrap();
        assert_eq!((n.subject, n.service_id.as_str()), (Subject::Service(ServiceEvent::Down), "alertmanager"));
        json["event"] = "alert".into();
        json.as_object_mut().unwrap().remove("alert");
        let n: Notification = serde_json::from_value(json).unwrap();
        let a = n.alert().unwrap();
        assert_eq!((a.state, a.severity, a.source.as_str()), (AlertState::Firing, Severity::Warning, "alertmanager"));
    }
}
