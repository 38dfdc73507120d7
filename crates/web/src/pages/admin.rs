//! The admin controls of the pages: the "Add service" and edit form, the dialogs that show a
//! new heartbeat key once and ask before a delete or a key rotation, the service page's
//! "Manage" panel, the test notification form and the result line every action writes to.
//!
//! Rendered only when the page has an [`AdminView`] (the Worker gives one only to callers
//! the management API accepts). The forms post nothing by themselves: `app.js` sends their
//! fields as JSON to the management API (`/api/v1/services…`, same origin, with the session
//! cookie), shows the answer in `#notice` and a problem's field errors next to the fields
//! (`[data-error-for=<field>]`), then fetches the page again.

use maud::{html, Markup};

use crate::view::{AdminView, ServiceDetail};

/// The line every admin action answers in (`role="status"`, announced politely); the
/// script fills it. Outside `<main>`, so a resynchronisation keeps it.
pub(super) fn notice() -> Markup {
    html! { div.notice-wrap { p #notice .notice role="status" aria-live="polite" tabindex="-1" hidden {} } }
}

/// A number input with a unit select, for a span the API takes in seconds.
fn span_field(name: &str, label: &str, hint: &str) -> Markup {
    let id = format!("sf-{name}");
    html! {
        div.field {
            label for=(id) { (label) }
            div.span {
                input id=(id) name=(name) type="number" min="0" step="any" inputmode="decimal"
                    aria-describedby={ (id) "-hint " (id) "-error" };
                select name={ (name) "Unit" } aria-label={ (label) " unit" } {
                    option value="s" { "seconds" }
                    option value="min" selected { "minutes" }
                    option value="h" { "hours" }
                    option value="d" { "days" }
                }
            }
            small.hint id={ (id) "-hint" } { (hint) }
            p.field-error id={ (id) "-error" } data-error-for=(name) hidden {}
        }
    }
}

/// A text input (or textarea) with its label, hint and error slot.
fn text_field(name: &str, label: &str, hint: &str, attrs: TextAttrs) -> Markup {
    let id = format!("sf-{name}");
    let described = format!("{id}-hint {id}-error");
    html! {
        div.field {
            label for=(id) { (label) }
            @if attrs.multiline {
                textarea id=(id) name=(name) rows="2" maxlength="1000" aria-describedby=(described) {}
            } @else {
                input id=(id) name=(name) type="text" required[attrs.required] pattern=[attrs.pattern]
                    maxlength=[attrs.maxlength] autocomplete="off" spellcheck="false" aria-describedby=(described);
            }
            small.hint id={ (id) "-hint" } { (hint) }
            p.field-error id={ (id) "-error" } data-error-for=(name) hidden {}
        }
    }
}

#[derive(Clone, Copy, Default)]
struct TextAttrs {
    required: bool,
    multiline: bool,
    pattern: Option<&'static str>,
    maxlength: Option<u32>,
}

/// The dialogs every admin page carries, after `<main>`: the service form (add and edit),
/// the one-time key display and the confirmation.
pub(super) fn dialogs(admin: &AdminView) -> Markup {
    html! {
        dialog #service-dialog .dialog aria-labelledby="service-dialog-h" {
            form #service-form method="dialog" novalidate {
                h2 #service-dialog-h { "Add service" }
                p.form-error.error role="alert" tabindex="-1" hidden {}
                (text_field("id", "Service id", "Letters, digits, ., _ and -; at most 64. Heartbeats name it in serviceId.",
                    TextAttrs { required: true, pattern: Some("[A-Za-z0-9._-]{1,64}"), maxlength: Some(64), ..TextAttrs::default() }))
                div.pair {
                    (text_field("name", "Name", "Shown on the dashboard; the id when empty.", TextAttrs { maxlength: Some(200), ..TextAttrs::default() }))
                    div.field {
                        label for="sf-group" { "Group" }
                        select #sf-group name="group" aria-describedby="sf-group-hint sf-group-error" {
                            option value="" { "No group" }
                            @for (id, name) in &admin.groups { option value=(id) { (name) } }
                        }
                        small.hint #sf-group-hint { "Its defaults apply, and its readers see it." }
                        p.field-error #sf-group-error data-error-for="group" hidden {}
                    }
                }
                div.pair {
                    (span_field("stalenessThreshold", "Expect a heartbeat every", "Empty: the group's or the default."))
                    (span_field("gracePeriod", "Grace period", "Late this long before down. Empty: the default."))
                }
                div.pair {
                    (text_field("schedule", "Or on a schedule (cron)", "Instead of a period, e.g. 30 2 * * * or @daily.",
                        TextAttrs { maxlength: Some(100), ..TextAttrs::default() }))
                    (text_field("timezone", "Schedule time zone", "An IANA zone such as Europe/Berlin; UTC when empty.",
                        TextAttrs { maxlength: Some(64), ..TextAttrs::default() }))
                }
                (text_field("description", "Description", "Optional.", TextAttrs { multiline: true, ..TextAttrs::default() }))
                (text_field("tags", "Tags", "Optional, separated by commas.", TextAttrs { maxlength: Some(500), ..TextAttrs::default() }))
                div.actions {
                    button #service-submit type="submit" value="save" { "Create service" }
                    button.ghost type="button" data-close { "Cancel" }
                }
            }
        }
        dialog #key-dialog .dialog aria-labelledby="key-dialog-h" {
            h2 #key-dialog-h { "Heartbeat key for " code #key-service {} }
            p { strong { "Shown once." } " Copy it now: Systole keeps only a digest of it." }
            p #key-note .muted hidden {}
            div.field {
                label for="key-value" { "Key" }
                div.copyrow {
                    input #key-value type="text" readonly spellcheck="false" autocomplete="off";
                    button.ghost type="button" data-copy="key-value" { "Copy key" }
                }
            }
            div.field {
                label for="key-curl" { "Send a heartbeat with it" }
                div.copyrow {
                    textarea #key-curl readonly rows="5" spellcheck="false" {}
                    button.ghost type="button" data-copy="key-curl" { "Copy command" }
                }
            }
            div.actions {
                a #key-page href="/" { "Open its page" }
                button type="button" data-close { "Done" }
            }
        }
        dialog #confirm-dialog .dialog aria-labelledby="confirm-h" aria-describedby="confirm-text" {
            form method="dialog" {
                h2 #confirm-h {}
                p #confirm-text {}
                label #confirm-purge-wrap .check hidden {
                    input #confirm-purge type="checkbox" name="purge";
                    " Also delete its history now (otherwise it stays until retention removes it)"
                }
                div.actions {
                    button #confirm-yes .danger type="submit" value="yes" {}
                    button.ghost type="submit" value="no" autofocus { "Cancel" }
                }
            }
        }
    }
}

/// A form that sends a `test` notification to one channel (about `service`, else a
/// sample): `POST /api/v1/notifications/test`.
pub(super) fn test_form(admin: &AdminView, service: Option<&str>) -> Markup {
    html! {
        form.inline.test-notify data-service=[service] {
            label for="test-channel" { "Test notification to" }
            select #test-channel name="channel" {
                @for c in &admin.channels { option value=(c) { (c) } }
            }
            button.ghost #test-send type="submit" disabled[admin.channels.is_empty()] { "Send test" }
            @if admin.channels.is_empty() { span.muted { "No channels are configured (config/notifications.json)." } }
        }
    }
}

/// The dashboard's admin bar: "Add service" and the test notification.
pub(super) fn bar(admin: &AdminView) -> Markup {
    html! {
        section.admin-bar aria-label="Administration" {
            button #add-service type="button" aria-haspopup="dialog" { "+ Add service" }
            (test_form(admin, None))
        }
    }
}

/// The service page's "Manage" panel: edit, pause or resume, rotate key and delete for a
/// managed service (a declared one says where it is declared), and the test notification.
/// `data-spec` carries the edit form's values ([`ServiceDetail::spec_json`]).
pub(super) fn manage(admin: &AdminView, d: &ServiceDetail) -> Markup {
    let id = &d.row.id;
    let paused = d.row.status == systole_core::monitor::Status::Paused;
    html! {
        section.panel #manage aria-labelledby="manage-h" data-id=(id) data-name=(d.row.name) data-spec=(d.spec_json())
            data-managed=(d.managed.is_some()) {
            h2 #manage-h { "Manage" }
            @if d.managed.is_some() {
                div.buttons {
                    button.ghost #act-edit type="button" data-act="edit" aria-haspopup="dialog" { "Edit" }
                    @if paused {
                        button.ghost #act-toggle type="button" data-act="resume" { "Resume" }
                    } @else {
                        button.ghost #act-toggle type="button" data-act="pause" { "Pause" }
                    }
                    button.ghost #act-rotate type="button" data-act="rotate" aria-haspopup="dialog" { "Rotate key" }
                    button.danger #act-delete type="button" data-act="delete" aria-haspopup="dialog" { "Delete…" }
                }
            } @else {
                p.muted { "Declared in config/services.json: change it there and redeploy. The management API and this page leave it as it is." }
            }
            (test_form(admin, Some(id)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_field_has_a_label_a_hint_and_an_error_slot_named_as_the_api_field() {
        let html = dialogs(&AdminView::default()).into_string();
        for field in
            ["id", "name", "group", "stalenessThreshold", "gracePeriod", "schedule", "timezone", "description", "tags"]
        {
            assert!(html.contains(&format!(r#"for="sf-{field}""#)), "{field} label");
            assert!(html.contains(&format!(r#"name="{field}""#)), "{field} input");
            assert!(html.contains(&format!(r#"data-error-for="{field}""#)), "{field} error slot");
            assert!(html.contains(&format!(r#"aria-describedby="sf-{field}-hint sf-{field}-error""#)), "{field}");
        }
    }

    #[test]
    fn without_channels_the_test_form_says_so_and_cannot_send() {
        let html = test_form(&AdminView::default(), Some("api")).into_string();
        assert!(html.contains(r#"data-service="api""#));
        assert!(html.contains("disabled"));
        assert!(html.contains("No channels are configured"));
    }
}
