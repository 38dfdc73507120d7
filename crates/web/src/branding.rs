//! `config/dashboard.json` as the pages use it: the validated [`Branding`] (parsed in the
//! core with the rest of the configuration, see `systole_core::config::Deployment`) and
//! what the pages derive from it: the theme stylesheet and the image origins of the
//! Content-Security-Policy.

pub use systole_core::branding::{Branding, Threshold};

/// The theme stylesheet served at `/assets/theme.css`: the accent colour and one class
/// `u{index}` per uptime band (see [`Branding::band`]).
pub fn theme_css(b: &Branding) -> String {
    let mut css = format!(":root{{--primary:{}}}\n", b.primary_color);
    for (i, t) in b.thresholds.iter().enumerate() {
        css.push_str(&format!(".u{i}{{background:{}}}\n", t.color));
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

    #[test]
    fn the_theme_and_image_origins_follow_the_branding() {
        let b = Branding::parse(Some(
            r##"{"header": {"logoUrl": "https://your-cdn.com/logo.png"},
                 "branding": {"favicon": "https://your-cdn.com/favicon.ico"},
                 "uptimeThresholds": [
                   {"name": "poor", "min": 0, "color": "#ef4444", "label": "Poor"},
                   {"name": "excellent", "min": 99.5, "color": "#10b981", "label": "Excellent"}]}"##,
        ))
        .unwrap();
        assert_eq!(image_origins(&b), ["https://your-cdn.com"]);
        assert!(theme_css(&b).contains(".u1{background:#ef4444}"));
    }
}
