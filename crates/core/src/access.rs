//! Who may do what: users from `users.json` (the dashboard's viewers and admins), each
//! identified by a login token from the `USER_TOKENS` secret (JSON `{"user-id": "token"}`,
//! held as digests in a [`crate::keys::KeyRing`]).
//!
//! `users.json`: `{"users": [{"id": "ana", "name": "Ana", "groups": ["core"], "role":
//! "admin"}]}`. `groups` lists the group ids the user sees (`"*"`: all, including ungrouped
//! services); `role` is `viewer` (default) or `admin`. Without any user the deployment is
//! open, as in the seeds: everyone is treated as an admin.

use serde::Deserialize;

use crate::config::{from_json, Config, ConfigError, ConfigErrors};

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
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            users: Vec<RawUser>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config() -> Config {
        Config::parse(Some(r#"{"groups": [{"id": "core", "services": ["api"]}], "services": [{"id": "api"}]}"#), None)
            .unwrap()
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
