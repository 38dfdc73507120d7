//! The pages, as maud templates over [`crate::view`] models. maud escapes every string, so
//! names, messages and metadata always render as text.

mod ack;
mod admin;
mod dashboard;
mod dependencies;
mod login;
mod service;
mod status;
mod telemetry;

pub use ack::{ack, AckPage};
pub use dashboard::dashboard;
pub use login::{login, not_found};
pub use service::service;
pub use status::{status, status_with_maintenance};

use maud::{html, Markup, PreEscaped, DOCTYPE};
use systole_core::api::status::Summary;
use systole_core::branding::{Link, ThemeMode};
use systole_core::config::Settings;
use systole_core::monitor::Status;
use systole_core::time::{human_ago, Timestamp};
use systole_core::uptime::DayUptime;

use crate::branding::{self, Branding, Threshold};
use crate::view::{AdminView, Fleet, Paging, ServiceRow, Tone, Viewer};

/// What every page shares: branding, settings, who is looking, the time of rendering.
#[derive(Clone, Copy, Debug)]
pub struct Chrome<'a> {
    /// `dashboard.json`.
    pub branding: &'a Branding,
    /// `settings.json`: what the dashboard shows (`features`), its pop-up alerts
    /// (`alertNotifications`) and the uptime threshold profiles.
    pub settings: &'a Settings,
    /// Who is looking.
    pub viewer: &'a Viewer,
    /// Render time (UTC).
    pub now: Timestamp,
    /// The WebSocket path for live updates (`/api/v1/live`, `/status/live`), if any.
    pub live: Option<&'a str>,
    /// The admin controls' choices, for callers the management API accepts; `None` renders
    /// no admin control at all (viewers, the public and sign-in pages).
    pub admin: Option<&'a AdminView>,
}

impl<'a> Chrome<'a> {
    /// The bands of threshold profile `profile` (see [`branding::profiles`]).
    fn bands(&self, profile: usize) -> &'a [Threshold] {
        branding::bands(self.branding, self.settings, profile)
    }

    /// The `alertNotifications` for the page's script (as `settings.json` spells them), when
    /// this page pops up alerts: live pages of signed-in (or open) readers with toasts or
    /// browser notifications enabled.
    fn alerts(&self) -> Option<String> {
        let a = &self.settings.alert_notifications;
        let on = a.enable_toast_notifications || a.enable_browser_notifications;
        (on && self.live.is_some() && !matches!(self.viewer, Viewer::Public | Viewer::Anonymous))
            .then(|| serde_json::to_string(a).unwrap_or_default())
    }
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
        Status::Maintenance => "Maintenance",
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

/// A header or footer link: an http(s) URL opens in a new tab without handing it this
/// page (`rel="noopener noreferrer"`), as the seed's.
fn link(l: &Link) -> Markup {
    let external = l.url.starts_with("http");
    html! {
        a class=[l.highlight.then_some("hl")] href=(l.url) target=[external.then_some("_blank")]
            rel=[external.then_some("noopener noreferrer")] { (l.text) }
    }
}

/// The document around a page's `<main>`.
fn layout(chrome: &Chrome<'_>, title: &str, base_title: &str, main: Markup) -> Markup {
    let b = chrome.branding;
    let f = &chrome.settings.features;
    let live = chrome.live.is_some();
    let mode = match b.default_mode {
        ThemeMode::Auto => None,
        ThemeMode::Light => Some("light"),
        ThemeMode::Dark => Some("dark"),
    };
    let alerts = chrome.alerts();
    let browser_alerts = chrome.settings.alert_notifications.enable_browser_notifications && alerts.is_some();
    let refresh = (live && f.auto_refresh_seconds > 0).then_some(f.auto_refresh_seconds);
    html! {
        (DOCTYPE)
        html lang="en" data-default-mode=[mode] {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) }
                link rel="icon" href=(b.favicon);
                link rel="stylesheet" href="/assets/app.css";
                link rel="stylesheet" href="/assets/theme.css";
                @if b.custom_css.is_some() { link rel="stylesheet" href="/assets/custom.css"; }
                script src="/assets/theme.js" {}
                script src="/assets/app.js" defer {}
            }
            body data-title=(base_title) data-live=[chrome.live] data-auto-refresh=[refresh] data-alerts=[alerts.as_deref()] {
                a.skip href="#main" { "Skip to content" }
                @if live {
                    div #banner .banner role="status" hidden {
                        "Live updates are disconnected. Reconnecting… what you see may be out of date."
                    }
                }
                header.top {
                    a.brand href=(if *chrome.viewer == Viewer::Public { "/status" } else { "/" }) {
                        @if let Some(logo) = &b.logo_url { img.logo src=(logo) alt=(b.logo_alt) width="32" height="32"; }
                        span {
                            strong { (b.title) }
                            @if let Some(s) = &b.subtitle { small { (s) } }
                        }
                    }
                    @if !b.links.is_empty() {
                        nav.links aria-label="Links" { @for l in &b.links { (link(l)) } }
                    }
                    nav.tools aria-label="Account" {
                        @if live && f.show_last_updated {
                            span.updated { "Updated " time #updated data-ms=(chrome.now.as_millis()) datetime=(chrome.now.to_rfc3339()) title=(chrome.now.human()) { "just now" } }
                        }
                        @if live && f.show_refresh_button {
                            button #refresh .ghost type="button" title="Fetch the latest data now" { "↻ Refresh" }
                        }
                        @if browser_alerts {
                            button #notify .ghost type="button" hidden title="Show new alerts as browser notifications" { "Enable notifications" }
                        }
                        @if b.show_toggle {
                            button #theme-toggle .ghost type="button" aria-label="Toggle dark mode" { "◐ Theme" }
                        }
                        @if let Viewer::User { name, .. } = chrome.viewer {
                            span.who { (name) }
                            form method="post" action="/logout" { button.ghost type="submit" { "Sign out" } }
                        }
                    }
                }
                @if let Some(extra) = &b.header_extra {
                    // Sanitised when the Worker was built (systole-embed): no script, event
                    // handler or style attribute survives.
                    div.page-header-extra { (PreEscaped(extra)) }
                }
                @if alerts.is_some() {
                    div #toasts .toasts role="region" aria-label="Alerts" aria-live="polite" {}
                }
                @if chrome.admin.is_some() {
                    (admin::notice())
                }
                (main)
                @if let Some(admin) = chrome.admin {
                    (admin::dialogs(admin))
                }
                footer {
                    @if b.footer_text.is_some() || !b.footer_links.is_empty() {
                        p.foot {
                            @if let Some(t) = &b.footer_text { span { (t) } }
                            @for l in &b.footer_links { " " (link(l)) }
                        }
                    }
                    @if let Some(extra) = &b.footer_extra {
                        div.page-footer-extra { (PreEscaped(extra)) }
                    }
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
        ("maintenance", "Maintenance", s.maintenance),
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

/// The uptime bar: one segment per day, coloured by the band of threshold profile
/// `profile`; grey (and labelled) without data.
fn bar(chrome: &Chrome<'_>, profile: usize, days: &[DayUptime], overall: Option<f64>) -> Markup {
    let bands = chrome.bands(profile);
    html! {
        div.bar role="img" aria-label={ "Uptime over " (days.len()) " days: " (percent(overall)) } {
            @for d in days {
                @match d.uptime_percent {
                    Some(p) => i class=(branding::band_class(profile, branding::band(bands, p))) title={ (d.date) ": " (format!("{p:.2}")) " % up, " (d.downtime_minutes) " min down" } {},
                    None => i.nd title={ (d.date) ": no data" } {},
                }
            }
        }
    }
}

/// The uptime percentage over the window, coloured by its band (`features.showUptimePercentage`).
fn pct(chrome: &Chrome<'_>, profile: usize, uptime: Option<f64>) -> Markup {
    let bands = chrome.bands(profile);
    let class = uptime.map(|p| branding::band_class(profile, branding::band(bands, p)));
    html! {
        @if chrome.settings.features.show_uptime_percentage {
            span class={ "pct" @if let Some(c) = &class { " " (c) } } title="Uptime over the window" { (percent(uptime)) }
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
                (pct(chrome, r.profile, r.uptime))
            }
            div.meta {
                span { "Last heartbeat " (time(chrome.now, r.last_heartbeat, "last")) }
                @if *chrome.viewer != Viewer::Public {
                    span.msg data-field="message" { (r.message.as_deref().unwrap_or("")) }
                }
            }
            @if chrome.settings.features.show_uptime_history { (bar(chrome, r.profile, &r.days, r.uptime)) }
        }
    }
}

/// The groups with their rows; each group's header has the legend of the threshold
/// profile of its first service, as the seed's.
fn groups(chrome: &Chrome<'_>, fleet: &Fleet, link: bool) -> Markup {
    html! {
        @if fleet.groups.is_empty() {
            section.empty { p { "No services to show yet. Add services to config/services.json, or ask an admin for access to a group." } }
        }
        @for g in &fleet.groups {
            section.group aria-labelledby={ "g-" (g.id.as_deref().unwrap_or("other")) } {
                div.group-head {
                    h2 id={ "g-" (g.id.as_deref().unwrap_or("other")) } {
                        (g.name)
                        span.muted {
                            " · " (g.total)
                            @if g.services.len() < g.total { " (" (g.services.len()) " on this page)" }
                        }
                    }
                    (legend(chrome, g.services.first().map_or(0, |r| r.profile)))
                }
                ul.rows { @for r in &g.services { (row(chrome, r, link)) } }
            }
        }
    }
}

/// On a paged fleet: the services that need attention, wherever they are paged (rows the
/// page's script keeps live like the others).
fn attention(chrome: &Chrome<'_>, fleet: &Fleet, link: bool) -> Markup {
    html! {
        section.group.attention #attention aria-labelledby="attention-h" {
            div.group-head {
                h2 #attention-h { "Needs attention" span.muted { " · down, late or degraded" } }
            }
            @if fleet.attention.is_empty() {
                p.muted { "Nothing is down, late or degraded." }
            } @else {
                ul.rows {
                    @for r in &fleet.attention {
                        li.row data-service=(r.id) data-status=(r.status.as_str()) data-since=(r.status_since.map_or(0, |t| t.as_millis())) {
                            div.head {
                                (badge(r.status))
                                @if link { a.name href={ "/services/" (r.id) } { (r.name) } } @else { span.name { (r.name) } }
                                span.since { "since " (time(chrome.now, r.status_since, "since")) }
                            }
                            div.meta {
                                span { "Last heartbeat " (time(chrome.now, r.last_heartbeat, "last")) }
                                @if link { span.msg data-field="message" { (r.message.as_deref().unwrap_or("")) } }
                            }
                        }
                    }
                }
                @let shown = fleet.attention.len() as u32;
                @let all = fleet.summary.down + fleet.summary.late + fleet.summary.degraded;
                @if all > shown { p.muted { "The " (shown) " most recently changed of " (all) "." } }
            }
        }
    }
}

/// Links to the previous and next pages of a paged fleet, keeping the other query
/// parameters (`query`, already encoded, without `page`).
fn pager(p: &Paging, query: &str) -> Markup {
    let href = |page: usize| format!("/?{query}{}page={page}", if query.is_empty() { "" } else { "&" });
    let range = p.range();
    html! {
        nav.pager aria-label="Pages" {
            span { "Services " (range.start + 1) "–" (range.end) " of " (p.total) " · page " (p.page) " of " (p.pages) }
            @if p.page > 1 { " " a rel="prev" href=(href(p.page - 1)) { "← Previous" } }
            @if p.page < p.pages { " " a rel="next" href=(href(p.page + 1)) { "Next →" } }
        }
    }
}

/// The legend of threshold profile `profile`: `"<label> ≥<min>%"` per band, as the seed's,
/// and the grey of days without data; nothing when the uptime bars are hidden.
fn legend(chrome: &Chrome<'_>, profile: usize) -> Markup {
    html! {
        @if chrome.settings.features.show_uptime_history {
            p.legend {
                @for (i, t) in chrome.bands(profile).iter().enumerate() {
                    span { i class=(branding::band_class(profile, i)) {} (t.label) " ≥" (t.min) "%" }
                }
                span { i.nd {} "No data" }
            }
        }
    }
}
