//! Who may do what: users from `users.json` (the dashboard's viewers and admins), each
//! identified by a login token from the `USER_TOKENS` secret (JSON `{"user-id": "token"}`,
//! held as digests in a [`crate::keys::KeyRing`]).
//!
//! `users.json`: `{"users": [{"id": "ana", "name": "Ana", "groups": ["core"], "role":
//! "admin"}]}`. `groups` lists the group ids the user sees (`"*"`: all, including ungrouped
//! services); `role` is `viewer` (default) or `admin`. Without any user the deployment is
//! open, as in the seeds: everyone is treated as an admin.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use serde::Deserialize;

use crate::config::{from_json, Config, ConfigError, ConfigErrors, ServiceConfig};

/// What a user may do.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Role {
    /// Reads what their groups show.
    Viewer,
    /// Reads everything and may send test notifications.
    Admin,
}

/// One user.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct User {
    /// Id, the key of their token in `USER_TOKENS`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Group ids they see; `"*"` for all.
    pub groups: Vec<String>,
    /// Their role.
    pub role: Role,
}

/// Every configured user.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Users {
    /// In file order.
    pub users: Vec<User>,
}

impl Users {
    /// Parses `users.json` against the deployed `config` (`None`: no file, no users).
    ///
    /// # Errors
    /// Every problem with its path: malformed JSON, unknown fields, empty or duplicate ids,
    /// unknown groups, unknown roles.
    pub fn parse(json: Option<&str>, config: &Config) -> Result<Self, ConfigErrors> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            users: Vec<RawUser>,
        }
        #[derive(Deserialize)]
        struct RawUser {
            id: String,
            name: Option<String>,
            #[serde(default)]
            groups: Vec<String>,
            role: Option<String>,
        }
        let Some(json) = json else {
            return Ok(Self::default());
        };
        let mut errors = Vec::new();
        let Some(file) = from_json::<File>("users.json", json, &mut errors) else {
            return Err(ConfigErrors(errors));
        };
        let mut err =
            |path: String, reason: String| errors.push(ConfigError { path: format!("users.json: {path}"), reason });
        let mut users = Vec::new();
        for (i, u) in file.users.into_iter().enumerate() {
            if u.id.trim().is_empty() || u.id.len() > 64 {
                err(format!("users[{i}].id"), "must be 1 to 64 characters".into());
            }
            if users.iter().any(|x: &User| x.id == u.id) {
                err(format!("users[{i}].id"), format!("duplicate user id {:?}", u.id));
            }
            for (j, g) in u.groups.iter().enumerate() {
                if g != "*" && !config.groups.iter().any(|c| c.id == *g) {
                    err(format!("users[{i}].groups[{j}]"), format!("unknown group {g:?}"));
                }
            }
            let role = match u.role.as_deref() {
                None | Some("viewer") => Role::Viewer,
                Some("admin") => Role::Admin,
                Some(other) => {
                    err(format!("users[{i}].role"), format!("unknown role {other:?}, expected viewer or admin"));
                    Role::Viewer
                }
            };
            users.push(User { name: u.name.unwrap_or_else(|| u.id.clone()), id: u.id, groups: u.groups, role });
        }
        if errors.is_empty() {
            Ok(Self { users })
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Whether the deployment is open (no users configured).
    pub fn is_open(&self) -> bool {
        self.users.is_empty()
    }

    /// The user with this id.
    pub fn get(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }
}

/// What a reader may see.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Scope<'a> {
    /// Every service, with messages and metadata (admins, `"*"` viewers, open deployments).
    All,
    /// Services of these groups, with messages and metadata.
    Groups(&'a [String]),
    /// The public status page: services of groups marked `public`, without messages or
    /// metadata.
    Public,
}

impl<'a> Scope<'a> {
    /// What `user` sees: everything for admins and `"*"`, else their groups.
    pub fn of(user: &'a User) -> Self {
        if user.role == Role::Admin || user.groups.iter().any(|g| g == "*") {
            Scope::All
        } else {
            Scope::Groups(&user.groups)
        }
    }

    /// Whether this scope shows `service` (ungrouped services only to [`Scope::All`]).
    pub fn sees(&self, config: &Config, service: &ServiceConfig) -> bool {
        self.sees_group(config, service.group.as_deref())
    }

    /// Whether this scope shows the services of group `group` (`None`: the ungrouped ones);
    /// what a scope sees depends on nothing else, so a page can count a group's visible
    /// services without looking each one up.
    pub fn sees_group(&self, config: &Config, group: Option<&str>) -> bool {
        match (self, group) {
            (Scope::All, _) => true,
            (_, None) => false,
            (Scope::Groups(groups), Some(g)) => groups.iter().any(|x| x == g),
            (Scope::Public, Some(g)) => config.groups.iter().any(|x| x.id == g && x.public),
        }
    }

    /// The ids of the services this scope sees, in config order; `None` for [`Scope::All`]
    /// (every service, so a reader need not list them).
    pub fn service_ids<'c>(&self, config: &'c Config) -> Option<Vec<&'c str>> {
        (*self != Scope::All)
            .then(|| config.services.iter().filter(|s| self.sees(config, s)).map(|s| s.id.as_str()).collect())
    }

    /// Whether messages and metadata are shown.
    pub fn shows_details(&self) -> bool {
        *self != Scope::Public
    }
}

/// The NotificationHub Durable Object that carries live updates for one audience.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Hub {
    /// Name the hub's Durable Object id is derived from: `open`, `public` or `user:{id}`.
    pub name: String,
    /// Whether it feeds the public status page (updates carry no message).
    pub public: bool,
}

impl Hub {
    /// The hub of an open deployment (no users configured).
    pub fn open() -> Self {
        Self { name: "open".into(), public: false }
    }

    /// The shared hub of the public status page.
    pub fn public() -> Self {
        Self { name: "public".into(), public: true }
    }

    /// The hub of one user.
    pub fn user(id: &str) -> Self {
        Self { name: format!("user:{id}"), public: false }
    }
}

/// Every hub that must hear about `service`: the open hub (no users) or the hub of each user
/// who sees it, plus the public hub when the status page is enabled and shows it.
pub fn hubs(users: &Users, config: &Config, service: &ServiceConfig) -> Vec<Hub> {
    hubs_of_group(users, config, service.group.as_deref())
}

/// [`hubs`] of a service in group `group` (`None`: ungrouped): what a scope sees depends on
/// the group alone, so this serves a service that is gone from the config too (a deleted
/// managed service).
pub fn hubs_of_group(users: &Users, config: &Config, group: Option<&str>) -> Vec<Hub> {
    let mut hubs = if users.is_open() {
        vec![Hub::open()]
    } else {
        users.users.iter().filter(|u| Scope::of(u).sees_group(config, group)).map(|u| Hub::user(&u.id)).collect()
    };
    if config.settings.status_page && Scope::Public.sees_group(config, group) {
        hubs.push(Hub::public());
    }
    hubs
}

/// Every hub of readers who see everything ([`Scope::All`]): the open hub (no users), or
/// the hub of each admin and `"*"` viewer. External alerts belong to no service, so they go
/// to these only (as `GET /api/v1/alerts/recent` shows them only to such readers).
pub fn hubs_seeing_all(users: &Users) -> Vec<Hub> {
    if users.is_open() {
        return vec![Hub::open()];
    }
    users.users.iter().filter(|u| Scope::of(u) == Scope::All).map(|u| Hub::user(&u.id)).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config() -> Config {
        Config::parse(Some(r#"{"groups": [{"id": "core", "services": ["api"]}], "services": [{"id": "api"}]}"#), None)
            .unwrap()
    }

    #[test]
    fn scopes_and_hubs_follow_groups_roles_and_the_public_flag() {
        let config = Config::parse(
            Some(
                r#"{"groups": [{"id": "core", "services": ["api"], "public": true}, {"id": "ops", "services": ["db"]}],
                   "services": [{"id": "api"}, {"id": "db"}, {"id": "loose"}]}"#,
            ),
            Some(r#"{"statusPage": {"enabled": true}}"#),
        )
        .unwrap();
        let users = Users::parse(
            Some(
                r#"{"users": [{"id": "ana", "role": "admin"}, {"id": "bo", "groups": ["core"]},
                              {"id": "cy", "groups": ["*"]}]}"#,
            ),
            &config,
        )
        .unwrap();
        let svc = |id: &str| config.service(id).unwrap();
        let bo = Scope::of(users.get("bo").unwrap());
        assert!(bo.sees(&config, svc("api")) && !bo.sees(&config, svc("db")) && !bo.sees(&config, svc("loose")));
        assert_eq!(Scope::of(users.get("cy").unwrap()), Scope::All);
        assert!(Scope::Public.sees(&config, svc("api")) && !Scope::Public.sees(&config, svc("db")));
        assert_eq!(bo.service_ids(&config), Some(vec!["api"]));
        assert_eq!(Scope::Groups(&[]).service_ids(&config), Some(vec![]));
        assert_eq!(Scope::All.service_ids(&config), None, "all: no list needed");
        let names = |id: &str| hubs(&users, &config, svc(id)).into_iter().map(|h| h.name).collect::<Vec<_>>();
        assert_eq!(names("api"), ["user:ana", "user:bo", "user:cy", "public"]);
        assert_eq!(names("loose"), ["user:ana", "user:cy"]);
        assert_eq!(hubs(&Users::default(), &config, svc("db")), [Hub::open()]);
        let all: Vec<String> = hubs_seeing_all(&users).into_iter().map(|h| h.name).collect();
        assert_eq!(all, ["user:ana", "user:cy"], "external alerts: admins and \"*\" viewers");
        assert_eq!(hubs_seeing_all(&Users::default()), [Hub::open()]);
        // A service gone from the config (deleted) reaches the same hubs through its group.
        let of_group =
            |g: Option<&str>| hubs_of_group(&users, &config, g).into_iter().map(|h| h.name).collect::<Vec<_>>();
        assert_eq!(of_group(Some("core")), names("api"));
        assert_eq!(of_group(None), names("loose"));
    }

    #[test]
    fn users_parse_with_defaults_and_every_error_is_reported() {
        let users = Users::parse(
            Some(r#"{"users": [{"id": "ana", "groups": ["core"], "role": "admin"}, {"id": "bo"}]}"#),
            &config(),
        )
        .unwrap();
        assert_eq!(users.get("ana").unwrap().role, Role::Admin);
        assert_eq!(users.get("bo").unwrap().role, Role::Viewer);
        assert!(Users::parse(None, &config()).unwrap().is_open());
        let errors = Users::parse(
            Some(r#"{"users": [{"id": "ana", "groups": ["nope"]}, {"id": "ana", "role": "root"}]}"#),
            &config(),
        )
        .unwrap_err();
        let text: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "users.json: users[0].groups[0]: unknown group \"nope\"",
                "users.json: users[1].id: duplicate user id \"ana\"",
                "users.json: users[1].role: unknown role \"root\", expected viewer or admin",
            ]
        );
    }
}
