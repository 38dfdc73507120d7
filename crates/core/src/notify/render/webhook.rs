//! The generic webhook: a signed JSON description of the notification.

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::{OutboundRequest, Text};
use crate::notify::config::Webhook;
use crate::notify::message::Notification;
use crate::time::Timestamp;

/// The generic webhook: `POST {url}` (or the `method` option) with a JSON body describing
/// the notification, the channel's extra `headers` (a configured `Content-Type` replaces
/// `application/json`; `YOUR_TOKEN` in `Authorization` is already the `authToken`),
/// `X-Systole-Event`, `Authorization` from the `authorization` credential, and, when a
/// `secret` credential is set, a signature.
///
/// Body: `{"dashboardUrl", "durationMs", "event", "id", "message",
/// "previousStatus", "service": {"group", "id", "name"}, "since", "status", "suppressed",
/// "text", "timestamp", "title", "version": 1}`; times are epoch milliseconds, absent values
/// `null`; `"metadata"` (the heartbeat's object) is added when `includeMetadata` gave one, `"ackUrl"`
/// (the signed link acknowledging the incident, [`crate::escalation::AckLinks`]) when the
/// notification carries one. An `alert` event adds `"alert": {"state", "severity", "source", "fingerprint",
/// "labels": {name: value}, "url"}` (its `service` is the source and the alert's title).
/// `id` (`{serviceId}:{event}:{since}`; for an alert `alert:{fingerprint}:{state}:{since}`)
/// is the same on every retry of one notification, so receivers can drop duplicates;
/// `timestamp` is when this attempt was rendered.
///
/// Signature: `X-Systole-Signature: sha256=<hex>` where `<hex>` is the lower-case hex
/// HMAC-SHA256, keyed with the secret's UTF-8 bytes, of the exact body bytes. Because the
/// signed body carries `timestamp`, a receiver verifies the signature over the raw body
/// first (in constant time), then rejects a `timestamp` more than 5 minutes from its clock
/// and any `(id, timestamp)` it has already seen in that window: a captured request cannot
/// be replayed later.
pub(super) fn request(webhook: &Webhook, n: &Notification, t: &Text, now: Timestamp) -> OutboundRequest {
    let id = match n.alert() {
        Some(a) => format!("alert:{}:{}:{}", a.fingerprint, a.state.as_str(), n.since.as_millis()),
        None => format!("{}:{}:{}", n.service_id, n.event(), n.since.as_millis()),
    };
    let mut body = json!({
        "version": 1,
        "id": id,
        "event": n.event().as_str(),
        "timestamp": now.as_millis(),
        "service": {"id": n.service_id, "name": n.service_name, "group": n.group},
        "status": n.status.as_str(),
        "previousStatus": n.previous_status.as_str(),
        "since": n.since.as_millis(),
        "durationMs": n.duration.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        "message": n.message,
        "dashboardUrl": n.dashboard_url,
        "suppressed": n.suppressed,
        "title": t.title,
        "text": t.body,
    });
    if let Some(metadata) = n.metadata.as_deref().and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok()) {
        body["metadata"] = metadata;
    }
    if let Some(url) = &n.ack_url {
        body["ackUrl"] = json!(url);
    }
    if let Some(a) = n.alert() {
        body["alert"] = json!({
            "state": a.state.as_str(),
            "severity": a.severity.as_str(),
            "source": a.source,
            "fingerprint": a.fingerprint,
            "labels": a.labels,
            "url": a.url,
        });
    }
    let mut request =
        OutboundRequest::json(webhook.url.to_string(), &body).with_header("X-Systole-Event", n.event().as_str());
    request.method = webhook.method;
    for (name, value) in &webhook.headers {
        match request.headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(existing) => *existing = (name.clone(), value.clone()),
            None => request = request.with_header(name, value.clone()),
        }
    }
    if let Some(auth) = &webhook.authorization {
        request = request.with_header("Authorization", auth);
    }
    if let Some(secret) = &webhook.secret {
        let signature = format!("sha256={}", sign(secret, &request.body));
        request = request.with_header("X-Systole-Signature", signature);
    }
    request
}

/// Lower-case hex HMAC-SHA256 of `body` under `secret`.
fn sign(secret: &str, body: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this arm cannot run.
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::notify::message::tests::{alert_firing, alert_resolved, down, up};

    use crate::notify::render::render;
    use crate::notify::render::testing::{body, channel, NOW};

    #[test]
    fn webhook_signs_the_exact_body_with_a_timestamp() {
        let ch = channel(
            "webhook",
            r#"{"headers": {"X-Team": "sre"}}"#,
            &[("url", "https://hooks.example.com/in"), ("secret", "s3cret"), ("authorization", "Bearer xyz")],
        );
        let r = render(&ch, &up(), NOW);
        assert_eq!(r.url, "https://hooks.example.com/in");
        assert_eq!(
            body(&r),
            json!({
                "version": 1,
                "id": "api-prod:up:1763753852000",
                "event": "up",
                "timestamp": 1_763_753_900_000_i64,
                "service": {"id": "api-prod", "name": "Production API", "group": "production"},
                "status": "up",
                "previousStatus": "down",
                "since": 1_763_753_852_000_i64,
                "durationMs": 252_000,
                "message": null,
                "dashboardUrl": "https://status.example.com/services/api-prod",
                "suppressed": 0,
                "title": "✅ Production API is back UP after 4 min 12 s",
                "text": up().default_body(),
            })
        );
        assert_eq!(r.header("X-Systole-Event"), Some("up"));
        assert_eq!(r.header("X-Team"), Some("sre"));
        assert_eq!(r.header("Authorization"), Some("Bearer xyz"));
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(r.body.as_bytes());
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(r.header("X-Systole-Signature"), Some(expected.as_str()));
        // Known answer (RFC 4231 test case 2), so the scheme is pinned, not only self-consistent.
        assert_eq!(
            sign("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );

        let later = render(&ch, &up(), NOW + Duration::from_millis(1));
        assert_ne!(later.header("X-Systole-Signature"), r.header("X-Systole-Signature"), "each attempt is signed anew");
        let unsigned = channel("webhook", "{}", &[("url", "https://hooks.example.com/in")]);
        assert_eq!(render(&unsigned, &up(), NOW).header("X-Systole-Signature"), None);
    }

    #[test]
    fn webhook_carries_the_alert_object() {
        let ch = channel("webhook", "{}", &[("url", "https://hooks.example.com/in")]);
        let r = render(&ch, &alert_firing(), NOW);
        assert_eq!(r.header("X-Systole-Event"), Some("alert"));
        let b = body(&r);
        assert_eq!(b["id"], "alert:1a30ba71cca2921f:firing:1763753600000");
        assert_eq!(
            b["alert"],
            json!({
                "state": "firing",
                "severity": "critical",
                "source": "alertmanager",
                "fingerprint": "1a30ba71cca2921f",
                "labels": {"alertname": "HighMemory", "instance": "db-1:9100", "severity": "critical"},
                "url": "https://prometheus.example.com/graph?g0.expr=mem",
            })
        );
        assert_eq!(body(&render(&ch, &alert_resolved(), NOW))["alert"]["state"], "resolved");
        assert!(body(&render(&ch, &down(), NOW)).get("alert").is_none());
    }
}
