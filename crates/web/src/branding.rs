//! `config/dashboard.json` and the dashboard parts of `settings.json` as the pages use them:
//! the validated [`Branding`] and [`Settings`] (parsed in the core with the rest of the
//! configuration, see `systole_core::config::Deployment`) and what the pages derive from
//! them: the uptime threshold profiles, the theme stylesheet and the image origins of the
//! Content-Security-Policy.

use std::fmt::Write as _;

pub use systole_core::branding::{Branding, Palette, ThemeMode, Threshold};
pub use systole_core::config::Settings;

/// The uptime threshold profiles, in a fixed order (the index is part of the CSS classes,
/// see [`band_class`]): `settings.json`'s `uptimeThresholds` by name, or, when it defines
/// none, one profile `default` with `dashboard.json`'s bands (or the built-in ones). Each
/// profile's bands are highest `min` first, the last at 0 %.
pub fn profiles<'a>(b: &'a Branding, s: &'a Settings) -> Vec<(&'a str, &'a [Threshold])> {
    if s.uptime_thresholds.is_empty() {
        return vec![(systole_core::config::DEFAULT_PROFILE, b.thresholds.as_slice())];
    }
    s.uptime_thresholds.iter().map(|(name, bands)| (name.as_str(), bands.as_slice())).collect()
}

/// The bands of profile `profile` (an index into [`profiles`]; out of range: the first).
pub fn bands<'a>(b: &'a Branding, s: &'a Settings, profile: usize) -> &'a [Threshold] {
    let mut named = s.uptime_thresholds.values();
    match named.clone().nth(profile).or_else(|| named.next()) {
        Some(bands) => bands,
        None => &b.thresholds,
    }
}

/// The index in [`profiles`] of the profile `name` (a service's `uptimeThresholdSet`); a
/// name that is not a profile (possible only when `settings.json` defines none) is the
/// first.
pub fn profile_index(s: &Settings, name: &str) -> usize {
    s.uptime_thresholds.keys().position(|k| k == name).unwrap_or(0)
}

/// The index of the band `percent` (0–100) falls in: the first whose `min` it reaches
/// (`bands` highest `min` first), else the last.
pub fn band(bands: &[Threshold], percent: f64) -> usize {
    bands.iter().position(|t| percent >= t.min).unwrap_or(bands.len().saturating_sub(1))
}

/// The CSS class of band `band` of profile `profile`: `u{profile}-{band}`. On an uptime
/// bar's day or a legend's swatch it is the band's colour; on the uptime percentage
/// (`.pct`) its text, a light tint of it behind and a border, as the seed's
/// `uptime-<name>` classes.
pub fn band_class(profile: usize, band: usize) -> String {
    format!("u{profile}-{band}")
}

/// The theme stylesheet served at `/assets/theme.css`: the accent colours (`--primary`,
/// `--accent`), the light and dark palettes (`theme.colors.*`, over the stylesheet's own;
/// the dark one for `data-theme=dark` and for the system's dark mode unless the page is
/// set to light), and the classes of [`band_class`] for every profile.
pub fn theme_css(b: &Branding, s: &Settings) -> String {
    let vars = |p: &Palette| p.colors.iter().map(|(var, c)| format!(";{var}:{c}")).collect::<String>();
    let accent = b.accent_color.as_deref().unwrap_or("var(--primary)");
    let mut css = format!(":root{{--primary:{};--accent:{accent}{}}}\n", b.primary_color, vars(&b.light));
    if !b.dark.colors.is_empty() {
        let dark = vars(&b.dark);
        let dark = dark.trim_start_matches(';');
        let _ = writeln!(css, ":root[data-theme=dark]{{{dark}}}");
        let _ = writeln!(css, "@media (prefers-color-scheme: dark){{:root:not([data-theme=light]){{{dark}}}}}");
    }
    for (p, (_, bands)) in profiles(b, s).iter().enumerate() {
        for (i, t) in bands.iter().enumerate() {
            let (class, c) = (band_class(p, i), &t.color);
            let _ = writeln!(
                css,
                ".{class}{{background:{c}}}\n.pct.{class}{{color:{c};background:color-mix(in srgb,{c} 8%,transparent);\
                 border-color:color-mix(in srgb,{c} 25%,transparent)}}"
            );
        }
    }
    css
}

/// Extra `img-src` origins the Content-Security-Policy must allow (https logo/favicon).
pub fn image_origins(b: &Branding) -> Vec<String> {
    let mut origins: Vec<String> = [b.logo_url.as_deref(), Some(b.favicon.as_str())]
        .into_iter()
        .flatten()
        .filter_map(|u| u.strip_prefix("https://"))
        .map(|rest| format!("https://{}", rest.split('/').next().unwrap_or_default()))
        .collect();
    origins.dedup();
    origins
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use systole_core::config::Config;

    #[test]
    fn the_theme_and_image_origins_follow_the_branding() {
        let b = Branding::parse(Some(
            r##"{"header": {"logoUrl": "https://your-cdn.com/logo.png"},
                 "branding": {"favicon": "https://your-cdn.com/favicon.ico", "accentColor": "#10b981"},
                 "theme": {"colors": {"light": {"primary": "#ffffff", "secondary": "#f1f5f9"},
                                      "dark": {"text": "#f8fafc", "statusDown": "rgb(239, 68, 68)"}}},
                 "uptimeThresholds": [
                   {"name": "poor", "min": 0, "color": "#ef4444", "label": "Poor"},
                   {"name": "excellent", "min": 99.5, "color": "#10b981", "label": "Excellent"}]}"##,
        ))
        .unwrap();
        assert_eq!(image_origins(&b), ["https://your-cdn.com"]);
        let css = theme_css(&b, &Settings::default());
        assert!(css.starts_with(":root{--primary:#2563eb;--accent:#10b981;--panel:#ffffff;--bg:#f1f5f9}\n"), "{css}");
        assert!(css.contains(":root[data-theme=dark]{--text:#f8fafc;--down:rgb(239, 68, 68)}"), "{css}");
        assert!(css.contains(":root:not([data-theme=light]){--text:#f8fafc;--down:rgb(239, 68, 68)}"), "{css}");
        assert!(css.contains(".u0-1{background:#ef4444}"), "{css}");
        assert!(css.contains(".pct.u0-0{color:#10b981;"), "{css}");
        let plain = theme_css(&Branding::default(), &Settings::default());
        assert!(!plain.contains("data-theme=dark"), "no dark palette, no dark rules: {plain}");
    }

    #[test]
    fn settings_profiles_replace_the_dashboard_bands_and_services_find_theirs() {
        let config = Config::parse(
            Some(r#"{"services": [{"id": "a", "uptimeThresholdSet": "strict"}, {"id": "b"}]}"#),
            Some(
                r##"{"uptimeThresholds": {
                  "default": [{"name": "ok", "min": 99, "color": "#10b981"}, {"name": "bad", "min": 0, "color": "#ef4444"}],
                  "strict": [{"name": "ok", "min": 99.9, "color": "#059669"}, {"name": "bad", "min": 0, "color": "#dc2626"}]}}"##,
            ),
        )
        .unwrap();
        let s = &config.settings;
        let b = Branding::default();
        let names: Vec<&str> = profiles(&b, s).iter().map(|p| p.0).collect();
        assert_eq!(names, ["default", "strict"]);
        let a = profile_index(s, &config.service("a").unwrap().uptime_threshold_set);
        let other = profile_index(s, &config.service("b").unwrap().uptime_threshold_set);
        assert_eq!((a, other), (1, 0));
        let strict = profiles(&b, s)[a].1;
        assert_eq!((band(strict, 99.95), band(strict, 99.5)), (0, 1));
        let css = theme_css(&b, s);
        assert!(css.contains(".u1-1{background:#dc2626}") && !css.contains("#f59e0b"), "{css}");
        assert_eq!(profiles(&b, &Settings::default())[0].1.len(), 4, "the built-in bands");
    }
}
