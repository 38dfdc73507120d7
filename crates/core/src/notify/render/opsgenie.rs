//! Opsgenie: Alert API creates and closes.

use serde_json::{json, Map};

use super::{alert_key, alias_segment, label, link, OutboundRequest, Text, OPEN};
use crate::notify::config::{base, Opsgenie};
use crate::notify::message::Notification;
use crate::notify::text::{fit, Unit};
use crate::notify::vocab::{Severity, Urgency};
use crate::time::Timestamp;

/// Opsgenie limits in characters: `message` 130, `alias` and `entity` 512, `description`
/// 15000; a close request's `note` 25000.
const OPSGENIE_MESSAGE: usize = 130;
const OPSGENIE_ALIAS: usize = 512;
const OPSGENIE_DESCRIPTION: usize = 15_000;
const OPSGENIE_NOTE: usize = 25_000;

/// Opsgenie Alert API with `Authorization: GenieKey {apiKey}`. `up` and a resolved alert
/// close the alert: `POST {baseUrl}/v2/alerts/{alias}/close?identifierType=alias` (the
/// alias percent-encoded) with `{"source", "note"}`; every other event creates one:
/// `POST {baseUrl}/v2/alerts` with `message` (the title), `alias`, `description` (the
/// body), `priority` (option `priority` for `down`/`reminder` and `critical` alerts,
/// default `P1`; `P2` for `error` alerts; `P3` for `degraded`/`late` and `warning` alerts;
/// `P5` for `test` and `info` alerts), `source`, `entity`, `tags` and `details`.
///
/// Wire format: docs.opsgenie.com/docs/alert-api (create alert, close alert).
pub(super) fn request(opsgenie: &Opsgenie, n: &Notification, t: &Text, now: Timestamp) -> OutboundRequest {
    let base = base(&opsgenie.base_url);
    let alias = fit(&alert_key(n, now), OPSGENIE_ALIAS, Unit::Chars);
    let auth = format!("GenieKey {}", opsgenie.api_key);
    if n.resolves() {
        let url = format!("{base}/v2/alerts/{}/close?identifierType=alias", alias_segment(&alias));
        let body = json!({"source": "Systole", "note": fit(&t.body, OPSGENIE_NOTE, Unit::Chars)});
        return OutboundRequest::json(url, &body).with_header("Authorization", auth);
    }
    let chosen = opsgenie.priority.unwrap_or(1);
    let priority = match (n.alert().map(|a| a.severity), n.urgency()) {
        (Some(Severity::Critical), _) => chosen,
        (Some(Severity::Error), _) => 2,
        (Some(Severity::Warning), _) => 3,
        (Some(Severity::Info), _) => 5,
        (None, Urgency::High) => chosen,
        (None, Urgency::Medium) => 3,
        (None, Urgency::Low) => 5,
    };
    let mut details = Map::new();
    details.insert("serviceId".into(), n.service_id.clone().into());
    details.insert("status".into(), n.status.as_str().into());
    details.insert("previousStatus".into(), n.previous_status.as_str().into());
    if let Some(url) = link(n) {
        let key = if label(n) == OPEN { "dashboardUrl" } else { "sourceUrl" };
        details.insert(key.into(), url.into());
    }
    let mut tags = vec!["systole", n.event().as_str()];
    if let Some(a) = n.alert() {
        details.insert("fingerprint".into(), fit(&a.fingerprint, OPSGENIE_ALIAS, Unit::Chars).into());
        details.insert("severity".into(), a.severity.as_str().into());
        tags.push(a.severity.as_str());
    }
    let body = json!({
        "message": fit(&t.title, OPSGENIE_MESSAGE, Unit::Chars),
        "alias": alias,
        "description": fit(&t.body, OPSGENIE_DESCRIPTION, Unit::Chars),
        "priority": format!("P{priority}"),
        "source": "Systole",
        "entity": fit(&n.service_name, OPSGENIE_ALIAS, Unit::Chars),
        "tags": tags,
        "details": details,
    });
    OutboundRequest::json(format!("{base}/v2/alerts"), &body).with_header("Authorization", auth)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;
    use crate::notify::message::tests::{alert_firing, alert_resolved, down, up, with_alert};

    use crate::notify::render::render;
    use crate::notify::render::testing::{body, channel, long, NOW};
    use crate::notify::vocab::Severity;

    #[test]
    fn opsgenie_creates_and_closes_by_alias() {
        let ch = channel("opsgenie", r#"{"priority": "P2"}"#, &[("apiKey", "g-key")]);
        let r = render(&ch, &down(), NOW);
        assert_eq!(r.url, "https://api.opsgenie.com/v2/alerts");
        assert_eq!(r.header("Authorization"), Some("GenieKey g-key"));
        assert_eq!(
            body(&r),
            json!({
                "message": "🔴 Production API is DOWN",
                "alias": "systole-api-prod",
                "description": down().default_body(),
                "priority": "P2",
                "source": "Systole",
                "entity": "Production API",
                "tags": ["systole", "down"],
                "details": {
                    "serviceId": "api-prod", "status": "down", "previousStatus": "up",
                    "dashboardUrl": "https://status.example.com/services/api-prod",
                },
            })
        );
        let close = render(&ch, &up(), NOW);
        assert_eq!(close.url, "https://api.opsgenie.com/v2/alerts/systole-api-prod/close?identifierType=alias");
        assert_eq!(body(&close), json!({"source": "Systole", "note": up().default_body()}));
        let over = Notification { service_name: long("x", 500), ..down() };
        assert_eq!(body(&render(&ch, &over, NOW))["message"].as_str().unwrap().chars().count(), 130);
    }

    #[test]
    fn opsgenie_closes_an_alert_by_its_encoded_alias() {
        let ch = channel("opsgenie", r#"{"priority": "P2"}"#, &[("apiKey", "g-key")]);
        let b = body(&render(&ch, &alert_firing(), NOW));
        assert_eq!((b["alias"].as_str(), b["priority"].as_str()), (Some("systole-alert-1a30ba71cca2921f"), Some("P2")));
        assert_eq!(b["tags"], json!(["systole", "alert", "critical"]));
        assert_eq!(b["details"]["fingerprint"], "1a30ba71cca2921f");
        let odd = with_alert(alert_resolved(), |a| a.fingerprint = "disk /var?x".into());
        let close = render(&ch, &odd, NOW);
        assert_eq!(
            close.url,
            "https://api.opsgenie.com/v2/alerts/systole-alert-disk%20%2Fvar%3Fx/close?identifierType=alias"
        );
        let warning = with_alert(alert_firing(), |a| a.severity = Severity::Warning);
        assert_eq!(body(&render(&ch, &warning, NOW))["priority"], "P3");
    }
}
