//! `config/dashboard.json`: the page's branding, theme colours and uptime thresholds, in the
//! seeds' format.
//!
//! ```json
//! {"header": {"title": "Acme Status", "subtitle": "Real-time monitoring",
//!             "logoUrl": "/assets/logo.svg", "showLogo": true},
//!  "branding": {"pageTitle": "Acme Status", "favicon": "/assets/favicon.svg"},
//!  "theme": {"primaryColor": "#2563eb"},
//!  "uptimeThresholds": [{"name": "excellent", "min": 99.5, "color": "#10b981", "label": "Excellent"}, …]}
//! ```
//! Every field is optional. Colours are `#rgb` or `#rrggbb` (they are written into the theme
//! stylesheet, so nothing else is accepted). Thresholds are sorted by `min`, highest first,
//! and must cover 0 %. `logoUrl` and `favicon` may be paths served by this Worker, `data:`
//! URIs or `https://` URLs; an https origin is added to the page's `img-src` policy.
//!
//! The data and its validation live here, with the other configuration files, so that one
//! loader ([`crate::config::Deployment::parse`]) checks the whole folder; `systole-web`
//! re-exports it and derives the theme stylesheet and image origins from it.

use crate::config::{from_json, ConfigError, ConfigErrors};
use serde::Deserialize;

/// One uptime colour band.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    /// Machine name, e.g. `excellent`.
    pub name: String,
    /// Lowest uptime percent (0–100) in this band.
    pub min: f64,
    /// `#rgb`/`#rrggbb` colour.
    pub color: String,
    /// Label shown in tooltips and the legend.
    pub label: String,
}

/// The validated `dashboard.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct Branding {
    /// Header title.
    pub title: String,
    /// Header subtitle.
    pub subtitle: Option<String>,
    /// Logo URL, shown when set and `showLogo` is not false.
    pub logo_url: Option<String>,
    /// The `<title>` of the pages.
    pub page_title: String,
    /// Favicon URL.
    pub favicon: String,
    /// Accent colour.
    pub primary_color: String,
    /// Uptime bands, highest `min` first; the last has `min` 0.
    pub thresholds: Vec<Threshold>,
}

impl Default for Branding {
    fn default() -> Self {
        let t = |name: &str, min: f64, color: &str, label: &str| Threshold {
            name: name.into(),
            min,
            color: color.into(),
            label: label.into(),
        };
        Self {
            title: "Systole".into(),
            subtitle: Some("Heartbeat monitoring".into()),
            logo_url: None,
            page_title: "Systole".into(),
            favicon: "/assets/favicon.svg".into(),
            primary_color: "#2563eb".into(),
            thresholds: vec![
                t("excellent", 99.5, "#10b981", "Excellent"),
                t("good", 99.0, "#3b82f6", "Good"),
                t("fair", 95.0, "#f59e0b", "Fair"),
                t("poor", 0.0, "#ef4444", "Poor"),
            ],
        }
    }
}

mod raw {
    use super::Deserialize;

    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub struct File {
        #[serde(default)]
        pub header: Header,
        #[serde(default)]
        pub branding: Branding,
        #[serde(default)]
        pub theme: Theme,
        pub uptime_thresholds: Option<Vec<Threshold>>,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub struct Header {
        pub title: Option<String>,
        pub subtitle: Option<String>,
        pub logo_url: Option<String>,
        pub show_logo: Option<bool>,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub struct Branding {
        pub page_title: Option<String>,
        pub favicon: Option<String>,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub struct Theme {
        pub primary_color: Option<String>,
    }
    #[derive(Deserialize)]
    pub struct Threshold {
        pub name: String,
        pub min: f64,
        pub color: String,
        pub label: Option<String>,
    }
}

/// Whether `c` is `#rgb` or `#rrggbb`.
fn is_colour(c: &str) -> bool {
    c.strip_prefix('#').is_some_and(|h| (h.len() == 3 || h.len() == 6) && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Whether `url` is a path on this Worker, a `data:` image or an https URL.
fn is_asset_url(url: &str) -> bool {
    (url.starts_with('/') && !url.starts_with("//")) || url.starts_with("data:image/") || url.starts_with("https://")
}

impl Branding {
    /// Parses `dashboard.json` (`None`: defaults).
    ///
    /// # Errors
    /// Every problem with its path: malformed JSON, unknown fields, bad colours, bad URLs,
    /// thresholds outside 0–100, duplicate names, or none covering 0 %.
    pub fn parse(json: Option<&str>) -> Result<Self, ConfigErrors> {
        let Some(json) = json else {
            return Ok(Self::default());
        };
        let mut errors = Vec::new();
        let Some(file) = from_json::<raw::File>("dashboard.json", json, &mut errors) else {
            return Err(ConfigErrors(errors));
        };
        let mut err = |path: &str, reason: String| {
            errors.push(ConfigError { path: format!("dashboard.json: {path}"), reason });
        };
        let d = Self::default();
        let title = file.header.title.unwrap_or(d.title);
        let logo_url = file.header.logo_url.filter(|_| file.header.show_logo != Some(false));
        if let Some(u) = logo_url.as_deref().filter(|u| !is_asset_url(u)) {
            err("header.logoUrl", format!("{u:?} must be a path on this Worker, a data:image URI or https://"));
        }
        let favicon = file.branding.favicon.unwrap_or(d.favicon);
        if !is_asset_url(&favicon) {
            err("branding.favicon", format!("{favicon:?} must be a path on this Worker, a data:image URI or https://"));
        }
        let primary_color = file.theme.primary_color.unwrap_or(d.primary_color);
        if !is_colour(&primary_color) {
            err("theme.primaryColor", format!("{primary_color:?} is not a #rgb or #rrggbb colour"));
        }
        let mut thresholds = match file.uptime_thresholds {
            None => d.thresholds,
            Some(list) => list
                .into_iter()
                .enumerate()
                .map(|(i, t)| {
                    if !(0.0..=100.0).contains(&t.min) {
                        err(&format!("uptimeThresholds[{i}].min"), format!("{} is outside 0 to 100", t.min));
                    }
                    if !is_colour(&t.color) {
                        err(
                            &format!("uptimeThresholds[{i}].color"),
                            format!("{:?} is not a #rgb or #rrggbb colour", t.color),
                        );
                    }
                    Threshold {
                        label: t.label.unwrap_or_else(|| t.name.clone()),
                        name: t.name,
                        min: t.min,
                        color: t.color,
                    }
                })
                .collect(),
        };
        thresholds.sort_by(|a, b| b.min.total_cmp(&a.min));
        if thresholds.last().is_none_or(|t| t.min > 0.0) {
            err("uptimeThresholds", "one threshold must have min 0 so every uptime has a colour".into());
        }
        if errors.is_empty() {
            Ok(Self {
                page_title: file.branding.page_title.unwrap_or_else(|| title.clone()),
                title,
                subtitle: file.header.subtitle.or(d.subtitle),
                logo_url,
                favicon,
                primary_color,
                thresholds,
            })
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Index of the band `percent` falls in (the CSS class `u{index}`).
    pub fn band(&self, percent: f64) -> usize {
        self.thresholds.iter().position(|t| percent >= t.min).unwrap_or(self.thresholds.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_seed_example_parses_and_bands_follow_thresholds() {
        let b = Branding::parse(Some(
            r##"{"header": {"title": "Your Company Status", "subtitle": "Real-time monitoring",
                 "logoUrl": "https://your-cdn.com/logo.png", "showLogo": true},
                 "branding": {"pageTitle": "Status Dashboard", "favicon": "https://your-cdn.com/favicon.ico"},
                 "uptimeThresholds": [
                   {"name": "poor", "min": 0, "color": "#ef4444", "label": "Poor"},
                   {"name": "excellent", "min": 99.5, "color": "#10b981", "label": "Excellent"}]}"##,
        ))
        .unwrap();
        assert_eq!(b.page_title, "Status Dashboard");
        assert_eq!((b.band(100.0), b.band(99.5), b.band(12.0)), (0, 0, 1));
    }

    #[test]
    fn bad_colours_urls_and_thresholds_are_reported() {
        let e = Branding::parse(Some(
            r##"{"header": {"logoUrl": "javascript:alert(1)"}, "theme": {"primaryColor": "red;}"},
                "uptimeThresholds": [{"name": "x", "min": 101, "color": "#12345"}]}"##,
        ))
        .unwrap_err();
        let text: Vec<String> = e.0.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 5, "{text:?}");
        assert!(text[0].starts_with("dashboard.json: header.logoUrl"));
        assert!(Branding::parse(Some(r#"{"nope": 1}"#)).is_err());
    }
}
