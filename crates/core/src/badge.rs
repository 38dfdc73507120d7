//! Status badges: `GET /badge/{badge-key}/{service or group id}.svg` (a shields.io-style flat
//! SVG with accessible text) and `.json` (shields.io's endpoint-badge schema).
//!
//! A badge key is derived per service or group with HMAC-SHA256 under the server secret
//! (`SERVER_SECRET`, else the `API_KEYS` text, as the heartbeat keys), so it is unguessable
//! and opens only that one badge: a badge URL never reveals another service, and a wrong key
//! answers exactly as an unknown id (404). Without a secret there are no badges.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::api::status::{current, StoredState};
use crate::config::{Config, GroupConfig, ServiceConfig};
use crate::keys::ServerMac;
use crate::monitor::Status;

/// Hex digits of a badge key (128 bits).
pub const KEY_HEX_LEN: usize = 32;

/// `Cache-Control` of a badge: short, so a status change shows within a minute.
pub const CACHE_CONTROL: &str = "public, max-age=60, s-maxage=60";

/// What a badge shows.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Target<'c> {
    /// One service.
    Service(&'c ServiceConfig),
    /// A group: the worst status of its services.
    Group(&'c GroupConfig),
}

impl<'c> Target<'c> {
    fn kind(self) -> &'static str {
        match self {
            Target::Service(_) => "service",
            Target::Group(_) => "group",
        }
    }

    fn id(self) -> &'c str {
        match self {
            Target::Service(s) => s.id.as_str(),
            Target::Group(g) => g.id.as_str(),
        }
    }

    /// The badge's label: the display name.
    pub fn name(self) -> &'c str {
        match self {
            Target::Service(s) => &s.name,
            Target::Group(g) => &g.name,
        }
    }

    /// The services whose states the badge needs (the service, or the group's members).
    pub fn service_ids(self) -> Vec<&'c str> {
        match self {
            Target::Service(s) => vec![s.id.as_str()],
            Target::Group(g) => g.services.iter().map(|s| s.as_str()).collect(),
        }
    }
}

/// The two renderings.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Format {
    /// `image/svg+xml`.
    Svg,
    /// shields.io endpoint JSON.
    Json,
}

impl Format {
    /// The answer's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Svg => "image/svg+xml; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Json => "json",
        }
    }
}

/// The badge keys of one deployment.
#[derive(Clone, Debug)]
pub struct Badges {
    /// Keyed with the server secret; without one, no badges.
    mac: ServerMac,
}

impl Badges {
    /// The keys under `secret`; an empty or missing secret gives none (every badge 404).
    pub fn new(secret: Option<&[u8]>) -> Self {
        Self { mac: ServerMac::new(secret) }
    }

    /// The badge key of `target` (32 hex digits), `None` without a secret.
    pub fn key(&self, target: Target<'_>) -> Option<String> {
        self.derive(target.kind(), target.id())
    }

    /// The badge's URL path, `/badge/{key}/{id}.{svg|json}`; `None` without a secret.
    pub fn path(&self, target: Target<'_>, format: Format) -> Option<String> {
        Some(format!("/badge/{}/{}.{}", self.key(target)?, target.id(), format.extension()))
    }

    /// The key of the `kind` (`service` or `group`) named `id`: the first 16 bytes of its
    /// MAC, in hex.
    fn derive(&self, kind: &str, id: &str) -> Option<String> {
        let digest = self.mac.sign(&format!("systole badge v1\0{kind}\0{id}"))?;
        Some(hex::encode(digest.get(..KEY_HEX_LEN / 2)?))
    }

    /// The badge that `key` and `file` (`{id}.svg` or `{id}.json`) name in `config`, or
    /// `None` (404) for a wrong key, an unknown id or another extension alike. The key is
    /// compared in constant time against both the service's and the group's key of that id,
    /// whether or not either exists.
    pub fn resolve<'c>(&self, config: &'c Config, key: &str, file: &str) -> Option<(Target<'c>, Format)> {
        let (id, ext) = file.rsplit_once('.')?;
        let format = match ext {
            "svg" => Format::Svg,
            "json" => Format::Json,
            _ => return None,
        };
        let presented = key.as_bytes();
        let (service_key, group_key) = (self.derive("service", id)?, self.derive("group", id)?);
        let is_service: bool = service_key.as_bytes().ct_eq(presented).into();
        let is_group: bool = group_key.as_bytes().ct_eq(presented).into();
        let target = if is_service {
            Target::Service(config.service(id)?)
        } else if is_group {
            Target::Group(config.groups.iter().find(|g| g.id == id)?)
        } else {
            return None;
        };
        Some((target, format))
    }
}

/// The status a badge shows: the service's ([`current`]), or for a group the worst of its
/// services' (down, late, degraded, unknown, up; `paused` only when all are paused;
/// `unknown` for an empty group). `states` holds the stored states of (at least) those
/// services.
pub fn status(config: &Config, target: Target<'_>, states: &[StoredState]) -> Status {
    let of = |s: &ServiceConfig| current(s, states.iter().find(|r| r.service_id == s.id.as_str()));
    match target {
        Target::Service(s) => of(s),
        Target::Group(g) => g
            .services
            .iter()
            .filter_map(|id| config.service(id.as_str()))
            .map(of)
            .max_by_key(|s| severity(*s))
            .unwrap_or(Status::Unknown),
    }
}

fn severity(status: Status) -> u8 {
    match status {
        Status::Paused => 0,
        Status::Up => 1,
        Status::Maintenance => 2,
        Status::Unknown => 3,
        Status::Degraded => 4,
        Status::Late => 5,
        Status::Down => 6,
    }
}

/// The dashboard's colour of `status` (`--up`, `--late`, … of `crates/web/assets/app.css`,
/// light theme), as 6 hex digits without `#`.
pub fn color(status: Status) -> &'static str {
    match status {
        Status::Up => "059669",
        Status::Late => "d97706",
        Status::Degraded => "ea580c",
        Status::Down => "dc2626",
        Status::Paused => "6b7280",
        Status::Maintenance => "4f46e5",
        Status::Unknown => "94a3b8",
    }
}

/// shields.io's endpoint badge: `{"schemaVersion": 1, "label", "message", "color"}`.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint<'a> {
    /// Always 1.
    pub schema_version: u8,
    /// The service or group name.
    pub label: &'a str,
    /// The status.
    pub message: &'a str,
    /// Its colour (hex, no `#`).
    pub color: &'a str,
}

/// The badge of `target` in `status` as `format`: the body to answer with
/// [`Format::content_type`] and [`CACHE_CONTROL`].
pub fn render(target: Target<'_>, status: Status, format: Format) -> String {
    let (label, message, color) = (target.name(), status.as_str(), color(status));
    match format {
        Format::Json => serde_json::to_string(&Endpoint { schema_version: 1, label, message, color })
            .unwrap_or_else(|_| String::from("{}")),
        Format::Svg => svg(label, message, color),
    }
}

/// A shields.io "flat" badge: grey label on the left, `color` message on the right, text in
/// 11 px Verdana (widths estimated by [`text_width`]), with `role="img"`, `aria-label` and
/// `<title>` for screen readers. Text is XML-escaped.
pub fn svg(label: &str, message: &str, color: &str) -> String {
    let (lw, mw) = (text_width(label) + 10, text_width(message) + 10);
    let w = lw + mw;
    let (l, m) = (xml_escape(label), xml_escape(message));
    let (lx, mx) = (f64::from(lw) / 2.0, f64::from(lw) + f64::from(mw) / 2.0);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"20\" role=\"img\" aria-label=\"{l}: {m}\">\
<title>{l}: {m}</title>\
<linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>\
<clipPath id=\"r\"><rect width=\"{w}\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>\
<g clip-path=\"url(#r)\"><rect width=\"{lw}\" height=\"20\" fill=\"#555\"/><rect x=\"{lw}\" width=\"{mw}\" height=\"20\" fill=\"#{color}\"/><rect width=\"{w}\" height=\"20\" fill=\"url(#s)\"/></g>\
<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" font-size=\"11\" aria-hidden=\"true\">\
<text x=\"{lx}\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">{l}</text><text x=\"{lx}\" y=\"14\">{l}</text>\
<text x=\"{mx}\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">{m}</text><text x=\"{mx}\" y=\"14\">{m}</text></g></svg>"
    )
}

/// Estimated width in pixels of `text` in 11 px Verdana (rounded up): per-character widths
/// close to Verdana's for ASCII (narrow `i l . :`, wide `m w M W`), 7.5 px for anything else.
pub fn text_width(text: &str) -> u32 {
    let tenths: u32 = text
        .chars()
        .map(|c| match c {
            'i' | 'l' | '.' | ',' | ':' | ';' | '!' | '|' | '\'' => 35,
            'j' | 'f' | 't' | 'I' | ' ' | '(' | ')' | '[' | ']' | '-' => 43,
            'r' => 47,
            'm' => 107,
            'w' | 'M' => 99,
            'W' => 110,
            'a'..='z' => 66,
            '0'..='9' => 70,
            'A'..='Z' => 75,
            _ => 75,
        })
        .sum();
    tenths.div_ceil(10)
}

/// `text` with `& < > " '` as XML entities.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::time::Timestamp;

    fn config() -> Config {
        Config::parse(
            Some(
                r#"{"services": [{"id": "api", "name": "API <\"prod\"> & co"}, {"id": "db"}, {"id": "off", "enabled": false}],
                    "groups": [{"id": "core", "name": "Core", "services": ["api", "db", "off"]}, {"id": "api-g", "services": []}]}"#,
            ),
            None,
        )
        .unwrap()
    }

    fn state(id: &str, status: Status) -> StoredState {
        StoredState {
            service_id: id.into(),
            status,
            status_since: Timestamp::from_millis(0),
            incident_started_at: None,
            accounted_until: None,
            resumed_at: None,
            last_heartbeat: None,
            last_message: None,
            pinged_too_often: false,
        }
    }

    #[test]
    fn only_the_right_key_opens_a_badge_and_every_refusal_looks_alike() {
        let c = config();
        let badges = Badges::new(Some(b"server secret"));
        let api = Target::Service(c.service("api").unwrap());
        let key = badges.key(api).unwrap();
        // The first 16 bytes of HMAC-SHA256("server secret", "systole badge v1\0service\0api"),
        // as Python's `hmac` computes it: badge URLs already published keep working.
        assert_eq!(key, "82e8cf9c03c35567cd0ceda994026017");
        assert_eq!(key.len(), KEY_HEX_LEN);
        assert_eq!(badges.resolve(&c, &key, "api.svg"), Some((api, Format::Svg)));
        assert_eq!(badges.resolve(&c, &key, "api.json"), Some((api, Format::Json)));
        assert_eq!(badges.resolve(&c, &key, "db.svg"), None, "one service's key opens no other");
        assert_eq!(badges.resolve(&c, &key, "api.png"), None);
        assert_eq!(badges.resolve(&c, &key, "api"), None);
        assert_eq!(badges.resolve(&c, &key.to_uppercase(), "api.svg"), None);
        assert_eq!(badges.resolve(&c, "", "api.svg"), None);
        let core = Target::Group(&c.groups[0]);
        let group_key = badges.key(core).unwrap();
        assert_ne!(group_key, key);
        assert_eq!(badges.resolve(&c, &group_key, "core.svg"), Some((core, Format::Svg)));
        // Another deployment's secret gives other keys.
        assert_ne!(Badges::new(Some(b"other")).key(api).unwrap(), key);
        // Without a secret: no keys, no badges.
        let none = Badges::new(None);
        assert_eq!(none.key(api), None);
        assert_eq!(Badges::new(Some(b"")).resolve(&c, &key, "api.svg"), None);
        assert_eq!(badges.path(api, Format::Json).unwrap(), format!("/badge/{key}/api.json"));
    }

    #[test]
    fn a_group_shows_its_worst_service() {
        let c = config();
        let core = Target::Group(&c.groups[0]);
        let up = [state("api", Status::Up), state("db", Status::Up)];
        assert_eq!(status(&c, core, &up), Status::Up, "a paused member does not pause the group");
        let down = [state("api", Status::Up), state("db", Status::Down)];
        assert_eq!(status(&c, core, &down), Status::Down);
        let late = [state("api", Status::Late), state("db", Status::Degraded)];
        assert_eq!(status(&c, core, &late), Status::Late);
        assert_eq!(status(&c, core, &[]), Status::Unknown, "never heard from");
        assert_eq!(status(&c, Target::Group(&c.groups[1]), &[]), Status::Unknown, "empty group");
        assert_eq!(status(&c, Target::Service(c.service("off").unwrap()), &[]), Status::Paused);
    }

    #[test]
    fn json_is_shields_endpoint_schema() {
        let c = config();
        let body = render(Target::Service(c.service("db").unwrap()), Status::Down, Format::Json);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v, serde_json::json!({"schemaVersion": 1, "label": "db", "message": "down", "color": "dc2626"}));
    }

    #[test]
    fn svg_escapes_names_and_is_accessible() {
        let c = config();
        let body = render(Target::Service(c.service("api").unwrap()), Status::Up, Format::Svg);
        assert!(body.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(body.contains("role=\"img\""));
        assert!(body.contains("aria-label=\"API &lt;&quot;prod&quot;&gt; &amp; co: up\""), "{body}");
        assert!(body.contains("<title>API &lt;&quot;prod&quot;&gt; &amp; co: up</title>"));
        assert!(!body.contains("<\"prod\">"));
        assert!(body.contains("fill=\"#059669\""));
    }

    #[test]
    fn widths_grow_with_the_text_and_follow_verdana() {
        assert_eq!(text_width(""), 0);
        assert_eq!(text_width("up"), 14);
        assert_eq!(text_width("down"), 30);
        assert!(text_width("iiii") < text_width("mmmm"));
        assert!(text_width("degraded") > text_width("late"));
        // The whole badge: label and message each padded 5 px on either side.
        let svg = svg("db", "up", "059669");
        assert!(svg.contains("width=\"48\""), "{svg}");
    }
}
