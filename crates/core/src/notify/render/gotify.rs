//! Gotify: `POST /message` with extras.

use serde_json::json;

use super::{link, OutboundRequest, Text};
use crate::notify::config::{base, Gotify};
use crate::notify::message::Notification;
use crate::notify::text::{fit, Unit};
use crate::notify::vocab::Urgency;

/// Text cap for Gotify messages, in characters.
const GOTIFY_TEXT: usize = 4096;

/// Gotify: `POST {url}/message` with `X-Gotify-Key: {token}` and `{"title", "message",
/// "priority", "extras"}`; `priority` is option `priority` for `down`, `reminder` and firing
/// `critical`/`error` alerts (default 8, which the Android app shows as high), 5 otherwise;
/// `extras` mark the text as plain and make a click open the dashboard.
///
/// Wire format: gotify.net/api-docs (`POST /message`; the server takes the app token in
/// `X-Gotify-Key`) and gotify.net/docs/msgextras.
pub(super) fn request(gotify: &Gotify, n: &Notification, t: &Text) -> OutboundRequest {
    let priority = match n.urgency() {
        Urgency::High => gotify.priority.unwrap_or(8),
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
    OutboundRequest::json(format!("{}/message", base(&gotify.url)), &body)
        .with_header("X-Gotify-Key", gotify.token.as_str())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;
    use crate::notify::message::tests::down;

    use crate::notify::render::render;
    use crate::notify::render::testing::{body, channel, NOW};

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
}
