//! ntfy: a message published as JSON to the server root.

use serde_json::Map;

use super::{link, put_text, OutboundRequest, Text};
use crate::notify::config::{base, Ntfy};
use crate::notify::message::Notification;
use crate::notify::text::{fit, Unit};
use crate::notify::vocab::Urgency;

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
pub(super) fn request(ntfy: &Ntfy, n: &Notification, t: &Text) -> OutboundRequest {
    let priority = match n.urgency() {
        Urgency::High => ntfy.priority.unwrap_or(4),
        Urgency::Medium | Urgency::Low => 3,
    };
    let mut body = Map::new();
    body.insert("topic".into(), ntfy.topic.clone().into());
    body.insert("title".into(), fit(&t.title, NTFY_TITLE, Unit::Chars).into());
    put_text(&mut body, "message", fit(&t.body, NTFY_MESSAGE, Unit::Bytes));
    body.insert("priority".into(), priority.into());
    if let Some(url) = link(n) {
        body.insert("click".into(), url.into());
    }
    let request = OutboundRequest::json(format!("{}/", base(&ntfy.server)), &body.into());
    match &ntfy.token {
        Some(token) => request.with_header("Authorization", format!("Bearer {token}")),
        None => request,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;
    use crate::notify::message::tests::{down, up};

    use crate::notify::render::render;
    use crate::notify::render::testing::{body, channel, long, NOW};

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
}
