//! `{placeholder}` templates that replace a notification's default title or body, written
//! in a channel's `config` (`"title": "{service.name} is {status}"`).

use crate::notify::message::Notification;
use crate::time::human_duration;

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
    /// `{alert.severity}`: an external alert's severity (`critical`, `error`, `warning`,
    /// `info`); nothing for other events.
    AlertSeverity,
    /// `{alert.source}`: who sent an external alert, e.g. `alertmanager`; nothing for other
    /// events.
    AlertSource,
    /// `{alert.state}`: an external alert's state (`firing`, `resolved`); nothing for other
    /// events.
    AlertState,
}

impl Placeholder {
    /// Every placeholder with its name (without braces).
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

    fn value(self, n: &Notification) -> String {
        match self {
            Placeholder::ServiceName => n.service_name.clone(),
            Placeholder::ServiceId => n.service_id.clone(),
            Placeholder::Group => n.group.clone().unwrap_or_default(),
            Placeholder::Status => n.status.as_str().to_owned(),
            Placeholder::PreviousStatus => n.previous_status.as_str().to_owned(),
            Placeholder::Since => n.since.human(),
            Placeholder::Duration => n.duration.map(human_duration).unwrap_or_default(),
            Placeholder::Message => n.message.clone().unwrap_or_default(),
            Placeholder::DashboardUrl => n.dashboard_url.clone().unwrap_or_default(),
            Placeholder::AlertSeverity => n.alert().map(|a| a.severity.as_str().to_owned()).unwrap_or_default(),
            Placeholder::AlertSource => n.alert().map(|a| a.source.clone()).unwrap_or_default(),
            Placeholder::AlertState => n.alert().map(|a| a.state.as_str().to_owned()).unwrap_or_default(),
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
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::notify::message::tests::{alert_firing, alert_resolved, down, up};

    #[test]
    fn alert_placeholders_are_empty_for_other_events() {
        let t = Template::parse("{alert.state}/{alert.severity}/{alert.source}").unwrap();
        assert_eq!(t.render(&alert_firing()), "firing/critical/alertmanager");
        assert_eq!(t.render(&alert_resolved()), "resolved/critical/alertmanager");
        assert_eq!(t.render(&down()), "//");
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
             {previous_status}, {since}, {duration}, {message}, {dashboard_url}, {alert.severity}, \
             {alert.source}, {alert.state}"
        );
        assert_eq!(Template::parse("é {status").unwrap_err(), TemplateError::Unclosed(2));
        assert_eq!(Template::parse("a } b").unwrap_err(), TemplateError::Unmatched(2));
        assert_eq!(Template::parse("").unwrap().render(&down()), "");
    }
}
