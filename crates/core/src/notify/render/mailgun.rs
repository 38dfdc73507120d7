//! E-mail through the Mailgun messages API.

use base64::Engine as _;

use super::{segment, OutboundRequest, Text};
use crate::notify::config::{base, Mailgun};
use crate::notify::message::Notification;

/// E-mail through Mailgun: `POST {baseUrl}/v3/{domain}/messages` with HTTP Basic auth
/// (`api` : `apiKey`) and a form-encoded `from`, one `to` per address of the `to`
/// credential (comma-separated), `subject` (the title) and `text` (the body and the link).
///
/// Wire format: documentation.mailgun.com/docs/mailgun/api-reference/openapi-final/tag/Messages
/// (`POST /v3/{domain_name}/messages`).
pub(super) fn request(mailgun: &Mailgun, n: &Notification, t: &Text) -> OutboundRequest {
    let text = t.body_with_link(n);
    let mut fields = vec![("from", mailgun.from.as_str())];
    fields.extend(mailgun.to.iter().map(|to| ("to", to.as_str())));
    fields.extend([("subject", t.title.as_str()), ("text", text.as_str())]);
    let url = format!("{}/v3/{}/messages", base(&mailgun.base_url), segment(&mailgun.domain));
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("api:{}", mailgun.api_key));
    OutboundRequest::form(url, &fields).with_header("Authorization", format!("Basic {auth}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::notify::message::tests::up;

    use crate::notify::render::render;
    use crate::notify::render::testing::{channel, form, NOW};

    #[test]
    fn mailgun_sends_one_form_to_several_recipients() {
        let ch = channel(
            "email",
            "{}",
            &[
                ("apiKey", "key-1"),
                ("domain", "mg.example.com"),
                ("to", "a@example.com, b@example.com"),
                ("from", "Systole <systole@example.com>"),
            ],
        );
        let n = Notification { group: None, message: None, ..up() };
        let r = render(&ch, &n, NOW);
        assert_eq!(r.url, "https://api.mailgun.net/v3/mg.example.com/messages");
        assert_eq!(r.header("Authorization"), Some("Basic YXBpOmtleS0x"), "base64 of api:key-1");
        assert_eq!(
            form(&r),
            [
                ("from", "Systole <systole@example.com>"),
                ("to", "a@example.com"),
                ("to", "b@example.com"),
                ("subject", "✅ Production API is back UP after 4 min 12 s"),
                (
                    "text",
                    "Production API is up again since 2025-11-21 19:37:32 UTC, after 4 min 12 s down.\n\
                     Service: api-prod\n\
                     Open the dashboard: https://status.example.com/services/api-prod"
                ),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }
}
