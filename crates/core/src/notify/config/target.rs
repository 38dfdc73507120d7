//! A ready channel's typed settings: for each API the URL, credentials and options it sends
//! with, built by [`resolve`](super::resolve) from the environment and the file.
//!
//! `Debug` never shows a credential or a URL (webhook URLs carry tokens): only the type.

use std::collections::BTreeMap;
use std::fmt;

use url::Url;

use super::SpecificOptions;
use crate::notify::vocab::{ChannelType, Severity};

/// Where and how one channel sends, by type.
#[derive(Clone, Eq, PartialEq)]
pub enum Target {
    /// Discord: `webhookUrl`.
    Discord {
        /// The execute-webhook URL (it embeds the webhook's token).
        webhook_url: Url,
    },
    /// Slack: `webhookUrl`.
    Slack {
        /// The incoming-webhook URL.
        webhook_url: Url,
    },
    /// Mattermost: `webhookUrl`.
    Mattermost {
        /// The incoming-webhook URL.
        webhook_url: Url,
    },
    /// Rocket.Chat: `webhookUrl`.
    RocketChat {
        /// The incoming-webhook URL.
        webhook_url: Url,
    },
    /// Microsoft Teams: `webhookUrl`.
    Teams {
        /// The Workflows trigger URL.
        webhook_url: Url,
    },
    /// Google Chat: `webhookUrl`.
    GoogleChat {
        /// The incoming-webhook URL (with its `key` and `token` query).
        webhook_url: Url,
    },
    /// Telegram Bot API.
    Telegram(Telegram),
    /// E-mail through Mailgun.
    Email(Mailgun),
    /// The generic webhook.
    Webhook(Webhook),
    /// Pushover.
    Pushover(Pushover),
    /// PagerDuty Events API v2.
    PagerDuty(PagerDuty),
    /// ntfy.
    Ntfy(Ntfy),
    /// Gotify.
    Gotify(Gotify),
    /// Opsgenie.
    Opsgenie(Opsgenie),
    /// SMS through Twilio.
    Sms(Twilio),
    /// E-mail through Postmark.
    Postmark(Postmark),
}

/// Telegram: `botToken`, `chatId`, `baseUrl`.
#[derive(Clone, Eq, PartialEq)]
pub struct Telegram {
    /// The API origin (`https://api.telegram.org` unless `baseUrl` is set).
    pub base_url: Url,
    /// The bot's token, e.g. `123:ABC`.
    pub bot_token: String,
    /// The chat to post in.
    pub chat_id: String,
}

/// Mailgun: `apiKey`, `domain`, `to`, `from`, `baseUrl`.
#[derive(Clone, Eq, PartialEq)]
pub struct Mailgun {
    /// The API origin (`https://api.mailgun.net` unless `baseUrl` is set).
    pub base_url: Url,
    /// The private API key, sent as the Basic auth password of user `api`.
    pub api_key: String,
    /// The sending domain, e.g. `mg.example.com`.
    pub domain: String,
    /// The recipients, at least one.
    pub to: Vec<String>,
    /// The sender, e.g. `Systole <systole@example.com>`.
    pub from: String,
}

/// Twilio (SMS): `accountSid`, `authToken`, `to`, `from` or `messagingServiceSid`, `baseUrl`.
#[derive(Clone, Eq, PartialEq)]
pub struct Twilio {
    /// The API origin (`https://api.twilio.com` unless `baseUrl` is set).
    pub base_url: Url,
    /// The account SID (`AC…`): in the URL path and the Basic auth user name.
    pub account_sid: String,
    /// The auth token, the Basic auth password.
    pub auth_token: String,
    /// The recipient, e.g. `+15551234567`.
    pub to: String,
    /// Who sends: a Twilio number or a Messaging Service.
    pub sender: SmsSender,
}

/// The sender of an SMS; `from` wins when both are set.
#[derive(Clone, Eq, PartialEq)]
pub enum SmsSender {
    /// `From`: a Twilio phone number (or alphanumeric sender id).
    From(String),
    /// `MessagingServiceSid` (`MG…`): Twilio picks the number.
    MessagingService(String),
}

/// Postmark: `serverToken`, `to`, `from`, `baseUrl`, option `messageStream`.
#[derive(Clone, Eq, PartialEq)]
pub struct Postmark {
    /// The API origin (`https://api.postmarkapp.com` unless `baseUrl` is set).
    pub base_url: Url,
    /// The server's API token, sent as `X-Postmark-Server-Token`.
    pub server_token: String,
    /// The recipients, at least one.
    pub to: Vec<String>,
    /// The sender, a confirmed Sender Signature, e.g. `Systole <systole@example.com>`.
    pub from: String,
    /// The message stream (default `outbound`, the transactional stream).
    pub message_stream: Option<String>,
}

/// The generic webhook: `url`, `secret`, `authorization`, `authToken`, options `headers`
/// and `method`.
#[derive(Clone, Eq, PartialEq)]
pub struct Webhook {
    /// `POST` (default), `PUT` or `PATCH`.
    pub method: &'static str,
    /// Where to send.
    pub url: Url,
    /// Signs the body (`X-Systole-Signature`) when set.
    pub secret: Option<String>,
    /// Sent as the `Authorization` header when set.
    pub authorization: Option<String>,
    /// Extra headers from the file, sorted by name (checked by the `http` crate), with
    /// `YOUR_TOKEN` in `Authorization` replaced by the `authToken` credential; without the
    /// file's `Authorization` when the `authorization` credential is set (it wins).
    pub headers: Vec<(String, String)>,
}

/// Pushover: `token`, `user`, `baseUrl`, options `priority`, `retry`, `expire`.
#[derive(Clone, Eq, PartialEq)]
pub struct Pushover {
    /// The API origin (`https://api.pushover.net` unless `baseUrl` is set).
    pub base_url: Url,
    /// The application's API token.
    pub token: String,
    /// The user or group key.
    pub user: String,
    /// Priority for urgent news, -2..=2 (default 1).
    pub priority: Option<i32>,
    /// Emergency retry interval in seconds (default 60).
    pub retry: Option<u32>,
    /// Emergency expiry in seconds (default 3600).
    pub expire: Option<u32>,
}

/// PagerDuty: `routingKey`, `baseUrl`, options `severity`, `source`.
#[derive(Clone, Eq, PartialEq)]
pub struct PagerDuty {
    /// The API origin (`https://events.pagerduty.com` unless `baseUrl` is set).
    pub base_url: Url,
    /// The integration's routing key.
    pub routing_key: String,
    /// Severity for `down` and `reminder` (default `critical`).
    pub severity: Option<Severity>,
    /// `payload.source` (default `systole`).
    pub source: Option<String>,
}

/// ntfy: `topicUrl` (split into server and topic), `token`, option `priority`.
#[derive(Clone, Eq, PartialEq)]
pub struct Ntfy {
    /// The server, with any path before the topic, e.g. `https://ntfy.sh/`.
    pub server: Url,
    /// The topic: the topic URL's last path segment, as written.
    pub topic: String,
    /// An access token for a protected topic.
    pub token: Option<String>,
    /// Priority for urgent news, 1..=5 (default 4).
    pub priority: Option<i32>,
}

/// Gotify: `url`, `token`, option `priority`.
#[derive(Clone, Eq, PartialEq)]
pub struct Gotify {
    /// The server.
    pub url: Url,
    /// The application token.
    pub token: String,
    /// Priority for urgent news, 0..=10 (default 8).
    pub priority: Option<i32>,
}

/// Opsgenie: `apiKey`, `baseUrl`, option `priority`.
#[derive(Clone, Eq, PartialEq)]
pub struct Opsgenie {
    /// The API origin (`https://api.opsgenie.com` unless `baseUrl` is set).
    pub base_url: Url,
    /// The integration's API key.
    pub api_key: String,
    /// Priority for urgent news, 1..=5 for `P1`..`P5` (default 1).
    pub priority: Option<i32>,
}

/// A checked credential value.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(super) enum Checked {
    /// Any text, trimmed.
    Text(String),
    /// An `http(s)` URL.
    Url(Url),
    /// E-mail addresses.
    Addresses(Vec<String>),
}

/// `text` as an `http(s)` URL: written `http://…` or `https://…` (lower-case, both slashes;
/// the parser alone would also take `HTTPS:host`), with no whitespace or control character
/// anywhere (the parser would silently drop some), and parsed by the WHATWG rules `fetch`
/// follows; `None` otherwise. The one URL check of notifications (credentials, alert links,
/// dashboard links).
pub fn web_url(text: &str) -> Option<Url> {
    let written = text.starts_with("https://") || text.starts_with("http://");
    if !written || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Url::parse(text).ok().filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// `url` as text without its trailing `/`s, to append a path starting with `/` to.
pub fn base(url: &Url) -> &str {
    url.as_str().trim_end_matches('/')
}

/// Splits an ntfy topic URL into the server (the URL without its last path segment, query or
/// fragment) and the topic (that segment); `None` when the last segment is empty.
pub(super) fn ntfy_topic(topic_url: &Url) -> Option<(Url, String)> {
    let topic = topic_url.path_segments()?.next_back().filter(|t| !t.is_empty())?.to_owned();
    let mut server = topic_url.clone();
    server.path_segments_mut().ok()?.pop();
    server.set_query(None);
    server.set_fragment(None);
    Some((server, topic))
}

impl Target {
    /// The target of a channel of `kind` from its checked credentials and the file's options;
    /// `None` when a required credential is absent (which [`super::resolve`] rules out).
    pub(super) fn build(
        kind: ChannelType,
        mut credentials: BTreeMap<&'static str, Checked>,
        options: &SpecificOptions,
    ) -> Option<Self> {
        let mut text = |key: &str| match credentials.remove(key) {
            Some(Checked::Text(t)) => Some(t),
            _ => None,
        };
        let (bot_token, chat_id, api_key, domain) = (text("botToken"), text("chatId"), text("apiKey"), text("domain"));
        let (from, token, user, routing_key) = (text("from"), text("token"), text("user"), text("routingKey"));
        let (secret, authorization, auth_token) = (text("secret"), text("authorization"), text("authToken"));
        let (account_sid, messaging_service, server_token) =
            (text("accountSid"), text("messagingServiceSid"), text("serverToken"));
        // An SMS `to` is one number (text); e-mail's are addresses, taken below.
        let sms_to = if kind == ChannelType::Sms { text("to") } else { None };
        let mut url = |key: &str| match credentials.remove(key) {
            Some(Checked::Url(u)) => Some(u),
            _ => None,
        };
        let (webhook_url, plain_url, topic_url) = (url("webhookUrl"), url("url"), url("topicUrl"));
        let base_url = url("baseUrl").or_else(|| kind.default_base_url().and_then(|u| Url::parse(u).ok()));
        let to = match credentials.remove("to") {
            Some(Checked::Addresses(list)) => Some(list),
            _ => None,
        };
        // `parse` gives each type its own options; any other pairing keeps the defaults.
        let priority = match options {
            SpecificOptions::Priority { priority } | SpecificOptions::Pushover { priority, .. } => *priority,
            _ => None,
        };
        Some(match kind {
            ChannelType::Discord => Target::Discord { webhook_url: webhook_url? },
            ChannelType::Slack => Target::Slack { webhook_url: webhook_url? },
            ChannelType::Mattermost => Target::Mattermost { webhook_url: webhook_url? },
            ChannelType::RocketChat => Target::RocketChat { webhook_url: webhook_url? },
            ChannelType::Teams => Target::Teams { webhook_url: webhook_url? },
            ChannelType::GoogleChat => Target::GoogleChat { webhook_url: webhook_url? },
            ChannelType::Telegram => {
                Target::Telegram(Telegram { base_url: base_url?, bot_token: bot_token?, chat_id: chat_id? })
            }
            ChannelType::Email => {
                Target::Email(Mailgun { base_url: base_url?, api_key: api_key?, domain: domain?, to: to?, from: from? })
            }
            ChannelType::Webhook => {
                let (headers, method) = match options {
                    SpecificOptions::Webhook { headers, method } => (headers.clone(), *method),
                    _ => (Vec::new(), None),
                };
                let is_auth = |name: &str| name.eq_ignore_ascii_case("authorization");
                let headers = headers
                    .into_iter()
                    .filter(|(name, _)| authorization.is_none() || !is_auth(name))
                    .map(|(name, value)| match &auth_token {
                        Some(token) if is_auth(&name) => {
                            let value = value.replacen(super::credentials::TOKEN_PLACEHOLDER, token, 1);
                            (name, value)
                        }
                        _ => (name, value),
                    })
                    .collect();
                let method = method.unwrap_or("POST");
                Target::Webhook(Webhook { method, url: plain_url?, secret, authorization, headers })
            }
            ChannelType::Pushover => {
                let (retry, expire) = match options {
                    SpecificOptions::Pushover { retry, expire, .. } => (*retry, *expire),
                    _ => (None, None),
                };
                Target::Pushover(Pushover { base_url: base_url?, token: token?, user: user?, priority, retry, expire })
            }
            ChannelType::PagerDuty => {
                let (severity, source) = match options {
                    SpecificOptions::PagerDuty { severity, source } => (*severity, source.clone()),
                    _ => (None, None),
                };
                Target::PagerDuty(PagerDuty { base_url: base_url?, routing_key: routing_key?, severity, source })
            }
            ChannelType::Ntfy => {
                let (server, topic) = ntfy_topic(&topic_url?)?;
                Target::Ntfy(Ntfy { server, topic, token, priority })
            }
            ChannelType::Gotify => Target::Gotify(Gotify { url: plain_url?, token: token?, priority }),
            ChannelType::Opsgenie => Target::Opsgenie(Opsgenie { base_url: base_url?, api_key: api_key?, priority }),
            ChannelType::Sms => {
                let sender = from.map(SmsSender::From).or(messaging_service.map(SmsSender::MessagingService))?;
                Target::Sms(Twilio {
                    base_url: base_url?,
                    account_sid: account_sid?,
                    auth_token: auth_token?,
                    to: sms_to?,
                    sender,
                })
            }
            ChannelType::Postmark => {
                let message_stream = match options {
                    SpecificOptions::Postmark { message_stream } => message_stream.clone(),
                    _ => None,
                };
                Target::Postmark(Postmark {
                    base_url: base_url?,
                    server_token: server_token?,
                    to: to?,
                    from: from?,
                    message_stream,
                })
            }
        })
    }

    /// The channel type this target is for.
    pub fn kind(&self) -> ChannelType {
        match self {
            Target::Discord { .. } => ChannelType::Discord,
            Target::Slack { .. } => ChannelType::Slack,
            Target::Mattermost { .. } => ChannelType::Mattermost,
            Target::RocketChat { .. } => ChannelType::RocketChat,
            Target::Teams { .. } => ChannelType::Teams,
            Target::GoogleChat { .. } => ChannelType::GoogleChat,
            Target::Telegram(_) => ChannelType::Telegram,
            Target::Email(_) => ChannelType::Email,
            Target::Webhook(_) => ChannelType::Webhook,
            Target::Pushover(_) => ChannelType::Pushover,
            Target::PagerDuty(_) => ChannelType::PagerDuty,
            Target::Ntfy(_) => ChannelType::Ntfy,
            Target::Gotify(_) => ChannelType::Gotify,
            Target::Opsgenie(_) => ChannelType::Opsgenie,
            Target::Sms(_) => ChannelType::Sms,
            Target::Postmark(_) => ChannelType::Postmark,
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({}, credentials hidden)", self.kind())
    }
}

/// `Debug` that names the type only: these hold credentials.
macro_rules! hidden_debug {
    ($($t:ident),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t)).finish_non_exhaustive()
            }
        }
    )*};
}
hidden_debug!(Telegram, Mailgun, Webhook, Pushover, PagerDuty, Ntfy, Gotify, Opsgenie, Twilio, SmsSender, Postmark);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn web_urls_are_http_or_https_without_spaces() {
        assert_eq!(web_url("https://x.example/a?b=c").unwrap().as_str(), "https://x.example/a?b=c");
        for bad in [
            "ftp://x",
            "https://",
            "https://x.example/a b",
            "https://x.example/\ta",
            "javascript:alert(1)",
            "x.example",
            "https:x.example",
            "HTTPS://x.example",
            "https://[::1",
        ] {
            assert_eq!(web_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn ntfy_topic_urls_split_into_server_and_topic() {
        let split = |u: &str| ntfy_topic(&Url::parse(u).unwrap()).map(|(s, t)| (s.to_string(), t));
        assert_eq!(
            split("https://ntfy.example.com/sub/alerts"),
            Some(("https://ntfy.example.com/sub".to_owned(), "alerts".to_owned()))
        );
        assert_eq!(split("https://ntfy.sh/t"), Some(("https://ntfy.sh/".to_owned(), "t".to_owned())));
        assert_eq!(split("https://ntfy.sh/"), None);
        assert_eq!(base(&Url::parse("https://ntfy.sh/").unwrap()), "https://ntfy.sh");
    }

    #[test]
    fn debug_never_shows_a_credential() {
        let t = Target::Telegram(Telegram {
            base_url: Url::parse("https://api.telegram.org").unwrap(),
            bot_token: "123:SECRET".to_owned(),
            chat_id: "42".to_owned(),
        });
        assert_eq!(format!("{t:?}"), "Target(telegram, credentials hidden)");
        let Target::Telegram(inner) = &t else { unreachable!() };
        assert!(!format!("{inner:?}").contains("SECRET"));
    }
}
