//! `/status`: the public status page — groups marked public, no messages or metadata.

use maud::{html, Markup};

use super::{cards, groups, layout, tab_title, Chrome};
use crate::view::Fleet;

/// Renders the public status page for `fleet` (built with `Scope::Public`).
pub fn status(chrome: &Chrome<'_>, fleet: &Fleet) -> Markup {
    let b = chrome.branding;
    let all_up = fleet.summary.total > 0 && fleet.summary.up == fleet.summary.total;
    let main = html! {
        main #main data-generated=(chrome.now.as_millis()) {
            p class={ "overall " (if all_up { "ok" } else { "warn" }) } {
                @if all_up { "All systems operational" } @else { "Some systems need attention" }
            }
            (cards(&fleet.summary))
            (groups(chrome, fleet, false))
        }
    };
    layout(chrome, &tab_title(&b.page_title, fleet.summary.down), &b.page_title, main)
}
