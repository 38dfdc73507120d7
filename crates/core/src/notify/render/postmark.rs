//! E-mail through Postmark's `/email` API.

use serde_json::json;

use super::{label, link, OutboundRequest, Text};
use crate::notify::config::{base, Postmark};
use crate::notify::message::Notification;
use crate::notify::text::escape_markup;

/// Postmark `POST {baseUrl}/email` with the `X-Postmark-Server-Token` header and a JSON
/// `From`, `To` (the recipients joined by `, `), `Subject` (the title), `TextBody` (the body
/// and the dashboard link), `HtmlBody` (the same, escaped, with the link as an anchor) and
/// `MessageStream` (option `messageStream`, default `outbound`). Postmark answers 200 with
/// `ErrorCode` 0; 401 (bad token) and 422 (an `ErrorCode` such as 300, invalid request, or
/// 406, inactive recipient) are permanent, 429 and 5xx retried, like every channel.
///
/// Wire format: postmarkapp.com/developer/user-guide/send-email-with-api and
/// postmarkapp.com/developer/api/overview (response codes).
pub(super) fn request(postmark: &Postmark, n: &Notification, t: &Text) -> OutboundRequest {
    let mut html = format!("<p><strong>{}</strong></p>", escape_markup(&t.title));
    for paragraph in t.body.split('\n').filter(|l| !l.trim().is_empty()) {
        html.push_str(&format!("<p>{}</p>", escape_markup(paragraph)));
    }
    if let Some(url) = link(n) {
        html.push_str(&format!("<p><a href=\"{}\">{}</a></p>", escape_markup(url).replace('"', "&quot;"), label(n)));
    }
    let body = json!({
        "From": postmark.from,
        "To": postmark.to.join(", "),
        "Subject": t.title,
        "TextBody": t.body_with_link(n),
        "HtmlBody": format!("<html><body>{html}</body></html>"),
        "MessageStream": postmark.message_stream.as_deref().unwrap_or("outbound"),
    });
    OutboundRequest::json(format!("{}/email", base(&postmark.base_url)), &body)
        .with_header("Accept", "application/json")
        .with_header("X-Postmark-Server-Token", postmark.server_token.clone())
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
    fn postmark_posts_json_with_the_server_token() {
        let creds =
            [("serverToken", "pm-1"), ("to", "a@example.com, b@example.com"), ("from", "Systole <s@example.com>")];
        let ch = channel("email", r#"{"provider": "postmark"}"#, &creds);
        let n = Notification { service_name: "R&D <api>".into(), message: None, group: None, ..down() };
        let r = render(&ch, &n, NOW);
        assert_eq!(r.url, "https://api.postmarkapp.com/email");
        assert_eq!(r.header("X-Postmark-Server-Token"), Some("pm-1"));
        assert_eq!(
            (r.header("Accept"), r.header("Content-Type")),
            (Some("application/json"), Some("application/json"))
        );
        assert_eq!(
            body(&r),
            json!({
                "From": "Systole <s@example.com>",
                "To": "a@example.com, b@example.com",
                "Subject": "🔴 R&D <api> is DOWN",
                "TextBody": "R&D <api> is down since 2025-11-21 19:33:20 UTC.\nService: api-prod\n\
                             Open the dashboard: https://status.example.com/services/api-prod",
                "HtmlBody": "<html><body><p><strong>🔴 R&amp;D &lt;api&gt; is DOWN</strong></p>\
                             <p>R&amp;D &lt;api&gt; is down since 2025-11-21 19:33:20 UTC.</p><p>Service: api-prod</p>\
                             <p><a href=\"https://status.example.com/services/api-prod\">Open the dashboard</a></p></body></html>",
                "MessageStream": "outbound",
            })
        );
        let stream = channel("postmark", r#"{"messageStream": "alerts"}"#, &creds);
        assert_eq!(body(&render(&stream, &n, NOW))["MessageStream"], "alerts");
        let local = channel("postmark", "{}", &[creds[0], creds[1], creds[2], ("baseUrl", "http://127.0.0.1:9/pm/")]);
        assert_eq!(render(&local, &n, NOW).url, "http://127.0.0.1:9/pm/email");
    }
}
