//! Who is calling: an open deployment (no users configured) or a user identified by a signed
//! session cookie (`systole_session`, see `systole_core::session`) or by
//! `Authorization: Bearer <user token>` (tokens from `USER_TOKENS`, compared in constant
//! time).

use systole_core::access::{Role, Scope, User};
use systole_core::api::Problem;
use systole_core::session;
use worker::{Env, Request};

use crate::deployment::{self, now};

/// The caller of a user API or page.
#[derive(Clone, Copy, Debug)]
pub enum Caller {
    /// No users are configured: everyone may do everything, as in the seeds.
    Open,
    /// A configured user.
    User(&'static User),
}

impl Caller {
    /// What the caller may see.
    pub fn scope(self) -> Scope<'static> {
        match self {
            Caller::Open => Scope::All,
            Caller::User(u) => Scope::of(u),
        }
    }

    /// The NotificationHub that carries this caller's live updates.
    pub fn hub(self) -> systole_core::access::Hub {
        match self {
            Caller::Open => systole_core::access::Hub::open(),
            Caller::User(u) => systole_core::access::Hub::user(&u.id),
        }
    }
}

/// Identifies the caller: a valid session cookie, else a bearer user token.
///
/// # Errors
/// 401 `unauthenticated` when users are configured and the request carries neither a valid,
/// unexpired session nor a valid token (a forged, expired or malformed cookie counts as
/// none).
pub fn caller(req: &Request, env: &Env) -> Result<Caller, Problem> {
    let users = deployment::users();
    if users.is_open() {
        return Ok(Caller::Open);
    }
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let from_cookie = header("Cookie").and_then(|c| {
        let value = session::cookie(&c, session::COOKIE)?.to_owned();
        let secret = deployment::session_secret(env)?;
        session::verify(&value, secret.as_bytes(), now()).ok()
    });
    let id = from_cookie.or_else(|| {
        let token = header("Authorization").and_then(|v| bearer(&v))?;
        deployment::user_tokens(env).identify(&token).map(ToOwned::to_owned)
    });
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

/// Whether `caller` may see service `id` (an unconfigured id is not visible).
pub fn sees(caller: Caller, id: &str) -> bool {
    let config = deployment::config();
    config.service(id).is_some_and(|s| caller.scope().sees(config, s))
}

pub use systole_core::keys::bearer;
