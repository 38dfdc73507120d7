//! Dashboard sessions: a signed cookie value that names a user and an expiry.
//!
//! Value: `{user id}.{expiry, Unix ms UTC}.{HMAC-SHA256 of "{user id}.{expiry}" under
//! SESSION_SECRET, lowercase hex}`. The user id may itself contain dots; the last two fields
//! are split off from the right. Verification compares the MAC in constant time.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::time::Timestamp;

/// Name of the session cookie.
pub const COOKIE: &str = "systole_session";

/// How long a session lasts: 12 hours.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3_600);

/// Shortest `SESSION_SECRET` accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// Why a cookie value was refused.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
pub enum SessionError {
    /// Not three dot-separated fields with a numeric expiry and a hex MAC.
    #[error("malformed session")]
    Malformed,
    /// The MAC does not match: forged or signed under another secret.
    #[error("bad session signature")]
    BadSignature,
    /// Past its expiry.
    #[error("session expired")]
    Expired,
}

fn mac(secret: &[u8], payload: &str) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return [0; 32];
    };
    mac.update(payload.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Signs a session for `user` that expires at `expires` (Unix ms, UTC).
pub fn sign(user: &str, expires: Timestamp, secret: &[u8]) -> String {
    let payload = format!("{user}.{}", expires.as_millis());
    format!("{payload}.{}", hex::encode(mac(secret, &payload)))
}

/// The user id of a session cookie value that is correctly signed and not expired at `now`.
///
/// # Errors
/// [`SessionError`]: malformed, bad signature (checked before expiry, so an expired forgery
/// is reported as forged), or expired.
pub fn verify(value: &str, secret: &[u8], now: Timestamp) -> Result<String, SessionError> {
    let mut fields = value.rsplitn(3, '.');
    let (Some(sig), Some(expires), Some(user)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(SessionError::Malformed);
    };
    let expires: i64 = expires.parse().map_err(|_| SessionError::Malformed)?;
    let sig = hex::decode(sig).map_err(|_| SessionError::Malformed)?;
    let expected = mac(secret, &format!("{user}.{expires}"));
    if !bool::from(expected.as_slice().ct_eq(&sig)) {
        return Err(SessionError::BadSignature);
    }
    if now >= Timestamp::from_millis(expires) {
        return Err(SessionError::Expired);
    }
    Ok(user.to_owned())
}

/// The value of cookie `name` in a `Cookie` request header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// The `Set-Cookie` value that stores `value` until `expires`: HttpOnly, Secure,
/// SameSite=Strict, path `/`.
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

    #[test]
    fn a_signed_session_verifies_until_it_expires() {
        let v = sign("ana.b", Timestamp::from_millis(10_000), SECRET);
        assert_eq!(verify(&v, SECRET, Timestamp::from_millis(9_999)).unwrap(), "ana.b");
        assert_eq!(verify(&v, SECRET, Timestamp::from_millis(10_000)), Err(SessionError::Expired));
    }

    #[test]
    fn forged_sessions_are_refused() {
        let v = sign("viewer", Timestamp::from_millis(10_000), SECRET);
        let other = v.replacen("viewer", "admin", 1);
        assert_eq!(verify(&other, SECRET, Timestamp::from_millis(0)), Err(SessionError::BadSignature));
        let extended = v.replacen("10000", "99999", 1);
        assert_eq!(verify(&extended, SECRET, Timestamp::from_millis(0)), Err(SessionError::BadSignature));
        assert_eq!(
            verify(&v, b"another secret of 32 bytes long!", Timestamp::from_millis(0)),
            Err(SessionError::BadSignature)
        );
        for bad in ["", "x", "a.b", "a.1.zz", "a.notanumber.00"] {
            assert_eq!(verify(bad, SECRET, Timestamp::from_millis(0)), Err(SessionError::Malformed), "{bad}");
        }
    }

    #[test]
    fn cookies_are_found_by_name_and_set_strictly() {
        assert_eq!(cookie("a=1; systole_session=x.1.ff; b=2", COOKIE), Some("x.1.ff"));
        assert_eq!(cookie("a=1", COOKIE), None);
        let set = set_cookie("v", Timestamp::from_millis(0) + LIFETIME, Timestamp::from_millis(0));
        assert_eq!(set, "systole_session=v; Max-Age=43200; Path=/; HttpOnly; Secure; SameSite=Strict");
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
