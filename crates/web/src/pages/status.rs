//! `/status`: the public status page — groups marked public, no messages or metadata.

use maud::{html, Markup};

use super::{attention, cards, groups, layout, pager, tab_title, Chrome};
use crate::view::{Fleet, MaintenanceItem};

/// Renders the public status page for `fleet` (built with `Scope::Public`), or one page of
/// it (then with the services that need attention and links to the other pages, which
/// keep the other query parameters `query`).
pub fn status(chrome: &Chrome<'_>, fleet: &Fleet, query: &str) -> Markup {
    status_with_maintenance(chrome, fleet, query, &[])
}

/// [`status`] with the public services' active and upcoming maintenance `windows` listed
/// under the summary (in progress first, then by start).
pub fn status_with_maintenance(chrome: &Chrome<'_>, fleet: &Fleet, query: &str, windows: &[MaintenanceItem]) -> Markup {
    let b = chrome.branding;
    // A service in maintenance is where it is meant to be.
    let all_up = fleet.summary.total > 0 && fleet.summary.up + fleet.summary.maintenance == fleet.summary.total;
    let main = html! {
        main #main data-generated=(chrome.now.as_millis()) data-paged=[fleet.paging.map(|p| p.page)] {
            p class={ "overall " (if all_up { "ok" } else { "warn" }) } {
                @if all_up { "All systems operational" } @else { "Some systems need attention" }
            }
            (cards(&fleet.summary))
            @if !windows.is_empty() { (maintenance(windows)) }
            @if let Some(p) = &fleet.paging {
                (attention(chrome, fleet, false))
                (pager(p, query))
            }
            (groups(chrome, fleet, false))
            @if let Some(p) = &fleet.paging { (pager(p, query)) }
        }
    };
    layout(chrome, &tab_title(&b.page_title, fleet.summary.down), &b.page_title, main)
}

/// The maintenance section: one row per window, in progress ones first.
fn maintenance(windows: &[MaintenanceItem]) -> Markup {
    let mut sorted: Vec<&MaintenanceItem> = windows.iter().collect();
    sorted.sort_by_key(|w| (!w.active, w.start));
    html! {
        section.group.maintenance aria-labelledby="maintenance-h" {
            div.group-head { h2 #maintenance-h { "Maintenance" } }
            ul.rows {
                @for w in sorted {
                    li.row.s-maintenance data-window=(if w.active { "active" } else { "upcoming" }) {
                        div.head {
                            span class="badge s-maintenance" {
                                span.dot aria-hidden="true" {}
                                @if w.active { "In progress" } @else { "Scheduled" }
                            }
                            span.name { (w.target) }
                            span.since {
                                @if w.active {
                                    "until " time datetime=(w.end.to_rfc3339()) { (w.end.human()) }
                                } @else {
                                    time datetime=(w.start.to_rfc3339()) { (w.start.human()) }
                                    " – "
                                    time datetime=(w.end.to_rfc3339()) { (w.end.human()) }
                                }
                            }
                        }
                        @if w.recurring.is_some() || w.reason.is_some() {
                            div.meta {
                                @if let Some(r) = &w.recurring { span { "Recurring: " (r) } }
                                @if let Some(r) = &w.reason { span { " · " (r) } }
                            }
                        }
                    }
                }
            }
        }
    }
}
