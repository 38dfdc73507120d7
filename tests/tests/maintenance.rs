//! Maintenance windows on the real Worker: a recurring window (a seconds-field cron) silences
//! a `down` and re-arms the deadline at its end (the exact deadline, from the API); the
//! maintenance API's listing, creation and deletion with their access rules; a snooze with
//! the service's key and not without it; `maintenanceUptime` counting maintenance time as up
//! or leaving it out (stored rollups and live figures), with the deadline after the window as
//! the read APIs and Prometheus show it, also while `late`; the hourly housekeeping pruning
//! ended one-off windows.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{json, Value};
use systole_core::time::Timestamp;
use systole_e2e::receiver::Receiver;
use systole_e2e::{
    channel_env, key, ms, now_ms, spawn_worker, spawn_worker_with, Worker, ADMIN_TOKEN, MANAGEMENT_KEY, VIEWER_TOKEN,
};

/// `through-grace`: 5 s threshold + 5 s grace, notifying every channel (`down`, `up`).
const SERVICE: &str = "through-grace";

/// Notifications the receiver got about `service` (every channel).
fn notified(receiver: &Receiver, service: &str) -> Vec<String> {
    ["webhook", "discord", "slack"]
        .iter()
        .flat_map(|c| receiver.of(c))
        .filter(|r| r.body.contains(service))
        .map(|r| r.body)
        .collect()
}

#[test]
fn a_recurring_window_silences_a_down_and_rearms_the_deadline_at_its_end() {
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    let beat = |status: &str| {
        let body = json!({"serviceId": SERVICE, "status": status}).to_string();
        worker.request("POST", "/api/v1/heartbeat", Some(&key(SERVICE)), &body).json()
    };
    assert_eq!(beat("up")["status"], "up");

    // Once a minute at second S, for 8 s: S is 5 s from now, before the 5 s deadline passes.
    let start = (now_ms() / 1000 + 5) * 1000;
    let second = (start / 1000) % 60;
    let body = json!({"service": SERVICE, "schedule": format!("{second} * * * * *"), "duration": 8, "reason": "e2e"});
    let created = worker.request("POST", "/api/v1/maintenance", Some(ADMIN_TOKEN), &body.to_string());
    assert_eq!(created.status, 201, "{}", created.body);
    let created = created.json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!((created["kind"].as_str(), created["active"].as_bool()), (Some("recurring"), Some(false)));
    assert_eq!(ms(&created["nextStart"]), start);
    let end = ms(&created["nextEnd"]);
    assert_eq!(end, start + 8_000);

    let listed = worker.get("/api/v1/maintenance").json();
    let ours: Vec<&Value> = listed["windows"].as_array().unwrap().iter().filter(|w| w["id"] == id.as_str()).collect();
    assert_eq!((ours.len(), ours[0]["service"].as_str(), ours[0]["source"].as_str()), (1, Some(SERVICE), Some("api")));

    // The window starts: maintenance, and a heartbeat reporting down changes nothing.
    worker.wait_for_status(SERVICE, "maintenance", Duration::from_secs(15));
    assert!(now_ms() < end - 2_000, "the test ran too slowly to see inside the window");
    assert_eq!(beat("down")["status"], "maintenance", "a down inside the window is recorded, nothing else");
    let metrics = worker.get_as("/metrics", Some(systole_e2e::METRICS_KEY), None).body;
    assert!(
        metrics.contains(&format!("systole_service_in_maintenance{{service=\"{SERVICE}\",group=\"\"}} 1")),
        "{metrics}"
    );

    // The window ends: up again, due a full period after the end, exactly.
    let after = worker.wait_for("up after the window", Duration::from_secs(20), || {
        let s = worker.status_of(SERVICE);
        (s["status"] == "up").then_some(s)
    });
    assert_eq!(ms(&after["statusSince"]), end, "the status changes at the window's end");
    assert_eq!(ms(&after["nextDeadline"]), end + 5_000, "the deadline restarts from the window's end");
    assert!(
        notified(&receiver, SERVICE).is_empty(),
        "nothing is sent for the window: {:?}",
        notified(&receiver, SERVICE)
    );
    let incidents = worker.get(&format!("/api/v1/incidents?serviceId={SERVICE}")).json();
    assert_eq!(incidents["incidents"].as_array().unwrap().len(), 0, "the down was silenced: {incidents}");

    // Quiet after the window: down at end + 5 s + 5 s grace, and that is notified.
    let down = worker.wait_for("down after the full period", Duration::from_secs(25), || {
        let s = worker.status_of(SERVICE);
        (s["status"] == "down").then_some(s)
    });
    let went_down = ms(&down["statusSince"]);
    assert!((end + 10_000..end + 11_500).contains(&went_down), "down {} ms after the window", went_down - end);
    let sent = worker.wait_for("a down notification", Duration::from_secs(20), || {
        let n = notified(&receiver, SERVICE);
        (!n.is_empty()).then_some(n)
    });
    assert!(sent.iter().any(|b| b.to_lowercase().contains("down")), "{sent:?}");

    // Deleting the window: admins only, then it is gone.
    let path = format!("/api/v1/maintenance/{id}");
    assert_eq!(worker.request("DELETE", &path, Some(VIEWER_TOKEN), "").status, 403);
    assert_eq!(worker.request("DELETE", &path, Some(ADMIN_TOKEN), "").status, 204);
    assert_eq!(worker.request("DELETE", &path, Some(ADMIN_TOKEN), "").status, 404);
    let listed = worker.get("/api/v1/maintenance").json();
    assert!(!listed["windows"].as_array().unwrap().iter().any(|w| w["id"] == id.as_str()), "{listed}");
}

#[test]
fn the_maintenance_api_refuses_bad_windows_and_non_admins() {
    let worker = spawn_worker();
    let window = json!({"service": "restart-up", "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z"});
    assert_eq!(worker.request("POST", "/api/v1/maintenance", None, &window.to_string()).status, 401);
    assert_eq!(worker.request("POST", "/api/v1/maintenance", Some(VIEWER_TOKEN), &window.to_string()).status, 403);
    let bad = json!({"service": "restart-up", "start": "2030-01-01T01:00:00Z", "end": "2030-01-01T00:00:00Z"});
    let answer = worker.request("POST", "/api/v1/maintenance", Some(ADMIN_TOKEN), &bad.to_string());
    assert_eq!(answer.status, 400);
    assert_eq!(
        (answer.json()["field"].as_str(), answer.json()["detail"].as_str()),
        (Some("end"), Some("end: must be after start"))
    );
    let unknown = json!({"group": "nope", "schedule": "0 3 * * *", "duration": 60});
    let answer = worker.request("POST", "/api/v1/maintenance", Some(ADMIN_TOKEN), &unknown.to_string());
    assert_eq!((answer.status, answer.json()["field"].as_str()), (400, Some("group")));

    // A future window for a group: listed once, not active, the members not in maintenance.
    let group = json!({"group": "core", "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z"});
    let answer = worker.request("POST", "/api/v1/maintenance", Some(ADMIN_TOKEN), &group.to_string());
    assert_eq!(answer.status, 201, "{}", answer.body);
    let listed = worker.get("/api/v1/maintenance").json();
    let core: Vec<&Value> = listed["windows"].as_array().unwrap().iter().filter(|w| w["group"] == "core").collect();
    assert_eq!(core.len(), 1, "{listed}");
    assert_eq!(
        (core[0]["active"].as_bool(), core[0]["nextStart"].as_str()),
        (Some(false), Some("2030-01-01T00:00:00.000Z"))
    );
}

#[test]
fn a_snooze_works_with_the_services_key_and_not_without_it() {
    let worker = spawn_worker();
    let service = "restart-up";
    let path = |minutes: &str| format!("/api/v1/services/{service}/snooze?minutes={minutes}");
    assert_eq!(worker.beat(service, &json!({"serviceId": service})).json()["status"], "up");

    let none = worker.request("POST", &path("30"), None, "");
    let wrong = worker.request("POST", &path("30"), Some("not-the-key-0123456789"), "");
    let unknown = worker.request("POST", "/api/v1/services/nope/snooze?minutes=30", Some(&key(service)), "");
    assert_eq!((none.status, wrong.status, unknown.status), (401, 401, 401));
    assert_eq!((none.body.clone(), wrong.body.clone()), (unknown.body.clone(), unknown.body), "indistinguishable");
    worker.wait_for_status(service, "up", Duration::from_secs(20));

    for bad in ["0", "1441", "soon"] {
        let answer = worker.request("POST", &path(bad), Some(&key(service)), "");
        assert_eq!(answer.status, 400, "{bad}");
        assert_eq!(answer.json()["detail"], "minutes must be a whole number from 1 to 1440 (1 day)");
    }

    let before = now_ms();
    let answer = worker.request("POST", &path("30"), Some(&key(service)), "");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = answer.json();
    assert_eq!(answer["status"], "maintenance");
    let until = ms(&answer["maintenanceUntil"]);
    assert!((before + 30 * 60_000..now_ms() + 30 * 60_000 + 1).contains(&until), "{answer}");
    worker.wait_for_status(service, "maintenance", Duration::from_secs(10));
    let listed = worker.get("/api/v1/maintenance").json();
    let snooze: Vec<&Value> =
        listed["windows"].as_array().unwrap().iter().filter(|w| w["source"] == "snooze").collect();
    assert_eq!(
        (snooze.len(), snooze[0]["service"].as_str(), snooze[0]["active"].as_bool()),
        (1, Some(service), Some(true))
    );

    // Heartbeats are still recorded while snoozed.
    let beat = worker.beat(service, &json!({"serviceId": service, "message": "still here"})).json();
    assert_eq!(beat["status"], "maintenance");
    // Deleting the snooze ends it at once.
    assert_eq!(worker.request("DELETE", "/api/v1/maintenance/snooze", Some(ADMIN_TOKEN), "").status, 204);
    worker.wait_for_status(service, "up", Duration::from_secs(10));
}

#[test]
fn the_status_page_shows_maintenance_in_progress_and_scheduled_in_chromium() {
    let worker = spawn_worker();
    for service in ["web-frontend", "web-flip", "web-xss"] {
        worker.pulse(service, &json!({"status": "up"}));
    }
    let snooze =
        worker.request("POST", "/api/v1/services/web-frontend/snooze?minutes=45", Some(&key("web-frontend")), "");
    assert_eq!(snooze.status, 200, "{}", snooze.body);
    // Its daily start 12 hours of the clock away (10 or 11 in Berlin), so it is scheduled, not
    // in progress, whenever the test runs.
    let hour = (now_ms() / 3_600_000 + 12) % 24;
    let nightly = json!({"group": "web", "schedule": format!("0 {hour} * * *"), "timezone": "Europe/Berlin",
                         "duration": 1800, "reason": "nightly database backup"});
    assert_eq!(worker.request("POST", "/api/v1/maintenance", Some(ADMIN_TOKEN), &nightly.to_string()).status, 201);
    worker.wait_for("maintenance on the status page", Duration::from_secs(10), || {
        let html = worker.get_as("/status", None, None).body;
        (html.contains("In progress") && html.contains("Scheduled") && html.contains("data-status=\"maintenance\""))
            .then_some(())
    });
    let shots = systole_e2e::root().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("status-maintenance.png");
    let _ = std::fs::remove_file(&shot);
    let status = std::process::Command::new("/usr/bin/chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1100,900"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("{}/status", worker.base))
        .output()
        .unwrap();
    assert!(shot.is_file(), "no screenshot: {}", String::from_utf8_lossy(&status.stderr));
}

/// Today's monitored minutes of `id` from `/api/v1/uptime` (rounded to 0.1 by the API).
fn monitored_minutes(worker: &Worker, id: &str) -> f64 {
    let answer = worker.get(&format!("/api/v1/uptime?serviceId={id}")).json();
    let days = answer["services"][0]["days"].as_array().unwrap().clone();
    days.last().unwrap()["monitoredMinutes"].as_f64().unwrap()
}

/// Asserts that `minutes` (rounded to 0.1) is `from_ms` to `to_ms` milliseconds, the bounds
/// being the clock readings around the request.
fn assert_minutes(minutes: f64, from_ms: i64, to_ms: i64, what: &str) {
    let (lo, hi) = (from_ms as f64 / 60_000.0 - 0.05, to_ms as f64 / 60_000.0 + 0.05);
    assert!((lo - 1e-9..=hi + 1e-9).contains(&minutes), "{what}: {minutes} min, expected {lo:.3} to {hi:.3}");
}

/// The `systole_service_next_deadline_timestamp_seconds` sample of `id`, in ms.
fn prometheus_deadline(worker: &Worker, id: &str) -> Option<i64> {
    let text = worker.get_as("/metrics", Some(systole_e2e::METRICS_KEY), None).body;
    let prefix = format!("systole_service_next_deadline_timestamp_seconds{{service=\"{id}\",group=\"\"}} ");
    let line = text.lines().find_map(|l| l.strip_prefix(prefix.as_str()))?;
    Some((line.parse::<f64>().unwrap() * 1000.0).round() as i64)
}

#[test]
fn maintenance_counts_as_up_only_where_configured_and_the_deadline_after_it_is_the_alarms() {
    let worker = spawn_worker();
    worker.wait_for_day_with(Duration::from_secs(180));
    let manage = |body: Value| worker.request("POST", "/api/v1/services", Some(MANAGEMENT_KEY), &body.to_string());
    let bad = manage(json!({"id": "mu-bad", "maintenanceUptime": "sometimes"}));
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(
        (bad.json()["field"].as_str(), bad.json()["detail"].as_str()),
        (Some("maintenanceUptime"), Some(r#"must be "exclude" or "up", got "sometimes""#))
    );

    // Two services alike (4 s period, 60 s grace) but for maintenanceUptime.
    let mut keys = Vec::new();
    for (id, counts) in [("mu-up", Some("up")), ("mu-out", None)] {
        let mut spec =
            json!({"id": id, "stalenessThreshold": 4, "gracePeriod": 60, "notifications": {"enabled": false}});
        if let Some(c) = counts {
            spec["maintenanceUptime"] = json!(c);
        }
        let created = manage(spec);
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.json()["service"]["maintenanceUptime"], counts.unwrap_or("exclude"), "the effective value");
        keys.push(created.json()["key"].as_str().unwrap().to_owned());
    }
    let beat = |id: &str, key: &str| {
        let answer = worker.request("POST", "/api/v1/heartbeat", Some(key), &json!({"serviceId": id}).to_string());
        assert_eq!(answer.status, 200, "{}", answer.body);
        ms(&answer.json()["receivedAt"])
    };
    let beaten = [beat("mu-up", &keys[0]), beat("mu-out", &keys[1])];

    // A 20 s window for each, from now.
    let start = now_ms() / 1000 * 1000;
    let end = start + 20_000;
    let rfc = |t: i64| Timestamp::from_millis(t).to_rfc3339();
    for id in ["mu-up", "mu-out"] {
        let body = json!({"service": id, "start": rfc(start), "end": rfc(end), "reason": "e2e uptime"});
        let created = worker.request("POST", "/api/v1/maintenance", Some(ADMIN_TOKEN), &body.to_string());
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let entered: Vec<i64> = ["mu-up", "mu-out"]
        .iter()
        .map(|id| {
            let s = worker.wait_for("maintenance in the status API", Duration::from_secs(5), || {
                let s = worker.status_of(id);
                (s["status"] == "maintenance").then_some(s)
            });
            ms(&s["statusSince"])
        })
        .collect();

    // Inside the window, live: mu-up's maintenance is monitored time, mu-out's is not.
    std::thread::sleep(Duration::from_secs(8));
    let before = now_ms();
    let (up, out) = (monitored_minutes(&worker, "mu-up"), monitored_minutes(&worker, "mu-out"));
    let after = now_ms();
    assert!(after < end, "the test ran too slowly to read inside the window");
    assert_minutes(up, before - beaten[0], after - beaten[0], "mu-up inside the window");
    assert_minutes(out, entered[1] - beaten[1], entered[1] - beaten[1], "mu-out inside the window");

    // The window ends: up, due a full period after its end, in every read API.
    for id in ["mu-up", "mu-out"] {
        let s = worker.wait_for("up after the window", Duration::from_secs(30), || {
            let s = worker.status_of(id);
            (s["status"] == "up").then_some(s)
        });
        assert_eq!(ms(&s["statusSince"]), end, "{id}");
        assert_eq!(ms(&s["nextDeadline"]), end + 4_000, "{id}: the deadline restarts from the window's end");
    }
    // Late a period after the window: the grace period ends 60 s after that deadline (not
    // after the deadline of the heartbeat before the window), where the alarm is armed.
    for id in ["mu-up", "mu-out"] {
        let s = worker.wait_for("late after the window", Duration::from_secs(20), || {
            let s = worker.status_of(id);
            (s["status"] == "late").then_some(s)
        });
        assert_eq!(ms(&s["nextDeadline"]), end + 64_000, "{id}: {s}");
        assert_eq!(prometheus_deadline(&worker, id), Some(end + 64_000), "{id}: Prometheus shows the same deadline");
    }

    // Stored: the rollups written with the status changes count exactly the monitored time up
    // to where they are written, mu-out's without its maintenance.
    for (i, id) in ["mu-up", "mu-out"].iter().enumerate() {
        let row = worker.d1(&format!(
            "SELECT s.accounted_until AS until, s.resumed_at AS resumed, \
             SUM(u.up_ms + u.degraded_ms + u.late_ms + u.down_ms) AS monitored \
             FROM service_state s JOIN uptime_daily u ON u.service_id = s.service_id WHERE s.service_id = '{id}'"
        ));
        let (until, monitored) = (row[0]["until"].as_i64().unwrap(), row[0]["monitored"].as_i64().unwrap());
        assert_eq!(row[0]["resumed"].as_i64(), Some(end), "{id}: service_state.resumed_at");
        let excluded = if *id == "mu-up" { 0 } else { end - entered[i] };
        assert_eq!(monitored, until - beaten[i] - excluded, "{id}: {row:?}");
    }
    // Live after the window: the same figures, extended to now.
    let before = now_ms();
    let (up, out) = (monitored_minutes(&worker, "mu-up"), monitored_minutes(&worker, "mu-out"));
    let after = now_ms();
    assert_minutes(up, before - beaten[0], after - beaten[0], "mu-up after the window");
    let excluded = end - entered[1];
    assert_minutes(out, before - beaten[1] - excluded, after - beaten[1] - excluded, "mu-out after the window");
}

#[test]
fn the_hourly_housekeeping_prunes_one_off_windows_ended_before_heartbeat_retention() {
    let worker = spawn_worker();
    let create = |body: Value| {
        let answer = worker.request("POST", "/api/v1/maintenance", Some(ADMIN_TOKEN), &body.to_string());
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.json()["id"].as_str().unwrap().to_owned()
    };
    let old = create(json!({"service": "restart-up", "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z"}));
    let recent =
        create(json!({"service": "restart-up", "start": "2030-01-02T00:00:00Z", "end": "2030-01-02T01:00:00Z"}));
    let recurring = create(json!({"service": "restart-up", "schedule": "0 3 * * *", "duration": 60}));
    // Time passes: tests/config keeps heartbeats 30 days; one window ended 31 days ago, one 29.
    const DAY: i64 = 86_400_000;
    let now = now_ms();
    worker.d1(&format!(
        "UPDATE maintenance_windows SET ends_at = {} WHERE id = '{old}';
         UPDATE maintenance_windows SET ends_at = {} WHERE id = '{recent}';",
        now - 31 * DAY,
        now - 29 * DAY
    ));
    let ran = worker.get("/__scheduled?cron=17+*+*+*+*");
    assert_eq!(ran.status, 200, "{}", ran.body);
    let rows = worker.d1("SELECT id FROM maintenance_windows WHERE service_id = 'restart-up'");
    let mut left: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    left.sort_unstable();
    let mut want = [recent.as_str(), recurring.as_str()];
    want.sort_unstable();
    assert_eq!(left, want, "only the window that ended more than 30 days ago is gone");
}
