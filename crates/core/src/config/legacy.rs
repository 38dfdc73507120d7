//! The seed's legacy `ui.json`: one file holding what `dashboard.json` and `settings.json`
//! hold today. It stands in for whichever of the two is absent; with both present, only
//! the two keys the seed still read from it fill in: `allowedOrigins` and
//! `features.uptimeRetentionDays`.

use serde_json::{Map, Value};

use super::ConfigError;

/// Top-level keys of `ui.json` that belong to `settings.json` (`uptimeThresholds` only as
/// an object of named profiles; as a list it is `dashboard.json`'s).
const SETTINGS_KEYS: [&str; 11] = [
    "features",
    "api",
    "alertHistory",
    "alertNotifications",
    "uptime",
    "uptimeRetentionDays",
    "allowedOrigins",
    "history",
    "monitoring",
    "statusPage",
    "uptimeThresholds",
];

/// The texts to parse as `settings.json` and `dashboard.json` given the folder's
/// `settings`, `dashboard` and `ui` (`ui.json`) texts, and which of the two came from
/// `ui.json` (so their problems are reported against it). A `ui.json` that is not a JSON
/// object is a problem pushed onto `errors`.
pub(super) fn merge(
    settings: Option<String>,
    dashboard: Option<String>,
    ui: Option<&str>,
    errors: &mut Vec<ConfigError>,
) -> (Option<String>, Option<String>, [bool; 2]) {
    let Some(ui) = ui else { return (settings, dashboard, [false; 2]) };
    let ui: Map<String, Value> = match serde_json::from_str(ui) {
        Ok(map) => map,
        Err(e) => {
            errors.push(ConfigError { path: "ui.json".into(), reason: format!("must be a JSON object: {e}") });
            return (settings, dashboard, [false; 2]);
        }
    };
    let (for_settings, for_dashboard): (Map<String, Value>, Map<String, Value>) = ui
        .into_iter()
        .partition(|(k, v)| SETTINGS_KEYS.contains(&k.as_str()) && !(k == "uptimeThresholds" && v.is_array()));
    let from_ui = [settings.is_none(), dashboard.is_none()];
    let settings = match settings {
        None => Some(Value::Object(for_settings).to_string()),
        Some(text) => Some(fill_in(text, &for_settings)),
    };
    let dashboard = dashboard.or_else(|| Some(Value::Object(for_dashboard).to_string()));
    (settings, dashboard, from_ui)
}

/// `settings` with `allowedOrigins` and `features.uptimeRetentionDays` taken from `ui`
/// where it has none. Text that is not a JSON object is left for the parser to report.
fn fill_in(settings: String, ui: &Map<String, Value>) -> String {
    let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(&settings) else { return settings };
    let mut changed = false;
    if let (false, Some(origins)) = (map.contains_key("allowedOrigins"), ui.get("allowedOrigins")) {
        map.insert("allowedOrigins".into(), origins.clone());
        changed = true;
    }
    let retention = ui.get("features").and_then(|f| f.get("uptimeRetentionDays"));
    let has_retention = map.get("uptime").and_then(|u| u.get("retentionDays")).is_some()
        || map.contains_key("uptimeRetentionDays")
        || map.get("features").and_then(|f| f.get("uptimeRetentionDays")).is_some();
    if let (false, Some(days)) = (has_retention, retention) {
        map.insert("uptimeRetentionDays".into(), days.clone());
        changed = true;
    }
    if changed {
        Value::Object(map).to_string()
    } else {
        settings
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::config::Deployment;

    fn folder(files: &'static [(&'static str, &'static str)]) -> impl FnMut(&'static str) -> Option<String> {
        move |name| files.iter().find(|(n, _)| *n == name).map(|(_, t)| (*t).to_owned())
    }

    #[test]
    fn ui_json_stands_in_for_absent_settings_and_dashboard() {
        let d = Deployment::parse(folder(&[
            ("services.json", r#"{"services": [{"id": "a"}]}"#),
            (
                "ui.json",
                r##"{"header": {"title": "Legacy"}, "features": {"uptimeRetentionDays": 45, "showExportButton": false},
                    "allowedOrigins": ["https://x.example"],
                    "uptimeThresholds": [{"name": "all", "min": 0, "color": "#123456"}]}"##,
            ),
        ]))
        .unwrap();
        assert_eq!(d.branding.title, "Legacy");
        assert_eq!(d.branding.thresholds[0].name, "all");
        assert_eq!(d.config.settings.uptime_retention_days, 45);
        assert!(!d.config.settings.features.show_export_button);
        assert_eq!(d.config.settings.allowed_origins, ["https://x.example"]);
    }

    #[test]
    fn with_both_files_present_only_the_two_fallbacks_are_read() {
        let d = Deployment::parse(folder(&[
            ("services.json", r#"{"services": [{"id": "a"}]}"#),
            ("settings.json", r#"{"features": {"showExportButton": true}}"#),
            ("dashboard.json", r#"{"header": {"title": "New"}}"#),
            (
                "ui.json",
                r#"{"header": {"title": "Old"}, "features": {"uptimeRetentionDays": 45, "showExportButton": false},
                    "allowedOrigins": ["*"]}"#,
            ),
        ]))
        .unwrap();
        assert_eq!(d.branding.title, "New");
        assert!(d.config.settings.features.show_export_button);
        assert_eq!(d.config.settings.uptime_retention_days, 45);
        assert_eq!(d.config.settings.allowed_origins, ["*"]);
    }

    #[test]
    fn problems_from_ui_json_name_it() {
        let e = Deployment::parse(folder(&[
            ("services.json", r#"{"services": [{"id": "a"}]}"#),
            ("ui.json", r#"{"header": {"titel": "x"}, "features": {"autoRefreshSeconds": -1}}"#),
        ]))
        .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("ui.json: features.autoRefreshSeconds"), "{text}");
        assert!(Deployment::parse(folder(&[("services.json", "{}"), ("ui.json", "[1]")])).is_err());
    }
}
