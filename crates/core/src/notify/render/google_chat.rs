//! Google Chat: a text message through an incoming webhook.

use serde_json::json;
use url::Url;

use super::{label, link, OutboundRequest, Text};
use crate::notify::message::Notification;
use crate::notify::text::{fit_escaped, google_chat_angle, Unit};

/// Text cap for Google Chat, in characters (a message must stay under 32,000 bytes).
const GOOGLE_CHAT_TEXT: usize = 4096;

/// Google Chat incoming webhook: `POST {webhookUrl}` with a text message
/// `{"text": "*title*\nbody\n<url|Open the dashboard>"}` (Chat's own bold and link syntax)
/// and `Content-Type: application/json; charset=UTF-8`. Every `<` of the title and body is
/// followed by a zero-width space, so service text cannot mention `<users/all>`.
///
/// Wire format: developers.google.com/workspace/chat/quickstart/webhooks and
/// developers.google.com/workspace/chat/format-messages.
pub(super) fn request(webhook_url: &Url, n: &Notification, t: &Text) -> OutboundRequest {
    let mut text = format!("*{}*", t.title.trim());
    if !t.body.is_empty() {
        text.push('\n');
        text.push_str(&t.body);
    }
    let tail = link(n).map(|url| format!("\n<{url}|{}>", label(n))).unwrap_or_default();
    let budget = GOOGLE_CHAT_TEXT.saturating_sub(tail.chars().count());
    let text = fit_escaped(&text, budget, Unit::Chars, google_chat_angle) + &tail;
    let mut request = OutboundRequest::json(webhook_url.to_string(), &json!({"text": text}));
    request.headers = vec![("Content-Type".to_owned(), "application/json; charset=UTF-8".to_owned())];
    request
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;
    use crate::notify::message::tests::down;

    use crate::notify::render::render;
    use crate::notify::render::testing::{body, channel, long, NOW};

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
}
