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

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::config::{from_json, ConfigError, ConfigErrors, NotificationPolicy, ServiceConfig};
use crate::notify::message::Template;
use crate::notify::queue::RetryPolicy;
use crate::notify::vocab::{ChannelType, Event, Severity};

/// Longest cooldown or reminder interval accepted: one week, in minutes.
pub const MAX_MINUTES: u64 = 10_080;
/// Cooldown between two notifications about one service when the file sets none: 5 minutes.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(300);
/// Events a channel receives when it lists none.
pub const DEFAULT_EVENTS: [Event; 5] = [Event::Down, Event::Up, Event::Degraded, Event::Reminder, Event::Alert];
/// Longest channel name accepted, in characters.
pub const MAX_NAME: usize = 64;

/// The credential keys of one channel type: the last part of their variable names.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct CredentialKeys {
    /// Keys that must be set for the channel to send.
    pub required: &'static [&'static str],
    /// Keys that may be set.
    pub optional: &'static [&'static str],
}

/// Credential keys whose values must be `http://` or `https://` URLs.
const URL_KEYS: [&str; 4] = ["webhookUrl", "url", "topicUrl", "baseUrl"];

impl ChannelType {
    /// The credentials this type needs and accepts.
    ///
    /// `baseUrl` replaces the fixed API origin (e.g. `https://api.telegram.org`) of the types
    /// that have one, so tests can point them at a local receiver. Webhook `secret` turns on
    /// the `X-Systole-Signature` header and `authorization` is sent as the `Authorization`
    /// header; ntfy `token` is an access token for a protected topic.
    pub fn credentials(self) -> CredentialKeys {
        let (required, optional): (&'static [&'static str], &'static [&'static str]) = match self {
            ChannelType::Discord
            | ChannelType::Slack
            | ChannelType::Teams
            | ChannelType::GoogleChat
            | ChannelType::Mattermost
            | ChannelType::RocketChat => (&["webhookUrl"], &[]),
            ChannelType::Telegram => (&["botToken", "chatId"], &["baseUrl"]),
            ChannelType::Email => (&["apiKey", "domain", "to", "from"], &["baseUrl"]),
            ChannelType::Webhook => (&["url"], &["secret", "authorization"]),
            ChannelType::Pushover => (&["token", "user"], &["baseUrl"]),
            ChannelType::PagerDuty => (&["routingKey"], &["baseUrl"]),
            ChannelType::Ntfy => (&["topicUrl"], &["token"]),
            ChannelType::Gotify => (&["url", "token"], &[]),
            ChannelType::Opsgenie => (&["apiKey"], &["baseUrl"]),
        };
        CredentialKeys { required, optional }
    }

    /// The API origin used when no `baseUrl` is set, for the types with a fixed host.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ChannelType::Telegram => Some("https://api.telegram.org"),
            ChannelType::Email => Some("https://api.mailgun.net"),
            ChannelType::Pushover => Some("https://api.pushover.net"),
            ChannelType::PagerDuty => Some("https://events.pagerduty.com"),
            ChannelType::Opsgenie => Some("https://api.opsgenie.com"),
            _ => None,
        }
    }

    /// The `config` options this type accepts besides `title` and `body`.
    fn options(self) -> &'static [&'static str] {
        match self {
            ChannelType::Webhook => &["headers"],
            ChannelType::Pushover => &["priority", "retry", "expire"],
            ChannelType::Ntfy | ChannelType::Gotify | ChannelType::Opsgenie => &["priority"],
            ChannelType::PagerDuty => &["severity", "source"],
            _ => &[],
        }
    }
}

/// The variable (Worker secret or `.dev.vars` entry) holding one credential of one channel:
/// `NOTIFICATION_{CHANNEL_NAME}_{CREDENTIAL_KEY}`, both parts upper-cased with every character
/// outside ASCII letters and digits replaced by `_`.
///
/// `credential_var("Discord Alerts", "webhookUrl")` is
/// `NOTIFICATION_DISCORD_ALERTS_WEBHOOKURL` (the seeds' convention).
pub fn credential_var(channel_name: &str, key: &str) -> String {
    format!("NOTIFICATION_{}_{}", env_part(channel_name), env_part(key))
}

fn env_part(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

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
    /// Extra request headers (webhook), sorted by name.
    pub headers: Vec<(String, String)>,
    /// Priority for `down` and `reminder` on the channel's own scale (Opsgenie `P3` is 3).
    pub priority: Option<i32>,
    /// Pushover emergency retry interval in seconds.
    pub retry: Option<u32>,
    /// Pushover emergency expiry in seconds.
    pub expire: Option<u32>,
    /// PagerDuty severity for `down` and `reminder`.
    pub severity: Option<Severity>,
    /// PagerDuty `payload.source`.
    pub source: Option<String>,
    /// The least severe external alert sent here by severity routing (`None`: all).
    pub min_severity: Option<Severity>,
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
    /// Parses and validates `notifications.json`; `None` (no file) means no channels.
    ///
    /// # Errors
    /// [`ConfigErrors`] listing every problem with its path, e.g.
    /// `notifications.json: channels[2].events[0]: unknown event "exploded", expected one of
    /// …`: malformed JSON or a wrong type (the first one), unknown fields, unknown channel
    /// types, empty, over-long or duplicate channel names (names that fold to the same
    /// variable prefix count as duplicates), unknown or repeated events, an empty `events`
    /// list, unknown or ill-typed options, credentials written into `config`, bad templates,
    /// and `cooldownMinutes`/`reminderMinutes` outside 0..=10080.
    pub fn parse(json: Option<&str>) -> Result<Self, ConfigErrors> {
        let Some(json) = json else {
            return Ok(Self { enabled: true, ..Self::default() });
        };
        let mut errors = Vec::new();
        let Some(raw) = from_json::<raw::File>(FILE, json, &mut errors) else {
            return Err(ConfigErrors(errors));
        };
        let mut err =
            |path: String, reason: String| errors.push(ConfigError { path: format!("{FILE}: {path}"), reason });

        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut channels = Vec::new();
        for (i, c) in raw.channels.iter().enumerate() {
            let at = format!("channels[{i}]");
            let kind = ChannelType::parse(&c.kind);
            if kind.is_none() {
                let all: Vec<&str> = ChannelType::ALL.iter().map(|t| t.as_str()).collect();
                err(
                    format!("{at}.type"),
                    format!("unknown channel type {:?}, expected one of {}", c.kind, all.join(", ")),
                );
            }
            check_name(&at, &c.name, i, &mut seen, &mut err);
            let events = parse_events(&at, c.events.as_deref(), &mut err);
            let options = kind.map(|k| parse_options(&at, k, &c.name, c.config.as_ref(), &mut err));
            if let (Some(kind), Some(options)) = (kind, options) {
                channels.push(ChannelConfig {
                    kind,
                    name: c.name.clone(),
                    enabled: c.enabled.unwrap_or(true),
                    events,
                    options,
                });
            }
        }

        let mut minutes = |path: &str, value: Option<u64>| -> Option<Duration> {
            match value {
                Some(m) if m <= MAX_MINUTES => Some(Duration::from_secs(m * 60)),
                Some(m) => {
                    err(format!("settings.{path}"), format!("must be between 0 and {MAX_MINUTES} (one week), got {m}"));
                    None
                }
                None => None,
            }
        };
        let settings = NotificationSettings {
            cooldown: minutes("cooldownMinutes", raw.settings.cooldown_minutes).unwrap_or(DEFAULT_COOLDOWN),
            reminder: minutes("reminderMinutes", raw.settings.reminder_minutes).filter(|d| !d.is_zero()),
            retry: retry_policy(raw.settings.retry.unwrap_or_default(), &mut err),
        };
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Self { enabled: raw.enabled.unwrap_or(true), channels, settings })
    }

    /// The channels that receive `event` for a service with this policy, in file order.
    ///
    /// The rule: nothing when notifications are off in the file or for the service;
    /// otherwise every enabled channel that the policy names (by channel name or by type;
    /// an empty list names them all) and that takes the event: the policy's `events` when
    /// it lists any, else the channel's own. A `test` is an explicit request, so it skips the
    /// event filters (but not the switches or the channel list).
    pub fn recipients(&self, policy: &NotificationPolicy, event: Event) -> Vec<&ChannelConfig> {
        if !self.enabled || !policy.enabled {
            return Vec::new();
        }
        let named = |c: &ChannelConfig| {
            policy.channels.is_empty() || policy.channels.iter().any(|n| *n == c.name || n == c.kind.as_str())
        };
        let takes = |c: &ChannelConfig| {
            event == Event::Test
                || if policy.events.is_empty() { c.events.contains(&event) } else { policy.events.contains(&event) }
        };
        self.channels.iter().filter(|c| c.enabled && named(c) && takes(c)).collect()
    }

    /// Problems in services' notification policies that only this file can reveal: a
    /// channel entry that matches no channel's name or type here would silently send
    /// nothing. Paths point into `services.json`.
    pub fn check_policies(&self, services: &[ServiceConfig]) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        for (i, s) in services.iter().enumerate() {
            for (j, entry) in s.notifications.channels.iter().enumerate() {
                if !self.channels.iter().any(|c| c.name == *entry || c.kind.as_str() == entry) {
                    errors.push(ConfigError {
                        path: format!("services.json: services[{i}].notifications.channels[{j}]"),
                        reason: format!("{entry:?} matches no channel name or type in {FILE}"),
                    });
                }
            }
        }
        errors
    }

    /// [`resolve`]s the enabled channels' credentials; nothing when the file is disabled.
    pub fn resolve(&self, lookup: impl Fn(&str) -> Option<String>) -> (Vec<ResolvedChannel>, Vec<MissingCredential>) {
        if self.enabled {
            resolve(&self.channels, lookup)
        } else {
            (Vec::new(), Vec::new())
        }
    }
}

const FILE: &str = "notifications.json";

/// The `settings.retry` object, each value checked against its range.
fn retry_policy(raw: raw::Retry, err: &mut impl FnMut(String, String)) -> RetryPolicy {
    let d = RetryPolicy::default();
    let mut check = |key: &str, value: Option<u64>, default: u64, min: u64, max: u64| match value {
        Some(v) if !(min..=max).contains(&v) => {
            err(format!("settings.retry.{key}"), format!("must be between {min} and {max}, got {v}"));
            default
        }
        v => v.unwrap_or(default),
    };
    let initial = check("initialSeconds", raw.initial_seconds, d.initial.as_secs(), 1, 3_600);
    let max = check("maxSeconds", raw.max_seconds, d.max.as_secs().max(initial), initial, 3_600);
    let give_up =
        check("giveUpAfterMinutes", raw.give_up_after_minutes, d.give_up_after.as_secs() / 60, 30, MAX_MINUTES);
    RetryPolicy {
        initial: Duration::from_secs(initial),
        max: Duration::from_secs(max),
        give_up_after: Duration::from_secs(give_up * 60),
        timeout: d.timeout,
    }
}

fn check_name(
    at: &str,
    name: &str,
    i: usize,
    seen: &mut BTreeMap<String, usize>,
    err: &mut impl FnMut(String, String),
) {
    let count = name.chars().count();
    if !name.chars().any(|c| c.is_ascii_alphanumeric()) {
        err(
            format!("{at}.name"),
            format!("must contain a letter or digit (it names the credential variables), got {name:?}"),
        );
    } else if count > MAX_NAME {
        err(format!("{at}.name"), format!("must be at most {MAX_NAME} characters, got {count}"));
    } else if let Some(first) = seen.insert(env_part(name), i) {
        err(
            format!("{at}.name"),
            format!(
                "duplicate channel name {name:?}: its credentials would share {}* with channels[{first}]",
                credential_var(name, "")
            ),
        );
    }
}

fn parse_events(at: &str, events: Option<&[String]>, err: &mut impl FnMut(String, String)) -> Vec<Event> {
    let Some(events) = events else {
        return DEFAULT_EVENTS.to_vec();
    };
    if events.is_empty() {
        err(format!("{at}.events"), "must list at least one event; set \"enabled\": false to silence a channel".into());
    }
    let mut parsed = Vec::new();
    for (k, e) in events.iter().enumerate() {
        match Event::parse(e) {
            Some(event) if parsed.contains(&event) => {
                err(format!("{at}.events[{k}]"), format!("{e:?} is listed twice"))
            }
            Some(event) => parsed.push(event),
            None => {
                let all: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
                err(format!("{at}.events[{k}]"), format!("unknown event {e:?}, expected one of {}", all.join(", ")));
            }
        }
    }
    parsed
}

fn parse_options(
    at: &str,
    kind: ChannelType,
    name: &str,
    config: Option<&serde_json::Map<String, Value>>,
    err: &mut impl FnMut(String, String),
) -> ChannelOptions {
    let mut o = ChannelOptions::default();
    let keys = kind.credentials();
    // Sorted, so the order of errors does not depend on serde_json's map features.
    let mut entries: Vec<(&String, &Value)> = config.into_iter().flatten().collect();
    entries.sort_by_key(|(k, _)| *k);
    for &(key, value) in &entries {
        let path = format!("{at}.config.{key}");
        let mut bad = |reason: String| err(path.clone(), reason);
        if keys.required.contains(&key.as_str()) || keys.optional.contains(&key.as_str()) {
            bad(format!(
                "credentials never live in the file: remove it and set the secret {}",
                credential_var(name, key)
            ));
            continue;
        }
        match (key.as_str(), value) {
            ("title" | "body", Value::String(text)) => match Template::parse(text) {
                Ok(t) if key == "title" => o.title = Some(t),
                Ok(t) => o.body = Some(t),
                Err(e) => bad(e.to_string()),
            },
            ("title" | "body", _) => bad("must be a string template".into()),
            ("minSeverity", Value::String(s)) => match s.parse::<Severity>() {
                Ok(v) => o.min_severity = Some(v),
                Err(e) => bad(e.to_string()),
            },
            (k, _) if !kind.options().contains(&k) => {
                let mut allowed = vec!["title", "body", "minSeverity"];
                allowed.extend(kind.options());
                bad(format!("unknown option for a {kind} channel, expected one of {}", allowed.join(", ")));
            }
            ("headers", value) => o.headers = parse_headers(value, &mut bad),
            ("priority", value) => o.priority = parse_priority(kind, value, &mut bad),
            ("retry", value) => {
                o.retry = int_in(value, 30, 10_800, &mut bad).and_then(|n| u32::try_from(n).ok());
            }
            ("expire", value) => {
                o.expire = int_in(value, 30, 10_800, &mut bad).and_then(|n| u32::try_from(n).ok());
            }
            ("severity", Value::String(s)) => match s.parse::<Severity>() {
                Ok(v) => o.severity = Some(v),
                Err(e) => bad(e.to_string()),
            },
            ("source", Value::String(s)) if !s.trim().is_empty() => o.source = Some(s.clone()),
            (_, _) => bad("must be a non-empty string".into()),
        }
    }
    let given = |k: &str| entries.iter().any(|(key, _)| *key == k);
    if o.priority != Some(2) && (given("retry") || given("expire")) {
        err(format!("{at}.config"), "retry and expire only apply to emergency priority 2".into());
    }
    o
}

fn parse_headers(value: &Value, bad: &mut impl FnMut(String)) -> Vec<(String, String)> {
    let Value::Object(map) = value else {
        bad("must be an object of header names to string values".into());
        return Vec::new();
    };
    let reserved =
        ["content-type", "content-length", "host", "authorization", "x-systole-signature", "x-systole-event"];
    let mut headers = Vec::new();
    let mut sorted: Vec<(&String, &Value)> = map.iter().collect();
    sorted.sort_by_key(|(k, _)| *k);
    for (name, value) in sorted {
        let token =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        let text = value.as_str().filter(|v| v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)));
        match text {
            _ if !token => bad(format!("{name:?} is not a valid header name")),
            _ if reserved.contains(&name.to_ascii_lowercase().as_str()) => {
                bad(format!("header {name:?} is set by Systole (use the authorization credential for Authorization)"));
            }
            Some(v) => headers.push((name.clone(), v.to_owned())),
            None => bad(format!("header {name:?} must be a string of printable ASCII")),
        }
    }
    headers
}

fn parse_priority(kind: ChannelType, value: &Value, bad: &mut impl FnMut(String)) -> Option<i32> {
    let (min, max) = match kind {
        ChannelType::Pushover => (-2, 2),
        ChannelType::Ntfy => (1, 5),
        ChannelType::Gotify => (0, 10),
        _ => (1, 5),
    };
    if kind == ChannelType::Opsgenie {
        let p = value.as_str().and_then(|s| s.strip_prefix('P')).and_then(|n| n.parse::<i32>().ok());
        return match p {
            Some(n) if (1..=5).contains(&n) => Some(n),
            _ => {
                bad(format!("must be one of \"P1\" to \"P5\", got {value}"));
                None
            }
        };
    }
    int_in(value, min, max, bad).and_then(|n| i32::try_from(n).ok())
}

fn int_in(value: &Value, min: i64, max: i64, bad: &mut impl FnMut(String)) -> Option<i64> {
    match value.as_i64() {
        Some(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            bad(format!("must be an integer between {min} and {max}, got {value}"));
            None
        }
    }
}

/// A channel ready to send: its config and every credential it needs.
///
/// `Debug` shows which credentials are present, never their values.
#[derive(Clone, Eq, PartialEq)]
pub struct ResolvedChannel {
    /// The channel's config.
    pub config: ChannelConfig,
    credentials: BTreeMap<&'static str, String>,
}

impl ResolvedChannel {
    /// A credential's value (trimmed; URLs without a trailing `/`), if set.
    pub fn credential(&self, key: &str) -> Option<&str> {
        self.credentials.get(key).map(String::as_str)
    }

    /// The API origin: the `baseUrl` credential, else the type's fixed host.
    pub fn base_url(&self) -> &str {
        self.credential("baseUrl").or(self.config.kind.default_base_url()).unwrap_or_default()
    }
}

impl fmt::Debug for ResolvedChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedChannel")
            .field("config", &self.config)
            .field("credentials", &self.credentials.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A credential an enabled channel cannot send without, or one that is set but unusable.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct MissingCredential {
    /// The channel's name.
    pub channel: String,
    /// The credential key, e.g. `webhookUrl`.
    pub key: &'static str,
    /// The variable to set, e.g. `NOTIFICATION_DISCORD_ALERTS_WEBHOOKURL`.
    pub variable: String,
    /// What is wrong; never contains the value.
    pub problem: CredentialProblem,
}

/// What is wrong with a credential.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
pub enum CredentialProblem {
    /// Not set, or only whitespace.
    #[error("is not set")]
    Missing,
    /// Should be an `http://` or `https://` URL without spaces.
    #[error("is not an http(s) URL")]
    NotAUrl,
    /// An ntfy topic URL must end in the topic, e.g. `https://ntfy.sh/mytopic`.
    #[error("does not end in a topic name")]
    NoTopic,
    /// E-mail `to` must list at least one address, comma-separated.
    #[error("is not a comma-separated list of e-mail addresses")]
    NotAddresses,
}

impl fmt::Display for MissingCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "channel {:?} will not send: {} {}", self.channel, self.variable, self.problem)
    }
}

/// Looks up every enabled channel's credentials with `lookup` (the Worker's secrets and
/// variables), keeping the channels that have all they need and reporting each problem of
/// the others — a channel is never dropped silently. Disabled channels are skipped.
///
/// Values are trimmed; URL-valued keys (`webhookUrl`, `url`, `topicUrl`, `baseUrl`) must be
/// `http(s)://` URLs and lose a trailing `/`.
pub fn resolve(
    channels: &[ChannelConfig],
    lookup: impl Fn(&str) -> Option<String>,
) -> (Vec<ResolvedChannel>, Vec<MissingCredential>) {
    let mut ready = Vec::new();
    let mut missing = Vec::new();
    for channel in channels.iter().filter(|c| c.enabled) {
        let keys = channel.kind.credentials();
        let mut credentials = BTreeMap::new();
        let mut complete = true;
        let required = keys.required.iter().map(|k| (k, true));
        for (&key, needed) in required.chain(keys.optional.iter().map(|k| (k, false))) {
            let variable = credential_var(&channel.name, key);
            let value = lookup(&variable).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
            let checked = match value {
                None if needed => Err(CredentialProblem::Missing),
                None => continue,
                Some(v) => check_credential(channel.kind, key, v),
            };
            match checked {
                Ok(v) => {
                    credentials.insert(key, v);
                }
                Err(problem) => {
                    complete = false;
                    missing.push(MissingCredential { channel: channel.name.clone(), key, variable, problem });
                }
            }
        }
        if complete {
            ready.push(ResolvedChannel { config: channel.clone(), credentials });
        }
    }
    (ready, missing)
}

fn check_credential(kind: ChannelType, key: &str, value: String) -> Result<String, CredentialProblem> {
    if URL_KEYS.contains(&key) {
        let scheme = value.starts_with("https://") || value.starts_with("http://");
        if !scheme || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(CredentialProblem::NotAUrl);
        }
        let value = value.trim_end_matches('/').to_owned();
        if kind == ChannelType::Ntfy && ntfy_topic(&value).is_none() {
            return Err(CredentialProblem::NoTopic);
        }
        return Ok(value);
    }
    if kind == ChannelType::Email && key == "to" && email_list(&value).is_empty() {
        return Err(CredentialProblem::NotAddresses);
    }
    Ok(value)
}

/// Splits an ntfy topic URL into the server root and the topic.
pub(crate) fn ntfy_topic(topic_url: &str) -> Option<(&str, &str)> {
    let (server, topic) = topic_url.rsplit_once('/')?;
    (!topic.is_empty() && server.contains("://") && !server.ends_with('/')).then_some((server, topic))
}

/// The addresses of a comma-separated list; empty if any entry is not an address.
pub(crate) fn email_list(text: &str) -> Vec<&str> {
    let list: Vec<&str> = text.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
    if list.iter().all(|a| a.contains('@')) {
        list
    } else {
        Vec::new()
    }
}

/// The file as written, before validation.
mod raw {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct File {
        pub enabled: Option<bool>,
        #[serde(default)]
        pub channels: Vec<Channel>,
        #[serde(default)]
        pub settings: Settings,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Channel {
        #[serde(rename = "type")]
        pub kind: String,
        pub name: String,
        pub enabled: Option<bool>,
        pub config: Option<serde_json::Map<String, serde_json::Value>>,
        pub events: Option<Vec<String>>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct Settings {
        pub cooldown_minutes: Option<u64>,
        pub reminder_minutes: Option<u64>,
        pub retry: Option<Retry>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct Retry {
        pub initial_seconds: Option<u64>,
        pub max_seconds: Option<u64>,
        pub give_up_after_minutes: Option<u64>,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SEED_EXAMPLE: &str = r#"{
      "enabled": true,
      "channels": [
        {"type": "discord", "name": "Discord Alerts", "enabled": true, "config": {}, "events": ["down", "up"]}
      ],
      "settings": {"cooldownMinutes": 5}
    }"#;

    fn errors(json: &str) -> Vec<String> {
        NotificationsConfig::parse(Some(json)).unwrap_err().0.iter().map(ToString::to_string).collect()
    }

    fn policy(channels: &[&str], events: &[&str]) -> NotificationPolicy {
        NotificationPolicy {
            enabled: true,
            channels: channels.iter().map(|s| s.to_string()).collect(),
            events: events.iter().filter_map(|s| Event::parse(s)).collect(),
        }
    }

    fn names(channels: Vec<&ChannelConfig>) -> Vec<&str> {
        channels.into_iter().map(|c| c.name.as_str()).collect()
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn seed_format_parses_with_defaults() {
        let c = NotificationsConfig::parse(Some(SEED_EXAMPLE)).unwrap();
        assert!(c.enabled);
        assert_eq!(c.settings, NotificationSettings::default());
        assert_eq!(c.settings.cooldown, Duration::from_secs(300));
        let discord = &c.channels[0];
        assert_eq!(
            (discord.kind, discord.name.as_str(), discord.enabled),
            (ChannelType::Discord, "Discord Alerts", true)
        );
        assert_eq!(discord.events, [Event::Down, Event::Up]);
        assert_eq!(discord.options, ChannelOptions::default());

        let minimal = NotificationsConfig::parse(Some(r#"{"channels": [{"type": "slack", "name": "ops"}]}"#)).unwrap();
        assert_eq!(minimal.channels[0].events, DEFAULT_EVENTS);
        assert_eq!(NotificationsConfig::parse(None).unwrap().channels, []);
        let reminders = NotificationsConfig::parse(Some(r#"{"settings": {"reminderMinutes": 60}}"#)).unwrap();
        assert_eq!(reminders.settings.reminder, Some(Duration::from_secs(3_600)));
    }

    #[test]
    fn retry_schedule_is_configurable_within_bounds() {
        let fast = r#"{"settings": {"retry": {"initialSeconds": 1, "maxSeconds": 2, "giveUpAfterMinutes": 30}}}"#;
        let retry = NotificationsConfig::parse(Some(fast)).unwrap().settings.retry;
        assert_eq!((retry.initial.as_secs(), retry.max.as_secs(), retry.give_up_after.as_secs()), (1, 2, 1_800));
        let bad = r#"{"settings": {"retry": {"initialSeconds": 0, "maxSeconds": 5000, "giveUpAfterMinutes": 5}}}"#;
        assert_eq!(
            errors(bad),
            [
                "notifications.json: settings.retry.initialSeconds: must be between 1 and 3600, got 0",
                "notifications.json: settings.retry.maxSeconds: must be between 10 and 3600, got 5000",
                "notifications.json: settings.retry.giveUpAfterMinutes: must be between 30 and 10080, got 5",
            ]
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let got = errors(
            r#"{"channels": [
                 {"type": "carrier-pigeon", "name": "Birds"},
                 {"type": "slack", "name": "Ops Team", "events": ["down", "exploded", "down"]},
                 {"type": "slack", "name": "ops-team"},
                 {"type": "webhook", "name": "!!!", "events": []},
                 {"type": "discord", "name": "d", "config": {"webhookUrl": "https://x", "title": "{servce.name}",
                  "priority": 3}},
                 {"type": "pushover", "name": "p", "config": {"priority": 1, "retry": 10}}
               ],
               "settings": {"cooldownMinutes": 20000, "reminderMinutes": 10081}}"#,
        );
        assert_eq!(
            got,
            [
                "notifications.json: channels[0].type: unknown channel type \"carrier-pigeon\", expected one of \
                 discord, slack, telegram, email, webhook, pushover, pagerduty, ntfy, teams, googlechat, gotify, \
                 opsgenie, mattermost, rocketchat",
                "notifications.json: channels[1].events[1]: unknown event \"exploded\", expected one of down, up, \
                 degraded, late, reminder, alert, test",
                "notifications.json: channels[1].events[2]: \"down\" is listed twice",
                "notifications.json: channels[2].name: duplicate channel name \"ops-team\": its credentials would \
                 share NOTIFICATION_OPS_TEAM_* with channels[1]",
                "notifications.json: channels[3].name: must contain a letter or digit (it names the credential \
                 variables), got \"!!!\"",
                "notifications.json: channels[3].events: must list at least one event; set \"enabled\": false to \
                 silence a channel",
                "notifications.json: channels[4].config.priority: unknown option for a discord channel, expected \
                 one of title, body, minSeverity",
                "notifications.json: channels[4].config.title: unknown placeholder {servce.name}, expected one of \
                 {service.name}, {service.id}, {group}, {status}, {previous_status}, {since}, {duration}, {message}, \
                 {dashboard_url}, {alert.severity}, {alert.source}, {alert.state}",
                "notifications.json: channels[4].config.webhookUrl: credentials never live in the file: remove it \
                 and set the secret NOTIFICATION_D_WEBHOOKURL",
                "notifications.json: channels[5].config.retry: must be an integer between 30 and 10800, got 10",
                "notifications.json: channels[5].config: retry and expire only apply to emergency priority 2",
                "notifications.json: settings.cooldownMinutes: must be between 0 and 10080 (one week), got 20000",
                "notifications.json: settings.reminderMinutes: must be between 0 and 10080 (one week), got 10081",
            ]
        );
    }

    #[test]
    fn wrong_types_and_unknown_fields_name_the_path() {
        assert_eq!(
            errors(r#"{"channels": [{"type": "slack", "name": "a", "events": "down"}]}"#),
            ["notifications.json: channels[0].events: invalid type: string \"down\", expected a sequence at line 1 \
              column 61"]
        );
        let typo = errors(r#"{"settings": {"cooldownMinute": 5}}"#);
        assert!(typo[0].starts_with("notifications.json: settings.cooldownMinute: unknown field"), "{typo:?}");
    }

    #[test]
    fn channel_options_are_typed_per_channel() {
        let c = NotificationsConfig::parse(Some(
            r#"{"channels": [
                 {"type": "webhook", "name": "hook", "config": {"headers": {"X-Team": "sre"}, "body": "{status}"}},
                 {"type": "pushover", "name": "push", "config": {"priority": 2, "retry": 30, "expire": 10800}},
                 {"type": "opsgenie", "name": "genie", "config": {"priority": "P2"}},
                 {"type": "pagerduty", "name": "pd", "config": {"severity": "error", "source": "edge"}}
               ]}"#,
        ))
        .unwrap();
        assert_eq!(c.channels[0].options.headers, [("X-Team".to_owned(), "sre".to_owned())]);
        assert_eq!(c.channels[0].options.body, Some(Template::parse("{status}").unwrap()));
        assert_eq!(
            (c.channels[1].options.priority, c.channels[1].options.retry, c.channels[1].options.expire),
            (Some(2), Some(30), Some(10_800))
        );
        assert_eq!(c.channels[2].options.priority, Some(2));
        assert_eq!(c.channels[3].options.severity, Some(Severity::Error));
        assert_eq!(c.channels[3].options.source.as_deref(), Some("edge"));

        assert_eq!(
            errors(
                r#"{"channels": [
                     {"type": "pushover", "name": "a", "config": {"priority": 2, "expire": 10801}},
                     {"type": "opsgenie", "name": "b", "config": {"priority": "P6"}},
                     {"type": "webhook", "name": "c", "config": {"headers": {"Content-Type": "text/plain", "X y": "1"}}}
                   ]}"#
            ),
            [
                "notifications.json: channels[0].config.expire: must be an integer between 30 and 10800, got 10801",
                "notifications.json: channels[1].config.priority: must be one of \"P1\" to \"P5\", got \"P6\"",
                "notifications.json: channels[2].config.headers: header \"Content-Type\" is set by Systole (use the \
                 authorization credential for Authorization)",
                "notifications.json: channels[2].config.headers: \"X y\" is not a valid header name",
            ]
        );
    }

    #[test]
    fn credential_variables_follow_the_seed_convention() {
        assert_eq!(credential_var("Discord Alerts", "webhookUrl"), "NOTIFICATION_DISCORD_ALERTS_WEBHOOKURL");
        assert_eq!(credential_var("telegram-bot", "botToken"), "NOTIFICATION_TELEGRAM_BOT_BOTTOKEN");
        assert_eq!(credential_var("Équipe ops", "to"), "NOTIFICATION__QUIPE_OPS_TO");
    }

    #[test]
    fn credential_table_covers_every_type() {
        for kind in ChannelType::ALL {
            assert!(!kind.credentials().required.is_empty(), "{kind}");
            assert_eq!(ChannelType::parse(kind.as_str()), Some(kind));
            let has_base = kind.credentials().optional.contains(&"baseUrl");
            assert_eq!(has_base, kind.default_base_url().is_some(), "{kind}: baseUrl only where the host is fixed");
        }
        assert_eq!(ChannelType::Telegram.credentials().required, ["botToken", "chatId"]);
        assert_eq!(ChannelType::Email.credentials().required, ["apiKey", "domain", "to", "from"]);
    }

    #[test]
    fn resolve_keeps_complete_channels_and_reports_the_rest() {
        let c = NotificationsConfig::parse(Some(
            r#"{"channels": [
                 {"type": "discord", "name": "Discord Alerts"},
                 {"type": "telegram", "name": "tg"},
                 {"type": "ntfy", "name": "phone"},
                 {"type": "email", "name": "mail"},
                 {"type": "slack", "name": "off", "enabled": false}
               ]}"#,
        ))
        .unwrap();
        let (ready, missing) = c.resolve(env(&[
            ("NOTIFICATION_DISCORD_ALERTS_WEBHOOKURL", " https://discord.com/api/webhooks/1/abc/ \n"),
            ("NOTIFICATION_TG_BOTTOKEN", "123:XYZ"),
            ("NOTIFICATION_TG_CHATID", "   "),
            ("NOTIFICATION_PHONE_TOPICURL", "https://ntfy.sh/"),
            ("NOTIFICATION_MAIL_APIKEY", "key"),
            ("NOTIFICATION_MAIL_DOMAIN", "mg.example.com"),
            ("NOTIFICATION_MAIL_TO", "ops@example.com, nobody"),
            ("NOTIFICATION_MAIL_FROM", "systole@example.com"),
            ("NOTIFICATION_MAIL_BASEURL", "ftp://x"),
        ]));
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].credential("webhookUrl"), Some("https://discord.com/api/webhooks/1/abc"));
        assert_eq!(
            missing.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "channel \"tg\" will not send: NOTIFICATION_TG_CHATID is not set",
                "channel \"phone\" will not send: NOTIFICATION_PHONE_TOPICURL does not end in a topic name",
                "channel \"mail\" will not send: NOTIFICATION_MAIL_TO is not a comma-separated list of e-mail \
                 addresses",
                "channel \"mail\" will not send: NOTIFICATION_MAIL_BASEURL is not an http(s) URL",
            ]
        );
        assert!(!format!("{:?}", ready[0]).contains("abc"), "Debug never shows a credential");
        let off = NotificationsConfig { enabled: false, ..c };
        assert_eq!(off.resolve(env(&[])), (Vec::new(), Vec::new()));
    }

    #[test]
    fn base_url_overrides_the_fixed_host() {
        let c = NotificationsConfig::parse(Some(r#"{"channels": [{"type": "pagerduty", "name": "pd"}]}"#)).unwrap();
        let key = [("NOTIFICATION_PD_ROUTINGKEY", "r")];
        assert_eq!(c.resolve(env(&key)).0[0].base_url(), "https://events.pagerduty.com");
        let local = [key[0], ("NOTIFICATION_PD_BASEURL", "http://127.0.0.1:9999/")];
        assert_eq!(c.resolve(env(&local)).0[0].base_url(), "http://127.0.0.1:9999");
    }

    #[test]
    fn routing_follows_switches_names_types_and_events() {
        let c = NotificationsConfig::parse(Some(
            r#"{"channels": [
                 {"type": "discord", "name": "Discord Alerts", "events": ["down", "up"]},
                 {"type": "pagerduty", "name": "Pager", "events": ["down"]},
                 {"type": "slack", "name": "Muted", "enabled": false},
                 {"type": "discord", "name": "Chatter", "events": ["late", "degraded"]}
               ]}"#,
        ))
        .unwrap();
        let all = policy(&[], &[]);
        assert_eq!(names(c.recipients(&all, Event::Down)), ["Discord Alerts", "Pager"]);
        assert_eq!(names(c.recipients(&all, Event::Up)), ["Discord Alerts"]);
        assert_eq!(names(c.recipients(&all, Event::Late)), ["Chatter"]);
        assert_eq!(names(c.recipients(&policy(&["discord"], &[]), Event::Down)), ["Discord Alerts"], "by type");
        assert_eq!(names(c.recipients(&policy(&["Pager", "pagerduty"], &[]), Event::Down)), ["Pager"], "once");
        assert_eq!(
            names(c.recipients(&policy(&["pagerduty"], &["down", "up"]), Event::Up)),
            ["Pager"],
            "the service's events replace the channel's"
        );
        assert_eq!(names(c.recipients(&policy(&["Muted"], &[]), Event::Down)), Vec::<&str>::new());
        assert_eq!(
            names(c.recipients(&all, Event::Test)),
            ["Discord Alerts", "Pager", "Chatter"],
            "a test reaches every enabled channel regardless of events"
        );
        let silenced = NotificationPolicy { enabled: false, ..all.clone() };
        assert!(c.recipients(&silenced, Event::Down).is_empty());
        let off = NotificationsConfig { enabled: false, ..c.clone() };
        assert!(off.recipients(&all, Event::Down).is_empty());
    }

    #[test]
    fn service_policies_naming_no_channel_are_reported() {
        let c = NotificationsConfig::parse(Some(r#"{"channels": [{"type": "discord", "name": "Discord Alerts"}]}"#))
            .unwrap();
        let services = crate::config::Config::parse(
            Some(
                r#"{"services": [
                     {"id": "a", "notifications": {"channels": ["discord", "Discord Alerts"]}},
                     {"id": "b", "notifications": {"channels": ["pagerduty"]}}
                   ]}"#,
            ),
            None,
        )
        .unwrap();
        assert_eq!(
            c.check_policies(&services.services).iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["services.json: services[1].notifications.channels[0]: \"pagerduty\" matches no channel name or type \
              in notifications.json"]
        );
    }
}
