//! `config/notifications.json` → typed channels, their credentials from the environment, and
//! the routing rule that picks which channels hear about an event.
//!
//! The file format follows the seeds':
//!
//! ```json
//! {"enabled": true,
//!  "channels": [{"type": "discord", "name": "Discord Alerts", "enabled": true,
//!                "config": {}, "events": ["down", "up"]}],
//!  "settings": {"cooldownMinutes": 5, "reminderMinutes": 60, "timezone": "Europe/Paris"},
//!  "templates": {"discord": {"title": "{{emoji}} {{serviceName}} is {{eventType}}"}}}
//! ```
//!
//! Credentials belong in secrets: each comes from the secret or variable named by
//! [`credential_var`], e.g. `NOTIFICATION_DISCORD_ALERTS_WEBHOOKURL`. One written in a
//! channel's `config` (as the seed allows) is used when no secret is set, and listed at build
//! time with a warning to move it ([`NotificationsConfig::notices`]).
//!
//! - [`parse`](NotificationsConfig::parse) (in `parse.rs`): the file → [`NotificationsConfig`].
//! - `credentials.rs`: [`credential_var`], [`resolve`] → [`ResolvedChannel`]s.
//! - `routing.rs`: [`NotificationsConfig::recipients`] and policy checks.

mod credentials;
mod parse;
mod routing;
mod target;

use std::time::Duration;

pub use credentials::{
    credential_var, resolve, seed_credential_var, CredentialKeys, CredentialProblem, FileCredentials,
    MissingCredential, ResolvedChannel,
};
#[cfg(test)]
pub(crate) use parse::tests::SEED_FILE;
pub use target::{
    base, web_url, Gotify, Mailgun, Ntfy, Opsgenie, PagerDuty, Postmark, Pushover, SmsSender, Target, Telegram, Twilio,
    Webhook,
};

use crate::config::unused::ConfigNotice;
use crate::notify::queue::RetryPolicy;
use crate::notify::template::{ChannelTemplates, Template};
use crate::notify::vocab::{ChannelType, Event, Severity};
use crate::time::Zone;

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
/// `webhook` takes `headers` (an object of extra header names to values; `YOUR_TOKEN` in
/// `Authorization` is replaced by the `authToken` credential) and `method` (`POST`, `PUT` or
/// `PATCH`, default `POST`); `email` takes `provider` (`mailgun`, the default, or `postmark`,
/// which makes it a `postmark` channel); `postmark` takes `messageStream` (default
/// `outbound`); `sms` takes `provider` (`twilio`, the only one); `pushover` takes
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
    /// `webhook`: extra request headers, sorted by name, and the method.
    Webhook {
        /// Names and values, each checked by the `http` crate.
        headers: Vec<(String, String)>,
        /// `POST` (the default), `PUT` or `PATCH`.
        method: Option<&'static str>,
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
    /// `postmark` (or `email` with `provider` `postmark`): the message stream.
    Postmark {
        /// `messageStream`, default `outbound`.
        message_stream: Option<String>,
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
    /// Whether external alerts may go to it (`config.externalAlerts`, default `true`).
    pub external_alerts: bool,
    /// Its type's entries of the file's `templates` section.
    pub templates: ChannelTemplates,
    /// Credentials written in `config`, used where no secret is set.
    pub file_credentials: FileCredentials,
}

/// The `settings` object.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct NotificationSettings {
    /// Least time between two notifications about one service (`cooldownMinutes`, default 5).
    pub cooldown: Duration,
    /// How often a `reminder` repeats while a service stays down (`reminderMinutes`, or the
    /// seed's name `repeatAlertMinutes`; absent or 0 means never).
    pub reminder: Option<Duration>,
    /// How failed deliveries are retried (`retry`: `initialSeconds` 1..=3600, default 10;
    /// `maxSeconds` initial..=3600, default 300; `giveUpAfterMinutes` 30..=10080, default
    /// 60). Each attempt times out after 10 s.
    pub retry: RetryPolicy,
    /// Whether status notifications carry the last heartbeat's `metadata`
    /// (`includeMetadata`, default `false`).
    pub include_metadata: bool,
    /// The zone message texts show times in (`timezone`, an IANA name; default UTC).
    pub zone: Zone,
    /// How much of the external-alert history is kept (`alertHistory`).
    pub alert_history: AlertHistory,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            cooldown: DEFAULT_COOLDOWN,
            reminder: None,
            retry: RetryPolicy::default(),
            include_metadata: false,
            zone: Zone::utc(),
            alert_history: AlertHistory::default(),
        }
    }
}

/// `settings.alertHistory`: the retention of D1 `external_alerts` (what
/// `GET /api/v1/alerts/recent` lists), applied by the hourly housekeeping. Each limit is off
/// when its field is absent.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct AlertHistory {
    /// `maxAlerts` (1..=100000): the newest alerts kept.
    pub max_alerts: Option<u32>,
    /// `maxAgeDays` (1..=3650): alerts last received longer ago are deleted.
    pub max_age_days: Option<u32>,
}

/// The whole validated `notifications.json`.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct NotificationsConfig {
    /// Master switch (default `true`); `false` sends nothing.
    pub enabled: bool,
    /// Channels in file order.
    pub channels: Vec<ChannelConfig>,
    /// Cooldown, reminders, retries, time zone, metadata, alert history.
    pub settings: NotificationSettings,
    /// What the build lists about the file without failing: credentials written in it.
    pub notices: Vec<ConfigNotice>,
}

impl NotificationsConfig {
    /// [`resolve`]s the enabled channels' credentials; nothing when the file is disabled.
    pub fn resolve(&self, lookup: impl Fn(&str) -> Option<String>) -> (Vec<ResolvedChannel>, Vec<MissingCredential>) {
        if self.enabled {
            let (mut ready, missing) = resolve(&self.channels, lookup);
            ready.iter_mut().for_each(|r| r.zone = self.settings.zone.clone());
            (ready, missing)
        } else {
            (Vec::new(), Vec::new())
        }
    }
}
