//! Who is calling: an open deployment (no users configured) or a user identified by a signed
//! session cookie (`__Host-systole_session`, see `systole_core::session`: signed for the
//! user's current token and in their current session generation, which their hub keeps) or
//! by `Authorization: Bearer <user token>` (tokens from `USER_TOKENS`, compared in constant
//! time).

use systole_core::access::{Role, Scope, User};
use systole_core::api::Problem;
use systole_core::session;
use worker::{Env, Request};

use crate::deployment::{self, now};
use crate::http::ApiError;

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
/// A cookie counts when it is signed for the user's current login token, unexpired, and of
/// the user's current session generation (one request to their NotificationHub, made only
/// for a correctly signed cookie).
///
/// # Errors
/// 401 `unauthenticated` when users are configured and the request carries neither a valid,
/// unexpired, not signed-out session nor a valid token (a forged, expired or malformed
/// cookie counts as none); 503 when the hub cannot be asked.
pub async fn caller(req: &Request, env: &Env) -> Result<Caller, ApiError> {
    let users = deployment::users();
    if users.is_open() {
        return Ok(Caller::Open);
    }
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let mut id = None;
    if let Some(session) = header("Cookie").and_then(|c| signed_session(&c, env)) {
        let generation = crate::live::session_generation(env, &session.user, false).await?;
        id = session.current(generation).is_ok().then_some(session.user);
    }
    let id = id.or_else(|| {
        let token = header("Authorization").and_then(|v| bearer(&v))?;
        deployment::user_tokens(env).identify(&token).map(ToOwned::to_owned)
    });
    id.and_then(|id| users.get(&id)).map(Caller::User).ok_or_else(|| Problem::unauthenticated().into())
}

/// The session of the `Cookie` header's session cookie when it is correctly signed for its
/// user's current token and unexpired (its generation is not checked here).
pub fn signed_session(cookie_header: &str, env: &Env) -> Option<session::Session> {
    let secret = deployment::session_secret(env)?;
    let tokens = deployment::user_tokens(env);
    session::from_cookie_header(cookie_header, secret.as_bytes(), |user| tokens.digest_of(user), now())
}

/// Identifies the caller and requires the `admin` role.
///
/// # Errors
/// 401 and 503 as [`caller`]; 403 for a viewer.
pub async fn admin(req: &Request, env: &Env) -> Result<Caller, ApiError> {
    match caller(req, env).await? {
        Caller::User(u) if u.role != Role::Admin => {
            Err(Problem::forbidden(format!("user {:?} is a viewer; this needs the admin role", u.id)).into())
        }
        c => Ok(c),
    }
}

/// Whether `caller` may see service `id` of `config` (the catalog, `crate::catalog`; an
/// unconfigured id is not visible).
pub fn sees(caller: Caller, config: &systole_core::config::Config, id: &str) -> bool {
    config.service(id).is_some_and(|s| caller.scope().sees(config, s))
}

pub use systole_core::keys::bearer;
