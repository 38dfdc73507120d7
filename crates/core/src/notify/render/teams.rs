//! Microsoft Teams: an Adaptive Card through a Workflows webhook.

use serde_json::json;
use url::Url;

use super::{label, link, OutboundRequest, Text};
use crate::notify::message::Notification;
use crate::notify::text::{fit, Unit};
use crate::notify::vocab::{Event, Urgency};

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
pub(super) fn request(webhook_url: &Url, n: &Notification, t: &Text) -> OutboundRequest {
    let tone = match n.event() {
        Event::Down | Event::Reminder | Event::Escalation => "Attention",
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
        card["actions"] = json!([{"type": "Action.OpenUrl", "title": label(n), "url": url}]);
    }
    let message = json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    });
    OutboundRequest::json(webhook_url.to_string(), &message)
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
}
