//! `GET /metrics`: the fleet's state in the Prometheus text exposition format 0.0.4
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>), behind the read-only
//! `METRICS_API_KEY` secret ([`access`]). Rendering is pure: the Worker reads what D1 holds in
//! one query and hands it to [`render`]. Every metric is documented in `docs/metrics.md`.
//!
//! Counters (`…_total`) count what D1 holds for the current UTC day, so they reset to 0 at
//! 00:00 UTC; Prometheus's `rate()` and `increase()` treat that drop as a counter reset (as
//! for a restarted process). D1 keeps no all-time heartbeat count, and summing the daily
//! rollups on each scrape would read a row per service and day.
//!
//! No `systole_service_maintenance` metric yet: maintenance windows do not exist, and a
//! constant 0 would look like a real answer. It joins with the windows (issue 15).
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Problem;
use crate::config::{Config, ServiceConfig};
use crate::keys::{secret_matches, MIN_KEY_LEN};
use crate::monitor::{deadline, MonitorConfig, Status};
use crate::time::Timestamp;

/// The `Content-Type` of the answer (text format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The secret holding the scrape key.
pub const SECRET: &str = "METRICS_API_KEY";

/// A service's row as D1 holds it (`service_state` with its newest heartbeat and today's
/// incidents). Times are UTC.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct StoredMetrics {
    /// The service.
    pub service_id: String,
    /// Last written status as stored (an unknown name counts as `unknown`).
    pub status: String,
    /// Start of the open incident, if any.
    pub incident_started_at: Option<Timestamp>,
    /// The newest heartbeat written to D1.
    pub last_heartbeat: Option<Timestamp>,
    /// When its last maintenance ended (`service_state.resumed_at`).
    pub resumed_at: Option<Timestamp>,
    /// `heartbeats.day_heartbeats` of that heartbeat: heartbeats its service received that
    /// UTC day up to it (`None` on rows written before that column existed).
    pub day_heartbeats: Option<u64>,
    /// Incidents of the service that started at or after the UTC day's start.
    pub incidents_today: u64,
    /// Duration of the service's newest run that has one (`runs.duration_ms`), milliseconds.
    pub last_run_duration_ms: Option<u64>,
}

/// Notification delivery attempts of the current UTC day of one channel with one outcome
/// (`alert_history`, grouped).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct NotificationCount {
    /// Channel name in `notifications.json`.
    pub channel: String,
    /// `delivered`, `retrying`, `failed` or `abandoned`.
    pub outcome: String,
    /// Attempts.
    pub count: u64,
}

/// Who may scrape.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Access {
    /// The key matches.
    Granted,
    /// `METRICS_API_KEY` is not set, or shorter than [`MIN_KEY_LEN`] characters: 403, fail
    /// closed.
    Unset,
    /// The key is missing or wrong: 401.
    Denied,
}

/// Decides a scrape presenting `presented` (the `Authorization: Bearer` token, else the
/// `key` query parameter) against the secret `secret` (`None` when unset; surrounding
/// whitespace ignored), comparing in constant time ([`secret_matches`]).
pub fn access(secret: Option<&str>, presented: Option<&str>) -> Access {
    match secret.map(str::trim) {
        Some(expected) if expected.chars().count() >= MIN_KEY_LEN => {
            if secret_matches(expected, presented.unwrap_or_default().trim()) {
                Access::Granted
            } else {
                Access::Denied
            }
        }
        _ => Access::Unset,
    }
}

impl Access {
    /// The problem+json of a refusal; `None` when granted.
    pub fn problem(self) -> Option<Problem> {
        match self {
            Access::Granted => None,
            Access::Unset => Some(Problem::forbidden(format!(
                "the {SECRET} secret is not set (or shorter than {MIN_KEY_LEN} characters), so /metrics answers \
                 no one: set it, e.g. `openssl rand -hex 24 | wrangler secret put {SECRET}`"
            ))),
            Access::Denied => Some(Problem::new(
                "unauthorized",
                "Unauthorized",
                401,
                format!("missing or invalid metrics key: send Authorization: Bearer <{SECRET}> or ?key=<{SECRET}>"),
            )),
        }
    }
}

/// One family's sample of a service (config, stored row, current status), `None` to leave
/// the service out of that family.
type Sample<'a> = dyn Fn(&ServiceConfig, Option<&StoredMetrics>, Status) -> Option<String> + 'a;

/// Heartbeats received on `now`'s UTC day: the newest heartbeat's day count when it arrived
/// that day, else 0.
fn heartbeats_today(row: &StoredMetrics, now: Timestamp) -> u64 {
    match row.last_heartbeat {
        Some(at) if at.day_start() == now.day_start() => row.day_heartbeats.unwrap_or(0),
        _ => 0,
    }
}

/// Renders the exposition at `now`: one sample per configured service (config order) of
/// each per-service family, then the notification counters (by channel, then outcome).
/// Services without a stored row are `unknown` (`paused` when disabled), rows of services
/// no longer configured are ignored. Families are always announced (`# HELP`, `# TYPE`),
/// also for an empty fleet. Label values are escaped (`\\`, `\"`, `\n`).
pub fn render(config: &Config, rows: &[StoredMetrics], notifications: &[NotificationCount], now: Timestamp) -> String {
    let by_id: BTreeMap<&str, &StoredMetrics> = rows.iter().map(|r| (r.service_id.as_str(), r)).collect();
    let services: Vec<(&ServiceConfig, String, Option<&StoredMetrics>)> = config
        .services
        .iter()
        .map(|s| {
            let labels =
                format!("service=\"{}\",group=\"{}\"", escape(s.id.as_str()), escape(s.group.as_deref().unwrap_or("")));
            (s, labels, by_id.get(s.id.as_str()).copied())
        })
        .collect();
    let status_of = |s: &ServiceConfig, row: Option<&StoredMetrics>| match row {
        Some(r) => Status::parse(&r.status).unwrap_or(Status::Unknown),
        None if s.enabled => Status::Unknown,
        None => Status::Paused,
    };
    let mut out = String::with_capacity(256 + services.len() * 1_200);
    let family = |out: &mut String, name: &str, kind: &str, help: &str, value: &Sample| {
        header(out, name, kind, help);
        for (s, labels, row) in &services {
            if let Some(v) = value(s, *row, status_of(s, *row)) {
                let _ = writeln!(out, "{name}{{{labels}}} {v}");
            }
        }
    };
    let flag = |b: bool| Some(if b { "1" } else { "0" }.to_owned());
    family(&mut out, "systole_service_up", "gauge", "1 while the service's status is up, else 0.", &|_, _, st| {
        flag(st == Status::Up)
    });
    header(
        &mut out,
        "systole_service_status",
        "gauge",
        "1 for the service's current status (up, late, degraded, down, maintenance, paused, unknown), 0 for the others.",
    );
    for (s, labels, row) in &services {
        let current = status_of(s, *row);
        for st in Status::ALL {
            let v = u8::from(st == current);
            let _ = writeln!(out, "systole_service_status{{{labels},status=\"{}\"}} {v}", st.as_str());
        }
    }
    family(
        &mut out,
        "systole_service_paused",
        "gauge",
        "1 while monitoring of the service is disabled (enabled: false), else 0.",
        &|_, _, st| flag(st == Status::Paused),
    );
    family(
        &mut out,
        "systole_service_in_maintenance",
        "gauge",
        "1 while the service is inside a maintenance window (status maintenance), else 0.",
        &|_, _, st| flag(st == Status::Maintenance),
    );
    family(
        &mut out,
        "systole_service_last_heartbeat_timestamp_seconds",
        "gauge",
        "Unix time of the newest heartbeat written to the history (within flushIntervalSeconds of its arrival); absent before the first.",
        &|_, row, _| row.and_then(|r| r.last_heartbeat).map(seconds),
    );
    family(
        &mut out,
        "systole_service_next_deadline_timestamp_seconds",
        "gauge",
        "Unix time the next heartbeat is due (while late: the end of the grace period); absent when nothing is awaited.",
        &|s, row, st| {
            let (last, resumed) = (row.and_then(|r| r.last_heartbeat), row.and_then(|r| r.resumed_at));
            deadline(st, last, resumed, &MonitorConfig::from(s)).map(|(t, _)| seconds(t))
        },
    );
    family(
        &mut out,
        "systole_service_incident_start_timestamp_seconds",
        "gauge",
        "Unix time the service's open incident started; absent while none is open.",
        &|_, row, _| row.and_then(|r| r.incident_started_at).map(seconds),
    );
    family(
        &mut out,
        "systole_service_last_run_duration_seconds",
        "gauge",
        "Duration of the service's newest job run that has one; absent before the first.",
        &|_, row, _| row.and_then(|r| r.last_run_duration_ms).map(|ms| format!("{:.3}", ms as f64 / 1000.0)),
    );
    family(
        &mut out,
        "systole_service_heartbeats_total",
        "counter",
        "Heartbeats received since 00:00 UTC (resets daily; rate() and increase() handle the reset).",
        &|_, row, _| Some(row.map_or(0, |r| heartbeats_today(r, now)).to_string()),
    );
    family(
        &mut out,
        "systole_service_incidents_total",
        "counter",
        "Incidents started since 00:00 UTC (resets daily).",
        &|_, row, _| Some(row.map_or(0, |r| r.incidents_today).to_string()),
    );
    header(
        &mut out,
        "systole_notifications_total",
        "counter",
        "Notification delivery attempts since 00:00 UTC by channel and outcome (delivered, retrying, failed, abandoned; resets daily).",
    );
    let mut notifications: Vec<&NotificationCount> = notifications.iter().collect();
    notifications.sort_by(|a, b| (&a.channel, &a.outcome).cmp(&(&b.channel, &b.outcome)));
    for n in notifications {
        let _ = writeln!(
            out,
            "systole_notifications_total{{channel=\"{}\",outcome=\"{}\"}} {}",
            escape(&n.channel),
            escape(&n.outcome),
            n.count
        );
    }
    out
}

/// `# HELP` and `# TYPE` lines of a family (HELP text escaped: `\\`, `\n`).
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value escaped for the text format: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Unix seconds with millisecond precision (`1733220000.123`; whole seconds without a
/// fraction).
fn seconds(t: Timestamp) -> String {
    let ms = t.as_millis();
    let (s, frac) = (ms.div_euclid(1_000), ms.rem_euclid(1_000));
    if frac == 0 {
        s.to_string()
    } else {
        format!("{s}.{frac:03}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const NOW: i64 = 1_764_763_200_000 + 3_600_000; // 2025-12-03T13:00:00Z

    fn config() -> Config {
        Config::parse(
            Some(
                r#"{"services": [
                    {"id": "api", "name": "API \"main\"", "stalenessThreshold": 60},
                    {"id": "batch", "enabled": false},
                    {"id": "db"}
                ], "groups": [{"id": "core.x", "services": ["api"]}]}"#,
            ),
            None,
        )
        .unwrap()
    }

    fn samples<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(&format!("{name}{{"))).collect()
    }

    #[test]
    fn an_empty_fleet_still_announces_every_family() {
        let c = Config::parse(Some(r#"{"services": []}"#), None).unwrap();
        let text = render(&c, &[], &[], Timestamp::from_millis(NOW));
        assert!(text.lines().all(|l| l.starts_with('#')), "{text}");
        assert_eq!(text.matches("# TYPE ").count(), 11);
        assert!(text.contains("# TYPE systole_service_heartbeats_total counter"));
        assert!(text.contains("# TYPE systole_notifications_total counter"));
    }

    #[test]
    fn every_service_in_config_order_with_its_stored_state() {
        let now = Timestamp::from_millis(NOW);
        let rows = [
            StoredMetrics {
                service_id: "api".into(),
                status: "down".into(),
                incident_started_at: Some(Timestamp::from_millis(NOW - 60_500)),
                last_heartbeat: Some(Timestamp::from_millis(NOW - 120_000)),
                resumed_at: None,
                day_heartbeats: Some(42),
                incidents_today: 2,
                last_run_duration_ms: Some(61_250),
            },
            StoredMetrics {
                service_id: "db".into(),
                status: "up".into(),
                last_heartbeat: Some(Timestamp::from_millis(NOW - 86_400_000)),
                resumed_at: Some(Timestamp::from_millis(NOW - 60_000)),
                day_heartbeats: Some(9),
                ..Default::default()
            },
            StoredMetrics { service_id: "removed".into(), status: "up".into(), ..Default::default() },
        ];
        let text = render(&config(), &rows, &[], now);
        assert_eq!(
            samples(&text, "systole_service_up"),
            [
                r#"systole_service_up{service="api",group="core.x"} 0"#,
                r#"systole_service_up{service="batch",group=""} 0"#,
                r#"systole_service_up{service="db",group=""} 1"#,
            ]
        );
        assert!(text.contains(r#"systole_service_status{service="api",group="core.x",status="down"} 1"#));
        assert!(text.contains(r#"systole_service_status{service="api",group="core.x",status="up"} 0"#));
        assert!(text.contains(r#"systole_service_status{service="batch",group="",status="paused"} 1"#));
        assert_eq!(samples(&text, "systole_service_status").len(), 21);
        assert_eq!(
            samples(&text, "systole_service_paused")[1],
            r#"systole_service_paused{service="batch",group=""} 1"#
        );
        assert_eq!(
            samples(&text, "systole_service_in_maintenance")[0],
            r#"systole_service_in_maintenance{service="api",group="core.x"} 0"#
        );
        assert_eq!(
            samples(&text, "systole_service_incident_start_timestamp_seconds"),
            [r#"systole_service_incident_start_timestamp_seconds{service="api",group="core.x"} 1764766739.500"#]
        );
        // db is up after a maintenance that ended a minute ago, long after its last heartbeat:
        // due a default threshold (300 s) after the window's end, as its monitor's alarm is;
        // api is down: nothing awaited.
        let next = samples(&text, "systole_service_next_deadline_timestamp_seconds");
        assert_eq!(next, [r#"systole_service_next_deadline_timestamp_seconds{service="db",group=""} 1764767040"#]);
        // Yesterday's count does not carry into today.
        assert_eq!(
            samples(&text, "systole_service_heartbeats_total"),
            [
                r#"systole_service_heartbeats_total{service="api",group="core.x"} 42"#,
                r#"systole_service_heartbeats_total{service="batch",group=""} 0"#,
                r#"systole_service_heartbeats_total{service="db",group=""} 0"#,
            ]
        );
        assert_eq!(
            samples(&text, "systole_service_incidents_total")[0],
            r#"systole_service_incidents_total{service="api",group="core.x"} 2"#
        );
        assert_eq!(
            samples(&text, "systole_service_last_run_duration_seconds"),
            [r#"systole_service_last_run_duration_seconds{service="api",group="core.x"} 61.250"#]
        );
        assert!(!text.contains("removed"));
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape("a\\b\"c\nd"), r#"a\\b\"c\nd"#);
        let counts = [
            NotificationCount { channel: "ops \"pager\"".into(), outcome: "failed".into(), count: 1 },
            NotificationCount { channel: "discord".into(), outcome: "delivered".into(), count: 3 },
        ];
        let text = render(&config(), &[], &counts, Timestamp::from_millis(NOW));
        assert_eq!(
            samples(&text, "systole_notifications_total"),
            [
                r#"systole_notifications_total{channel="discord",outcome="delivered"} 3"#,
                r#"systole_notifications_total{channel="ops \"pager\"",outcome="failed"} 1"#,
            ]
        );
    }

    #[test]
    fn the_key_fails_closed() {
        let key = "0123456789abcdef0123";
        assert_eq!(access(Some(key), Some(key)), Access::Granted);
        assert_eq!(access(Some(key), Some("nope")), Access::Denied);
        assert_eq!(access(Some(key), None), Access::Denied);
        assert_eq!(access(None, Some(key)), Access::Unset);
        assert_eq!(access(Some("short"), Some("short")), Access::Unset);
        assert_eq!(Access::Unset.problem().unwrap().status, 403);
        assert!(Access::Unset.problem().unwrap().detail.contains(SECRET));
        assert_eq!(Access::Denied.problem().unwrap().status, 401);
        assert!(Access::Granted.problem().is_none());
    }

    #[test]
    fn seconds_keep_milliseconds() {
        assert_eq!(seconds(Timestamp::from_millis(1_500)), "1.500");
        assert_eq!(seconds(Timestamp::from_millis(2_000)), "2");
        assert_eq!(seconds(Timestamp::from_millis(7)), "0.007");
    }
}
