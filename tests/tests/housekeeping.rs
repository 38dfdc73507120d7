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
         INSERT INTO incidents VALUES ('guarded', {old_day}, {}, 'ancient'), ('guarded', {kept_day}, {}, 'recent');",
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
    assert!((41..80).contains(&ids.len()), "tests/config: two pages, the second wrapping around");
    assert_eq!(worker.get("/api/internal/budgets?clear").status, 200);
    for page in 1..=2 {
        let ran = worker.get("/__scheduled?cron=17+*+*+*+*");
        assert_eq!(ran.status, 200, "{}", ran.body);
        let cursor = worker.d1("SELECT value FROM housekeeping WHERE name = 'watchdog'");
        assert_eq!(cursor, [json!({"value": ids[(page * 40 - 1) % ids.len()]})], "page {page}");
    }
    let log = worker.log();
    assert_eq!(log.matches(&format!("watched 40 of {} services", ids.len())).count(), 2, "{log}");
    // Counted by the Worker: 3 D1 queries (cursor, pruning batch, cursor) and 40 watchdog calls.
    let budgets = worker.get("/api/internal/budgets").json();
    let cron = &budgets["invocations"]["cron"];
    assert_eq!(cron["invocations"], 2, "{budgets}");
    assert_eq!(cron["max"], json!({"fetches": 0, "objects": 40, "d1": 3}), "{budgets}");
    assert!(cron["total"].as_u64().unwrap() <= budgets["limit"].as_u64().unwrap());
    // After the last id the page starts over.
    worker.d1(&format!("UPDATE housekeeping SET value = '{}' WHERE name = 'watchdog'", ids[ids.len() - 2]));
    assert_eq!(worker.get("/__scheduled?cron=17+*+*+*+*").status, 200);
    let cursor = worker.d1("SELECT value FROM housekeeping WHERE name = 'watchdog'");
    assert_eq!(cursor, [json!({"value": ids[38]})]);
}
