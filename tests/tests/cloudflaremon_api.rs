//! The cloudflaremon compatibility surface through the real Worker, built with the seed's
//! config format (`tests/config-cloudflaremon`: every endpoint on, `allowedOrigins`, no
//! users), and the main build (`tests/config`, which switches most seed endpoints off):
//! every field and code of `/api/status`, `/api/uptime`, `/api/services`, `/api/logs`,
//! `/api/alert`, `/api/alerts/recent` and `/api/test-notification`; the seed's 403 bodies;
//! CORS for allowed origins only, and preflights.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::receiver::Receiver;
use systole_e2e::{channel_env_for, spawn_build, spawn_worker, Answer, Worker, CLOUDFLAREMON};

const ORIGIN: &str = "https://ops.example.com";

fn get(worker: &Worker, path: &str) -> Answer {
    worker.send("GET", path, &[], "")
}

fn post(worker: &Worker, path: &str, body: &Value) -> Answer {
    worker.send("POST", path, &[("Content-Type", "application/json")], &body.to_string())
}

fn no_cors(a: &Answer) -> bool {
    a.headers.iter().all(|(k, _)| !k.starts_with("access-control-"))
}

/// Node A (2 s threshold) beats once and goes down; Node B and the NAS stay up; Lonely is
/// never heard from; the printer is disabled.
fn fleet() -> Worker {
    let worker = spawn_build(CLOUDFLAREMON, &[]);
    worker.wait_for_day_with(Duration::from_secs(120));
    for id in ["node-a", "node-b", "nas"] {
        worker.pulse(id, &json!({"status": "up", "metadata": {"role": "seed client"}}));
    }
    worker.wait_for("node-a down", Duration::from_secs(30), || {
        let s = get(&worker, "/api/status").json();
        let a = s["summary"]["results"].as_array()?.iter().find(|r| r["serviceId"] == "node-a")?.clone();
        (a["status"] == "down").then_some(())
    });
    worker
}

#[test]
fn the_read_endpoints_answer_the_seeds_shapes_computed_now() {
    let worker = fleet();

    let status = get(&worker, "/api/status");
    assert_eq!((status.status, status.content_type.as_str()), (200, "application/json"));
    assert!(status.body.starts_with("{\n  \"summary\": {\n"), "pretty-printed: {}", status.body);
    assert_eq!(status.header("cache-control"), Some("no-cache, no-store, must-revalidate, max-age=0"));
    assert_eq!((status.header("pragma"), status.header("expires")), (Some("no-cache"), Some("0")));
    let summary = status.json()["summary"].clone();
    let counts: Vec<u64> = ["totalServices", "servicesUp", "servicesDegraded", "servicesDown", "servicesUnknown"]
        .iter()
        .map(|k| summary[k].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [4, 2, 0, 1, 1], "the disabled printer is left out: {summary}");
    let results = summary["results"].as_array().unwrap();
    let ids: Vec<&str> = results.iter().map(|r| r["serviceId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["node-a", "node-b", "nas", "lonely"]);
    let b = &results[1];
    let mut keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "groupId",
            "groupName",
            "lastSeen",
            "serviceId",
            "serviceName",
            "stalenessThreshold",
            "status",
            "systoleStatus",
            "timeSinceLastHeartbeat",
            "timestamp",
            "uptimeThresholdSet"
        ]
    );
    assert_eq!((b["serviceName"].as_str(), b["status"].as_str()), (Some("Node B"), Some("up")));
    assert_eq!((b["stalenessThreshold"].as_u64(), b["uptimeThresholdSet"].as_str()), (Some(3_600_000), Some("strict")));
    assert_eq!((b["groupId"].as_str(), b["groupName"].as_str()), (Some("k3s"), Some("K3s Cluster")));
    assert_eq!(b["timestamp"], summary["timestamp"]);
    let since = b["timeSinceLastHeartbeat"].as_i64().unwrap();
    let seen = systole_e2e::ms(&b["lastSeen"]);
    assert_eq!(since, systole_e2e::ms(&summary["timestamp"]) - seen, "milliseconds, computed now");
    let a = &results[0];
    assert_eq!(
        (a["status"].as_str(), a["systoleStatus"].as_str(), a["stalenessThreshold"].as_u64()),
        (Some("down"), Some("down"), Some(2_000))
    );
    assert!(a["timeSinceLastHeartbeat"].as_i64().unwrap() >= 2_000);
    assert_eq!(results[2]["uptimeThresholdSet"], "relaxed");
    let lonely = &results[3];
    assert_eq!(
        (lonely["status"].as_str(), lonely["lastSeen"].clone(), lonely["timeSinceLastHeartbeat"].clone()),
        (Some("unknown"), Value::Null, Value::Null)
    );
    assert_eq!((lonely["groupId"].clone(), lonely["groupName"].as_str()), (Value::Null, Some("Ungrouped")));
    assert_eq!(lonely["uptimeThresholdSet"], "default");

    let services = get(&worker, "/api/services");
    assert_eq!(services.status, 200);
    let list = services.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 5, "disabled services included");
    let printer = list.iter().find(|s| s["id"] == "printer").unwrap();
    assert_eq!((printer["enabled"].as_bool(), printer["groupName"].as_str()), (Some(false), Some("Ungrouped")));
    let nas = list.iter().find(|s| s["id"] == "nas").unwrap();
    assert_eq!((nas["groupId"].as_str(), nas["auth"]["required"].as_bool()), (Some("storage"), Some(false)));
    // The group's threshold and notifications are inherited, as the seed's docs promise.
    assert_eq!(
        (nas["stalenessThreshold"].as_u64(), &nas["notifications"]["channels"]),
        (Some(3600), &json!(["telegram"]))
    );
    let node = list.iter().find(|s| s["id"] == "node-a").unwrap();
    assert_eq!((node["auth"]["required"].as_bool(), node["stalenessThreshold"].as_u64()), (Some(true), Some(2)));

    let uptime = get(&worker, "/api/uptime?serviceId=node-b");
    assert_eq!(uptime.status, 200);
    assert_eq!(uptime.header("cache-control"), Some("no-cache, no-store, must-revalidate, max-age=0"));
    let u = uptime.json();
    assert_eq!(
        (u["serviceId"].as_str(), u["retentionDays"].as_u64(), u["totalDays"].as_u64()),
        (Some("node-b"), Some(60), Some(1))
    );
    let days = u["days"].as_array().unwrap();
    assert_eq!(days.len(), 60);
    assert_eq!(
        days[0],
        json!({"date": days[0]["date"], "totalChecks": 0, "upChecks": 0, "downChecks": 0,
        "degradedChecks": 0, "unknownChecks": 0, "uptimePercentage": null})
    );
    let today = &days[59];
    assert!(today["totalChecks"].as_u64().unwrap() >= 1 && today["upChecks"] == today["totalChecks"], "{today}");
    assert_eq!((today["uptimePercentage"].as_f64(), u["overallUptime"].as_f64()), (Some(100.0), Some(100.0)));
    assert!(today["lastUpdate"].is_string());
    assert_eq!(today["date"].as_str().unwrap(), &summary["timestamp"].as_str().unwrap()[..10]);
    let a = get(&worker, "/api/uptime?serviceId=node-a").json();
    let t = &a["days"][59];
    assert_eq!(t["upChecks"].as_u64().unwrap() + t["downChecks"].as_u64().unwrap(), t["totalChecks"].as_u64().unwrap());
    let unknown = get(&worker, "/api/uptime?serviceId=no-such-service");
    assert_eq!(unknown.status, 200, "unknown ids are answered, as the seed");
    let unknown = unknown.json();
    assert_eq!((unknown["overallUptime"].as_u64(), unknown["totalDays"].as_u64()), (Some(0), Some(0)));
    assert_eq!(unknown["days"].as_array().unwrap().len(), 60);
    let missing = get(&worker, "/api/uptime");
    assert_eq!((missing.status, missing.json()), (400, json!({"error": "serviceId parameter required"})));
    let csv = get(&worker, "/api/uptime?serviceId=node-b&format=csv");
    assert_eq!((csv.status, csv.content_type.as_str()), (200, "text/csv; charset=utf-8"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "Date,Service Name,Service ID,Group,Status,Uptime %,Total Checks,Up Checks,Degraded Checks,Down Checks,Unknown Checks");
    assert!(lines[60].contains(",Node B,node-b,K3s Cluster,up,100,"), "{}", lines[60]);

    let logs = get(&worker, "/api/logs?serviceId=node-a");
    assert_eq!(logs.status, 200);
    let logs = logs.json();
    let words: Vec<&str> = logs.as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(words, ["down", "up"], "the change, then the heartbeat: {logs}");
    assert_eq!(logs[0]["lastSeen"], logs[1]["timestamp"]);
    assert_eq!(logs[0]["stalenessThreshold"], 2_000);
    assert_eq!(get(&worker, "/api/logs?serviceId=nope").json(), json!([]));
    assert_eq!(get(&worker, "/api/logs").json(), json!({"error": "serviceId parameter required"}));

    let recent = get(&worker, "/api/alerts/recent");
    assert_eq!(recent.status, 200);
    assert_eq!(recent.header("cache-control"), Some("no-cache, no-store, must-revalidate"));
    let r = recent.json();
    assert_eq!(
        (r["success"].as_bool(), r["periodHours"].as_u64(), r["count"].as_u64()),
        (Some(true), Some(24), Some(1)),
        "{r}"
    );
    let down = &r["alerts"][0];
    assert_eq!(
        (down["title"].as_str(), down["severity"].as_str(), down["source"].as_str()),
        (Some("Service Down: Node A"), Some("critical"), Some("heartbeat-monitor"))
    );
    assert_eq!(
        (down["serviceId"].as_str(), down["status"].as_str(), down["read"].as_bool()),
        (Some("node-a"), Some("down"), Some(false))
    );
    assert!(down["message"].as_str().unwrap().starts_with("Node A is not responding. Last seen: "), "{down}");
    assert!(down["id"].as_str().unwrap().starts_with("alert:"));
    let after = format!("/api/alerts/recent?since={}", down["timestamp"].as_str().unwrap());
    assert_eq!(get(&worker, &after).json()["count"], 0, "since is exclusive");
    let bad = get(&worker, "/api/alerts/recent?limit=many");
    assert_eq!(
        (bad.status, bad.json()["success"].as_bool(), bad.json()["count"].as_u64()),
        (400, Some(false), Some(0))
    );
}

#[test]
fn the_seeds_dashboard_json_brands_the_page() {
    let worker = spawn_build(CLOUDFLAREMON, &[]);
    let page = get(&worker, "/");
    assert_eq!(page.status, 200, "open without users.json, as the seed");
    let html = &page.body;
    for expected in [
        "<title>Homelab Status</title>",
        "Homelab Monitor",
        "cloudflaremon compatibility suite",
        "alt=\"Homelab logo\"",
        "https://ops.example.com/runbook",
        "Heartbeats every minute",
        "<strong>Maintenance on Sunday</strong>",
        "/assets/custom.css",
    ] {
        assert!(html.contains(expected), "{expected} missing");
    }
    assert!(!html.contains("alert(1)"), "the sanitiser removed the script and the handler");
    let css = get(&worker, "/assets/custom.css");
    assert_eq!((css.status, css.body.as_str()), (200, ".page-header-extra { font-weight: 600; }"));
    let theme = get(&worker, "/assets/theme.css").body;
    assert!(theme.contains("#0ea5e9") && theme.contains("#1f2937"), "{theme}");
}

#[test]
fn cors_headers_go_to_allowed_origins_only_and_preflights_are_answered() {
    let worker = spawn_build(CLOUDFLAREMON, &[]);
    for path in ["/api/status", "/api/services", "/api/uptime?serviceId=nas", "/api/alerts/recent", "/api/v1/status"] {
        let allowed = worker.send("GET", path, &[("Origin", ORIGIN)], "");
        assert_eq!(allowed.status, 200, "{path}");
        assert_eq!(allowed.header("access-control-allow-origin"), Some(ORIGIN), "{path}");
        assert_eq!(allowed.header("vary"), Some("Origin"), "{path}");
        let other = worker.send("GET", path, &[("Origin", "https://evil.example.com")], "");
        assert!(other.status == 200 && no_cors(&other), "{path}: {:?}", other.headers);
        assert!(no_cors(&get(&worker, path)), "{path} without Origin");
    }
    let preflight =
        worker.send("OPTIONS", "/api/status", &[("Origin", ORIGIN), ("Access-Control-Request-Method", "GET")], "");
    assert_eq!((preflight.status, preflight.body.as_str()), (200, ""));
    assert_eq!(preflight.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(preflight.header("access-control-allow-methods"), Some("GET, POST, OPTIONS"));
    assert_eq!(preflight.header("access-control-allow-headers"), Some("Content-Type, Authorization"));
    let any_path = worker.send("OPTIONS", "/anything", &[("Origin", ORIGIN)], "");
    assert_eq!((any_path.status, any_path.header("access-control-allow-origin")), (200, Some(ORIGIN)));
    let stranger = worker.send("OPTIONS", "/api/status", &[("Origin", "https://evil.example.com")], "");
    assert!(stranger.status == 200 && no_cors(&stranger), "{:?}", stranger.headers);
    let alert = worker.send("POST", "/api/alert", &[("Origin", ORIGIN)], r#"{"title": "t", "message": "m"}"#);
    assert!(no_cors(&alert), "the seed sends no CORS on /api/alert: {:?}", alert.headers);
    // No ALERT_API_KEY here: the seed's 503, word for word.
    assert_eq!(
        (alert.status, alert.json()),
        (503, json!({"success": false, "message": "Server misconfigured: ALERT_API_KEY not set"}))
    );
}

#[test]
fn alerts_route_by_their_channels_and_legacy_grafana_resolves() {
    let receiver = Receiver::start();
    let key = ("ALERT_API_KEY".to_owned(), "alert-key-0123456789".to_owned());
    let worker = spawn_build(CLOUDFLAREMON, &channel_env_for(CLOUDFLAREMON, &receiver, &[key]));
    let send = |body: &Value| {
        worker.send(
            "POST",
            "/api/alert",
            &[("Content-Type", "application/json"), ("Authorization", "Bearer alert-key-0123456789")],
            &body.to_string(),
        )
    };
    let unauthorized = post(&worker, "/api/alert", &json!({"title": "t", "message": "m"}));
    assert_eq!(
        (unauthorized.status, unauthorized.json()),
        (401, json!({"success": false, "message": "Unauthorized - Invalid or missing API key"}))
    );

    let alertmanager = |channels: &str, status: &str| {
        json!({"version": "4", "status": status, "receiver": "cloudflaremon", "alerts": [{
            "status": status, "labels": {"alertname": "DiskFull", "severity": "warning", "channels": channels},
            "annotations": {"summary": "Disk almost full", "description": "/var is 97 % full"},
            "startsAt": "2026-11-21T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}]})
    };
    let routed = send(&alertmanager("telegram", "firing"));
    assert_eq!(routed.status, 200, "{}", routed.body);
    assert_eq!(
        routed.json(),
        json!({"success": true, "message": "Alert processed and notifications sent",
            "alertTitle": "Disk almost full", "channelsSent": ["telegram"]})
    );
    receiver.wait("telegram-bot", 1, Duration::from_secs(20));

    // A named channel takes the alert whatever its events (none of this folder's lists
    // `alert`, as in a seed file); an unknown or disabled one is refused.
    let refused = send(&alertmanager("teams, slack, discord", "firing"));
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.json(),
        json!({"success": false, "message": "Alert validation failed",
            "errors": ["Channel 'teams' not found in configuration", "Channel 'slack' is disabled"],
            "availableChannels": [{"type": "telegram", "name": "Telegram Bot"}, {"type": "discord", "name": "Discord Ops"},
                {"type": "webhook", "name": "ops-webhook"}],
            "alertTitle": "Disk almost full"})
    );

    let grafana = |state: &str, title: &str| {
        json!({"ruleId": 7, "ruleName": "CPU high", "ruleUrl": "https://grafana.example.com/d/cpu",
            "state": state, "title": title, "message": "CPU above 90 %",
            "evalMatches": [{"metric": "cpu", "value": 97}], "tags": {"channels": "ops-webhook", "team": "infra"}})
    };
    let firing = send(&grafana("alerting", "[Alerting] CPU high"));
    assert_eq!((firing.status, firing.json()["channelsSent"].clone()), (200, json!(["webhook"])), "{}", firing.body);
    let ok = send(&grafana("ok", "[OK] CPU high"));
    assert_eq!((ok.status, ok.json()["channelsSent"].clone()), (200, json!(["webhook"])), "the resolution is sent");
    let hooks = receiver.wait("ops-webhook", 2, Duration::from_secs(20));
    let states: Vec<Value> = hooks.iter().map(|h| h.json()["alert"]["state"].clone()).collect();
    assert_eq!(states, [json!("firing"), json!("resolved")]);
    assert_eq!(hooks[0].json()["alert"]["severity"], "critical");

    // Unnamed, by the seed's mapping: ok/info → up (all three list it), warning → degraded
    // (Discord Ops lists only down and up).
    let generic = send(&json!({"title": "Backup drift", "message": "3 h behind", "severity": "ok"}));
    assert_eq!(generic.json()["channelsSent"], json!(["telegram", "discord", "webhook"]), "{}", generic.body);
    let warning = send(&json!({"title": "Replica lag", "message": "12 s", "severity": "warning"}));
    assert_eq!(warning.json()["channelsSent"], json!(["telegram", "webhook"]), "{}", warning.body);
    let unsupported = send(&json!({"message": "no title"}));
    assert_eq!(
        (unsupported.status, unsupported.json()),
        (
            400,
            json!({"success": false, "message": "Unsupported alert format. Use Alertmanager, Grafana, or generic format."})
        )
    );

    let recent = worker.wait_for("alerts recorded", Duration::from_secs(20), || {
        let r = get(&worker, "/api/alerts/recent?limit=1000").json();
        (r["count"].as_u64()? >= 3).then_some(r)
    });
    let cpu = recent["alerts"].as_array().unwrap().iter().find(|a| a["title"] == "[OK] CPU high").unwrap().clone();
    assert_eq!(
        (cpu["state"].as_str(), cpu["severity"].as_str(), cpu["source"].as_str(), cpu["read"].as_bool()),
        (Some("resolved"), Some("info"), Some("grafana"), Some(false)),
        "{cpu}"
    );
    assert!(recent["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["title"] != "Disk almost full" || a["state"] == "firing"));
}

#[test]
fn test_notifications_follow_the_seeds_intended_contract() {
    let receiver = Receiver::start();
    let worker = spawn_build(CLOUDFLAREMON, &channel_env_for(CLOUDFLAREMON, &receiver, &[]));
    let sent = post(&worker, "/api/test-notification", &json!({"channelType": "telegram", "eventType": "down"}));
    assert_eq!(
        (sent.status, sent.json()),
        (
            200,
            json!({"success": true, "message": "Test down notification sent to Telegram Bot",
                "channel": "Telegram Bot", "type": "telegram", "event": "down"})
        )
    );
    let got = receiver.wait("telegram-bot", 1, Duration::from_secs(20));
    assert!(got[0].body.contains("Test Notification Service"), "{}", got[0].body);
    let disabled = post(&worker, "/api/test-notification", &json!({"channelType": "slack"}));
    assert_eq!(
        (disabled.status, disabled.json()),
        (400, json!({"success": false, "message": "Channel 'Slack' is disabled"}))
    );
    let missing = post(&worker, "/api/test-notification", &json!({"channelType": "teams"}));
    assert_eq!(
        (missing.status, missing.json()),
        (404, json!({"success": false, "message": "Channel type 'teams' not found in config"}))
    );
    let bad = post(&worker, "/api/test-notification", &json!({"eventType": "down"}));
    assert_eq!((bad.status, bad.json()["success"].as_bool()), (400, Some(false)));
}

#[test]
fn switched_off_endpoints_answer_the_seeds_403_and_ours_keep_their_access_rules() {
    // tests/config switches these off (and test notifications are off by default) and has users.
    let worker = spawn_worker();
    for (method, path, body) in [
        ("GET", "/api/status", r#"{"error":"Status API is disabled"}"#),
        ("GET", "/api/uptime?serviceId=fast", r#"{"error":"Uptime API is disabled"}"#),
        ("GET", "/api/services", r#"{"error":"Services API is disabled"}"#),
        ("GET", "/api/alerts/recent", r#"{"error":"Alert history API is disabled"}"#),
        ("POST", "/api/alert", r#"{"error":"Alert API is disabled"}"#),
        ("POST", "/api/test-notification", r#"{"error":"Test notification API is disabled"}"#),
    ] {
        let a = worker.send(method, path, &[("Origin", ORIGIN)], "{}");
        assert_eq!((a.status, a.content_type.as_str(), a.body.as_str()), (403, "application/json", body), "{path}");
        assert!(no_cors(&a), "{path}");
    }
    // Without users.json a deployment is open, as the seed; with users our rules hold.
    let logs = worker.send("GET", "/api/logs?serviceId=fast", &[], "");
    assert_eq!((logs.status, logs.content_type.as_str()), (401, "application/problem+json"));
    let admin = format!("Bearer {}", systole_e2e::ADMIN_TOKEN);
    let logs = worker.send("GET", "/api/logs?serviceId=fast", &[("Authorization", &admin)], "");
    assert_eq!((logs.status, logs.json()), (200, json!([])));
    // The heartbeat endpoint stays on; no allowedOrigins here: no CORS for anyone.
    let v1 = worker.send("GET", "/api/v1/status", &[("Origin", ORIGIN), ("Authorization", &admin)], "");
    assert!(v1.status == 200 && no_cors(&v1));
}
