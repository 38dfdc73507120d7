//! Pushover: a form-encoded message, emergency priority included.

use super::{label, link, OutboundRequest, Text};
use crate::notify::config::{base, Pushover};
use crate::notify::message::Notification;
use crate::notify::text::{fit, Unit};
use crate::notify::vocab::Urgency;

/// Pushover limits in characters: title 250, message 1024, url 512.
const PUSHOVER_TITLE: usize = 250;
const PUSHOVER_MESSAGE: usize = 1024;
const PUSHOVER_URL: usize = 512;

/// Pushover: `POST {baseUrl}/1/messages.json`, form-encoded `token`, `user`, `title`,
/// `message`, `priority` (option `priority` for `down`, `reminder` and firing
/// `critical`/`error` alerts, default 1; 0 otherwise), `timestamp` (`since`, Unix seconds)
/// and the dashboard as `url` + `url_title`. Emergency priority 2 adds `retry` (≥ 30 s,
/// default 60) and `expire` (≤ 10800 s, default 3600), which Pushover requires.
///
/// Wire format: pushover.net/api (#priority for emergency retry/expire, #limits).
pub(super) fn request(pushover: &Pushover, n: &Notification, t: &Text) -> OutboundRequest {
    let priority = match n.urgency() {
        Urgency::High => pushover.priority.unwrap_or(1),
        Urgency::Medium | Urgency::Low => 0,
    };
    let message = if t.body.trim().is_empty() { &t.title } else { &t.body };
    let (title, message) = (fit(&t.title, PUSHOVER_TITLE, Unit::Chars), fit(message, PUSHOVER_MESSAGE, Unit::Chars));
    let (priority, timestamp) = (priority.to_string(), (n.since.as_millis().div_euclid(1000)).to_string());
    let (retry, expire) = (pushover.retry.unwrap_or(60).to_string(), pushover.expire.unwrap_or(3_600).to_string());
    let mut fields = vec![
        ("token", pushover.token.as_str()),
        ("user", pushover.user.as_str()),
        ("title", title.as_str()),
        ("message", message.as_str()),
        ("priority", priority.as_str()),
        ("timestamp", timestamp.as_str()),
    ];
    if priority == "2" {
        fields.extend([("retry", retry.as_str()), ("expire", expire.as_str())]);
    }
    if let Some(url) = link(n).filter(|u| u.len() <= PUSHOVER_URL) {
        fields.extend([("url", url), ("url_title", label(n))]);
    }
    OutboundRequest::form(format!("{}/1/messages.json", base(&pushover.base_url)), &fields)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::notify::message::tests::{down, up};

    use crate::notify::render::render;
    use crate::notify::render::testing::{channel, form, long, NOW};

    #[test]
    fn pushover_sends_a_form_and_emergency_adds_retry_and_expire() {
        let ch = channel("pushover", "{}", &[("token", "apptok"), ("user", "usrkey")]);
        let r = render(&ch, &down(), NOW);
        assert_eq!(r.url, "https://api.pushover.net/1/messages.json");
        assert_eq!(r.header("Content-Type"), Some("application/x-www-form-urlencoded"));
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        assert_eq!(
            form(&r),
            pairs(&[
                ("token", "apptok"),
                ("user", "usrkey"),
                ("title", "🔴 Production API is DOWN"),
                ("message", &down().default_body()),
                ("priority", "1"),
                ("timestamp", "1763753600"),
                ("url", "https://status.example.com/services/api-prod"),
                ("url_title", "Open the dashboard"),
            ])
        );
        let emergency = channel("pushover", r#"{"priority": 2}"#, &[("token", "t"), ("user", "u")]);
        let f = form(&render(&emergency, &down(), NOW));
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!((get("priority"), get("retry"), get("expire")), (Some("2"), Some("60"), Some("3600")));
        let f = form(&render(&emergency, &up(), NOW));
        assert_eq!(f.iter().find(|(n, _)| n == "priority").unwrap().1, "0", "recoveries are never emergencies");
        assert!(!f.iter().any(|(n, _)| n == "retry"));

        let over = Notification { message: Some(long("é", 2_000)), service_name: long("n", 300), ..down() };
        let f = form(&render(&ch, &over, NOW));
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.chars().count());
        assert_eq!((get("title"), get("message")), (Some(250), Some(1_024)));
    }
}
