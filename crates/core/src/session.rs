//! Dashboard sessions: a signed cookie value that names a user, the session generation it
//! was issued in, and an expiry; ended server-side by sign-out and by a change of the user's
//! login token.
//!
//! Value: `{user id}.{generation}.{expiry, Unix ms UTC}.{MAC}`, the MAC being HMAC-SHA256,
//! lowercase hex, under `SESSION_SECRET` of `"{user id}.{generation}.{expiry}.{token digest
//! hex}"`. The user id may itself contain dots; the last three fields are split off from the
//! right. Verification compares the MAC in constant time.
//!
//! - **Sign-out**: each user has a session generation, a counter kept by the Worker in
//!   the user's NotificationHub storage (starting at 0). Signing in stamps the current
//!   generation into the cookie; signing out adds one, so every cookie issued before is
//!   refused ([`Session::current`]): sign-out ends all of that user's sessions.
//! - **Token change**: the token digest (the user's login token hashed under
//!   `SESSION_SECRET`, [`crate::keys::KeyRing::digest_of`]) is signed into the MAC but not
//!   written in the cookie. A cookie is checked against the user's current token, so a new
//!   (or removed) token makes every older cookie's MAC wrong, with no stored state.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::time::Timestamp;

/// Name of the session cookie. The `__Host-` prefix makes browsers accept it only with
/// `Secure`, `Path=/` and no `Domain`, so a sibling subdomain cannot set or shadow it.
pub const COOKIE: &str = "__Host-systole_session";

/// How long a session lasts: 12 hours.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3_600);

/// Shortest `SESSION_SECRET` accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// Why a cookie value was refused.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
pub enum SessionError {
    /// Not four dot-separated fields with a numeric generation and expiry and a hex MAC.
    #[error("malformed session")]
    Malformed,
    /// The MAC does not match: forged, signed under another secret, or issued for a login
    /// token the user no longer has.
    #[error("bad session signature")]
    BadSignature,
    /// Past its expiry.
    #[error("session expired")]
    Expired,
    /// Issued before the user last signed out.
    #[error("session ended by sign-out")]
    Ended,
}

/// What a session cookie says.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Session {
    /// The user's id.
    pub user: String,
    /// The user's session generation when it was issued.
    pub generation: u64,
    /// When it expires, Unix ms UTC.
    pub expires: Timestamp,
}

impl Session {
    /// Whether the session is still in the user's `current` generation (not signed out
    /// since).
    ///
    /// # Errors
    /// [`SessionError::Ended`] when the generation has moved on.
    pub fn current(&self, current: u64) -> Result<(), SessionError> {
        if self.generation == current {
            Ok(())
        } else {
            Err(SessionError::Ended)
        }
    }

    /// The signed cookie value, for the user whose login token has digest `token`.
    pub fn sign(&self, token: &[u8], secret: &[u8]) -> String {
        let payload = format!("{}.{}.{}", self.user, self.generation, self.expires.as_millis());
        format!("{payload}.{}", hex::encode(mac(secret, &payload, token)))
    }

    /// What a cookie value claims, before any check: whose token to verify it against.
    ///
    /// # Errors
    /// [`SessionError::Malformed`].
    pub fn claimed(value: &str) -> Result<Self, SessionError> {
        split(value).map(|(session, _)| session)
    }
}

fn split(value: &str) -> Result<(Session, Vec<u8>), SessionError> {
    let mut fields = value.rsplitn(4, '.');
    let (Some(sig), Some(expires), Some(generation), Some(user)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(SessionError::Malformed);
    };
    let expires: i64 = expires.parse().map_err(|_| SessionError::Malformed)?;
    let generation: u64 = generation.parse().map_err(|_| SessionError::Malformed)?;
    let sig = hex::decode(sig).map_err(|_| SessionError::Malformed)?;
    Ok((Session { user: user.to_owned(), generation, expires: Timestamp::from_millis(expires) }, sig))
}

fn mac(secret: &[u8], payload: &str, token: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return [0; 32];
    };
    mac.update(payload.as_bytes());
    mac.update(b".");
    mac.update(hex::encode(token).as_bytes());
    mac.finalize().into_bytes().into()
}

/// The session of a cookie value that is correctly signed for the user's current login
/// token digest `token` (`None`: the user has no token, nothing verifies) and not expired at
/// `now`. The caller then checks its generation ([`Session::current`]).
///
/// # Errors
/// [`SessionError`]: malformed, bad signature (checked before expiry, so an expired forgery
/// is reported as forged), or expired.
pub fn verify(value: &str, secret: &[u8], token: Option<&[u8]>, now: Timestamp) -> Result<Session, SessionError> {
    let (session, sig) = split(value)?;
    let token = token.ok_or(SessionError::BadSignature)?;
    let payload = format!("{}.{}.{}", session.user, session.generation, session.expires.as_millis());
    let expected = mac(secret, &payload, token);
    if !bool::from(expected.as_slice().ct_eq(&sig)) {
        return Err(SessionError::BadSignature);
    }
    if now >= session.expires {
        return Err(SessionError::Expired);
    }
    Ok(session)
}

/// The session of a `Cookie` request header's [`COOKIE`] when it is correctly signed for its
/// user's current login token and unexpired at `now` ([`verify`]); `token_of` gives a user's
/// token digest (`KeyRing::digest_of` of `USER_TOKENS`). `None` for no cookie or one that does
/// not verify. Its generation is left to the caller ([`Session::current`]).
pub fn from_cookie_header<'t>(
    header: &str,
    secret: &[u8],
    token_of: impl Fn(&str) -> Option<&'t [u8]>,
    now: Timestamp,
) -> Option<Session> {
    let value = cookie(header, COOKIE)?;
    let claimed = Session::claimed(value).ok()?;
    verify(value, secret, token_of(&claimed.user), now).ok()
}

/// The value of cookie `name` in a `Cookie` request header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// The `Set-Cookie` value that stores `value` until `expires`: HttpOnly, Secure,
/// SameSite=Strict, path `/` and no `Domain` (what the `__Host-` prefix requires).
pub fn set_cookie(value: &str, expires: Timestamp, now: Timestamp) -> String {
    let max_age = expires.since(now).as_secs();
    format!("{COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; Secure; SameSite=Strict")
}

/// The `Set-Cookie` value that ends the session.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict")
}

/// Whether a POST that signs in or out comes from this deployment's own pages (login CSRF
/// protection on top of `SameSite=Strict`, which does not cover signing in).
///
/// Browsers send `Sec-Fetch-Site` (w3.org/TR/fetch-metadata; no page can set or forge it)
/// and `Origin` on every POST (fetch.spec.whatwg.org). When `Sec-Fetch-Site` is present it
/// decides: only `same-origin` (or `none`, typed by the user) passes. Otherwise `Origin`
/// must equal `own_origin` (`scheme://host[:port]`, case-insensitively); `null` is refused.
/// Clients that send neither header (curl, scripts) are not browsers acting for someone
/// else, and pass.
pub fn same_origin_post(origin: Option<&str>, fetch_site: Option<&str>, own_origin: &str) -> bool {
    match (fetch_site, origin) {
        (Some(site), _) => matches!(site, "same-origin" | "none"),
        (None, Some(o)) => o.eq_ignore_ascii_case(own_origin),
        (None, None) => true,
    }
}

/// The `token` field of a sign-in form (`application/x-www-form-urlencoded`, as the HTML
/// form posts it), trimmed; `None` when absent or empty. Invalid percent-escapes and UTF-8
/// are decoded lossily, never refused.
pub fn form_token(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body).find(|(k, _)| k == "token").map(|(_, v)| v.trim().to_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    const TOKEN: &[u8] = &[7; 32];

    fn session(user: &str, generation: u64, expires: i64) -> Session {
        Session { user: user.into(), generation, expires: Timestamp::from_millis(expires) }
    }

    #[test]
    fn a_cookie_header_yields_the_session_signed_for_its_users_current_token() {
        let v = session("ana", 0, 10_000).sign(TOKEN, SECRET);
        let header = format!("theme=dark; {COOKIE}={v}");
        let now = Timestamp::from_millis(5_000);
        let ana = |user: &str| (user == "ana").then_some(TOKEN);
        assert_eq!(from_cookie_header(&header, SECRET, ana, now), Some(session("ana", 0, 10_000)));
        // Another token for ana (changed), no token (removed), no cookie, past its expiry.
        assert_eq!(from_cookie_header(&header, SECRET, |_| Some(&[8; 32][..]), now), None);
        assert_eq!(from_cookie_header(&header, SECRET, |_| None, now), None);
        assert_eq!(from_cookie_header("theme=dark", SECRET, ana, now), None);
        assert_eq!(from_cookie_header(&header, SECRET, ana, Timestamp::from_millis(10_000)), None);
    }

    #[test]
    fn a_signed_session_verifies_until_it_expires() {
        let v = session("ana.b", 3, 10_000).sign(TOKEN, SECRET);
        assert_eq!(Session::claimed(&v).unwrap(), session("ana.b", 3, 10_000));
        assert_eq!(
            verify(&v, SECRET, Some(TOKEN), Timestamp::from_millis(9_999)).unwrap(),
            session("ana.b", 3, 10_000)
        );
        assert_eq!(verify(&v, SECRET, Some(TOKEN), Timestamp::from_millis(10_000)), Err(SessionError::Expired));
    }

    #[test]
    fn a_session_ends_when_its_user_signs_out_or_changes_token() {
        let v = session("ana", 3, 10_000).sign(TOKEN, SECRET);
        let s = verify(&v, SECRET, Some(TOKEN), Timestamp::from_millis(0)).unwrap();
        assert_eq!(s.current(3), Ok(()));
        assert_eq!(s.current(4), Err(SessionError::Ended), "signed out since");
        let new_token = &[8; 32];
        assert_eq!(verify(&v, SECRET, Some(new_token), Timestamp::from_millis(0)), Err(SessionError::BadSignature));
        assert_eq!(verify(&v, SECRET, None, Timestamp::from_millis(0)), Err(SessionError::BadSignature), "no token");
        assert!(!v.contains(&hex::encode(TOKEN)), "the digest is signed, not written");
    }

    #[test]
    fn forged_sessions_are_refused() {
        let v = session("viewer", 0, 10_000).sign(TOKEN, SECRET);
        let at = Timestamp::from_millis(0);
        let other = v.replacen("viewer", "admin", 1);
        assert_eq!(verify(&other, SECRET, Some(TOKEN), at), Err(SessionError::BadSignature));
        let extended = v.replacen("10000", "99999", 1);
        assert_eq!(verify(&extended, SECRET, Some(TOKEN), at), Err(SessionError::BadSignature));
        let revived = v.replacen(".0.", ".1.", 1);
        assert_eq!(verify(&revived, SECRET, Some(TOKEN), at), Err(SessionError::BadSignature));
        assert_eq!(verify(&v, b"another secret of 32 bytes long!", Some(TOKEN), at), Err(SessionError::BadSignature));
        for bad in ["", "x", "a.b", "a.1.zz", "a.1.1.zz", "a.x.1.00", "a.1.notanumber.00", "a.-1.1.00"] {
            assert_eq!(verify(bad, SECRET, Some(TOKEN), at), Err(SessionError::Malformed), "{bad}");
            assert_eq!(Session::claimed(bad), Err(SessionError::Malformed), "{bad}");
        }
    }

    #[test]
    fn cookies_are_found_by_name_and_set_strictly() {
        assert_eq!(cookie("a=1; __Host-systole_session=x.0.1.ff; b=2", COOKIE), Some("x.0.1.ff"));
        assert_eq!(cookie("a=1; systole_session=x.0.1.ff", COOKIE), None, "the old name is not read");
        assert_eq!(cookie("a=1", COOKIE), None);
        let set = set_cookie("v", Timestamp::from_millis(0) + LIFETIME, Timestamp::from_millis(0));
        assert_eq!(set, "__Host-systole_session=v; Max-Age=43200; Path=/; HttpOnly; Secure; SameSite=Strict");
        assert_eq!(clear_cookie(), "__Host-systole_session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict");
    }

    #[test]
    fn only_posts_from_our_own_pages_may_sign_in_or_out() {
        let own = "https://status.example.com";
        assert!(same_origin_post(Some("https://status.example.com"), Some("same-origin"), own));
        assert!(same_origin_post(Some("HTTPS://STATUS.example.com"), None, own));
        assert!(same_origin_post(None, None, own), "curl and scripts");
        assert!(!same_origin_post(Some("https://evil.example"), None, own));
        assert!(!same_origin_post(Some("https://status.example.com.evil.example"), None, own));
        assert!(!same_origin_post(Some("null"), None, own));
        assert!(!same_origin_post(None, Some("cross-site"), own));
        assert!(!same_origin_post(Some(own), Some("same-site"), own), "a sibling subdomain");
        // A browser told not to send referrers may send `Origin: null` from our own page.
        assert!(same_origin_post(Some("null"), Some("same-origin"), own));
    }
}
