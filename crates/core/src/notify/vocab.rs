//! The words every part of notifications shares: what happened ([`Event`]), how urgent it is
//! ([`Urgency`]), how bad an external alert is ([`Severity`]), whether it still holds
//! ([`AlertState`]) and which API a channel speaks ([`ChannelType`]).
//!
//! A leaf: this module imports nothing else from `notify`, so every other module can import
//! it without a cycle.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
    /// An external alert (`POST /api/alert`), firing or resolved; the notification's
    /// [`Subject::Alert`](crate::notify::message::Subject::Alert) says which.
    Alert,
    /// A test sent on request, to check that a channel works.
    Test,
    /// An incident neither resolved nor acknowledged reached a level of its service's
    /// escalation policy: sent to that level's channels (named by the policy, whatever
    /// events they take; not in [`Event::ALL`], so a channel's `events` cannot list it).
    Escalation,
}

impl Event {
    /// Every event, in the order of [`crate::config::NOTIFICATION_EVENTS`].
    pub const ALL: [Event; 7] =
        [Event::Down, Event::Up, Event::Degraded, Event::Late, Event::Reminder, Event::Alert, Event::Test];

    /// The lower-case name used in config files and JSON bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Down => "down",
            Event::Up => "up",
            Event::Degraded => "degraded",
            Event::Late => "late",
            Event::Reminder => "reminder",
            Event::Alert => "alert",
            Event::Test => "test",
            Event::Escalation => "escalation",
        }
    }

    /// Parses the lower-case name (exactly; `Down` is not an event).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// How urgently people should hear about it, which channels map to their priority scales.
    ///
    /// An alert's urgency depends on its severity and state: use
    /// [`Notification::urgency`](crate::notify::Notification::urgency); here `alert` is
    /// medium, as for an alert of the default severity `warning`.
    pub fn urgency(self) -> Urgency {
        match self {
            Event::Down | Event::Reminder | Event::Escalation => Urgency::High,
            Event::Degraded | Event::Late | Event::Alert => Urgency::Medium,
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
    /// Something is down: wake someone up (`down`, `reminder`, a firing `critical` or
    /// `error` alert).
    High,
    /// Trouble, not yet an outage (`degraded`, `late`, a firing `warning` alert).
    Medium,
    /// Good news, a test or information (`up`, `test`, a firing `info` alert, a resolved
    /// alert).
    Low,
}

/// An alert's severity, lowest last; PagerDuty's `payload.severity` scale. JSON: the
/// lower-case word.
#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `critical`
    Critical,
    /// `error`
    Error,
    /// `warning`
    Warning,
    /// `info`
    Info,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 4] = [Severity::Critical, Severity::Error, Severity::Warning, Severity::Info];

    /// The lower-case word, also the value PagerDuty expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that is not one of the four severities.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("unknown severity {0:?}, expected one of critical, error, warning, info")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    /// Parses the lower-case word exactly (`critical`, `error`, `warning`, `info`); callers
    /// that accept other spellings normalise first. The one place a severity is parsed.
    ///
    /// # Errors
    /// [`UnknownSeverity`] with the text as given.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| UnknownSeverity(text.to_owned()))
    }
}

/// Whether an alert is going on or over. JSON: the lower-case word, as Alertmanager sends it.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition holds.
    Firing,
    /// The condition no longer holds.
    Resolved,
}

impl AlertState {
    /// The lower-case name: `firing` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }

    /// Parses `firing` or `resolved`, ignoring surrounding whitespace and ASCII case.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "firing" => Some(AlertState::Firing),
            "resolved" => Some(AlertState::Resolved),
            _ => None,
        }
    }
}

/// A kind of channel: which API a notification is shaped for. Written in
/// `notifications.json` as its lower-case `type` ([`ChannelType::as_str`]).
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum ChannelType {
    /// Discord execute-webhook.
    Discord,
    /// Slack incoming webhook.
    Slack,
    /// Telegram Bot API `sendMessage`.
    Telegram,
    /// E-mail through the Mailgun messages API (`type` `email`, `provider` `mailgun` or none).
    Email,
    /// Any HTTP endpoint: a signed JSON body.
    Webhook,
    /// Pushover messages API.
    Pushover,
    /// PagerDuty Events API v2.
    PagerDuty,
    /// ntfy, published as JSON.
    Ntfy,
    /// Microsoft Teams, an Adaptive Card posted to a Workflows webhook.
    Teams,
    /// Google Chat incoming webhook.
    GoogleChat,
    /// Gotify `POST /message`.
    Gotify,
    /// Opsgenie Alert API.
    Opsgenie,
    /// Mattermost incoming webhook (Slack-compatible).
    Mattermost,
    /// Rocket.Chat incoming webhook (Slack-compatible).
    RocketChat,
    /// SMS through Twilio's Messages API (`type` `sms`).
    Sms,
    /// E-mail through Postmark's `/email` API (`type` `email` with `provider` `postmark`, or
    /// `type` `postmark`).
    Postmark,
}

impl ChannelType {
    /// Every channel type, in the order of the documentation.
    pub const ALL: [ChannelType; 16] = [
        ChannelType::Discord,
        ChannelType::Slack,
        ChannelType::Telegram,
        ChannelType::Email,
        ChannelType::Webhook,
        ChannelType::Pushover,
        ChannelType::PagerDuty,
        ChannelType::Ntfy,
        ChannelType::Teams,
        ChannelType::GoogleChat,
        ChannelType::Gotify,
        ChannelType::Opsgenie,
        ChannelType::Mattermost,
        ChannelType::RocketChat,
        ChannelType::Sms,
        ChannelType::Postmark,
    ];

    /// The `type` written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::Discord => "discord",
            ChannelType::Slack => "slack",
            ChannelType::Telegram => "telegram",
            ChannelType::Email => "email",
            ChannelType::Webhook => "webhook",
            ChannelType::Pushover => "pushover",
            ChannelType::PagerDuty => "pagerduty",
            ChannelType::Ntfy => "ntfy",
            ChannelType::Teams => "teams",
            ChannelType::GoogleChat => "googlechat",
            ChannelType::Gotify => "gotify",
            ChannelType::Opsgenie => "opsgenie",
            ChannelType::Mattermost => "mattermost",
            ChannelType::RocketChat => "rocketchat",
            ChannelType::Sms => "sms",
            ChannelType::Postmark => "postmark",
        }
    }

    /// Parses the `type` written in the file (exactly, lower-case).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// Whether a channel of this type is named by the type `text` (a routing entry, an
    /// alert's channel list): its own [`as_str`](Self::as_str), and `email` for Postmark,
    /// which is written `"type": "email", "provider": "postmark"`. `ignore_case` compares
    /// ASCII case-insensitively.
    pub fn is_named(self, text: &str, ignore_case: bool) -> bool {
        let same = |name: &str| if ignore_case { name.eq_ignore_ascii_case(text) } else { name == text };
        same(self.as_str()) || (self == ChannelType::Postmark && same(ChannelType::Email.as_str()))
    }
}

impl fmt::Display for ChannelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn severities_parse_from_their_exact_words_only() {
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>(), Ok(s));
        }
        assert_eq!(
            "Critical".parse::<Severity>().unwrap_err().to_string(),
            "unknown severity \"Critical\", expected one of critical, error, warning, info"
        );
    }

    #[test]
    fn alert_states_parse_ignoring_case_and_spaces() {
        assert_eq!(AlertState::parse(" Resolved "), Some(AlertState::Resolved));
        assert_eq!(AlertState::parse("fired"), None);
    }
}
