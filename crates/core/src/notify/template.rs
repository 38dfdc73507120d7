//! Templates that replace a notification's default text, in two syntaxes:
//! - ours, `{placeholder}`, in a channel's `config` (`"title": "{service.name} is {status}"`);
//! - the cloudflaremon seed's, `{{variable}}`, in the file's `templates` section, one
//!   [`SeedTemplate`] per channel type (and `<type>_external` for external alerts).
//!
//! Both parse into one [`Template`]: literal text and [`Placeholder`]s. An unknown name is
//! an error when the file is parsed (the seed would leave it in the text).

use crate::notify::message::Notification;
use crate::notify::vocab::{ChannelType, Event, Severity, Urgency};
use crate::time::{human_duration, Timestamp, Zone};

/// A value a template can insert.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Placeholder {
    /// `{service.name}`, `{{serviceName}}`: the display name; `{{title}}`: an external
    /// alert's title.
    ServiceName,
    /// `{service.id}`, `{{serviceId}}`: the service id.
    ServiceId,
    /// `{group}`: the group id, or nothing.
    Group,
    /// `{status}`: the status now, e.g. `down`.
    Status,
    /// `{previous_status}`: the status before, e.g. `up`.
    PreviousStatus,
    /// `{since}`: when the current status began, e.g. `2025-11-21 19:33:20 UTC`, in the
    /// file's `settings.timezone`.
    Since,
    /// `{duration}`: e.g. `4 min 12 s`, or nothing.
    Duration,
    /// `{message}`, `{{message}}`: the details (an external alert's message), or nothing.
    Message,
    /// `{dashboard_url}`: the dashboard link, or nothing.
    DashboardUrl,
    /// `{alert.severity}`, `{{severity}}`: an external alert's severity (`critical`,
    /// `error`, `warning`, `info`); nothing for other events.
    AlertSeverity,
    /// `{alert.source}`, `{{source}}`: who sent an external alert, e.g. `alertmanager`;
    /// nothing for other events.
    AlertSource,
    /// `{alert.state}`, `{{status}}`: an external alert's state (`firing`, `resolved`);
    /// nothing for other events.
    AlertState,
    /// `{{emoji}}`: 🔴 down and reminder, 🟢 up, 🟡 degraded, ⚪ others; in Slack
    /// `:red_circle:`, `:large_green_circle:`, `:large_orange_circle:`, `:white_circle:`. An
    /// external alert counts as down when its urgency is high, degraded when medium, up when
    /// low or resolved (the seed's severity mapping).
    Emoji,
    /// `{{eventType}}`: the event upper-cased, e.g. `DOWN`.
    EventType,
    /// `{{lastSeen}}`: the last heartbeat as RFC 3339 UTC, or `Never`.
    LastSeen,
    /// `{{timestamp}}`: when the event happened (its `since`) as `11/21/2025, 7:33:20 PM`
    /// (JavaScript's en-US `toLocaleString`) in the file's `settings.timezone`.
    Timestamp,
    /// `{{timestampISO}}`: when the message is rendered, RFC 3339 UTC.
    TimestampIso,
}

/// The names of one template syntax and the placeholders they stand for.
pub type Names = &'static [(&'static str, Placeholder)];

impl Placeholder {
    /// Our `{placeholder}` names (without braces).
    pub const ALL: [(&'static str, Placeholder); 12] = [
        ("service.name", Placeholder::ServiceName),
        ("service.id", Placeholder::ServiceId),
        ("group", Placeholder::Group),
        ("status", Placeholder::Status),
        ("previous_status", Placeholder::PreviousStatus),
        ("since", Placeholder::Since),
        ("duration", Placeholder::Duration),
        ("message", Placeholder::Message),
        ("dashboard_url", Placeholder::DashboardUrl),
        ("alert.severity", Placeholder::AlertSeverity),
        ("alert.source", Placeholder::AlertSource),
        ("alert.state", Placeholder::AlertState),
    ];

    /// The seed's `{{variable}}` names for a service's status events (and tests).
    pub const SEED_SERVICE: [(&'static str, Placeholder); 7] = [
        ("emoji", Placeholder::Emoji),
        ("eventType", Placeholder::EventType),
        ("serviceName", Placeholder::ServiceName),
        ("serviceId", Placeholder::ServiceId),
        ("lastSeen", Placeholder::LastSeen),
        ("timestamp", Placeholder::Timestamp),
        ("timestampISO", Placeholder::TimestampIso),
    ];

    /// The `{{variable}}` names of the `<type>_external` templates (external alerts).
    pub const SEED_EXTERNAL: [(&'static str, Placeholder); 8] = [
        ("emoji", Placeholder::Emoji),
        ("title", Placeholder::ServiceName),
        ("message", Placeholder::Message),
        ("severity", Placeholder::AlertSeverity),
        ("source", Placeholder::AlertSource),
        ("status", Placeholder::AlertState),
        ("timestamp", Placeholder::Timestamp),
        ("timestampISO", Placeholder::TimestampIso),
    ];

    fn value(self, n: &Notification, cx: &Context<'_>) -> String {
        match self {
            Placeholder::ServiceName => n.service_name.clone(),
            Placeholder::ServiceId => n.service_id.clone(),
            Placeholder::Group => n.group.clone().unwrap_or_default(),
            Placeholder::Status => n.status.as_str().to_owned(),
            Placeholder::PreviousStatus => n.previous_status.as_str().to_owned(),
            Placeholder::Since => n.since.human_in(cx.zone),
            Placeholder::Duration => n.duration.map(human_duration).unwrap_or_default(),
            Placeholder::Message => n.message.clone().unwrap_or_default(),
            Placeholder::DashboardUrl => n.dashboard_url.clone().unwrap_or_default(),
            Placeholder::AlertSeverity => n.alert().map(|a| a.severity.as_str().to_owned()).unwrap_or_default(),
            Placeholder::AlertSource => n.alert().map(|a| a.source.clone()).unwrap_or_default(),
            Placeholder::AlertState => n.alert().map(|a| a.state.as_str().to_owned()).unwrap_or_default(),
            Placeholder::Emoji => emoji(n, cx.kind == ChannelType::Slack).to_owned(),
            Placeholder::EventType => n.event().as_str().to_ascii_uppercase(),
            Placeholder::LastSeen => n.last_seen.map_or_else(|| "Never".to_owned(), Timestamp::to_rfc3339),
            Placeholder::Timestamp => n.since.locale_in(cx.zone),
            Placeholder::TimestampIso => cx.now.to_rfc3339(),
        }
    }
}

/// The seed's status emoji of `n`, as a character or (for Slack) as Slack's `:name:`.
fn emoji(n: &Notification, slack: bool) -> &'static str {
    let event = match n.alert() {
        Some(_) if n.resolves() => Event::Up,
        Some(_) => match n.urgency() {
            Urgency::High => Event::Down,
            Urgency::Medium => Event::Degraded,
            Urgency::Low => Event::Up,
        },
        None => n.event(),
    };
    match (event, slack) {
        (Event::Down | Event::Reminder, false) => "🔴",
        (Event::Down | Event::Reminder, true) => ":red_circle:",
        (Event::Up, false) => "🟢",
        (Event::Up, true) => ":large_green_circle:",
        (Event::Degraded, false) => "🟡",
        (Event::Degraded, true) => ":large_orange_circle:",
        (_, false) => "⚪",
        (_, true) => ":white_circle:",
    }
}

/// What a template needs besides the notification: the time it is rendered, the zone times
/// are shown in, and the channel type (Slack writes emoji as `:name:`).
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// When the message is rendered (`{{timestampISO}}`).
    pub now: Timestamp,
    /// The file's `settings.timezone`.
    pub zone: &'a Zone,
    /// The channel's type.
    pub kind: ChannelType,
}

/// A parsed text template: literal text and placeholders. Placeholders whose value is
/// absent render as nothing.
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
    /// A `{{name}}` that is not a variable of its template.
    #[error("unknown variable {{{{{name}}}}}, expected one of {expected}")]
    UnknownVariable {
        /// The name between the braces, as written.
        name: String,
        /// The variables this template takes, e.g. `{{emoji}}, {{eventType}}`.
        expected: String,
    },
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
    /// Parses our syntax: `{service.name} is {status} ({message})`; `{{` and `}}` stand for
    /// literal braces.
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
                    push_value(&mut parts, &mut literal, placeholder);
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Self(parts))
    }

    /// Parses the cloudflaremon seed's syntax: `{{serviceName}} is {{eventType}}`, each
    /// `{{name}}` one of `names` (case-sensitive, no spaces inside the braces, as the seed
    /// replaces them); every other character, single braces and a `{{` without `}}`
    /// included, is literal text.
    ///
    /// # Errors
    /// [`TemplateError::UnknownVariable`] for a `{{name}}` not in `names` (the seed would
    /// leave it in the message).
    pub fn parse_seed(text: &str, names: Names) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            let Some(close) = rest[open + 2..].find("}}") else { break };
            let name = &rest[open + 2..open + 2 + close];
            literal.push_str(&rest[..open]);
            let Some(&(_, placeholder)) = names.iter().find(|(n, _)| *n == name) else {
                let expected = names.iter().map(|(n, _)| format!("{{{{{n}}}}}")).collect::<Vec<_>>().join(", ");
                return Err(TemplateError::UnknownVariable { name: name.to_owned(), expected });
            };
            push_value(&mut parts, &mut literal, placeholder);
            rest = &rest[open + 2 + close + 2..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Self(parts))
    }

    /// The text with every placeholder replaced by this notification's value.
    pub fn render(&self, n: &Notification, cx: &Context<'_>) -> String {
        self.render_escaped(n, cx, |_| None)
    }

    /// [`render`](Self::render) with `escape` applied to the inserted values only: the
    /// literal text is markup its author wrote, the values are text (a service name cannot
    /// form a link or a mention).
    pub fn render_escaped(
        &self,
        n: &Notification,
        cx: &Context<'_>,
        escape: fn(char) -> Option<&'static str>,
    ) -> String {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Value(p) => {
                    for c in p.value(n, cx).chars() {
                        match escape(c) {
                            Some(e) => out.push_str(e),
                            None => out.push(c),
                        }
                    }
                }
            }
        }
        out
    }
}

fn push_value(parts: &mut Vec<Part>, literal: &mut String, placeholder: Placeholder) {
    if !literal.is_empty() {
        parts.push(Part::Text(std::mem::take(literal)));
    }
    parts.push(Part::Value(placeholder));
}

/// One entry of the file's `templates` section (the cloudflaremon seed's format), parsed:
/// its fields under our names. Which field of which type lands where:
///
/// | type | `title` | `body` | `fields` | `footer` | `severity` |
/// | --- | --- | --- | --- | --- | --- |
/// | discord | `title` | `description` | `fields[{name, value, inline}]` | `footer` | |
/// | slack | `text` | | `fields[{title, value, short}]` | `footer` | |
/// | telegram | | `message` (the whole text, Telegram Markdown) | | | |
/// | email | `subject` | `body` | | | |
/// | pushover | `title` | `message` | | | |
/// | pagerduty | `summary` | | | | `severity` |
///
/// A field that renders blank falls back to the channel's own template, then the default.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct SeedTemplate {
    /// The title (see the table).
    pub title: Option<Template>,
    /// The body.
    pub body: Option<Template>,
    /// Discord embed fields or Slack section fields, in order; none: the defaults.
    pub fields: Vec<TemplateField>,
    /// Discord's or Slack's footer, literal (the seed does not render it).
    pub footer: Option<String>,
    /// PagerDuty's `payload.severity` for every trigger, literal.
    pub severity: Option<Severity>,
}

/// A Discord or Slack field of a [`SeedTemplate`].
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct TemplateField {
    /// Discord `name`, Slack `title`.
    pub name: Template,
    /// Its value.
    pub value: Template,
    /// Discord `inline`, Slack `short` (Slack's Block Kit section fields are always two
    /// columns, so Slack ignores it).
    pub inline: bool,
}

/// The [`SeedTemplate`]s of one channel's type: `templates.<type>` for its services' events
/// and tests, `templates.<type>_external` for external alerts (unlike the seed, which looks
/// them up but never applies them, and falls back to `<type>`).
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct ChannelTemplates {
    /// `templates.<type>`.
    pub service: Option<SeedTemplate>,
    /// `templates.<type>_external`.
    pub external: Option<SeedTemplate>,
}

impl ChannelTemplates {
    /// The template that applies to `n`, if any.
    pub fn of(&self, n: &Notification) -> Option<&SeedTemplate> {
        match n.alert() {
            Some(_) => self.external.as_ref(),
            None => self.service.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::notify::message::tests::{alert_firing, alert_resolved, down, up};
    use crate::notify::message::{ServiceEvent, Subject};

    /// Rendered at 2025-11-21 19:38:20 UTC, in UTC, for Discord.
    fn utc() -> (Zone, Timestamp) {
        (Zone::utc(), Timestamp::from_millis(1_763_753_900_000))
    }

    fn render(t: &Template, n: &Notification) -> String {
        let (zone, now) = utc();
        t.render(n, &Context { now, zone: &zone, kind: ChannelType::Discord })
    }

    #[test]
    fn alert_placeholders_are_empty_for_other_events() {
        let t = Template::parse("{alert.state}/{alert.severity}/{alert.source}").unwrap();
        assert_eq!(render(&t, &alert_firing()), "firing/critical/alertmanager");
        assert_eq!(render(&t, &alert_resolved()), "resolved/critical/alertmanager");
        assert_eq!(render(&t, &down()), "//");
    }

    #[test]
    fn templates_fill_every_placeholder() {
        let t = Template::parse(
            "{service.name} ({service.id}) in {group}: {previous_status} → {status} since {since} \
             after {duration}; {message} {dashboard_url} {{literal}}",
        )
        .unwrap();
        assert_eq!(
            render(&t, &up()),
            "Production API (api-prod) in production: down → up since 2025-11-21 19:37:32 UTC after 4 min 12 s;  \
             https://status.example.com/services/api-prod {literal}"
        );
        let paris = Zone::parse("Europe/Paris").unwrap();
        let cx = Context { now: utc().1, zone: &paris, kind: ChannelType::Slack };
        assert_eq!(Template::parse("{since}").unwrap().render(&up(), &cx), "2025-11-21 20:37:32 CET");
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
             {previous_status}, {since}, {duration}, {message}, {dashboard_url}, {alert.severity}, \
             {alert.source}, {alert.state}"
        );
        assert_eq!(Template::parse("é {status").unwrap_err(), TemplateError::Unclosed(2));
        assert_eq!(Template::parse("a } b").unwrap_err(), TemplateError::Unmatched(2));
        assert_eq!(render(&Template::parse("").unwrap(), &down()), "");
    }

    /// Every variable the seed documents for status events, in New York time, for Discord
    /// and for Slack.
    #[test]
    fn seed_templates_fill_every_documented_variable() {
        let t = Template::parse_seed(
            "{{emoji}} {{eventType}}: {{serviceName}} ({{serviceId}}) last seen {{lastSeen}}, \
             at {{timestamp}} [{{timestampISO}}] {single} {{not closed",
            &Placeholder::SEED_SERVICE,
        )
        .unwrap();
        let n = Notification { last_seen: Some(Timestamp::from_millis(1_763_753_300_123)), ..down() };
        let (_, now) = utc();
        let ny = Zone::parse("america/new_york").unwrap();
        assert_eq!(ny.name(), "America/New_York");
        let discord = Context { now, zone: &ny, kind: ChannelType::Discord };
        assert_eq!(
            t.render(&n, &discord),
            "🔴 DOWN: Production API (api-prod) last seen 2025-11-21T19:28:20.123Z, at 11/21/2025, 2:33:20 PM \
             [2025-11-21T19:38:20.000Z] {single} {{not closed"
        );
        let slack = Context { kind: ChannelType::Slack, ..discord };
        let emoji = Template::parse_seed("{{emoji}}", &Placeholder::SEED_SERVICE).unwrap();
        let of = |event: ServiceEvent| Notification { subject: Subject::Service(event), ..down() };
        let cases = [
            (ServiceEvent::Down, "🔴", ":red_circle:"),
            (ServiceEvent::Reminder, "🔴", ":red_circle:"),
            (ServiceEvent::Up, "🟢", ":large_green_circle:"),
            (ServiceEvent::Degraded, "🟡", ":large_orange_circle:"),
            (ServiceEvent::Late, "⚪", ":white_circle:"),
            (ServiceEvent::Test, "⚪", ":white_circle:"),
        ];
        for (event, plain, named) in cases {
            assert_eq!(
                (emoji.render(&of(event), &discord), emoji.render(&of(event), &slack)),
                (plain.into(), named.into())
            );
        }
        let never = Template::parse_seed("{{lastSeen}} {{timestamp}}", &Placeholder::SEED_SERVICE).unwrap();
        assert_eq!(render(&never, &up()), "Never 11/21/2025, 7:37:32 PM", "UTC by default, 12-hour clock");
    }

    #[test]
    fn external_seed_templates_take_the_alert_variables() {
        let t = Template::parse_seed(
            "{{emoji}} {{title}}: {{message}} ({{severity}} from {{source}}, {{status}}) {{timestamp}} {{timestampISO}}",
            &Placeholder::SEED_EXTERNAL,
        )
        .unwrap();
        assert_eq!(
            render(&t, &alert_firing()),
            "🔴 High memory usage: db-1 uses 97 % of its memory (critical from alertmanager, firing) \
             11/21/2025, 7:33:20 PM 2025-11-21T19:38:20.000Z"
        );
        assert!(render(&t, &alert_resolved()).starts_with("🟢 "));
        assert_eq!(
            Template::parse_seed("{{serviceName}}", &Placeholder::SEED_EXTERNAL).unwrap_err().to_string(),
            "unknown variable {{serviceName}}, expected one of {{emoji}}, {{title}}, {{message}}, {{severity}}, \
             {{source}}, {{status}}, {{timestamp}}, {{timestampISO}}"
        );
        assert_eq!(
            Template::parse_seed("{{ serviceName }}", &Placeholder::SEED_SERVICE).unwrap_err(),
            TemplateError::UnknownVariable {
                name: " serviceName ".to_owned(),
                expected: "{{emoji}}, {{eventType}}, {{serviceName}}, {{serviceId}}, {{lastSeen}}, {{timestamp}}, \
                           {{timestampISO}}"
                    .to_owned(),
            }
        );
    }

    #[test]
    fn values_are_escaped_and_the_template_text_is_not() {
        let t = Template::parse_seed("*{{serviceName}}* <b>", &Placeholder::SEED_SERVICE).unwrap();
        let n = Notification { service_name: "a_b*[c](tg://x) <i>".to_owned(), ..down() };
        let (zone, now) = utc();
        let cx = Context { now, zone: &zone, kind: ChannelType::Telegram };
        assert_eq!(
            t.render_escaped(&n, &cx, crate::notify::text::telegram_markdown),
            "*a\\_b\\*\\[c](tg://x) <i>* <b>"
        );
        assert_eq!(t.render_escaped(&n, &cx, crate::notify::text::markup), "*a_b*[c](tg://x) &lt;i&gt;* <b>");
    }
}
