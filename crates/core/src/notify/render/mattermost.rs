//! Mattermost and Rocket.Chat: the Slack-compatible attachment shape both incoming webhooks take.

use serde_json::{json, Map};
use url::Url;

use super::{colour, link, put_text, OutboundRequest, Text};
use crate::notify::message::Notification;
use crate::notify::text::{chat_mention, fit_escaped, Unit};

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
pub(super) fn request(webhook_url: &Url, n: &Notification, t: &Text) -> OutboundRequest {
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
    OutboundRequest::json(webhook_url.to_string(), &body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;
    use crate::notify::message::tests::{down, up};

    use crate::notify::render::render;
    use crate::notify::render::testing::{body, channel, NOW};

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
}
