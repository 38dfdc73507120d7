//! `/`: summary cards, services by group with uptime bars, the alert history panel and CSV
//! export.

use maud::{html, Markup};
use systole_core::time::Timestamp;

use super::{cards, groups, layout, legend, tab_title, tone, Chrome};
use crate::view::{ActivityItem, Fleet, Window};
use systole_core::time::human_ago;

/// Renders the dashboard for `fleet` (what the viewer sees), with `activity` (newest first)
/// from the `window` chosen; the CSV export offers the uptime window from `uptime_from`
/// (see `systole_core::config::Settings::uptime_window_start`) to today.
pub fn dashboard(
    chrome: &Chrome<'_>,
    fleet: &Fleet,
    activity: &[ActivityItem],
    window: Window,
    uptime_from: Timestamp,
) -> Markup {
    let b = chrome.branding;
    let from = uptime_from.date_string().unwrap_or_default();
    let to = chrome.now.date_string().unwrap_or_default();
    let main = html! {
        main #main data-generated=(chrome.now.as_millis()) {
            (cards(&fleet.summary))
            (legend(b))
            (groups(chrome, fleet, true))
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
            section.panel aria-labelledby="export-h" {
                h2 #export-h { "Export uptime" }
                form.export method="get" action="/api/v1/uptime" {
                    input type="hidden" name="format" value="csv";
                    label { "From " input type="date" name="from" value=(from) required; }
                    label { "To " input type="date" name="to" value=(to) required; }
                    label.services {
                        "Services (none selected: all)"
                        select name="serviceId" multiple size="5" {
                            @for r in fleet.rows() { option value=(r.id) { (r.name) } }
                        }
                    }
                    button type="submit" { "Download CSV" }
                }
            }
        }
    };
    layout(chrome, &tab_title(&b.page_title, fleet.summary.down), &b.page_title, main)
}
