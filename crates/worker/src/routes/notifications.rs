//! Notification channels:
//! - `GET /api/v1/notifications/channels`: every channel, whether it can send, and why not;
//! - `POST /api/v1/notifications/test` (admin): send a `test` message to one channel now.

use serde_json::json;
use systole_core::api::{Problem, TestRequest};
use systole_core::notify::queue::{lone_attempt, AttemptRecord, Outcome, RetryPolicy};
use systole_core::notify::Notification;
use systole_core::time::Timestamp;
use worker::{Env, Request};

use crate::deployment::{self, now};
use crate::http::{self, Reply};
use crate::notify::{history, send};
use crate::router::Call;

/// `{"enabled", "channels": [{"name", "type", "enabled", "events", "ready", "problems":
/// [text]}]}`: `ready` means enabled with every credential; `problems` names each missing
/// or unusable `NOTIFICATION_*` variable. Errors: 401.
pub async fn channels(_req: Request, env: &Env, _call: Call<'_>) -> Reply {
    let config = deployment::notifications();
    let (ready, missing) = deployment::channels(env);
    let list: Vec<_> = config
        .channels
        .iter()
        .map(|c| {
            let problems: Vec<String> =
                missing.iter().filter(|m| m.channel == c.name).map(ToString::to_string).collect();
            json!({
                "name": c.name,
                "type": c.kind.as_str(),
                "enabled": c.enabled,
                "events": c.events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
                "ready": ready.iter().any(|r| r.config.name == c.name),
                "problems": problems,
            })
        })
        .collect();
    Ok(http::json(200, &json!({ "enabled": config.enabled, "channels": list }))?)
}

/// Largest body of `POST /api/v1/notifications/test`: 4 KiB.
const TEST_BODY_LIMIT: usize = 4096;

/// `POST /api/v1/notifications/test` with `{"channel": name, "serviceId"?: id}`: sends one
/// `test` notification (about that service, else a sample) and answers 200 `{"channel",
/// "delivered", "httpStatus", "error", "latencyMs"}`; the attempt is recorded in
/// `alert_history` under subject `test`. Errors: 400 bad body or unknown channel (listing
/// those configured), 401, 403 for a viewer.
pub async fn test(mut req: Request, env: &Env, _call: Call<'_>) -> Reply {
    let body = http::body(&mut req, TEST_BODY_LIMIT).await?;
    let body = TestRequest::parse(&body)?;
    let config = deployment::notifications();
    if !config.channels.iter().any(|c| c.name == body.channel) {
        let names: Vec<&str> = config.channels.iter().map(|c| c.name.as_str()).collect();
        return Err(Problem::invalid_field(
            "channel",
            format!(
                "no channel {:?}; configured: {}",
                body.channel,
                if names.is_empty() { "none".into() } else { names.join(", ") }
            ),
        )
        .into());
    }
    // Declared and managed services alike (the catalog).
    let catalog = match body.service_id {
        Some(_) => Some(crate::catalog::config(env).await?),
        None => None,
    };
    let service = match (body.service_id.as_deref(), catalog.as_deref()) {
        (Some(id), Some(c)) => Some(c.service(id).ok_or_else(|| Problem::unknown_service(id))?),
        _ => None,
    };
    let now = now();
    let n = Notification::test(service, now, deployment::public_url(env));
    let (delivered, record) = send_test(env, &body.channel, &n, now).await;
    Ok(http::json(
        200,
        &json!({
            "channel": body.channel,
            "delivered": delivered,
            "httpStatus": record.status,
            "error": record.error,
            "latencyMs": record.latency_ms,
        }),
    )?)
}

/// Sends test notification `n` to `channel` now (started at `now`), and records the attempt
/// in `alert_history` under subject `test`, like any attempt, with a delivery id of the
/// start time. Whether a 2xx answered, and the attempt's record.
pub async fn send_test(env: &Env, channel: &str, n: &Notification, now: Timestamp) -> (bool, AttemptRecord) {
    let outcome = send::attempt(env, channel, n, now, RetryPolicy::default().timeout).await;
    let delivery = u64::try_from(now.as_millis()).unwrap_or(0);
    let record = lone_attempt(delivery, channel, n.event(), (now, deployment::now()), &outcome);
    if let Some((_, false)) =
        history::flush(env, systole_core::config::TEST_SUBJECT, std::slice::from_ref(&record)).await
    {
        worker::console_warn!("the test attempt was not recorded");
    }
    (matches!(outcome, Outcome::Answered { status: 200..=299, .. }), record)
}
