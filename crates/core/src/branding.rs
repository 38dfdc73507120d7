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

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::config::{from_json, ConfigError, ConfigErrors};

/// One uptime colour band.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Threshold {
    /// Machine name, e.g. `excellent`.
    pub name: String,
    /// Lowest uptime percent (0–100) in this band.
    pub min: f64,
    /// The band's colour (see [`is_colour`]).
    pub color: String,
    /// Label shown in tooltips and the legend.
    pub label: String,
}

/// A link of the header or the footer.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Link {
    /// The link text.
    pub text: String,
    /// A path on this Worker, or an http(s) URL (opened in a new tab).
    pub url: String,
    /// Shown as a highlighted button (header links only).
    pub highlight: bool,
}

/// The theme the page starts in (`theme.defaultMode`).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum ThemeMode {
    /// Follow the operating system (default).
    #[default]
    Auto,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// The colour variables of one theme mode (`theme.colors.light` / `.dark`), each optional:
/// unset ones keep the stylesheet's own.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Palette {
    /// `(css variable name, colour)` in the seed's key order: primary, secondary, text,
    /// textSecondary, border, statusUp, statusDown, statusDegraded.
    pub colors: Vec<(&'static str, String)>,
}

/// The seed's `theme.colors.*` keys and the variables of the dashboard's stylesheet
/// (`crates/web/assets/app.css`) they set. As in the seed, `primary` is the surface of the
/// panels and rows and `secondary` the page behind them.
pub const PALETTE_KEYS: [(&str, &str); 8] = [
    ("primary", "--panel"),
    ("secondary", "--bg"),
    ("text", "--text"),
    ("textSecondary", "--muted"),
    ("border", "--line"),
    ("statusUp", "--up"),
    ("statusDown", "--down"),
    ("statusDegraded", "--degraded"),
];

/// Largest `customCss`: 64 KiB.
pub const MAX_CUSTOM_CSS: usize = 64 * 1024;
/// Largest `customHtml.headerExtra` / `footerExtra`: 16 KiB each.
pub const MAX_CUSTOM_HTML: usize = 16 * 1024;

/// The validated `dashboard.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct Branding {
    /// Header title.
    pub title: String,
    /// Header subtitle (none when `dashboard.json` has none or an empty one; the built-in
    /// one without the file).
    pub subtitle: Option<String>,
    /// Logo URL, shown when set and `showLogo` is not false.
    pub logo_url: Option<String>,
    /// The logo's alternative text (`header.logoAlt`, default empty: decorative).
    pub logo_alt: String,
    /// Header links (`header.links`).
    pub links: Vec<Link>,
    /// The `<title>` of the pages.
    pub page_title: String,
    /// Favicon URL.
    pub favicon: String,
    /// Accent colour (`theme.primaryColor` or the seed's `branding.primaryColor`).
    pub primary_color: String,
    /// Second accent colour (`branding.accentColor`), if set.
    pub accent_color: Option<String>,
    /// The starting theme (`theme.defaultMode`).
    pub default_mode: ThemeMode,
    /// Whether the light/dark toggle is shown (`theme.showToggle`, default true).
    pub show_toggle: bool,
    /// Light-mode colours (`theme.colors.light`).
    pub light: Palette,
    /// Dark-mode colours (`theme.colors.dark`).
    pub dark: Palette,
    /// Footer text (`footer.text`).
    pub footer_text: Option<String>,
    /// Footer links (`footer.links`).
    pub footer_links: Vec<Link>,
    /// `customCss`, served as its own stylesheet (`/assets/custom.css`), so the
    /// Content-Security-Policy stays strict.
    pub custom_css: Option<String>,
    /// `customHtml.headerExtra`, as written; sanitised when the Worker is built (the build
    /// script embeds the sanitised text), rendered after the header.
    pub header_extra: Option<String>,
    /// `customHtml.footerExtra`, as [`Branding::header_extra`], rendered in the footer.
    pub footer_extra: Option<String>,
    /// Uptime bands, highest `min` first; the last has `min` 0. The `default` threshold
    /// profile unless `settings.json` defines profiles.
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
            logo_alt: String::new(),
            links: Vec::new(),
            page_title: "Systole".into(),
            favicon: "/assets/favicon.svg".into(),
            primary_color: "#2563eb".into(),
            accent_color: None,
            default_mode: ThemeMode::Auto,
            show_toggle: true,
            light: Palette::default(),
            dark: Palette::default(),
            footer_text: None,
            footer_links: Vec::new(),
            custom_css: None,
            header_extra: None,
            footer_extra: None,
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
    use std::collections::BTreeMap;

    use super::Deserialize;
    use serde_json::Value;

    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub struct File {
        #[serde(default)]
        pub header: Header,
        #[serde(default)]
        pub branding: Branding,
        #[serde(default)]
        pub theme: Theme,
        #[serde(default)]
        pub footer: Footer,
        pub custom_css: Option<String>,
        #[serde(default)]
        pub custom_html: CustomHtml,
        pub uptime_thresholds: Option<Value>,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub struct Header {
        pub title: Option<String>,
        pub subtitle: Option<String>,
        pub logo_url: Option<String>,
        pub logo_alt: Option<String>,
        pub show_logo: Option<bool>,
        #[serde(default)]
        pub links: Vec<Link>,
    }
    #[derive(Deserialize)]
    pub struct Link {
        pub text: String,
        pub url: String,
        pub highlight: Option<bool>,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub struct Branding {
        pub page_title: Option<String>,
        pub favicon: Option<String>,
        pub primary_color: Option<String>,
        pub accent_color: Option<String>,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub struct Theme {
        pub primary_color: Option<String>,
        pub default_mode: Option<String>,
        pub show_toggle: Option<bool>,
        #[serde(default)]
        pub colors: Colors,
    }
    #[derive(Deserialize, Default)]
    pub struct Colors {
        #[serde(default)]
        pub light: BTreeMap<String, String>,
        #[serde(default)]
        pub dark: BTreeMap<String, String>,
    }
    #[derive(Deserialize, Default)]
    pub struct Footer {
        pub text: Option<String>,
        #[serde(default)]
        pub links: Vec<Link>,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub struct CustomHtml {
        pub header_extra: Option<String>,
        pub footer_extra: Option<String>,
    }
    #[derive(Deserialize)]
    pub struct Threshold {
        pub name: String,
        pub min: f64,
        pub color: String,
        pub label: Option<String>,
    }
}

/// Whether `c` is a colour safe to write into a stylesheet: `#` and 3, 4, 6 or 8 hex
/// digits, a named colour (`rebeccapurple`), or `rgb()`, `rgba()`, `hsl()`, `hsla()` of
/// numbers, `%`, `,`, `.`, `/` and spaces.
pub fn is_colour(c: &str) -> bool {
    if let Some(h) = c.strip_prefix('#') {
        return matches!(h.len(), 3 | 4 | 6 | 8) && h.chars().all(|c| c.is_ascii_hexdigit());
    }
    if !c.is_empty() && c.len() <= 32 && c.chars().all(|c| c.is_ascii_alphabetic()) {
        return true;
    }
    let function = ["rgb(", "rgba(", "hsl(", "hsla("].iter().find_map(|f| c.strip_prefix(f));
    function.and_then(|rest| rest.strip_suffix(')')).is_some_and(|args| {
        !args.is_empty() && args.len() <= 64 && args.chars().all(|c| c.is_ascii_digit() || " .,%/".contains(c))
    })
}

/// Whether `url` is a path on this Worker, a `data:` image or an https URL.
fn is_asset_url(url: &str) -> bool {
    (url.starts_with('/') && !url.starts_with("//")) || url.starts_with("data:image/") || url.starts_with("https://")
}

/// Whether `url` may be a link's target: a path on this Worker, or http(s).
fn is_link_url(url: &str) -> bool {
    (url.starts_with('/') && !url.starts_with("//")) || url.starts_with("https://") || url.starts_with("http://")
}

/// Checks a list of uptime bands (`value`, a JSON array, at `path` of its file): each `min`
/// within 0–100, a colour per [`is_colour`], and one band at 0 % so every uptime has a
/// colour. Returns them highest `min` first; reports problems through `err(path, reason)`.
pub(crate) fn thresholds(path: &str, value: &Value, err: &mut dyn FnMut(&str, String)) -> Vec<Threshold> {
    let mut unknown = Vec::new();
    let parsed: Result<Vec<raw::Threshold>, _> =
        serde_ignored::deserialize(value, |p| unknown.push(crate::config::unused::path_text(&p)));
    let list = match parsed {
        Ok(list) => list,
        Err(e) => {
            err(path, format!("must be a list of {{name, min, color, label?}}: {e}"));
            return Vec::new();
        }
    };
    for p in unknown.iter().filter(|p| !p.rsplit(['.', ']']).next().unwrap_or_default().starts_with('_')) {
        err(&format!("{path}{p}"), "unknown field".into());
    }
    let mut bands: Vec<Threshold> = list
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            if !(0.0..=100.0).contains(&t.min) {
                err(&format!("{path}[{i}].min"), format!("{} is outside 0 to 100", t.min));
            }
            if !is_colour(&t.color) {
                err(&format!("{path}[{i}].color"), format!("{:?} is not a colour", t.color));
            }
            Threshold { label: t.label.unwrap_or_else(|| t.name.clone()), name: t.name, min: t.min, color: t.color }
        })
        .collect();
    bands.sort_by(|a, b| b.min.total_cmp(&a.min));
    if bands.last().is_none_or(|t| t.min > 0.0) {
        err(path, "one threshold must have min 0 so every uptime has a colour".into());
    }
    bands
}

impl Branding {
    /// Parses `dashboard.json` (`None`: defaults).
    ///
    /// # Errors
    /// Every problem with its path: malformed JSON, unknown fields, bad colours, bad URLs,
    /// thresholds outside 0–100 or none covering 0 %, an unknown `theme.defaultMode`,
    /// `customCss` over [`MAX_CUSTOM_CSS`] or containing `</`, custom HTML over
    /// [`MAX_CUSTOM_HTML`].
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
        let logo_url = file.header.logo_url.filter(|u| !u.is_empty() && file.header.show_logo != Some(false));
        if let Some(u) = logo_url.as_deref().filter(|u| !is_asset_url(u)) {
            err("header.logoUrl", format!("{u:?} must be a path on this Worker, a data:image URI or https://"));
        }
        let favicon = file.branding.favicon.unwrap_or(d.favicon);
        if !is_asset_url(&favicon) {
            err("branding.favicon", format!("{favicon:?} must be a path on this Worker, a data:image URI or https://"));
        }
        let (colour_path, primary_color) = match (file.theme.primary_color, file.branding.primary_color) {
            (Some(c), _) => ("theme.primaryColor", c),
            (None, Some(c)) => ("branding.primaryColor", c),
            (None, None) => ("theme.primaryColor", d.primary_color),
        };
        if !is_colour(&primary_color) {
            err(colour_path, format!("{primary_color:?} is not a colour"));
        }
        if let Some(c) = file.branding.accent_color.as_deref().filter(|c| !is_colour(c)) {
            err("branding.accentColor", format!("{c:?} is not a colour"));
        }
        let default_mode = match file.theme.default_mode.as_deref() {
            None | Some("auto") => ThemeMode::Auto,
            Some("light") => ThemeMode::Light,
            Some("dark") => ThemeMode::Dark,
            Some(other) => {
                err("theme.defaultMode", format!("{other:?} must be light, dark or auto"));
                ThemeMode::Auto
            }
        };
        let mut palette = |mode: &str, colors: BTreeMap<String, String>| {
            let mut out = Palette::default();
            for (key, value) in colors.into_iter().filter(|(k, _)| !k.starts_with('_')) {
                let path = format!("theme.colors.{mode}.{key}");
                match PALETTE_KEYS.iter().find(|(k, _)| *k == key) {
                    None => {
                        let known: Vec<&str> = PALETTE_KEYS.iter().map(|(k, _)| *k).collect();
                        err(&path, format!("unknown colour, expected one of {}", known.join(", ")));
                    }
                    Some(_) if !is_colour(&value) => err(&path, format!("{value:?} is not a colour")),
                    Some((_, var)) => out.colors.push((var, value)),
                }
            }
            out.colors.sort_by_key(|(var, _)| PALETTE_KEYS.iter().position(|(_, v)| v == var));
            out
        };
        let light = palette("light", file.theme.colors.light);
        let dark = palette("dark", file.theme.colors.dark);
        let mut links = |at: &str, list: Vec<raw::Link>| -> Vec<Link> {
            list.into_iter()
                .enumerate()
                .map(|(i, l)| {
                    if !is_link_url(&l.url) {
                        err(
                            &format!("{at}[{i}].url"),
                            format!("{:?} must be a path on this Worker or http(s)://", l.url),
                        );
                    }
                    Link { text: l.text, url: l.url, highlight: l.highlight.unwrap_or(false) }
                })
                .collect()
        };
        let header_links = links("header.links", file.header.links);
        let footer_links = links("footer.links", file.footer.links);
        let custom_css = file.custom_css.filter(|c| !c.trim().is_empty());
        if let Some(css) = &custom_css {
            if css.len() > MAX_CUSTOM_CSS {
                err("customCss", format!("{} bytes, at most {MAX_CUSTOM_CSS}", css.len()));
            }
            if css.contains("</") {
                err("customCss", "must not contain \"</\"".into());
            }
        }
        let mut html = |path: &str, text: Option<String>| {
            let text = text.filter(|t| !t.trim().is_empty())?;
            if text.len() > MAX_CUSTOM_HTML {
                err(path, format!("{} bytes, at most {MAX_CUSTOM_HTML}", text.len()));
            }
            Some(text)
        };
        let header_extra = html("customHtml.headerExtra", file.custom_html.header_extra);
        let footer_extra = html("customHtml.footerExtra", file.custom_html.footer_extra);
        let thresholds = match &file.uptime_thresholds {
            None => d.thresholds,
            Some(value) => thresholds("uptimeThresholds", value, &mut |p, r| err(p, r)),
        };
        if errors.is_empty() {
            Ok(Self {
                page_title: file.branding.page_title.unwrap_or_else(|| title.clone()),
                title,
                // As the seed's: no line when the file has no subtitle, or an empty one.
                subtitle: file.header.subtitle.filter(|s| !s.is_empty()),
                logo_url,
                logo_alt: file.header.logo_alt.unwrap_or_default(),
                links: header_links,
                favicon,
                primary_color,
                accent_color: file.branding.accent_color,
                default_mode,
                show_toggle: file.theme.show_toggle.unwrap_or(true),
                light,
                dark,
                footer_text: file.footer.text.filter(|t| !t.is_empty()),
                footer_links,
                custom_css,
                header_extra,
                footer_extra,
                thresholds,
            })
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Index in [`Branding::thresholds`] of the band `percent` falls in (`systole-web`
    /// colours by `settings.json` profiles when it defines any, see its `branding::band`).
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
        for file in [r#"{"header": {"subtitle": ""}}"#, r#"{"header": {"title": "T"}}"#] {
            assert_eq!(Branding::parse(Some(file)).unwrap().subtitle, None, "{file}: no subtitle");
        }
        assert!(Branding::parse(None).unwrap().subtitle.is_some(), "no file: the built-in one");
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
