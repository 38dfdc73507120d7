//! Live updates: what a ServiceMonitor publishes to the NotificationHubs after a heartbeat or
//! a status change, and what each hub fans out to its dashboard tabs as one WebSocket text
//! message.
//!
//! JSON: `{"type": "service", "id", "status", "statusSince": ms, "lastHeartbeat": ms | null,
//! "message": string | null, "at": ms, "change": {"from", "to", "reason"} | null,
//! "acknowledged"?: {"incident", "by", "at"}}` ([`ServiceUpdate`]); times are Unix epoch
//! milliseconds, UTC. `at` orders updates of one service: a tab ignores an update
//! older than what it already shows. Updates for the public hub carry no message and no
//! reason.
//!
//! External alerts go out as `{"type": "alert", "fingerprint", "state": "firing" |
//! "resolved", "title", "message", "severity": "critical" | "error" | "warning" | "info",
//! "source", "at": ms}` ([`AlertUpdate`]), to the hubs of readers who see everything only;
//! hubs do not keep or replay them.
//!
//! The hubs' limits ([`socket_cap`], [`Meter`], [`origin_allowed`]) are decided here and
//! applied by the Worker: how many sockets a hub holds, what a client may send on one, and
//! which pages may open one.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::access::Hub;
use crate::api::Problem;
use crate::monitor::{Effect, MonitorState, Status};
use crate::notify::{AlertState, ExternalAlert, Severity};
use crate::run::Reason;
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
    /// The reason's kind (`missed`, `overrun`, `failed`, …); absent on the public page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Reason>,
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
    /// Whether the last success came earlier than the service's `minInterval` after the one
    /// before (left out when not).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinged_too_often: bool,
    /// The open incident was acknowledged just now (only on the update the acknowledgement
    /// makes; never on the public page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledged>,
}

/// An acknowledgement as shown live. JSON: `{"incident": "{serviceId}.{startedAt ms}", "by":
/// "ana", "at": ms}` (`incident` is the id of `/api/v1/incidents`).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Acknowledged {
    /// The incident's id.
    pub incident: String,
    /// Who acknowledged it: a user id, `api` or `link`.
    pub by: String,
    /// When, ms.
    pub at: i64,
}

impl ServiceUpdate {
    /// The update for `service` at `now` from its state and the effects just produced.
    pub fn new(service: &str, state: &MonitorState, effects: &[Effect], now: Timestamp) -> Self {
        let change = effects.iter().rev().find_map(|e| match e {
            Effect::StatusChanged(c) => Some(Change { from: c.from, to: c.to, reason: c.reason.clone(), kind: c.kind }),
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
            pinged_too_often: state.runs.pinged_too_often,
            acknowledged: effects.iter().find_map(|e| match e {
                Effect::IncidentAcknowledged(i) => i.acknowledged.as_ref().map(|a| Acknowledged {
                    incident: crate::escalation::incident_id(service, i.started_at),
                    by: a.by.clone(),
                    at: a.at.as_millis(),
                }),
                _ => None,
            }),
        }
    }

    /// Whether the update tells of an event (a status change or an acknowledgement), which
    /// every watching hub gets at once, rather than only a newer last-seen time.
    pub fn is_event(&self) -> bool {
        self.change.is_some() || self.acknowledged.is_some()
    }

    /// The same update without message, reason and acknowledgement, for the public status
    /// page.
    pub fn public(&self) -> Self {
        let change = self.change.as_ref().map(|c| Change { reason: String::new(), kind: None, ..c.clone() });
        Self { message: None, change, acknowledged: None, ..self.clone() }
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

/// What the management API did to a service, as [`CatalogUpdate`] tells the tabs.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CatalogAction {
    /// Created (through the API, the dashboard or auto-provisioning).
    Added,
    /// Its settings changed, it was paused or resumed, or its key rotated.
    Changed,
    /// Deleted.
    Removed,
}

/// A service added, changed or removed at run time, as shown live: a tab that lists the
/// fleet or shows that service fetches its page again (a removed service's rows go at
/// once). JSON: `{"type": "catalog", "id", "action": "added" | "changed" | "removed",
/// "at": ms}`. Hubs pass it on without keeping it; a `removed` one makes them forget the
/// service's last [`ServiceUpdate`], so no tab is replayed a deleted service.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(tag = "type", rename = "catalog")]
pub struct CatalogUpdate {
    /// Service id.
    pub id: String,
    /// What happened.
    pub action: CatalogAction,
    /// When, ms.
    pub at: i64,
}

impl CatalogUpdate {
    /// The update for `action` on service `id` at `now`.
    pub fn new(id: &str, action: CatalogAction, now: Timestamp) -> Self {
        Self { id: id.to_owned(), action, at: now.as_millis() }
    }

    /// The WebSocket message text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What a hub does with one update it relays (a JSON text): keep it as its service's latest
/// (a [`ServiceUpdate`]), forget that service's latest (a `removed` [`CatalogUpdate`]), or
/// only pass it on (anything else: alerts, other catalog updates, text it cannot read).
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Keep {
    /// Store it as the latest of service `id`.
    Latest(String),
    /// Delete the latest of service `id`.
    Forget(String),
    /// Store nothing.
    Nothing,
}

impl Keep {
    /// Decides for `update` (see [`Keep`]).
    pub fn of(update: &str) -> Self {
        #[derive(Deserialize)]
        struct Head {
            #[serde(rename = "type")]
            kind: Option<String>,
            id: Option<String>,
            action: Option<CatalogAction>,
        }
        let Ok(Head { kind, id: Some(id), action }) = serde_json::from_str::<Head>(update) else {
            return Keep::Nothing;
        };
        match (kind.as_deref(), action) {
            (Some("service") | None, _) => Keep::Latest(id),
            (Some("catalog"), Some(CatalogAction::Removed)) => Keep::Forget(id),
            _ => Keep::Nothing,
        }
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

/// Most hubs one invocation posts an update to (a ServiceMonitor's heartbeat or alarm, the
/// AlertDesk, or a hub relaying it on): with more hubs, updates travel down a relay tree
/// ([`fan_out`]), so publishing costs each invocation at most 10 of its 50 subrequests
/// however many users there are (1,000 hubs are three levels deep).
pub const FANOUT: usize = 10;

/// One post of a relay tree: the hub to post to, and the hubs it relays the update on to.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Relay {
    /// The hub posted to.
    pub hub: Hub,
    /// The hubs it passes the update on to (planned again with [`fan_out`] there).
    pub relays: Vec<Hub>,
}

/// Splits `hubs` into at most `width` posts (at least one): the public hub is always posted
/// to directly (its updates carry no message, so nothing is relayed through it); the others
/// are cut into equal shares, each posted to its first hub, which relays to the rest of its
/// share the same way. No invocation posts to more than `width` hubs, and every hub gets the
/// update exactly once.
pub fn fan_out(hubs: Vec<Hub>, width: usize) -> Vec<Relay> {
    let (public, private): (Vec<Hub>, Vec<Hub>) = hubs.into_iter().partition(|h| h.public);
    let width = width.saturating_sub(public.len()).max(1);
    let share = private.len().div_ceil(width).max(1);
    let mut posts: Vec<Relay> = public.into_iter().map(|hub| Relay { hub, relays: Vec::new() }).collect();
    let mut rest = private.into_iter();
    while let Some(hub) = rest.next() {
        posts.push(Relay { hub, relays: rest.by_ref().take(share - 1).collect() });
    }
    posts
}

/// Most sockets a shared hub (the anonymous public status page's, or an open deployment's)
/// holds at once; the next upgrade is refused.
pub const SHARED_HUB_SOCKETS: usize = 1_000;
/// Most sockets one user's hub holds at once (their tabs and scripts together).
pub const USER_HUB_SOCKETS: usize = 50;

/// How many sockets `hub` may hold: [`SHARED_HUB_SOCKETS`] for the public and the open hub,
/// [`USER_HUB_SOCKETS`] for a user's.
pub fn socket_cap(hub: &Hub) -> usize {
    if hub.name.starts_with("user:") {
        USER_HUB_SOCKETS
    } else {
        SHARED_HUB_SOCKETS
    }
}

/// Whether a hub holding `open` sockets, with room for `cap`, accepts one more.
pub fn admits_socket(open: usize, cap: usize) -> bool {
    open < cap
}

/// The answer to an upgrade a full hub refuses: 503 problem+json `too-many-sockets` with
/// the cap as `limit` and `Retry-After: 30`.
pub fn hub_full(cap: usize) -> Problem {
    let detail = format!("this live stream already holds its maximum of {cap} sockets; close a tab or retry later");
    let mut p = Problem::unavailable(detail, 30);
    p.code = "too-many-sockets";
    p.title = "Too many live sockets";
    p.limit = u32::try_from(cap).ok();
    p
}

/// The answer to an upgrade from a page of another site: 403 problem+json `forbidden`.
pub fn foreign_origin(origin: &str) -> Problem {
    Problem::forbidden(format!(
        "origin {origin:?} may not open live updates: only this deployment's own pages and settings.json allowedOrigins may"
    ))
}

/// Largest client message a hub reads, in bytes (text as UTF-8); a larger one closes the
/// socket with [`TOO_BIG`]. Tabs only ever send `ping` (4 bytes).
pub const MAX_MESSAGE_BYTES: usize = 1_024;
/// The window client messages are counted in (fixed, starting at the first message after
/// the previous window ended).
pub const MESSAGE_WINDOW: Duration = Duration::from_secs(10);
/// Most client messages that reach a hub's code in one [`MESSAGE_WINDOW`]; the next closes
/// the socket with [`POLICY`]. The exact `ping` the runtime auto-answers never reaches the
/// code and is not counted (a tab sends one every 30 s).
pub const MESSAGES_PER_WINDOW: u32 = 20;

/// WebSocket close code 1009, "message too big" (RFC 6455 §7.4.1).
pub const TOO_BIG: u16 = 1009;
/// WebSocket close code 1008, "policy violation" (RFC 6455 §7.4.1): too many messages.
pub const POLICY: u16 = 1008;

/// A client message, as much of it as the limits need.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum ClientMessage<'a> {
    /// A text frame.
    Text(&'a str),
    /// A binary frame of this many bytes.
    Binary(usize),
}

/// What a hub does with one client message.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Verdict {
    /// Answer `pong`: a keep-alive `ping` the auto-response missed (e.g. with whitespace).
    Pong,
    /// Nothing: a client has nothing to tell a hub. No storage is read or written.
    Ignore,
    /// Close the socket with this code (1008 or 1009) and reason.
    Close(u16, &'static str),
}

/// One socket's message count, kept in the socket's attachment (which survives the hub's
/// hibernation without touching storage). JSON: `{"windowStart": ms, "inWindow": n,
/// "handled": n}`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meter {
    /// When the current window began, Unix ms.
    pub window_start: i64,
    /// Messages counted in it.
    pub in_window: u32,
    /// Every message that reached the hub's code on this socket (the benchmark's wake-ups).
    pub handled: u64,
}

impl Meter {
    /// Counts `message`, received at `now`, and decides: too big ([`MAX_MESSAGE_BYTES`])
    /// closes with 1009, beyond [`MESSAGES_PER_WINDOW`] in a [`MESSAGE_WINDOW`] with 1008,
    /// a `ping` (trimmed) is answered, anything else ignored.
    pub fn on_message(&mut self, now: Timestamp, message: ClientMessage<'_>) -> Verdict {
        self.handled = self.handled.saturating_add(1);
        let len = match message {
            ClientMessage::Text(t) => t.len(),
            ClientMessage::Binary(n) => n,
        };
        if len > MAX_MESSAGE_BYTES {
            return Verdict::Close(TOO_BIG, "message too big");
        }
        let start = Timestamp::from_millis(self.window_start);
        if self.in_window == 0 || now < start || now.since(start) >= MESSAGE_WINDOW {
            self.window_start = now.as_millis();
            self.in_window = 0;
        }
        self.in_window = self.in_window.saturating_add(1);
        if self.in_window > MESSAGES_PER_WINDOW {
            return Verdict::Close(POLICY, "too many messages");
        }
        match message {
            ClientMessage::Text(t) if t.trim() == "ping" => Verdict::Pong,
            _ => Verdict::Ignore,
        }
    }
}

/// Whether a WebSocket upgrade carrying `origin` may open a socket.
///
/// No `Origin` header: not a browser acting for a page (scripts, the CLI), allowed. Else the
/// origin must be one of ours: `http(s)://` plus a host in `own_hosts` (the request's `Host`
/// and its URL's host, `host[:port]`, case-insensitively), or `public_url`'s origin
/// (`PUBLIC_URL`); or one listed in `allowed` (`settings.json` `allowedOrigins`, exact
/// match, `"*"` for any). `null` and anything else are refused.
pub fn origin_allowed(origin: Option<&str>, own_hosts: &[&str], public_url: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let own_host = origin.split_once("://").is_some_and(|(scheme, host)| {
        (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
            && own_hosts.iter().any(|h| !h.is_empty() && h.eq_ignore_ascii_case(host))
    });
    let public = public_url
        .and_then(|u| url::Url::parse(u).ok())
        .is_some_and(|u| u.origin().ascii_serialization().eq_ignore_ascii_case(origin));
    own_host || public || allowed.iter().any(|a| a == "*" || a == origin)
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
    fn publishing_to_many_hubs_posts_to_at_most_ten_and_reaches_each_once() {
        // Follows every relay as the hubs do and counts each invocation's posts.
        fn deliver(posts: Vec<Relay>, got: &mut Vec<String>, widest: &mut usize, depth: usize, deepest: &mut usize) {
            if posts.is_empty() {
                return;
            }
            *widest = (*widest).max(posts.len());
            *deepest = (*deepest).max(depth);
            for p in posts {
                got.push(p.hub.name.clone());
                deliver(fan_out(p.relays, FANOUT), got, widest, depth + 1, deepest);
            }
        }
        for n in [0, 1, 9, 10, 11, 99, 100, 101, 1_000, 5_000] {
            let mut hubs: Vec<Hub> = (0..n).map(|i| Hub::user(&format!("u{i}"))).collect();
            hubs.push(Hub::public());
            let (mut got, mut widest, mut deepest) = (Vec::new(), 0, 0);
            let posts = fan_out(hubs.clone(), FANOUT);
            assert!(posts.iter().any(|p| p.hub.public && p.relays.is_empty()), "the public hub directly");
            assert!(posts.iter().all(|p| p.relays.iter().all(|r| !r.public)));
            deliver(posts, &mut got, &mut widest, 1, &mut deepest);
            got.sort();
            let mut want: Vec<String> = hubs.into_iter().map(|h| h.name).collect();
            want.sort();
            assert_eq!(got, want, "{n} hubs: each exactly once");
            assert!(widest <= FANOUT, "{n} hubs: {widest} posts in one invocation");
            if n <= 9 {
                assert_eq!(deepest, 1, "{n} hubs: all direct");
            }
            if n == 1_000 {
                assert!(deepest <= 4, "{deepest} levels");
            }
        }
        assert_eq!(fan_out(vec![Hub::open()], FANOUT), [Relay { hub: Hub::open(), relays: vec![] }]);
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
            runs: crate::run::RunState::default(),
            maintenance: Vec::new(),
            maintenance_until: None,
            maintenance_checked: None,
            resumed_at: None,
            parents: Default::default(),
        };
        let change = StatusChange {
            seq: 2,
            at: Timestamp::from_millis(5),
            from: Status::Up,
            to: Status::Down,
            reason: "r".into(),
            kind: None,
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

    #[test]
    fn user_hubs_hold_fifty_sockets_and_shared_hubs_a_thousand() {
        assert_eq!(socket_cap(&Hub::user("ana")), 50);
        assert_eq!(socket_cap(&Hub::public()), 1_000);
        assert_eq!(socket_cap(&Hub::open()), 1_000);
        assert!(admits_socket(49, 50));
        assert!(!admits_socket(50, 50));
        assert!(!admits_socket(51, 50));
        let p = hub_full(50);
        assert_eq!((p.status, p.code, p.limit, p.retry_after), (503, "too-many-sockets", Some(50), Some(30)));
        let p = foreign_origin("https://evil.example");
        assert!(p.status == 403 && p.detail.contains("\"https://evil.example\""), "{p:?}");
    }

    #[test]
    fn pings_are_answered_chatter_ignored_and_big_or_frequent_messages_close() {
        let t = Timestamp::from_millis;
        let mut m = Meter::default();
        assert_eq!(m.on_message(t(1_000), ClientMessage::Text(" ping\n")), Verdict::Pong);
        assert_eq!(m.on_message(t(1_000), ClientMessage::Text("hello")), Verdict::Ignore);
        assert_eq!(m.on_message(t(1_000), ClientMessage::Binary(4)), Verdict::Ignore);
        let big = "x".repeat(MAX_MESSAGE_BYTES + 1);
        assert_eq!(m.on_message(t(1_000), ClientMessage::Text(&big)), Verdict::Close(1009, "message too big"));
        assert_eq!(
            m.on_message(t(1_000), ClientMessage::Binary(MAX_MESSAGE_BYTES + 1)),
            Verdict::Close(1009, "message too big")
        );
        let exactly = "x".repeat(MAX_MESSAGE_BYTES);
        assert_eq!(m.on_message(t(1_000), ClientMessage::Text(&exactly)), Verdict::Ignore);

        // 20 messages in a window pass, the 21st closes; a new window starts afresh.
        let mut m = Meter::default();
        for i in 0..MESSAGES_PER_WINDOW {
            assert_eq!(m.on_message(t(5_000 + i64::from(i)), ClientMessage::Text("x")), Verdict::Ignore, "{i}");
        }
        assert_eq!(m.on_message(t(14_999), ClientMessage::Text("x")), Verdict::Close(1008, "too many messages"));
        let mut m = Meter::default();
        for _ in 0..MESSAGES_PER_WINDOW {
            let _ = m.on_message(t(5_000), ClientMessage::Text("x"));
        }
        assert_eq!(m.on_message(t(15_000), ClientMessage::Text("x")), Verdict::Ignore, "the next window");
        assert_eq!(m.handled, u64::from(MESSAGES_PER_WINDOW) + 1);
        assert_eq!(m.in_window, 1);
    }

    #[test]
    fn a_meter_survives_its_attachment_round_trip() {
        let m = Meter { window_start: 7, in_window: 2, handled: 9 };
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"windowStart":7,"inWindow":2,"handled":9}"#);
        assert_eq!(serde_json::from_str::<Meter>(&json).unwrap(), m);
    }

    #[test]
    fn only_our_own_pages_and_configured_origins_may_open_sockets() {
        let own = ["status.example.com", "127.0.0.1:8787"];
        let public = Some("https://dash.example.com/");
        let allowed = vec!["https://ops.example.net".to_owned()];
        let ok = |o: Option<&str>| origin_allowed(o, &own, public, &allowed);
        assert!(ok(None), "no Origin: not a browser");
        assert!(ok(Some("https://status.example.com")));
        assert!(ok(Some("HTTPS://STATUS.EXAMPLE.COM")));
        assert!(ok(Some("http://127.0.0.1:8787")));
        assert!(ok(Some("https://dash.example.com")), "PUBLIC_URL");
        assert!(ok(Some("https://ops.example.net")), "allowedOrigins");
        for bad in [
            "https://evil.example",
            "https://status.example.com.evil.example",
            "https://evil.example/status.example.com",
            "http://127.0.0.1:9999",
            "ftp://status.example.com",
            "null",
            "",
            "https://ops.example.net.evil",
        ] {
            assert!(!ok(Some(bad)), "{bad}");
        }
        assert!(origin_allowed(Some("https://any.example"), &own, None, &["*".to_owned()]), "\"*\": any");
        assert!(!origin_allowed(Some("https://"), &[""], None, &[]), "an empty Host matches nothing");
    }

    #[test]
    fn hubs_keep_service_updates_forget_removed_services_and_only_pass_the_rest_on() {
        let t = Timestamp::from_millis(7);
        let removed = CatalogUpdate::new("api", CatalogAction::Removed, t).to_json();
        assert_eq!(removed, r#"{"type":"catalog","id":"api","action":"removed","at":7}"#);
        assert_eq!(Keep::of(&removed), Keep::Forget("api".into()));
        let added = CatalogUpdate::new("api", CatalogAction::Added, t).to_json();
        assert_eq!(Keep::of(&added), Keep::Nothing, "a catalog update must not replace the service's latest");
        let update = r#"{"type":"service","id":"api","status":"up","statusSince":1,"lastHeartbeat":null,"message":null,"at":2,"change":null}"#;
        assert_eq!(Keep::of(update), Keep::Latest("api".into()));
        assert_eq!(Keep::of(r#"{"type":"alert","fingerprint":"f","at":1}"#), Keep::Nothing);
        assert_eq!(Keep::of(r#"{"id": "probe", "at": 0}"#), Keep::Latest("probe".into()), "as before: kept by id");
        assert_eq!(Keep::of("not json"), Keep::Nothing);
    }
}
