//! `GET /metrics` on the 10,000-service fleet deployment (`target/worker-fleet-10000`, built
//! by `cargo xtask bench --metrics`): D1 seeded with a state row, a newest heartbeat and (for
//! one service in ten, `down`) an open incident per service, then the scrape under the
//! usual load: CPU per scrape, latency and the answer's size.

use systole_e2e::{now_ms, spawn_build, FLEET_10000, METRICS_KEY};

use super::load;

/// Services in the deployment.
const SERVICES: u32 = 10_000;

/// Seeds D1 and measures; answers a markdown section.
pub fn run() -> String {
    let worker = spawn_build(FLEET_10000, &[]);
    let now = now_ms();
    let last = SERVICES - 1;
    worker.d1(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
         INSERT INTO service_state SELECT printf('fleet-%05d', i), CASE WHEN i % 10 = 0 THEN 'down' ELSE 'up' END, \
         {now}, CASE WHEN i % 10 = 0 THEN {now} END, {now} FROM n;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
         INSERT INTO heartbeats (service_id, received_at, seq, status, day_heartbeats) \
         SELECT printf('fleet-%05d', i), {now} - 1000, 7, 'up', 42 FROM n;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 10 FROM n WHERE i < {last} - 10) \
         INSERT INTO incidents (service_id, started_at, ended_at, cause) SELECT printf('fleet-%05d', i), {now}, NULL, 'heartbeat missed' FROM n;"
    ));
    let path = "/metrics";
    let answer = worker.get_as(path, Some(METRICS_KEY), None);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let series = answer.body.lines().filter(|l| !l.starts_with('#')).count();
    let run = load(&worker, "GET /metrics (10,000 services)", &|_| {
        worker.get_as(path, Some(METRICS_KEY), None).status == 200
    });
    format!(
        "
## `GET /metrics` on 10,000 services

The 10,000-service fleet deployment with every service's state, newest heartbeat and (one in
ten) open incident in D1; one scrape answers {series} series in {bytes} bytes, from one D1
batch.

| request | req/s | p50 ms | p99 ms | CPU ms/req | requests | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{row}
",
        bytes = answer.body.len(),
        row = run.row("GET /metrics, 10,000 services"),
    )
}
