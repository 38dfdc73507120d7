//! One channel's HTTP request for one notification, as data: method, URL, headers, body.
//!
//! Pure: the shell sends the [`OutboundRequest`] with `fetch` and records the answer. Each
//! function follows the API's documented wire format (sources on each one) and keeps every
//! length limit by cutting text and ending it with `…`, never by failing, and never inside a
//! character. Limits are counted in the unit the API counts in (characters, UTF-16 code
//! units or bytes, as each function says).

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::notify::config::{email_list, ntfy_topic, ResolvedChannel};
use crate::notify::message::Notification;
use crate::notify::vocab::{ChannelType, Event, Severity, Urgency};
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
/// protection and by test alert keys).
pub fn render(channel: &ResolvedChannel, n: &Notification, now: Timestamp) -> OutboundRequest {
    let text = Text::new(channel, n);
    match channel.config.kind {
        ChannelType::Discord => discord(channel, n, &text),
        ChannelType::Slack => slack(channel, n, &text),
        ChannelType::Mattermost | ChannelType::RocketChat => slack_attachments(channel, n, &text),
        ChannelType::Telegram => telegram(channel, n, &text),
        ChannelType::Webhook => webhook(channel, n, &text, now),
        ChannelType::PagerDuty => pagerduty(channel, n, &text, now),
        ChannelType::Opsgenie => opsgenie(channel, n, &text, now),
        ChannelType::Ntfy => ntfy(channel, n, &text),
        ChannelType::Teams => teams(channel, n, &text),
        ChannelType::GoogleChat => google_chat(channel, n, &text),
        ChannelType::Gotify => gotify(channel, n, &text),
        ChannelType::Pushover => pushover(channel, n, &text),
        ChannelType::Email => mailgun(channel, n, &text),
    }
}

/// The label of dashboard links.
const OPEN: &str = "Open the dashboard";

/// A notification's title and body for one channel: its templates, else the defaults.
struct Text {
    title: String,
    body: String,
}

impl Text {
    fn new(channel: &ResolvedChannel, n: &Notification) -> Self {
        let o = &channel.config.options;
        // A title is required by most APIs: a template that renders blank falls back.
        let title = o.title.as_ref().map(|t| t.render(n)).filter(|t| !t.trim().is_empty());
        Self {
            title: title.unwrap_or_else(|| n.default_title()),
            body: o.body.as_ref().map_or_else(|| n.default_body(), |t| t.render(n)),
        }
    }

    /// The body with the dashboard link as its last line, for channels without a link widget.
    fn body_with_link(&self, n: &Notification) -> String {
        match link(n) {
            Some(url) if self.body.is_empty() => format!("{OPEN}: {url}"),
            Some(url) => format!("{}\n{OPEN}: {url}", self.body),
            None => self.body.clone(),
        }
    }
}

/// The dashboard URL if it is a plain http(s) URL, safe to put inside markup.
fn link(n: &Notification) -> Option<&str> {
    n.dashboard_url.as_deref().filter(|u| {
        (u.starts_with("https://") || u.starts_with("http://"))
            && !u.chars().any(|c| c.is_whitespace() || c.is_control() || "<>|\"'`".contains(c))
    })
}

/// What a length limit counts.
#[derive(Clone, Copy, Debug)]
enum Unit {
    Chars,
    Utf16,
    Bytes,
}

impl Unit {
    fn of(self, c: char) -> usize {
        match self {
            Unit::Chars => 1,
            Unit::Utf16 => c.len_utf16(),
            Unit::Bytes => c.len_utf8(),
        }
    }

    fn len(self, text: &str) -> usize {
        text.chars().map(|c| self.of(c)).sum()
    }
}

const ELLIPSIS: char = '…';

/// `text` with `escape` applied, at most `max` units long once escaped: when it does not fit
/// it is cut between characters (never inside an escape) and ends with `…`.
fn fit_escaped(text: &str, max: usize, unit: Unit, escape: fn(char) -> Option<&'static str>) -> String {
    let width = |c: char| escape(c).map_or(unit.of(c), |e| unit.len(e));
    let total: usize = text.chars().map(width).sum();
    let cut = total > max;
    let budget = if cut { max.saturating_sub(unit.of(ELLIPSIS)) } else { max };
    let mut out = String::with_capacity(text.len().min(max.saturating_mul(4)));
    let mut used = 0;
    for c in text.chars() {
        used += width(c);
        if used > budget {
            break;
        }
        match escape(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
    }
    if cut && max >= unit.of(ELLIPSIS) {
        out.push(ELLIPSIS);
    }
    out
}

/// `text` at most `max` units long, cut with `…`.
fn fit(text: &str, max: usize, unit: Unit) -> String {
    fit_escaped(text, max, unit, |_| None)
}

/// The three characters HTML-like markup reserves (Telegram HTML, Slack mrkdwn).
fn markup(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        _ => None,
    }
}

/// Google Chat text: `<` opens mentions (`<users/all>`) and links (`<url|text>`). A
/// zero-width space after it keeps service text from forming either and reads the same.
fn google_chat_angle(c: char) -> Option<&'static str> {
    (c == '<').then_some("<\u{200B}")
}

/// Mattermost and Rocket.Chat text: `@` opens mentions (`@channel`, `@all`, `@here`, a
/// user), and `<` the Slack forms they translate (`<!channel>`, `<@user>`, links). A
/// zero-width space after either keeps service text from paging anyone.
fn chat_mention(c: char) -> Option<&'static str> {
    match c {
        '@' => Some("@\u{200B}"),
        '<' => Some("<\u{200B}"),
        _ => None,
    }
}

fn escape_markup(text: &str) -> String {
    fit_escaped(text, usize::MAX, Unit::Bytes, markup)
}

/// A notification's colour as `0xRRGGBB`: red, green, orange, yellow, blue. Alerts: green
/// once resolved, else red, orange or blue by urgency.
fn colour(n: &Notification) -> u32 {
    const RED: u32 = 0xE7_4C_3C;
    const GREEN: u32 = 0x2E_CC_71;
    const ORANGE: u32 = 0xE6_7E_22;
    const BLUE: u32 = 0x34_98_DB;
    match n.event() {
        Event::Down | Event::Reminder => RED,
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

/// `text` percent-encoded for one URL path segment: every byte outside `A-Z a-z 0-9 - . _ ~`.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Inserts `key: value` when the text is not blank.
fn put_text(object: &mut Map<String, Value>, key: &str, value: String) {
    if !value.trim().is_empty() {
        object.insert(key.to_owned(), Value::String(value));
    }
}

fn credential<'a>(channel: &'a ResolvedChannel, key: &str) -> &'a str {
    // `resolve` only builds a channel once every required key is present.
    channel.credential(key).unwrap_or_default()
}

/// Discord limits, in characters: message `content` 2000; embed title 256, description 4096,
/// field name 256 and value 1024, footer 2048; all embed text together 6000.
const DISCORD_CONTENT: usize = 2000;
const DISCORD_TITLE: usize = 256;
const DISCORD_DESCRIPTION: usize = 4096;
const DISCORD_FIELD_NAME: usize = 256;
const DISCORD_FIELD_VALUE: usize = 1024;
const DISCORD_EMBED_TOTAL: usize = 6000;

/// Discord "Execute Webhook": `POST {webhookUrl}` with `content` (the title, which push
/// notifications show), one rich embed (title, description, colour by event, fields for
/// service, status and group — for an alert: source, severity and state —, footer,
/// timestamp, dashboard link) and `allowed_mentions` empty so no text can ping `@everyone`.
///
/// Wire format: discord.com/developers/docs/resources/webhook#execute-webhook and
/// …/resources/message#embed-object-embed-limits (limits above, counted in characters;
/// the description is cut further so the embed stays within 6000).
fn discord(channel: &ResolvedChannel, n: &Notification, t: &Text) -> OutboundRequest {
    let title = fit(&t.title, DISCORD_TITLE, Unit::Chars);
    let mut fields = match n.alert() {
        Some(a) => vec![
            ("Source", a.source.clone()),
            ("Severity", a.severity.as_str().to_owned()),
            ("State", a.state.as_str().to_owned()),
        ],
        None => {
            vec![("Service", n.service_id.clone()), ("Status", format!("{} (was {})", n.status, n.previous_status))]
        }
    };
    if let Some(group) = &n.group {
        fields.push(("Group", group.clone()));
    }
    let fields: Vec<(String, String)> = fields
        .into_iter()
        .map(|(k, v)| (fit(k, DISCORD_FIELD_NAME, Unit::Chars), fit(&v, DISCORD_FIELD_VALUE, Unit::Chars)))
        .collect();
    let footer = "Systole";
    let others = title.chars().count()
        + fields.iter().map(|(k, v)| k.chars().count() + v.chars().count()).sum::<usize>()
        + footer.len();
    let room = DISCORD_DESCRIPTION.min(DISCORD_EMBED_TOTAL.saturating_sub(others));

    let mut embed = Map::new();
    put_text(&mut embed, "title", title);
    put_text(&mut embed, "description", fit(&t.body, room, Unit::Chars));
    if let Some(url) = link(n) {
        embed.insert("url".into(), url.into());
    }
    embed.insert("color".into(), colour(n).into());
    embed.insert("timestamp".into(), n.since.to_rfc3339().into());
    embed.insert(
        "fields".into(),
        fields.into_iter().map(|(name, value)| json!({"name": name, "value": value, "inline": true})).collect(),
    );
    embed.insert("footer".into(), json!({"text": footer}));
    let body = json!({
        "content": fit(&t.title, DISCORD_CONTENT, Unit::Chars),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    });
    OutboundRequest::json(credential(channel, "webhookUrl").to_owned(), &body)
}

/// Slack limits, in characters: header `plain_text` 150, section text 3000 (after escaping).
const SLACK_HEADER: usize = 150;
const SLACK_SECTION: usize = 3000;

/// Slack incoming webhook: `POST {webhookUrl}` with `text` (the title, used by
/// notifications and as the fallback) and `blocks`: a header, the body as an `mrkdwn`
/// section, and a context line with the dashboard link. `&`, `<` and `>` are escaped in
/// `mrkdwn` text so service text cannot form links or `<!channel>` mentions.
///
/// Wire format: api.slack.com/messaging/webhooks (with `blocks`, `text` is the notification
/// fallback) and
/// docs.slack.dev/reference/block-kit/blocks/header-block (150) and section-block (3000).
fn slack(channel: &ResolvedChannel, n: &Notification, t: &Text) -> OutboundRequest {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": fit(&t.title, SLACK_HEADER, Unit::Chars), "emoji": true},
    })];
    if !t.body.trim().is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": fit_escaped(&t.body, SLACK_SECTION, Unit::Chars, markup)},
        }));
    }
    if let Some(url) = link(n) {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("<{url}|{OPEN}>")}]}));
    }
    let body = json!({"text": fit_escaped(&t.title, SLACK_SECTION, Unit::Chars, markup), "blocks": blocks});
    OutboundRequest::json(credential(channel, "webhookUrl").to_owned(), &body)
}

/// Text cap for Mattermost and Rocket.Chat, in characters (Mattermost posts hold 16383,
/// Rocket.Chat's default message size is 5000).
const CHAT_TEXT: usize = 4000;

/// Mattermost and Rocket.Chat incoming webhooks: the Slack-compatible shape both accept,
/// `text` plus one legacy `attachments` entry (`fallback`, `color` as `#RRGGBB`, `title`,
/// `title_link`, `text`). Neither renders Block Kit `blocks`. Every `@` and `<` of the
/// title and body is followed by a zero-width space, so service text cannot page
/// `@channel` or `<!channel>`.
///
/// Wire format: developers.mattermost.com/integrate/webhooks/incoming and
/// …/integrate/reference/message-attachments; Rocket.Chat incoming webhooks take the
/// `chat.postMessage` message shape (developer.rocket.chat).
fn slack_attachments(channel: &ResolvedChannel, n: &Notification, t: &Text) -> OutboundRequest {
    let title = fit_escaped(&t.title, CHAT_TEXT, Unit::Chars, chat_mention);
    let mut attachment = Map::new();
    attachment.insert("fallback".into(), title.clone().into());
    attachment.insert("color".into(), format!("#{:06X}", colour(n)).into());
    attachment.insert("title".into(), title.clone().into());
    if let Some(url) = link(n) {
        attachment.insert("title_link".into(), url.into());
    }
    put_text(&mut attachment, "text", fit_escaped(&t.body, CHAT_TEXT, Unit::Chars, chat_mention));
    let body = json!({"text": title, "attachments": [attachment]});
    OutboundRequest::json(credential(channel, "webhookUrl").to_owned(), &body)
}

/// Telegram's `text` limit: 4096 characters after entity parsing, counted here in UTF-16
/// code units (how Telegram measures text; never fewer than characters).
const TELEGRAM_TEXT: usize = 4096;
const TELEGRAM_TITLE: usize = 256;

/// Telegram Bot API `sendMessage`: `POST {baseUrl}/bot{botToken}/sendMessage` with
/// `chat_id`, `text` in `parse_mode` `HTML` (bold title, body, dashboard link) and link
/// previews off. Every `&`, `<` and `>` of the text is escaped as `&amp;`, `&lt;`, `&gt;`,
/// and `"` too inside the link's `href`; the visible text is cut to fit 4096 before escaping.
///
/// Wire format: core.telegram.org/bots/api#sendmessage and #html-style.
fn telegram(channel: &ResolvedChannel, n: &Notification, t: &Text) -> OutboundRequest {
    let title = fit(&t.title, TELEGRAM_TITLE, Unit::Utf16);
    let link = link(n);
    let link_len = link.map_or(0, |_| 2 + Unit::Utf16.len(OPEN));
    let room = TELEGRAM_TEXT.saturating_sub(Unit::Utf16.len(&title) + 2 + link_len);
    let mut text = format!("<b>{}</b>", escape_markup(&title));
    if !t.body.is_empty() {
        text.push_str("\n\n");
        text.push_str(&escape_markup(&fit(&t.body, room, Unit::Utf16)));
    }
    if let Some(url) = link {
        text.push_str(&format!("\n\n<a href=\"{}\">{OPEN}</a>", escape_markup(url).replace('"', "&quot;")));
    }
    let body = json!({
        "chat_id": credential(channel, "chatId"),
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": true},
    });
    let url = format!("{}/bot{}/sendMessage", channel.base_url(), credential(channel, "botToken"));
    OutboundRequest::json(url, &body)
}

/// The generic webhook: `POST {url}` with a JSON body describing the notification, the
/// channel's extra `headers`, `X-Systole-Event`, `Authorization` from the `authorization`
/// credential, and, when a `secret` credential is set, a signature.
///
/// Body: `{"dashboardUrl", "durationMs", "event", "id", "message",
/// "previousStatus", "service": {"group", "id", "name"}, "since", "status", "suppressed",
/// "text", "timestamp", "title", "version": 1}`; times are epoch milliseconds, absent values
/// `null`. An `alert` event adds `"alert": {"state", "severity", "source", "fingerprint",
/// "labels": {name: value}, "url"}` (its `service` is the source and the alert's title).
/// `id` (`{serviceId}:{event}:{since}`; for an alert `alert:{fingerprint}:{state}:{since}`)
/// is the same on every retry of one notification, so receivers can drop duplicates;
/// `timestamp` is when this attempt was rendered.
///
/// Signature: `X-Systole-Signature: sha256=<hex>` where `<hex>` is the lower-case hex
/// HMAC-SHA256, keyed with the secret's UTF-8 bytes, of the exact body bytes. Because the
/// signed body carries `timestamp`, a receiver verifies the signature over the raw body
/// first (in constant time), then rejects a `timestamp` more than 5 minutes from its clock
/// and any `(id, timestamp)` it has already seen in that window: a captured request cannot
/// be replayed later.
fn webhook(channel: &ResolvedChannel, n: &Notification, t: &Text, now: Timestamp) -> OutboundRequest {
    let id = match n.alert() {
        Some(a) => format!("alert:{}:{}:{}", a.fingerprint, a.state.as_str(), n.since.as_millis()),
        None => format!("{}:{}:{}", n.service_id, n.event(), n.since.as_millis()),
    };
    let mut body = json!({
        "version": 1,
        "id": id,
        "event": n.event().as_str(),
        "timestamp": now.as_millis(),
        "service": {"id": n.service_id, "name": n.service_name, "group": n.group},
        "status": n.status.as_str(),
        "previousStatus": n.previous_status.as_str(),
        "since": n.since.as_millis(),
        "durationMs": n.duration.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        "message": n.message,
        "dashboardUrl": n.dashboard_url,
        "suppressed": n.suppressed,
        "title": t.title,
        "text": t.body,
    });
    if let Some(a) = n.alert() {
        body["alert"] = json!({
            "state": a.state.as_str(),
            "severity": a.severity.as_str(),
            "source": a.source,
            "fingerprint": a.fingerprint,
            "labels": a.labels,
            "url": a.url,
        });
    }
    let mut request = OutboundRequest::json(credential(channel, "url").to_owned(), &body)
        .with_header("X-Systole-Event", n.event().as_str());
    for (name, value) in &channel.config.options.headers {
        request = request.with_header(name, value.clone());
    }
    if let Some(auth) = channel.credential("authorization") {
        request = request.with_header("Authorization", auth);
    }
    if let Some(secret) = channel.credential("secret") {
        let signature = format!("sha256={}", sign(secret, &request.body));
        request = request.with_header("X-Systole-Signature", signature);
    }
    request
}

/// Lower-case hex HMAC-SHA256 of `body` under `secret`.
fn sign(secret: &str, body: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this arm cannot run.
        Err(_) => String::new(),
    }
}

/// The deduplication key of a service's alerts in PagerDuty and Opsgenie.
///
/// One key per service: while an alert with it is open, triggers (reminders, `degraded`
/// turning `down`) update that alert instead of paging again, and `up` resolves it whatever
/// state it was opened in; once resolved, both services open a new alert for the next
/// trigger with the same key. A test gets its own key so it never touches a real alert. An
/// external alert's key is `systole-alert-{fingerprint}`, so its resolution closes it.
fn alert_key(n: &Notification, now: Timestamp) -> String {
    match (n.event(), n.alert()) {
        (Event::Test, _) => format!("systole-test-{}-{}", n.service_id, now.as_millis()),
        (Event::Alert, Some(a)) => format!("systole-alert-{}", a.fingerprint),
        _ => format!("systole-{}", n.service_id),
    }
}

/// PagerDuty `payload.summary` limit in characters.
const PAGERDUTY_SUMMARY: usize = 1024;

/// PagerDuty Events API v2: `POST {baseUrl}/v2/enqueue`. `up` and a resolved alert send
/// `{"routing_key", "event_action": "resolve", "dedup_key"}`; every other event a `trigger`
/// with `payload` (`summary` ≤ 1024 characters, `source` — option `source`, default
/// `systole`, `severity` — option `severity` for `down`/`reminder`, default `critical`;
/// `warning` for `degraded`/`late`; `info` for `test`; an alert's own severity —,
/// `timestamp` = `since`, `component` = service id (an alert's source), `group`, `class` =
/// event, `custom_details`, with an alert's `fingerprint` and `labels`), `client` and
/// `client_url`.
///
/// Wire format: developer.pagerduty.com/docs/events-api-v2/trigger-events
/// (github.com/PagerDuty/developer-docs, docs/events-API-v2/02-Trigger-Events.md).
fn pagerduty(channel: &ResolvedChannel, n: &Notification, t: &Text, now: Timestamp) -> OutboundRequest {
    let url = format!("{}/v2/enqueue", channel.base_url());
    let routing_key = credential(channel, "routingKey");
    let dedup_key = alert_key(n, now);
    if n.resolves() {
        let body = json!({"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key});
        return OutboundRequest::json(url, &body);
    }
    let o = &channel.config.options;
    let severity = match (n.alert(), n.urgency()) {
        (Some(a), _) => a.severity,
        (None, Urgency::High) => o.severity.unwrap_or(Severity::Critical),
        (None, Urgency::Medium) => Severity::Warning,
        (None, Urgency::Low) => Severity::Info,
    };
    let mut payload = Map::new();
    payload.insert("summary".into(), fit(&t.title, PAGERDUTY_SUMMARY, Unit::Chars).into());
    payload.insert("source".into(), o.source.as_deref().unwrap_or("systole").into());
    payload.insert("severity".into(), severity.as_str().into());
    payload.insert("timestamp".into(), n.since.to_rfc3339().into());
    payload.insert("component".into(), n.service_id.clone().into());
    if let Some(group) = &n.group {
        payload.insert("group".into(), group.clone().into());
    }
    payload.insert("class".into(), n.event().as_str().into());
    let mut details = json!({
        "service": n.service_name,
        "status": n.status.as_str(),
        "previous_status": n.previous_status.as_str(),
        "details": t.body,
        "suppressed": n.suppressed,
    });
    if let Some(a) = n.alert() {
        details["fingerprint"] = a.fingerprint.clone().into();
        details["labels"] = json!(a.labels);
    }
    payload.insert("custom_details".into(), details);
    let mut body = Map::new();
    body.insert("routing_key".into(), routing_key.into());
    body.insert("event_action".into(), "trigger".into());
    body.insert("dedup_key".into(), dedup_key.into());
    body.insert("payload".into(), payload.into());
    body.insert("client".into(), "Systole".into());
    if let Some(url) = link(n) {
        body.insert("client_url".into(), url.into());
    }
    OutboundRequest::json(url, &body.into())
}

/// Opsgenie limits in characters: `message` 130, `alias` and `entity` 512, `description`
/// 15000; a close request's `note` 25000.
const OPSGENIE_MESSAGE: usize = 130;
const OPSGENIE_ALIAS: usize = 512;
const OPSGENIE_DESCRIPTION: usize = 15_000;
const OPSGENIE_NOTE: usize = 25_000;

/// Opsgenie Alert API with `Authorization: GenieKey {apiKey}`. `up` and a resolved alert
/// close the alert: `POST {baseUrl}/v2/alerts/{alias}/close?identifierType=alias` (the
/// alias percent-encoded) with `{"source", "note"}`; every other event creates one:
/// `POST {baseUrl}/v2/alerts` with `message` (the title), `alias`, `description` (the
/// body), `priority` (option `priority` for `down`/`reminder` and `critical` alerts,
/// default `P1`; `P2` for `error` alerts; `P3` for `degraded`/`late` and `warning` alerts;
/// `P5` for `test` and `info` alerts), `source`, `entity`, `tags` and `details`.
///
/// Wire format: docs.opsgenie.com/docs/alert-api (create alert, close alert).
fn opsgenie(channel: &ResolvedChannel, n: &Notification, t: &Text, now: Timestamp) -> OutboundRequest {
    let base = channel.base_url();
    let alias = fit(&alert_key(n, now), OPSGENIE_ALIAS, Unit::Chars);
    let auth = format!("GenieKey {}", credential(channel, "apiKey"));
    if n.resolves() {
        let url = format!("{base}/v2/alerts/{}/close?identifierType=alias", path_segment(&alias));
        let body = json!({"source": "Systole", "note": fit(&t.body, OPSGENIE_NOTE, Unit::Chars)});
        return OutboundRequest::json(url, &body).with_header("Authorization", auth);
    }
    let chosen = channel.config.options.priority.unwrap_or(1);
    let priority = match (n.alert().map(|a| a.severity), n.urgency()) {
        (Some(Severity::Critical), _) => chosen,
        (Some(Severity::Error), _) => 2,
        (Some(Severity::Warning), _) => 3,
        (Some(Severity::Info), _) => 5,
        (None, Urgency::High) => chosen,
        (None, Urgency::Medium) => 3,
        (None, Urgency::Low) => 5,
    };
    let mut details = Map::new();
    details.insert("serviceId".into(), n.service_id.clone().into());
    details.insert("status".into(), n.status.as_str().into());
    details.insert("previousStatus".into(), n.previous_status.as_str().into());
    if let Some(url) = link(n) {
        details.insert("dashboardUrl".into(), url.into());
    }
    let mut tags = vec!["systole", n.event().as_str()];
    if let Some(a) = n.alert() {
        details.insert("fingerprint".into(), fit(&a.fingerprint, OPSGENIE_ALIAS, Unit::Chars).into());
        details.insert("severity".into(), a.severity.as_str().into());
        tags.push(a.severity.as_str());
    }
    let body = json!({
        "message": fit(&t.title, OPSGENIE_MESSAGE, Unit::Chars),
        "alias": alias,
        "description": fit(&t.body, OPSGENIE_DESCRIPTION, Unit::Chars),
        "priority": format!("P{priority}"),
        "source": "Systole",
        "entity": fit(&n.service_name, OPSGENIE_ALIAS, Unit::Chars),
        "tags": tags,
        "details": details,
    });
    OutboundRequest::json(format!("{base}/v2/alerts"), &body).with_header("Authorization", auth)
}

/// ntfy's message size limit in bytes (longer messages turn into attachments).
const NTFY_MESSAGE: usize = 4096;
const NTFY_TITLE: usize = 256;

/// ntfy, published as JSON: `POST {server}/` (the root, not the topic URL) with `topic`,
/// `title`, `message` (≤ 4096 bytes), `priority` (option `priority` for `down`, `reminder`
/// and firing `critical`/`error` alerts, default 4 "high"; otherwise 3 "default") and
/// `click` (the dashboard); `Authorization: Bearer {token}` when a `token` credential is
/// set. `topicUrl` is split at its last `/`.
///
/// Wire format: docs.ntfy.sh/publish/#publish-as-json and #message-priority.
fn ntfy(channel: &ResolvedChannel, n: &Notification, t: &Text) -> OutboundRequest {
    let topic_url = credential(channel, "topicUrl");
    let (server, topic) = ntfy_topic(topic_url).unwrap_or((topic_url, ""));
    let priority = match n.urgency() {
        Urgency::High => channel.config.options.priority.unwrap_or(4),
        Urgency::Medium | Urgency::Low => 3,
    };
    let mut body = Map::new();
    body.insert("topic".into(), topic.into());
    body.insert("title".into(), fit(&t.title, NTFY_TITLE, Unit::Chars).into());
    put_text(&mut body, "message", fit(&t.body, NTFY_MESSAGE, Unit::Bytes));
    body.insert("priority".into(), priority.into());
    if let Some(url) = link(n) {
        body.insert("click".into(), url.into());
    }
    let request = OutboundRequest::json(format!("{server}/"), &body.into());
    match channel.credential("token") {
        Some(token) => request.with_header("Authorization", format!("Bearer {token}")),
        None => request,
    }
}

/// Text cap for Teams cards, in characters (a card must stay under Teams' 28 KB).
const TEAMS_TEXT: usize = 4000;

/// Microsoft Teams through a Workflows "When a Teams webhook request is received" trigger:
/// `POST {webhookUrl}` with `{"type": "message", "attachments": [{"contentType":
/// "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": card}]}` where
/// the Adaptive Card (schema 1.4) has a bold title coloured by event, one wrapping
/// `TextBlock` per body line, and an `Action.OpenUrl` to the dashboard.
///
/// Wire format: learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/
/// connectors-using (Adaptive Cards through Workflows) and adaptivecards.io/explorer.
fn teams(channel: &ResolvedChannel, n: &Notification, t: &Text) -> OutboundRequest {
    let tone = match n.event() {
        Event::Down | Event::Reminder => "Attention",
        Event::Up => "Good",
        Event::Degraded | Event::Late => "Warning",
        Event::Test => "Accent",
        Event::Alert if n.resolves() => "Good",
        Event::Alert => match n.urgency() {
            Urgency::High => "Attention",
            Urgency::Medium => "Warning",
            Urgency::Low => "Accent",
        },
    };
    let mut blocks = vec![json!({
        "type": "TextBlock", "text": fit(&t.title, TEAMS_TEXT, Unit::Chars),
        "weight": "Bolder", "size": "Medium", "color": tone, "wrap": true,
    })];
    let body = fit(&t.body, TEAMS_TEXT, Unit::Chars);
    blocks.extend(
        body.lines().filter(|l| !l.trim().is_empty()).map(|l| json!({"type": "TextBlock", "text": l, "wrap": true})),
    );
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": blocks,
    });
    if let Some(url) = link(n) {
        card["actions"] = json!([{"type": "Action.OpenUrl", "title": OPEN, "url": url}]);
    }
    let message = json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    });
    OutboundRequest::json(credential(channel, "webhookUrl").to_owned(), &message)
}

/// Text cap for Google Chat, in characters (a message must stay under 32,000 bytes).
const GOOGLE_CHAT_TEXT: usize = 4096;

/// Google Chat incoming webhook: `POST {webhookUrl}` with a text message
/// `{"text": "*title*\nbody\n<url|Open the dashboard>"}` (Chat's own bold and link syntax)
/// and `Content-Type: application/json; charset=UTF-8`. Every `<` of the title and body is
/// followed by a zero-width space, so service text cannot mention `<users/all>`.
///
/// Wire format: developers.google.com/workspace/chat/quickstart/webhooks and
/// developers.google.com/workspace/chat/format-messages.
fn google_chat(channel: &ResolvedChannel, n: &Notification, t: &Text) -> OutboundRequest {
    let mut text = format!("*{}*", t.title.trim());
    if !t.body.is_empty() {
        text.push('\n');
        text.push_str(&t.body);
    }
    let tail = link(n).map(|url| format!("\n<{url}|{OPEN}>")).unwrap_or_default();
    let budget = GOOGLE_CHAT_TEXT.saturating_sub(tail.chars().count());
    let text = fit_escaped(&text, budget, Unit::Chars, google_chat_angle) + &tail;
    let mut request = OutboundRequest::json(credential(channel, "webhookUrl").to_owned(), &json!({"text": text}));
    request.headers = vec![("Content-Type".to_owned(), "application/json; charset=UTF-8".to_owned())];
    request
}

/// Text cap for Gotify messages, in characters.
const GOTIFY_TEXT: usize = 4096;

/// Gotify: `POST {url}/message` with `X-Gotify-Key: {token}` and `{"title", "message",
/// "priority", "extras"}`; `priority` is option `priority` for `down`, `reminder` and firing
/// `critical`/`error` alerts (default 8, which the Android app shows as high), 5 otherwise;
/// `extras` mark the text as plain and make a click open the dashboard.
///
/// Wire format: gotify.net/api-docs (`POST /message`; the server takes the app token in
/// `X-Gotify-Key`) and gotify.net/docs/msgextras.
fn gotify(channel: &ResolvedChannel, n: &Notification, t: &Text) -> OutboundRequest {
    let priority = match n.urgency() {
        Urgency::High => channel.config.options.priority.unwrap_or(8),
        Urgency::Medium | Urgency::Low => 5,
    };
    let mut extras = json!({"client::display": {"contentType": "text/plain"}});
    if let Some(url) = link(n) {
        extras["client::notification"] = json!({"click": {"url": url}});
    }
    let body = json!({
        "title": fit(&t.title, GOTIFY_TEXT, Unit::Chars),
        "message": fit(&t.body_with_link(n), GOTIFY_TEXT, Unit::Chars),
        "priority": priority,
        "extras": extras,
    });
    OutboundRequest::json(format!("{}/message", credential(channel, "url")), &body)
        .with_header("X-Gotify-Key", credential(channel, "token"))
}

/// Pushover limits in characters: title 250, message 1024, url 512.
const PUSHOVER_TITLE: usize = 250;
const PUSHOVER_MESSAGE: usize = 1024;
const PUSHOVER_URL: usize = 512;

/// Pushover: `POST {baseUrl}/1/messages.json`, form-encoded `token`, `user`, `title`,
/// `message`, `priority` (option `priority` for `down`, `reminder` and firing
/// `critical`/`error` alerts, default 1; 0 otherwise), `timestamp` (`since`, Unix seconds)
/// and the dashboard as `url` + `url_title`. Emergency priority 2 adds `retry` (≥ 30 s,
/// default 60) and `expire` (≤ 10800 s, default 3600), which Pushover requires.
///
/// Wire format: pushover.net/api (#priority for emergency retry/expire, #limits).
fn pushover(channel: &ResolvedChannel, n: &Notification, t: &Text) -> OutboundRequest {
    let o = &channel.config.options;
    let priority = match n.urgency() {
        Urgency::High => o.priority.unwrap_or(1),
        Urgency::Medium | Urgency::Low => 0,
    };
    let message = if t.body.trim().is_empty() { &t.title } else { &t.body };
    let (title, message) = (fit(&t.title, PUSHOVER_TITLE, Unit::Chars), fit(message, PUSHOVER_MESSAGE, Unit::Chars));
    let (priority, timestamp) = (priority.to_string(), (n.since.as_millis().div_euclid(1000)).to_string());
    let (retry, expire) = (o.retry.unwrap_or(60).to_string(), o.expire.unwrap_or(3_600).to_string());
    let mut fields = vec![
        ("token", credential(channel, "token")),
        ("user", credential(channel, "user")),
        ("title", title.as_str()),
        ("message", message.as_str()),
        ("priority", priority.as_str()),
        ("timestamp", timestamp.as_str()),
    ];
    if priority == "2" {
        fields.extend([("retry", retry.as_str()), ("expire", expire.as_str())]);
    }
    if let Some(url) = link(n).filter(|u| u.len() <= PUSHOVER_URL) {
        fields.extend([("url", url), ("url_title", OPEN)]);
    }
    OutboundRequest::form(format!("{}/1/messages.json", channel.base_url()), &fields)
}

/// E-mail through Mailgun: `POST {baseUrl}/v3/{domain}/messages` with HTTP Basic auth
/// (`api` : `apiKey`) and a form-encoded `from`, one `to` per address of the `to`
/// credential (comma-separated), `subject` (the title) and `text` (the body and the link).
///
/// Wire format: documentation.mailgun.com/docs/mailgun/api-reference/openapi-final/tag/Messages
/// (`POST /v3/{domain_name}/messages`).
fn mailgun(channel: &ResolvedChannel, n: &Notification, t: &Text) -> OutboundRequest {
    let text = t.body_with_link(n);
    let mut fields = vec![("from", credential(channel, "from"))];
    fields.extend(email_list(credential(channel, "to")).into_iter().map(|to| ("to", to)));
    fields.extend([("subject", t.title.as_str()), ("text", text.as_str())]);
    let url = format!("{}/v3/{}/messages", channel.base_url(), credential(channel, "domain"));
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("api:{}", credential(channel, "apiKey")));
    OutboundRequest::form(url, &fields).with_header("Authorization", format!("Basic {auth}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;
    use crate::notify::config::{resolve, NotificationsConfig};
    use crate::notify::message::tests::{alert_firing, alert_resolved, down, up, with_alert};
    use crate::notify::message::{ServiceEvent, Subject};
    use crate::notify::vocab::AlertState;

    const NOW: Timestamp = Timestamp(1_763_753_900_000);

    /// The one channel of a one-channel config, with these credentials (`KEY` → variable
    /// `NOTIFICATION_CH_KEY`).
    fn channel(kind: &str, config: &str, credentials: &[(&str, &str)]) -> ResolvedChannel {
        let json = format!(r#"{{"channels": [{{"type": "{kind}", "name": "ch", "config": {config}}}]}}"#);
        let parsed = NotificationsConfig::parse(Some(&json)).unwrap();
        let vars: Vec<(String, String)> =
            credentials.iter().map(|(k, v)| (format!("NOTIFICATION_CH_{}", k.to_uppercase()), v.to_string())).collect();
        let (mut ready, missing) =
            resolve(&parsed.channels, |var| vars.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone()));
        assert_eq!(missing, []);
        ready.remove(0)
    }

    fn body(request: &OutboundRequest) -> Value {
        serde_json::from_str(&request.body).unwrap()
    }

    fn form(request: &OutboundRequest) -> Vec<(String, String)> {
        form_urlencoded::parse(request.body.as_bytes()).into_owned().collect()
    }

    fn long(unit: &str, n: usize) -> String {
        unit.repeat(n)
    }

    #[test]
    fn fitting_counts_the_right_unit_and_never_splits_a_character() {
        assert_eq!(fit("héllo", 5, Unit::Chars), "héllo");
        assert_eq!(fit("héllo", 4, Unit::Chars), "hél…");
        assert_eq!(fit("héllo", 5, Unit::Bytes), "h…", "é is 2 bytes and … is 3");
        assert_eq!(fit("a😀b", 3, Unit::Utf16), "a…", "😀 is 2 UTF-16 units");
        assert_eq!(fit("a😀b", 4, Unit::Utf16), "a😀b");
        assert_eq!(fit_escaped("a<b>c", 7, Unit::Chars, markup), "a&lt;b…");
        assert_eq!(fit_escaped("ab<c", 5, Unit::Chars, markup), "ab…", "never cut inside an escape");
        assert_eq!(fit_escaped("a&b", 7, Unit::Chars, markup), "a&amp;b");
    }

    #[test]
    fn discord_sends_a_coloured_embed_and_no_mentions() {
        let ch = channel("discord", "{}", &[("webhookUrl", "https://discord.com/api/webhooks/1/tok")]);
        let r = render(&ch, &down(), NOW);
        assert_eq!((r.method, r.url.as_str()), ("POST", "https://discord.com/api/webhooks/1/tok"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(
            body(&r),
            json!({
                "content": "🔴 Production API is DOWN",
                "embeds": [{
                    "title": "🔴 Production API is DOWN",
                    "description": down().default_body(),
                    "url": "https://status.example.com/services/api-prod",
                    "color": 0xE74C3C,
                    "timestamp": "2025-11-21T19:33:20.000Z",
                    "fields": [
                        {"name": "Service", "value": "api-prod", "inline": true},
                        {"name": "Status", "value": "down (was up)", "inline": true},
                        {"name": "Group", "value": "production", "inline": true},
                    ],
                    "footer": {"text": "Systole"},
                }],
                "allowed_mentions": {"parse": []},
            })
        );
        assert_eq!(body(&render(&ch, &up(), NOW))["embeds"][0]["color"], 0x2ECC71);
    }

    #[test]
    fn discord_cuts_over_long_text_to_its_limits() {
        let ch = channel(
            "discord",
            r#"{"title": "{message}", "body": "{message}{message}"}"#,
            &[("webhookUrl", "https://discord.com/api/webhooks/1/tok")],
        );
        let n = Notification { message: Some(long("é", 3_000)), group: None, ..down() };
        let b = body(&render(&ch, &n, NOW));
        let chars = |v: &Value| v.as_str().unwrap().chars().count();
        assert_eq!(chars(&b["content"]), 2_000);
        assert!(b["content"].as_str().unwrap().ends_with("é…"));
        let embed = &b["embeds"][0];
        assert_eq!(chars(&embed["title"]), 256);
        assert_eq!(chars(&embed["description"]), 4_096);
        let fields: usize =
            embed["fields"].as_array().unwrap().iter().map(|f| chars(&f["name"]) + chars(&f["value"])).sum();
        let total = chars(&embed["title"]) + chars(&embed["description"]) + fields + chars(&embed["footer"]["text"]);
        assert!(total <= 6_000, "{total}");

        let huge = Notification { service_id: long("s", 1_500), group: Some(long("g", 1_500)), ..n };
        let embed = body(&render(&ch, &huge, NOW))["embeds"][0].clone();
        let fields: usize =
            embed["fields"].as_array().unwrap().iter().map(|f| chars(&f["name"]) + chars(&f["value"])).sum();
        let total = chars(&embed["title"]) + chars(&embed["description"]) + fields + chars(&embed["footer"]["text"]);
        assert_eq!(total, 6_000, "the description gives way so the embed fits");
    }

    #[test]
    fn slack_sends_escaped_blocks_with_a_text_fallback() {
        let ch = channel("slack", "{}", &[("webhookUrl", "https://hooks.slack.com/services/T/B/X")]);
        let n = Notification { message: Some("disk <full> & <!channel>".into()), ..down() };
        let r = render(&ch, &n, NOW);
        assert_eq!(r.url, "https://hooks.slack.com/services/T/B/X");
        let b = body(&r);
        assert_eq!(b["text"], "🔴 Production API is DOWN");
        assert_eq!(
            b["blocks"][0],
            json!({
                "type": "header",
                "text": {"type": "plain_text", "text": "🔴 Production API is DOWN", "emoji": true},
            })
        );
        assert_eq!(b["blocks"][1]["type"], "section");
        assert_eq!(b["blocks"][1]["text"]["type"], "mrkdwn");
        let section = b["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(section.contains("Details: disk &lt;full&gt; &amp; &lt;!channel&gt;"), "{section}");
        assert_eq!(
            b["blocks"][2],
            json!({
                "type": "context",
                "elements": [{
                    "type": "mrkdwn",
                    "text": "<https://status.example.com/services/api-prod|Open the dashboard>",
                }],
            })
        );

        let over = Notification { message: Some(long("<", 2_000)), ..down() };
        let b = body(&render(&ch, &over, NOW));
        let section = b["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(section.chars().count() <= 3_000 && section.ends_with("&lt;…"), "{}", section.chars().count());
    }

    #[test]
    fn mattermost_and_rocket_chat_get_the_slack_attachment_shape() {
        for kind in ["mattermost", "rocketchat"] {
            let ch = channel(kind, "{}", &[("webhookUrl", "https://chat.example.com/hooks/abc")]);
            let r = render(&ch, &up(), NOW);
            assert_eq!(r.url, "https://chat.example.com/hooks/abc");
            assert_eq!(
                body(&r),
                json!({
                    "text": "✅ Production API is back UP after 4 min 12 s",
                    "attachments": [{
                        "fallback": "✅ Production API is back UP after 4 min 12 s",
                        "color": "#2ECC71",
                        "title": "✅ Production API is back UP after 4 min 12 s",
                        "title_link": "https://status.example.com/services/api-prod",
                        "text": up().default_body(),
                    }],
                })
            );
            // Service text mentions nobody: `@` is followed by a zero-width space.
            let loud = Notification {
                service_name: "@channel api".into(),
                message: Some("ping @all <!here>".into()),
                ..down()
            };
            let b = body(&render(&ch, &loud, NOW));
            assert!(b["text"].as_str().unwrap().contains("@\u{200B}channel api"), "{b}");
            assert!(b["attachments"][0]["text"].as_str().unwrap().contains("ping @\u{200B}all <\u{200B}!here>"), "{b}");
            for mention in ["@channel", "@all", "<!here>"] {
                assert!(!b.to_string().contains(mention), "{mention}: {b}");
            }
        }
    }

    #[test]
    fn telegram_sends_escaped_html_within_4096() {
        let ch = channel("telegram", "{}", &[("botToken", "123:ABC"), ("chatId", "-100200300")]);
        let n = Notification { service_name: "R&D <api>".into(), message: None, group: None, ..down() };
        let r = render(&ch, &n, NOW);
        assert_eq!(r.url, "https://api.telegram.org/bot123:ABC/sendMessage");
        assert_eq!(
            body(&r),
            json!({
                "chat_id": "-100200300",
                "text": "<b>🔴 R&amp;D &lt;api&gt; is DOWN</b>\n\n\
                         R&amp;D &lt;api&gt; is down since 2025-11-21 19:33:20 UTC.\nService: api-prod\n\n\
                         <a href=\"https://status.example.com/services/api-prod\">Open the dashboard</a>",
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": true},
            })
        );

        let local =
            channel("telegram", "{}", &[("botToken", "1:A"), ("chatId", "7"), ("baseUrl", "http://127.0.0.1:8788/")]);
        assert_eq!(render(&local, &down(), NOW).url, "http://127.0.0.1:8788/bot1:A/sendMessage");

        let over = Notification { message: Some(long("😀&", 3_000)), ..down() };
        let text = body(&render(&ch, &over, NOW))["text"].as_str().unwrap().to_owned();
        let visible = text.replace("<b>", "").replace("</b>", "").replace("&amp;", "&");
        let visible = visible.split("<a href").next().unwrap().to_owned() + OPEN;
        assert!(visible.encode_utf16().count() <= 4_096, "{}", visible.encode_utf16().count());
        assert!(text.contains("…\n\n<a href="), "the body is cut, the link kept");
    }

    #[test]
    fn webhook_signs_the_exact_body_with_a_timestamp() {
        let ch = channel(
            "webhook",
            r#"{"headers": {"X-Team": "sre"}}"#,
            &[("url", "https://hooks.example.com/in"), ("secret", "s3cret"), ("authorization", "Bearer xyz")],
        );
        let r = render(&ch, &up(), NOW);
        assert_eq!(r.url, "https://hooks.example.com/in");
        assert_eq!(
            body(&r),
            json!({
                "version": 1,
                "id": "api-prod:up:1763753852000",
                "event": "up",
                "timestamp": 1_763_753_900_000_i64,
                "service": {"id": "api-prod", "name": "Production API", "group": "production"},
                "status": "up",
                "previousStatus": "down",
                "since": 1_763_753_852_000_i64,
                "durationMs": 252_000,
                "message": null,
                "dashboardUrl": "https://status.example.com/services/api-prod",
                "suppressed": 0,
                "title": "✅ Production API is back UP after 4 min 12 s",
                "text": up().default_body(),
            })
        );
        assert_eq!(r.header("X-Systole-Event"), Some("up"));
        assert_eq!(r.header("X-Team"), Some("sre"));
        assert_eq!(r.header("Authorization"), Some("Bearer xyz"));
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(r.body.as_bytes());
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(r.header("X-Systole-Signature"), Some(expected.as_str()));
        // Known answer (RFC 4231 test case 2), so the scheme is pinned, not only self-consistent.
        assert_eq!(
            sign("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );

        let later = render(&ch, &up(), Timestamp(NOW.0 + 1));
        assert_ne!(later.header("X-Systole-Signature"), r.header("X-Systole-Signature"), "each attempt is signed anew");
        let unsigned = channel("webhook", "{}", &[("url", "https://hooks.example.com/in")]);
        assert_eq!(render(&unsigned, &up(), NOW).header("X-Systole-Signature"), None);
    }

    #[test]
    fn pagerduty_triggers_on_down_and_resolves_on_up_with_one_key() {
        let ch = channel("pagerduty", "{}", &[("routingKey", "R0UT1NG")]);
        let r = render(&ch, &down(), NOW);
        assert_eq!(r.url, "https://events.pagerduty.com/v2/enqueue");
        assert_eq!(
            body(&r),
            json!({
                "routing_key": "R0UT1NG",
                "event_action": "trigger",
                "dedup_key": "systole-api-prod",
                "payload": {
                    "summary": "🔴 Production API is DOWN",
                    "source": "systole",
                    "severity": "critical",
                    "timestamp": "2025-11-21T19:33:20.000Z",
                    "component": "api-prod",
                    "group": "production",
                    "class": "down",
                    "custom_details": {
                        "service": "Production API",
                        "status": "down",
                        "previous_status": "up",
                        "details": down().default_body(),
                        "suppressed": 0,
                    },
                },
                "client": "Systole",
                "client_url": "https://status.example.com/services/api-prod",
            })
        );
        assert_eq!(
            body(&render(&ch, &up(), NOW)),
            json!({"routing_key": "R0UT1NG", "event_action": "resolve", "dedup_key": "systole-api-prod"})
        );
        let degraded =
            Notification { subject: ServiceEvent::Degraded.into(), status: crate::monitor::Status::Degraded, ..down() };
        assert_eq!(body(&render(&ch, &degraded, NOW))["payload"]["severity"], "warning");
        let test = Notification { subject: ServiceEvent::Test.into(), ..down() };
        let b = body(&render(&ch, &test, NOW));
        assert_eq!(
            (b["dedup_key"].as_str(), b["payload"]["severity"].as_str()),
            (Some("systole-test-api-prod-1763753900000"), Some("info"))
        );

        let over = Notification { service_name: long("x", 2_000), ..down() };
        let summary = body(&render(&ch, &over, NOW))["payload"]["summary"].as_str().unwrap().to_owned();
        assert_eq!(summary.chars().count(), 1_024);
        let chosen = channel("pagerduty", r#"{"severity": "error", "source": "edge-1"}"#, &[("routingKey", "R")]);
        let p = &body(&render(&chosen, &down(), NOW))["payload"];
        assert_eq!((p["severity"].as_str(), p["source"].as_str()), (Some("error"), Some("edge-1")));
    }

    #[test]
    fn opsgenie_creates_and_closes_by_alias() {
        let ch = channel("opsgenie", r#"{"priority": "P2"}"#, &[("apiKey", "g-key")]);
        let r = render(&ch, &down(), NOW);
        assert_eq!(r.url, "https://api.opsgenie.com/v2/alerts");
        assert_eq!(r.header("Authorization"), Some("GenieKey g-key"));
        assert_eq!(
            body(&r),
            json!({
                "message": "🔴 Production API is DOWN",
                "alias": "systole-api-prod",
                "description": down().default_body(),
                "priority": "P2",
                "source": "Systole",
                "entity": "Production API",
                "tags": ["systole", "down"],
                "details": {
                    "serviceId": "api-prod", "status": "down", "previousStatus": "up",
                    "dashboardUrl": "https://status.example.com/services/api-prod",
                },
            })
        );
        let close = render(&ch, &up(), NOW);
        assert_eq!(close.url, "https://api.opsgenie.com/v2/alerts/systole-api-prod/close?identifierType=alias");
        assert_eq!(body(&close), json!({"source": "Systole", "note": up().default_body()}));
        let over = Notification { service_name: long("x", 500), ..down() };
        assert_eq!(body(&render(&ch, &over, NOW))["message"].as_str().unwrap().chars().count(), 130);
    }

    #[test]
    fn ntfy_publishes_json_to_the_server_root() {
        let ch = channel("ntfy", "{}", &[("topicUrl", "https://ntfy.example.com/sub/alerts"), ("token", "tk_1")]);
        let r = render(&ch, &down(), NOW);
        assert_eq!(r.url, "https://ntfy.example.com/sub/");
        assert_eq!(r.header("Authorization"), Some("Bearer tk_1"));
        assert_eq!(
            body(&r),
            json!({
                "topic": "alerts",
                "title": "🔴 Production API is DOWN",
                "message": down().default_body(),
                "priority": 4,
                "click": "https://status.example.com/services/api-prod",
            })
        );
        assert_eq!(body(&render(&ch, &up(), NOW))["priority"], 3);
        let over = Notification { message: Some(long("é", 3_000)), ..down() };
        assert!(body(&render(&ch, &over, NOW))["message"].as_str().unwrap().len() <= 4_096);
    }

    #[test]
    fn teams_posts_an_adaptive_card() {
        let ch = channel("teams", "{}", &[("webhookUrl", "https://prod.westeurope.logic.azure.com/workflows/x")]);
        let n = Notification { group: None, message: None, ..down() };
        let b = body(&render(&ch, &n, NOW));
        assert_eq!(
            b,
            json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {"type": "TextBlock", "text": "🔴 Production API is DOWN", "weight": "Bolder",
                             "size": "Medium", "color": "Attention", "wrap": true},
                            {"type": "TextBlock", "wrap": true,
                             "text": "Production API is down since 2025-11-21 19:33:20 UTC."},
                            {"type": "TextBlock", "text": "Service: api-prod", "wrap": true},
                        ],
                        "actions": [{"type": "Action.OpenUrl", "title": "Open the dashboard",
                                     "url": "https://status.example.com/services/api-prod"}],
                    },
                }],
            })
        );
    }

    #[test]
    fn google_chat_sends_a_text_message() {
        let ch = channel(
            "googlechat",
            "{}",
            &[("webhookUrl", "https://chat.googleapis.com/v1/spaces/A/messages?key=k&token=t")],
        );
        let n = Notification { group: None, message: None, ..down() };
        let r = render(&ch, &n, NOW);
        assert_eq!(r.url, "https://chat.googleapis.com/v1/spaces/A/messages?key=k&token=t");
        assert_eq!(r.headers, [("Content-Type".to_owned(), "application/json; charset=UTF-8".to_owned())]);
        assert_eq!(
            body(&r),
            json!({"text": "*🔴 Production API is DOWN*\nProduction API is down since 2025-11-21 19:33:20 UTC.\n\
                            Service: api-prod\n<https://status.example.com/services/api-prod|Open the dashboard>"})
        );
        let over = Notification { message: Some(long("x", 5_000)), ..down() };
        let text = body(&render(&ch, &over, NOW))["text"].as_str().unwrap().to_owned();
        assert_eq!(text.chars().count(), 4_096);
        assert!(text.ends_with("|Open the dashboard>"));
        // Service text cannot mention everyone or form a link; the dashboard link still works.
        let loud = Notification { message: Some("<users/all> see <https://evil.example|docs>".into()), ..down() };
        let text = body(&render(&ch, &loud, NOW))["text"].as_str().unwrap().to_owned();
        assert!(text.contains("<\u{200B}users/all> see <\u{200B}https://evil.example|docs>"), "{text}");
        assert!(text.ends_with("\n<https://status.example.com/services/api-prod|Open the dashboard>"), "{text}");
    }

    #[test]
    fn gotify_posts_a_message_with_extras() {
        let ch = channel("gotify", "{}", &[("url", "https://gotify.example.com/"), ("token", "AppTok")]);
        let n = Notification { group: None, message: None, ..down() };
        let r = render(&ch, &n, NOW);
        assert_eq!(r.url, "https://gotify.example.com/message");
        assert_eq!(r.header("X-Gotify-Key"), Some("AppTok"));
        assert_eq!(
            body(&r),
            json!({
                "title": "🔴 Production API is DOWN",
                "message": "Production API is down since 2025-11-21 19:33:20 UTC.\nService: api-prod\n\
                            Open the dashboard: https://status.example.com/services/api-prod",
                "priority": 8,
                "extras": {
                    "client::display": {"contentType": "text/plain"},
                    "client::notification": {"click": {"url": "https://status.example.com/services/api-prod"}},
                },
            })
        );
    }

    #[test]
    fn pushover_sends_a_form_and_emergency_adds_retry_and_expire() {
        let ch = channel("pushover", "{}", &[("token", "apptok"), ("user", "usrkey")]);
        let r = render(&ch, &down(), NOW);
        assert_eq!(r.url, "https://api.pushover.net/1/messages.json");
        assert_eq!(r.header("Content-Type"), Some("application/x-www-form-urlencoded"));
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        assert_eq!(
            form(&r),
            pairs(&[
                ("token", "apptok"),
                ("user", "usrkey"),
                ("title", "🔴 Production API is DOWN"),
                ("message", &down().default_body()),
                ("priority", "1"),
                ("timestamp", "1763753600"),
                ("url", "https://status.example.com/services/api-prod"),
                ("url_title", "Open the dashboard"),
            ])
        );
        let emergency = channel("pushover", r#"{"priority": 2}"#, &[("token", "t"), ("user", "u")]);
        let f = form(&render(&emergency, &down(), NOW));
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!((get("priority"), get("retry"), get("expire")), (Some("2"), Some("60"), Some("3600")));
        let f = form(&render(&emergency, &up(), NOW));
        assert_eq!(f.iter().find(|(n, _)| n == "priority").unwrap().1, "0", "recoveries are never emergencies");
        assert!(!f.iter().any(|(n, _)| n == "retry"));

        let over = Notification { message: Some(long("é", 2_000)), service_name: long("n", 300), ..down() };
        let f = form(&render(&ch, &over, NOW));
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.chars().count());
        assert_eq!((get("title"), get("message")), (Some(250), Some(1_024)));
    }

    #[test]
    fn mailgun_sends_one_form_to_several_recipients() {
        let ch = channel(
            "email",
            "{}",
            &[
                ("apiKey", "key-1"),
                ("domain", "mg.example.com"),
                ("to", "a@example.com, b@example.com"),
                ("from", "Systole <systole@example.com>"),
            ],
        );
        let n = Notification { group: None, message: None, ..up() };
        let r = render(&ch, &n, NOW);
        assert_eq!(r.url, "https://api.mailgun.net/v3/mg.example.com/messages");
        assert_eq!(r.header("Authorization"), Some("Basic YXBpOmtleS0x"), "base64 of api:key-1");
        assert_eq!(
            form(&r),
            [
                ("from", "Systole <systole@example.com>"),
                ("to", "a@example.com"),
                ("to", "b@example.com"),
                ("subject", "✅ Production API is back UP after 4 min 12 s"),
                (
                    "text",
                    "Production API is up again since 2025-11-21 19:37:32 UTC, after 4 min 12 s down.\n\
                     Service: api-prod\n\
                     Open the dashboard: https://status.example.com/services/api-prod"
                ),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

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
    fn every_channel_type_renders_a_post() {
        for kind in ChannelType::ALL {
            let creds: Vec<(&str, &str)> = kind
                .credentials()
                .required
                .iter()
                .map(|&k| {
                    (
                        k,
                        match k {
                            "webhookUrl" | "url" => "https://example.com/hook",
                            "topicUrl" => "https://ntfy.sh/t",
                            "to" | "from" => "a@example.com",
                            _ => "x",
                        },
                    )
                })
                .collect();
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

    /// Credentials that satisfy every required key of `kind`.
    fn any_channel(kind: ChannelType) -> ResolvedChannel {
        let creds: Vec<(&str, &str)> = kind
            .credentials()
            .required
            .iter()
            .map(|&k| {
                let v = match k {
                    "webhookUrl" | "url" => "https://example.com/hook",
                    "topicUrl" => "https://ntfy.sh/t",
                    "to" | "from" => "a@example.com",
                    _ => "x",
                };
                (k, v)
            })
            .collect();
        channel(kind.as_str(), "{}", &creds)
    }

    /// A firing alert with every text far beyond any channel's limit.
    fn huge_alert() -> Notification {
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
                    ChannelType::Webhook => assert!(body(&r)["alert"].is_object()),
                }
            }
        }
    }

    #[test]
    fn pagerduty_triggers_and_resolves_an_alert_by_its_fingerprint() {
        let ch = channel("pagerduty", r#"{"severity": "warning"}"#, &[("routingKey", "R0UT1NG")]);
        let trigger = body(&render(&ch, &alert_firing(), NOW));
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["dedup_key"], "systole-alert-1a30ba71cca2921f");
        assert_eq!(trigger["payload"]["severity"], "critical", "the alert's own severity wins");
        assert_eq!(trigger["payload"]["summary"], "🔥 [CRITICAL] High memory usage");
        assert_eq!(
            (trigger["payload"]["component"].as_str(), trigger["payload"]["class"].as_str()),
            (Some("alertmanager"), Some("alert"))
        );
        assert_eq!(trigger["payload"]["custom_details"]["labels"]["instance"], "db-1:9100");
        let resolve = body(&render(&ch, &alert_resolved(), NOW));
        assert_eq!(
            resolve,
            json!({"routing_key": "R0UT1NG", "event_action": "resolve", "dedup_key": "systole-alert-1a30ba71cca2921f"})
        );
        let info = with_alert(alert_firing(), |a| a.severity = Severity::Info);
        assert_eq!(body(&render(&ch, &info, NOW))["payload"]["severity"], "info");
    }

    #[test]
    fn opsgenie_closes_an_alert_by_its_encoded_alias() {
        let ch = channel("opsgenie", r#"{"priority": "P2"}"#, &[("apiKey", "g-key")]);
        let b = body(&render(&ch, &alert_firing(), NOW));
        assert_eq!((b["alias"].as_str(), b["priority"].as_str()), (Some("systole-alert-1a30ba71cca2921f"), Some("P2")));
        assert_eq!(b["tags"], json!(["systole", "alert", "critical"]));
        assert_eq!(b["details"]["fingerprint"], "1a30ba71cca2921f");
        let odd = with_alert(alert_resolved(), |a| a.fingerprint = "disk /var?x".into());
        let close = render(&ch, &odd, NOW);
        assert_eq!(
            close.url,
            "https://api.opsgenie.com/v2/alerts/systole-alert-disk%20%2Fvar%3Fx/close?identifierType=alias"
        );
        let warning = with_alert(alert_firing(), |a| a.severity = Severity::Warning);
        assert_eq!(body(&render(&ch, &warning, NOW))["priority"], "P3");
    }

    #[test]
    fn webhook_carries_the_alert_object() {
        let ch = channel("webhook", "{}", &[("url", "https://hooks.example.com/in")]);
        let r = render(&ch, &alert_firing(), NOW);
        assert_eq!(r.header("X-Systole-Event"), Some("alert"));
        let b = body(&r);
        assert_eq!(b["id"], "alert:1a30ba71cca2921f:firing:1763753600000");
        assert_eq!(
            b["alert"],
            json!({
                "state": "firing",
                "severity": "critical",
                "source": "alertmanager",
                "fingerprint": "1a30ba71cca2921f",
                "labels": {"alertname": "HighMemory", "instance": "db-1:9100", "severity": "critical"},
                "url": "https://prometheus.example.com/graph?g0.expr=mem",
            })
        );
        assert_eq!(body(&render(&ch, &alert_resolved(), NOW))["alert"]["state"], "resolved");
        assert!(body(&render(&ch, &down(), NOW)).get("alert").is_none());
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
}
