//! `/status`: the public status page — groups marked public, no messages or metadata.

use maud::{html, Markup};

use super::{attention, cards, groups, layout, pager, tab_title, Chrome};
use crate::view::Fleet;

/// Renders the public status page for `fleet` (built with `Scope::Public`), or one page of
/// it (then with the services that need attention and links to the other pages, which
/// keep the other query parameters `query`).
pub fn status(chrome: &Chrome<'_>, fleet: &Fleet, query: &str) -> Markup {
    let b = chrome.branding;
    let all_up = fleet.summary.total > 0 && fleet.summary.up == fleet.summary.total;
    let main = html! {
        main #main data-generated=(chrome.now.as_millis()) data-paged=[fleet.paging.map(|p| p.page)] {
            p class={ "overall " (if all_up { "ok" } else { "warn" }) } {
                @if all_up { "All systems operational" } @else { "Some systems need attention" }
            }
            (cards(&fleet.summary))
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
