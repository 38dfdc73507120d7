//! The assets the pages load, embedded in the Worker (no CDN: the dashboard must work in
//! networks without open internet access). Served under `/assets/`.

/// One embedded file.
#[derive(Clone, Copy, Debug)]
pub struct Asset {
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body.
    pub body: &'static str,
}

const APP_CSS: &str = include_str!("../assets/app.css");
const APP_JS: &str = include_str!("../assets/app.js");
const THEME_JS: &str = include_str!("../assets/theme.js");
const FAVICON: &str = include_str!("../assets/favicon.svg");

/// The asset at `path` (e.g. `/assets/app.js`). `/assets/theme.css` and `/assets/custom.css`
/// are not here: the first is generated from `dashboard.json` and `settings.json` by
/// [`crate::branding::theme_css`], the second is `dashboard.json`'s `customCss`.
pub fn get(path: &str) -> Option<Asset> {
    let (content_type, body) = match path {
        "/assets/app.css" => ("text/css; charset=utf-8", APP_CSS),
        "/assets/app.js" => ("text/javascript; charset=utf-8", APP_JS),
        "/assets/theme.js" => ("text/javascript; charset=utf-8", THEME_JS),
        "/assets/favicon.svg" => ("image/svg+xml", FAVICON),
        _ => return None,
    };
    Some(Asset { content_type, body })
}

/// Every embedded asset path (for page-weight measurements).
pub const PATHS: [&str; 4] = ["/assets/app.css", "/assets/app.js", "/assets/theme.js", "/assets/favicon.svg"];
