//! PagerDuty: Events API v2 triggers and resolves.

use serde_json::{json, Map};

use super::{alert_key, link, OutboundRequest, Text};
use crate::notify::config::{base, PagerDuty};
use crate::notify::message::Notification;
use crate::notify::text::{fit, Unit};
use crate::notify::vocab::{Severity, Urgency};
use crate::time::Timestamp;

/// PagerDuty `payload.summary` limit in characters.
const PAGERDUTY_SUMMARY: usize = 1024;

/// PagerDuty Events API v2: `POST {baseUrl}/v2/enqueue`. `up` and a resolved alert send
/// `{"routing_key", "event_action": "resolve", "dedup_key"}`; every other event a `trigger`
/// with `payload` (`summary` ≤ 1024 characters, `source` — option `source`, default
/// `systole`, `severity` — option `severity` for `down`/`reminder`, default `critical`;
/// `warning` for `degraded`/`late`; `info` for `test`; an alert's own severity —,
/// `timestamp` = `since`, `component` = service id (an alert's source), `group`, `class` =
/// event, `custom_details`, with an alert's `fingerprint` and `labels`), `client` and
/// `client_url`. A seed template's `severity` (`templates.pagerduty`, or `_external` for
/// alerts) is used for every trigger, and its `summary` is the summary.
///
/// Wire format: developer.pagerduty.com/docs/events-api-v2/trigger-events
/// (github.com/PagerDuty/developer-docs, docs/events-API-v2/02-Trigger-Events.md).
pub(super) fn request(pagerduty: &PagerDuty, n: &Notification, t: &Text, now: Timestamp) -> OutboundRequest {
    let url = format!("{}/v2/enqueue", base(&pagerduty.base_url));
    let routing_key = pagerduty.routing_key.as_str();
    let dedup_key = alert_key(n, now);
    if n.resolves() {
        let body = json!({"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key});
        return OutboundRequest::json(url, &body);
    }
    let severity = t.severity().unwrap_or(match (n.alert(), n.urgency()) {
        (Some(a), _) => a.severity,
        (None, Urgency::High) => pagerduty.severity.unwrap_or(Severity::Critical),
        (None, Urgency::Medium) => Severity::Warning,
        (None, Urgency::Low) => Severity::Info,
    });
    let mut payload = Map::new();
    payload.insert("summary".into(), fit(&t.title, PAGERDUTY_SUMMARY, Unit::Chars).into());
    payload.insert("source".into(), pagerduty.source.as_deref().unwrap_or("systole").into());
    payload.insert("severity".into(), severity.as_str().into());
    payload.insert("timestamp".into(), n.since.to_rfc3339().into());
    payload.insert("component".into(), n.service_id.clone().into());
    if let Some(group) = &n.group {
        payload.insert("group".into(), group.clone().into());
    }
    payload.insert("class".into(), n.event().as_str().into());
    let mut details = json!({
        "service": n.service_name,
        "status": n.status.as_str(),
        "previous_status": n.previous_status.as_str(),
        "details": t.body,
        "suppressed": n.suppressed,
    });
    if let Some(a) = n.alert() {
        details["fingerprint"] = a.fingerprint.clone().into();
        details["labels"] = json!(a.labels);
    }
    payload.insert("custom_details".into(), details);
    let mut body = Map::new();
    body.insert("routing_key".into(), routing_key.into());
    body.insert("event_action".into(), "trigger".into());
    body.insert("dedup_key".into(), dedup_key.into());
    body.insert("payload".into(), payload.into());
    body.insert("client".into(), "Systole".into());
    if let Some(url) = link(n) {
        body.insert("client_url".into(), url.into());
    }
    OutboundRequest::json(url, &body.into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;
    use crate::notify::message::tests::{alert_firing, alert_resolved, down, up, with_alert};
    use crate::notify::message::ServiceEvent;
    use crate::notify::render::render;
    use crate::notify::render::testing::{body, channel, long, NOW};
    use crate::notify::vocab::Severity;

    #[test]
    fn pagerduty_triggers_on_down_and_resolves_on_up_with_one_key() {
        let ch = channel("pagerduty", "{}", &[("routingKey", "R0UT1NG")]);
        let r = render(&ch, &down(), NOW);
        assert_eq!(r.url, "https://events.pagerduty.com/v2/enqueue");
        assert_eq!(
            body(&r),
            json!({
                "routing_key": "R0UT1NG",
                "event_action": "trigger",
                "dedup_key": "systole-api-prod",
                "payload": {
                    "summary": "🔴 Production API is DOWN",
                    "source": "systole",
                    "severity": "critical",
                    "timestamp": "2025-11-21T19:33:20.000Z",
                    "component": "api-prod",
                    "group": "production",
                    "class": "down",
                    "custom_details": {
                        "service": "Production API",
                        "status": "down",
                        "previous_status": "up",
                        "details": down().default_body(),
                        "suppressed": 0,
                    },
                },
                "client": "Systole",
                "client_url": "https://status.example.com/services/api-prod",
            })
        );
        assert_eq!(
            body(&render(&ch, &up(), NOW)),
            json!({"routing_key": "R0UT1NG", "event_action": "resolve", "dedup_key": "systole-api-prod"})
        );
        let degraded =
            Notification { subject: ServiceEvent::Degraded.into(), status: crate::monitor::Status::Degraded, ..down() };
        assert_eq!(body(&render(&ch, &degraded, NOW))["payload"]["severity"], "warning");
        let test = Notification { subject: ServiceEvent::Test.into(), ..down() };
        let b = body(&render(&ch, &test, NOW));
        assert_eq!(
            (b["dedup_key"].as_str(), b["payload"]["severity"].as_str()),
            (Some("systole-test-api-prod-1763753900000"), Some("info"))
        );

        let over = Notification { service_name: long("x", 2_000), ..down() };
        let summary = body(&render(&ch, &over, NOW))["payload"]["summary"].as_str().unwrap().to_owned();
        assert_eq!(summary.chars().count(), 1_024);
        let chosen = channel("pagerduty", r#"{"severity": "error", "source": "edge-1"}"#, &[("routingKey", "R")]);
        let p = &body(&render(&chosen, &down(), NOW))["payload"];
        assert_eq!((p["severity"].as_str(), p["source"].as_str()), (Some("error"), Some("edge-1")));
    }

    #[test]
    fn pagerduty_triggers_and_resolves_an_alert_by_its_fingerprint() {
        let ch = channel("pagerduty", r#"{"severity": "warning"}"#, &[("routingKey", "R0UT1NG")]);
        let trigger = body(&render(&ch, &alert_firing(), NOW));
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["dedup_key"], "systole-alert-1a30ba71cca2921f");
        assert_eq!(trigger["payload"]["severity"], "critical", "the alert's own severity wins");
        assert_eq!(trigger["payload"]["summary"], "🔥 [CRITICAL] High memory usage");
        assert_eq!(
            (trigger["payload"]["component"].as_str(), trigger["payload"]["class"].as_str()),
            (Some("alertmanager"), Some("alert"))
        );
        assert_eq!(trigger["payload"]["custom_details"]["labels"]["instance"], "db-1:9100");
        let resolve = body(&render(&ch, &alert_resolved(), NOW));
        assert_eq!(
            resolve,
            json!({"routing_key": "R0UT1NG", "event_action": "resolve", "dedup_key": "systole-alert-1a30ba71cca2921f"})
        );
        let info = with_alert(alert_firing(), |a| a.severity = Severity::Info);
        assert_eq!(body(&render(&ch, &info, NOW))["payload"]["severity"], "info");
        // Another sender's same fingerprint is another incident: its resolution closes only its own.
        let theirs = with_alert(alert_resolved(), |a| a.sender = Some("generic.1a2b3c4d".into()));
        assert_eq!(body(&render(&ch, &theirs, NOW))["dedup_key"], "systole-alert-generic.1a2b3c4d-1a30ba71cca2921f");
    }
}
