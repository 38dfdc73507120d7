//! `/`: summary cards, services by group with uptime bars, the alert history panel and CSV
//! export (each of the last three can be turned off in `settings.json` `features`).

use maud::{html, Markup};
use systole_core::time::Timestamp;

use super::{attention, cards, groups, layout, pager, tab_title, tone, Chrome};
use crate::view::{ActivityItem, Fleet, Window};
use systole_core::time::human_ago;

/// Renders the dashboard for `fleet` (what the viewer sees, or one page of it: then the
/// services that need attention and links to the other pages, which keep the other query
/// parameters `query`, encoded, without `page`), with `activity` (newest first) from the
/// `window` chosen; the CSV export offers the uptime window from `uptime_from` (see
/// `systole_core::config::Settings::uptime_window_start`) to today.
pub fn dashboard(
    chrome: &Chrome<'_>,
    fleet: &Fleet,
    activity: &[ActivityItem],
    window: Window,
    uptime_from: Timestamp,
    query: &str,
) -> Markup {
    let b = chrome.branding;
    let f = &chrome.settings.features;
    let main = html! {
        main #main data-generated=(chrome.now.as_millis()) data-paged=[fleet.paging.map(|p| p.page)] {
            (cards(&fleet.summary))
            @if let Some(admin) = chrome.admin { (super::admin::bar(admin)) }
            @if let Some(p) = &fleet.paging {
                (attention(chrome, fleet, true))
                (pager(p, query))
            }
            (groups(chrome, fleet, true))
            @if let Some(p) = &fleet.paging { (pager(p, query)) }
            @if f.show_alert_history_button { (activity_panel(chrome, activity, window)) }
            @if f.show_export_button { (export_panel(chrome, fleet, uptime_from)) }
        }
    };
    layout(chrome, &tab_title(&b.page_title, fleet.summary.down), &b.page_title, main)
}

/// The alert history panel with its time filter (`features.showAlertHistoryButton`).
fn activity_panel(chrome: &Chrome<'_>, activity: &[ActivityItem], window: Window) -> Markup {
    html! {
        section.panel #activity-panel aria-labelledby="activity-h" {
            div.panel-head {
                h2 #activity-h { "Alert history" }
                form.inline method="get" action="/" {
                    label for="activity-window" { "Show" }
                    select #activity-window name="activity" {
                        @for w in Window::ALL {
                            option value=(w.key()) selected[w == window] { (w.label()) }
                        }
                    }
                    button type="submit" { "Apply" }
                }
            }
            ol #activity .activity {
                @for a in activity {
                    li class=(tone(a.tone)) {
                        time datetime=(a.at.to_rfc3339()) title=(a.at.human()) data-ms=(a.at.as_millis()) { (human_ago(chrome.now, a.at)) }
                        " "
                        @if let Some(id) = &a.service_id { a href={ "/services/" (id) } { (id) } ": " }
                        (a.text)
                    }
                }
            }
            @if activity.is_empty() { p.muted #activity-empty { "Nothing in this window." } }
        }
    }
}

/// The CSV export form over the uptime window from `uptime_from` to today
/// (`features.showExportButton`): the first 500 services (the API's largest page) when none
/// is selected.
fn export_panel(chrome: &Chrome<'_>, fleet: &Fleet, uptime_from: Timestamp) -> Markup {
    let from = uptime_from.date_string().unwrap_or_default();
    let to = chrome.now.date_string().unwrap_or_default();
    html! {
        section.panel aria-labelledby="export-h" {
            h2 #export-h { "Export uptime" }
            form.export method="get" action="/api/v1/uptime" {
                input type="hidden" name="format" value="csv";
                // The API pages its answer; one download carries at most its largest page.
                input type="hidden" name="limit" value=(systole_core::api::query::MAX_LIMIT);
                label { "From " input type="date" name="from" value=(from) required; }
                label { "To " input type="date" name="to" value=(to) required; }
                label.services {
                    "Services (none selected: all, at most 500)"
                    select name="serviceId" multiple size="5" {
                        @for r in fleet.rows() { option value=(r.id) { (r.name) } }
                    }
                }
                button type="submit" { "Download CSV" }
            }
        }
    }
}
