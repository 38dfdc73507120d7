//! `GET/POST /login` and `POST /logout`: exchanging a login token (from `USER_TOKENS`) for a
//! signed session cookie, and ending it server-side (see `systole_core::session`).

use systole_core::session;
use worker::{Env, Request, Result};

use super::{redirect, sign_in};
use crate::deployment::{self, now};
use crate::http::{OrUnavailable, Reply};
use crate::live;
use crate::router::Call;

/// Largest sign-in form accepted, bytes.
const FORM_LIMIT: usize = 4096;

/// `GET /login`: the sign-in form; an open deployment goes straight to the dashboard.
pub async fn form(_req: Request, _env: &Env, _call: Call<'_>) -> Reply {
    if deployment::users().is_open() {
        return redirect("/", None);
    }
    sign_in(200, None)
}

/// `POST /login`: checks the posted `token` (form-urlencoded) in constant time and, if it is
/// a user's, sets the session cookie (`__Host-systole_session`: HttpOnly, Secure,
/// SameSite=Strict, 12 h, signed for that token and the user's current session generation,
/// read from their hub) and redirects to `/` (303). A wrong token gets the form again with
/// 401; a post from another site's page 403; an oversized form 413; a deployment without a
/// usable `SESSION_SECRET`, or whose hub cannot be asked, 503.
pub async fn login(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    if deployment::users().is_open() {
        return redirect("/", None);
    }
    if !from_our_pages(&req)? {
        return sign_in(403, Some(CROSS_SITE));
    }
    let Some(body) = crate::http::read_capped(&req, FORM_LIMIT).await? else {
        return sign_in(413, Some("The form is larger than 4 KiB."));
    };
    let token = session::form_token(&body);
    let Some(secret) = deployment::session_secret(env) else {
        return sign_in(503, Some("Sign-in is unavailable: the SESSION_SECRET secret (32+ bytes) is not set."));
    };
    let user = token.as_deref().and_then(|t| deployment::user_tokens(env).identify(t));
    let Some(user) = user.and_then(|id| deployment::users().get(id)) else {
        return sign_in(401, Some("That token is not valid."));
    };
    let Some(digest) = deployment::user_tokens(env).digest_of(&user.id) else {
        return sign_in(401, Some("That token is not valid."));
    };
    let generation = live::session_generation(env, &user.id, false).await.or_unavailable("sign-in")?;
    let now = now();
    let expires = now + session::LIFETIME;
    let value = session::Session { user: user.id.clone(), generation, expires }.sign(digest, secret.as_bytes());
    redirect("/", Some(&session::set_cookie(&value, expires, now)))
}

/// `POST /logout`: ends the session server-side when the request carries a valid one (its
/// user's session generation moves on, so that cookie and every other the user holds are
/// refused from now on, and the user's live sockets close), clears the cookie and redirects
/// to `/login` (303); a post from another site's page gets 403 and keeps the session; 503
/// when the user's hub cannot be asked (the session is not ended then).
pub async fn logout(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    if !from_our_pages(&req)? {
        return sign_in(403, Some(CROSS_SITE));
    }
    let cookie = req.headers().get("Cookie")?.unwrap_or_default();
    if let Some(session) = crate::access::signed_session(&cookie, env) {
        live::session_generation(env, &session.user, true).await.or_unavailable("sign-out")?;
    }
    redirect("/login", Some(&session::clear_cookie()))
}

const CROSS_SITE: &str = "Sign in and out from this site's own pages: this form was posted from another site.";

/// [`session::same_origin_post`] for `req`, against the origin of the URL it was sent to.
fn from_our_pages(req: &Request) -> Result<bool> {
    let headers = req.headers();
    let own = req.url()?.origin().ascii_serialization();
    Ok(session::same_origin_post(headers.get("Origin")?.as_deref(), headers.get("Sec-Fetch-Site")?.as_deref(), &own))
}
