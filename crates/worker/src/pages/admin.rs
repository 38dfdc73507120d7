//! What the pages' admin controls need (`systole_web::pages` renders them): the choices
//! of the forms for callers who may manage services, and a managed service's extra facts and
//! change log for its page. The controls themselves call the management API
//! (`routes::manage`) from the browser.

use serde_json::Value;
use systole_core::access::Role;
use systole_core::config::Config;
use systole_web::view::{AdminView, AuditEntry, ManagedView};
use worker::Env;

use crate::access::Caller;
use crate::{deployment, managed};

/// Change log entries shown on a service page.
const AUDIT: u32 = 30;

/// The admin controls' choices for `caller` when the caller may manage services from the
/// pages (an admin user); `None` for a viewer, and in an open deployment (no users), whose
/// management API takes only the `MANAGEMENT_API_KEY` secret (`managed::auth`): their pages
/// carry no admin control. `config` is the catalog: its groups (declared and managed) are
/// the form's choices.
pub fn admin_view(caller: Caller, config: &Config) -> Option<AdminView> {
    match caller {
        Caller::User(u) if u.role == Role::Admin => {}
        Caller::User(_) | Caller::Open => return None,
    }
    Some(AdminView {
        groups: config.groups.iter().map(|g| (g.id.clone(), g.name.clone())).collect(),
        channels: deployment::notifications().channels.iter().map(|c| c.name.clone()).collect(),
    })
}

/// A managed service's facts (description, tags from the catalog's `service` config; ping id
/// from its object) and its change log, newest first, for its page; `(None, None)` for a
/// declared service. What cannot be read is left out (logged), so the page still renders.
pub async fn managed_detail(
    env: &Env,
    config: &Config,
    service: &systole_core::config::ServiceConfig,
) -> (Option<ManagedView>, Option<Vec<AuditEntry>>) {
    let id = service.id.as_str();
    if config.is_declared(id) {
        return (None, None);
    }
    let (entry, changes) = futures_util::join!(managed::get(env, id), managed::changes(env, id, None, AUDIT));
    let ping_id = match entry {
        Ok(e) => e.get("pingId").and_then(Value::as_str).map(str::to_owned),
        Err(_) => {
            worker::console_warn!("service page {id}: its managed entry could not be read");
            None
        }
    };
    let audit = match changes {
        Ok(c) => Some(c.iter().map(AuditEntry::from_change).collect()),
        Err(_) => {
            worker::console_warn!("service page {id}: its change log could not be read");
            None
        }
    };
    let view = ManagedView { description: service.description.clone(), tags: service.tags.clone(), ping_id };
    (Some(view), audit)
}

#[cfg(test)]
mod tests {
    //! Native (`cargo test -p systole-worker --lib`).
    use systole_core::access::User;

    use super::*;

    #[test]
    fn only_admin_users_get_the_admin_controls() {
        let user = |role| -> &'static User {
            Box::leak(Box::new(User { id: "u".into(), name: "U".into(), groups: vec!["*".into()], role }))
        };
        let config = deployment::config();
        assert!(admin_view(Caller::User(user(Role::Admin)), config).is_some());
        assert!(admin_view(Caller::User(user(Role::Viewer)), config).is_none());
        assert!(admin_view(Caller::Open, config).is_none(), "the management API does not take an open caller");
        let groups = admin_view(Caller::User(user(Role::Admin)), config).unwrap().groups;
        assert_eq!(groups.len(), config.groups.len());
    }
}
