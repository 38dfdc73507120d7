//! Credentials: which variables each channel type reads, and the channels that have them.

use std::collections::BTreeMap;
use std::fmt;

use super::target::{ntfy_topic, web_url, Checked, Target};
use super::{ChannelConfig, SpecificOptions};
use crate::notify::vocab::ChannelType;
use crate::time::Zone;

/// The credential keys of one channel type: the last part of their variable names.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct CredentialKeys {
    /// Keys that must be set for the channel to send.
    pub required: &'static [&'static str],
    /// Keys that may be set.
    pub optional: &'static [&'static str],
    /// The cloudflaremon seed's names for some of them, `(seed key, our key)`: accepted as
    /// variable names and in `config` alike.
    pub aliases: &'static [(&'static str, &'static str)],
}

impl CredentialKeys {
    /// Our key that `key` (ours or a seed alias) names, if it is a credential of this type.
    pub fn canonical(&self, key: &str) -> Option<&'static str> {
        let ours = self.required.iter().chain(self.optional).find(|k| **k == key).copied();
        ours.or_else(|| self.aliases.iter().find(|(alias, _)| *alias == key).map(|(_, k)| *k))
    }
}

/// The placeholder a webhook's `Authorization` header may hold, replaced by its `authToken`
/// credential (the seed's convention).
pub const TOKEN_PLACEHOLDER: &str = "YOUR_TOKEN";

/// Credential keys whose values must be `http://` or `https://` URLs.
const URL_KEYS: [&str; 4] = ["webhookUrl", "url", "topicUrl", "baseUrl"];

impl ChannelType {
    /// The credentials this type needs and accepts.
    ///
    /// `baseUrl` replaces the fixed API origin (e.g. `https://api.telegram.org`) of the types
    /// that have one, so tests can point them at a local receiver. Webhook `secret` turns on
    /// the `X-Systole-Signature` header and `authorization` is sent as the `Authorization`
    /// header; webhook `authToken` replaces `YOUR_TOKEN` in a configured `Authorization`
    /// header (and is required when one holds it); ntfy `token` is an access token for a
    /// protected topic. Pushover also takes the seed's names `apiToken` (for `token`) and
    /// `userKey` (for `user`). SMS (Twilio) needs a sender: `from` (a Twilio number) or
    /// `messagingServiceSid`; `to` is one number (E.164, e.g. `+15551234567`). Postmark's
    /// `to` is a comma-separated list like Mailgun's.
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
            ChannelType::Webhook => (&["url"], &["secret", "authorization", "authToken"]),
            ChannelType::Pushover => (&["token", "user"], &["baseUrl"]),
            ChannelType::PagerDuty => (&["routingKey"], &["baseUrl"]),
            ChannelType::Ntfy => (&["topicUrl"], &["token"]),
            ChannelType::Gotify => (&["url", "token"], &[]),
            ChannelType::Opsgenie => (&["apiKey"], &["baseUrl"]),
            ChannelType::Sms => (&["accountSid", "authToken", "to"], &["from", "messagingServiceSid", "baseUrl"]),
            ChannelType::Postmark => (&["serverToken", "to", "from"], &["baseUrl"]),
        };
        let aliases: &'static [(&'static str, &'static str)] = match self {
            ChannelType::Pushover => &[("apiToken", "token"), ("userKey", "user")],
            _ => &[],
        };
        CredentialKeys { required, optional, aliases }
    }

    /// The API origin used when no `baseUrl` is set, for the types with a fixed host.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ChannelType::Telegram => Some("https://api.telegram.org"),
            ChannelType::Email => Some("https://api.mailgun.net"),
            ChannelType::Pushover => Some("https://api.pushover.net"),
            ChannelType::PagerDuty => Some("https://events.pagerduty.com"),
            ChannelType::Opsgenie => Some("https://api.opsgenie.com"),
            ChannelType::Sms => Some("https://api.twilio.com"),
            ChannelType::Postmark => Some("https://api.postmarkapp.com"),
            _ => None,
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

pub(super) fn env_part(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// The variable the cloudflaremon seed reads for the same credential, which Systole also
/// reads: the channel name upper-cased by Unicode rules (JavaScript's `toUpperCase`), then
/// every UTF-16 code unit outside `A-Z0-9` replaced by `_`, one for one (JavaScript's
/// `replace(/[^A-Z0-9]/g, "_")`). It differs from [`credential_var`] only for names with
/// characters whose capital is ASCII (`ß` → `SS`, `ı` → `I`) or outside the BMP (an emoji
/// becomes `__`): `seed_credential_var("Alerts 🚨", "webhookUrl")` is
/// `NOTIFICATION_ALERTS____WEBHOOKURL`.
pub fn seed_credential_var(channel_name: &str, key: &str) -> String {
    let mut name = String::new();
    for c in channel_name.chars().flat_map(char::to_uppercase) {
        if c.is_ascii_uppercase() || c.is_ascii_digit() {
            name.push(c);
        } else {
            name.extend(std::iter::repeat_n('_', c.len_utf16()));
        }
    }
    format!("NOTIFICATION_{name}_{}", env_part(key))
}

/// Credentials written in a channel's `config`, by our key name: used where no secret is
/// set. `Debug` shows the keys only.
#[derive(Clone, Default, Eq, PartialEq)]
pub struct FileCredentials(pub BTreeMap<&'static str, String>);

impl fmt::Debug for FileCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// A channel ready to send: its config, its typed [`Target`] (URL, credentials and
/// options) and the zone its messages show times in.
///
/// `Debug` shows the config and the target's type, never a credential.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ResolvedChannel {
    /// The channel's config.
    pub config: ChannelConfig,
    /// Where and how it sends.
    pub target: Target,
    /// The file's `settings.timezone` (UTC unless [`NotificationsConfig::resolve`] set it).
    ///
    /// [`NotificationsConfig::resolve`]: super::NotificationsConfig::resolve
    pub zone: Zone,
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
    /// A value sent in a header (webhook `authToken`, Postmark `serverToken`) must be
    /// printable ASCII.
    #[error("is not printable ASCII (it is sent in a header)")]
    NotHeaderText,
    /// An SMS channel needs a sender: `from` or `messagingServiceSid`.
    #[error("is not set, nor its alternative messagingServiceSid (an SMS needs a sender)")]
    NoSender,
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
/// Each key is read from [`credential_var`], then [`seed_credential_var`], then the same for
/// its seed aliases, then from the channel's `config` ([`ChannelConfig::file_credentials`]):
/// a secret wins over the file, as in the seed. Values are trimmed; URL-valued keys
/// (`webhookUrl`, `url`, `topicUrl`, `baseUrl`) must be `http(s)://` URLs and lose a
/// trailing `/` (see `check_credential`). A webhook whose `Authorization` header holds
/// `YOUR_TOKEN` needs `authToken`; an SMS channel needs `from` or `messagingServiceSid`.
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
        for (&key, is_required) in required.chain(keys.optional.iter().map(|k| (k, false))) {
            let needed = is_required || (key == "authToken" && wants_token(&channel.options.specific));
            let variable = credential_var(&channel.name, key);
            let names = std::iter::once(key).chain(keys.aliases.iter().filter(|(_, k)| *k == key).map(|(a, _)| *a));
            let value = names
                .flat_map(|k| [credential_var(&channel.name, k), seed_credential_var(&channel.name, k)])
                .find_map(|var| lookup(&var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
                .or_else(|| channel.file_credentials.0.get(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()));
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
        let sender = ["from", "messagingServiceSid"];
        if channel.kind == ChannelType::Sms && !sender.iter().any(|k| credentials.contains_key(k)) {
            complete = false;
            let (channel, key) = (channel.name.clone(), "from");
            let variable = credential_var(&channel, key);
            missing.push(MissingCredential { channel, key, variable, problem: CredentialProblem::NoSender });
        }
        // Complete means every required key is present and checked, so a target is built.
        let target = complete.then(|| Target::build(channel.kind, credentials, &channel.options.specific)).flatten();
        if let Some(target) = target {
            ready.push(ResolvedChannel { config: channel.clone(), target, zone: Zone::utc() });
        }
    }
    (ready, missing)
}

/// Whether a webhook's configured `Authorization` header holds [`TOKEN_PLACEHOLDER`].
fn wants_token(options: &SpecificOptions) -> bool {
    match options {
        SpecificOptions::Webhook { headers, .. } => headers
            .iter()
            .any(|(name, value)| name.eq_ignore_ascii_case("authorization") && value.contains(TOKEN_PLACEHOLDER)),
        _ => false,
    }
}

/// Checks one credential: URL-valued keys must parse as `http(s)` URLs (WHATWG rules, as
/// `fetch` reads them) with no whitespace or control character, and lose a trailing `/`;
/// an ntfy topic URL must end in a topic; e-mail `to` must list addresses.
fn check_credential(kind: ChannelType, key: &str, value: String) -> Result<Checked, CredentialProblem> {
    if URL_KEYS.contains(&key) {
        let url = web_url(value.trim_end_matches('/')).ok_or(CredentialProblem::NotAUrl)?;
        if kind == ChannelType::Ntfy && ntfy_topic(&url).is_none() {
            return Err(CredentialProblem::NoTopic);
        }
        return Ok(Checked::Url(url));
    }
    if matches!(key, "authToken" | "serverToken")
        && !value.chars().all(|c| c == ' ' || c == '\t' || c.is_ascii_graphic())
    {
        return Err(CredentialProblem::NotHeaderText);
    }
    if matches!(kind, ChannelType::Email | ChannelType::Postmark) && key == "to" {
        let list = email_list(&value);
        if list.is_empty() {
            return Err(CredentialProblem::NotAddresses);
        }
        return Ok(Checked::Addresses(list.into_iter().map(str::to_owned).collect()));
    }
    Ok(Checked::Text(value))
}

/// The addresses of a comma-separated list; empty if any entry is not an address.
fn email_list(text: &str) -> Vec<&str> {
    let list: Vec<&str> = text.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
    if list.iter().all(|a| a.contains('@')) {
        list
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::notify::config::{base, NotificationsConfig};

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| map.get(k).cloned()
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
        let Target::Discord { webhook_url } = &ready[0].target else { panic!("{:?}", ready[0]) };
        assert_eq!(webhook_url.as_str(), "https://discord.com/api/webhooks/1/abc");
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
    fn sms_needs_a_sender_and_postmark_a_list_of_addresses() {
        let c = NotificationsConfig::parse(Some(
            r#"{"channels": [
                 {"type": "sms", "name": "pager"},
                 {"type": "sms", "name": "svc", "config": {"messagingServiceSid": "MG1"}},
                 {"type": "email", "name": "pm", "config": {"provider": "postmark", "from": "s@example.com"}},
                 {"type": "postmark", "name": "pm2", "config": {"to": "a@example.com", "from": "s@example.com"}}
               ]}"#,
        ))
        .unwrap();
        let (ready, missing) = c.resolve(env(&[
            ("NOTIFICATION_PAGER_ACCOUNTSID", "AC1"),
            ("NOTIFICATION_PAGER_AUTHTOKEN", "t"),
            ("NOTIFICATION_PAGER_TO", "+15551230000"),
            ("NOTIFICATION_SVC_ACCOUNTSID", "AC1"),
            ("NOTIFICATION_SVC_AUTHTOKEN", "t"),
            ("NOTIFICATION_SVC_TO", "+15551230000"),
            ("NOTIFICATION_PM_SERVERTOKEN", "pm-token"),
            ("NOTIFICATION_PM_TO", "ops@example.com, oncall@example.com"),
            ("NOTIFICATION_PM2_SERVERTOKEN", "bad\ntoken é"),
        ]));
        let problems: Vec<String> = missing.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "channel \"pager\" will not send: NOTIFICATION_PAGER_FROM is not set, nor its alternative \
                 messagingServiceSid (an SMS needs a sender)",
                "channel \"pm2\" will not send: NOTIFICATION_PM2_SERVERTOKEN is not printable ASCII (it is sent in a \
                 header)",
            ]
        );
        assert_eq!(ready.len(), 2);
        let Target::Sms(sms) = &ready[0].target else { panic!("{:?}", ready[0]) };
        assert!(sms.sender == crate::notify::config::SmsSender::MessagingService("MG1".to_owned()));
        assert_eq!((sms.to.as_str(), base(&sms.base_url)), ("+15551230000", "https://api.twilio.com"));
        let Target::Postmark(pm) = &ready[1].target else { panic!("{:?}", ready[1]) };
        assert_eq!(pm.to, ["ops@example.com", "oncall@example.com"]);
        assert_eq!((ready[1].config.kind, base(&pm.base_url)), (ChannelType::Postmark, "https://api.postmarkapp.com"));
    }

    #[test]
    fn base_url_overrides_the_fixed_host() {
        let c = NotificationsConfig::parse(Some(r#"{"channels": [{"type": "pagerduty", "name": "pd"}]}"#)).unwrap();
        let key = [("NOTIFICATION_PD_ROUTINGKEY", "r")];
        let base_url = |r: &ResolvedChannel| match &r.target {
            Target::PagerDuty(p) => base(&p.base_url).to_owned(),
            other => panic!("{other:?}"),
        };
        assert_eq!(base_url(&c.resolve(env(&key)).0[0]), "https://events.pagerduty.com");
        let local = [key[0], ("NOTIFICATION_PD_BASEURL", "http://127.0.0.1:9999/")];
        assert_eq!(base_url(&c.resolve(env(&local)).0[0]), "http://127.0.0.1:9999");
    }

    #[test]
    fn the_seeds_secret_names_work_unchanged() {
        for (name, key, var) in [
            ("Telegram Bot", "botToken", "NOTIFICATION_TELEGRAM_BOT_BOTTOKEN"),
            ("Custom Webhook", "url", "NOTIFICATION_CUSTOM_WEBHOOK_URL"),
            ("Custom Webhook", "authToken", "NOTIFICATION_CUSTOM_WEBHOOK_AUTHTOKEN"),
            ("PagerDuty On-Call", "routingKey", "NOTIFICATION_PAGERDUTY_ON_CALL_ROUTINGKEY"),
            ("Discord  Alerts!", "webhookUrl", "NOTIFICATION_DISCORD__ALERTS__WEBHOOKURL"),
            ("Pushover", "userKey", "NOTIFICATION_PUSHOVER_USERKEY"),
            ("Pushover", "apiToken", "NOTIFICATION_PUSHOVER_APITOKEN"),
        ] {
            assert_eq!(seed_credential_var(name, key), var);
            assert_eq!(credential_var(name, key), var, "ours is the same for ASCII names");
        }
        // One `_` per UTF-16 unit, and capitals by Unicode rules, as JavaScript writes them.
        assert_eq!(seed_credential_var("Alerts 🚨", "webhookUrl"), "NOTIFICATION_ALERTS____WEBHOOKURL");
        assert_eq!(credential_var("Alerts 🚨", "webhookUrl"), "NOTIFICATION_ALERTS___WEBHOOKURL");
        assert_eq!(seed_credential_var("straße", "to"), "NOTIFICATION_STRASSE_TO");
        assert_eq!(seed_credential_var("Équipe", "to"), "NOTIFICATION__QUIPE_TO");

        let c = NotificationsConfig::parse(Some(
            r#"{"channels": [{"type": "discord", "name": "Alerts 🚨"},
                             {"type": "pushover", "name": "Pushover"},
                             {"type": "webhook", "name": "Custom Webhook",
                              "config": {"headers": {"Authorization": "Bearer YOUR_TOKEN YOUR_TOKEN"}}}]}"#,
        ))
        .unwrap();
        let (ready, missing) = c.resolve(env(&[
            ("NOTIFICATION_ALERTS____WEBHOOKURL", "https://discord.example/api/webhooks/1/x"),
            ("NOTIFICATION_PUSHOVER_USERKEY", "u-1"),
            ("NOTIFICATION_PUSHOVER_APITOKEN", "t-1"),
            ("NOTIFICATION_CUSTOM_WEBHOOK_URL", "https://hooks.example.com/in"),
            ("NOTIFICATION_CUSTOM_WEBHOOK_AUTHTOKEN", "s3cret"),
        ]));
        assert_eq!(missing, []);
        let Target::Pushover(p) = &ready[1].target else { panic!("{:?}", ready[1]) };
        assert_eq!((p.user.as_str(), p.token.as_str()), ("u-1", "t-1"));
        let Target::Webhook(w) = &ready[2].target else { panic!("{:?}", ready[2]) };
        assert_eq!(w.headers, [("Authorization".to_owned(), "Bearer s3cret YOUR_TOKEN".to_owned())], "the first one");
        assert_eq!(w.method, "POST");

        let (ready, missing) = c.resolve(env(&[("NOTIFICATION_CUSTOM_WEBHOOK_URL", "https://hooks.example.com/in")]));
        assert!(ready.iter().all(|r| r.config.name != "Custom Webhook"));
        assert!(missing.iter().any(|m| m.to_string()
            == "channel \"Custom Webhook\" will not send: NOTIFICATION_CUSTOM_WEBHOOK_AUTHTOKEN is not set"));
    }

    #[test]
    fn credentials_in_the_file_are_used_unless_a_secret_is_set() {
        let c = NotificationsConfig::parse(Some(crate::notify::config::parse::tests::SEED_FILE)).unwrap();
        let (ready, missing) = c.resolve(env(&[
            ("NOTIFICATION_TELEGRAM_BOT_BOTTOKEN", "999:from-secret"),
            ("NOTIFICATION_SLACK_OPS_WEBHOOKURL", "https://hooks.slack.com/services/T/B/X"),
            ("NOTIFICATION_CUSTOM_WEBHOOK_URL", "https://hooks.example.com/in"),
            ("NOTIFICATION_CUSTOM_WEBHOOK_AUTHTOKEN", "tok"),
            ("NOTIFICATION_PAGERDUTY_ON_CALL_ROUTINGKEY", "rk"),
        ]));
        assert_eq!(missing, []);
        assert_eq!(ready.len(), 7);
        assert!(ready.iter().all(|r| r.zone.name() == "Asia/Tokyo"));
        let Target::Telegram(t) = &ready[2].target else { panic!() };
        assert_eq!((t.bot_token.as_str(), t.chat_id.as_str()), ("999:from-secret", "-100200300"), "the secret wins");
        let Target::Email(m) = &ready[3].target else { panic!() };
        assert_eq!(m.to, ["ops@example.com", "oncall@example.com"]);
        assert_eq!((m.from.as_str(), m.api_key.as_str()), ("Monitor <monitor@example.com>", "key-file"));
        let Target::Pushover(p) = &ready[5].target else { panic!() };
        assert_eq!((p.user.as_str(), p.token.as_str()), ("u-file", "t-file"));
        assert!(!format!("{:?}", ready[2]).contains("from-file"), "Debug never shows a credential");
    }
}
