//! `settings.json`: deployment-wide settings, in the cloudflaremon seed's format plus
//! Systole's own keys.
//!
//! ```json
//! {"uptime": {"retentionDays": 120, "thresholdProfile": "default", "maintenance": "exclude"},
//!  "uptimeThresholds": {"default": [{"name": "ok", "min": 99, "color": "#10b981"}, …], "strict": […]},
//!  "features": {"showRefreshButton": true, "autoRefreshSeconds": 0, "showExportButton": true, …},
//!  "api": {"enableStatusEndpoint": true, …, "enableTestNotificationEndpoint": false,
//!          "allowAlertsWithoutKey": false},
//!  "alertHistory": {"defaultRecentPeriodHours": 24, "defaultLimit": 20},
//!  "alertNotifications": {"pollingIntervalSeconds": 10, "severityFilter": ["critical"], …},
//!  "allowedOrigins": ["https://ops.example.com"],
//!  "history": {"heartbeatRetentionDays": 30, "flushIntervalSeconds": 10, "heartbeatsKept": 1000},
//!  "monitoring": {"minStalenessThreshold": 10},
//!  "statusPage": {"enabled": false}}
//! ```
//! Every key is optional; a missing key takes its default, also inside a block that is
//! present (the seed turns a whole missing `api` block into its defaults but a missing key
//! inside a present block into "enabled"; here the test-notification endpoint is off unless
//! enabled explicitly, either way). The legacy `uptimeRetentionDays` (top level, or in
//! `features`) is read when `uptime.retentionDays` is absent.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::{as_secs, ConfigError};
use crate::branding::{self, Threshold};
use crate::maintenance::MaintenanceUptime;
use crate::time::{Timestamp, DAY};

/// The name of the threshold profile every service uses unless it names another.
pub const DEFAULT_PROFILE: &str = "default";

/// Deployment-wide settings from `settings.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Days of uptime rollups and incidents kept (`uptime.retentionDays`, else the legacy
    /// `uptimeRetentionDays`, default 120).
    pub uptime_retention_days: u32,
    /// Days of raw heartbeat events kept (`history.heartbeatRetentionDays`, default 30).
    pub heartbeat_retention_days: u32,
    /// Heartbeats D1 keeps per service (`history.heartbeatsKept`, default 1,000,
    /// 100..=100,000): those among its newest this many sequence numbers, a ring whose rows
    /// new heartbeats reuse (see [`crate::history::stale_heartbeats`]).
    pub heartbeats_kept: u32,
    /// Longest time a heartbeat event waits in its Durable Object before being written to D1
    /// (`history.flushIntervalSeconds`, default 10, 1..=300).
    #[serde(serialize_with = "as_secs")]
    pub flush_interval: Duration,
    /// Smallest staleness threshold accepted (`monitoring.minStalenessThreshold` seconds,
    /// default 10; may be lowered to 1 for tests and demos).
    #[serde(serialize_with = "as_secs")]
    pub min_staleness_threshold: Duration,
    /// Whether the public status page `/status` is served (`statusPage.enabled`, default
    /// false); it shows only groups marked `"public": true`.
    pub status_page: bool,
    /// The threshold profile of services that name none (`uptime.thresholdProfile`, default
    /// [`DEFAULT_PROFILE`]).
    pub threshold_profile: String,
    /// How maintenance time counts in the uptime of services (and groups) that do not say
    /// (`uptime.maintenance`: `"exclude"`, the default, or `"up"`; see
    /// [`crate::maintenance::MaintenanceUptime`]).
    pub maintenance_uptime: MaintenanceUptime,
    /// Named uptime threshold profiles (`uptimeThresholds`), each sorted highest `min`
    /// first and covering 0 %. Empty when the file has none: then `dashboard.json`'s
    /// `uptimeThresholds` (or the built-in bands) are every profile.
    pub uptime_thresholds: BTreeMap<String, Vec<Threshold>>,
    /// What the dashboard shows (`features`).
    pub features: Features,
    /// Which of the seed's endpoints answer (`api`).
    pub api: Api,
    /// Defaults of `GET /api/alerts/recent` (`alertHistory`).
    pub alert_history: AlertHistoryDefaults,
    /// The dashboard's pop-up alerts (`alertNotifications`).
    pub alert_notifications: AlertNotifications,
    /// Origins allowed to read the seed's read endpoints from a browser (`allowedOrigins`):
    /// `scheme://host[:port]` or `"*"` for any. Empty: no CORS headers for anyone. Pages of
    /// these origins may also open the live WebSockets (`crate::live::origin_allowed`).
    pub allowed_origins: Vec<String>,
}

/// `settings.json` `features`: what the dashboard shows. Every flag defaults to `true`.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    /// The refresh button and the auto-refresh menu.
    pub show_refresh_button: bool,
    /// "Updated … ago" in the header.
    pub show_last_updated: bool,
    /// The default auto-refresh period in seconds; 0 (default) is off. A fallback only: the
    /// page updates live over its WebSocket.
    pub auto_refresh_seconds: u32,
    /// Uptime percentages next to each service.
    pub show_uptime_percentage: bool,
    /// The per-day uptime bars.
    pub show_uptime_history: bool,
    /// The CSV export form.
    pub show_export_button: bool,
    /// The alert history panel.
    pub show_alert_history_button: bool,
}

impl Default for Features {
    fn default() -> Self {
        Self {
            show_refresh_button: true,
            show_last_updated: true,
            auto_refresh_seconds: 0,
            show_uptime_percentage: true,
            show_uptime_history: true,
            show_export_button: true,
            show_alert_history_button: true,
        }
    }
}

/// `settings.json` `api`: which of the seed's endpoints answer. A disabled one answers 403
/// `{"error": "<Name> API is disabled"}`, as the seed. Only the seed's paths are switched;
/// `/api/v1` is always on behind its own access rules.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Api {
    /// `GET /api/status` (`enableStatusEndpoint`, default on).
    pub status: bool,
    /// `GET /api/uptime` (`enableUptimeEndpoint`, default on).
    pub uptime: bool,
    /// `GET /api/services` (`enableServicesEndpoint`, default on).
    pub services: bool,
    /// `POST /api/heartbeat` (`enableHeartbeatEndpoint`, default on).
    pub heartbeat: bool,
    /// `POST /api/alert` (`enableAlertEndpoint`, default on).
    pub alert: bool,
    /// `GET /api/alerts/recent` (`enableAlertHistoryEndpoint`, default on).
    pub alert_history: bool,
    /// `POST /api/test-notification` (`enableTestNotificationEndpoint`, default **off**).
    pub test_notification: bool,
    /// Systole's opt-out of the alert key (`allowAlertsWithoutKey`, default **off**): when
    /// on and the `ALERT_API_KEY` secret is unset, `POST /api/alert` and `POST
    /// /api/v1/alerts` take alerts from anyone. Off, they answer 503 until the secret is set
    /// (fail closed). A set key is always required.
    pub allow_alerts_without_key: bool,
}

impl Default for Api {
    fn default() -> Self {
        Self {
            status: true,
            uptime: true,
            services: true,
            heartbeat: true,
            alert: true,
            alert_history: true,
            test_notification: false,
            allow_alerts_without_key: false,
        }
    }
}

/// `settings.json` `alertHistory`: defaults of `GET /api/alerts/recent`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertHistoryDefaults {
    /// `hours` when not given (`defaultRecentPeriodHours`, default 24; 0 means no time limit).
    pub default_recent_period_hours: f64,
    /// `limit` when not given (`defaultLimit`, default 20, 1..=1000).
    pub default_limit: u32,
}

impl Default for AlertHistoryDefaults {
    fn default() -> Self {
        Self { default_recent_period_hours: 24.0, default_limit: 20 }
    }
}

/// `settings.json` `alertNotifications`: the dashboard's toasts and browser notifications
/// for new alerts. They arrive over the live WebSocket; polling `/api/v1/alerts/recent` is the
/// fallback while it is down.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertNotifications {
    /// Fallback polling period in seconds (`pollingIntervalSeconds`, default 10, 1..=3600).
    pub polling_interval_seconds: u32,
    /// The browser `localStorage` key remembering the newest alert seen
    /// (`localStorageKey`, default `last-alert-timestamp`).
    pub local_storage_key: String,
    /// Severities that pop up, lower-case (`severityFilter`, default critical, error,
    /// warning); empty means all.
    pub severity_filter: Vec<String>,
    /// In-page toasts (`enableToastNotifications`, default on).
    pub enable_toast_notifications: bool,
    /// Browser notifications, once the user allows them (`enableBrowserNotifications`,
    /// default on).
    pub enable_browser_notifications: bool,
}

impl Default for AlertNotifications {
    fn default() -> Self {
        Self {
            polling_interval_seconds: 10,
            local_storage_key: "last-alert-timestamp".into(),
            severity_filter: ["critical", "error", "warning"].map(String::from).to_vec(),
            enable_toast_notifications: true,
            enable_browser_notifications: true,
        }
    }
}

impl Settings {
    /// The first day (00:00 UTC, ms) of the uptime window that ends on the day of `end`: the
    /// last `uptime_retention_days` days, that day included (at least that one day). The
    /// dashboard, the service and status pages, and `GET /api/v1/uptime` without `from` all
    /// cover this window.
    pub fn uptime_window_start(&self, end: Timestamp) -> Timestamp {
        end.day_start() - DAY * self.uptime_retention_days.saturating_sub(1)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            uptime_retention_days: 120,
            heartbeat_retention_days: 30,
            heartbeats_kept: crate::history::HEARTBEATS_KEPT,
            flush_interval: Duration::from_secs(10),
            min_staleness_threshold: Duration::from_secs(10),
            status_page: false,
            threshold_profile: DEFAULT_PROFILE.into(),
            maintenance_uptime: MaintenanceUptime::Exclude,
            uptime_thresholds: BTreeMap::new(),
            features: Features::default(),
            api: Api::default(),
            alert_history: AlertHistoryDefaults::default(),
            alert_notifications: AlertNotifications::default(),
            allowed_origins: Vec::new(),
        }
    }
}

/// Validates the raw file into [`Settings`], pushing every problem onto `errors`.
pub(super) fn resolve(raw: &raw::Settings, errors: &mut Vec<ConfigError>) -> Settings {
    let d = Settings::default();
    let mut err = |path: &str, reason: String| {
        errors.push(ConfigError { path: format!("settings.json: {path}"), reason });
    };
    let mut check = |path: &str, value: Option<u64>, default: u64, min: u64, max: u64| -> u64 {
        match value {
            None => default,
            Some(v) if (min..=max).contains(&v) => v,
            Some(v) => {
                err(path, format!("must be between {min} and {max}, got {v}"));
                default
            }
        }
    };
    let (retention_path, retention) =
        match (raw.uptime.retention_days, raw.uptime_retention_days, raw.features.uptime_retention_days) {
            (Some(v), _, _) => ("uptime.retentionDays", Some(v)),
            (None, Some(v), _) => ("uptimeRetentionDays", Some(v)),
            (None, None, v) => ("features.uptimeRetentionDays", v),
        };
    let uptime = check(retention_path, retention, 120, 1, 3650);
    let beats = check("history.heartbeatRetentionDays", raw.history.heartbeat_retention_days, 30, 1, 3650);
    let flush = check("history.flushIntervalSeconds", raw.history.flush_interval_seconds, 10, 1, 300);
    let kept = check("history.heartbeatsKept", raw.history.heartbeats_kept, 1_000, 100, 100_000);
    let min = check("monitoring.minStalenessThreshold", raw.monitoring.min_staleness_threshold, 10, 1, 3600);
    let f = &raw.features;
    let refresh = check("features.autoRefreshSeconds", f.auto_refresh_seconds, 0, 0, 86_400);
    let limit = check("alertHistory.defaultLimit", raw.alert_history.default_limit, 20, 1, 1000);
    let n = &raw.alert_notifications;
    let polling = check("alertNotifications.pollingIntervalSeconds", n.polling_interval_seconds, 10, 1, 3600);

    let hours = raw.alert_history.default_recent_period_hours.unwrap_or(24.0);
    if !(0.0..=87_600.0).contains(&hours) {
        err("alertHistory.defaultRecentPeriodHours", format!("must be between 0 and 87600, got {hours}"));
    }
    let storage_key = n.local_storage_key.clone().unwrap_or_else(|| d.alert_notifications.local_storage_key.clone());
    let key_ok =
        |k: &str| (1..=64).contains(&k.len()) && k.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    if !key_ok(&storage_key) {
        err("alertNotifications.localStorageKey", format!("{storage_key:?} must be 1 to 64 of [A-Za-z0-9-_.:]"));
    }
    let severity_filter = match &n.severity_filter {
        None => d.alert_notifications.severity_filter.clone(),
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if s.is_empty() || s.len() > 32 {
                    err(&format!("alertNotifications.severityFilter[{i}]"), "must be 1 to 32 characters".into());
                }
                s.to_lowercase()
            })
            .collect(),
    };
    for (i, origin) in raw.allowed_origins.iter().enumerate() {
        if let Err(reason) = check_origin(origin) {
            err(&format!("allowedOrigins[{i}]"), reason);
        }
    }
    let mut uptime_thresholds = BTreeMap::new();
    for (name, value) in raw.uptime_thresholds.iter().filter(|(name, _)| !name.starts_with('_')) {
        let path = format!("uptimeThresholds.{name}");
        let mut problems = Vec::new();
        let bands = branding::thresholds(&path, value, &mut |p: &str, r: String| problems.push((p.to_owned(), r)));
        problems.into_iter().for_each(|(p, r)| err(&p, r));
        uptime_thresholds.insert(name.clone(), bands);
    }
    let profile = raw.uptime.threshold_profile.clone().unwrap_or_else(|| DEFAULT_PROFILE.into());
    if !uptime_thresholds.is_empty() && !uptime_thresholds.contains_key(&profile) {
        let known: Vec<&str> = uptime_thresholds.keys().map(String::as_str).collect();
        err("uptime.thresholdProfile", format!("unknown profile {profile:?}, expected one of {}", known.join(", ")));
    }
    let maintenance_uptime = match raw.uptime.maintenance.as_deref().map(MaintenanceUptime::parse) {
        None => MaintenanceUptime::default(),
        Some(Ok(m)) => m,
        Some(Err(reason)) => {
            err("uptime.maintenance", reason);
            MaintenanceUptime::default()
        }
    };
    let a = &raw.api;
    Settings {
        uptime_retention_days: u32::try_from(uptime).unwrap_or(d.uptime_retention_days),
        heartbeat_retention_days: u32::try_from(beats).unwrap_or(d.heartbeat_retention_days),
        heartbeats_kept: u32::try_from(kept).unwrap_or(d.heartbeats_kept),
        flush_interval: Duration::from_secs(flush),
        min_staleness_threshold: Duration::from_secs(min),
        status_page: raw.status_page.enabled,
        threshold_profile: profile,
        maintenance_uptime,
        uptime_thresholds,
        features: Features {
            show_refresh_button: f.show_refresh_button.unwrap_or(true),
            show_last_updated: f.show_last_updated.unwrap_or(true),
            auto_refresh_seconds: u32::try_from(refresh).unwrap_or_default(),
            show_uptime_percentage: f.show_uptime_percentage.unwrap_or(true),
            show_uptime_history: f.show_uptime_history.unwrap_or(true),
            show_export_button: f.show_export_button.unwrap_or(true),
            show_alert_history_button: f.show_alert_history_button.unwrap_or(true),
        },
        api: Api {
            status: a.enable_status_endpoint.unwrap_or(true),
            uptime: a.enable_uptime_endpoint.unwrap_or(true),
            services: a.enable_services_endpoint.unwrap_or(true),
            heartbeat: a.enable_heartbeat_endpoint.unwrap_or(true),
            alert: a.enable_alert_endpoint.unwrap_or(true),
            alert_history: a.enable_alert_history_endpoint.unwrap_or(true),
            test_notification: a.enable_test_notification_endpoint.unwrap_or(false),
            allow_alerts_without_key: a.allow_alerts_without_key.unwrap_or(false),
        },
        alert_history: AlertHistoryDefaults {
            default_recent_period_hours: hours,
            default_limit: u32::try_from(limit).unwrap_or(20),
        },
        alert_notifications: AlertNotifications {
            polling_interval_seconds: u32::try_from(polling).unwrap_or(10),
            local_storage_key: storage_key,
            severity_filter,
            enable_toast_notifications: n.enable_toast_notifications.unwrap_or(true),
            enable_browser_notifications: n.enable_browser_notifications.unwrap_or(true),
        },
        allowed_origins: raw.allowed_origins.clone(),
    }
}

/// `"*"`, or an origin as browsers send it: `http(s)://host[:port]`, nothing after.
fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let url = url::Url::parse(origin).map_err(|e| format!("{origin:?} is not an origin: {e}"))?;
    let bare = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && !origin.ends_with('/');
    if bare {
        Ok(())
    } else {
        Err(format!("{origin:?} must be \"*\" or scheme://host[:port] (http or https, no path)"))
    }
}

/// `settings.json` as written.
pub(super) mod raw {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::Value;

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Settings {
        #[serde(default)]
        pub uptime: Uptime,
        /// Legacy retention (the seed's `ui.json` era).
        pub uptime_retention_days: Option<u64>,
        #[serde(default)]
        pub history: History,
        #[serde(default)]
        pub monitoring: Monitoring,
        #[serde(default)]
        pub status_page: StatusPage,
        /// Profile name → bands; checked by `branding::thresholds` (keys starting with `_`
        /// are comments).
        #[serde(default)]
        pub uptime_thresholds: BTreeMap<String, Value>,
        #[serde(default)]
        pub features: Features,
        #[serde(default)]
        pub api: Api,
        #[serde(default)]
        pub alert_history: AlertHistory,
        #[serde(default)]
        pub alert_notifications: AlertNotifications,
        #[serde(default)]
        pub allowed_origins: Vec<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct StatusPage {
        #[serde(default)]
        pub enabled: bool,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Uptime {
        pub retention_days: Option<u64>,
        pub threshold_profile: Option<String>,
        pub maintenance: Option<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct History {
        pub heartbeat_retention_days: Option<u64>,
        pub flush_interval_seconds: Option<u64>,
        pub heartbeats_kept: Option<u64>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Monitoring {
        pub min_staleness_threshold: Option<u64>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Features {
        pub show_refresh_button: Option<bool>,
        pub show_last_updated: Option<bool>,
        pub auto_refresh_seconds: Option<u64>,
        pub show_uptime_percentage: Option<bool>,
        pub show_uptime_history: Option<bool>,
        pub show_export_button: Option<bool>,
        pub show_alert_history_button: Option<bool>,
        /// Legacy retention.
        pub uptime_retention_days: Option<u64>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Api {
        pub enable_status_endpoint: Option<bool>,
        pub enable_uptime_endpoint: Option<bool>,
        pub enable_services_endpoint: Option<bool>,
        pub enable_heartbeat_endpoint: Option<bool>,
        pub enable_alert_endpoint: Option<bool>,
        pub enable_alert_history_endpoint: Option<bool>,
        pub enable_test_notification_endpoint: Option<bool>,
        pub allow_alerts_without_key: Option<bool>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct AlertHistory {
        pub default_recent_period_hours: Option<f64>,
        pub default_limit: Option<u64>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct AlertNotifications {
        pub polling_interval_seconds: Option<u64>,
        pub local_storage_key: Option<String>,
        pub severity_filter: Option<Vec<String>>,
        pub enable_toast_notifications: Option<bool>,
        pub enable_browser_notifications: Option<bool>,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::Config;

    fn errors(settings: &str) -> Vec<String> {
        Config::parse(None, Some(settings)).unwrap_err().0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn seed_settings_parse_with_every_block() {
        let c = Config::parse(
            None,
            Some(
                r##"{"_description": "x", "_usage": "y",
                "features": {"showRefreshButton": false, "showLastUpdated": true, "autoRefreshSeconds": 30,
                  "showUptimePercentage": true, "showUptimeHistory": false, "showExportButton": false,
                  "showAlertHistoryButton": true},
                "api": {"enableStatusEndpoint": false, "enableTestNotificationEndpoint": true},
                "alertHistory": {"defaultRecentPeriodHours": 48, "defaultLimit": 50},
                "alertNotifications": {"pollingIntervalSeconds": 30, "localStorageKey": "k",
                  "severityFilter": ["Critical"], "enableToastNotifications": true, "enableBrowserNotifications": false},
                "uptime": {"retentionDays": 60, "thresholdProfile": "strict", "maintenance": "up"},
                "uptimeThresholds": {"_description": "profiles",
                  "default": [{"name": "ok", "min": 99, "color": "#10b981", "label": "OK"}, {"name": "bad", "min": 0, "color": "#ef4444"}],
                  "strict": [{"name": "bad", "min": 0, "color": "#ef4444"}, {"name": "ok", "min": 99.9, "color": "#10b981"}]},
                "allowedOrigins": ["https://ops.example.com", "http://localhost:3000", "*"]}"##,
            ),
        )
        .unwrap();
        let s = &c.settings;
        assert!(!s.features.show_refresh_button && !s.features.show_uptime_history && s.features.show_last_updated);
        assert_eq!(s.features.auto_refresh_seconds, 30);
        assert!(!s.api.status && s.api.uptime && s.api.test_notification);
        assert_eq!((s.alert_history.default_recent_period_hours, s.alert_history.default_limit), (48.0, 50));
        assert_eq!(s.alert_notifications.severity_filter, ["critical"]);
        assert_eq!(s.uptime_retention_days, 60);
        assert_eq!(s.threshold_profile, "strict");
        assert_eq!(s.maintenance_uptime, MaintenanceUptime::Up);
        assert_eq!(Settings::default().maintenance_uptime, MaintenanceUptime::Exclude);
        assert_eq!(s.uptime_thresholds["strict"][0].min, 99.9);
        assert_eq!(s.uptime_thresholds.len(), 2);
        assert_eq!(s.allowed_origins.len(), 3);
        assert!(!Settings::default().api.test_notification);
        assert!(!s.api.allow_alerts_without_key && !Settings::default().api.allow_alerts_without_key);
        let open = Config::parse(None, Some(r#"{"api": {"allowAlertsWithoutKey": true}}"#)).unwrap();
        assert!(open.settings.api.allow_alerts_without_key && open.settings.api.alert);
    }

    #[test]
    fn legacy_retention_is_read_when_the_new_key_is_absent() {
        let c = Config::parse(None, Some(r#"{"features": {"uptimeRetentionDays": 90}}"#)).unwrap();
        assert_eq!(c.settings.uptime_retention_days, 90);
        let c = Config::parse(None, Some(r#"{"uptimeRetentionDays": 30, "features": {"uptimeRetentionDays": 90}}"#))
            .unwrap();
        assert_eq!(c.settings.uptime_retention_days, 30);
    }

    #[test]
    fn bad_values_are_reported_with_paths() {
        let e = errors(
            r##"{"allowedOrigins": ["https://a.example/", "ftp://b", "*"], "alertHistory": {"defaultLimit": 0},
                "uptime": {"thresholdProfile": "nope", "maintenance": "count"},
                "uptimeThresholds": {"default": [{"name": "x", "min": 5, "color": "red;}"}]},
                "alertNotifications": {"localStorageKey": "a b"}}"##,
        );
        assert_eq!(e.len(), 8, "{e:#?}");
        assert!(e.contains(&r#"settings.json: uptime.maintenance: must be "exclude" or "up", got "count""#.to_owned()));
        assert!(e[0].starts_with("settings.json: alertHistory.defaultLimit: must be between 1 and 1000"));
        assert!(e.iter().any(|x| x.starts_with("settings.json: allowedOrigins[0]")));
        assert!(e.iter().any(|x| x.starts_with("settings.json: allowedOrigins[1]")));
        assert!(e.iter().any(|x| x.starts_with("settings.json: uptimeThresholds.default[0].color")));
        assert!(e
            .iter()
            .any(|x| x.starts_with("settings.json: uptimeThresholds.default: one threshold must have min 0")));
        assert!(e.iter().any(|x| x.starts_with("settings.json: uptime.thresholdProfile: unknown profile \"nope\"")));
    }
}
