//! What the Worker's build script (`crates/worker/build.rs`) does to the config folder
//! before embedding it: `dashboard.json`'s (or the legacy `ui.json`'s) custom HTML,
//! `customHtml.headerExtra` and `customHtml.footerExtra`, is sanitised with
//! [ammonia](https://docs.rs/ammonia), so the page can insert it as HTML and no script in
//! it can run. Done at build time, so the sanitiser is not part of the Worker's wasm.
//!
//! The rules ([`sanitise`]): ammonia's default set of harmless tags (no `script`, `style`,
//! `iframe`, `form`, `object`, `svg`, …; the content of `script` and `style` is dropped
//! too), no event handler (`on…`) or `style` attribute, URLs only relative or `http:`,
//! `https:`, `mailto:`, `tel:` (so no `javascript:` or `data:`), links always
//! `rel="noopener noreferrer"`, no comments, and `class` allowed everywhere (for
//! `customCss`). The page's Content-Security-Policy (`script-src 'self'`, no inline script)
//! stays as it is: this is a second wall, not the only one.
#![warn(missing_docs)]

use serde_json::Value;

/// The two fields sanitised, under `customHtml`.
pub const FIELDS: [&str; 2] = ["headerExtra", "footerExtra"];

/// One HTML fragment, sanitised (see the module docs).
pub fn sanitise(html: &str) -> String {
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto", "tel"].into())
        .url_relative(ammonia::UrlRelative::PassThrough)
        .link_rel(Some("noopener noreferrer"))
        .add_generic_attributes(["class"])
        .add_tag_attributes("a", ["target"])
        .strip_comments(true)
        .clean(html)
        .to_string()
}

/// A fragment that [`sanitise`] changed: `(customHtml field, as written, as embedded)`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Rewritten {
    /// `headerExtra` or `footerExtra`.
    pub field: &'static str,
    /// The text in the config folder.
    pub before: String,
    /// The sanitised text.
    pub after: String,
}

/// The text to embed for `dashboard.json` or `ui.json`, given the file's `text`: with
/// `customHtml.headerExtra` and `customHtml.footerExtra` sanitised, and the fragments that
/// changed. Everything else is kept as written (as JSON: key order and spacing may change).
/// Text that is not a JSON object, or has no custom HTML string, is returned unchanged, so
/// the config loader reports its problems against the file as written.
pub fn sanitise_config(text: &str) -> (String, Vec<Rewritten>) {
    let Ok(Value::Object(mut root)) = serde_json::from_str::<Value>(text) else {
        return (text.to_owned(), Vec::new());
    };
    let Some(Value::Object(custom)) = root.get_mut("customHtml") else {
        return (text.to_owned(), Vec::new());
    };
    let mut rewritten = Vec::new();
    let mut touched = false;
    for field in FIELDS {
        let Some(Value::String(html)) = custom.get_mut(field) else { continue };
        let clean = sanitise(html);
        touched = true;
        if clean != *html {
            rewritten.push(Rewritten { field, before: html.clone(), after: clean.clone() });
        }
        *html = clean;
    }
    if !touched {
        return (text.to_owned(), Vec::new());
    }
    (serde_json::to_string_pretty(&Value::Object(root)).unwrap_or_else(|_| text.to_owned()), rewritten)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_event_handlers_styles_and_javascript_urls_are_removed() {
        let dirty = r#"<div class="promo" style="color:red" onclick="steal()">Maintenance
            <script>alert(1)</script><img src="/assets/favicon.svg" onerror="alert(2)" alt="logo">
            <a href="javascript:alert(3)">bad</a> <a href="JaVaScRiPt:alert(4)">bad too</a>
            <a href="https://example.com/status" target="_blank">ok</a>
            <iframe src="https://evil.example"></iframe><style>body{display:none}</style>
            <svg onload="alert(5)"></svg><!-- note --><form action="/x"><input name=a></form>
            <a href="data:text/html,<script>alert(6)</script>">data</a></div>"#;
        let clean = sanitise(dirty);
        for gone in [
            "<script",
            "alert(1)",
            "onerror",
            "onclick",
            "style",
            "javascript",
            "JaVaScRiPt",
            "iframe",
            "<svg",
            "onload",
            "<!--",
            "<form",
            "<input",
            "data:",
            "display:none",
        ] {
            assert!(!clean.to_lowercase().contains(&gone.to_lowercase()), "{gone} survived: {clean}");
        }
        assert!(clean.contains(r#"<div class="promo">"#), "{clean}");
        assert!(clean.contains(r#"<img src="/assets/favicon.svg" alt="logo">"#), "{clean}");
        assert!(
            clean.contains(r#"<a href="https://example.com/status" target="_blank" rel="noopener noreferrer">ok</a>"#),
            "{clean}"
        );
        assert!(clean.contains("Maintenance"));
    }

    #[test]
    fn config_text_gets_its_custom_html_sanitised_and_nothing_else_changes() {
        let text = r#"{"header": {"title": "<b>T</b>"}, "customCss": "a{}",
            "customHtml": {"headerExtra": "<p onmouseover=\"x()\">Hi</p>", "footerExtra": "<em>ok</em>"}}"#;
        let (embedded, rewritten) = sanitise_config(text);
        let v: Value = serde_json::from_str(&embedded).unwrap_or_default();
        assert_eq!(v["customHtml"]["headerExtra"], "<p>Hi</p>");
        assert_eq!(v["customHtml"]["footerExtra"], "<em>ok</em>");
        assert_eq!(v["header"]["title"], "<b>T</b>", "only customHtml is touched");
        assert_eq!(v["customCss"], "a{}");
        assert_eq!(rewritten.len(), 1);
        assert_eq!((rewritten[0].field, rewritten[0].after.as_str()), ("headerExtra", "<p>Hi</p>"));
    }

    #[test]
    fn text_without_custom_html_or_not_json_is_kept_byte_for_byte() {
        for text in [r#"{"header": {"title": "x"}}"#, "{not json", "[1]", r#"{"customHtml": {"headerExtra": 3}}"#] {
            assert_eq!(sanitise_config(text), (text.to_owned(), Vec::new()), "{text}");
        }
    }
}
