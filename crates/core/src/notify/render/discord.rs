//! Discord: one embed through an execute-webhook URL.

use serde_json::{json, Map};
use url::Url;

use super::{colour, link, put_text, OutboundRequest, Text};
use crate::notify::message::Notification;
use crate::notify::text::{fit, Unit};

/// Discord limits, in characters: message `content` 2000; embed title 256, description 4096,
/// field name 256 and value 1024, footer 2048; all embed text together 6000.
const DISCORD_CONTENT: usize = 2000;
const DISCORD_TITLE: usize = 256;
const DISCORD_DESCRIPTION: usize = 4096;
const DISCORD_FIELD_NAME: usize = 256;
const DISCORD_FIELD_VALUE: usize = 1024;
const DISCORD_EMBED_TOTAL: usize = 6000;
const DISCORD_FOOTER: usize = 2048;
/// An embed holds at most 25 fields.
const DISCORD_FIELDS: usize = 25;

/// Discord "Execute Webhook": `POST {webhookUrl}` with `content` (the title, which push
/// notifications show), one rich embed (title, description, colour by event, fields for
/// service, status and group — for an alert: source, severity and state —, footer,
/// timestamp, dashboard link) and `allowed_mentions` empty so no text can ping `@everyone`.
/// A seed template's `fields` (at most 25) and `footer` replace the default ones.
///
/// Wire format: discord.com/developers/docs/resources/webhook#execute-webhook and
/// …/resources/message#embed-object-embed-limits (limits above, counted in characters;
/// the description is cut further so the embed stays within 6000).
pub(super) fn request(webhook_url: &Url, n: &Notification, t: &Text) -> OutboundRequest {
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
    let mut fields: Vec<(String, String, bool)> = fields
        .into_iter()
        .map(|(k, v)| (fit(k, DISCORD_FIELD_NAME, Unit::Chars), fit(&v, DISCORD_FIELD_VALUE, Unit::Chars), true))
        .collect();
    let from_template = t.fields(|_| None);
    if !from_template.is_empty() {
        fields = from_template
            .into_iter()
            .take(DISCORD_FIELDS)
            .map(|(k, v, inline)| {
                (fit(&k, DISCORD_FIELD_NAME, Unit::Chars), fit(&v, DISCORD_FIELD_VALUE, Unit::Chars), inline)
            })
            .collect();
    }
    let footer = fit(t.footer().unwrap_or("Systole"), DISCORD_FOOTER, Unit::Chars);
    let others = title.chars().count()
        + fields.iter().map(|(k, v, _)| k.chars().count() + v.chars().count()).sum::<usize>()
        + footer.chars().count();
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
        fields
            .into_iter()
            .map(|(name, value, inline)| json!({"name": name, "value": value, "inline": inline}))
            .collect(),
    );
    embed.insert("footer".into(), json!({"text": footer}));
    let body = json!({
        "content": fit(&t.title, DISCORD_CONTENT, Unit::Chars),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    });
    OutboundRequest::json(webhook_url.to_string(), &body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::{json, Value};

    use super::*;
    use crate::notify::message::tests::{down, up};

    use crate::notify::render::render;
    use crate::notify::render::testing::{body, channel, long, NOW};

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
}
