//! `cargo xtask bench --profile`: where the runtime's JavaScript thread spends its time under
//! a heartbeat load, from V8's sampling CPU profiler over the Worker's inspector (the Chrome
//! DevTools protocol behind wrangler's `--inspector-port`). Wasm functions keep their Rust
//! names (the names section), so the report reads as a Rust profile; time outside the isolate
//! (workerd's HTTP, SQLite, wrangler's proxy) shows as `(program)` or not at all. Each
//! profile is also written whole to `target/profile/<load>.cpuprofile` (Chrome DevTools'
//! Performance panel opens it).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::net::TcpStream;
use std::time::Instant;

use serde_json::{json, Value};
use systole_e2e::Worker;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// Requested sampling interval, µs.
const INTERVAL_US: u64 = 100;
/// Functions listed per table.
const TOP: usize = 30;

/// A running profile of one Worker's isolate.
pub struct Profiler {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    id: u64,
    started: Instant,
}

impl Profiler {
    /// Connects to `worker`'s inspector and starts sampling.
    pub fn start(worker: &Worker) -> Profiler {
        let url = format!("ws://127.0.0.1:{}/ws", worker.inspector_port());
        let (ws, _) = tungstenite::connect(url).unwrap();
        let mut p = Profiler { ws, id: 0, started: Instant::now() };
        p.call("Profiler.enable", json!({}));
        p.call("Profiler.setSamplingInterval", json!({ "interval": INTERVAL_US }));
        p.call("Profiler.start", json!({}));
        p.started = Instant::now();
        p
    }

    /// Sends one command and answers its result, skipping the events in between.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        let id = self.id;
        self.ws.send(Message::text(json!({ "id": id, "method": method, "params": params }).to_string())).unwrap();
        loop {
            let Message::Text(text) = self.ws.read().unwrap() else { continue };
            let answer: Value = serde_json::from_str(text.as_str()).unwrap();
            if answer["id"] == id {
                assert!(answer["error"].is_null(), "{method}: {}", answer["error"]);
                return answer["result"].clone();
            }
        }
    }

    /// Stops sampling; the report of the profile, with times per request for `requests`
    /// requests per second over the profiled time.
    pub fn stop(mut self, title: &str, per_second: f64) -> String {
        let wall = self.started.elapsed().as_secs_f64();
        let profile = self.call("Profiler.stop", json!({}))["profile"].clone();
        let _ = self.ws.close(None);
        // The whole profile too, for Chrome DevTools' Performance panel.
        let dir = systole_e2e::root().join("target/profile");
        let file: String = title.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let path = dir.join(format!("{file}.cpuprofile"));
        if fs::create_dir_all(&dir).and_then(|()| fs::write(&path, profile.to_string())).is_ok() {
            println!("profile: written to {}", path.display());
        }
        report(title, &profile, per_second * wall)
    }
}

/// Self and total time per function (a function's name, or its script and line when it
/// has none), as a share of the sampled non-idle time and in µs per request.
fn report(title: &str, profile: &Value, requests: f64) -> String {
    let empty = Vec::new();
    let nodes = profile["nodes"].as_array().unwrap_or(&empty);
    let mut name = HashMap::new();
    let mut parent = HashMap::new();
    for node in nodes {
        let id = node["id"].as_u64().unwrap_or(0);
        let frame = &node["callFrame"];
        let function = frame["functionName"].as_str().unwrap_or("");
        let key = if function.is_empty() {
            let url = frame["url"].as_str().unwrap_or("");
            let script = url.rsplit('/').next().unwrap_or(url);
            format!("(anonymous) {script}:{}", frame["lineNumber"].as_i64().unwrap_or(-1) + 1)
        } else {
            function.to_owned()
        };
        name.insert(id, key);
        for child in node["children"].as_array().unwrap_or(&empty) {
            parent.insert(child.as_u64().unwrap_or(0), id);
        }
    }
    let samples: Vec<u64> = profile["samples"].as_array().unwrap_or(&empty).iter().filter_map(Value::as_u64).collect();
    let deltas: Vec<f64> =
        profile["timeDeltas"].as_array().unwrap_or(&empty).iter().filter_map(Value::as_f64).collect();
    let (mut own, mut total) = (HashMap::<&str, f64>::new(), HashMap::<&str, f64>::new());
    let mut busy = 0.0;
    for (i, sample) in samples.iter().enumerate() {
        // A sample stands for the time until the next one.
        let us = deltas.get(i + 1).copied().unwrap_or(INTERVAL_US as f64);
        let leaf = name.get(sample).map_or("?", String::as_str);
        if leaf == "(idle)" {
            continue;
        }
        busy += us;
        *own.entry(leaf).or_default() += us;
        let mut seen = HashSet::new();
        let mut at = Some(*sample);
        while let Some(id) = at {
            let key = name.get(&id).map_or("?", String::as_str);
            if seen.insert(key) {
                *total.entry(key).or_default() += us;
            }
            at = parent.get(&id).copied();
        }
    }
    let table = |map: &HashMap<&str, f64>| {
        let mut rows: Vec<(&str, f64)> = map.iter().map(|(k, v)| (*k, *v)).collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1));
        rows.iter()
            .take(TOP)
            .map(|(k, us)| format!("  {:5.1} % {:7.1} µs/req  {k}\n", 100.0 * us / busy, us / requests.max(1.0)))
            .collect::<String>()
    };
    format!(
        "profile: {title}: {:.0} µs/req of JavaScript thread time (not idle), {:.0} requests\n\
         self:\n{}total:\n{}",
        busy / requests.max(1.0),
        requests,
        table(&own),
        table(&total)
    )
}
