//! `GET /api/status`: summary counts and every configured service's current state.

use std::collections::BTreeMap;

use serde_json::json;
use systole_core::monitor::{deadline, MonitorConfig, Status};
use systole_core::time::Timestamp;
use worker::{Env, Response, Result};

use crate::deployment::{self, now, DB_BINDING};
use crate::{d1, http};

/// JSON: `{"generatedAt", "summary": {"total", "up", "late", "degraded", "down", "paused",
/// "unknown"}, "services": [{"id", "name", "group", "status", "statusSince",
/// "lastHeartbeat", "secondsSinceLastHeartbeat", "message", "nextDeadline", "incidentStartedAt"}]}`; times are
/// RFC 3339 UTC or null. Status comes from D1 `service_state` (each ServiceMonitor writes it
/// at once on a status change), the last heartbeat from the `heartbeats` table (written within
/// `flushIntervalSeconds`), and the next deadline from both and the config.
pub async fn get(env: &Env) -> Result<Response> {
    let now = now();
    let rows = match d1::statuses(&env.d1(DB_BINDING)?).await {
        Ok(rows) => rows,
        Err(e) => return http::unavailable("the history database", &e),
    };
    let by_id: BTreeMap<&str, &d1::StateRow> = rows.iter().map(|r| (r.service_id.as_str(), r)).collect();
    let mut counts: BTreeMap<&'static str, u32> = Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let rfc = |t: Option<i64>| t.map(|t| Timestamp(t).to_rfc3339());
    let services: Vec<_> = deployment::config()
        .services
        .iter()
        .map(|s| {
            let row = by_id.get(s.id.as_str());
            let status = match row.and_then(|r| Status::parse(&r.status)) {
                Some(status) => status,
                None if s.enabled => Status::Unknown,
                None => Status::Paused,
            };
            *counts.entry(status.as_str()).or_default() += 1;
            let last = row.and_then(|r| r.last_heartbeat);
            json!({
                "id": s.id,
                "name": s.name,
                "group": s.group,
                "status": status,
                "statusSince": rfc(row.map(|r| r.status_since)),
                "lastHeartbeat": rfc(last),
                "secondsSinceLastHeartbeat": last.map(|t| now.since(Timestamp(t)).as_secs()),
                "message": row.and_then(|r| r.last_message.clone()),
                "nextDeadline": deadline(status, last.map(Timestamp), &MonitorConfig::from(s)).map(|(t, _)| t.to_rfc3339()),
                "incidentStartedAt": rfc(row.and_then(|r| r.incident_started_at)),
            })
        })
        .collect();
    let mut summary = json!({ "total": services.len() });
    for (name, n) in counts {
        summary[name] = n.into();
    }
    http::json(200, &json!({ "generatedAt": now.to_rfc3339(), "summary": summary, "services": services }))
}
