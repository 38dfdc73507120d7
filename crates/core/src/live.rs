//! Live updates: what a ServiceMonitor publishes to the NotificationHubs after a heartbeat or
//! a status change, and what each hub fans out to its dashboard tabs as one WebSocket text
//! message.
//!
//! JSON: `{"type": "service", "id", "status", "statusSince": ms, "lastHeartbeat": ms | null,
//! "message": string | null, "at": ms, "change": {"from", "to", "reason"} | null}`; times are
//! Unix epoch milliseconds, UTC. `at` orders updates of one service: a tab ignores an update
//! older than what it already shows. Updates for the public hub carry no message and no
//! reason.
//!
//! External alerts go out as `{"type": "alert", "fingerprint", "state": "firing" |
//! "resolved", "title", "message", "severity": "critical" | "error" | "warning" | "info",
//! "source", "at": ms}` ([`AlertUpdate`]), to the hubs of readers who see everything only;
//! hubs do not keep or replay them.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::monitor::{Effect, MonitorState, Status};
use crate::notify::{AlertState, ExternalAlert, Severity};
use crate::time::Timestamp;

/// A status transition as shown live.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Change {
    /// Status before.
    pub from: Status,
    /// Status after.
    pub to: Status,
    /// Why (e.g. "no heartbeat for 60 s"); empty on the public page.
    pub reason: String,
}

/// One service's state after a heartbeat or an alarm.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type", rename = "service")]
pub struct ServiceUpdate {
    /// Service id.
    pub id: String,
    /// Current status.
    pub status: Status,
    /// When it began, ms.
    pub status_since: i64,
    /// Last heartbeat, ms.
    pub last_heartbeat: Option<i64>,
    /// Its message.
    pub message: Option<String>,
    /// When this update was made, ms.
    pub at: i64,
    /// The last status change among the effects, if any.
    pub change: Option<Change>,
}

impl ServiceUpdate {
    /// The update for `service` at `now` from its state and the effects just produced.
    pub fn new(service: &str, state: &MonitorState, effects: &[Effect], now: Timestamp) -> Self {
        let change = effects.iter().rev().find_map(|e| match e {
            Effect::StatusChanged(c) => Some(Change { from: c.from, to: c.to, reason: c.reason.clone() }),
            _ => None,
        });
        Self {
            id: service.to_owned(),
            status: state.status,
            status_since: state.status_since.as_millis(),
            last_heartbeat: state.last_heartbeat.map(Timestamp::as_millis),
            message: state.last_message.clone(),
            at: now.as_millis(),
            change,
        }
    }

    /// The same update without message and reason, for the public status page.
    pub fn public(&self) -> Self {
        let change = self.change.as_ref().map(|c| Change { reason: String::new(), ..c.clone() });
        Self { message: None, change, ..self.clone() }
    }

    /// The WebSocket message text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// An external alert that was announced (new, or changed state), as shown live: the
/// dashboard pops it up (see the module docs for the JSON).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type", rename = "alert")]
pub struct AlertUpdate {
    /// The alert's fingerprint.
    pub fingerprint: String,
    /// Firing or resolved.
    pub state: AlertState,
    /// One line.
    pub title: String,
    /// The details, possibly empty.
    pub message: String,
    /// How bad it is.
    pub severity: Severity,
    /// Who sent it (`alertmanager`, `grafana`, the generic `source`).
    pub source: String,
    /// When it was received, ms.
    pub at: i64,
}

impl AlertUpdate {
    /// The update for `alert`, received at `now`.
    pub fn new(alert: &ExternalAlert, now: Timestamp) -> Self {
        Self {
            fingerprint: alert.fingerprint.clone(),
            state: alert.state,
            title: alert.title.clone(),
            message: alert.message.clone(),
            severity: alert.severity,
            source: alert.source.clone(),
            at: now.as_millis(),
        }
    }

    /// The WebSocket message text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Least time between two heartbeat-only updates of one service to a hub with open sockets:
/// the dashboard shows last-seen times to the second.
pub const LIVE_EVERY: Duration = Duration::from_secs(1);
/// Least time between two heartbeat-only updates to a hub that last reported no open socket:
/// nobody is watching, so a fleet's heartbeats cost its hubs almost nothing.
pub const IDLE_EVERY: Duration = Duration::from_secs(10);

/// Decides, per hub, whether one service's update is worth sending. Status changes always
/// are; a heartbeat that only moves the last-seen time is sent at most every
/// [`LIVE_EVERY`], or every [`IDLE_EVERY`] while the hub last reported no open socket.
/// A tab that connects in between resynchronises from the page, so nothing it shows is
/// wrong for longer than that.
#[derive(Clone, Debug, Default)]
pub struct PublishGate {
    hubs: BTreeMap<String, (Timestamp, Option<u64>)>,
}

impl PublishGate {
    /// Whether to send an update to `hub` at `now`; `change` when the status changed.
    pub fn admits(&self, hub: &str, now: Timestamp, change: bool) -> bool {
        match self.hubs.get(hub) {
            _ if change => true,
            None => true,
            Some((last, sockets)) => {
                let every = if *sockets == Some(0) { IDLE_EVERY } else { LIVE_EVERY };
                now.since(*last) >= every
            }
        }
    }

    /// Records a send to `hub` at `now` (its socket count unknown until it answers).
    pub fn sent(&mut self, hub: &str, now: Timestamp) {
        let sockets = self.hubs.get(hub).and_then(|e| e.1);
        self.hubs.insert(hub.to_owned(), (now, sockets));
    }

    /// Records the hub's answer: how many sockets it sent the update to.
    pub fn answered(&mut self, hub: &str, sockets: u64) {
        if let Some(e) = self.hubs.get_mut(hub) {
            e.1 = Some(sockets);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::monitor::StatusChange;

    #[test]
    fn the_gate_always_admits_changes_and_spaces_out_last_seen_updates() {
        let mut gate = PublishGate::default();
        assert!(gate.admits("user:a", Timestamp::from_millis(0), false));
        gate.sent("user:a", Timestamp::from_millis(0));
        assert!(!gate.admits("user:a", Timestamp::from_millis(999), false));
        assert!(gate.admits("user:a", Timestamp::from_millis(999), true));
        assert!(gate.admits("user:a", Timestamp::from_millis(1_000), false));
        gate.answered("user:a", 0);
        assert!(!gate.admits("user:a", Timestamp::from_millis(9_999), false), "nobody watching");
        assert!(gate.admits("user:a", Timestamp::from_millis(10_000), false));
        gate.sent("user:a", Timestamp::from_millis(10_000));
        gate.answered("user:a", 2);
        assert!(gate.admits("user:a", Timestamp::from_millis(11_000), false));
        assert!(gate.admits("public", Timestamp::from_millis(11_000), false), "per hub");
    }

    #[test]
    fn updates_carry_the_change_and_the_public_form_drops_text() {
        let state = MonitorState {
            status: Status::Down,
            status_since: Timestamp::from_millis(5),
            last_heartbeat: Some(Timestamp::from_millis(1)),
            last_message: Some("disk <full>".into()),
            last_metadata: None,
            incident: None,
            next_seq: 3,
        };
        let change = StatusChange {
            seq: 2,
            at: Timestamp::from_millis(5),
            from: Status::Up,
            to: Status::Down,
            reason: "r".into(),
        };
        let u = ServiceUpdate::new("api", &state, &[Effect::StatusChanged(change)], Timestamp::from_millis(6));
        let json: serde_json::Value = serde_json::from_str(&u.to_json()).unwrap();
        assert_eq!(json["type"], "service");
        assert_eq!(json["change"]["to"], "down");
        assert_eq!(json["lastHeartbeat"], 1);
        let p = u.public();
        assert_eq!((p.message, p.change.unwrap().reason), (None, String::new()));
    }

    #[test]
    fn alert_updates_are_typed_alert_with_lower_case_words() {
        let batch = crate::notify::alert::parse(r#"{"title": "Disk full", "message": "97 %", "severity": "critical"}"#)
            .unwrap();
        let u = AlertUpdate::new(&batch.alerts[0], Timestamp::from_millis(7));
        let json: serde_json::Value = serde_json::from_str(&u.to_json()).unwrap();
        assert_eq!(json["type"], "alert");
        assert_eq!((json["severity"].as_str(), json["state"].as_str()), (Some("critical"), Some("firing")));
        assert_eq!(
            (json["title"].as_str(), json["source"].as_str(), json["at"].as_i64()),
            (Some("Disk full"), Some("external"), Some(7))
        );
        assert!(json.get("id").is_none(), "hubs keep updates by id; alerts are not kept");
    }
}
