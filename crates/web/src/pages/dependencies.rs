//! A service's dependencies on its page: "Depends on" (each parent linked, with its status)
//! and "Dependents", as rows of the facts list.

use maud::{html, Markup};

use super::badge;
use crate::view::{Dependencies, Related};

/// The `dt`/`dd` pairs for `d` (nothing when the service has neither parents nor dependents).
pub(super) fn facts(d: &Dependencies) -> Markup {
    html! {
        @if !d.parents.is_empty() {
            dt { "Depends on" } dd data-field="depends-on" { (links(&d.parents)) }
        }
        @if !d.dependents.is_empty() {
            dt { "Dependents" } dd data-field="dependents" { (links(&d.dependents)) }
        }
    }
}

fn links(services: &[Related]) -> Markup {
    html! {
        ul.related {
            @for s in services {
                li data-related=(s.id) { a href={ "/services/" (s.id) } { (s.name) } " " (badge(s.status)) }
            }
        }
    }
}
