//! A notification as data: what happened to which service, its default human text, and
//! `{placeholder}` templates that replace that text.
//!
//! Nothing here knows about channels; [`super::render`] turns a [`Notification`] into one
//! channel's request.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::monitor::Status;
use crate::time::Timestamp;

/// What a notification is about. JSON and config name: the lower-case word.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// The service went down (missed its deadline and grace, or reported `down`).
    Down,
    /// The service recovered.
    Up,
    /// A heartbeat reported `degraded`.
    Degraded,
    /// The deadline passed; the service is inside its grace period.
    Late,
    /// The service is still down; sent every `reminderMinutes`.
    Reminder,
    /// A test sent on request, to check that a channel works.
    Test,
}

impl Event {
    /// Every event, in the order of [`crate::config::NOTIFICATION_EVENTS`].
    pub const ALL: [Event; 6] = [Event::Down, Event::Up, Event::Degraded, Event::Late, Event::Reminder, Event::Test];

    /// The lower-case name used in config files and JSON bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Down => "down",
            Event::Up => "up",
            Event::Degraded => "degraded",
            Event::Late => "late",
            Event::Reminder => "reminder",
            Event::Test => "test",
        }
    }

    /// Parses the lower-case name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// How urgently people should hear about it, which channels map to their priority scales.
    pub fn urgency(self) -> Urgency {
        match self {
            Event::Down | Event::Reminder => Urgency::High,
            Event::Degraded | Event::Late => Urgency::Medium,
            Event::Up | Event::Test => Urgency::Low,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How urgent an event is; each channel maps it onto its own priority or severity scale.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Urgency {
    /// Something is down: wake someone up (`down`, `reminder`).
    High,
    /// Trouble, not yet an outage (`degraded`, `late`).
    Medium,
    /// Good news or a test (`up`, `test`).
    Low,
}

/// One notification about one service, before it is shaped for a channel. Stored as JSON
/// (camelCase fields, `duration` as `{secs, nanos}`) in a ServiceMonitor's pending deliveries.
#[derive(Clone, Debug, Eq, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// What happened.
    pub event: Event,
    /// The service id, e.g. `api-prod`.
    pub service_id: String,
    /// The service's display name, e.g. `Production API`.
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
}

impl Notification {
    /// The default one-line title, e.g. `🔴 Production API is DOWN` or
    /// `✅ Production API is back UP after 4 min 12 s`.
    pub fn default_title(&self) -> String {
        let name = &self.service_name;
        let after = |prefix: &str| self.duration.map(|d| format!("{prefix}{}", human_duration(d))).unwrap_or_default();
        match self.event {
            Event::Down => format!("🔴 {name} is DOWN"),
            Event::Up => format!("✅ {name} is back UP{}", after(" after ")),
            Event::Degraded => format!("🟠 {name} is DEGRADED"),
            Event::Late => format!("🟡 {name} is LATE"),
            Event::Reminder => format!("🔴 {name} is still DOWN{}", after(" after ")),
            Event::Test => format!("🧪 Test notification for {name}"),
        }
    }

    /// The default body: a sentence saying what happened and when, then `Details:`,
    /// `Service:`, `Group:` and cooldown lines as they apply, separated by `\n`. The dashboard
    /// link is not included: each channel shows it in its own way.
    pub fn default_body(&self) -> String {
        let name = &self.service_name;
        let since = human_time(self.since);
        let mut lines = vec![match self.event {
            Event::Down => format!("{name} is down since {since}."),
            Event::Up => match self.duration {
                Some(d) => format!("{name} is up again since {since}, after {} down.", human_duration(d)),
                None => format!("{name} is up again since {since}."),
            },
            Event::Degraded => format!("{name} reported trouble at {since}."),
            Event::Late => format!(
                "{name}'s heartbeat is overdue since {since}; it goes down if none arrives within its grace period."
            ),
            Event::Reminder => match self.duration {
                Some(d) => format!("{name} is still down, for {} now (since {since}).", human_duration(d)),
                None => format!("{name} is still down (since {since})."),
            },
            Event::Test => {
                format!("This is a test notification from Systole for {name}. If you can read it, the channel works.")
            }
        }];
        if let Some(message) = &self.message {
            lines.push(format!("Details: {message}"));
        }
        lines.push(format!("Service: {}", self.service_id));
        if let Some(group) = &self.group {
            lines.push(format!("Group: {group}"));
        }
        match self.suppressed {
            0 => {}
            1 => lines.push("1 more notification was held back by the cooldown.".to_owned()),
            n => lines.push(format!("{n} more notifications were held back by the cooldown.")),
        }
        lines.join("\n")
    }
}

/// A duration for people, truncated to its two largest non-zero units:
/// `4 min 12 s`, `2 h`, `1 d 3 h`, `45 s`; anything under a second is `0 s`.
pub fn human_duration(d: Duration) -> String {
    let units = [(86_400, "d"), (3_600, "h"), (60, "min"), (1, "s")];
    let mut rest = d.as_secs();
    let mut parts = Vec::new();
    for (size, unit) in units {
        let n = rest / size;
        rest %= size;
        if n > 0 || !parts.is_empty() {
            parts.push((n, unit));
        }
        if parts.len() == 2 {
            break;
        }
    }
    let shown: Vec<String> = parts.iter().filter(|(n, _)| *n > 0).map(|(n, unit)| format!("{n} {unit}")).collect();
    if shown.is_empty() {
        "0 s".to_owned()
    } else {
        shown.join(" ")
    }
}

/// A time for people, in UTC to the second: `2025-11-21 19:33:20 UTC`.
pub fn human_time(t: Timestamp) -> String {
    let text = t.to_rfc3339();
    match (text.get(..10), text.get(11..19)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        // Out of the calendar's range `to_rfc3339` gives the raw milliseconds.
        _ => text,
    }
}

/// A value a template can insert, written `{service.name}` and so on.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Placeholder {
    /// `{service.name}`: the display name.
    ServiceName,
    /// `{service.id}`: the service id.
    ServiceId,
    /// `{group}`: the group id, or nothing.
    Group,
    /// `{status}`: the status now, e.g. `down`.
    Status,
    /// `{previous_status}`: the status before, e.g. `up`.
    PreviousStatus,
    /// `{since}`: when the current status began, e.g. `2025-11-21 19:33:20 UTC`.
    Since,
    /// `{duration}`: e.g. `4 min 12 s`, or nothing.
    Duration,
    /// `{message}`: the details, or nothing.
    Message,
    /// `{dashboard_url}`: the dashboard link, or nothing.
    DashboardUrl,
}

impl Placeholder {
    /// Every placeholder with its name (without braces).
    pub const ALL: [(&'static str, Placeholder); 9] = [
        ("service.name", Placeholder::ServiceName),
        ("service.id", Placeholder::ServiceId),
        ("group", Placeholder::Group),
        ("status", Placeholder::Status),
        ("previous_status", Placeholder::PreviousStatus),
        ("since", Placeholder::Since),
        ("duration", Placeholder::Duration),
        ("message", Placeholder::Message),
        ("dashboard_url", Placeholder::DashboardUrl),
    ];

    fn value(self, n: &Notification) -> String {
        match self {
            Placeholder::ServiceName => n.service_name.clone(),
            Placeholder::ServiceId => n.service_id.clone(),
            Placeholder::Group => n.group.clone().unwrap_or_default(),
            Placeholder::Status => n.status.as_str().to_owned(),
            Placeholder::PreviousStatus => n.previous_status.as_str().to_owned(),
            Placeholder::Since => human_time(n.since),
            Placeholder::Duration => n.duration.map(human_duration).unwrap_or_default(),
            Placeholder::Message => n.message.clone().unwrap_or_default(),
            Placeholder::DashboardUrl => n.dashboard_url.clone().unwrap_or_default(),
        }
    }
}

/// A parsed text template: literal text and `{placeholder}`s; `{{` and `}}` stand for
/// literal braces. Placeholders whose value is absent render as nothing.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Template(Vec<Part>);

#[derive(Clone, Debug, Eq, PartialEq)]
enum Part {
    Text(String),
    Value(Placeholder),
}

/// Why a template could not be parsed.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub enum TemplateError {
    /// A `{name}` that is not one of [`Placeholder::ALL`].
    #[error("unknown placeholder {{{0}}}, expected one of {list}", list = placeholder_list())]
    UnknownPlaceholder(String),
    /// A `{` without its `}`.
    #[error("unclosed `{{` at character {0}; write `{{{{` for a literal brace")]
    Unclosed(usize),
    /// A `}` that closes nothing.
    #[error("unmatched `}}` at character {0}; write `}}}}` for a literal brace")]
    Unmatched(usize),
}

fn placeholder_list() -> String {
    Placeholder::ALL.iter().map(|(name, _)| format!("{{{name}}}")).collect::<Vec<_>>().join(", ")
}

impl Template {
    /// Parses a template such as `{service.name} is {status} ({message})`.
    ///
    /// # Errors
    /// [`TemplateError`] for an unknown placeholder or an unbalanced brace; positions count
    /// characters from 0.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().enumerate().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(TemplateError::Unmatched(i)),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, c)) => name.push(c),
                            None => return Err(TemplateError::Unclosed(i)),
                        }
                    }
                    let Some(&(_, placeholder)) = Placeholder::ALL.iter().find(|(n, _)| *n == name) else {
                        return Err(TemplateError::UnknownPlaceholder(name));
                    };
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Value(placeholder));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Self(parts))
    }

    /// The text with every placeholder replaced by this notification's value.
    pub fn render(&self, n: &Notification) -> String {
        self.0
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.clone(),
                Part::Value(p) => p.value(n),
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// `Production API` went down at 2025-11-21 19:33:20 UTC.
    pub(crate) fn down() -> Notification {
        Notification {
            event: Event::Down,
            service_id: "api-prod".to_owned(),
            service_name: "Production API".to_owned(),
            group: Some("production".to_owned()),
            status: Status::Down,
            previous_status: Status::Up,
            since: Timestamp(1_763_753_600_000),
            duration: None,
            message: Some("no heartbeat within 300 s".to_owned()),
            dashboard_url: Some("https://status.example.com/services/api-prod".to_owned()),
            suppressed: 0,
        }
    }

    /// The same service recovered 4 min 12 s later.
    pub(crate) fn up() -> Notification {
        Notification {
            event: Event::Up,
            status: Status::Up,
            previous_status: Status::Down,
            since: Timestamp(1_763_753_852_000),
            duration: Some(Duration::from_secs(252)),
            message: None,
            ..down()
        }
    }

    #[test]
    fn events_match_the_names_the_service_config_accepts() {
        let names: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(names, crate::config::NOTIFICATION_EVENTS);
        assert_eq!(Event::parse("reminder"), Some(Event::Reminder));
        assert_eq!(Event::parse("Down"), None);
    }

    #[test]
    fn durations_read_as_their_two_largest_units() {
        let s = Duration::from_secs;
        assert_eq!(human_duration(s(252)), "4 min 12 s");
        assert_eq!(human_duration(s(45)), "45 s");
        assert_eq!(human_duration(s(3_600)), "1 h");
        assert_eq!(human_duration(s(7_530)), "2 h 5 min");
        assert_eq!(human_duration(s(90_061)), "1 d 1 h");
        assert_eq!(human_duration(s(86_400 + 59)), "1 d", "seconds beyond two units are dropped");
        assert_eq!(human_duration(Duration::from_millis(999)), "0 s");
    }

    #[test]
    fn times_read_in_utc_to_the_second() {
        assert_eq!(human_time(Timestamp(1_763_753_600_123)), "2025-11-21 19:33:20 UTC");
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
        let reminder = Notification { event: Event::Reminder, duration: Some(Duration::from_secs(7_200)), ..down() };
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
    fn templates_fill_every_placeholder() {
        let t = Template::parse(
            "{service.name} ({service.id}) in {group}: {previous_status} → {status} since {since} \
             after {duration}; {message} {dashboard_url} {{literal}}",
        )
        .unwrap();
        assert_eq!(
            t.render(&up()),
            "Production API (api-prod) in production: down → up since 2025-11-21 19:37:32 UTC after 4 min 12 s;  \
             https://status.example.com/services/api-prod {literal}"
        );
    }

    #[test]
    fn template_mistakes_are_caught_when_parsed() {
        assert_eq!(
            Template::parse("{servce.name} is down").unwrap_err(),
            TemplateError::UnknownPlaceholder("servce.name".to_owned())
        );
        assert_eq!(
            Template::parse("{x}").unwrap_err().to_string(),
            "unknown placeholder {x}, expected one of {service.name}, {service.id}, {group}, {status}, \
             {previous_status}, {since}, {duration}, {message}, {dashboard_url}"
        );
        assert_eq!(Template::parse("é {status").unwrap_err(), TemplateError::Unclosed(2));
        assert_eq!(Template::parse("a } b").unwrap_err(), TemplateError::Unmatched(2));
        assert_eq!(Template::parse("").unwrap().render(&down()), "");
    }
}
