//! The live sockets' limits through the real Worker (`systole_core::live`): a user hub holds
//! 50 sockets, pages of other origins cannot open one, a big message closes its socket with
//! 1009 and a burst with 1008, and client chatter never writes the hub's storage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use systole_core::live::{MAX_MESSAGE_BYTES, MESSAGES_PER_WINDOW, USER_HUB_SOCKETS};
use systole_e2e::{spawn_worker, Live, Worker, IDLE_TOKEN, VIEWER_TOKEN};

const SECOND: Duration = Duration::from_secs(1);

/// The HTTP status of a refused upgrade.
fn refused(result: Result<Live, Box<tungstenite::Error>>) -> (u16, String) {
    match result.map(|_| ()).map_err(|e| *e) {
        Err(tungstenite::Error::Http(resp)) => {
            let body = resp.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default().into_owned();
            (resp.status().as_u16(), body)
        }
        other => panic!("expected a refused upgrade, got {other:?}"),
    }
}

fn idle(worker: &Worker) -> Result<Live, Box<tungstenite::Error>> {
    worker.live("/api/v1/live", Some(IDLE_TOKEN), None, 5 * SECOND)
}

#[test]
fn a_user_hub_holds_fifty_sockets_and_refuses_the_next_until_one_closes() {
    let worker = spawn_worker();
    let mut open: Vec<Live> =
        (0..USER_HUB_SOCKETS).map(|i| idle(&worker).unwrap_or_else(|e| panic!("{i}: {e}"))).collect();
    let (status, body) = refused(idle(&worker));
    assert_eq!(status, 503, "{body}");
    // The same upgrade over plain HTTP, to read the answer (the WebSocket client may not).
    let bearer = format!("Bearer {IDLE_TOKEN}");
    let answer = worker.send("GET", "/api/v1/live", &[("Authorization", &bearer), ("Upgrade", "websocket")], "");
    assert_eq!((answer.status, answer.header("retry-after")), (503, Some("30")), "{}", answer.body);
    let problem = answer.json();
    assert_eq!(problem["type"], "urn:systole:problem:too-many-sockets");
    assert_eq!(problem["limit"], 50);
    // Another user's hub is not affected.
    assert!(worker.live("/api/v1/live", Some(VIEWER_TOKEN), None, 5 * SECOND).is_ok());
    // A socket that closes makes room.
    let mut one = open.pop().unwrap();
    one.0.close(None).unwrap();
    while one.0.read().is_ok() {}
    let again = worker.wait_for("room on the hub", 10 * SECOND, || idle(&worker).ok());
    drop(again);
}

#[test]
fn only_our_own_pages_may_open_a_socket() {
    let worker = spawn_worker();
    let auth = format!("Bearer {VIEWER_TOKEN}");
    for path in ["/api/v1/live", "/status/live"] {
        for origin in ["https://evil.example", "null", "http://127.0.0.1:1"] {
            let (status, body) =
                refused(worker.live_with(path, &[("Authorization", &auth), ("Origin", origin)], 5 * SECOND));
            assert_eq!(status, 403, "{path} from {origin}: {body}");
            // The same upgrade over plain HTTP, to read the answer's body.
            let headers = [("Authorization", auth.as_str()), ("Origin", origin), ("Upgrade", "websocket")];
            let answer = worker.send("GET", path, &headers, "");
            assert_eq!((answer.status, answer.content_type.as_str()), (403, "application/problem+json"));
            assert!(answer.body.contains("allowedOrigins"), "{}", answer.body);
        }
        // The deployment's own page, and clients that send no Origin (scripts), may.
        let own = worker.base.clone();
        assert!(worker.live_with(path, &[("Authorization", &auth), ("Origin", &own)], 5 * SECOND).is_ok(), "{path}");
        assert!(worker.live_with(path, &[("Authorization", &auth)], 5 * SECOND).is_ok(), "{path}");
    }
}

#[test]
fn a_big_message_closes_with_1009_a_burst_with_1008_and_chatter_is_ignored() {
    let worker = spawn_worker();
    let mut big = idle(&worker).unwrap();
    big.send(&"x".repeat(MAX_MESSAGE_BYTES + 1));
    assert_eq!(big.close_code(), Some(1009));

    let mut burst = idle(&worker).unwrap();
    for _ in 0..=MESSAGES_PER_WINDOW {
        burst.send("hello");
    }
    assert_eq!(burst.close_code(), Some(1008));

    // Fewer messages than the rate are ignored, and the socket stays: a ping still answers.
    let mut chatty = idle(&worker).unwrap();
    for _ in 0..5 {
        chatty.send("hello");
    }
    chatty.send(" ping");
    assert!(chatty.pong(), "the socket survived the chatter");
}

/// The hubs' SQLite files (database and write-ahead log; not the shared-memory index) and
/// their contents: any write that changes what is stored changes them (checked: a hub that
/// saved a per-message counter, as it did before, fails the test below).
fn hub_storage(state: &Path) -> BTreeMap<String, Vec<u8>> {
    let dir = state.join("v3/do/systole-NotificationHub");
    fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sqlite" || x == "sqlite-wal"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn client_chatter_never_writes_the_hubs_storage() {
    let worker = spawn_worker();
    let mut vera = worker.live("/api/v1/live", Some(VIEWER_TOKEN), None, 10 * SECOND).unwrap();
    vera.send(" ping");
    assert!(vera.pong());
    let before = hub_storage(worker.state_dir());
    assert!(!before.is_empty(), "the hub has its storage");

    // Chatter and pings the auto-response misses are answered from the socket's attachment.
    for i in 0..10 {
        vera.send(&format!("chatter {i}"));
    }
    vera.send(" ping");
    assert!(vera.pong(), "every message before it was handled");
    assert_eq!(hub_storage(worker.state_dir()), before, "client messages wrote the hubs' storage");
    let stats = worker.get("/api/internal/hub?name=user:vera").json();
    assert_eq!(stats["wakes"], 12, "two pings and ten chatters ran the hub's code: {stats}");

    // The comparison sees a real write: a published update is kept for replay.
    worker.pulse("web-frontend", &json!({"status": "up"}));
    vera.until("web-frontend", "up", 20 * SECOND);
    assert_ne!(hub_storage(worker.state_dir()), before, "a publish writes the hub's storage");
}
