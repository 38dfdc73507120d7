//! Live updates: what a ServiceMonitor publishes to the NotificationHubs after a heartbeat or
//! a status change, and what each hub fans out to its dashboard tabs as one WebSocket text
//! message.
//!
//! JSON: `{"type": "service", "id", "status", "statusSince": ms, "lastHeartbeat": ms | null,
//! "message": string | null, "at": ms, "change": {"from", "to", "reason"} | null}`; times are
//! Unix epoch milliseconds, UTC. `at` orders updates of one service: a tab ignores an update
//! older than what it already shows. Updates for the public hub carry no message and no
//! reason.

use serde::{Deserialize, Serialize};

use crate::monitor::{Effect, MonitorState, Status};
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
            status_since: state.status_since.0,
            last_heartbeat: state.last_heartbeat.map(|t| t.0),
            message: state.last_message.clone(),
            at: now.0,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::monitor::StatusChange;

    #[test]
    fn updates_carry_the_change_and_the_public_form_drops_text() {
        let state = MonitorState {
            status: Status::Down,
            status_since: Timestamp(5),
            last_heartbeat: Some(Timestamp(1)),
            last_message: Some("disk <full>".into()),
            incident: None,
            next_seq: 3,
        };
        let change = StatusChange { seq: 2, at: Timestamp(5), from: Status::Up, to: Status::Down, reason: "r".into() };
        let u = ServiceUpdate::new("api", &state, &[Effect::StatusChanged(change)], Timestamp(6));
        let json: serde_json::Value = serde_json::from_str(&u.to_json()).unwrap();
        assert_eq!(json["type"], "service");
        assert_eq!(json["change"]["to"], "down");
        assert_eq!(json["lastHeartbeat"], 1);
        let p = u.public();
        assert_eq!((p.message, p.change.unwrap().reason), (None, String::new()));
    }
}
