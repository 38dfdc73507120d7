//! `POST /api/heartbeat`: limits and parsing at the edge, then each heartbeat to its
//! service's ServiceMonitor Durable Object. No D1 on this path.

use futures_util::future::join_all;
use systole_core::api::heartbeat::{self, Accepted, HeartbeatItem, HeartbeatRequest, MAX_BODY_BYTES};
use systole_core::api::Problem;
use systole_core::keys::Authorization;
use systole_core::protocol::ToMonitor;
use worker::{Env, Request, Response, Result};

use crate::deployment::{self, MONITOR_BINDING};
use crate::http::{self, Reply};
use crate::router::Call;

/// Handles a heartbeat request in any of the seeds' forms.
///
/// Answers 200 `Accepted` JSON for one heartbeat, or `{"ok": true, "results": [Accepted…]}`
/// for a batch. A batch is all-or-nothing on authorization: one bad key and nothing is
/// recorded (401). Errors: 413 over 16 KiB, 400 with the field for bad JSON or fields,
/// 401 (identical for unknown service, missing key, wrong key), 503 when a Durable Object
/// is unavailable or its buffer is full.
pub async fn post(mut req: Request, env: &Env, _call: Call<'_>) -> Reply {
    let bearer = req.headers().get("Authorization")?.and_then(|v| crate::access::bearer(&v));
    let body = http::body(&mut req, MAX_BODY_BYTES).await?;
    let HeartbeatRequest { mut items, batch } = heartbeat::parse(&body, bearer.as_deref())?;
    let config = deployment::config();
    // Unknown services and wrong keys never reach a Durable Object: a flood of them cannot
    // queue in front of real heartbeats, and no extra round trip tells which ids exist. A
    // batch is checked whole, so one bad key records nothing. Each ServiceMonitor verifies
    // its own key again.
    let denied = |i: &HeartbeatItem| {
        let service = config.service(i.service_id.as_str());
        deployment::keys(env).authorize(service, i.key.as_deref()) == Authorization::Denied
    };
    if items.iter().any(denied) {
        return Err(Problem::unauthorized().into());
    }
    let namespace = env.durable_object(MONITOR_BINDING)?;
    if !batch && items.len() == 1 {
        if let Some(item) = items.pop() {
            // The object's answer (Accepted or a problem) is the answer.
            return Ok(deliver(&namespace, item).await?);
        }
    }
    let answers = join_all(items.into_iter().map(|item| deliver(&namespace, item))).await;
    let mut results = Vec::with_capacity(answers.len());
    for answer in answers {
        let mut resp = answer?;
        if resp.status_code() != 200 {
            return Ok(resp);
        }
        let accepted: Accepted = serde_json::from_str(&resp.text().await?)?;
        results.push(accepted);
    }
    Ok(http::json(200, &serde_json::json!({ "ok": true, "results": results }))?)
}

async fn deliver(namespace: &worker::ObjectNamespace, item: HeartbeatItem) -> Result<Response> {
    let stub = namespace.id_from_name(item.service_id.as_str())?.get_stub()?;
    crate::durable::post(&stub, "https://service-monitor/", &ToMonitor::Heartbeat(item)).await
}
