//! SMS through Twilio's Messages API: one short text per notification.

use base64::Engine as _;

use super::{link, segment, OutboundRequest, Text};
use crate::notify::config::{base, SmsSender, Twilio};
use crate::notify::message::Notification;
use crate::notify::text::{fit, Unit};

/// One SMS segment: 160 characters of the GSM 03.38 alphabet (each of its extension
/// characters `^{}\[~]|€` takes two), else 70 UTF-16 code units (UCS-2).
const GSM_SEGMENT: usize = 160;
const UCS2_SEGMENT: usize = 70;

/// GSM 03.38's basic character set, one septet each.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡\
                         ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38's extension table, two septets each (escape + character).
const GSM_EXTENSION: &str = "^{}\\[~]|€\u{0C}";

/// Twilio Messages API: `POST {baseUrl}/2010-04-01/Accounts/{accountSid}/Messages.json` with
/// HTTP Basic auth (`accountSid` : `authToken`) and a form-encoded `To`, `From` (or
/// `MessagingServiceSid`) and `Body`. Twilio answers `201 Created`; 400 (e.g. error 21211, an
/// invalid `To`) and 401 are permanent, 429 and 5xx retried, like every channel.
///
/// `Body` is the title, then the dashboard link on its own line when it fits whole: one
/// segment, at most 160 GSM-7 septets, or 70 UTF-16 code units when any character is outside
/// the GSM alphabet (an emoji in the title), cut with `…` otherwise. One segment is one
/// message billed per alert; the body text stays in the other channels.
///
/// Wire format: twilio.com/docs/messaging/api/message-resource#create-a-message-resource.
pub(super) fn request(twilio: &Twilio, n: &Notification, t: &Text) -> OutboundRequest {
    let url = format!("{}/2010-04-01/Accounts/{}/Messages.json", base(&twilio.base_url), segment(&twilio.account_sid));
    let body = sms_text(&t.title, link(n));
    let mut fields = vec![("To", twilio.to.as_str())];
    match &twilio.sender {
        SmsSender::From(from) => fields.push(("From", from.as_str())),
        SmsSender::MessagingService(sid) => fields.push(("MessagingServiceSid", sid.as_str())),
    }
    fields.push(("Body", body.as_str()));
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", twilio.account_sid, twilio.auth_token));
    OutboundRequest::form(url, &fields).with_header("Authorization", format!("Basic {auth}"))
}

/// `title`, and `url` on a second line when the whole stays one segment; else `title` cut to
/// one segment.
fn sms_text(title: &str, url: Option<&str>) -> String {
    if let Some(url) = url {
        let both = format!("{title}\n{url}");
        if fits(&both) {
            return both;
        }
    }
    if fits(title) {
        return title.to_owned();
    }
    match gsm_len(title) {
        // GSM-7 only: every character but the extension ones is one septet; `…` is not GSM,
        // so the cut text ends in "..." to stay in the alphabet.
        Some(_) => {
            let mut out = String::new();
            let mut used = 0;
            for c in title.chars() {
                let w = if GSM_EXTENSION.contains(c) { 2 } else { 1 };
                if used + w > GSM_SEGMENT - 3 {
                    break;
                }
                used += w;
                out.push(c);
            }
            out + "..."
        }
        None => fit(title, UCS2_SEGMENT, Unit::Utf16),
    }
}

/// Whether `text` is one segment.
fn fits(text: &str) -> bool {
    match gsm_len(text) {
        Some(septets) => septets <= GSM_SEGMENT,
        None => Unit::Utf16.len(text) <= UCS2_SEGMENT,
    }
}

/// `text`'s length in GSM-7 septets, `None` when a character is outside the alphabet.
fn gsm_len(text: &str) -> Option<usize> {
    text.chars()
        .map(|c| {
            if GSM_BASIC.contains(c) {
                Some(1)
            } else if GSM_EXTENSION.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::notify::message::tests::{down, up};
    use crate::notify::render::render;
    use crate::notify::render::testing::{channel, form, long, NOW};

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn twilio_posts_a_form_with_basic_auth_to_the_accounts_messages() {
        let creds = [("accountSid", "AC123"), ("authToken", "tok"), ("to", "+15551230000"), ("from", "+15559870000")];
        let ch = channel("sms", "{}", &creds);
        let n = Notification { service_name: "Production API eu-west".into(), ..down() };
        let r = render(&ch, &n, NOW);
        assert_eq!(r.method, "POST");
        assert_eq!(r.url, "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json");
        assert_eq!(r.header("Authorization"), Some("Basic QUMxMjM6dG9r"), "base64 of AC123:tok");
        assert_eq!(r.header("Content-Type"), Some("application/x-www-form-urlencoded"));
        // The emoji makes it UCS-2 (70 units): the 44-character link does not fit beside it.
        assert_eq!(
            form(&r),
            pairs(&[("To", "+15551230000"), ("From", "+15559870000"), ("Body", "🔴 Production API eu-west is DOWN")])
        );
        let short = Notification { service_name: "API".into(), ..down() };
        let body = form(&render(&ch, &short, NOW)).pop().unwrap().1;
        assert_eq!(body, "🔴 API is DOWN\nhttps://status.example.com/services/api-prod", "a link that fits is kept");
        let service = channel(
            "sms",
            r#"{"provider": "twilio", "title": "{service.name} is {status}"}"#,
            &[("accountSid", "AC1"), ("authToken", "t"), ("to", "+1"), ("messagingServiceSid", "MG9")],
        );
        assert_eq!(
            form(&render(&service, &up(), NOW)),
            pairs(&[
                ("To", "+1"),
                ("MessagingServiceSid", "MG9"),
                ("Body", "Production API is up\nhttps://status.example.com/services/api-prod"),
            ]),
            "GSM-7 text: 160 septets hold the link"
        );
        let local = channel(
            "sms",
            "{}",
            &[
                ("accountSid", "AC1"),
                ("authToken", "t"),
                ("to", "+1"),
                ("from", "+2"),
                ("baseUrl", "http://127.0.0.1:9/tw/"),
            ],
        );
        assert_eq!(render(&local, &up(), NOW).url, "http://127.0.0.1:9/tw/2010-04-01/Accounts/AC1/Messages.json");
    }

    #[test]
    fn an_sms_is_one_segment_whatever_the_text() {
        assert_eq!(gsm_len("a^€"), Some(5));
        assert_eq!(gsm_len("a🔴"), None);
        let gsm = sms_text(&long("x", 300), Some("https://x.example/s"));
        assert_eq!((gsm.chars().count(), gsm.ends_with("...")), (160, true));
        let braces = sms_text(&long("{", 100), None);
        assert_eq!(gsm_len(&braces), Some(159), "extension characters count two: {braces}");
        let ucs2 = sms_text(&long("😀", 100), None);
        assert!(Unit::Utf16.len(&ucs2) <= 70 && ucs2.ends_with('…'), "{ucs2}");
        assert_eq!(sms_text("up", Some("https://x.example/s")), "up\nhttps://x.example/s");
    }
}
