//! Slack: Block Kit through an incoming webhook.

use serde_json::json;
use url::Url;

use super::{label, link, OutboundRequest, Text};
use crate::notify::message::Notification;
use crate::notify::text::{fit, fit_escaped, markup, Unit};

/// Slack limits, in characters: header `plain_text` 150, section text 3000 (after escaping).
const SLACK_HEADER: usize = 150;
const SLACK_SECTION: usize = 3000;
/// A section holds at most 10 fields of at most 2000 characters each.
const SLACK_FIELDS: usize = 10;
const SLACK_FIELD: usize = 2000;

/// Slack incoming webhook: `POST {webhookUrl}` with `text` (the title, used by
/// notifications and as the fallback) and `blocks`: a header, the body as an `mrkdwn`
/// section, and a context line with the dashboard link. `&`, `<` and `>` are escaped in
/// `mrkdwn` text so service text cannot form links or `<!channel>` mentions.
///
/// A seed template (`templates.slack`): its `text` replaces the header with an `mrkdwn`
/// section (and is the fallback `text`), its `fields` (at most 10) become a section's
/// `fields` (`*title*` and the value; `short` has no Block Kit equivalent), its `footer`
/// joins the context line. Values inserted into them are escaped; the template's own text
/// is `mrkdwn` as written.
///
/// Wire format: api.slack.com/messaging/webhooks (with `blocks`, `text` is the notification
/// fallback) and
/// docs.slack.dev/reference/block-kit/blocks/header-block (150) and section-block (3000).
pub(super) fn request(webhook_url: &Url, n: &Notification, t: &Text) -> OutboundRequest {
    let seed_text = t.seed_markup(|s| s.title.as_ref(), markup).map(|text| fit(&text, SLACK_SECTION, Unit::Chars));
    let mut blocks = vec![match &seed_text {
        Some(text) => json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}),
        None => json!({
            "type": "header",
            "text": {"type": "plain_text", "text": fit(&t.title, SLACK_HEADER, Unit::Chars), "emoji": true},
        }),
    }];
    if !t.body.trim().is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": fit_escaped(&t.body, SLACK_SECTION, Unit::Chars, markup)},
        }));
    }
    let fields: Vec<_> = t
        .fields(markup)
        .into_iter()
        .take(SLACK_FIELDS)
        .map(|(name, value, _)| json!({"type": "mrkdwn", "text": fit(&format!("*{name}*\n{value}"), SLACK_FIELD, Unit::Chars)}))
        .collect();
    if !fields.is_empty() {
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    let mut context = Vec::new();
    if let Some(footer) = t.footer() {
        context.push(json!({"type": "mrkdwn", "text": fit(footer, SLACK_SECTION, Unit::Chars)}));
    }
    if let Some(url) = link(n) {
        context.push(json!({"type": "mrkdwn", "text": format!("<{url}|{}>", label(n))}));
    }
    if !context.is_empty() {
        blocks.push(json!({"type": "context", "elements": context}));
    }
    let text = seed_text.unwrap_or_else(|| fit_escaped(&t.title, SLACK_SECTION, Unit::Chars, markup));
    let body = json!({"text": text, "blocks": blocks});
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

    #[test]
    fn an_alerts_own_url_is_its_source_link_never_the_dashboard_link() {
        let ch = channel("slack", "{}", &[("webhookUrl", "https://hooks.slack.com/services/T/B/X")]);
        let alert = crate::notify::message::tests::alert_firing();
        let context =
            |n: &Notification| body(&render(&ch, n, NOW))["blocks"].as_array().unwrap().last().unwrap().clone();
        let without = Notification { dashboard_url: None, ..alert.clone() };
        assert_eq!(
            context(&without)["elements"][0]["text"],
            "<https://prometheus.example.com/graph?g0.expr=mem|Open at the source>"
        );
        let ours = Notification { dashboard_url: Some("https://status.example.com".into()), ..alert };
        assert_eq!(context(&ours)["elements"][0]["text"], "<https://status.example.com|Open the dashboard>");
    }
}
