//! The NotificationHub Durable Object: one per user (`user:{id}`), one for an open
//! deployment (`open`) and one shared by the public status page (`public`).
//!
//! Dashboard tabs' WebSockets are accepted with the Hibernation API, so the hub is evicted
//! from memory while tabs are idle; the tabs' keep-alive `ping` is answered `pong` by the
//! runtime's auto-response without waking it.
//!
//! Internal protocol (only the Worker calls it):
//! - `GET /connect` with `Upgrade: websocket` → 101, the tab's socket, which first receives
//!   the latest update of every service this hub has carried, each with `"replay": true`
//!   (so a tab that connects just after a change still sees it);
//! - `POST /publish` with one `systole_core::live::ServiceUpdate` JSON text → kept as that
//!   service's latest (in this object's SQLite storage) and sent to every open socket; 200
//!   `{"sockets": n}`. An `AlertUpdate` (no `id`) is sent the same way and not kept;
//! - `GET /stats` → 200 `{"sockets", "wakes"}`: `wakes` counts the socket
//!   events that ran this object's code (messages other than the auto-answered ping, closes,
//!   errors) since it was created; the benchmark reads it.

use serde::{Deserialize, Serialize};
use systole_core::api::Problem;
use worker::{
    durable_object, DurableObject, Env, Error, Request, Response, Result, State, WebSocket, WebSocketIncomingMessage,
    WebSocketPair,
};

use crate::http;
use crate::row::Row;

/// Counters kept in storage, so they survive hibernation.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
struct Counters {
    wakes: u64,
}

const COUNTERS: Row = Row { table: "hub", column: "counters" };

/// One audience's live-update fan-out (see the module docs).
#[allow(missing_debug_implementations)] // State is a JS handle without Debug.
#[durable_object]
pub struct NotificationHub {
    state: State,
}

impl DurableObject for NotificationHub {
    fn new(state: State, _env: Env) -> Self {
        COUNTERS.create(&state);
        let sql = "CREATE TABLE IF NOT EXISTS latest (id TEXT PRIMARY KEY, body TEXT NOT NULL)";
        if let Err(e) = state.storage().sql().exec(sql, None) {
            worker::console_error!("creating table latest: {e}");
        }
        if let Ok(pair) = worker::worker_sys::WebSocketRequestResponsePair::new("ping", "pong") {
            state.set_websocket_auto_response(&pair);
        }
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match req.path().as_str() {
            "/connect" => {
                let pair = WebSocketPair::new()?;
                self.state.accept_web_socket(&pair.server);
                for body in self.latest()? {
                    pair.server.send_with_str(&body)?;
                }
                Response::from_websocket(pair.client)
            }
            "/publish" => {
                let text = req.text().await?;
                self.keep(&text)?;
                let sockets = self.state.get_websockets();
                let sent = sockets.iter().filter(|ws| ws.send_with_str(&text).is_ok()).count();
                http::json(200, &serde_json::json!({ "sockets": sent }))
            }
            "/stats" => {
                let c = self.counters()?;
                let sockets = self.state.get_websockets().len();
                http::json(200, &serde_json::json!({ "sockets": sockets, "wakes": c.wakes }))
            }
            _ => http::problem(&Problem::not_found("no such NotificationHub operation")),
        }
    }

    async fn websocket_message(&self, ws: WebSocket, message: WebSocketIncomingMessage) -> Result<()> {
        self.count(|c| c.wakes += 1)?;
        // A ping that missed the auto-response (e.g. with whitespace) still gets its pong.
        if matches!(message, WebSocketIncomingMessage::String(ref s) if s.trim() == "ping") {
            ws.send_with_str("pong")?;
        }
        Ok(())
    }

    async fn websocket_close(&self, ws: WebSocket, _code: usize, _reason: String, _clean: bool) -> Result<()> {
        self.count(|c| c.wakes += 1)?;
        // Completes the closing handshake; the socket may already be gone.
        let _ = ws.close(Some(1000), Some("closed"));
        Ok(())
    }

    async fn websocket_error(&self, _ws: WebSocket, _error: Error) -> Result<()> {
        self.count(|c| c.wakes += 1)
    }
}

impl NotificationHub {
    /// Stores `update` (JSON text) as its service's latest.
    fn keep(&self, update: &str) -> Result<()> {
        let value: serde_json::Value = serde_json::from_str(update)?;
        let Some(id) = value.get("id").and_then(serde_json::Value::as_str) else {
            return Ok(());
        };
        let sql = "INSERT INTO latest (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body";
        self.state.storage().sql().exec(sql, vec![id.into(), update.into()])?;
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

    fn counters(&self) -> Result<Counters> {
        Ok(COUNTERS.load(&self.state)?.unwrap_or_default())
    }

    fn count(&self, f: impl FnOnce(&mut Counters)) -> Result<()> {
        let mut c = self.counters()?;
        f(&mut c);
        COUNTERS.save(&self.state, &c).map(|_| ())
    }
}
