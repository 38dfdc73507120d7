//! Who may call the management API (`/api/v1/services` writes, `/api/v1/groups`):
//! `Authorization: Bearer <MANAGEMENT_API_KEY>` (a secret), or an admin user (bearer user
//! token or dashboard session). Writes from a browser must come from this deployment's own
//! pages (`Sec-Fetch-Site`/`Origin`, as sign-in). With neither the secret nor any admin user
//! configured the API fails closed: 403 naming what to set, also in an open deployment.

use systole_core::access::Role;
use systole_core::api::Problem;
use systole_core::keys::{bearer, secret_matches, MIN_KEY_LEN};
use systole_core::managed::Actor;
use systole_core::session;
use worker::{Env, Request};

use crate::access::{self, Caller};
use crate::deployment;
use crate::http::ApiError;

/// The secret that opens the management API.
pub const KEY_SECRET: &str = "MANAGEMENT_API_KEY";

/// The detail of the 403 when nothing can open the management API.
pub const UNCONFIGURED: &str = "the management API is closed: set the MANAGEMENT_API_KEY secret \
     (wrangler secret put MANAGEMENT_API_KEY; at least 16 characters) or configure an admin user in users.json";

/// Identifies an admin of the management API; `write` for a request that changes something
/// (the same-origin check applies to browsers).
///
/// # Errors
/// 403 [`UNCONFIGURED`] when neither the secret (of at least [`MIN_KEY_LEN`] characters) nor
/// an admin user exists; 403 for a write posted from another site's page; 401 when the
/// request presents neither the secret nor a valid user credential; 403 for a viewer; 503
/// when a session cannot be checked.
pub async fn admin(req: &Request, env: &Env, write: bool) -> Result<Actor, ApiError> {
    let key = env.secret(KEY_SECRET).map(|s| s.to_string()).ok().filter(|k| k.chars().count() >= MIN_KEY_LEN);
    let admins = deployment::users().users.iter().any(|u| u.role == Role::Admin);
    if key.is_none() && !admins {
        return Err(Problem::forbidden(UNCONFIGURED).into());
    }
    let headers = req.headers();
    if write {
        let own = req.url()?.origin().ascii_serialization();
        let origin = headers.get("Origin")?;
        let site = headers.get("Sec-Fetch-Site")?;
        if !session::same_origin_post(origin.as_deref(), site.as_deref(), &own) {
            return Err(Problem::forbidden("management writes from a browser must come from this site's pages").into());
        }
    }
    let presented = headers.get("Authorization")?.and_then(|v| bearer(&v));
    if let (Some(key), Some(presented)) = (key.as_deref(), presented.as_deref()) {
        if secret_matches(key, presented) {
            return Ok(Actor::ApiKey);
        }
    }
    if !admins {
        return Err(Problem::unauthenticated().into());
    }
    match access::admin(req, env).await? {
        Caller::User(u) => Ok(Actor::User(u.id.clone())),
        // Unreachable with admins configured (the deployment is not open); refused anyway.
        Caller::Open => Err(Problem::forbidden(UNCONFIGURED).into()),
    }
}
