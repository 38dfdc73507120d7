//! Rows written per heartbeat in each store, under load, sparse and at buffer depths 1, 100
//! and 1,000, from the ServiceMonitors' own counters.

use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use systole_e2e::outage::D1Outage;
use systole_e2e::{key, Worker};

use super::{load, load_services, stats, wait_warm, MEASURE, SERVICES};

/// Heartbeats of the sparse stream, each followed by 11 s (past the 10 s flush interval).
const SPARSE_BEATS: usize = 6;

/// What a heartbeat flushed alone costs (one per flush interval or rarer).
#[derive(Clone, Copy, Debug)]
pub struct Sparse {
    /// Durable Object storage rows + alarms set, per heartbeat.
    pub do_rows: f64,
    /// D1 rows per heartbeat.
    pub d1_rows: f64,
    /// Durable Object requests per heartbeat: the heartbeat and the alarm invocations.
    pub do_requests: f64,
}

/// Runs a heartbeat load in steady state and a sparse stream; answers the section and the
/// sparse figures.
pub fn run(worker: &Worker) -> (String, Sparse) {
    let services = load_services();
    let bodies: Vec<String> =
        services.iter().map(|s| json!({"serviceId": s, "message": "bench"}).to_string()).collect();
    let keys: Vec<String> = services.iter().map(|s| key(s)).collect();
    // Prime every service (its first status change, rollups and state row are one-off
    // writes), let it flush, and count only what the measured load adds: steady state.
    for (k, b) in keys.iter().zip(&bodies) {
        assert_eq!(worker.request("POST", "/api/heartbeat", Some(k), b).status, 200);
    }
    wait_warm(worker, &services, Duration::from_secs(12));
    let before: Vec<Value> = services.iter().map(|s| stats(worker, s)).collect();
    load(worker, "POST /api/heartbeat (rows)", &|n| {
        let i = n % SERVICES;
        worker.request("POST", "/api/heartbeat", Some(&keys[i]), &bodies[i]).status == 200
    });
    // Let every object flush what the load left (up to two 10 s intervals), then count.
    wait_warm(worker, &services, Duration::from_secs(21));
    let after: Vec<Value> = services.iter().map(|s| stats(worker, s)).collect();
    let added = |field: &str| -> f64 {
        after.iter().zip(&before).map(|(a, b)| a[field].as_f64().unwrap() - b[field].as_f64().unwrap()).sum()
    };
    let heartbeats = added("heartbeats");
    let storage = added("storageRowsWritten");
    let bytes = added("storageBytesWritten");
    let states = added("stateWrites");
    let alarms = added("alarmsSet");
    let d1 = added("d1RowsWritten");
    let flushes = added("flushes");

    // Sparse traffic: one heartbeat per flush interval, the worst case for batching; long
    // enough that its first heartbeat's alarm (moved from the load's) weighs little.
    let sparse = "load-00";
    let before = stats(worker, sparse);
    for _ in 0..SPARSE_BEATS {
        worker.beat(sparse, &json!({"serviceId": sparse}));
        wait_warm(worker, &[sparse.to_owned()], Duration::from_secs(11));
    }
    let after = stats(worker, sparse);
    let delta = |f: &str| after[f].as_f64().unwrap() - before[f].as_f64().unwrap();
    let sparse_beats = delta("heartbeats");
    let sparse_d1 = delta("d1RowsWritten") / sparse_beats;
    let sparse_do = (delta("storageRowsWritten") + delta("alarmsSet")) / sparse_beats;
    let sparse_posts = delta("livePosts") / sparse_beats;
    let sparse_requests = (delta("heartbeatRequests") + delta("alarmsFired") + delta("livePosts")) / sparse_beats;
    let depth = depths(worker);
    let doc = format!(
        "## Rows written per heartbeat

Counted by each ServiceMonitor: D1 `meta.rows_written` of its flush batches, its SQLite
cursors' `rowsWritten`, and its `setAlarm` calls (each a billed row write). Steady state: every
service got a first heartbeat and flushed before counting (one-off writes: the first status
change, rollups and state row), and the sums cover the measured heartbeat load and its flushes.

| traffic | heartbeats | DO storage rows + alarms per heartbeat | DO bytes per heartbeat | D1 rows per heartbeat |
| --- | ---: | ---: | ---: | ---: |
| load, {SERVICES} services ({flushes:.0} flushes) | {heartbeats:.0} | {do_per_beat:.3} ({storage:.0} rows, {states:.0} of them state rows, + {alarms:.0} alarms) | {bytes_per_beat:.0} | {d1_per_beat:.3} |
| sparse: one heartbeat per flush interval | {sparse_beats:.0} | {sparse_do:.2} ({sparse_requests:.2} DO requests per heartbeat) | | {sparse_d1:.2} |

Targets: ≤ 1 each, amortized. Under load each heartbeat is one SQLite row write in its
Durable Object (its own event row in a ring of 2,048 slots, upserted, never deleted, which also
carries the flushed position) and one D1 row (in D1 too a ring per service: the row reuses the
service's oldest one out of its newest 1,000, one `UPDATE`, so it is never deleted later). The
object's state row is rewritten only when something besides the last heartbeat changes (a
status change, a notification, a flush of 200+ heartbeats or of rollups); under traffic the
alarm is set once per flush interval (an earlier alarm is left in place when the deadline moves
later), and the daily rollups plus `service_state` are written only on a status change and at
the first flush of a UTC day (2 rows per service a day; see the cost table). A {measure} s load
also pays each service's start and stop (the first flush alarm, then one planned wake that
finds nothing and the deadline): about four alarms per service here, where a long steady
stream sets one per flush interval.

A sparse heartbeat (nothing buffered, the last flush at least a flush interval ago: the normal
case of a service beating every 60 s) is written through: the object writes it to D1 before
answering, stores no event row and sets no flush alarm; its one Durable Object write is the
alarm moved to its new deadline (measured on {sparse_beats:.0} heartbeats 11 s apart). Its
Durable Object requests are itself and {sparse_posts:.2} live-update posts to NotificationHubs:
one to each hub of a reader who sees the service (this config's users and the public page),
which a hub that last reported no open tab still gets at most every 10 s (`IDLE_EVERY`), so
that a tab opened meanwhile sees last-seen times move. Should D1 fail, it is stored as an event row before
the answer and flushed later, as under load. The state row then lags: it is rewritten once per
64 written-through heartbeats (a further 1/64 write each in a longer stream than this one), or
when a heartbeat is buffered after them (so the load above starts each service with a
written-through heartbeat, then one state row write), and an object loaded afresh reads the
heartbeats written through after it back from D1 (one query per load).

{depth}",
        measure = MEASURE.as_secs(),
        do_per_beat = (storage + alarms) / heartbeats,
        bytes_per_beat = bytes / heartbeats,
        d1_per_beat = d1 / heartbeats,
    );
    (doc, Sparse { do_rows: sparse_do, d1_rows: sparse_d1, do_requests: sparse_requests })
}

/// Heartbeats per buffer depth window.
const WINDOW: usize = 10;

/// The cost of a heartbeat at buffer depths 1, 100 and 1,000: D1 refuses writes (a lock on
/// its file), so `load-49`'s heartbeats stay buffered in its object; `WINDOW` heartbeats
/// starting at each depth are counted. Sent within the service's rate limit (a burst of 300,
/// then 10 per second). Then D1 comes back and the backlog's flush is counted.
fn depths(worker: &Worker) -> String {
    let service = "load-49".to_owned();
    let body = json!({"serviceId": service, "message": "bench depth"}).to_string();
    let k = key(&service);
    let outage = D1Outage::begin(worker.state_dir());
    let start = Instant::now();
    let mut rows = String::new();
    let mut sent = 0usize;
    let beat = |sent: &mut usize| {
        // Past the burst, one per 110 ms keeps under 10 per second.
        if *sent >= 290 {
            thread::sleep(Duration::from_millis(110));
        }
        let answer = worker.request("POST", "/api/heartbeat", Some(&k), &body);
        assert_eq!(answer.status, 200, "heartbeat {} at depth: {}", *sent + 1, answer.body);
        *sent += 1;
    };
    let before_all = stats(worker, &service);
    let mut event = 0u64;
    for depth in [1usize, 100, 1_000] {
        while sent + 1 < depth {
            beat(&mut sent);
        }
        let before = stats(worker, &service);
        for _ in 0..WINDOW {
            beat(&mut sent);
        }
        let after = stats(worker, &service);
        let delta = |f: &str| (after[f].as_f64().unwrap() - before[f].as_f64().unwrap()) / WINDOW as f64;
        if depth == 1 {
            // The event's JSON: what the bytes of an event row are beyond its three integers.
            event = (delta("storageBytesWritten") as u64).saturating_sub(24);
        }
        rows += &format!(
            "| {depth} | {:.2} | {:.0} | {:.2} | {:.2} |\n",
            delta("storageRowsWritten"),
            delta("storageBytesWritten"),
            delta("stateWrites"),
            delta("alarmsSet"),
        );
    }
    let buffered = sent;
    let took = start.elapsed().as_secs();
    outage.end();
    // The failed flushes back off (up to 60 s): wait for the backlog to reach D1.
    let mut waited = Duration::ZERO;
    let drained = loop {
        let now = stats(worker, &service);
        if now["flushes"].as_f64().unwrap() > before_all["flushes"].as_f64().unwrap()
            || waited > Duration::from_secs(120)
        {
            break now;
        }
        wait_warm(worker, std::slice::from_ref(&service), Duration::from_secs(2));
        waited += Duration::from_secs(2);
    };
    let d1 = drained["d1RowsWritten"].as_f64().unwrap() - before_all["d1RowsWritten"].as_f64().unwrap();
    format!(
        "### Per heartbeat at buffer depths 1, 100 and 1,000

D1 refusing writes (an exclusive lock on its local SQLite file), `load-49` beat {buffered} times
in {took} s (within its rate limit: a burst of 300, then 10 per second), so every heartbeat
stayed buffered in its Durable Object; {WINDOW} heartbeats starting at each depth were counted.
A heartbeat writes its own event row whatever the buffer holds: the rows and bytes are flat.
Before this layout each heartbeat rewrote the one JSON row holding every buffered event, so its
bytes grew with the buffer: at depth 1,000 about 1,000 × {event} bytes ≈ {event} KB per
heartbeat for these small heartbeats. Alarms here are the flush alarm the first heartbeat sets
and the retries of the failing flush.

| buffer depth | DO rows per heartbeat | DO bytes per heartbeat | state row writes per heartbeat | alarms per heartbeat |
| --- | ---: | ---: | ---: | ---: |
{rows}
When D1 came back, the backlog was flushed: {d1:.0} D1 rows for {buffered} heartbeats ({per:.3} per
heartbeat, the rest being the first status change, rollups and `service_state`).

",
        per = d1 / buffered as f64,
    )
}
