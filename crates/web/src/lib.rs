//! Systole's web pages: the dashboard (`/`), a service page (`/services/{id}`), the public
//! status page (`/status`) and sign-in (`/login`), rendered with maud from plain view models,
//! plus every asset they load; for admins, the controls that manage services through the
//! management API (rendered only with a [`view::AdminView`]). Pure: rendered and tested
//! natively; the Worker serves them.
//!
//! - [`branding`] derives the threshold profiles, the theme stylesheet and image origins from
//!   `dashboard.json` and `settings.json`;
//! - [`view`] holds the view models and their builders;
//! - [`pages`] holds the templates;
//! - [`assets`] embeds the stylesheet, scripts and icon.
#![warn(missing_docs)]

pub mod assets;
pub mod branding;
pub mod pages;
pub mod view;

pub use branding::Branding;
pub use maud::Markup;

/// The Content-Security-Policy of every page: everything from this Worker only, no inline
/// script or style, WebSockets to this origin; `extra_img` adds https image origins from
/// `dashboard.json` (see [`branding::image_origins`]).
pub fn content_security_policy(extra_img: &[String]) -> String {
    let mut img = String::from("'self' data:");
    for o in extra_img {
        img.push(' ');
        img.push_str(o);
    }
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src {img}; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// Headers every page carries besides the CSP: `(name, value)`.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
];
