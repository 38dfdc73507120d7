//! The messages between the Worker's router and its Durable Objects: the JSON bodies of the
//! objects' internal `POST` requests, one type per object, so each side parses exactly what
//! the other wrote (no second copy of a parsed heartbeat).
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use serde::{Deserialize, Serialize};

use crate::api::heartbeat::HeartbeatItem;
use crate::config::ServiceId;
use crate::maintenance::Command;
use crate::notify::alert::AlertBatch;

/// A request to a ServiceMonitor (`POST https://service-monitor/`): `op` names it, and
/// `data`, written after it, holds its fields:
/// `{"op": "heartbeat", "data": {"serviceId", "key", "heartbeat", "droppedMetrics"}}`,
/// `{"op": "watchdog", "data": {"serviceId"}}`, `{"op": "authorize", "data": {"serviceId",
/// "key"}}`, …. Adjacent rather than internal tagging: an `op` read first lets `data` be
/// read straight into its variant, where an internal tag buffers every field first (on
/// every heartbeat, in the object that receives it).
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[serde(tag = "op", content = "data", rename_all = "camelCase")]
pub enum ToMonitor {
    /// One heartbeat, parsed and limited at the edge → 200 `Accepted` JSON, or a problem
    /// (401, 503).
    Heartbeat(HeartbeatItem),
    /// The cron watchdog → 200 `{"alarmAt": ms | null}`, or 404 for an unknown service.
    #[serde(rename_all = "camelCase")]
    Watchdog {
        /// The service the object holds.
        service_id: ServiceId,
    },
    /// A management operation on a managed service ([`crate::managed::handle`]) → 200/201
    /// [`crate::managed::Managed`] JSON, or a problem (400, 404, 409).
    Manage(crate::managed::Manage),
    /// A run-time maintenance window added or removed (the caller is authorized at the
    /// edge) → 200 `{"status", "maintenanceUntil": ms | null}`, or 404 for an unknown
    /// service.
    #[serde(rename_all = "camelCase")]
    Maintenance {
        /// The service.
        service_id: ServiceId,
        /// What to do.
        command: Command,
    },
    /// Whether `key` opens the service (an error report's key, checked by the object that
    /// holds a managed service's keys) → 200 `{}`, or 401.
    #[serde(rename_all = "camelCase")]
    Authorize {
        /// The service.
        service_id: ServiceId,
        /// The key presented, if any.
        key: Option<String>,
    },
    /// A snooze of `minutes` from now, authorized by the service's key → 200 as for
    /// `maintenance`, or 401.
    #[serde(rename_all = "camelCase")]
    Snooze {
        /// The service.
        service_id: ServiceId,
        /// How long, in minutes (already within bounds).
        minutes: u64,
        /// The key presented, if any.
        key: Option<String>,
    },
    /// A parent's status changed (pushed by the parent's object to each dependent, see
    /// [`crate::dependency`]) → 200 `{}`, or 404 for an unknown service.
    #[serde(rename_all = "camelCase")]
    Parent {
        /// The dependent service (the object addressed).
        service_id: ServiceId,
        /// The parent.
        parent: ServiceId,
        /// Its status and since when.
        state: crate::dependency::ParentState,
    },
    /// An acknowledgement of the open incident that started at `started_at` (the caller is
    /// authorized at the edge) → 200 `{"incident": Incident | null}`, `null` when the
    /// service has no such open incident (resolved, or never was).
    #[serde(rename_all = "camelCase")]
    Acknowledge {
        /// The service.
        service_id: ServiceId,
        /// The incident's start (epoch ms).
        started_at: crate::time::Timestamp,
        /// Who: a user id, `api` or `link`.
        by: String,
    },
}

/// A request to the AlertDesk (`POST https://alert-desk/`): parsed alerts and where they go
/// → 200 `{"alerts": [Receipt]}`.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct Intake {
    /// The alerts.
    pub batch: AlertBatch,
    /// The selected channel names.
    pub channels: Vec<String>,
    /// Whether the request named them (which skips `minSeverity`).
    pub explicit: bool,
    /// The credential that let the request in ([`crate::keys::AlertAccess::Granted`]): with
    /// the format, the sender its fingerprints are namespaced by.
    #[serde(default)]
    pub key_id: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::monitor::{Heartbeat, Reported};

    #[test]
    fn a_heartbeat_message_reads_back_as_written() {
        let item = HeartbeatItem {
            service_id: ServiceId::parse("api").unwrap(),
            key: Some("k".into()),
            heartbeat: Heartbeat {
                reported: Reported::Degraded,
                message: Some("slow".into()),
                metadata: Some("{\"a\":1}".into()),
                metrics: None,
                ..Heartbeat::default()
            },
            dropped_metrics: vec!["huge".into()],
        };
        let text = serde_json::to_string(&ToMonitor::Heartbeat(item.clone())).unwrap();
        assert!(text.starts_with(r#"{"op":"heartbeat","data":{"serviceId":"api""#), "{text}");
        assert_eq!(serde_json::from_str::<ToMonitor>(&text).unwrap(), ToMonitor::Heartbeat(item));
        let add = r#"{"op":"maintenance","data":{"serviceId":"api","command":{"add":{"id":"w","start":1,"end":2}}}}"#;
        let parsed: ToMonitor = serde_json::from_str(add).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), add);
        let watchdog = r#"{"op":"watchdog","data":{"serviceId":"api"}}"#;
        let parsed: ToMonitor = serde_json::from_str(watchdog).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), watchdog);
    }
}
