//! The NotificationHub Durable Object: one per user (`user:{id}`), one for an open
//! deployment (`open`) and one shared by the public status page (`public`).
//!
//! Dashboard tabs' WebSockets are accepted with the Hibernation API, so the hub is evicted
//! from memory while tabs are idle; the tabs' keep-alive `ping` is answered `pong` by the
//! runtime's auto-response without waking it.
//!
//! Limits (decided by `systole_core::live`): at most `cap` sockets (the Worker passes
//! `socket_cap` of the hub: 50 for a user's, 1,000 for the public or open hub; the next
//! upgrade gets 503 problem+json `too-many-sockets`); a client message over 1 KiB closes its
//! socket with 1009, more than 20 in 10 s with 1008; any other message is ignored. Client
//! messages never read or write storage: each socket's message count lives in its
//! attachment, which survives hibernation.
//!
//! Internal protocol (only the Worker calls it):
//! - `GET /connect?cap=n` with `Upgrade: websocket` → 101, the tab's socket, which first
//!   receives the latest update of every service this hub has carried, each with
//!   `"replay": true` (so a tab that connects just after a change still sees it); 503
//!   problem+json when `n` sockets are open already;
//! - `POST /relay` with `{"updates": [text], "relays": [hub name]}`: each update (a
//!   `systole_core::live::ServiceUpdate` JSON text) is kept as its service's latest (in this
//!   object's SQLite storage) and sent to every open socket (an `AlertUpdate` or a
//!   `CatalogUpdate` is sent and not kept; a removed service's latest is deleted); then the updates are relayed to `relays` through the same tree
//!   (`systole_core::live::fan_out`: at most 10 posts from this invocation). 200
//!   `{"sockets": n, "relayed": {hub name: n}}`;
//! - `GET /session` → 200 `{"generation": n}`: a user hub's session generation
//!   (`systole_core::session`), 0 until the first sign-out;
//! - `POST /session/end` → adds one to the generation (ending every session issued before)
//!   and closes every open socket with 1008 `signed out`; 200 `{"generation": n}`;
//! - `GET /stats` → 200 `{"sockets", "wakes"}`: `wakes` counts the client messages that ran
//!   this object's code (those other than the auto-answered ping) on the sockets open now,
//!   from their attachments; the benchmark reads it.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use systole_core::access::Hub;
use systole_core::api::Problem;
use systole_core::budget::Kind;
use systole_core::live::{self, ClientMessage, Meter, Verdict};
use worker::{
    durable_object, DurableObject, Env, Error, Request, Response, Result, State, WebSocket, WebSocketIncomingMessage,
    WebSocketPair,
};

use crate::deployment::now;
use crate::http;
use crate::row::Row;

/// A user's session generation (see `systole_core::session`), kept in storage.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
struct Sessions {
    generation: u64,
}

const SESSIONS: Row = Row { table: "sessions", column: "state" };

/// One audience's live-update fan-out (see the module docs).
#[allow(missing_debug_implementations)] // State is a JS handle without Debug.
#[durable_object]
pub struct NotificationHub {
    state: State,
    env: Env,
}

impl DurableObject for NotificationHub {
    fn new(state: State, env: Env) -> Self {
        SESSIONS.create(&state);
        let sql = "CREATE TABLE IF NOT EXISTS latest (id TEXT PRIMARY KEY, body TEXT NOT NULL)";
        if let Err(e) = state.storage().sql().exec(sql, None) {
            worker::console_error!("creating table latest: {e}");
        }
        if let Ok(pair) = worker::worker_sys::WebSocketRequestResponsePair::new("ping", "pong") {
            state.set_websocket_auto_response(&pair);
        }
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (_, "/connect") => {
                let cap = req
                    .url()?
                    .query_pairs()
                    .find(|(k, _)| k == "cap")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(live::USER_HUB_SOCKETS);
                if !live::admits_socket(self.state.get_websockets().len(), cap) {
                    return http::problem(&live::hub_full(cap));
                }
                let pair = WebSocketPair::new()?;
                self.state.accept_web_socket(&pair.server);
                pair.server.serialize_attachment(Meter::default())?;
                for body in self.latest()? {
                    pair.server.send_with_str(&body)?;
                }
                Response::from_websocket(pair.client)
            }
            (_, "/relay") => {
                let body: super::RelayBody = serde_json::from_str(&req.text().await?)?;
                let sockets = self.state.get_websockets();
                let mut sent = 0;
                for update in &body.updates {
                    self.keep(update)?;
                    sent = sockets.iter().filter(|ws| ws.send_with_str(update).is_ok()).count();
                }
                let relayed = crate::budget::invocation("NotificationHub relay", self.relay(body)).await;
                http::json(200, &super::RelayAnswer { sockets: sent as u64, relayed })
            }
            (worker::Method::Get, "/session") => {
                let s: Sessions = SESSIONS.load(&self.state)?.unwrap_or_default();
                http::json(200, &serde_json::json!({ "generation": s.generation }))
            }
            (worker::Method::Post, "/session/end") => {
                let mut s: Sessions = SESSIONS.load(&self.state)?.unwrap_or_default();
                s.generation = s.generation.saturating_add(1);
                SESSIONS.save(&self.state, &s)?;
                for ws in self.state.get_websockets() {
                    // Already closing or gone: nothing more to end.
                    let _ = ws.close(Some(live::POLICY), Some("signed out"));
                }
                http::json(200, &serde_json::json!({ "generation": s.generation }))
            }
            (_, "/stats") => {
                let sockets = self.state.get_websockets();
                let wakes: u64 = sockets
                    .iter()
                    .filter_map(|ws| ws.deserialize_attachment::<Meter>().ok().flatten())
                    .map(|m| m.handled)
                    .sum();
                http::json(200, &serde_json::json!({ "sockets": sockets.len(), "wakes": wakes }))
            }
            _ => http::problem(&Problem::not_found("no such NotificationHub operation")),
        }
    }

    async fn websocket_message(&self, ws: WebSocket, message: WebSocketIncomingMessage) -> Result<()> {
        // Only the socket's attachment changes: no storage is read or written.
        let mut meter: Meter = ws.deserialize_attachment()?.unwrap_or_default();
        let verdict = match &message {
            WebSocketIncomingMessage::String(s) => meter.on_message(now(), ClientMessage::Text(s)),
            WebSocketIncomingMessage::Binary(b) => meter.on_message(now(), ClientMessage::Binary(b.len())),
        };
        ws.serialize_attachment(meter)?;
        match verdict {
            Verdict::Pong => ws.send_with_str("pong"),
            Verdict::Ignore => Ok(()),
            Verdict::Close(code, reason) => {
                // Messages already in flight behind it find the socket closing: no error.
                let _ = ws.close(Some(code), Some(reason));
                Ok(())
            }
        }
    }

    async fn websocket_close(&self, ws: WebSocket, _code: usize, _reason: String, _clean: bool) -> Result<()> {
        // Completes the closing handshake; the socket may already be gone.
        let _ = ws.close(Some(1000), Some("closed"));
        Ok(())
    }

    async fn websocket_error(&self, _ws: WebSocket, _error: Error) -> Result<()> {
        Ok(())
    }
}

impl NotificationHub {
    /// Passes `body`'s updates on to its relays (at most [`live::FANOUT`] posts, each hub
    /// relaying to its share) and waits for their socket counts, by hub name; a hub that
    /// cannot be reached is logged and left out.
    async fn relay(&self, body: super::RelayBody) -> BTreeMap<String, u64> {
        let relays = body.relays.into_iter().map(|name| Hub { name, public: false }).collect();
        let posts: Vec<_> = live::fan_out(relays, live::FANOUT)
            .into_iter()
            .filter_map(|post| {
                let stub = super::stub_named(&self.env, &post.hub.name).ok()?;
                crate::budget::count(Kind::Object);
                Some((stub, post))
            })
            .collect();
        let updates = &body.updates;
        let answers = join_all(posts.iter().map(|(stub, post)| async move {
            (post, super::relay(stub, &post.hub.name, updates.clone(), &post.relays).await)
        }))
        .await;
        let mut sockets = BTreeMap::new();
        for (post, answer) in answers {
            match answer {
                Ok(counts) => sockets.extend(counts),
                Err(e) => worker::console_warn!("relaying to hub {}: {e}", post.hub.name),
            }
        }
        sockets
    }

    /// Stores `update` (JSON text) as its service's latest, or forgets a removed service's
    /// (`systole_core::live::Keep`).
    fn keep(&self, update: &str) -> Result<()> {
        let sql = self.state.storage().sql();
        match live::Keep::of(update) {
            live::Keep::Latest(id) => {
                let q =
                    "INSERT INTO latest (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body";
                sql.exec(q, vec![id.into(), update.into()])?;
            }
            live::Keep::Forget(id) => {
                sql.exec("DELETE FROM latest WHERE id = ?", vec![id.into()])?;
            }
            live::Keep::Nothing => {}
        }
        Ok(())
    }

    /// Every service's latest update, marked `"replay": true`.
    fn latest(&self) -> Result<Vec<String>> {
        let rows: Vec<serde_json::Value> =
            self.state.storage().sql().exec("SELECT body FROM latest", None)?.to_array()?;
        Ok(rows
            .iter()
            .filter_map(|r| r.get("body")?.as_str())
            .filter_map(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            .map(|mut v| {
                v["replay"] = serde_json::Value::Bool(true);
                v.to_string()
            })
            .collect())
    }
}
