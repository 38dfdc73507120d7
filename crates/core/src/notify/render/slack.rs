//! Slack: Block Kit through an incoming webhook.

use serde_json::json;
use url::Url;

use super::{link, OutboundRequest, Text, OPEN};
use crate::notify::message::Notification;
use crate::notify::text::{fit, fit_escaped, markup, Unit};

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
pub(super) fn request(webhook_url: &Url, n: &Notification, t: &Text) -> OutboundRequest {
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
    OutboundRequest::json(webhook_url.to_string(), &body)
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
}
