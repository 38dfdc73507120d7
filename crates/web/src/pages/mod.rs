//! The pages, as maud templates over [`crate::view`] models. maud escapes every string, so
//! names, messages and metadata always render as text.

mod dashboard;
mod login;
mod service;
mod status;

pub use dashboard::dashboard;
pub use login::{login, not_found};
pub use service::service;
pub use status::status;

use maud::{html, Markup, DOCTYPE};
use systole_core::api::status::Summary;
use systole_core::monitor::Status;
use systole_core::time::{human_ago, Timestamp};
use systole_core::uptime::DayUptime;

use crate::branding::Branding;
use crate::view::{Fleet, ServiceRow, Tone, Viewer};

/// What every page shares: branding, who is looking, the time of rendering.
#[derive(Clone, Copy, Debug)]
pub struct Chrome<'a> {
    /// `dashboard.json`.
    pub branding: &'a Branding,
    /// Who is looking.
    pub viewer: &'a Viewer,
    /// Render time (UTC).
    pub now: Timestamp,
    /// The WebSocket path for live updates (`/api/v1/live`, `/status/live`), if any.
    pub live: Option<&'a str>,
}

/// The tab title: the page title, prefixed with the number of services down.
pub fn tab_title(title: &str, down: u32) -> String {
    if down > 0 {
        format!("({down} down) {title}")
    } else {
        title.to_owned()
    }
}

/// The label of a status.
pub fn label(s: Status) -> &'static str {
    match s {
        Status::Up => "Up",
        Status::Late => "Late",
        Status::Degraded => "Degraded",
        Status::Down => "Down",
        Status::Paused => "Paused",
        Status::Unknown => "Unknown",
    }
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "no data".to_owned(), |p| format!("{p:.2} %"))
}

/// A `<time>` that the browser keeps relative; exact UTC time on hover.
fn time(now: Timestamp, t: Option<Timestamp>, field: &str) -> Markup {
    match t {
        Some(t) => html! {
            time data-field=(field) data-ms=(t.as_millis()) datetime=(t.to_rfc3339()) title=(t.human()) { (human_ago(now, t)) }
        },
        None => html! { time data-field=(field) { "never" } },
    }
}

/// The document around a page's `<main>`.
fn layout(chrome: &Chrome<'_>, title: &str, base_title: &str, main: Markup) -> Markup {
    let b = chrome.branding;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) }
                link rel="icon" href=(b.favicon);
                link rel="stylesheet" href="/assets/app.css";
                link rel="stylesheet" href="/assets/theme.css";
                script src="/assets/theme.js" {}
                script src="/assets/app.js" defer {}
            }
            body data-title=(base_title) data-live=[chrome.live] {
                a.skip href="#main" { "Skip to content" }
                @if chrome.live.is_some() {
                    div #banner .banner role="status" hidden {
                        "Live updates are disconnected. Reconnecting… what you see may be out of date."
                    }
                }
                header.top {
                    a.brand href=(if *chrome.viewer == Viewer::Public { "/status" } else { "/" }) {
                        @if let Some(logo) = &b.logo_url { img.logo src=(logo) alt="" width="32" height="32"; }
                        span {
                            strong { (b.title) }
                            @if let Some(s) = &b.subtitle { small { (s) } }
                        }
                    }
                    nav aria-label="Account" {
                        button #theme-toggle .ghost type="button" aria-label="Toggle dark mode" { "◐ Theme" }
                        @if let Viewer::User { name, .. } = chrome.viewer {
                            span.who { (name) }
                            form method="post" action="/logout" { button.ghost type="submit" { "Sign out" } }
                        }
                    }
                }
                (main)
                footer {
                    @match chrome.viewer {
                        Viewer::Open => p { strong { "Open dashboard:" } " no users are configured, so anyone who can reach this page sees every service. Add config/users.json to require sign-in." },
                        Viewer::User { name, admin } => p { "Signed in as " (name) " (" (if *admin { "admin" } else { "viewer" }) ")." },
                        Viewer::Public => p { "Public status page." },
                        Viewer::Anonymous => p { "Sign in to see the services of your groups." },
                    }
                    p.muted { "Systole " (env!("CARGO_PKG_VERSION")) " · times in UTC" }
                }
            }
        }
    }
}

/// The summary cards.
fn cards(s: &Summary) -> Markup {
    let cards = [
        ("total", "Total", s.total),
        ("up", "Up", s.up),
        ("late", "Late", s.late),
        ("degraded", "Degraded", s.degraded),
        ("down", "Down", s.down),
        ("paused", "Paused", s.paused),
        ("unknown", "Unknown", s.unknown),
    ];
    html! {
        section.cards aria-label="Summary" {
            @for (key, name, n) in cards {
                div class={ "card s-" (key) } {
                    span.n data-count=(key) { (n) }
                    span.l { (name) }
                }
            }
        }
    }
}

/// The uptime bar: one segment per day, coloured by band; grey (and labelled) without data.
fn bar(b: &Branding, days: &[DayUptime], overall: Option<f64>) -> Markup {
    html! {
        div.bar role="img" aria-label={ "Uptime over " (days.len()) " days: " (percent(overall)) } {
            @for d in days {
                @match d.uptime_percent {
                    Some(p) => i class={ "u" (b.band(p)) } title={ (d.date) ": " (format!("{p:.2}")) " % up, " (d.downtime_minutes) " min down" } {},
                    None => i.nd title={ (d.date) ": no data" } {},
                }
            }
        }
    }
}

/// A status dot and label (text as well as colour).
/// The CSS class of an alert history entry's tone.
fn tone(t: Tone) -> &'static str {
    match t {
        Tone::Bad => "a-bad",
        Tone::Good => "a-good",
        Tone::Neutral => "a-neutral",
    }
}

fn badge(s: Status) -> Markup {
    html! { span class={ "badge s-" (s.as_str()) } { span.dot aria-hidden="true" {} span data-status-text { (label(s)) } } }
}

/// One service row of the dashboard or status page.
fn row(chrome: &Chrome<'_>, r: &ServiceRow, link: bool) -> Markup {
    html! {
        li.row data-service=(r.id) data-status=(r.status.as_str()) data-since=(r.status_since.map_or(0, |t| t.as_millis())) {
            div.head {
                (badge(r.status))
                @if link { a.name href={ "/services/" (r.id) } { (r.name) } } @else { span.name { (r.name) } }
                span.pct title="Uptime over the window" { (percent(r.uptime)) }
            }
            div.meta {
                span { "Last heartbeat " (time(chrome.now, r.last_heartbeat, "last")) }
                @if *chrome.viewer != Viewer::Public {
                    span.msg data-field="message" { (r.message.as_deref().unwrap_or("")) }
                }
            }
            (bar(chrome.branding, &r.days, r.uptime))
        }
    }
}

/// The groups with their rows.
fn groups(chrome: &Chrome<'_>, fleet: &Fleet, link: bool) -> Markup {
    html! {
        @if fleet.groups.is_empty() {
            section.empty { p { "No services to show yet. Add services to config/services.json, or ask an admin for access to a group." } }
        }
        @for g in &fleet.groups {
            section.group aria-labelledby={ "g-" (g.id.as_deref().unwrap_or("other")) } {
                h2 id={ "g-" (g.id.as_deref().unwrap_or("other")) } { (g.name) span.muted { " · " (g.services.len()) } }
                ul.rows { @for r in &g.services { (row(chrome, r, link)) } }
            }
        }
    }
}

/// The legend of the uptime bands.
fn legend(b: &Branding) -> Markup {
    html! {
        p.legend {
            @for (i, t) in b.thresholds.iter().enumerate() {
                span { i class={ "u" (i) } {} (t.label) " ≥ " (t.min) " %" }
            }
            span { i.nd {} "No data" }
        }
    }
}
