//! A local HTTP receiver standing in for every channel's API: it records each request
//! (method, path, headers, body, arrival time) and answers with scripted statuses.

use std::collections::{BTreeMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request received.
#[derive(Clone, Debug)]
pub struct Received {
    /// HTTP method.
    pub method: String,
    /// Path and query, e.g. `/telegram/bot123/sendMessage`.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// The body as text.
    pub body: String,
    /// Arrival, epoch ms.
    pub at_ms: i64,
    /// The status it was answered with.
    pub answered: u16,
}

impl Received {
    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{} body is not JSON ({e}): {}", self.path, self.body))
    }

    /// The first path segment: the channel name the test config routes there.
    pub fn channel(&self) -> &str {
        self.path.trim_start_matches('/').split('/').next().unwrap_or_default()
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Scripted statuses per channel (first path segment), used up in order; then 200.
    script: BTreeMap<String, VecDeque<u16>>,
    /// Scripted delays before answering, per channel, used up in order; then none.
    holds: BTreeMap<String, VecDeque<Duration>>,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    /// Its port on 127.0.0.1.
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
    server: Arc<tiny_http::Server>,
}

impl Receiver {
    /// Starts on a port the kernel picks (bound at once, so no other test can take it first).
    pub fn start() -> Self {
        Self::serve(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    fn serve(listener: TcpListener) -> Self {
        let port = listener.local_addr().unwrap().port();
        let server = Arc::new(tiny_http::Server::from_listener(listener, None).unwrap());
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (s, sh) = (server.clone(), shared.clone());
        thread::spawn(move || {
            for mut req in s.incoming_requests() {
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                let headers = req
                    .headers()
                    .iter()
                    .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_owned()))
                    .collect();
                let path = req.url().to_owned();
                let channel = path.trim_start_matches('/').split('/').next().unwrap_or_default().to_owned();
                let (status, hold) = {
                    let mut g = sh.lock().unwrap();
                    let status = g.script.get_mut(&channel).and_then(VecDeque::pop_front).unwrap_or(200);
                    let hold = g.holds.get_mut(&channel).and_then(VecDeque::pop_front).unwrap_or_default();
                    g.received.push(Received {
                        method: req.method().as_str().to_owned(),
                        path,
                        headers,
                        body,
                        at_ms: crate::now_ms(),
                        answered: status,
                    });
                    (status, hold)
                };
                // Each request answered on its own thread: a hold delays only that one.
                thread::spawn(move || {
                    thread::sleep(hold);
                    let _ = req.respond(tiny_http::Response::from_string("{}").with_status_code(status));
                });
            }
        });
        Self { port, shared, server }
    }

    /// The URL of `channel`'s endpoint here.
    pub fn url(&self, channel: &str) -> String {
        format!("http://127.0.0.1:{}/{channel}", self.port)
    }

    /// Answers `channel`'s next requests with these statuses (then 200).
    pub fn script(&self, channel: &str, statuses: &[u16]) {
        self.shared.lock().unwrap().script.insert(channel.to_owned(), statuses.iter().copied().collect());
    }

    /// Keeps `channel`'s next requests waiting this long each before answering (then none);
    /// requests arriving meanwhile are answered without waiting for it (a receiver that hangs
    /// on one request, not a stopped one).
    pub fn hold(&self, channel: &str, delays: &[Duration]) {
        self.shared.lock().unwrap().holds.insert(channel.to_owned(), delays.iter().copied().collect());
    }

    /// Everything `channel` received so far.
    pub fn of(&self, channel: &str) -> Vec<Received> {
        self.shared.lock().unwrap().received.iter().filter(|r| r.channel() == channel).cloned().collect()
    }

    /// Waits until `channel` has received at least `n` requests; returns them all.
    pub fn wait(&self, channel: &str, n: usize, timeout: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.of(channel);
            if got.len() >= n {
                return got;
            }
            assert!(started.elapsed() < timeout, "{channel}: {} of {n} requests after {timeout:?}", got.len());
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A port held for a receiver that is not there yet: bound but not listening, so
/// connections to it are refused, and no other process can take it meanwhile.
#[derive(Debug)]
pub struct Refusing(socket2::Socket);

impl Refusing {
    /// Binds a port the kernel picks on 127.0.0.1 without listening on it.
    pub fn new() -> Self {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into()).unwrap();
        Self(socket)
    }

    /// The held port.
    pub fn port(&self) -> u16 {
        self.0.local_addr().unwrap().as_socket().unwrap().port()
    }

    /// Starts listening: the receiver is back on the same port.
    pub fn listen(self) -> Receiver {
        self.0.listen(128).unwrap();
        Receiver::serve(self.0.into())
    }
}

impl Default for Refusing {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").field("port", &self.port).finish()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
    }
}
