//! Telegram: Bot API `sendMessage` in HTML parse mode.

use serde_json::json;

use super::{label, link, segment, OutboundRequest, Text};
use crate::notify::config::{base, Telegram};
use crate::notify::message::Notification;
use crate::notify::text::{escape_markup, fit, telegram_markdown, Unit};

/// Telegram's `text` limit: 4096 characters after entity parsing, counted here in UTF-16
/// code units (how Telegram measures text; never fewer than characters).
const TELEGRAM_TEXT: usize = 4096;
const TELEGRAM_TITLE: usize = 256;

/// Telegram Bot API `sendMessage`: `POST {baseUrl}/bot{botToken}/sendMessage` with
/// `chat_id`, `text` in `parse_mode` `HTML` (bold title, body, dashboard link) and link
/// previews off. Every `&`, `<` and `>` of the text is escaped as `&amp;`, `&lt;`, `&gt;`,
/// and `"` too inside the link's `href`; the visible text is cut to fit 4096 before escaping.
///
/// A seed template's `message` (`templates.telegram`) is the whole text instead, in the
/// seed's `parse_mode` `Markdown` (legacy): its own text as written, the values inserted
/// with `_`, `*`, `` ` `` and `[` escaped by a backslash, no title and no link.
///
/// Wire format: core.telegram.org/bots/api#sendmessage, #html-style and #markdown-style.
pub(super) fn request(telegram: &Telegram, n: &Notification, t: &Text) -> OutboundRequest {
    let url = format!("{}/bot{}/sendMessage", base(&telegram.base_url), segment(&telegram.bot_token));
    if let Some(text) = t.seed_markup(|s| s.body.as_ref(), telegram_markdown) {
        let body = json!({
            "chat_id": telegram.chat_id,
            "text": fit(&text, TELEGRAM_TEXT, Unit::Utf16),
            "parse_mode": "Markdown",
            "link_preview_options": {"is_disabled": true},
        });
        return OutboundRequest::json(url, &body);
    }
    let title = fit(&t.title, TELEGRAM_TITLE, Unit::Utf16);
    let link = link(n);
    let link_len = link.map_or(0, |_| 2 + Unit::Utf16.len(label(n)));
    let room = TELEGRAM_TEXT.saturating_sub(Unit::Utf16.len(&title) + 2 + link_len);
    let mut text = format!("<b>{}</b>", escape_markup(&title));
    if !t.body.is_empty() {
        text.push_str("\n\n");
        text.push_str(&escape_markup(&fit(&t.body, room, Unit::Utf16)));
    }
    if let Some(url) = link {
        text.push_str(&format!("\n\n<a href=\"{}\">{}</a>", escape_markup(url).replace('"', "&quot;"), label(n)));
    }
    let body = json!({
        "chat_id": telegram.chat_id,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": true},
    });
    OutboundRequest::json(url, &body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;
    use crate::notify::message::tests::down;

    use crate::notify::render::testing::{body, channel, long, NOW};
    use crate::notify::render::{render, OPEN};

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
}
