//! The cron trigger in the real Worker: retention pruning by `settings.json` and by
//! `notifications.json`'s `settings.alertHistory`, and the alarm watchdog that re-arms a
//! monitor whose runtime alarm is missing, paged 40 services a tick by a cursor in D1 so a
//! tick stays within the free plan's 50 subrequests whatever the number of services.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::json;
use systole_e2e::{ms, now_ms, spawn_worker, test_config};

const DAY: i64 = 86_400_000;

#[test]
fn the_cron_prunes_history_past_retention_and_keeps_the_rest() {
    let worker = spawn_worker();
    let recent = worker.beat("guarded", &json!({"serviceId": "guarded", "message": "recent"}));
    assert_eq!(recent.status, 200);
    // The day the Worker rolls this heartbeat up from (its own clock).
    let beat_day = ms(&recent.json()["receivedAt"]) / DAY * DAY;
    worker.wait_for("flush", Duration::from_secs(20), || {
        let logs = worker.get("/api/v1/logs?serviceId=guarded").json();
        (logs["heartbeats"].as_array().unwrap().len() == 1).then_some(())
    });
    // tests/config keeps heartbeats 30 days and uptime 120 days.
    let now = now_ms();
    let old_beat = now - 40 * DAY;
    let (kept_day, old_day) = ((now / DAY - 40) * DAY, (now / DAY - 200) * DAY);
    worker.d1(&format!(
        "INSERT INTO heartbeats (service_id, received_at, seq, status) VALUES ('guarded', {old_beat}, 900, 'up');
         INSERT INTO uptime_daily VALUES ('guarded', {kept_day}, 86400000, 0, 0, 0, 1440), ('guarded', {old_day}, 86400000, 0, 0, 0, 1440);
         INSERT INTO incidents (service_id, started_at, ended_at, cause) VALUES ('guarded', {old_day}, {}, 'ancient'), ('guarded', {kept_day}, {}, 'recent');",
        old_day + 60_000,
        kept_day + 60_000
    ));

    // tests/config keeps 3 external alerts, none older than 7 days.
    let alert = |fingerprint: &str, received: i64| {
        format!("('{fingerprint}', 'generic', 'firing', 't', 'm', 'warning', 's', '{{}}', NULL, NULL, NULL, {received}, NULL, 0, '')")
    };
    let rows: Vec<String> = [("a-old", now - 8 * DAY), ("b", now - 4), ("c", now - 3), ("d", now - 2), ("e", now - 1)]
        .iter()
        .map(|(f, at)| alert(f, *at))
        .collect();
    worker.d1(&format!("INSERT INTO external_alerts VALUES {};", rows.join(", ")));

    let ran = worker.get("/__scheduled?cron=17+*+*+*+*");
    assert_eq!(ran.status, 200, "{}", ran.body);

    let beats = worker.d1("SELECT message FROM heartbeats WHERE service_id = 'guarded'");
    assert_eq!(beats, [json!({"message": "recent"})], "heartbeats older than 30 days are gone");
    let days = worker.d1("SELECT day_start FROM uptime_daily WHERE service_id = 'guarded' ORDER BY day_start");
    let days: Vec<i64> = days.iter().map(|r| r["day_start"].as_i64().unwrap()).filter(|d| *d < beat_day).collect();
    assert_eq!(days, [kept_day], "daily rollups older than 120 days are gone");
    let incidents = worker.d1("SELECT cause FROM incidents WHERE service_id = 'guarded'");
    assert_eq!(incidents, [json!({"cause": "recent"})]);
    let alerts = worker.d1("SELECT fingerprint FROM external_alerts ORDER BY received_at");
    assert_eq!(alerts, [json!({"fingerprint": "c"}), json!({"fingerprint": "d"}), json!({"fingerprint": "e"})]);
}

#[test]
fn each_tick_watches_the_next_forty_services_after_its_cursor_within_fifty_subrequests() {
    let worker = spawn_worker();
    let mut ids: Vec<String> = test_config().services.iter().map(|s| s.id.to_string()).collect();
    ids.sort();
    // Two pages of 40 (the second wraps around below 80 services); the end of this test starts
    // a page at the last id but one, so the wrap-around is watched at any size.
    assert!((41..120).contains(&ids.len()), "tests/config: more than one page of services");
    assert_eq!(worker.get("/api/internal/budgets?clear").status, 200);
    for page in 1..=2 {
        let ran = worker.get("/__scheduled?cron=17+*+*+*+*");
        assert_eq!(ran.status, 200, "{}", ran.body);
        let cursor = worker.d1("SELECT value FROM housekeeping WHERE name = 'watchdog'");
        assert_eq!(cursor, [json!({"value": ids[(page * 40 - 1) % ids.len()]})], "page {page}");
    }
    let log = worker.log();
    assert_eq!(log.matches(&format!("watched 40 of {} services", ids.len())).count(), 2, "{log}");
    // Counted by the Worker: 40 watchdog calls and at most 5 D1 queries (cursor, pruning
    // batch, cursor, and the catalog's version check plus, once per isolate and catalog
    // version, its load: the managed services are watched too).
    let budgets = worker.get("/api/internal/budgets").json();
    let cron = &budgets["invocations"]["cron"];
    assert_eq!(cron["invocations"], 2, "{budgets}");
    assert_eq!((&cron["max"]["fetches"], &cron["max"]["objects"]), (&json!(0), &json!(40)), "{budgets}");
    assert!(cron["max"]["d1"].as_u64().unwrap() <= 5, "{budgets}");
    assert!(cron["total"].as_u64().unwrap() <= budgets["limit"].as_u64().unwrap());
    // After the last id the page starts over.
    worker.d1(&format!("UPDATE housekeeping SET value = '{}' WHERE name = 'watchdog'", ids[ids.len() - 2]));
    assert_eq!(worker.get("/__scheduled?cron=17+*+*+*+*").status, 200);
    let cursor = worker.d1("SELECT value FROM housekeeping WHERE name = 'watchdog'");
    assert_eq!(cursor, [json!({"value": ids[38]})]);
}

#[test]
fn a_heartbeat_reuses_a_stale_row_of_its_ring_and_carries_its_days_count() {
    let worker = spawn_worker();
    // Everything below happens on one UTC day of the server's clock.
    worker.wait_for_day_with(Duration::from_secs(120));
    let service = "reporter";
    let d1_written =
        || worker.get(&format!("/api/internal/stats?serviceId={service}")).json()["d1RowsWritten"].as_u64().unwrap();
    let stored = || -> Vec<String> {
        let rows = worker.d1(&format!(
            "SELECT COALESCE(message, seq) AS m FROM heartbeats WHERE service_id = '{service}' ORDER BY received_at, seq"
        ));
        rows.iter().map(|r| r["m"].to_string().trim_matches('"').to_owned()).collect()
    };
    let beat = |message: &str| {
        let before = d1_written();
        assert_eq!(worker.beat(service, &json!({"serviceId": service, "message": message})).status, 200);
        worker.wait_for(&format!("{message} in D1"), Duration::from_secs(20), || {
            stored().contains(&message.to_owned()).then_some(())
        });
        d1_written() - before
    };
    beat("hb1");
    // Rows about to age out (tests/config keeps heartbeats 30 days: older than 29 are stale),
    // as left by the layout before the ring: newer ones reuse them instead of the cron deleting
    // them, and the excess goes one row per heartbeat.
    let now = now_ms();
    worker.d1(&format!(
        "INSERT INTO heartbeats (service_id, received_at, seq, status) VALUES ('{service}', {}, 900, 'up'), \
         ('{service}', {}, 901, 'up'), ('{service}', {}, 902, 'up')",
        now - 40 * DAY,
        now - 35 * DAY,
        now - 34 * DAY
    ));
    assert_eq!(stored(), ["900", "901", "902", "hb1"]);
    assert_eq!(beat("hb2"), 2, "the oldest row reused, the next deleted: the excess");
    assert_eq!(stored(), ["902", "hb1", "hb2"]);
    assert_eq!(beat("hb3"), 1, "one row reused");
    assert_eq!(stored(), ["hb1", "hb2", "hb3"]);
    assert_eq!(beat("hb4"), 1, "nothing stale: one row inserted");
    assert_eq!(stored(), ["hb1", "hb2", "hb3", "hb4"]);
    // The daily rollup was written once (with the first heartbeat's status change); today's
    // count comes from the newest heartbeat's row.
    let newest = worker.d1(&format!(
        "SELECT day_heartbeats FROM heartbeats WHERE service_id = '{service}' ORDER BY received_at DESC LIMIT 1"
    ));
    assert_eq!(newest, [json!({"day_heartbeats": 4})]);
    let rollup = worker.d1(&format!("SELECT heartbeats FROM uptime_daily WHERE service_id = '{service}'"));
    assert_eq!(rollup, [json!({"heartbeats": 1})]);
    let report = worker.get(&format!("/api/v1/uptime?serviceId={service}")).json();
    let today = report["services"][0]["days"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(today["heartbeats"], 4, "{today}");
}
