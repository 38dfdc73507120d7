//! `/login`: exchange a login token for a session.

use maud::{html, Markup};

use super::{layout, Chrome};

/// Renders the sign-in form, with `error` (e.g. "That token is not valid.") if the last try
/// failed.
pub fn login(chrome: &Chrome<'_>, error: Option<&str>) -> Markup {
    let main = html! {
        main #main .login {
            section.panel {
                h1 { "Sign in" }
                p.muted { "Paste the login token an admin gave you (it is in the USER_TOKENS secret)." }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                form method="post" action="/login" {
                    label for="token" { "Login token" }
                    input #token type="password" name="token" autocomplete="current-password" required autofocus;
                    button type="submit" { "Sign in" }
                }
            }
        }
    };
    let title = format!("Sign in · {}", chrome.branding.page_title);
    layout(chrome, &title, &title, main)
}

/// A page saying `what` was not found (or is not visible to this viewer).
pub fn not_found(chrome: &Chrome<'_>, what: &str) -> Markup {
    let main = html! {
        main #main {
            section.panel {
                h1 { "Not found" }
                p { (what) }
                p { a href="/" { "← All services" } }
            }
        }
    };
    let title = format!("Not found · {}", chrome.branding.page_title);
    layout(chrome, &title, &title, main)
}
