//! CloudLine's telemetry on the real Worker: heartbeats' metrics become tiles and API values,
//! the ServiceMonitor's flush writes 5-minute and daily rollups once a bucket closes, charts
//! past raw retention answer from rollups, the cron prunes old rollups and error groups, error
//! reports are grouped and counted, and each service carries a reliability label.
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::{key, ms, now_ms, spawn_worker};

const DAY: i64 = 86_400_000;
const FIVE_MIN: i64 = 300_000;

fn rfc3339(ms: i64) -> String {
    systole_core::time::Timestamp::from_millis(ms).to_rfc3339()
}

#[test]
fn metrics_become_tiles_and_api_values_and_a_ninety_day_chart_answers_from_daily_rollups() {
    let worker = spawn_worker();
    let service = "reporter";
    let first = worker.pulse(service, &json!({"metrics": {"latency_ms": 12.5, "cpu_percent": 40, "queue_depth": 3}}));
    let first_at = ms(&first["receivedAt"]);
    worker.pulse(service, &json!({"metrics": {"latency_ms": 30, "cpu_percent": 60, "heap_bytes": 1_572_864}}));
    let listed = worker.wait_for("both heartbeats in D1", Duration::from_secs(20), || {
        let answer = worker.get(&format!("/api/v1/services/{service}/metrics")).json();
        (answer["metrics"].as_array().unwrap().len() == 4).then_some(answer)
    });
    let by_name =
        |name: &str| listed["metrics"].as_array().unwrap().iter().find(|m| m["name"] == name).unwrap().clone();
    assert_eq!((by_name("latency_ms")["latest"].as_f64(), &by_name("latency_ms")["unit"]), (Some(30.0), &json!("ms")));
    assert_eq!((by_name("cpu_percent")["latest"].as_f64(), &by_name("cpu_percent")["unit"]), (Some(60.0), &json!("%")));
    assert_eq!((by_name("queue_depth")["latest"].as_f64(), &by_name("queue_depth")["unit"]), (Some(3.0), &Value::Null));
    assert_eq!(by_name("heap_bytes")["unit"], "bytes");

    // Inside raw retention: one point per heartbeat.
    let raw = worker.get(&format!("/api/v1/services/{service}/metrics/latency_ms?from={}", rfc3339(first_at))).json();
    assert_eq!(raw["resolution"], "raw", "{raw}");
    let values: Vec<f64> = raw["points"].as_array().unwrap().iter().map(|p| p["avg"].as_f64().unwrap()).collect();
    assert_eq!(values, [12.5, 30.0]);

    // Raw heartbeats of 40 days ago are gone; daily rollups of them remain (as the flush
    // writes them: count, sum, min, max). A 90-day chart answers from them, and its last
    // point is today's, computed from the raw heartbeats not rolled up yet.
    let now = now_ms();
    let (d40, d60, d100) = ((now / DAY - 40) * DAY, (now / DAY - 60) * DAY, (now / DAY - 100) * DAY);
    worker.d1(&format!(
        "INSERT INTO metric_rollups VALUES ('{service}', 'latency_ms', {DAY}, {d60}, 4, 100, 10, 40), \
         ('{service}', 'latency_ms', {DAY}, {d40}, 2, 50, 20, 30), ('{service}', 'latency_ms', {DAY}, {d100}, 1, 7, 7, 7), \
         ('{service}', 'cpu_percent', {DAY}, {d40}, 1, 99, 99, 99)"
    ));
    let long = worker.get(&format!("/api/v1/services/{service}/metrics/latency_ms?range=90d")).json();
    assert_eq!(long["resolution"], "1d", "{long}");
    let points: Vec<(i64, f64, f64, f64, u64)> = long["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let f = |k: &str| p[k].as_f64().unwrap();
            (p["t"].as_i64().unwrap(), f("min"), f("avg"), f("max"), p["count"].as_u64().unwrap())
        })
        .collect();
    let today = first_at / DAY * DAY;
    assert_eq!(
        points,
        [(d60, 10.0, 25.0, 40.0, 4), (d40, 20.0, 25.0, 30.0, 2), (today, 12.5, 21.25, 30.0, 2)],
        "{long}"
    );
    // Between 14 days and raw retention: 5-minute rollups (none stored here: the open
    // buckets from the raw heartbeats).
    let week = worker.get(&format!("/api/v1/services/{service}/metrics/latency_ms?range=7d")).json();
    assert_eq!(week["resolution"], "5m", "{week}");

    // The service page: a tile per metric with its unit and a sparkline, a chart per metric.
    let page = worker.get(&format!("/services/{service}?range=90d")).body;
    for tile in ["data-metric=\"latency_ms\"", "30 ms", "60 %", "1.5 MiB", "class=\"spark\""] {
        assert!(page.contains(tile), "{tile} missing:\n{page}");
    }
    assert!(page.contains("latency_ms: 2 recent values from 12.5 ms to 30 ms"), "{page}");
    assert!(page.contains("data-resolution=\"1d\""), "{page}");
    assert!(page.contains("Reliability (30 days)"), "{page}");

    // Bad windows and names are 400 problems naming the field.
    for (query, field) in [("range=1y", "range"), ("from=yesterday", "from")] {
        let bad = worker.get(&format!("/api/v1/services/{service}/metrics/latency_ms?{query}"));
        assert_eq!(bad.status, 400, "{}", bad.body);
        assert_eq!(bad.header("content-type"), Some("application/problem+json"));
        assert_eq!(bad.json()["field"], field);
    }
    assert_eq!(worker.get("/api/v1/services/nope/metrics").status, 404);

    // The cron prunes 5-minute rollups after 14 days and daily ones after 400.
    let (old5, d500) = (now - 20 * DAY, (now / DAY - 500) * DAY);
    worker.d1(&format!(
        "INSERT INTO metric_rollups VALUES ('{service}', 'latency_ms', {FIVE_MIN}, {}, 1, 1, 1, 1), \
         ('{service}', 'latency_ms', {FIVE_MIN}, {}, 1, 1, 1, 1), ('{service}', 'latency_ms', {DAY}, {d500}, 1, 1, 1, 1)",
        old5 / FIVE_MIN * FIVE_MIN,
        (now - DAY) / FIVE_MIN * FIVE_MIN
    ));
    assert_eq!(worker.get("/__scheduled?cron=17+*+*+*+*").status, 200);
    // The heartbeats' own bucket is left out: if it closed during the test, the object's
    // flush has written its 5-minute rollup, as it should.
    let kept = worker.d1(&format!(
        "SELECT width_ms, bucket_start FROM metric_rollups WHERE service_id = '{service}' \
         AND metric = 'latency_ms' AND NOT (width_ms = {FIVE_MIN} AND bucket_start >= {}) \
         ORDER BY width_ms, bucket_start",
        first_at / FIVE_MIN * FIVE_MIN
    ));
    let kept: Vec<(i64, i64)> =
        kept.iter().map(|r| (r["width_ms"].as_i64().unwrap(), r["bucket_start"].as_i64().unwrap())).collect();
    assert_eq!(kept, [(FIVE_MIN, (now - DAY) / FIVE_MIN * FIVE_MIN), (DAY, d100), (DAY, d60), (DAY, d40)]);
}

#[test]
fn the_flush_writes_each_closed_five_minute_bucket_once_with_count_sum_min_max() {
    let worker = spawn_worker();
    let service = "guarded";
    let beats: Vec<(i64, f64)> = [10.0, 30.0, 20.0]
        .iter()
        .map(|v| (ms(&worker.pulse(service, &json!({"metrics": {"latency_ms": v}}))["receivedAt"]), *v))
        .collect();
    let bucket = beats[0].0 / FIVE_MIN * FIVE_MIN;
    // The three may straddle a bucket boundary: only those in the first bucket count there.
    let inside: Vec<f64> = beats.iter().filter(|(t, _)| *t < bucket + FIVE_MIN).map(|(_, v)| *v).collect();
    let sql = format!(
        "SELECT count, sum, min, max FROM metric_rollups WHERE service_id = '{service}' \
         AND width_ms = {FIVE_MIN} AND bucket_start = {bucket}"
    );
    // Written by the flush the object arms for the bucket's end (no heartbeat needed).
    let wait =
        Duration::from_millis(u64::try_from(bucket + FIVE_MIN - now_ms()).unwrap_or(0)) + Duration::from_secs(30);
    let rows = worker.wait_for("the closed bucket in D1", wait, || {
        let rows = worker.d1(&sql);
        (!rows.is_empty()).then_some(rows)
    });
    let row = &rows[0];
    let expected = json!({
        "count": inside.len(),
        "sum": inside.iter().sum::<f64>(),
        "min": inside.iter().copied().fold(f64::INFINITY, f64::min),
        "max": inside.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    });
    let as_f64 = |v: &Value, k: &str| v[k].as_f64().unwrap();
    for k in ["count", "sum", "min", "max"] {
        assert_eq!(as_f64(row, k), as_f64(&expected, k), "{k}: {row} vs {expected}");
    }
    // Written once: a later flush (another heartbeat) leaves it as it is, and a heartbeat
    // with metrics still costs one D1 row (its open buckets wait in the object).
    let written =
        || worker.get(&format!("/api/internal/stats?serviceId={service}")).json()["d1RowsWritten"].as_u64().unwrap();
    let before = written();
    worker.pulse(service, &json!({"metrics": {"latency_ms": 1000, "cpu_percent": 5}}));
    thread::sleep(Duration::from_secs(3));
    assert_eq!(worker.d1(&sql), rows);
    assert_eq!(written() - before, 1, "one row for the heartbeat, none for its metrics");
    // A 7-day chart reads it as a 5-minute point.
    let week = worker.get(&format!("/api/v1/services/{service}/metrics/latency_ms?range=7d")).json();
    assert_eq!(week["resolution"], "5m");
    assert_eq!(week["points"][0]["t"].as_i64(), Some(bucket), "{week}");
    assert_eq!(week["points"][0]["count"], row["count"], "{week}");
}

#[test]
fn error_reports_are_grouped_by_fingerprint_counted_and_refused_without_the_key() {
    let worker = spawn_worker();
    let service = "guarded";
    let path = format!("/api/v1/services/{service}/errors");
    let post = |body: &Value| worker.request("POST", &path, Some(&key(service)), &body.to_string());
    let first = post(&json!({"message": "db timeout", "stack": "at query (db.rs:10)"}));
    assert_eq!(first.status, 201, "{}", first.body);
    let group = &first.json()["group"];
    assert_eq!((group["count"].as_u64(), group["fingerprint"].as_str().map(str::len)), (Some(1), Some(16)));
    let second = post(&json!({"message": "db timeout"}));
    assert_eq!(second.json()["group"]["count"], 2, "the same message, the same group");
    assert_eq!(second.json()["group"]["firstSeen"], group["firstSeen"]);
    let third = post(&json!({"message": "cache miss storm", "fingerprint": "cache"}));
    assert_eq!(third.json()["group"]["fingerprint"], "cache");

    let listed = worker.get(&path).json();
    let groups: Vec<(String, u64)> = listed["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["fingerprint"].as_str().unwrap().to_owned(), g["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(groups, [("cache".to_owned(), 1), (group["fingerprint"].as_str().unwrap().to_owned(), 2)]);

    // Wrong or missing key: 401; bad input: 400 naming the field; an oversized body: 413.
    let wrong = worker.request("POST", &path, Some("key-nope-0123456789"), &json!({"message": "x"}).to_string());
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(worker.request("POST", &path, None, &json!({"message": "x"}).to_string()).status, 401);
    assert_eq!(
        worker.request("POST", "/api/v1/services/no-such-service/errors", Some(&key(service)), "{}").status,
        401
    );
    let empty = post(&json!({"message": ""}));
    assert_eq!((empty.status, &empty.json()["field"]), (400, &json!("message")), "{}", empty.body);
    assert_eq!(empty.header("content-type"), Some("application/problem+json"));
    let long = post(&json!({"message": "x".repeat(2_000)}));
    assert_eq!((long.status, &long.json()["field"], &long.json()["limit"]), (400, &json!("message"), &json!(1024)));
    let huge = post(&json!({"message": "x", "stack": "y".repeat(40_000)}));
    assert_eq!(huge.status, 413, "{}", huge.body);
    let array = post(&json!(["not", "an", "object"]));
    assert_eq!((array.status, &array.json()["field"]), (400, &json!("body")), "{}", array.body);

    // The service page lists the groups.
    let page = worker.get(&format!("/services/{service}")).body;
    assert!(page.contains("data-fingerprint=\"cache\"") && page.contains("db timeout"), "{page}");

    // Groups are retained like heartbeats (tests/config: 30 days).
    let old = now_ms() - 40 * DAY;
    worker.d1(&format!("INSERT INTO error_groups VALUES ('{service}', 'ancient', 'm', NULL, 3, {old}, {old})"));
    assert_eq!(worker.get("/__scheduled?cron=17+*+*+*+*").status, 200);
    let left =
        worker.d1(&format!("SELECT fingerprint FROM error_groups WHERE service_id = '{service}' ORDER BY fingerprint"));
    assert_eq!(left.len(), 2, "{left:?}");
}

#[test]
fn each_service_entry_carries_its_thirty_day_reliability_label() {
    let worker = spawn_worker();
    worker.pulse("reporter", &json!({}));
    let entry = worker.wait_for("the first flush", Duration::from_secs(20), || {
        let entry = worker.get("/api/v1/services/reporter").json();
        entry["reliability"]["uptimePercent"].is_number().then_some(entry)
    });
    let r = &entry["reliability"];
    assert_eq!(
        (&r["label"], &r["incidents"], &r["windowDays"]),
        (&json!("excellent"), &json!(0), &json!(30)),
        "{entry}"
    );
    // Two incidents in the window make it at most good; eleven make it poor.
    let now = now_ms();
    let rows: Vec<String> =
        (1..=11).map(|i| format!("('reporter', {}, {}, 'test')", now - i * DAY, now - i * DAY + 1)).collect();
    worker.d1(&format!(
        "INSERT INTO incidents (service_id, started_at, ended_at, cause) VALUES {}",
        rows[..2].join(", ")
    ));
    assert_eq!(worker.get("/api/v1/services/reporter").json()["reliability"]["label"], "good");
    worker.d1(&format!(
        "INSERT INTO incidents (service_id, started_at, ended_at, cause) VALUES {}",
        rows[2..].join(", ")
    ));
    let r = worker.get("/api/v1/services/reporter").json()["reliability"].clone();
    assert_eq!((&r["label"], &r["incidents"]), (&json!("poor"), &json!(11)), "{r}");
    // An unknown service: 404.
    assert_eq!(worker.get("/api/v1/services/nope").status, 404);
}

#[test]
fn the_tiles_and_a_thirty_day_chart_render_in_chromium() {
    assert!(std::path::Path::new("/usr/bin/chromium").exists(), "Debian's chromium is missing");
    let worker = spawn_worker();
    let service = "reporter";
    // 30 days of daily rollups, as a long-running deployment would have, and a few heartbeats.
    let today = now_ms() / DAY * DAY;
    let mut rows = Vec::new();
    for d in 1..=29_i64 {
        let avg = 80.0 + 25.0 * ((d as f64) / 3.0).sin();
        rows.push(format!(
            "('{service}', 'p95_ms', {DAY}, {}, 1440, {}, {}, {})",
            today - d * DAY,
            avg * 1440.0,
            avg - 30.0,
            avg + 60.0
        ));
        rows.push(format!(
            "('{service}', 'cpu_percent', {DAY}, {}, 1440, {}, 20, 90)",
            today - d * DAY,
            (40 + d % 7 * 3) * 1440
        ));
    }
    worker.d1(&format!("INSERT INTO metric_rollups VALUES {}", rows.join(", ")));
    for (i, p95) in [92, 88, 131, 97, 84, 90, 102].iter().enumerate() {
        worker.pulse(
            service,
            &json!({"metrics": {"p95_ms": p95, "cpu_percent": 35 + i * 4, "heap_bytes": 180_000_000 + i * 3_000_000, "queue_depth": 3 + i % 3}}),
        );
    }
    let path = format!("/api/v1/services/{service}/errors");
    for message in ["db timeout", "db timeout", "cache miss storm"] {
        let r = worker.request(
            "POST",
            &path,
            Some(&key(service)),
            &json!({"message": message, "stack": "at main (src/main.rs:42)"}).to_string(),
        );
        assert_eq!(r.status, 201);
    }
    worker.wait_for("the heartbeats in D1", Duration::from_secs(20), || {
        let m = worker.get(&format!("/api/v1/services/{service}/metrics")).json();
        (m["metrics"].as_array().unwrap().len() == 4).then_some(())
    });
    systole_e2e::browser_script(&worker, "telemetry.mjs", &[("SERVICE", service)]);
}
