//! `/ack/{incident}`: the page a signed acknowledgement link opens (no sign-in needed).
//!
//! A GET only shows what the link would do and a button: link scanners (chat unfurlers, mail
//! filters) fetch links, and must not acknowledge anything. The button POSTs the same URL.

use maud::{html, Markup};
use systole_core::time::Timestamp;

use super::{layout, Chrome};

/// What the acknowledgement page shows.
#[derive(Clone, Debug, PartialEq)]
pub enum AckPage<'a> {
    /// The link is valid: confirm with the button (POSTs `action`, the link's own URL path
    /// and query).
    Confirm {
        /// The service's display name.
        service: &'a str,
        /// When the incident started.
        started_at: Timestamp,
        /// The form's action.
        action: &'a str,
    },
    /// The incident is acknowledged (now or before): by whom, when.
    Done {
        /// The service's display name.
        service: &'a str,
        /// Who acknowledged it.
        by: &'a str,
        /// When.
        at: Timestamp,
    },
    /// The link cannot be used: why (expired, not valid, the incident is resolved).
    Refused {
        /// One sentence.
        reason: &'a str,
    },
}

/// Renders the acknowledgement page.
pub fn ack(chrome: &Chrome<'_>, page: &AckPage<'_>) -> Markup {
    let main = html! {
        main #main .login {
            section.panel #ack {
                h1 { "Acknowledge incident" }
                @match page {
                    AckPage::Confirm { service, started_at, action } => {
                        p { strong { (service) } " is down since " time datetime=(started_at.to_rfc3339()) { (started_at.human()) } "." }
                        p.muted { "Acknowledging tells everyone you are on it: the incident stops escalating and its reminders stop." }
                        form method="post" action=(action) {
                            button type="submit" { "Acknowledge" }
                        }
                    }
                    AckPage::Done { service, by, at } => {
                        p role="status" { "The incident of " strong { (service) } " is acknowledged by " strong { (by) } " at " time datetime=(at.to_rfc3339()) { (at.human()) } "." }
                    }
                    AckPage::Refused { reason } => {
                        p.error role="alert" { (reason) }
                    }
                }
            }
        }
    };
    let title = format!("Acknowledge · {}", chrome.branding.page_title);
    layout(chrome, &title, &title, main)
}
