//! Service dependencies through the real Worker: the parent's ServiceMonitor pushes its status
//! to its dependents' objects; a child that goes `down` while its parent is `down` records
//! its incident (marked suppressed) and sends nothing until the parent recovers, then exactly
//! one alert; a child that recovered first sends nothing. Cycles are refused by the
//! management API (400 naming the cycle) and by the config loader. A child that goes silent
//! before its silent parent's deadline holds its alert for the parent's verdict: suppressed
//! when the parent goes down, sent when the parent's deadline passes without it.
//!
//! Config (`tests/config/services.json`): `dep-db` (3 s, group `deps`) and, in group
//! `deps-children` (5 s, `dependsOn: ["dep-db"]`), `dep-api` and `dep-worker`; all alert the
//! `discord` channel, which the local receiver stands in for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::receiver::{Received, Receiver};
use systole_e2e::{channel_env, ms, now_ms, refused_config, root, spawn_worker_with, Worker, MANAGEMENT_KEY};

/// The discord messages about the service named `name` (by its title).
fn about(receiver: &Receiver, name: &str) -> Vec<String> {
    receiver
        .of("discord")
        .iter()
        .map(Received::json)
        .filter_map(|m| m["embeds"][0]["title"].as_str().map(str::to_owned))
        .filter(|t| t.contains(name))
        .collect()
}

/// The discord messages about the service named `name`, once there is one (within `secs`).
fn alerts(worker: &Worker, receiver: &Receiver, name: &str, secs: u64) -> Vec<String> {
    worker.wait_for(&format!("an alert about {name}"), Duration::from_secs(secs), || {
        let sent = about(receiver, name);
        (!sent.is_empty()).then_some(sent)
    })
}

fn beat(worker: &Worker, id: &str) {
    let answer = worker.beat(id, &json!({ "serviceId": id }));
    assert_eq!(answer.status, 200, "{}", answer.body);
}

fn wait_status(worker: &Worker, id: &str, want: &str) {
    worker.wait_for_status(id, want, Duration::from_secs(20));
}

fn incident(worker: &Worker, id: &str) -> Value {
    worker.get(&format!("/api/v1/incidents?serviceId={id}")).json()["incidents"][0].clone()
}

#[test]
fn a_child_down_while_its_parent_is_down_alerts_once_when_the_parent_recovers() {
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    beat(&worker, "dep-db");
    beat(&worker, "dep-api");
    // The parent misses its 3 s deadline first and alerts; the child misses its 5 s one 2 s
    // later, while the parent is down: recorded, not sent.
    let db_down = receiver.wait("discord", 1, Duration::from_secs(20));
    assert!(db_down[0].json()["embeds"][0]["title"].as_str().unwrap().contains("Dependency database"));
    wait_status(&worker, "dep-api", "down");
    let held = worker.wait_for("dep-api incident", Duration::from_secs(20), || {
        let i = incident(&worker, "dep-api");
        i.is_object().then_some(i)
    });
    let mark = held["suppressed"].as_str().expect("the incident says why its alert is held");
    assert!(mark.starts_with("suppressed: parent `dep-db` down since "), "{mark}");
    assert_eq!(held["open"], true);
    // The dependency view, looked at in Chromium while the alert is held.
    let page = systole_e2e::browser_script(&worker, "dependencies.mjs", &[]);
    assert_eq!(page["parentStatus"], "Down", "{page}");
    assert_eq!(page["suppressed"], mark, "{page}");
    assert_eq!(page["dependents"], json!(["Dependent API", "Dependent worker"]), "{page}");
    thread::sleep(Duration::from_secs(2));
    assert_eq!(about(&receiver, "Dependent API"), Vec::<String>::new(), "nothing while the parent is down");

    // The parent recovers: the child, still down, alerts now, exactly once.
    beat(&worker, "dep-db");
    let sent = alerts(&worker, &receiver, "Dependent API", 20);
    assert_eq!(sent, ["🔴 Dependent API is DOWN"]);
    thread::sleep(Duration::from_secs(3));
    assert_eq!(about(&receiver, "Dependent API").len(), 1, "exactly one alert");
    // Its recovery is told as usual (it was told it was down).
    beat(&worker, "dep-api");
    let both = worker.wait_for("dep-api up", Duration::from_secs(20), || {
        let sent = about(&receiver, "Dependent API");
        (sent.len() == 2).then_some(sent)
    });
    assert!(both[1].starts_with("✅ Dependent API is back UP"), "{both:?}");
}

#[test]
fn a_child_that_recovered_before_its_parent_sends_nothing() {
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    beat(&worker, "dep-db");
    beat(&worker, "dep-worker");
    wait_status(&worker, "dep-db", "down");
    wait_status(&worker, "dep-worker", "down");
    beat(&worker, "dep-worker");
    wait_status(&worker, "dep-worker", "up");
    beat(&worker, "dep-db");
    // Until the child's next deadline (5 s after its last heartbeat) nothing may come.
    thread::sleep(Duration::from_secs(3));
    assert_eq!(about(&receiver, "Dependent worker"), Vec::<String>::new(), "no down, no recovery");
    let closed = incident(&worker, "dep-worker");
    assert_eq!(closed["open"], false);
    assert!(closed["suppressed"].as_str().unwrap().starts_with("suppressed: parent `dep-db` down since "));
}

#[test]
fn a_child_that_missed_its_parents_push_learns_it_at_the_watchdog_and_holds_its_alert() {
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    beat(&worker, "dep-db");
    wait_status(&worker, "dep-db", "down");
    // Created after its parent went down, the child never got that push.
    let child = json!({"id": "dep-late", "name": "Late dependent", "group": "deps-children"});
    let created = worker.request("POST", "/api/v1/services", Some(MANAGEMENT_KEY), &child.to_string());
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["service"]["dependsOn"], json!(["dep-db"]), "{}", created.body);
    let key = created.json()["key"].as_str().unwrap().to_owned();
    // The watchdog's next page starts after `dep-api`: `dep-db`, `dep-late`, ….
    worker.d1("INSERT OR REPLACE INTO housekeeping (name, value) VALUES ('watchdog', 'dep-api')");
    let ran = worker.get("/__scheduled?cron=17+*+*+*+*");
    assert_eq!(ran.status, 200, "{}", ran.body);
    let beat = worker.request("POST", "/api/heartbeat", Some(&key), &json!({"serviceId": "dep-late"}).to_string());
    assert_eq!(beat.status, 200, "{}", beat.body);
    // It misses its 5 s deadline while its parent is down: recorded, held, not sent.
    wait_status(&worker, "dep-late", "down");
    let held = worker.wait_for("dep-late incident", Duration::from_secs(20), || {
        let i = incident(&worker, "dep-late");
        i.is_object().then_some(i)
    });
    let mark = held["suppressed"].as_str().unwrap_or_default();
    assert!(mark.starts_with("suppressed: parent `dep-db` down since "), "{held}");
    thread::sleep(Duration::from_secs(2));
    assert_eq!(about(&receiver, "Late dependent"), Vec::<String>::new(), "nothing while the parent is down");
}

/// Creates the managed service of `spec`: its key.
fn create(worker: &Worker, spec: &Value) -> String {
    let created = worker.request("POST", "/api/v1/services", Some(MANAGEMENT_KEY), &spec.to_string());
    assert_eq!(created.status, 201, "{}", created.body);
    created.json()["key"].as_str().unwrap().to_owned()
}

/// `silent-db` (6 s, group `deps`) and `silent-api` (2 s, group `deps-children`, depending on
/// `silent-db` instead), to create as managed services.
fn silent_pair() -> (Value, Value) {
    (
        json!({"id": "silent-db", "name": "Silent database", "group": "deps", "stalenessThreshold": 6}),
        json!({"id": "silent-api", "name": "Silent API", "group": "deps-children",
            "stalenessThreshold": 2, "dependsOn": ["silent-db"]}),
    )
}

/// A heartbeat of managed service `id` with its `key`: when it was received (ms).
fn beat_keyed(worker: &Worker, id: &str, key: &str) -> i64 {
    let answer = worker.request("POST", "/api/heartbeat", Some(key), &json!({ "serviceId": id }).to_string());
    assert_eq!(answer.status, 200, "{}", answer.body);
    ms(&answer.json()["receivedAt"])
}

/// The held mark of `silent-api`'s open incident, once D1 has it.
fn held_mark(worker: &Worker) -> String {
    let held = worker.wait_for("silent-api incident", Duration::from_secs(20), || {
        let i = incident(worker, "silent-api");
        i.is_object().then_some(i)
    });
    assert_eq!(held["open"], true, "{held}");
    let mark = held["suppressed"].as_str().unwrap_or_default().to_owned();
    assert!(mark.starts_with("held until ") && mark.contains(": parent `silent-db` silent since "), "{held}");
    mark
}

#[test]
fn a_child_silent_before_its_silent_parent_waits_for_its_verdict_and_is_suppressed_when_it_goes_down() {
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    let (db, api) = silent_pair();
    let (db, api) = (create(&worker, &db), create(&worker, &api));
    beat_keyed(&worker, "silent-db", &db);
    beat_keyed(&worker, "silent-api", &api);
    // The child misses its 2 s deadline first; its parent (whose first heartbeat pushed what
    // it last heard), silent since before then, goes down 4 s later. The child's down waits
    // for that verdict, then is suppressed.
    wait_status(&worker, "silent-api", "down");
    held_mark(&worker);
    let db_down = receiver.wait("discord", 1, Duration::from_secs(20));
    assert!(db_down[0].json()["embeds"][0]["title"].as_str().unwrap().contains("Silent database"), "{db_down:?}");
    thread::sleep(Duration::from_secs(2));
    assert_eq!(about(&receiver, "Silent API"), Vec::<String>::new(), "nothing while the parent is down");

    // The parent recovers: the child, still down, alerts now, exactly once.
    beat_keyed(&worker, "silent-db", &db);
    let sent = alerts(&worker, &receiver, "Silent API", 20);
    assert_eq!(sent, ["🔴 Silent API is DOWN"]);
    thread::sleep(Duration::from_secs(2));
    assert_eq!(about(&receiver, "Silent API").len(), 1, "exactly one alert");
    // Once closed, its incident says what held it in the end.
    beat_keyed(&worker, "silent-api", &api);
    let closed = worker.wait_for("silent-api incident closed", Duration::from_secs(20), || {
        let i = incident(&worker, "silent-api");
        (i["open"] == false).then_some(i)
    });
    let mark = closed["suppressed"].as_str().unwrap_or_default();
    assert!(mark.starts_with("suppressed: parent `silent-db` down since "), "{closed}");
}

#[test]
fn a_child_silent_before_a_parent_that_stays_up_alerts_at_the_parents_deadline_plus_the_margin() {
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    let (db, api) = silent_pair();
    let db = create(&worker, &db);
    let db_last = beat_keyed(&worker, "silent-db", &db);
    // Created after its parent's push: at its deadline the child reads from D1 what its
    // parent last heard.
    let api = create(&worker, &api);
    beat_keyed(&worker, "silent-api", &api);
    wait_status(&worker, "silent-api", "down");
    held_mark(&worker);
    // The parent was alive after all (it beats on, so it pushes nothing): the child's alert
    // goes at the parent's deadline as the child knew it, plus the 15 s margin.
    let until = db_last + 6_000 + 15_000;
    while now_ms() < until - 1_000 {
        beat_keyed(&worker, "silent-db", &db);
        assert_eq!(about(&receiver, "Silent API"), Vec::<String>::new(), "held until {until}");
        thread::sleep(Duration::from_secs(1));
    }
    let sent = alerts(&worker, &receiver, "Silent API", 15);
    assert_eq!(sent, ["🔴 Silent API is DOWN"]);
    assert!(now_ms() >= until, "not before the hold's end");
    assert_eq!(about(&receiver, "Silent database"), Vec::<String>::new(), "the parent never went down");
}

#[test]
fn a_cycle_through_the_management_api_is_a_400_naming_it() {
    let worker = spawn_worker_with(&[]);
    let manage =
        |method: &str, path: &str, body: Value| worker.request(method, path, Some(MANAGEMENT_KEY), &body.to_string());
    let a = manage("POST", "/api/v1/services", json!({"id": "m-dep-a", "stalenessThreshold": 60}));
    assert_eq!(a.status, 201, "{}", a.body);
    let b = manage("POST", "/api/v1/services", json!({"id": "m-dep-b", "dependsOn": ["m-dep-a", "dep-db"]}));
    assert_eq!(b.status, 201, "{}", b.body);
    assert_eq!(b.json()["service"]["dependsOn"], json!(["m-dep-a", "dep-db"]));

    let cycle = manage("PATCH", "/api/v1/services/m-dep-a", json!({"dependsOn": ["m-dep-b"]}));
    assert_eq!(cycle.status, 400, "{}", cycle.body);
    assert_eq!(cycle.header("content-type"), Some("application/problem+json"));
    let problem = cycle.json();
    assert_eq!(problem["field"], "dependsOn", "{problem}");
    assert_eq!(problem["detail"], "dependsOn: cycle m-dep-a → m-dep-b → m-dep-a", "{problem}");

    let unknown = manage("PUT", "/api/v1/services/m-dep-c", json!({"id": "m-dep-c", "dependsOn": ["ghost"]}));
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert_eq!(unknown.json()["detail"], "dependsOn: unknown service \"ghost\"");
    let itself = manage("POST", "/api/v1/services", json!({"id": "m-dep-d", "dependsOn": ["m-dep-d"]}));
    assert_eq!(itself.status, 400, "{}", itself.body);
    assert!(itself.body.contains("a service cannot depend on itself"), "{}", itself.body);
    let many: Vec<String> = (0..17).map(|i| format!("p{i}")).collect();
    let long = manage("POST", "/api/v1/services", json!({"id": "m-dep-e", "dependsOn": many}));
    assert_eq!(long.status, 400, "{}", long.body);
    assert!(long.body.contains("must list at most 16 services, got 17"), "{}", long.body);
    // The refused patch changed nothing.
    let a = manage("GET", "/api/v1/services/m-dep-a", Value::Null);
    assert_eq!(a.json()["dependsOn"], Value::Null, "{}", a.body);
}

#[test]
fn a_cycle_in_services_json_stops_the_worker_naming_it() {
    let dir = root().join("target/e2e/config-dependency-cycle");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let services = r#"{"services": [{"id": "web", "dependsOn": ["api"]}, {"id": "api", "dependsOn": ["db"]},
        {"id": "db", "dependsOn": ["api"]}, {"id": "cron", "dependsOn": ["nope"]}]}"#;
    fs::write(dir.join("services.json"), services).unwrap();
    let stderr = refused_config(&dir);
    for expected in [
        "invalid configuration (2 problems)",
        "services.json: services[1].dependsOn: cycle api → db → api",
        "services.json: services[3].dependsOn: unknown service \"nope\"",
    ] {
        assert!(stderr.contains(expected), "{expected:?} not in:\n{stderr}");
    }
    fs::remove_dir_all(&dir).unwrap();
}
