//! The dashboard's benchmarks: live push latency, render time for a page of the fleet against
//! `/healthz`, page weight for 100 services, and how often idle tabs wake their hub.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use systole_e2e::{now_ms, Worker, ADMIN_TOKEN, IDLE_TOKEN};

use super::percentile;

/// Status flips measured for push latency.
const FLIPS: usize = 200;
/// Requests per route for the render ratio.
const RENDERS: usize = 30;
/// Idle sockets (as many as one user's hub holds), how long they idle, and how often each
/// pings.
const IDLE_SOCKETS: usize = systole_core::live::USER_HUB_SOCKETS;
const IDLE_FOR: Duration = Duration::from_secs(60);
const PING_EVERY: Duration = Duration::from_secs(10);
const DAY_MS: i64 = 86_400_000;

/// Every service gets 120 days of daily rollups, a few bad days each, on a pattern that
/// differs from service to service (so gzip cannot fold the bars of one row onto the
/// next): the dashboard then renders (and weighs) what a long-running deployment's would.
fn seed_history(worker: &Worker, services: &[String]) {
    let today = now_ms() / DAY_MS * DAY_MS;
    let ids: Vec<String> = services.iter().map(|s| format!("('{s}')")).collect();
    worker.d1(&format!(
        "WITH RECURSIVE d(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM d WHERE n < 120), s(id) AS (VALUES {}) \
         INSERT OR REPLACE INTO uptime_daily \
         SELECT id, {today} - n * {DAY_MS}, {DAY_MS} - down, 0, 0, down, 1440 FROM \
         (SELECT id, n, CASE (n * 7 + unicode(substr(id, -1)) * 13 + unicode(substr(id, -2, 1)) * 5) % 23 \
          WHEN 0 THEN 3600000 WHEN 5 THEN 700000 WHEN 11 THEN 90000 WHEN 17 THEN (n * 3779 + length(id) * 61) % 86400000 ELSE 0 END AS down \
          FROM d, s)",
        ids.join(", ")
    ));
}

fn gzip(bytes: &[u8]) -> usize {
    let mut child = Command::new("gzip").arg("-9c").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    child.wait_with_output().unwrap().stdout.len()
}

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

/// Runs every dashboard measurement and returns the `docs/benchmarks.md` section.
pub fn run(worker: &Worker, services: &[String]) -> String {
    seed_history(worker, services);

    // Live push latency: a heartbeat that flips `web-flip` between up and down, to the
    // update arriving on an admin tab's WebSocket.
    let mut tab = worker.live("/api/v1/live", Some(ADMIN_TOKEN), None, Duration::from_secs(5)).unwrap();
    let mut push = Vec::new();
    for i in 0..=FLIPS {
        let status = if i % 2 == 0 { "down" } else { "up" };
        let started = Instant::now();
        let answer = worker.beat("web-flip", &json!({"serviceId": "web-flip", "status": status}));
        assert_eq!(answer.status, 200, "{}", answer.body);
        loop {
            let u = tab.update().expect("no live update within 5 s");
            if u["id"] == "web-flip" && u["status"] == status && !u["change"].is_null() {
                break;
            }
        }
        if i > 0 {
            push.push(started.elapsed().as_millis() as i64);
        }
    }
    push.sort_unstable();
    eprintln!("push latency ms: p50 {} p99 {}", percentile(&push, 0.5), percentile(&push, 0.99));

    // Render: page 1 of the fleet for the admin vs the trivial route, sequentially.
    let time = |path: &str, token: &str| {
        (0..RENDERS)
            .map(|_| {
                let t = Instant::now();
                let a = worker.get_as(path, Some(token), None);
                assert_eq!(a.status, 200, "{path}");
                t.elapsed()
            })
            .collect::<Vec<_>>()
    };
    let _ = time("/", ADMIN_TOKEN);
    let healthz = median_ms(time("/healthz", ADMIN_TOKEN));
    let page = median_ms(time("/", ADMIN_TOKEN));
    let fleet = worker.get_as("/", Some(ADMIN_TOKEN), None);
    let rows = fleet.body.matches("<li class=\"row\"").count();

    // Page weight: the `idle` user sees the 100 services of `bench-100`.
    let hundred = worker.get_as("/", Some(IDLE_TOKEN), None);
    assert_eq!(hundred.body.matches("<li class=\"row\"").count(), 100);
    let html_gz = gzip(hundred.body.as_bytes());
    let mut assets = Vec::new();
    for chunk in hundred.body.split('"').filter(|c| c.starts_with("/assets/")) {
        if !assets.iter().any(|(p, _, _): &(String, usize, usize)| p == chunk) {
            let a = worker.get(chunk);
            assert_eq!(a.status, 200, "{chunk}");
            assets.push((chunk.to_owned(), a.body.len(), gzip(a.body.as_bytes())));
        }
    }
    let assets_gz: usize = assets.iter().map(|a| a.2).sum();

    // Idle tabs: a user's hub full (50 sockets), pinging every 10 s for 60 s.
    let hub = |field: &str| worker.get("/api/internal/hub?name=user:idle").json()[field].as_u64().unwrap();
    let mut sockets: Vec<_> = (0..IDLE_SOCKETS)
        .map(|_| worker.live("/api/v1/live", Some(IDLE_TOKEN), None, Duration::from_secs(5)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let (wakes_before, sockets_seen) = (hub("wakes"), hub("sockets"));
    let started = Instant::now();
    let (mut pings, mut pongs) = (0, 0);
    while started.elapsed() < IDLE_FOR {
        for s in &mut sockets {
            s.send("ping");
            pings += 1;
        }
        for s in &mut sockets {
            if let Ok(tungstenite::Message::Text(t)) = s.0.read() {
                pongs += usize::from(t.as_str() == "pong");
            }
        }
        std::thread::sleep(PING_EVERY.saturating_sub(Duration::from_millis(200)));
    }
    let wakes = hub("wakes") - wakes_before;
    drop(sockets);
    eprintln!("idle: {pings} pings, {pongs} pongs, {wakes} wakes");

    format!(
        "
## Dashboard

### Live push latency

From sending a heartbeat that flips `web-flip` between `up` and `down` to the status update
arriving on a dashboard WebSocket (`/api/v1/live`, the admin's NotificationHub): the
ServiceMonitor answers the heartbeat and publishes to the hub without waiting; the hub sends to
every open socket.

| flips | p50 ms | p99 ms | max ms |
| --- | ---: | ---: | ---: |
| {FLIPS} | {p50} | {p99} | {pmax} |

Target: p99 < 100 ms locally.

### Render time

Median of {RENDERS} sequential requests each, every service with 120 days of daily rollups
(seeded into D1: {rollups} rows), as the admin who sees all {fleet_n} services: the dashboard
shows one page of them ({rows} rows: the first 100 services and those that need attention),
with the summary counted by D1 over all. The page gathers the page's states and the rollups of
the window, the counts, status changes and alert history from D1, builds the view models and
renders them with maud. SQLite folds each service's rollups into one JSON array
(`json_group_array`), so 1 row per service crosses into the Worker, not 1 per day.

| route | median ms |
| --- | ---: |
| `GET /healthz` (trivial) | {healthz:.1} |
| `GET /` (page 1 of {fleet_n} services, {rows} rows × 120-day bars) | {page:.1} |

**The dashboard takes {render_ratio:.1}× the trivial route** for {fleet_n} services.

### Page weight, 100 services

`GET /` as a viewer of the 100-service group `bench-100` (120 days of bars each), and every
asset the page loads, gzipped (`gzip -9`; Cloudflare compresses HTML, CSS and JS on the way
out).

| file | bytes | gzipped |
| --- | ---: | ---: |
| the page (HTML) | {html_raw} | {html_gz} |
{asset_rows}
| **total** | | **{total_gz} ({total_kib:.1} KiB; target < 100 KB)** |

### Idle tabs

{IDLE_SOCKETS} WebSockets connected to one hub ({sockets_seen} counted by the hub), each
sending the tab's keep-alive `ping` every {every} s for {idle} s: {pings} pings, {pongs} `pong`
answers. The runtime answers them with the hub's auto-response (`setWebSocketAutoResponse`),
so the hub's code does not run: **{wakes} hub wake-ups** (socket events that ran the
hub's handlers, counted in the sockets' attachments; target 0).
",
        p50 = percentile(&push, 0.5),
        p99 = percentile(&push, 0.99),
        pmax = push.last().copied().unwrap_or_default(),
        rollups = services.len() * 120,
        fleet_n = services.len(),
        render_ratio = page / healthz,
        html_raw = hundred.body.len(),
        asset_rows =
            assets.iter().map(|(p, raw, gz)| format!("| `{p}` | {raw} | {gz} |")).collect::<Vec<_>>().join("\n"),
        total_gz = html_gz + assets_gz,
        total_kib = (html_gz + assets_gz) as f64 / 1024.0,
        every = PING_EVERY.as_secs(),
        idle = IDLE_FOR.as_secs(),
    )
}
