//! `config/notifications.json` → typed channels, their credentials from the environment, and
//! the routing rule that picks which channels hear about an event.
//!
//! The file format follows the seeds':
//!
//! ```json
//! {"enabled": true,
//!  "channels": [{"type": "discord", "name": "Discord Alerts", "enabled": true,
//!                "config": {}, "events": ["down", "up"]}],
//!  "settings": {"cooldownMinutes": 5, "reminderMinutes": 60}}
//! ```
//!
//! Credentials never live in the file: each comes from the secret or variable named by
//! [`credential_var`], e.g. `NOTIFICATION_DISCORD_ALERTS_WEBHOOKURL`. A channel's `config`
//! holds only non-secret options ([`ChannelOptions`]).
//!
//! - [`parse`](NotificationsConfig::parse) (in `parse.rs`): the file → [`NotificationsConfig`].
//! - `credentials.rs`: [`credential_var`], [`resolve`] → [`ResolvedChannel`]s.
//! - `routing.rs`: [`NotificationsConfig::recipients`] and policy checks.

mod credentials;
mod parse;
mod routing;
mod target;

use std::time::Duration;

pub use credentials::{credential_var, resolve, CredentialKeys, CredentialProblem, MissingCredential, ResolvedChannel};
pub use target::{base, web_url, Gotify, Mailgun, Ntfy, Opsgenie, PagerDuty, Pushover, Target, Telegram, Webhook};

use crate::notify::queue::RetryPolicy;
use crate::notify::template::Template;
use crate::notify::vocab::{ChannelType, Event, Severity};

/// Longest cooldown or reminder interval accepted: one week, in minutes.
pub const MAX_MINUTES: u64 = 10_080;
/// Cooldown between two notifications about one service when the file sets none: 5 minutes.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(300);
/// Events a channel receives when it lists none.
pub const DEFAULT_EVENTS: [Event; 5] = [Event::Down, Event::Up, Event::Degraded, Event::Reminder, Event::Alert];
/// Longest channel name accepted, in characters.
pub const MAX_NAME: usize = 64;

/// A channel's non-secret options, from its `config` object.
///
/// Every type accepts `title` and `body` (templates, see [`Template`]) and `minSeverity`
/// (`critical`, `error`, `warning` or `info`, default `info`: the least severe external
/// alert the channel receives when a request names no channels). Besides those:
/// `webhook` takes `headers` (an object of extra header names to values); `pushover` takes
/// `priority` (-2..=2, used for `down` and `reminder`, default 1) and, for priority 2,
/// `retry` (seconds, ≥ 30, default 60) and `expire` (seconds, ≤ 10800, default 3600); `ntfy`
/// takes `priority` (1..=5, default 4); `gotify` `priority` (0..=10, default 8); `opsgenie`
/// `priority` (`"P1"`..`"P5"`, default `"P1"`); `pagerduty` takes `severity` (`critical`,
/// `error`, `warning`, `info`; default `critical`) and `source` (default `systole`). Those
/// priorities apply to `down` and `reminder`; other events use each service's normal level.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct ChannelOptions {
    /// Replaces the default title.
    pub title: Option<Template>,
    /// Replaces the default body.
    pub body: Option<Template>,
    /// The least severe external alert sent here by severity routing (`None`: all).
    pub min_severity: Option<Severity>,
    /// The options only this channel's type takes.
    pub specific: SpecificOptions,
}

/// The options of one channel type (see [`ChannelOptions`] for their ranges and defaults);
/// [`resolve`] moves them into the channel's [`Target`].
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub enum SpecificOptions {
    /// A type without options of its own.
    #[default]
    None,
    /// `webhook`: extra request headers, sorted by name.
    Webhook {
        /// Names and values, each checked by the `http` crate.
        headers: Vec<(String, String)>,
    },
    /// `pushover`: priority, and the emergency retry and expiry in seconds.
    Pushover {
        /// -2..=2.
        priority: Option<i32>,
        /// Seconds, 30..=10800.
        retry: Option<u32>,
        /// Seconds, 30..=10800.
        expire: Option<u32>,
    },
    /// `ntfy`, `gotify`, `opsgenie`: a priority on the channel's own scale (Opsgenie `P3`
    /// is 3).
    Priority {
        /// The priority for `down` and `reminder`.
        priority: Option<i32>,
    },
    /// `pagerduty`: severity for `down` and `reminder`, and `payload.source`.
    PagerDuty {
        /// The severity.
        severity: Option<Severity>,
        /// The source.
        source: Option<String>,
    },
}

/// One configured channel.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ChannelConfig {
    /// Which API it talks to.
    pub kind: ChannelType,
    /// Its name, unique in the file (also after [`credential_var`] folding).
    pub name: String,
    /// Whether it sends at all (default `true`).
    pub enabled: bool,
    /// Events it receives unless a service names its own (default [`DEFAULT_EVENTS`]).
    pub events: Vec<Event>,
    /// Non-secret options.
    pub options: ChannelOptions,
}

/// The `settings` object.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct NotificationSettings {
    /// Least time between two notifications about one service (`cooldownMinutes`, default 5).
    pub cooldown: Duration,
    /// How often a `reminder` repeats while a service stays down (`reminderMinutes`; absent
    /// or 0 means never).
    pub reminder: Option<Duration>,
    /// How failed deliveries are retried (`retry`: `initialSeconds` 1..=3600, default 10;
    /// `maxSeconds` initial..=3600, default 300; `giveUpAfterMinutes` 30..=10080, default
    /// 60). Each attempt times out after 10 s.
    pub retry: RetryPolicy,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self { cooldown: DEFAULT_COOLDOWN, reminder: None, retry: RetryPolicy::default() }
    }
}

/// The whole validated `notifications.json`.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct NotificationsConfig {
    /// Master switch (default `true`); `false` sends nothing.
    pub enabled: bool,
    /// Channels in file order.
    pub channels: Vec<ChannelConfig>,
    /// Cooldown and reminders.
    pub settings: NotificationSettings,
}

impl NotificationsConfig {
    /// [`resolve`]s the enabled channels' credentials; nothing when the file is disabled.
    pub fn resolve(&self, lookup: impl Fn(&str) -> Option<String>) -> (Vec<ResolvedChannel>, Vec<MissingCredential>) {
        if self.enabled {
            resolve(&self.channels, lookup)
        } else {
            (Vec::new(), Vec::new())
        }
    }
}
