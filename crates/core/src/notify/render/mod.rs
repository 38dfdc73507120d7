//! One channel's HTTP request for one notification, as data: method, URL, headers, body.
//!
//! Pure: the shell sends the [`OutboundRequest`] with `fetch` and records the answer. Each
//! channel's module follows the API's documented wire format (sources on each `request`)
//! and keeps every length limit by cutting text and ending it with `…`, never by failing,
//! and never inside a character ([`crate::notify::text`]). Limits are counted in the unit
//! the API counts in (characters, UTF-16 code units or bytes, as each function says).

mod discord;
mod google_chat;
mod gotify;
mod mailgun;
mod mattermost;
mod ntfy;
mod opsgenie;
mod pagerduty;
mod postmark;
mod pushover;
mod slack;
mod teams;
mod telegram;
mod twilio;
mod webhook;

use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

use crate::notify::config::{web_url, ResolvedChannel, Target};
use crate::notify::message::Notification;
use crate::notify::template::{Context, SeedTemplate, Template};
use crate::notify::vocab::{Event, Severity, Urgency};
use crate::time::Timestamp;

/// An HTTP request to send.
///
/// `Debug` hides the URL's path and query, header values and the body: they carry
/// credentials (webhook tokens, bot tokens, API keys).
#[derive(Clone, Eq, PartialEq)]
pub struct OutboundRequest {
    /// The HTTP method; every channel uses `POST`.
    pub method: &'static str,
    /// The full URL, credentials included where the API puts them there.
    pub url: String,
    /// Headers in the order to send them; names as the API documents them.
    pub headers: Vec<(String, String)>,
    /// The body, exactly as it must be sent (signatures cover these bytes).
    pub body: String,
}

impl OutboundRequest {
    fn post(url: String, content_type: &str, body: String) -> Self {
        Self { method: "POST", url, headers: vec![("Content-Type".to_owned(), content_type.to_owned())], body }
    }

    fn json(url: String, body: &Value) -> Self {
        Self::post(url, "application/json", body.to_string())
    }

    fn form(url: String, fields: &[(&str, &str)]) -> Self {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        Self::post(url, "application/x-www-form-urlencoded", body)
    }

    fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The first header with this name, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for OutboundRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = self.url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
        f.debug_struct("OutboundRequest")
            .field("method", &self.method)
            .field("url", &format!("{origin}/…"))
            .field("headers", &self.headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>())
            .field("body", &format!("{} bytes", self.body.len()))
            .finish()
    }
}

/// The request that delivers `n` through `channel`, at `now` (used by the webhook's replay
/// protection, test alert keys and the seed's `{{timestampISO}}`).
pub fn render(channel: &ResolvedChannel, n: &Notification, now: Timestamp) -> OutboundRequest {
    let text = Text::new(channel, n, now);
    match &channel.target {
        Target::Discord { webhook_url } => discord::request(webhook_url, n, &text),
        Target::Slack { webhook_url } => slack::request(webhook_url, n, &text),
        Target::Mattermost { webhook_url } | Target::RocketChat { webhook_url } => {
            mattermost::request(webhook_url, n, &text)
        }
        Target::Telegram(telegram) => telegram::request(telegram, n, &text),
        Target::Webhook(webhook) => webhook::request(webhook, n, &text, now),
        Target::PagerDuty(pagerduty) => pagerduty::request(pagerduty, n, &text, now),
        Target::Opsgenie(opsgenie) => opsgenie::request(opsgenie, n, &text, now),
        Target::Ntfy(ntfy) => ntfy::request(ntfy, n, &text),
        Target::Teams { webhook_url } => teams::request(webhook_url, n, &text),
        Target::GoogleChat { webhook_url } => google_chat::request(webhook_url, n, &text),
        Target::Gotify(gotify) => gotify::request(gotify, n, &text),
        Target::Pushover(pushover) => pushover::request(pushover, n, &text),
        Target::Email(mailgun) => mailgun::request(mailgun, n, &text),
        Target::Sms(twilio) => twilio::request(twilio, n, &text),
        Target::Postmark(postmark) => postmark::request(postmark, n, &text),
    }
}

/// The label of dashboard links.
const OPEN: &str = "Open the dashboard";
/// The label of an external alert's link to its sender (e.g. Alertmanager's `generatorURL`),
/// shown when there is no dashboard link: never labelled as ours.
const SOURCE: &str = "Open at the source";

/// An escape for values inserted into markup ([`crate::notify::text`]).
type Escape = fn(char) -> Option<&'static str>;

/// A notification's texts for one channel. Title and body (plain text): the seed template
/// of its type ([`SeedTemplate`], `templates.<type>` or `<type>_external`), else the
/// channel's own `title`/`body`, else the defaults; a seed field or our title that renders
/// blank falls back. Times are in the channel's zone.
struct Text<'a> {
    title: String,
    body: String,
    n: &'a Notification,
    seed: Option<&'a SeedTemplate>,
    cx: Context<'a>,
}

impl<'a> Text<'a> {
    fn new(channel: &'a ResolvedChannel, n: &'a Notification, now: Timestamp) -> Self {
        let cx = Context { now, zone: &channel.zone, kind: channel.target.kind() };
        let seed = channel.config.templates.of(n);
        let o = &channel.config.options;
        let filled = |t: Option<&Template>| t.map(|t| t.render(n, &cx)).filter(|t| !t.trim().is_empty());
        // A title is required by most APIs: one that renders blank falls back.
        let title = filled(seed.and_then(|s| s.title.as_ref()))
            .or_else(|| filled(o.title.as_ref()))
            .unwrap_or_else(|| n.default_title());
        let body = filled(seed.and_then(|s| s.body.as_ref()))
            .or_else(|| o.body.as_ref().map(|t| t.render(n, &cx)))
            .unwrap_or_else(|| n.default_body_in(&channel.zone));
        Self { title, body, n, seed, cx }
    }

    /// The body with the dashboard link as its last line, for channels without a link widget.
    fn body_with_link(&self, n: &Notification) -> String {
        match link(n) {
            Some(url) if self.body.is_empty() => format!("{}: {url}", label(n)),
            Some(url) => format!("{}\n{}: {url}", self.body, label(n)),
            None => self.body.clone(),
        }
    }

    /// The seed template's `pick` field rendered as markup: its literal text as written, the
    /// values escaped with `escape`; `None` when absent or blank.
    fn seed_markup(&self, pick: fn(&SeedTemplate) -> Option<&Template>, escape: Escape) -> Option<String> {
        let t = pick(self.seed?)?;
        Some(t.render_escaped(self.n, &self.cx, escape)).filter(|t| !t.trim().is_empty())
    }

    /// The seed template's fields (name, value, inline), values escaped with `escape`; those
    /// whose name or value renders blank are left out. Empty: the channel's default fields.
    fn fields(&self, escape: Escape) -> Vec<(String, String, bool)> {
        let Some(seed) = self.seed else { return Vec::new() };
        let render = |t: &Template| t.render_escaped(self.n, &self.cx, escape);
        seed.fields
            .iter()
            .map(|f| (render(&f.name), render(&f.value), f.inline))
            .filter(|(name, value, _)| !name.trim().is_empty() && !value.trim().is_empty())
            .collect()
    }

    /// The seed template's literal footer.
    fn footer(&self) -> Option<&str> {
        self.seed?.footer.as_deref().filter(|f| !f.trim().is_empty())
    }

    /// The seed template's literal PagerDuty severity.
    fn severity(&self) -> Option<Severity> {
        self.seed?.severity
    }
}

/// The link to show: our dashboard's ([`Notification::dashboard_url`], labelled [`OPEN`]),
/// else an external alert's link at its source ([`AlertDetails::url`](crate::notify::message::AlertDetails),
/// labelled [`SOURCE`] by [`label`]); only a plain http(s) URL ([`web_url`]) without
/// characters that markup gives a meaning (`<>|"'` and backtick), safe inside markup.
fn link(n: &Notification) -> Option<&str> {
    let safe = |u: &&str| !u.chars().any(|c| "<>|\"'`".contains(c)) && web_url(u).is_some();
    n.dashboard_url.as_deref().filter(safe).or_else(|| n.alert().and_then(|a| a.url.as_deref()).filter(safe))
}

/// What [`link`]'s URL is called: [`OPEN`] for our dashboard, [`SOURCE`] for a sender's.
fn label(n: &Notification) -> &'static str {
    if link(n).is_some_and(|u| n.dashboard_url.as_deref() == Some(u)) {
        OPEN
    } else {
        SOURCE
    }
}

/// A notification's colour as `0xRRGGBB`: red, green, orange, yellow, blue. Alerts: green
/// once resolved, else red, orange or blue by urgency.
fn colour(n: &Notification) -> u32 {
    const RED: u32 = 0xE7_4C_3C;
    const GREEN: u32 = 0x2E_CC_71;
    const ORANGE: u32 = 0xE6_7E_22;
    const BLUE: u32 = 0x34_98_DB;
    match n.event() {
        Event::Down | Event::Reminder | Event::Escalation => RED,
        Event::Up => GREEN,
        Event::Degraded => ORANGE,
        Event::Late => 0xF1_C4_0F,
        Event::Test => BLUE,
        Event::Alert if n.resolves() => GREEN,
        Event::Alert => match n.urgency() {
            Urgency::High => RED,
            Urgency::Medium => ORANGE,
            Urgency::Low => BLUE,
        },
    }
}

/// Inserts `key: value` when the text is not blank.
fn put_text(object: &mut Map<String, Value>, key: &str, value: String) {
    if !value.trim().is_empty() {
        object.insert(key.to_owned(), Value::String(value));
    }
}

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// What one URL path segment must escape: the WHATWG path percent-encode set (controls,
/// space, `"` `#` `<` `>` `?` `` ` `` `{` `}`) plus `/` and `%`.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%');

/// `text` as one URL path segment (a bot token, a mail domain): `/`, `?`, `#`, `%`, spaces
/// and the like percent-encoded, other characters (`:` included) kept.
fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// `text` as one URL path segment with every byte outside the unreserved characters
/// percent-encoded (an Opsgenie alias, which may hold any text).
fn alias_segment(text: &str) -> String {
    utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

/// The deduplication key of a service's alerts in PagerDuty and Opsgenie.
///
/// One key per service: while an alert with it is open, triggers (reminders, `degraded`
/// turning `down`) update that alert instead of paging again, and `up` resolves it whatever
/// state it was opened in; once resolved, both services open a new alert for the next
/// trigger with the same key. A test gets its own key so it never touches a real alert. An
/// external alert's key is `systole-alert-{sender}-{fingerprint}` (`systole-alert-{fingerprint}`
/// for one queued before senders were told apart), so its own sender's resolution closes it
/// and another sender's same fingerprint never touches it.
fn alert_key(n: &Notification, now: Timestamp) -> String {
    match (n.event(), n.alert()) {
        (Event::Test, _) => format!("systole-test-{}-{}", n.service_id, now.as_millis()),
        (Event::Alert, Some(a)) => match &a.sender {
            Some(sender) => format!("systole-alert-{sender}-{}", a.fingerprint),
            None => format!("systole-alert-{}", a.fingerprint),
        },
        _ => format!("systole-{}", n.service_id),
    }
}

/// Builders for the channels' tests.
#[cfg(test)]
pub(crate) mod testing {
    #![allow(clippy::unwrap_used)]
    use serde_json::Value;

    use super::OutboundRequest;
    use crate::notify::config::{resolve, NotificationsConfig, ResolvedChannel};
    use crate::notify::message::tests::{alert_firing, with_alert};
    use crate::notify::message::Notification;
    use crate::notify::vocab::ChannelType;
    use crate::time::Timestamp;

    pub(crate) const NOW: Timestamp = Timestamp::from_millis(1_763_753_900_000);

    /// The one channel of a one-channel config, with these credentials (`KEY` → variable
    /// `NOTIFICATION_CH_KEY`).
    pub(crate) fn channel(kind: &str, config: &str, credentials: &[(&str, &str)]) -> ResolvedChannel {
        let json = format!(r#"{{"channels": [{{"type": "{kind}", "name": "ch", "config": {config}}}]}}"#);
        let parsed = NotificationsConfig::parse(Some(&json)).unwrap();
        let vars: Vec<(String, String)> =
            credentials.iter().map(|(k, v)| (format!("NOTIFICATION_CH_{}", k.to_uppercase()), v.to_string())).collect();
        let (mut ready, missing) =
            resolve(&parsed.channels, |var| vars.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone()));
        assert_eq!(missing, []);
        ready.remove(0)
    }

    pub(crate) fn body(request: &OutboundRequest) -> Value {
        serde_json::from_str(&request.body).unwrap()
    }

    pub(crate) fn form(request: &OutboundRequest) -> Vec<(String, String)> {
        form_urlencoded::parse(request.body.as_bytes()).into_owned().collect()
    }

    pub(crate) fn long(unit: &str, n: usize) -> String {
        unit.repeat(n)
    }

    /// Credentials that satisfy every required key of `kind`.
    pub(crate) fn any_channel(kind: ChannelType) -> ResolvedChannel {
        let mut creds: Vec<(&str, &str)> = kind
            .credentials()
            .required
            .iter()
            .map(|&k| {
                let v = match k {
                    "webhookUrl" | "url" => "https://example.com/hook",
                    "topicUrl" => "https://ntfy.sh/t",
                    "to" if kind == ChannelType::Sms => "+15550000000",
                    "to" | "from" => "a@example.com",
                    _ => "x",
                };
                (k, v)
            })
            .collect();
        if kind == ChannelType::Sms {
            creds.push(("from", "+15550000001"));
        }
        channel(kind.as_str(), "{}", &creds)
    }

    /// A firing alert with every text far beyond any channel's limit.
    pub(crate) fn huge_alert() -> Notification {
        let n = Notification {
            service_name: long("é", 3_000),
            message: Some(long("😀<&", 6_000)),
            service_id: long("s", 2_000),
            ..alert_firing()
        };
        with_alert(n, |a| {
            a.labels = (0..64).map(|i| (format!("label{i:02}"), long("v", 1_024))).collect();
            a.fingerprint = long("f", 128);
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use serde_json::{json, Value};

    use super::testing::{any_channel, body, channel, form, huge_alert, NOW};
    use super::*;
    use crate::notify::message::tests::{alert_firing, alert_resolved, down, up, with_alert};
    use crate::notify::message::{ServiceEvent, Subject};
    use crate::notify::vocab::{AlertState, ChannelType, Severity};

    #[test]
    fn templates_replace_the_default_text() {
        let ch = channel(
            "slack",
            r#"{"title": "{service.name}: {previous_status} → {status}", "body": "down for {duration}"}"#,
            &[("webhookUrl", "https://hooks.slack.com/services/T/B/X")],
        );
        let b = body(&render(&ch, &up(), NOW));
        assert_eq!(b["text"], "Production API: down → up");
        assert_eq!(b["blocks"][1]["text"]["text"], "down for 4 min 12 s");
        let blank = channel("slack", r#"{"title": "{group}"}"#, &[("webhookUrl", "https://hooks.slack.com/x")]);
        let n = Notification { group: None, ..up() };
        assert_eq!(body(&render(&blank, &n, NOW))["text"], up().default_title(), "a blank title falls back");
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(segment("123:ABC-_x"), "123:ABC-_x", "a bot token stays as it is");
        assert_eq!(segment("a/b?c#d%e f"), "a%2Fb%3Fc%23d%25e%20f");
        assert_eq!(alias_segment("disk /var?x:é"), "disk%20%2Fvar%3Fx%3A%C3%A9");
    }

    #[test]
    fn every_channel_type_renders_a_post() {
        for kind in ChannelType::ALL {
            let mut creds: Vec<(&str, &str)> = kind
                .credentials()
                .required
                .iter()
                .map(|&k| {
                    (
                        k,
                        match k {
                            "webhookUrl" | "url" => "https://example.com/hook",
                            "topicUrl" => "https://ntfy.sh/t",
                            "to" | "from" if kind == ChannelType::Sms => "+15550000000",
                            "to" | "from" => "a@example.com",
                            _ => "x",
                        },
                    )
                })
                .collect();
            if kind == ChannelType::Sms {
                creds.push(("from", "+15550000001"));
            }
            let ch = channel(kind.as_str(), "{}", &creds);
            for event in Event::ALL {
                let subject = ServiceEvent::of(event).map_or_else(|| alert_firing().subject, Subject::from);
                let n = Notification { subject, duration: Some(Duration::from_secs(61)), ..down() };
                let r = render(&ch, &n, NOW);
                assert_eq!(r.method, "POST", "{kind} {event}");
                assert!(r.url.starts_with("https://"), "{kind} {event}: {}", r.url);
                assert!(!r.body.is_empty(), "{kind} {event}");
                assert!(!format!("{r:?}").contains("/hook"), "Debug hides the URL path");
            }
        }
    }

    #[test]
    fn alerts_render_within_every_channel_limit() {
        let chars = |v: &Value| v.as_str().unwrap_or_default().chars().count();
        for n in [huge_alert(), alert_firing(), alert_resolved()] {
            for kind in ChannelType::ALL {
                let r = render(&any_channel(kind), &n, NOW);
                assert_eq!(r.method, "POST", "{kind}");
                assert!(r.url.starts_with("https://"), "{kind}: {}", r.url);
                let form_get = |k: &str| form(&r).into_iter().find(|(n, _)| n == k).map(|(_, v)| v.chars().count());
                match kind {
                    ChannelType::Discord => {
                        let b = body(&r);
                        let embed = &b["embeds"][0];
                        assert!(chars(&b["content"]) <= 2_000);
                        assert!(chars(&embed["title"]) <= 256 && chars(&embed["description"]) <= 4_096);
                        let fields: usize = embed["fields"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|f| {
                                assert!(chars(&f["name"]) <= 256 && chars(&f["value"]) <= 1_024);
                                chars(&f["name"]) + chars(&f["value"])
                            })
                            .sum();
                        let total = chars(&embed["title"]) + chars(&embed["description"]) + fields + 7;
                        assert!(total <= 6_000, "{total}");
                    }
                    ChannelType::Slack => {
                        let b = body(&r);
                        assert!(chars(&b["blocks"][0]["text"]["text"]) <= 150);
                        assert!(chars(&b["blocks"][1]["text"]["text"]) <= 3_000);
                        assert!(chars(&b["text"]) <= 3_000);
                    }
                    ChannelType::Mattermost | ChannelType::RocketChat => {
                        let b = body(&r);
                        assert!(chars(&b["text"]) <= 4_000);
                        assert!(chars(&b["attachments"][0]["text"]) <= 4_000);
                    }
                    ChannelType::Telegram => {
                        let text = body(&r)["text"].as_str().unwrap().to_owned();
                        let visible = text
                            .replace("<b>", "")
                            .replace("</b>", "")
                            .replace("&amp;", "&")
                            .replace("&lt;", "<")
                            .replace("&gt;", ">");
                        let visible = visible.split("<a href").next().unwrap().to_owned() + OPEN;
                        assert!(visible.encode_utf16().count() <= 4_096, "{}", visible.encode_utf16().count());
                    }
                    ChannelType::PagerDuty => {
                        let b = body(&r);
                        assert!(chars(&b["payload"]["summary"]) <= 1_024);
                        assert!(b["dedup_key"].as_str().unwrap().len() <= 255);
                    }
                    ChannelType::Opsgenie => {
                        let b = body(&r);
                        if n.alert().unwrap().state == AlertState::Firing {
                            assert!(chars(&b["message"]) <= 130 && chars(&b["alias"]) <= 512);
                            assert!(chars(&b["description"]) <= 15_000 && chars(&b["entity"]) <= 512);
                        } else {
                            assert!(chars(&b["note"]) <= 25_000);
                        }
                    }
                    ChannelType::Ntfy => {
                        let b = body(&r);
                        assert!(b["message"].as_str().unwrap().len() <= 4_096 && chars(&b["title"]) <= 256);
                    }
                    ChannelType::Teams => {
                        let b = body(&r);
                        for block in b["attachments"][0]["content"]["body"].as_array().unwrap() {
                            assert!(chars(&block["text"]) <= 4_000);
                        }
                    }
                    ChannelType::GoogleChat => assert!(chars(&body(&r)["text"]) <= 4_096),
                    ChannelType::Gotify => {
                        let b = body(&r);
                        assert!(chars(&b["title"]) <= 4_096 && chars(&b["message"]) <= 4_096);
                    }
                    ChannelType::Pushover => {
                        assert!(form_get("title").unwrap() <= 250 && form_get("message").unwrap() <= 1_024);
                    }
                    ChannelType::Email => assert!(form_get("subject").is_some()),
                    ChannelType::Sms => {
                        let text = form(&r).into_iter().find(|(n, _)| n == "Body").unwrap().1;
                        assert!(text.chars().count() <= 160 && text.encode_utf16().count() <= 160, "{text}");
                    }
                    ChannelType::Postmark => assert!(body(&r)["Subject"].is_string()),
                    ChannelType::Webhook => assert!(body(&r)["alert"].is_object()),
                }
            }
        }
    }

    #[test]
    fn alert_colours_and_priorities_follow_urgency() {
        let discord = any_channel(ChannelType::Discord);
        let colour_of = |n: &Notification| body(&render(&discord, n, NOW))["embeds"][0]["color"].clone();
        assert_eq!(colour_of(&alert_firing()), 0xE74C3C);
        assert_eq!(colour_of(&alert_resolved()), 0x2ECC71);
        let fields = body(&render(&discord, &alert_firing(), NOW))["embeds"][0]["fields"].clone();
        assert_eq!(fields[1], json!({"name": "Severity", "value": "critical", "inline": true}));
        let warning = with_alert(alert_firing(), |a| a.severity = Severity::Warning);
        assert_eq!(colour_of(&warning), 0xE67E22);
        let ntfy = any_channel(ChannelType::Ntfy);
        assert_eq!(body(&render(&ntfy, &alert_firing(), NOW))["priority"], 4);
        assert_eq!(body(&render(&ntfy, &alert_resolved(), NOW))["priority"], 3);
        let teams = any_channel(ChannelType::Teams);
        let tone = |n: &Notification| {
            body(&render(&teams, n, NOW))["attachments"][0]["content"]["body"][0]["color"].as_str().unwrap().to_owned()
        };
        assert_eq!(
            (tone(&alert_firing()), tone(&alert_resolved()), tone(&warning)),
            ("Attention".into(), "Good".into(), "Warning".into())
        );
    }

    /// [`SEED_FILE`](crate::notify::config::SEED_FILE) resolved, every credential set.
    fn seed_channels() -> Vec<ResolvedChannel> {
        let c = crate::notify::config::NotificationsConfig::parse(Some(crate::notify::config::SEED_FILE)).unwrap();
        let vars = [
            ("NOTIFICATION_SLACK_OPS_WEBHOOKURL", "https://hooks.slack.com/services/T/B/X"),
            ("NOTIFICATION_CUSTOM_WEBHOOK_URL", "https://hooks.example.com/in"),
            ("NOTIFICATION_CUSTOM_WEBHOOK_AUTHTOKEN", "tok-1"),
            ("NOTIFICATION_PAGERDUTY_ON_CALL_ROUTINGKEY", "rk"),
        ];
        let (ready, missing) = c.resolve(|k| vars.iter().find(|(v, _)| *v == k).map(|(_, v)| (*v).to_owned()));
        assert_eq!((ready.len(), missing), (7, vec![]));
        ready
    }

    /// `Production_API` went down (Tokyo is UTC+9), last seen 5 minutes before, with metadata.
    fn seed_down() -> Notification {
        Notification {
            service_name: "Production_API".to_owned(),
            last_seen: Some(Timestamp::from_millis(1_763_753_300_000)),
            metadata: Some(r#"{"host": "db-1", "build": 42}"#.to_owned()),
            ..down()
        }
    }

    #[test]
    fn seed_templates_shape_each_channel_and_keep_values_text() {
        let ch = seed_channels();
        let n = seed_down();
        let d = body(&render(&ch[0], &n, NOW));
        let embed = &d["embeds"][0];
        assert_eq!(embed["title"], "🔴 Production_API is DOWN");
        assert_eq!(embed["description"], "Last seen 2025-11-21T19:28:20.000Z (11/22/2025, 4:33:20 AM)");
        assert_eq!(
            embed["fields"],
            json!([{"name": "Service", "value": "api-prod", "inline": true},
                   {"name": "Checked", "value": "2025-11-21T19:38:20.000Z", "inline": false}])
        );
        assert_eq!(embed["footer"]["text"], "Heartbeat Monitor");

        let s = body(&render(&ch[1], &Notification { service_name: "<!channel> & co".to_owned(), ..n.clone() }, NOW));
        let text = ":red_circle: *&lt;!channel&gt; &amp; co* is DOWN";
        assert_eq!((s["text"].as_str(), s["blocks"][0]["text"]["text"].as_str()), (Some(text), Some(text)));
        assert_eq!(s["blocks"][0]["type"], "section");
        assert_eq!(s["blocks"][2]["fields"], json!([{"type": "mrkdwn", "text": "*Service*\napi-prod"}]));
        assert_eq!(s["blocks"][3]["elements"][0], json!({"type": "mrkdwn", "text": "Heartbeat Monitor"}));

        let t = body(&render(&ch[2], &n, NOW));
        assert_eq!(t["parse_mode"], "Markdown");
        assert_eq!(t["text"], "🔴 *Production\\_API* is DOWN since 11/22/2025, 4:33:20 AM");
        assert_eq!(t["chat_id"], "-100200300");

        let e = form(&render(&ch[3], &n, NOW));
        assert!(e.contains(&("subject".to_owned(), "[DOWN] Production_API".to_owned())), "{e:?}");
        let text = &e.iter().find(|(k, _)| k == "text").unwrap().1;
        assert!(text.starts_with("Production_API (api-prod) is DOWN.\nOpen the dashboard: "), "{text}");

        let w = render(&ch[4], &n, NOW);
        assert_eq!(
            (w.method, w.header("Authorization"), w.header("X-API-Key")),
            ("POST", Some("Bearer tok-1"), Some("k-1"))
        );
        let wb = body(&w);
        assert_eq!(wb["metadata"], json!({"host": "db-1", "build": 42}));
        let default_text = wb["text"].as_str().unwrap();
        assert!(default_text.starts_with("Production_API is down since 2025-11-22 04:33:20 JST."), "{default_text}");
        assert!(default_text.contains("\nMetadata:\nbuild=42\nhost=db-1"), "{default_text}");

        let p = form(&render(&ch[5], &n, NOW));
        assert!(p.contains(&("title".to_owned(), "Production_API".to_owned())));
        assert!(p.contains(&("message".to_owned(), "DOWN at 11/22/2025, 4:33:20 AM".to_owned())));

        let pd = body(&render(&ch[6], &n, NOW));
        assert_eq!(pd["payload"]["summary"], "Production_API is DOWN");
        assert_eq!(pd["payload"]["severity"], "error", "templates.pagerduty.severity, for every trigger");
    }

    #[test]
    fn external_templates_apply_to_external_alerts_only() {
        let ch = seed_channels();
        let a = alert_firing();
        let d = body(&render(&ch[0], &a, NOW));
        assert_eq!(d["embeds"][0]["title"], "🔴 High memory usage");
        assert_eq!(d["embeds"][0]["description"], "db-1 uses 97 % of its memory (critical)");
        assert_eq!(d["embeds"][0]["footer"]["text"], "Systole", "the _external template has no footer");
        let t = body(&render(&ch[2], &a, NOW));
        assert_eq!(t["text"], "🔴 *High memory usage*: db-1 uses 97 % of its memory (alertmanager, firing)");
        let pd = body(&render(&ch[6], &a, NOW));
        assert_eq!(pd["payload"]["summary"], "High memory usage from alertmanager");
        assert_eq!(pd["payload"]["severity"], "warning");
        // A blank render falls back: no value in the test notification fills the subject.
        let plain = channel("email", "{}", &[("apiKey", "k"), ("domain", "d"), ("to", "a@x.y"), ("from", "b@x.y")]);
        let subject = |r: &OutboundRequest| form(r).into_iter().find(|(k, _)| k == "subject").unwrap().1;
        assert_eq!(subject(&render(&plain, &a, NOW)), a.default_title());
    }
}
