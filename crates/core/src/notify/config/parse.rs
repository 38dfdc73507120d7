//! Reading `notifications.json`: every problem reported with its path.

use std::collections::BTreeMap;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use serde_json::Value;

use super::credentials::{env_part, FileCredentials};
use super::{
    credential_var, AlertHistory, ChannelConfig, ChannelOptions, NotificationSettings, NotificationsConfig,
    SpecificOptions, DEFAULT_COOLDOWN, DEFAULT_EVENTS, MAX_MINUTES, MAX_NAME,
};
use crate::config::unused::ConfigNotice;
use crate::config::{from_json, ConfigError, ConfigErrors};
use crate::notify::queue::RetryPolicy;
use crate::notify::template::{ChannelTemplates, Names, Placeholder, SeedTemplate, Template, TemplateField};
use crate::notify::vocab::{ChannelType, Event, Severity};
use crate::time::Zone;

impl NotificationsConfig {
    /// Parses and validates `notifications.json`; `None` (no file) means no channels.
    ///
    /// # Errors
    /// [`ConfigErrors`] listing every problem with its path, e.g.
    /// `notifications.json: channels[2].events[0]: unknown event "exploded", expected one of
    /// …`: malformed JSON or a wrong type (the first one), unknown fields, unknown channel
    /// types, empty, over-long or duplicate channel names (names that fold to the same
    /// variable prefix count as duplicates), unknown or repeated events, an empty `events`
    /// list, unknown or ill-typed options, bad templates (ours or the seed's, with unknown
    /// variables), `cooldownMinutes`/`reminderMinutes`/`repeatAlertMinutes` outside
    /// 0..=10080 or both reminder names set, an unknown `timezone`, and `alertHistory`
    /// limits out of range. Credentials written in a channel's `config` are no error: they
    /// are listed in [`NotificationsConfig::notices`].
    pub fn parse(json: Option<&str>) -> Result<Self, ConfigErrors> {
        let Some(json) = json else {
            return Ok(Self { enabled: true, ..Self::default() });
        };
        let mut errors = Vec::new();
        let Some(raw) = from_json::<raw::File>(FILE, json, &mut errors) else {
            return Err(ConfigErrors(errors));
        };
        let mut notices = Vec::new();
        let mut err =
            |path: String, reason: String| errors.push(ConfigError { path: format!("{FILE}: {path}"), reason });

        let templates = raw.templates.map(|t| seed_templates(t, &mut err)).unwrap_or_default();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut channels = Vec::new();
        for (i, c) in raw.channels.iter().enumerate() {
            let at = format!("channels[{i}]");
            let provider = c.config.as_ref().and_then(|m| m.get("provider")).and_then(Value::as_str);
            let kind = ChannelType::parse(&c.kind).map(|k| match (k, provider) {
                (ChannelType::Email, Some("postmark")) => ChannelType::Postmark,
                (k, _) => k,
            });
            if kind.is_none() {
                let all: Vec<&str> = ChannelType::ALL.iter().map(|t| t.as_str()).collect();
                err(
                    format!("{at}.type"),
                    format!("unknown channel type {:?}, expected one of {}", c.kind, all.join(", ")),
                );
            }
            check_name(&at, &c.name, i, &mut seen, &mut err);
            let events = parse_events(&at, c.events.as_deref(), &mut err);
            let Some(kind) = kind else { continue };
            let parsed = parse_options(&at, kind, &c.name, c.config.as_ref(), &mut err, &mut notices);
            // Postmark is e-mail: `templates.email` shapes it too.
            let family = if kind == ChannelType::Postmark { ChannelType::Email } else { kind };
            let template = |external: bool| templates.get(&(family, external)).cloned();
            channels.push(ChannelConfig {
                kind,
                name: c.name.clone(),
                enabled: c.enabled.unwrap_or(true),
                events,
                options: parsed.options,
                external_alerts: parsed.external_alerts,
                templates: ChannelTemplates { service: template(false), external: template(true) },
                file_credentials: parsed.file_credentials,
            });
        }

        let s = raw.settings;
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
        let cooldown = minutes("cooldownMinutes", s.cooldown_minutes).unwrap_or(DEFAULT_COOLDOWN);
        let reminder = minutes("reminderMinutes", s.reminder_minutes);
        let repeat = minutes("repeatAlertMinutes", s.repeat_alert_minutes);
        if s.reminder_minutes.is_some() && s.repeat_alert_minutes.is_some() {
            err(
                "settings.repeatAlertMinutes".into(),
                "is the seed's name for reminderMinutes: set only one of them".into(),
            );
        }
        let zone = match s.timezone.as_deref() {
            None => Zone::utc(),
            Some(name) => Zone::parse(name).unwrap_or_else(|| {
                err(
                    "settings.timezone".into(),
                    format!("unknown time zone {name:?}, expected an IANA name such as \"Europe/Paris\" or \"UTC\""),
                );
                Zone::utc()
            }),
        };
        let history = s.alert_history.unwrap_or_default();
        let mut limit = |key: &str, value: Option<u64>, max: u64| match value {
            Some(v) if (1..=max).contains(&v) => u32::try_from(v).ok(),
            Some(v) => {
                err(format!("settings.alertHistory.{key}"), format!("must be between 1 and {max}, got {v}"));
                None
            }
            None => None,
        };
        let alert_history = AlertHistory {
            max_alerts: limit("maxAlerts", history.max_alerts, 100_000),
            max_age_days: limit("maxAgeDays", history.max_age_days, 3_650),
        };
        let settings = NotificationSettings {
            cooldown,
            reminder: reminder.or(repeat).filter(|d| !d.is_zero()),
            retry: retry_policy(s.retry.unwrap_or_default(), &mut err),
            include_metadata: s.include_metadata.unwrap_or(false),
            zone,
            alert_history,
        };
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Self { enabled: raw.enabled.unwrap_or(true), channels, settings, notices })
    }
}

impl ChannelType {
    /// The `config` options this type accepts besides `title`, `body`, `minSeverity`,
    /// `externalAlerts` and its credentials.
    fn options(self) -> &'static [&'static str] {
        match self {
            ChannelType::Webhook => &["headers", "method"],
            ChannelType::Email | ChannelType::Sms => &["provider"],
            ChannelType::Postmark => &["provider", "messageStream"],
            ChannelType::Pushover => &["priority", "retry", "expire"],
            ChannelType::Ntfy | ChannelType::Gotify | ChannelType::Opsgenie => &["priority"],
            ChannelType::PagerDuty => &["severity", "source"],
            _ => &[],
        }
    }
}

impl ChannelType {
    /// The `provider` a channel of this type may name: the API it sends through.
    fn provider(self) -> Option<&'static str> {
        match self {
            ChannelType::Email => Some("mailgun"),
            ChannelType::Postmark => Some("postmark"),
            ChannelType::Sms => Some("twilio"),
            _ => None,
        }
    }
}

pub(super) const FILE: &str = "notifications.json";

/// The `templates` section: each entry parsed with the seed's `{{variable}}` syntax, by
/// channel type and whether it is the `_external` one.
fn seed_templates(
    t: raw::Templates,
    err: &mut impl FnMut(String, String),
) -> BTreeMap<(ChannelType, bool), SeedTemplate> {
    let mut out = BTreeMap::new();
    let entries: [(&str, ChannelType, bool, Option<raw::Template>); 12] = [
        ("discord", ChannelType::Discord, false, t.discord.map(Into::into)),
        ("discord_external", ChannelType::Discord, true, t.discord_external.map(Into::into)),
        ("slack", ChannelType::Slack, false, t.slack.map(Into::into)),
        ("slack_external", ChannelType::Slack, true, t.slack_external.map(Into::into)),
        ("telegram", ChannelType::Telegram, false, t.telegram.map(Into::into)),
        ("telegram_external", ChannelType::Telegram, true, t.telegram_external.map(Into::into)),
        ("email", ChannelType::Email, false, t.email.map(Into::into)),
        ("email_external", ChannelType::Email, true, t.email_external.map(Into::into)),
        ("pushover", ChannelType::Pushover, false, t.pushover.map(Into::into)),
        ("pushover_external", ChannelType::Pushover, true, t.pushover_external.map(Into::into)),
        ("pagerduty", ChannelType::PagerDuty, false, t.pagerduty.map(Into::into)),
        ("pagerduty_external", ChannelType::PagerDuty, true, t.pagerduty_external.map(Into::into)),
    ];
    for (key, kind, external, raw) in entries {
        let Some(raw) = raw else { continue };
        let names: Names = if external { &Placeholder::SEED_EXTERNAL } else { &Placeholder::SEED_SERVICE };
        let mut text = |field: &str, value: &str| -> Option<Template> {
            Template::parse_seed(value, names).map_err(|e| err(format!("templates.{key}.{field}"), e.to_string())).ok()
        };
        let title = raw.title.and_then(|(field, value)| text(field, &value));
        let body = raw.body.and_then(|(field, value)| text(field, &value));
        let mut fields = Vec::new();
        for (i, (name_key, name, value, inline)) in raw.fields.into_iter().enumerate() {
            let name = text(&format!("fields[{i}].{name_key}"), name.as_deref().unwrap_or_default());
            let value = text(&format!("fields[{i}].value"), value.as_deref().unwrap_or_default());
            if let (Some(name), Some(value)) = (name, value) {
                fields.push(TemplateField { name, value, inline });
            }
        }
        let severity = raw.severity.and_then(|s| {
            s.parse::<Severity>().map_err(|e| err(format!("templates.{key}.severity"), e.to_string())).ok()
        });
        out.insert((kind, external), SeedTemplate { title, body, fields, footer: raw.footer, severity });
    }
    out
}

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

/// A channel's `config`, read.
struct ParsedConfig {
    options: ChannelOptions,
    external_alerts: bool,
    file_credentials: FileCredentials,
}

/// Keys of the credential table that are not secrets (the seed reads e-mail `to` and `from`
/// from `config` only): written in the file without a notice.
const PLAIN_KEYS: [&str; 4] = ["to", "from", "baseUrl", "messagingServiceSid"];

fn parse_options(
    at: &str,
    kind: ChannelType,
    name: &str,
    config: Option<&serde_json::Map<String, Value>>,
    err: &mut impl FnMut(String, String),
    notices: &mut Vec<ConfigNotice>,
) -> ParsedConfig {
    let mut o = ChannelOptions::default();
    let (mut headers, mut priority, mut retry, mut expire, mut severity, mut source, mut method) =
        (Vec::new(), None, None, None, None, None, None);
    let mut message_stream = None;
    let (mut external_alerts, mut file_credentials) = (true, FileCredentials::default());
    let keys = kind.credentials();
    // Sorted, so the order of errors does not depend on serde_json's map features.
    let mut entries: Vec<(&String, &Value)> = config.into_iter().flatten().collect();
    entries.sort_by_key(|(k, _)| *k);
    for &(key, value) in &entries {
        let path = format!("{at}.config.{key}");
        let mut bad = |reason: String| err(path.clone(), reason);
        if let Some(ours) = keys.canonical(key) {
            let text = match value {
                Value::String(s) => Some(s.clone()),
                Value::Array(items) if ours == "to" => {
                    let list: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                    list.map(|l| l.join(", "))
                }
                _ => None,
            };
            match text {
                None if ours == "to" => bad("must be a string or an array of strings".into()),
                None => bad("must be a string".into()),
                Some(_) if file_credentials.0.contains_key(ours) => {
                    bad(format!("{ours} is already set under another name"));
                }
                Some(text) => {
                    file_credentials.0.insert(ours, text);
                    if !PLAIN_KEYS.contains(&ours) {
                        let var = credential_var(name, key);
                        notices.push(ConfigNotice {
                            path: format!("{FILE}: {path}"),
                            reason: format!(
                                "a credential written in the file (it is compiled into the Worker): move it to \
                                 the secret {var} (`wrangler secret put {var}`); a secret wins over the file"
                            ),
                        });
                    }
                }
            }
            continue;
        }
        match (key.as_str(), value) {
            ("title" | "body", Value::String(text)) => match Template::parse(text) {
                Ok(t) if key == "title" => o.title = Some(t),
                Ok(t) => o.body = Some(t),
                Err(e) => bad(e.to_string()),
            },
            ("minSeverity", Value::String(s)) => match s.parse::<Severity>() {
                Ok(v) => o.min_severity = Some(v),
                Err(e) => bad(e.to_string()),
            },
            ("externalAlerts", Value::Bool(b)) => external_alerts = *b,
            ("externalAlerts", _) => bad("must be true or false".into()),
            (k, _) if !kind.options().contains(&k) => {
                let mut allowed = vec!["title", "body", "minSeverity", "externalAlerts"];
                allowed.extend(kind.options());
                allowed.extend(keys.required.iter().chain(keys.optional));
                allowed.extend(keys.aliases.iter().map(|(alias, _)| *alias));
                bad(format!("unknown option for a {kind} channel, expected one of {}", allowed.join(", ")));
            }
            ("headers", value) => headers = parse_headers(value, &mut bad),
            ("method", Value::String(m)) => {
                match ["POST", "PUT", "PATCH"].into_iter().find(|x| x.eq_ignore_ascii_case(m)) {
                    Some(m) => method = Some(m),
                    None => bad(format!("must be POST, PUT or PATCH, got {m:?}")),
                }
            }
            ("provider", Value::String(p)) if Some(p.as_str()) == kind.provider() => {}
            ("provider", _) if kind == ChannelType::Sms => {
                bad(format!("SMS is sent through Twilio only: must be \"twilio\", got {value}"));
            }
            ("provider", _) if kind == ChannelType::Postmark => {
                bad(format!("a postmark channel sends through Postmark: must be \"postmark\", got {value}"));
            }
            ("provider", _) => {
                bad(format!(
                    "e-mail is sent through Mailgun or Postmark: must be \"mailgun\" or \"postmark\", got {value}"
                ));
            }
            ("messageStream", Value::String(m)) if !m.trim().is_empty() => message_stream = Some(m.trim().to_owned()),
            ("priority", value) => priority = parse_priority(kind, value, &mut bad),
            ("retry", value) => {
                retry = int_in(value, 30, 10_800, &mut bad).and_then(|n| u32::try_from(n).ok());
            }
            ("expire", value) => {
                expire = int_in(value, 30, 10_800, &mut bad).and_then(|n| u32::try_from(n).ok());
            }
            ("severity", Value::String(s)) => match s.parse::<Severity>() {
                Ok(v) => severity = Some(v),
                Err(e) => bad(e.to_string()),
            },
            ("source", Value::String(s)) if !s.trim().is_empty() => source = Some(s.clone()),
            (_, _) => bad("must be a non-empty string".into()),
        }
    }
    let given = |k: &str| entries.iter().any(|(key, _)| *key == k);
    if priority != Some(2) && (given("retry") || given("expire")) {
        err(format!("{at}.config"), "retry and expire only apply to emergency priority 2".into());
    }
    o.specific = match kind {
        ChannelType::Webhook => SpecificOptions::Webhook { headers, method },
        ChannelType::Pushover => SpecificOptions::Pushover { priority, retry, expire },
        ChannelType::Ntfy | ChannelType::Gotify | ChannelType::Opsgenie => SpecificOptions::Priority { priority },
        ChannelType::PagerDuty => SpecificOptions::PagerDuty { severity, source },
        ChannelType::Postmark => SpecificOptions::Postmark { message_stream },
        _ => SpecificOptions::None,
    };
    ParsedConfig { options: o, external_alerts, file_credentials }
}

/// The `headers` option: an object of header names to values, sorted by name; names that
/// Systole sets itself are refused (`Authorization` and `Content-Type` are the seed's and
/// allowed: they replace Systole's).
fn parse_headers(value: &Value, bad: &mut impl FnMut(String)) -> Vec<(String, String)> {
    let Value::Object(map) = value else {
        bad("must be an object of header names to string values".into());
        return Vec::new();
    };
    let reserved = ["content-length", "host", "x-systole-signature", "x-systole-event"];
    let mut headers = Vec::new();
    let mut sorted: Vec<(&String, &Value)> = map.iter().collect();
    sorted.sort_by_key(|(k, _)| *k);
    for (name, value) in sorted {
        // RFC 9110: a name is a token; a value here is visible ASCII, spaces and tabs. The
        // name is kept as written (the `http` crate would lower-case it).
        let token = HeaderName::from_bytes(name.as_bytes()).is_ok();
        // `from_str` also takes obs-text (bytes ≥ 0x80); `to_str` only visible ASCII.
        let text = value.as_str().filter(|v| HeaderValue::from_str(v).is_ok_and(|h| h.to_str().is_ok()));
        match text {
            _ if !token => bad(format!("{name:?} is not a valid header name")),
            _ if reserved.contains(&name.to_ascii_lowercase().as_str()) => {
                bad(format!("header {name:?} is set by Systole"));
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

/// The file as written, before validation.
mod raw {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    pub struct File {
        pub enabled: Option<bool>,
        #[serde(default)]
        pub channels: Vec<Channel>,
        #[serde(default)]
        pub settings: Settings,
        pub templates: Option<Templates>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Channel {
        #[serde(rename = "type")]
        pub kind: String,
        pub name: String,
        pub enabled: Option<bool>,
        pub config: Option<serde_json::Map<String, serde_json::Value>>,
        pub events: Option<Vec<String>>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Settings {
        pub cooldown_minutes: Option<u64>,
        pub reminder_minutes: Option<u64>,
        pub repeat_alert_minutes: Option<u64>,
        pub include_metadata: Option<bool>,
        pub timezone: Option<String>,
        pub alert_history: Option<AlertHistory>,
        pub retry: Option<Retry>,
    }

    /// `cleanupOnAdd` is listed in `config::unused`.
    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct AlertHistory {
        pub max_alerts: Option<u64>,
        pub max_age_days: Option<u64>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Retry {
        pub initial_seconds: Option<u64>,
        pub max_seconds: Option<u64>,
        pub give_up_after_minutes: Option<u64>,
    }

    /// The seed's `templates`, by channel type.
    #[derive(Debug, Default, Deserialize)]
    pub struct Templates {
        pub discord: Option<Discord>,
        pub discord_external: Option<Discord>,
        pub slack: Option<Slack>,
        pub slack_external: Option<Slack>,
        pub telegram: Option<Telegram>,
        pub telegram_external: Option<Telegram>,
        pub email: Option<Email>,
        pub email_external: Option<Email>,
        pub pushover: Option<Pushover>,
        pub pushover_external: Option<Pushover>,
        pub pagerduty: Option<PagerDuty>,
        pub pagerduty_external: Option<PagerDuty>,
    }

    #[derive(Debug, Default, Deserialize)]
    pub struct Discord {
        pub title: Option<String>,
        pub description: Option<String>,
        pub fields: Option<Vec<DiscordField>>,
        pub footer: Option<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    pub struct DiscordField {
        pub name: Option<String>,
        pub value: Option<String>,
        pub inline: Option<bool>,
    }

    #[derive(Debug, Default, Deserialize)]
    pub struct Slack {
        pub text: Option<String>,
        pub fields: Option<Vec<SlackField>>,
        pub footer: Option<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    pub struct SlackField {
        pub title: Option<String>,
        pub value: Option<String>,
        pub short: Option<bool>,
    }

    #[derive(Debug, Default, Deserialize)]
    pub struct Telegram {
        pub message: Option<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    pub struct Email {
        pub subject: Option<String>,
        pub body: Option<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    pub struct Pushover {
        pub title: Option<String>,
        pub message: Option<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    pub struct PagerDuty {
        pub summary: Option<String>,
        pub severity: Option<String>,
    }

    /// Any type's template in one shape: each text with the seed's name for it.
    #[derive(Debug, Default)]
    pub struct Template {
        pub title: Option<(&'static str, String)>,
        pub body: Option<(&'static str, String)>,
        /// `(name key, name, value, inline)`.
        pub fields: Vec<(&'static str, Option<String>, Option<String>, bool)>,
        pub footer: Option<String>,
        pub severity: Option<String>,
    }

    fn named(key: &'static str, value: Option<String>) -> Option<(&'static str, String)> {
        value.map(|v| (key, v))
    }

    impl From<Discord> for Template {
        fn from(d: Discord) -> Self {
            let fields =
                d.fields.unwrap_or_default().into_iter().map(|f| ("name", f.name, f.value, f.inline.unwrap_or(false)));
            Template {
                title: named("title", d.title),
                body: named("description", d.description),
                fields: fields.collect(),
                footer: d.footer,
                severity: None,
            }
        }
    }

    impl From<Slack> for Template {
        fn from(s: Slack) -> Self {
            let fields =
                s.fields.unwrap_or_default().into_iter().map(|f| ("title", f.title, f.value, f.short.unwrap_or(false)));
            Template { title: named("text", s.text), fields: fields.collect(), footer: s.footer, ..Self::default() }
        }
    }

    impl From<Telegram> for Template {
        fn from(t: Telegram) -> Self {
            Template { body: named("message", t.message), ..Self::default() }
        }
    }

    impl From<Email> for Template {
        fn from(e: Email) -> Self {
            Template { title: named("subject", e.subject), body: named("body", e.body), ..Self::default() }
        }
    }

    impl From<Pushover> for Template {
        fn from(p: Pushover) -> Self {
            Template { title: named("title", p.title), body: named("message", p.message), ..Self::default() }
        }
    }

    impl From<PagerDuty> for Template {
        fn from(p: PagerDuty) -> Self {
            Template { title: named("summary", p.summary), severity: p.severity, ..Self::default() }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
                 opsgenie, mattermost, rocketchat, sms, postmark",
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
                 one of title, body, minSeverity, externalAlerts, webhookUrl",
                "notifications.json: channels[4].config.title: unknown placeholder {servce.name}, expected one of \
                 {service.name}, {service.id}, {group}, {status}, {previous_status}, {since}, {duration}, {message}, \
                 {dashboard_url}, {alert.severity}, {alert.source}, {alert.state}",
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
        let headers = vec![("X-Team".to_owned(), "sre".to_owned())];
        assert_eq!(c.channels[0].options.specific, SpecificOptions::Webhook { headers, method: None });
        assert_eq!(c.channels[0].options.body, Some(Template::parse("{status}").unwrap()));
        assert_eq!(
            c.channels[1].options.specific,
            SpecificOptions::Pushover { priority: Some(2), retry: Some(30), expire: Some(10_800) }
        );
        assert_eq!(c.channels[2].options.specific, SpecificOptions::Priority { priority: Some(2) });
        assert_eq!(
            c.channels[3].options.specific,
            SpecificOptions::PagerDuty { severity: Some(Severity::Error), source: Some("edge".to_owned()) }
        );

        assert_eq!(
            errors(
                r#"{"channels": [
                     {"type": "pushover", "name": "a", "config": {"priority": 2, "expire": 10801}},
                     {"type": "opsgenie", "name": "b", "config": {"priority": "P6"}},
                     {"type": "webhook", "name": "c", "config": {"headers": {"Host": "x", "X y": "1"}}}
                   ]}"#
            ),
            [
                "notifications.json: channels[0].config.expire: must be an integer between 30 and 10800, got 10801",
                "notifications.json: channels[1].config.priority: must be one of \"P1\" to \"P5\", got \"P6\"",
                "notifications.json: channels[2].config.headers: header \"Host\" is set by Systole",
                "notifications.json: channels[2].config.headers: \"X y\" is not a valid header name",
            ]
        );
    }

    #[test]
    fn sms_and_postmark_take_their_provider_and_email_templates() {
        let c = NotificationsConfig::parse(Some(
            r#"{"channels": [
                 {"type": "sms", "name": "pager", "config": {"provider": "twilio", "from": "+15550000000"}},
                 {"type": "email", "name": "pm", "config": {"provider": "postmark", "messageStream": "alerts"}},
                 {"type": "email", "name": "mg", "config": {"provider": "mailgun"}}
               ],
               "templates": {"email": {"subject": "[{{eventType}}] {{serviceName}}"}}}"#,
        ))
        .unwrap();
        let kinds: Vec<ChannelType> = c.channels.iter().map(|ch| ch.kind).collect();
        assert_eq!(kinds, [ChannelType::Sms, ChannelType::Postmark, ChannelType::Email]);
        assert_eq!(c.channels[0].file_credentials.0["from"], "+15550000000");
        assert!(c.notices.is_empty(), "a sender number is no secret: {:?}", c.notices);
        let stream = Some("alerts".to_owned());
        assert_eq!(c.channels[1].options.specific, SpecificOptions::Postmark { message_stream: stream });
        assert!(c.channels[1].templates.service.is_some(), "templates.email shapes Postmark e-mail too");

        assert_eq!(
            errors(
                r#"{"channels": [
                     {"type": "sms", "name": "a", "config": {"provider": "vonage", "priority": 1}},
                     {"type": "postmark", "name": "b", "config": {"provider": "mailgun", "messageStream": ""}},
                     {"type": "email", "name": "c", "config": {"messageStream": "x"}}
                   ]}"#
            ),
            [
                "notifications.json: channels[0].config.priority: unknown option for a sms channel, expected one of \
                 title, body, minSeverity, externalAlerts, provider, accountSid, authToken, to, from, \
                 messagingServiceSid, baseUrl",
                "notifications.json: channels[0].config.provider: SMS is sent through Twilio only: must be \"twilio\", \
                 got \"vonage\"",
                "notifications.json: channels[1].config.messageStream: must be a non-empty string",
                "notifications.json: channels[1].config.provider: a postmark channel sends through Postmark: must \
                 be \"postmark\", got \"mailgun\"",
                "notifications.json: channels[2].config.messageStream: unknown option for a email channel, expected \
                 one of title, body, minSeverity, externalAlerts, provider, apiKey, domain, to, from, baseUrl",
            ]
        );
    }

    #[test]
    fn header_names_and_values_follow_http_rules() {
        let json = r#"{"channels": [{"type": "webhook", "name": "w", "config": {"headers":
                        {"X-Ok": "a\tb ~", "X-Bad": "é", "": "v", "X(": "v"}}}]}"#;
        assert_eq!(
            errors(json),
            [
                "notifications.json: channels[0].config.headers: \"\" is not a valid header name",
                "notifications.json: channels[0].config.headers: \"X(\" is not a valid header name",
                "notifications.json: channels[0].config.headers: header \"X-Bad\" must be a string of printable ASCII",
            ]
        );
        let ok = r#"{"channels": [{"type": "webhook", "name": "w", "config": {"headers": {"X-Ok": "a\tb ~"}}}]}"#;
        let headers = vec![("X-Ok".to_owned(), "a\tb ~".to_owned())];
        assert_eq!(
            NotificationsConfig::parse(Some(ok)).unwrap().channels[0].options.specific,
            SpecificOptions::Webhook { headers, method: None }
        );
    }

    /// A cloudflaremon `notifications.json` with every documented field, written from the
    /// format's description.
    pub(crate) const SEED_FILE: &str = r#"{
      "enabled": true,
      "channels": [
        {"type": "discord", "name": "Discord  Alerts!", "enabled": true, "events": ["down", "up", "degraded"],
         "config": {"webhookUrl": "https://discord.example/api/webhooks/1/from-file"}},
        {"type": "slack", "name": "Slack Ops", "enabled": true, "config": {}, "events": ["down", "up"]},
        {"type": "telegram", "name": "Telegram Bot", "enabled": true, "events": ["down", "up", "degraded"],
         "config": {"botToken": "123:from-file", "chatId": "-100200300"}},
        {"type": "email", "name": "Email via Mailgun", "enabled": true, "events": ["down"],
         "config": {"provider": "mailgun", "from": "Monitor <monitor@example.com>",
                    "to": ["ops@example.com", "oncall@example.com"], "apiKey": "key-file", "domain": "mg.example.com"}},
        {"type": "webhook", "name": "Custom Webhook", "enabled": true, "events": ["down", "up"],
         "config": {"method": "POST", "headers": {"Authorization": "Bearer YOUR_TOKEN", "X-API-Key": "k-1"},
                    "externalAlerts": false}},
        {"type": "pushover", "name": "Pushover", "enabled": true, "events": ["down"],
         "config": {"userKey": "u-file", "apiToken": "t-file"}},
        {"type": "pagerduty", "name": "PagerDuty On-Call", "enabled": true, "config": {}, "events": ["down", "up"]}
      ],
      "settings": {
        "cooldownMinutes": 10, "repeatAlertMinutes": 60, "includeMetadata": true, "timezone": "Asia/Tokyo",
        "alertHistory": {"maxAlerts": 50, "maxAgeDays": 3, "cleanupOnAdd": true}
      },
      "templates": {
        "discord": {"title": "{{emoji}} {{serviceName}} is {{eventType}}",
                    "description": "Last seen {{lastSeen}} ({{timestamp}})",
                    "fields": [{"name": "Service", "value": "{{serviceId}}", "inline": true},
                               {"name": "Checked", "value": "{{timestampISO}}", "inline": false}],
                    "footer": "Heartbeat Monitor"},
        "discord_external": {"title": "{{emoji}} {{title}}", "description": "{{message}} ({{severity}})"},
        "slack": {"text": "{{emoji}} *{{serviceName}}* is {{eventType}}",
                  "fields": [{"title": "Service", "value": "{{serviceId}}", "short": true}],
                  "footer": "Heartbeat Monitor"},
        "slack_external": {"text": "{{emoji}} {{title}}"},
        "telegram": {"message": "{{emoji}} *{{serviceName}}* is {{eventType}} since {{timestamp}}"},
        "telegram_external": {"message": "{{emoji}} *{{title}}*: {{message}} ({{source}}, {{status}})"},
        "email": {"subject": "[{{eventType}}] {{serviceName}}", "body": "{{serviceName}} ({{serviceId}}) is {{eventType}}."},
        "email_external": {"subject": "[{{severity}}] {{title}}", "body": "{{message}}"},
        "pushover": {"title": "{{serviceName}}", "message": "{{eventType}} at {{timestamp}}"},
        "pushover_external": {"title": "{{title}}", "message": "{{message}}"},
        "pagerduty": {"summary": "{{serviceName}} is {{eventType}}", "severity": "error"},
        "pagerduty_external": {"summary": "{{title}} from {{source}}", "severity": "warning"}
      }
    }"#;

    #[test]
    fn a_cloudflaremon_file_builds_and_means_what_it_says() {
        let c = NotificationsConfig::parse(Some(SEED_FILE)).unwrap();
        let s = &c.settings;
        assert_eq!((s.cooldown, s.reminder), (Duration::from_secs(600), Some(Duration::from_secs(3_600))));
        assert!(s.include_metadata);
        assert_eq!(s.zone.name(), "Asia/Tokyo");
        assert_eq!(s.alert_history, AlertHistory { max_alerts: Some(50), max_age_days: Some(3) });
        let by_name = |n: &str| c.channels.iter().find(|ch| ch.name == n).unwrap();
        assert!(!by_name("Custom Webhook").external_alerts);
        assert!(by_name("Slack Ops").external_alerts, "on unless false");
        assert_eq!(
            by_name("Custom Webhook").options.specific,
            SpecificOptions::Webhook {
                headers: vec![
                    ("Authorization".to_owned(), "Bearer YOUR_TOKEN".to_owned()),
                    ("X-API-Key".to_owned(), "k-1".to_owned())
                ],
                method: Some("POST"),
            }
        );
        let email = by_name("Email via Mailgun");
        assert_eq!(email.file_credentials.0["to"], "ops@example.com, oncall@example.com");
        assert_eq!(by_name("Pushover").file_credentials.0.keys().copied().collect::<Vec<_>>(), ["token", "user"]);
        let discord = &by_name("Discord  Alerts!").templates;
        assert_eq!(discord.service.as_ref().unwrap().fields.len(), 2);
        assert_eq!(discord.service.as_ref().unwrap().footer.as_deref(), Some("Heartbeat Monitor"));
        assert!(discord.external.as_ref().unwrap().title.is_some());
        let pd = &by_name("PagerDuty On-Call").templates;
        assert_eq!(pd.service.as_ref().unwrap().severity, Some(Severity::Error));
        assert_eq!(pd.external.as_ref().unwrap().severity, Some(Severity::Warning));
        assert!(by_name("Telegram Bot").templates.service.as_ref().unwrap().body.is_some());

        // Credentials written in the file: listed once each, with the secret to move them to.
        let notices: Vec<String> = c.notices.iter().map(ToString::to_string).collect();
        let moved = |path: &str, var: &str| {
            format!(
                "notifications.json: {path}: a credential written in the file (it is compiled into the Worker): \
                 move it to the secret {var} (`wrangler secret put {var}`); a secret wins over the file"
            )
        };
        assert_eq!(
            notices,
            [
                moved("channels[0].config.webhookUrl", "NOTIFICATION_DISCORD__ALERTS__WEBHOOKURL"),
                moved("channels[2].config.botToken", "NOTIFICATION_TELEGRAM_BOT_BOTTOKEN"),
                moved("channels[2].config.chatId", "NOTIFICATION_TELEGRAM_BOT_CHATID"),
                moved("channels[3].config.apiKey", "NOTIFICATION_EMAIL_VIA_MAILGUN_APIKEY"),
                moved("channels[3].config.domain", "NOTIFICATION_EMAIL_VIA_MAILGUN_DOMAIN"),
                moved("channels[5].config.apiToken", "NOTIFICATION_PUSHOVER_APITOKEN"),
                moved("channels[5].config.userKey", "NOTIFICATION_PUSHOVER_USERKEY"),
            ]
        );
        // The whole folder: the same notices, and `cleanupOnAdd` listed as ignored.
        let d =
            crate::config::Deployment::parse(|f| (f == "notifications.json").then(|| SEED_FILE.to_owned())).unwrap();
        let all: Vec<String> = d.notices.iter().map(ToString::to_string).collect();
        assert!(all[0].starts_with("notifications.json: settings.alertHistory.cleanupOnAdd: ignored: "), "{all:?}");
        assert_eq!(all[1..], notices);
    }

    #[test]
    fn seed_fields_are_checked_and_every_mistake_is_reported_at_once() {
        let got = errors(
            r#"{"channels": [
                 {"type": "email", "name": "m", "config": {"provider": "sendgrid", "to": [1]}},
                 {"type": "webhook", "name": "w", "config": {"method": "GET", "externalAlerts": "no"}},
                 {"type": "pushover", "name": "p", "config": {"user": "a", "userKey": "b"}}
               ],
               "settings": {"reminderMinutes": 30, "repeatAlertMinutes": 60, "timezone": "Mars/Olympus",
                            "alertHistory": {"maxAlerts": 0, "maxAgeDays": 4000, "cleanupOnAdd": false}},
               "templates": {
                 "discord": {"title": "{{servicename}}", "colour": 1, "fields": [{"name": "a", "value": "b", "x": 1}]},
                 "slack_external": {"text": "{{serviceName}}"},
                 "pagerduty": {"severity": "page"},
                 "webhook": {"body": "x"}
               }}"#,
        );
        assert_eq!(
            got,
            [
                "notifications.json: templates.discord.colour: unknown field `colour`",
                "notifications.json: templates.discord.fields[0].x: unknown field `x`",
                "notifications.json: templates.webhook: unknown field `webhook`",
            ],
            "unknown fields first, all of them, each with its path"
        );
        let got = errors(
            r#"{"channels": [
                 {"type": "email", "name": "m", "config": {"provider": "sendgrid", "to": [1]}},
                 {"type": "webhook", "name": "w", "config": {"method": "GET", "externalAlerts": "no"}},
                 {"type": "pushover", "name": "p", "config": {"user": "a", "userKey": "b"}}
               ],
               "settings": {"reminderMinutes": 30, "repeatAlertMinutes": 60, "timezone": "Mars/Olympus",
                            "alertHistory": {"maxAlerts": 0, "maxAgeDays": 4000}},
               "templates": {
                 "discord": {"title": "{{servicename}}"},
                 "slack_external": {"text": "{{serviceName}}"},
                 "pagerduty": {"severity": "page"}
               }}"#,
        );
        assert_eq!(
            got,
            [
                "notifications.json: templates.discord.title: unknown variable {{servicename}}, expected one of \
                 {{emoji}}, {{eventType}}, {{serviceName}}, {{serviceId}}, {{lastSeen}}, {{timestamp}}, \
                 {{timestampISO}}",
                "notifications.json: templates.slack_external.text: unknown variable {{serviceName}}, expected one \
                 of {{emoji}}, {{title}}, {{message}}, {{severity}}, {{source}}, {{status}}, {{timestamp}}, \
                 {{timestampISO}}",
                "notifications.json: templates.pagerduty.severity: unknown severity \"page\", expected one of \
                 critical, error, warning, info",
                "notifications.json: channels[0].config.provider: e-mail is sent through Mailgun or Postmark: must \
                 be \"mailgun\" or \"postmark\", got \"sendgrid\"",
                "notifications.json: channels[0].config.to: must be a string or an array of strings",
                "notifications.json: channels[1].config.externalAlerts: must be true or false",
                "notifications.json: channels[1].config.method: must be POST, PUT or PATCH, got \"GET\"",
                "notifications.json: channels[2].config.userKey: user is already set under another name",
                "notifications.json: settings.repeatAlertMinutes: is the seed's name for reminderMinutes: set only \
                 one of them",
                "notifications.json: settings.timezone: unknown time zone \"Mars/Olympus\", expected an IANA name \
                 such as \"Europe/Paris\" or \"UTC\"",
                "notifications.json: settings.alertHistory.maxAlerts: must be between 1 and 100000, got 0",
                "notifications.json: settings.alertHistory.maxAgeDays: must be between 1 and 3650, got 4000",
            ]
        );
    }
}
