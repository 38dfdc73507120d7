//! Snapshot tests of the rendered pages (an empty fleet, one service, 1,000 services across
//! groups) plus the properties that matter whatever the snapshot: escaping, scope, order.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use systole_core::access::Scope;
use systole_core::api::status::StoredState;
use systole_core::config::{Config, Settings};
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

/// Default settings, for pages whose settings do not matter.
static SETTINGS: std::sync::LazyLock<Settings> = std::sync::LazyLock::new(Settings::default);

fn chrome<'a>(b: &'a Branding, viewer: &'a Viewer) -> Chrome<'a> {
    Chrome { branding: b, settings: &SETTINGS, viewer, now: NOW, live: Some("/api/v1/live"), admin: None }
}

fn state(id: &str, status: Status, message: &str) -> StoredState {
    StoredState {
        service_id: id.into(),
        status,
        status_since: NOW - Duration::from_secs(3600),
        incident_started_at: None,
        accounted_until: Some(NOW - Duration::from_secs(60)),
        resumed_at: None,
        last_heartbeat: Some(NOW - Duration::from_secs(42)),
        last_message: Some(message.into()),
        pinged_too_often: false,
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
    let html = pages::dashboard(&chrome(&b, &Viewer::Open), &fleet, &[], Window::Day, ten_days(), "").into_string();
    assert!(html.contains("No services to show yet"));
    assert!(html.contains("Open dashboard:"), "the open footer says so");
    insta::assert_snapshot!("empty_fleet", pretty(&html));
}

#[test]
fn a_paged_fleet_shows_its_page_the_attention_list_and_the_whole_fleets_counts() {
    let ids: Vec<String> = (0..250).map(|i| format!("svc-{i:03}")).collect();
    let json = serde_json::json!({
        "groups": [{"id": "a", "name": "Group A", "services": ids[..150]}],
        "services": ids.iter().map(|id| serde_json::json!({"id": id})).collect::<Vec<_>>(),
    })
    .to_string();
    let config = Config::parse(Some(&json), None).unwrap();
    let listing = view::listing(&config, Scope::All);
    assert_eq!((listing.len(), listing[0], listing[150]), (250, "svc-000", "svc-150"), "groups first, then ungrouped");
    let paging = view::Paging::new(2, 100, listing.len());
    assert_eq!((paging.pages, paging.range()), (3, 100..200));
    assert_eq!(view::Paging::new(9, 100, 250).page, 3, "past the end: the last page");
    let shown = &listing[paging.range()];
    let states: Vec<StoredState> = shown.iter().map(|id| state(id, Status::Up, "ok")).collect();
    let down = [state("svc-007", Status::Down, "disk full")];
    let summary = systole_core::api::status::Summary { total: 250, up: 249, down: 1, ..Default::default() };
    let fleet = view::fleet_page(&config, Scope::All, shown, &states, &[], summary, Some(paging), &down);
    assert_eq!(fleet.rows().count(), 100);
    assert_eq!(fleet.groups.iter().map(|g| (g.services.len(), g.total)).collect::<Vec<_>>(), [(50, 150), (50, 100)]);
    let b = Branding::default();
    let html =
        pages::dashboard(&chrome(&b, &Viewer::Open), &fleet, &[], Window::Day, ten_days(), "activity=7d").into_string();
    assert_eq!(html.matches("<li class=\"row\"").count(), 101, "the page and the one service down");
    assert!(html.contains("data-paged=\"2\""));
    assert!(html.contains("Services 101–200 of 250 · page 2 of 3"));
    assert!(html.contains("href=\"/?activity=7d&amp;page=1\"") && html.contains("href=\"/?activity=7d&amp;page=3\""));
    assert!(html.contains("Needs attention") && html.contains("disk full"));
    assert!(html.contains("Group A<span class=\"muted\"> · 150 (50 on this page)"));
    assert!(html.contains("<title>(1 down) Systole</title>"), "the whole fleet's count");
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
    let html = pages::dashboard(&chrome(&b, &viewer), &fleet, &activity, Window::Day, ten_days(), "").into_string();
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
    let html = pages::dashboard(&chrome(&b, &Viewer::Open), &fleet, &[], Window::Day, ten_days(), "").into_string();
    assert_eq!(html.matches("<li class=\"row\"").count(), 1000);
    // Per service 10 days: 9 excellent and the day with an hour down; today is down (band
    // "poor") for the 10 services down now. Plus one in each of the 11 groups' legends.
    assert_eq!(html.matches("class=\"u0-0\"").count(), 1000 * 9 - 10 + 11);
    assert_eq!(html.matches("class=\"u0-2\"").count(), 1000 + 11);
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
    let html = pages::status(&c, &fleet, "").into_string();
    assert!(html.contains("Site") && !html.contains("internal detail") && !html.contains("secret"));
    assert!(!html.contains("data-service=\"db\""));
    assert!(html.contains("All systems operational"));
}

#[test]
fn the_status_page_lists_maintenance_in_progress_then_scheduled_with_its_reason_escaped() {
    let config = Config::parse(
        Some(r#"{"groups": [{"id": "web", "public": true, "services": ["site"]}], "services": [{"id": "site", "name": "Site"}]}"#),
        Some(r#"{"statusPage": {"enabled": true}}"#),
    )
    .unwrap();
    let states = [state("site", Status::Maintenance, "")];
    let b = Branding::default();
    let fleet = view::fleet(&config, Scope::Public, &states, &[]);
    let c = Chrome { live: Some("/status/live"), ..chrome(&b, &Viewer::Public) };
    let item = |active: bool, start: i64, reason: &str| view::MaintenanceItem {
        target: "Site".into(),
        active,
        start: NOW + Duration::from_secs(start as u64),
        end: NOW + Duration::from_secs(start as u64 + 3600),
        recurring: (!active).then(|| "every day at 03:00 (UTC)".to_owned()),
        reason: Some(reason.into()),
    };
    let windows = [item(false, 7200, "nightly"), item(true, 0, "<db> upgrade")];
    let html = pages::status_with_maintenance(&c, &fleet, "", &windows).into_string();
    let (active, scheduled) = (html.find("In progress").unwrap(), html.find("Scheduled").unwrap());
    assert!(active < scheduled, "in progress first");
    assert!(html.contains("&lt;db&gt; upgrade") && !html.contains("<db>"));
    assert!(html.contains("Recurring: every day at 03:00 (UTC)"));
    assert!(html.contains("badge s-maintenance") && html.contains("data-status=\"maintenance\""));
    assert!(!pages::status(&c, &fleet, "").into_string().contains("In progress"), "no windows, no section");
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
        schedule: None,
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
            suppressed: None,
            acknowledged: None,
            id: "api.1".into(),
        }],
        heartbeats: vec![view::HeartbeatView {
            at: NOW - Duration::from_secs(42),
            reported: "up".into(),
            event: None,
            exit_status: None,
            message: Some("fine".into()),
            metadata: Some(r#"{"host":"<b>"}"#.into()),
        }],
        metrics,
        runs: vec![],
        pinged_too_often: false,
        group_id: None,
        managed: None,
        dependencies: Default::default(),
        audit: None,
        telemetry: None,
        can_acknowledge: false,
    };
    let html = pages::service(&chrome(&b(), &Viewer::Open), &detail).into_string();
    assert!(html.contains("<td>1 h</td>"), "incident duration, in the one human form (time::human_duration)");
    assert!(html.contains("&lt;b&gt;"), "metadata escaped");
    assert!(html.contains("<polyline points=\"0.0,8.0 600.0,112.0\""), "{html}");
    insta::assert_snapshot!("service_page", pretty(&html));

    // With telemetry: the label, a tile per metric with its unit and sparkline, a chart per
    // metric at its resolution, the range links, and the error groups (escaped).
    use systole_core::telemetry::{Latest, Point, Reliability, Resolution};
    let telemetry = view::TelemetryView {
        tiles: vec![Latest { name: "latency_ms".into(), value: 12.0, at: NOW - Duration::from_secs(1) }],
        range: "7d",
        resolution: Resolution::FiveMin,
        charts: vec![(
            "latency_ms".into(),
            vec![
                Point { t: 0, min: 10.0, avg: 20.0, max: 30.0, count: 3 },
                Point { t: 300_000, min: 5.0, avg: 6.0, max: 7.0, count: 2 },
            ],
        )],
        errors: vec![view::ErrorGroupView {
            fingerprint: "db".into(),
            message: "<boom>".into(),
            stack: Some("at x".into()),
            count: 3,
            first_seen: NOW - Duration::from_secs(600),
            last_seen: NOW - Duration::from_secs(60),
        }],
        reliability: (Reliability::Good, Some(99.7), 2),
    };
    let detail = view::ServiceDetail { telemetry: Some(telemetry), ..detail };
    let html = pages::service(&chrome(&b(), &Viewer::Open), &detail).into_string();
    for part in [
        "<strong class=\"s-up\">good</strong>",
        "99.70 % uptime",
        "data-metric=\"latency_ms\"",
        "12 ms",
        "aria-label=\"latency_ms: 2 recent values from 12 ms to 30 ms\"",
        "data-resolution=\"5m\"",
        "<polygon class=\"band\"",
        "href=\"/services/api?range=90d#charts-h\"",
        "<strong aria-current=\"true\">7d</strong>",
        "&lt;boom&gt;",
        "data-fingerprint=\"db\"",
    ] {
        assert!(html.contains(part), "{part} missing:\n{html}");
    }
}

#[test]
fn a_scheduled_service_page_shows_the_schedule_in_words_and_the_next_run_in_its_zone_and_utc() {
    let config = Config::parse(
        Some(r#"{"services": [{"id": "backup", "schedule": "30 2 * * *", "timezone": "Europe/Berlin"}]}"#),
        None,
    )
    .unwrap();
    let states = [state("backup", Status::Up, "done")];
    let fleet = view::fleet(&config, Scope::All, &states, &uptime(&config, &states, 3));
    let detail = view::ServiceDetail {
        row: fleet.rows().next().unwrap().clone(),
        group: None,
        staleness_threshold_s: 300,
        schedule: config.services[0].schedule.clone(),
        grace_period_s: 600,
        next_deadline: None,
        changes: vec![],
        incidents: vec![],
        heartbeats: [
            (Some("fail"), Some(3), "up"),
            (None, Some(0), "up"),
            (Some("start"), None, "up"),
            (Some("log"), None, "up"),
            (None, None, "degraded"),
        ]
        .into_iter()
        .map(|(event, exit_status, reported)| view::HeartbeatView {
            at: NOW - Duration::from_secs(42),
            reported: reported.into(),
            event: event.map(Into::into),
            exit_status,
            message: None,
            metadata: None,
        })
        .collect(),
        metrics: vec![],
        pinged_too_often: true,
        runs: vec![
            view::RunView {
                n: 9,
                started_at: Some(NOW - Duration::from_secs(100)),
                ended_at: Some(NOW - Duration::from_secs(40)),
                duration_ms: Some(60_000),
                outcome: "fail".into(),
                exit_status: Some(3),
                reason: Some("failed".into()),
                has_output: true,
            },
            view::RunView {
                n: 5,
                started_at: Some(NOW - Duration::from_secs(300)),
                ended_at: None,
                duration_ms: None,
                outcome: "overrun".into(),
                exit_status: None,
                reason: Some("overrun".into()),
                has_output: false,
            },
        ],
        group_id: None,
        managed: None,
        dependencies: Default::default(),
        audit: None,
        telemetry: None,
        can_acknowledge: false,
    };
    let html = pages::service(&chrome(&b(), &Viewer::Open), &detail).into_string();
    // The runs, newest first: the failure with its exit status and a link to its log, the
    // unfinished overrun; the chart has the one finished run's duration.
    assert!(html.contains(r#"<tr data-run="9">"#) && html.contains(r#"<tr data-run="5">"#), "{html}");
    assert!(html.find(r#"data-run="9""#) < html.find(r#"data-run="5""#));
    assert!(
        html.contains(
            r#"<td class="s-down">fail</td><td>3</td><td><a href="/api/v1/services/backup/runs/9/log">log</a></td>"#
        ),
        "{html}"
    );
    assert!(html.contains(r#"<td class="s-down">overrun</td>"#) && html.contains("unfinished"), "{html}");
    // Recent heartbeats show each signal: a fail with its exit status, a run's success, a
    // start, a log, a plain heartbeat's report; and the pingedTooOften flag.
    for signal in [
        r#"<td class="s-down">fail (exit status 3)</td>"#,
        r#"<td class="s-up">success (exit status 0)</td>"#,
        "<td>start</td>",
        "<td>log</td>",
        r#"<td class="s-degraded">degraded</td>"#,
    ] {
        assert!(html.contains(signal), "{signal}: {html}");
    }
    assert!(html.contains(r#"data-field="pinged-too-often""#), "{html}");
    assert!(html.contains("run duration (s)") && html.contains("1 point"), "{html}");
    let grace = systole_core::time::human_duration(Duration::from_secs(600));
    assert!(
        html.contains(&format!("every day at 02:30 (Europe/Berlin), grace {grace} <code>30 2 * * *</code>")),
        "{html}"
    );
    let next = config.services[0].schedule.as_ref().unwrap().next_after(NOW).unwrap();
    let zone = config.services[0].schedule.as_ref().unwrap().zone();
    assert!(html.contains(&format!("{}</time> ({})", next.human_in(zone), next.human())), "{html}");
    assert_eq!(next.human_in(zone), "2026-11-22 02:30:00 CET");
    assert!(!html.contains("Expected every"));
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

/// The seed's `dashboard.json` fields, each with its effect on the page.
#[test]
fn dashboard_json_sets_the_header_links_logo_theme_footer_custom_css_and_html() {
    let b = Branding::parse(Some(
        r##"{"header": {"title": "Acme", "subtitle": "Ops", "logoUrl": "/assets/favicon.svg", "logoAlt": "Acme logo",
                        "showLogo": true, "links": [{"text": "Home", "url": "/"},
                        {"text": "Docs", "url": "https://docs.example.com/x", "highlight": true}]},
             "branding": {"pageTitle": "Acme Status", "favicon": "/assets/favicon.svg", "primaryColor": "#3b82f6"},
             "theme": {"defaultMode": "dark", "showToggle": false},
             "footer": {"text": "Powered by <Workers>", "links": [{"text": "Status", "url": "/status"},
                        {"text": "GitHub", "url": "http://github.example"}]},
             "customCss": ".acme { color: red }",
             "customHtml": {"headerExtra": "<p class=\"notice\">Maintenance <b>Sunday</b></p>", "footerExtra": "<em>v2</em>"}}"##,
    ))
    .unwrap();
    let config = Config::parse(Some(r#"{"services": [{"id": "api"}]}"#), None).unwrap();
    let fleet = view::fleet(&config, Scope::All, &[], &[]);
    let html = pages::dashboard(&chrome(&b, &Viewer::Open), &fleet, &[], Window::Day, ten_days(), "").into_string();
    assert!(html.contains("<title>Acme Status</title>"));
    assert!(html.contains(r#"<img class="logo" src="/assets/favicon.svg" alt="Acme logo""#), "logoAlt");
    assert!(html.contains(r#"<nav class="links" aria-label="Links"><a href="/">Home</a>"#), "internal: same tab");
    assert!(
        html.contains(
            r#"<a class="hl" href="https://docs.example.com/x" target="_blank" rel="noopener noreferrer">Docs</a>"#
        ),
        "external: new tab, no opener, highlighted"
    );
    assert!(html.contains(r#"<html lang="en" data-default-mode="dark">"#), "defaultMode for theme.js");
    assert!(!html.contains("theme-toggle"), "showToggle: false");
    assert!(html.contains("<span>Powered by &lt;Workers&gt;</span>"), "footer text escaped");
    assert!(html.contains(r#" <a href="/status">Status</a> <a href="http://github.example" target="_blank" rel="noopener noreferrer">GitHub</a>"#));
    assert!(html.contains(r#"<link rel="stylesheet" href="/assets/custom.css">"#), "customCss as a stylesheet");
    assert!(!html.contains(".acme"), "never inline");
    assert!(html.contains(r#"<div class="page-header-extra"><p class="notice">Maintenance <b>Sunday</b></p></div>"#));
    assert!(html.contains(r#"<div class="page-footer-extra"><em>v2</em></div>"#));

    let plain =
        pages::dashboard(&chrome(&Branding::default(), &Viewer::Open), &fleet, &[], Window::Day, ten_days(), "")
            .into_string();
    for absent in ["custom.css", "page-header-extra", "page-footer-extra", "data-default-mode", "class=\"links\""] {
        assert!(!plain.contains(absent), "{absent} without its field");
    }
    assert!(plain.contains("theme-toggle"));
}

/// `settings.json` `features` off: each control and column is gone; `autoRefreshSeconds`
/// and `alertNotifications` reach the script.
#[test]
fn settings_features_and_alert_notifications_shape_the_dashboard() {
    let config = Config::parse(
        Some(r#"{"services": [{"id": "api"}]}"#),
        Some(
            r#"{"features": {"showRefreshButton": false, "showLastUpdated": false, "autoRefreshSeconds": 60,
                "showUptimePercentage": false, "showUptimeHistory": false, "showExportButton": false,
                "showAlertHistoryButton": false},
               "alertNotifications": {"pollingIntervalSeconds": 5, "localStorageKey": "acme-last",
                "severityFilter": ["Critical"], "enableBrowserNotifications": false}}"#,
        ),
    )
    .unwrap();
    let b = Branding::default();
    let states = [state("api", Status::Up, "ok")];
    let fleet = view::fleet(&config, Scope::All, &states, &uptime(&config, &states, 5));
    let c = Chrome { settings: &config.settings, ..chrome(&b, &Viewer::Open) };
    let html = pages::dashboard(&c, &fleet, &[], Window::Day, ten_days(), "").into_string();
    for gone in [
        "id=\"refresh\"",
        "id=\"updated\"",
        "class=\"pct",
        "class=\"bar\"",
        "class=\"legend\"",
        "activity-panel",
        "export-h",
        "id=\"notify\"",
    ] {
        assert!(!html.contains(gone), "{gone} is hidden");
    }
    assert!(html.contains(r#"data-auto-refresh="60""#));
    let alerts = html.split("data-alerts=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().replace("&quot;", "\"");
    let alerts: serde_json::Value = serde_json::from_str(&alerts).unwrap();
    assert_eq!(
        alerts,
        serde_json::json!({"pollingIntervalSeconds": 5, "localStorageKey": "acme-last", "severityFilter": ["critical"],
                           "enableToastNotifications": true, "enableBrowserNotifications": false})
    );
    assert!(html.contains(r#"<div class="toasts" id="toasts" role="region" aria-label="Alerts" aria-live="polite">"#));

    // Everything on (the defaults): the controls are there.
    let html = pages::dashboard(&chrome(&b, &Viewer::Open), &fleet, &[], Window::Day, ten_days(), "").into_string();
    for shown in [
        "id=\"refresh\"",
        "id=\"updated\"",
        "class=\"pct u0-",
        "class=\"bar\"",
        "class=\"legend\"",
        "activity-panel",
        "export-h",
        "id=\"notify\"",
    ] {
        assert!(html.contains(shown), "{shown} is shown");
    }
    assert!(!html.contains("data-auto-refresh"), "0: no auto refresh");

    // No pop-ups when both kinds are off, and never on the public page.
    let off = Config::parse(
        Some(r#"{"services": [{"id": "api"}]}"#),
        Some(r#"{"alertNotifications": {"enableToastNotifications": false, "enableBrowserNotifications": false}}"#),
    )
    .unwrap();
    let c = Chrome { settings: &off.settings, ..chrome(&b, &Viewer::Open) };
    let html = pages::dashboard(&c, &fleet, &[], Window::Day, ten_days(), "").into_string();
    assert!(!html.contains("data-alerts") && !html.contains("id=\"toasts\""));
    let public =
        pages::status(&Chrome { live: Some("/status/live"), ..chrome(&b, &Viewer::Public) }, &fleet, "").into_string();
    assert!(!public.contains("data-alerts") && !public.contains("id=\"toasts\""));
}

/// Each service's bars and percentage are coloured by its own threshold profile; each
/// group's legend is its first service's profile, written as the seed's.
#[test]
fn services_are_coloured_by_their_threshold_profile_with_a_legend_per_group() {
    let config = Config::parse(
        Some(
            r#"{"groups": [{"id": "prod", "name": "Production", "uptimeThresholdSet": "strict", "services": ["api"]},
                           {"id": "lab", "name": "Lab", "services": ["toy"]}],
                "services": [{"id": "api"}, {"id": "toy"}]}"#,
        ),
        Some(
            r##"{"uptimeThresholds": {
                "default": [{"name": "ok", "min": 90, "color": "#10b981", "label": "Fine"}, {"name": "bad", "min": 0, "color": "#ef4444", "label": "Bad"}],
                "strict": [{"name": "ok", "min": 99.9, "color": "#059669", "label": "Strict"}, {"name": "bad", "min": 0, "color": "#dc2626", "label": "Breach"}]}}"##,
        ),
    )
    .unwrap();
    let b = Branding::default();
    let states = [state("api", Status::Up, "ok"), state("toy", Status::Up, "ok")];
    let fleet = view::fleet(&config, Scope::All, &states, &uptime(&config, &states, 5));
    let c = Chrome { settings: &config.settings, ..chrome(&b, &Viewer::Open) };
    let html = pages::dashboard(&c, &fleet, &[], Window::Day, ten_days(), "").into_string();
    let section = |id: &str| {
        html.split(&format!("<section class=\"group\" aria-labelledby=\"g-{id}\">"))
            .nth(1)
            .unwrap()
            .split("</section>")
            .next()
            .unwrap()
            .to_owned()
    };
    let (prod, lab) = (section("prod"), section("lab"));
    // 99.17 % over the window: a breach of "strict" (index 1 in name order), fine by "default".
    assert!(prod.contains("Strict ≥99.9%") && prod.contains("Breach ≥0%"), "{prod}");
    assert!(prod.contains(r#"<span class="pct u1-1""#), "{prod}");
    assert!(prod.contains(r#"<i class="u1-1" title="#) && !prod.contains("u0-"), "{prod}");
    assert!(lab.contains("Fine ≥90%") && lab.contains(r#"<span class="pct u0-0""#), "{lab}");
    let css = systole_web::branding::theme_css(&b, &config.settings);
    assert!(css.contains(".u1-1{background:#dc2626}") && css.contains(".pct.u0-0{color:#10b981;"), "{css}");
}

/// A managed service's page as an admin sees it (with `admin`) or a viewer (without).
fn managed_page(admin: Option<&view::AdminView>, status: Status) -> String {
    let config = Config::parse(
        Some(r#"{"groups": [{"id": "ops", "services": ["api"]}], "services": [{"id": "api", "name": "API"}]}"#),
        None,
    )
    .unwrap();
    let states = [state("api", status, "fine")];
    let fleet = view::fleet(&config, Scope::All, &states, &uptime(&config, &states, 3));
    let detail = view::ServiceDetail {
        row: fleet.rows().next().unwrap().clone(),
        group: Some("Ops".into()),
        staleness_threshold_s: 300,
        schedule: None,
        grace_period_s: 60,
        next_deadline: None,
        changes: vec![],
        incidents: vec![],
        heartbeats: vec![],
        metrics: vec![],
        runs: vec![],
        pinged_too_often: false,
        group_id: Some("ops".into()),
        managed: Some(view::ManagedView {
            description: Some("<i>the</i> API".into()),
            tags: vec!["prod".into(), "eu".into()],
            ping_id: Some("5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278".into()),
        }),
        dependencies: Default::default(),
        audit: Some(vec![
            view::AuditEntry {
                at: NOW - Duration::from_secs(60),
                actor: "user:ana".into(),
                action: "pause".into(),
                detail: String::new(),
            },
            view::AuditEntry {
                at: NOW - Duration::from_secs(3600),
                actor: "api-key".into(),
                action: "create".into(),
                detail: "<script>".into(),
            },
        ]),
        telemetry: None,
        can_acknowledge: false,
    };
    let viewer = Viewer::User { name: "Ana".into(), admin: admin.is_some() };
    pages::service(&Chrome { admin, ..chrome(&b(), &viewer) }, &detail).into_string()
}

#[test]
fn an_admin_gets_the_manage_panel_the_dialogs_and_the_change_log_of_a_managed_service() {
    let admin = view::AdminView { groups: vec![("ops".into(), "Ops".into())], channels: vec!["discord".into()] };
    let html = managed_page(Some(&admin), Status::Up);
    for control in [
        r#"data-act="edit""#,
        r#"data-act="pause""#,
        r#"data-act="rotate""#,
        r#"data-act="delete""#,
        r#"id="service-dialog""#,
        r#"id="key-dialog""#,
        r#"id="confirm-dialog""#,
        r#"id="notice""#,
        r#"<option value="ops">Ops</option>"#,
        r#"<option value="discord">discord</option>"#,
        r#"data-service="api""#,
    ] {
        assert!(html.contains(control), "{control} missing:\n{html}");
    }
    assert!(!html.contains(r#"data-act="resume""#));
    // The edit form's values, as the API's body, escaped into the attribute.
    assert!(
        html.contains(
            r#"data-spec="{&quot;description&quot;:&quot;&lt;i&gt;the&lt;/i&gt; API&quot;,&quot;gracePeriod&quot;:60,&quot;group&quot;:&quot;ops&quot;,&quot;id&quot;:&quot;api&quot;,&quot;name&quot;:&quot;API&quot;,&quot;schedule&quot;:null,&quot;stalenessThreshold&quot;:300,&quot;tags&quot;:[&quot;prod&quot;,&quot;eu&quot;],&quot;timezone&quot;:null}""#
        ),
        "{html}"
    );
    // Managed facts and the change log, newest first, escaped.
    assert!(html.contains("&lt;i&gt;the&lt;/i&gt; API") && html.contains("/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"));
    let log = &html[html.find(r#"id="changelog""#).unwrap()..];
    assert!(log.find("paused") < log.find("created"), "{log}");
    assert!(log.contains("<strong>user:ana</strong> paused") && log.contains("created: &lt;script&gt;"), "{log}");
    // Paused: the toggle resumes.
    let paused = managed_page(Some(&admin), Status::Paused);
    assert!(paused.contains(r#"data-act="resume""#) && !paused.contains(r#"data-act="pause""#));
}

#[test]
fn a_viewer_sees_no_admin_control_anywhere() {
    let html = managed_page(None, Status::Up);
    for control in
        ["data-act", "service-dialog", "key-dialog", "confirm-dialog", "id=\"notice\"", "test-notify", "Manage"]
    {
        assert!(!html.contains(control), "{control} shown to a viewer");
    }
    assert!(html.contains("Change log"), "the log itself is not a control");
    let config = Config::parse(Some(r#"{"services": [{"id": "api"}]}"#), None).unwrap();
    let fleet = view::fleet(&config, Scope::All, &[], &[]);
    let viewer = Viewer::User { name: "Vera".into(), admin: false };
    let dash = pages::dashboard(&chrome(&b(), &viewer), &fleet, &[], Window::Day, ten_days(), "").into_string();
    assert!(!dash.contains("add-service") && !dash.contains("test-notify") && !dash.contains("<dialog"));
    let admin = view::AdminView::default();
    let admin_viewer = Viewer::User { name: "Ana".into(), admin: true };
    let branding = b();
    let c = Chrome { admin: Some(&admin), ..chrome(&branding, &admin_viewer) };
    let dash = pages::dashboard(&c, &fleet, &[], Window::Day, ten_days(), "").into_string();
    assert!(dash.contains(r#"id="add-service""#) && dash.contains(r#"id="service-dialog""#));
}

#[test]
fn a_declared_service_offers_only_the_test_notification() {
    let config = Config::parse(Some(r#"{"services": [{"id": "api"}]}"#), None).unwrap();
    let fleet = view::fleet(&config, Scope::All, &[], &[]);
    let detail = view::ServiceDetail {
        row: fleet.rows().next().unwrap().clone(),
        group: None,
        staleness_threshold_s: 300,
        schedule: None,
        grace_period_s: 0,
        next_deadline: None,
        changes: vec![],
        incidents: vec![],
        heartbeats: vec![],
        metrics: vec![],
        runs: vec![],
        pinged_too_often: false,
        group_id: None,
        managed: None,
        dependencies: Default::default(),
        audit: Some(vec![]),
        telemetry: None,
        can_acknowledge: false,
    };
    let admin = view::AdminView { groups: vec![], channels: vec!["slack".into()] };
    let viewer = Viewer::Open;
    let html = pages::service(&Chrome { admin: Some(&admin), ..chrome(&b(), &viewer) }, &detail).into_string();
    assert!(html.contains("Declared in config/services.json") && html.contains("test-notify"), "{html}");
    assert!(!html.contains("data-act="), "{html}");
    assert!(html.contains(r#"data-managed="false""#));
}
