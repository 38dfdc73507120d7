//! Rows written per heartbeat in each store, under load and sparse, from the ServiceMonitors'
//! own counters.

use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::{key, Worker};

use super::{load, load_services, stats, wait_warm, MEASURE, SERVICES};

/// Runs a heartbeat load in steady state and a sparse stream; answers the section.
pub fn run(worker: &Worker) -> String {
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
    let alarms = added("alarmsSet");
    let d1 = added("d1RowsWritten");
    let flushes = added("flushes");

    // Sparse traffic: one heartbeat per flush interval, the worst case for batching.
    let sparse = "load-00";
    let before = stats(worker, sparse);
    for _ in 0..3 {
        worker.beat(sparse, &json!({"serviceId": sparse}));
        wait_warm(worker, &[sparse.to_owned()], Duration::from_secs(11));
    }
    let after = stats(worker, sparse);
    let delta = |f: &str| after[f].as_f64().unwrap() - before[f].as_f64().unwrap();
    let sparse_beats = delta("heartbeats");
    let sparse_d1 = delta("d1RowsWritten") / sparse_beats;
    let sparse_do = (delta("storageRowsWritten") + delta("alarmsSet")) / sparse_beats;
    format!(
        "## Rows written per heartbeat

Counted by each ServiceMonitor: D1 `meta.rows_written` of its flush batches, its SQLite
cursors' `rowsWritten`, and its `setAlarm` calls (each a billed row write). Steady state: every
service got a first heartbeat and flushed before counting (one-off writes: the first status
change, rollups and state row), and the sums cover the measured heartbeat load and its flushes.

| traffic | heartbeats | DO storage rows + alarms per heartbeat | D1 rows per heartbeat |
| --- | ---: | ---: | ---: |
| load, {SERVICES} services ({flushes:.0} flushes) | {heartbeats:.0} | {do_per_beat:.3} ({storage:.0} rows + {alarms:.0} alarms) | {d1_per_beat:.3} |
| sparse: one heartbeat per flush interval | {sparse_beats:.0} | {sparse_do:.2} | {sparse_d1:.2} |

Targets: ≤ 1 each, amortized. Each heartbeat is one SQLite row write in its Durable Object (the
buffered events live in the state row) and one D1 row; under traffic the alarm is set once per
flush interval, and rollups plus `service_state` are written only on a status change or when a
5-minute bucket closes (3 rows per service per 5 minutes). A sparse heartbeat costs its own
rows plus an alarm for the flush; the next deadline's alarm is left in place when it is later.
A {measure} s load also pays each service's start and stop (the first flush alarm, then one
planned wake that finds nothing and the deadline): about four alarms per service here, where a
long steady stream sets one per flush interval.

",
        measure = MEASURE.as_secs(),
        do_per_beat = (storage + alarms) / heartbeats,
        d1_per_beat = d1 / heartbeats,
    )
}
