//! Who is calling: an open deployment (no users configured) or a user identified by
//! `Authorization: Bearer <user token>` (tokens from `USER_TOKENS`, compared in constant
//! time). Dashboard sessions will add a cookie path here.

use systole_core::access::{Role, User};
use systole_core::api::Problem;
use worker::{Env, Request};

use crate::deployment;

/// The caller of a user API.
#[derive(Clone, Copy, Debug)]
pub enum Caller {
    /// No users are configured: everyone may do everything, as in the seeds.
    Open,
    /// A configured user.
    User(&'static User),
}

/// Identifies the caller.
///
/// # Errors
/// 401 `unauthenticated` when users are configured and the request carries no valid token.
pub fn caller(req: &Request, env: &Env) -> Result<Caller, Problem> {
    let users = deployment::users();
    if users.is_open() {
        return Ok(Caller::Open);
    }
    let token = req.headers().get("Authorization").ok().flatten().and_then(|v| bearer(&v));
    let id = token.and_then(|t| deployment::user_tokens(env).identify(&t).map(ToOwned::to_owned));
    id.and_then(|id| users.get(&id)).map(Caller::User).ok_or_else(Problem::unauthenticated)
}

/// Identifies the caller and requires the `admin` role.
///
/// # Errors
/// 401 as [`caller`]; 403 for a viewer.
pub fn admin(req: &Request, env: &Env) -> Result<Caller, Problem> {
    match caller(req, env)? {
        Caller::User(u) if u.role != Role::Admin => {
            Err(Problem::forbidden(format!("user {:?} is a viewer; this needs the admin role", u.id)))
        }
        c => Ok(c),
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer(header: &str) -> Option<String> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned()).filter(|t| !t.is_empty())
}
