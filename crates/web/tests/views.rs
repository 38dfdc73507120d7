//! Snapshot tests of the rendered pages (an empty fleet, one service, 1,000 services across
//! groups) plus the properties that matter whatever the snapshot: escaping, scope, order.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use systole_core::access::Scope;
use systole_core::api::status::StoredState;
use systole_core::config::Config;
use systole_core::history::Tally;
use systole_core::monitor::Status;
use systole_core::time::{Timestamp, DAY_MS};
use systole_core::uptime;
use systole_web::pages::{self, Chrome};
use systole_web::view::{self, ActivityItem, Tone, Viewer, Window};
use systole_web::Branding;

/// 2026-11-21T12:00:00Z.
const NOW: Timestamp = Timestamp::from_millis(1_795_262_400_000);

/// The first day of a 10-day uptime window ending at [`NOW`].
fn ten_days() -> Timestamp {
    systole_core::config::Settings { uptime_retention_days: 10, ..Default::default() }.uptime_window_start(NOW)
}

fn chrome<'a>(b: &'a Branding, viewer: &'a Viewer) -> Chrome<'a> {
    Chrome { branding: b, viewer, now: NOW, live: Some("/api/v1/live") }
}

fn state(id: &str, status: Status, message: &str) -> StoredState {
    StoredState {
        service_id: id.into(),
        status,
        status_since: NOW - Duration::from_secs(3600),
        incident_started_at: None,
        accounted_until: Some(NOW - Duration::from_secs(60)),
        last_heartbeat: Some(NOW - Duration::from_secs(42)),
        last_message: Some(message.into()),
    }
}

/// Uptime rows for the last `days` days of every service in `config`: one bad day 3 days ago.
fn uptime(config: &Config, states: &[StoredState], days: i64) -> Vec<uptime::ServiceUptime> {
    let today = NOW.day_start().as_millis();
    let mut rows = Vec::new();
    for s in &config.services {
        for d in 1..=days {
            let mut t = Tally::default();
            t.add(Status::Up, if d == 3 { DAY_MS - 3_600_000 } else { DAY_MS });
            if d == 3 {
                t.add(Status::Down, 3_600_000);
            }
            rows.push((s.id.to_string(), today - d * DAY_MS, t));
        }
    }
    let from = Timestamp::from_millis(today - 9 * DAY_MS);
    uptime::report(config, None, &rows, states, from, NOW, NOW)
}

#[test]
fn empty_fleet() {
    let config = Config::parse(None, None).unwrap();
    let b = Branding::default();
    let fleet = view::fleet(&config, Scope::All, &[], &[]);
    let html = pages::dashboard(&chrome(&b, &Viewer::Open), &fleet, &[], Window::Day, ten_days()).into_string();
    assert!(html.contains("No services to show yet"));
    assert!(html.contains("Open dashboard:"), "the open footer says so");
    insta::assert_snapshot!("empty_fleet", pretty(&html));
}

#[test]
fn one_service_renders_hostile_text_as_text() {
    let config = Config::parse(
        Some(r#"{"services": [{"id": "xss", "name": "<img src=x onerror=alert(1)>", "stalenessThreshold": 60}]}"#),
        None,
    )
    .unwrap();
    let b = Branding::default();
    let states = [state("xss", Status::Down, "<script>alert(2)</script>")];
    let fleet = view::fleet(&config, Scope::All, &states, &uptime(&config, &states, 5));
    let activity = [ActivityItem {
        at: NOW - Duration::from_secs(60),
        service_id: Some("xss".into()),
        text: "Up → Down (no heartbeat for 60 s)".into(),
        tone: Tone::Bad,
    }];
    let viewer = Viewer::User { name: "Ana <admin>".into(), admin: true };
    let html = pages::dashboard(&chrome(&b, &viewer), &fleet, &activity, Window::Day, ten_days()).into_string();
    assert!(!html.contains("<img src=x"), "name escaped");
    assert!(!html.contains("<script>alert"), "message escaped");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"));
    assert!(html.contains("<title>(1 down) Systole</title>"));
    assert!(html.contains("no data"), "days before the first rollup are marked as no data");
    insta::assert_snapshot!("one_service", pretty(&html));
}

#[test]
fn a_thousand_services_across_groups_in_order_with_ungrouped_last() {
    let mut groups = Vec::new();
    let mut services = Vec::new();
    for g in 0..10 {
        let ids: Vec<String> = (0..95).map(|i| format!("svc-{g}-{i:03}")).collect();
        services.extend(ids.iter().map(|id| serde_json::json!({"id": id})));
        groups.push(serde_json::json!({"id": format!("group-{g}"), "name": format!("Group {g}"), "services": ids}));
    }
    services.extend((0..50).map(|i| serde_json::json!({"id": format!("loose-{i:02}")})));
    let json = serde_json::json!({"groups": groups, "services": services}).to_string();
    let config = Config::parse(Some(&json), None).unwrap();
    assert_eq!(config.services.len(), 1000);
    let states: Vec<StoredState> = config
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| state(s.id.as_str(), if i % 100 == 7 { Status::Down } else { Status::Up }, "ok"))
        .collect();
    let b = Branding::default();
    let fleet = view::fleet(&config, Scope::All, &states, &uptime(&config, &states, 10));
    assert_eq!((fleet.summary.total, fleet.summary.down, fleet.summary.up), (1000, 10, 990));
    let names: Vec<&str> = fleet.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"Group 0"));
    assert_eq!(names.last(), Some(&"Other services"));
    let html = pages::dashboard(&chrome(&b, &Viewer::Open), &fleet, &[], Window::Day, ten_days()).into_string();
    assert_eq!(html.matches("<li class=\"row\"").count(), 1000);
    // Per service 10 days: 9 excellent and the day with an hour down; today is down (band
    // "poor") for the 10 services down now. Plus one in the legend.
    assert_eq!(html.matches("class=\"u0\"").count(), 1000 * 9 - 10 + 1);
    assert_eq!(html.matches("class=\"u2\"").count(), 1000 + 1);
    // One snapshot of the structure, not of 1,000 rows: headings and counts.
    let outline: Vec<String> = fleet.groups.iter().map(|g| format!("{} ({})", g.name, g.services.len())).collect();
    insta::assert_snapshot!("thousand_outline", outline.join("\n"));

    let viewer_groups = vec!["group-3".to_owned()];
    let scoped = view::fleet(&config, Scope::Groups(&viewer_groups), &states, &[]);
    assert_eq!(scoped.summary.total, 95);
    assert!(scoped.rows().all(|r| r.id.starts_with("svc-3-")));
}

#[test]
fn the_public_page_shows_public_groups_without_messages() {
    let config = Config::parse(
        Some(
            r#"{"groups": [{"id": "web", "name": "Website", "public": true, "services": ["site"]},
                           {"id": "ops", "services": ["db"]}],
                "services": [{"id": "site", "name": "Site"}, {"id": "db"}]}"#,
        ),
        Some(r#"{"statusPage": {"enabled": true}}"#),
    )
    .unwrap();
    let states = [state("site", Status::Up, "internal detail"), state("db", Status::Down, "secret")];
    let b = Branding::default();
    let fleet = view::fleet(&config, Scope::Public, &states, &[]);
    let c = Chrome { live: Some("/status/live"), ..chrome(&b, &Viewer::Public) };
    let html = pages::status(&c, &fleet).into_string();
    assert!(html.contains("Site") && !html.contains("internal detail") && !html.contains("secret"));
    assert!(!html.contains("data-service=\"db\""));
    assert!(html.contains("All systems operational"));
}

#[test]
fn the_service_page_shows_incidents_heartbeats_and_a_metric_chart() {
    let config = Config::parse(Some(r#"{"services": [{"id": "api", "name": "API"}]}"#), None).unwrap();
    let states = [state("api", Status::Up, "fine")];
    let fleet = view::fleet(&config, Scope::All, &states, &uptime(&config, &states, 3));
    let row = fleet.rows().next().unwrap().clone();
    let metrics = view::metric_series(
        [
            (NOW - Duration::from_secs(1), Some(r#"{"latency_ms": 12}"#)),
            (NOW - Duration::from_secs(2), Some(r#"{"latency_ms": 30}"#)),
        ]
        .into_iter(),
        6,
    );
    let detail = view::ServiceDetail {
        row,
        group: None,
        staleness_threshold_s: 300,
        grace_period_s: 0,
        next_deadline: Some(NOW + Duration::from_secs(258)),
        changes: vec![view::ChangeRecord {
            service_id: "api".into(),
            at: NOW - Duration::from_secs(3600),
            from: Status::Down,
            to: Status::Up,
            reason: "heartbeat received".into(),
        }],
        incidents: vec![view::IncidentView {
            started_at: NOW - Duration::from_secs(7200),
            ended_at: Some(NOW - Duration::from_secs(3600)),
            cause: "no heartbeat for 300 s".into(),
        }],
        heartbeats: vec![view::HeartbeatView {
            at: NOW - Duration::from_secs(42),
            reported: "up".into(),
            message: Some("fine".into()),
            metadata: Some(r#"{"host":"<b>"}"#.into()),
        }],
        metrics,
    };
    let html = pages::service(&chrome(&b(), &Viewer::Open), &detail).into_string();
    assert!(html.contains("<td>1 h</td>"), "incident duration, in the one human form (time::human_duration)");
    assert!(html.contains("&lt;b&gt;"), "metadata escaped");
    assert!(html.contains("<polyline points=\"0.0,8.0 600.0,112.0\""), "{html}");
    insta::assert_snapshot!("service_page", pretty(&html));
}

fn b() -> Branding {
    Branding::default()
}

/// One tag per line, so snapshot diffs are readable.
fn pretty(html: &str) -> String {
    html.replace('>', ">\n")
}

#[test]
fn the_sign_in_page_escapes_its_error_and_has_no_live_stream() {
    let b = Branding::default();
    let c = Chrome { live: None, ..chrome(&b, &Viewer::Anonymous) };
    let html = pages::login(&c, Some("<b>bad</b>")).into_string();
    assert!(html.contains("&lt;b&gt;bad&lt;/b&gt;") && html.contains("type=\"password\""));
    assert!(!html.contains("data-live") && !html.contains("id=\"banner\""));
    assert!(html.contains("Sign in to see the services of your groups."));
}
