//! Heartbeat keys: parsed from the `API_KEYS` secret, held only as HMAC-SHA256 digests, and
//! compared in constant time.

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::ServiceConfig;

type HmacSha256 = Hmac<Sha256>;

/// A digest of one key: HMAC-SHA256 under the ring's server secret.
type Digest = [u8; 32];

/// The id in `API_KEYS` whose key serves every service without a key of its own or of its
/// group (cloudflaremon's fallback key).
pub const ANY_SERVICE: &str = "*";

/// The heartbeat keys, as digests.
///
/// Built from the `API_KEYS` secret, a JSON object `{"id": "key", …}` whose ids are service
/// ids, group ids or [`ANY_SERVICE`] (the format of cloudflaremon, lai2301/cloudflaremon
/// `src/auth`). Plain keys are dropped after hashing; comparisons hash the presented key under
/// the same secret and compare the two 32-byte digests with [`subtle`], so the time taken
/// does not depend on how many bytes match, nor on the key lengths.
pub struct KeyRing {
    secret: Vec<u8>,
    digests: BTreeMap<String, Digest>,
    /// Whether the secret was set and readable ([`KeyRing::unset`] is not).
    set: bool,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print digests or the secret.
        f.debug_struct("KeyRing").field("services", &self.digests.len()).finish()
    }
}

/// Why the `API_KEYS` secret could not be read.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub enum KeyRingError {
    /// The secret is not a JSON object of strings.
    #[error("must be a JSON object of id to key strings: {0}")]
    Malformed(String),
    /// A login token is shorter than [`MIN_TOKEN_LEN`], short enough to guess.
    #[error("the token of user {0:?} is shorter than {MIN_TOKEN_LEN} characters")]
    ShortToken(String),
    /// Two users have the same login token, so a sign-in cannot tell who it is.
    #[error("users {0:?} and {1:?} have the same token; give each user their own")]
    DuplicateToken(String, String),
}

/// The fewest characters a login token in `USER_TOKENS` may have. Sign-in has no rate limit,
/// so a token's length is what keeps guessing out of reach: 16 random characters from
/// `openssl rand -base64 24` carry over 90 bits.
pub const MIN_TOKEN_LEN: usize = 16;

/// The outcome of checking a heartbeat's key. Every denial costs the same work (one HMAC
/// and one constant-time comparison), so only the answer's words tell them apart, as in
/// cloudflaremon, whose per-item error strings [`Authorization::error`] returns.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Authorization {
    /// The key matches, or the service does not require one.
    Granted,
    /// No such service is configured.
    UnknownService,
    /// The service requires a key but `API_KEYS` is not set (or unreadable).
    KeysUnset,
    /// `API_KEYS` has no key for the service: none under its id, its group's id or `"*"`.
    NoKey,
    /// The key is missing or wrong.
    WrongKey,
}

impl Authorization {
    /// Whether the heartbeat may be recorded.
    pub fn granted(self) -> bool {
        self == Authorization::Granted
    }

    /// cloudflaremon's per-item error for a denial (`src/handlers/heartbeat.js`), `None` when
    /// granted: `Unknown serviceId`, `Server misconfigured: API_KEYS not set`, `No API key
    /// configured for this service`, `Invalid API key`.
    pub fn error(self) -> Option<&'static str> {
        match self {
            Authorization::Granted => None,
            Authorization::UnknownService => Some("Unknown serviceId"),
            Authorization::KeysUnset => Some("Server misconfigured: API_KEYS not set"),
            Authorization::NoKey => Some("No API key configured for this service"),
            Authorization::WrongKey => Some("Invalid API key"),
        }
    }
}

impl KeyRing {
    /// Parses the `API_KEYS` JSON and hashes every key under `secret` (any length; in the
    /// Worker it is the `SERVER_SECRET` secret, or failing that the `API_KEYS` text itself).
    /// An empty key is skipped, as in cloudflaremon (the lookup falls through to the group's
    /// key or `"*"`).
    ///
    /// # Errors
    /// [`KeyRingError::Malformed`] when the JSON is not an object of strings.
    pub fn parse(api_keys_json: &str, secret: &[u8]) -> Result<Self, KeyRingError> {
        Ok(Self::hash(plain(api_keys_json)?, secret))
    }

    fn hash(plain: BTreeMap<String, String>, secret: &[u8]) -> Self {
        let mut ring = Self { secret: secret.to_vec(), digests: BTreeMap::new(), set: true };
        for (id, key) in plain.into_iter().filter(|(_, key)| !key.is_empty()) {
            let digest = ring.digest(&key);
            ring.digests.insert(id, digest);
        }
        ring
    }

    /// Parses the `USER_TOKENS` JSON (`{"user-id": "token"}`) like [`KeyRing::parse`], also
    /// requiring every token to have at least [`MIN_TOKEN_LEN`] characters.
    ///
    /// # Errors
    /// As [`KeyRing::parse`], [`KeyRingError::ShortToken`] naming the first user whose
    /// token is too short, and [`KeyRingError::DuplicateToken`] naming the first two users
    /// (in id order) who share a token (never the token).
    pub fn parse_tokens(user_tokens_json: &str, secret: &[u8]) -> Result<Self, KeyRingError> {
        let plain = plain(user_tokens_json)?;
        if let Some((user, _)) = plain.iter().find(|(_, token)| token.chars().count() < MIN_TOKEN_LEN) {
            return Err(KeyRingError::ShortToken(user.clone()));
        }
        let mut owners: BTreeMap<&str, &str> = BTreeMap::new();
        for (user, token) in &plain {
            if let Some(first) = owners.insert(token, user) {
                return Err(KeyRingError::DuplicateToken(first.to_owned(), user.clone()));
            }
        }
        Ok(Self::hash(plain, secret))
    }

    /// The digest of `id`'s key (a user's login token hashed under the ring's secret), to
    /// bind a session to the token it was issued for (`crate::session`); `None` when `id`
    /// has none.
    pub fn digest_of(&self, id: &str) -> Option<&[u8]> {
        self.digests.get(id).map(|d| d.as_slice())
    }

    /// A ring holding no keys (every keyed heartbeat is denied).
    pub fn empty() -> Self {
        Self { secret: Vec::new(), digests: BTreeMap::new(), set: true }
    }

    /// The ring when `API_KEYS` is not set or unreadable: like [`KeyRing::empty`], but a
    /// denial says [`Authorization::KeysUnset`].
    pub fn unset() -> Self {
        Self { set: false, ..Self::empty() }
    }

    /// Decides whether a heartbeat for `service` carrying `presented` may be recorded.
    ///
    /// `service` is `None` for an id that is not configured. A service with
    /// `auth.required: false` is granted whatever is presented. Otherwise the expected key is
    /// the first found of `API_KEYS[service id]`, `API_KEYS[its group id]` (when it is in a
    /// group) and `API_KEYS["*"]`, as in cloudflaremon; a key for another group never opens
    /// it. The work done is the same in every case: the presented key (or an empty one) is
    /// always hashed and compared against a digest (a dummy one when there is none).
    pub fn authorize(&self, service: Option<&ServiceConfig>, presented: Option<&str>) -> Authorization {
        let presented_digest = self.digest(presented.unwrap_or(""));
        let expected = service.and_then(|s| self.expected(s));
        let matches: bool = match expected {
            Some(expected) => expected.ct_eq(&presented_digest).into(),
            None => {
                // Same cost as a real comparison, result ignored.
                let dummy = [0u8; 32];
                let _ = bool::from(dummy.ct_eq(&presented_digest));
                false
            }
        };
        match service {
            None => Authorization::UnknownService,
            Some(s) if !s.auth_required => Authorization::Granted,
            Some(_) if !self.set => Authorization::KeysUnset,
            Some(_) if expected.is_none() => Authorization::NoKey,
            Some(_) if matches && presented.is_some() => Authorization::Granted,
            Some(_) => Authorization::WrongKey,
        }
    }

    /// The digest a heartbeat for `service` must match: its own key, else its group's, else
    /// the `"*"` key.
    fn expected(&self, service: &ServiceConfig) -> Option<&Digest> {
        let group = service.group.as_deref().and_then(|g| self.digests.get(g));
        self.digests.get(service.id.as_str()).or(group).or_else(|| self.digests.get(ANY_SERVICE))
    }

    /// The id whose key is `presented` (e.g. the user owning a login token), comparing
    /// against every digest in constant time without stopping at a match.
    pub fn identify(&self, presented: &str) -> Option<&str> {
        let presented = self.digest(presented);
        let mut found = None;
        for (id, digest) in &self.digests {
            if bool::from(digest.ct_eq(&presented)) {
                found = Some(id.as_str());
            }
        }
        found
    }

    fn digest(&self, key: &str) -> Digest {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => return [0u8; 32],
        };
        mac.update(key.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// A secret's JSON object of id to key.
fn plain(json: &str) -> Result<BTreeMap<String, String>, KeyRingError> {
    serde_json::from_str(json).map_err(|e| KeyRingError::Malformed(e.to_string()))
}

/// Whether `presented` equals the single secret `expected` (e.g. `ALERT_API_KEY`), compared
/// in constant time: both are HMAC'd under `expected` first, so neither their contents nor
/// their lengths show in the timing. An empty `expected` matches nothing.
pub fn secret_matches(expected: &str, presented: &str) -> bool {
    if expected.is_empty() {
        return false;
    }
    let digest = |text: &str| -> Digest {
        match HmacSha256::new_from_slice(expected.as_bytes()) {
            Ok(mut mac) => {
                mac.update(text.as_bytes());
                mac.finalize().into_bytes().into()
            }
            Err(_) => [0u8; 32],
        }
    };
    digest(expected).ct_eq(&digest(presented)).into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::Config;

    fn config() -> Config {
        Config::parse(
            Some(r#"{"services": [{"id": "api"}, {"id": "open", "auth": {"required": false}}, {"id": "nokey"}]}"#),
            None,
        )
        .unwrap()
    }

    #[test]
    fn only_the_right_key_is_granted() {
        let c = config();
        let ring = KeyRing::parse(r#"{"api": "s3cret", "open": "k"}"#, b"server").unwrap();
        let api = c.service("api");
        assert_eq!(ring.authorize(api, Some("s3cret")), Authorization::Granted);
        assert_eq!(ring.authorize(api, Some("s3cret ")), Authorization::WrongKey);
        assert_eq!(ring.authorize(api, Some("")), Authorization::WrongKey);
        assert_eq!(ring.authorize(api, None), Authorization::WrongKey);
        assert_eq!(ring.authorize(None, Some("s3cret")), Authorization::UnknownService);
        assert_eq!(ring.authorize(c.service("nokey"), Some("")), Authorization::NoKey);
        assert_eq!(ring.authorize(c.service("nokey"), None), Authorization::NoKey);
    }

    #[test]
    fn denials_carry_cloudflaremons_error_strings() {
        let errors: Vec<_> = [
            Authorization::Granted,
            Authorization::UnknownService,
            Authorization::KeysUnset,
            Authorization::NoKey,
            Authorization::WrongKey,
        ]
        .iter()
        .map(|a| a.error())
        .collect();
        assert_eq!(
            errors,
            [
                None,
                Some("Unknown serviceId"),
                Some("Server misconfigured: API_KEYS not set"),
                Some("No API key configured for this service"),
                Some("Invalid API key"),
            ]
        );
    }

    fn grouped() -> Config {
        Config::parse(
            Some(
                r#"{"groups": [{"id": "prod", "services": ["api", "db"]}, {"id": "dev", "services": ["sandbox"]}],
                    "services": [{"id": "api"}, {"id": "db"}, {"id": "sandbox"}, {"id": "loner"}]}"#,
            ),
            None,
        )
        .unwrap()
    }

    #[test]
    fn the_key_is_looked_up_by_service_then_group_then_star() {
        let c = grouped();
        let ring = KeyRing::parse(r#"{"api": "own", "prod": "group", "*": "any"}"#, b"s").unwrap();
        let (api, db, sandbox, loner) = (c.service("api"), c.service("db"), c.service("sandbox"), c.service("loner"));
        // The service's own key wins: its group's key and "*" no longer open it.
        assert_eq!(ring.authorize(api, Some("own")), Authorization::Granted);
        assert_eq!(ring.authorize(api, Some("group")), Authorization::WrongKey);
        assert_eq!(ring.authorize(api, Some("any")), Authorization::WrongKey);
        // Without one, the group's key, and then not "*".
        assert_eq!(ring.authorize(db, Some("group")), Authorization::Granted);
        assert_eq!(ring.authorize(db, Some("any")), Authorization::WrongKey);
        // Without either, "*".
        assert_eq!(ring.authorize(sandbox, Some("any")), Authorization::Granted);
        assert_eq!(ring.authorize(loner, Some("any")), Authorization::Granted);
        assert_eq!(ring.authorize(loner, Some("group")), Authorization::WrongKey);
        // An empty key counts as none, as in cloudflaremon: the lookup falls through.
        let ring = KeyRing::parse(r#"{"db": "", "prod": "group"}"#, b"s").unwrap();
        assert_eq!(ring.authorize(db, Some("group")), Authorization::Granted);
    }

    #[test]
    fn a_group_key_does_not_open_a_service_of_another_group() {
        let c = grouped();
        let ring = KeyRing::parse(r#"{"prod": "prod-key", "dev": "dev-key"}"#, b"s").unwrap();
        assert_eq!(ring.authorize(c.service("db"), Some("prod-key")), Authorization::Granted);
        assert_eq!(ring.authorize(c.service("db"), Some("dev-key")), Authorization::WrongKey);
        assert_eq!(ring.authorize(c.service("sandbox"), Some("prod-key")), Authorization::WrongKey);
        assert_eq!(ring.authorize(c.service("loner"), Some("prod-key")), Authorization::NoKey, "no group, no star");
    }

    #[test]
    fn auth_not_required_grants_keyless_heartbeats_for_that_service_only() {
        let c = config();
        let ring = KeyRing::parse("{}", b"server").unwrap();
        assert_eq!(ring.authorize(c.service("open"), None), Authorization::Granted);
        assert_eq!(ring.authorize(c.service("api"), None), Authorization::NoKey);
        let unset = KeyRing::unset();
        assert_eq!(unset.authorize(c.service("open"), None), Authorization::Granted);
        assert_eq!(unset.authorize(c.service("api"), Some("k")), Authorization::KeysUnset);
        assert_eq!(unset.authorize(None, Some("k")), Authorization::UnknownService);
    }

    #[test]
    fn malformed_secrets_are_rejected_and_debug_hides_keys() {
        assert!(matches!(KeyRing::parse("[1]", b""), Err(KeyRingError::Malformed(_))));
        assert!(matches!(KeyRing::parse(r#"{"a": 1}"#, b""), Err(KeyRingError::Malformed(_))));
        let ring = KeyRing::parse(r#"{"api": "s3cret"}"#, b"server").unwrap();
        assert_eq!(format!("{ring:?}"), "KeyRing { services: 1 }");
    }

    #[test]
    fn identify_finds_the_owner_of_a_token() {
        let ring = KeyRing::parse_tokens(r#"{"ana": "token-of-ana-0001", "bo": "token-of-bo-00002"}"#, b"s").unwrap();
        assert_eq!(ring.identify("token-of-bo-00002"), Some("bo"));
        assert_eq!(ring.identify("token-of-bo-0000"), None);
        assert_eq!(KeyRing::empty().identify(""), None);
    }

    #[test]
    fn login_tokens_shorter_than_the_minimum_are_rejected() {
        let short = KeyRing::parse_tokens(r#"{"ana": "token-of-ana-0001", "bo": "fifteen-chars-x"}"#, b"s");
        assert!(matches!(short, Err(KeyRingError::ShortToken(u)) if u == "bo"));
        assert!(matches!(KeyRing::parse_tokens("[]", b"s"), Err(KeyRingError::Malformed(_))));
        // Characters, not bytes: 16 two-byte characters pass, 15 do not.
        assert!(KeyRing::parse_tokens(r#"{"ana": "éééééééééééééééé"}"#, b"s").is_ok());
        assert!(KeyRing::parse_tokens(r#"{"ana": "ééééééééééééééé"}"#, b"s").is_err());
    }

    #[test]
    fn two_users_with_one_token_are_rejected_naming_both_users_not_the_token() {
        let dup = KeyRing::parse_tokens(
            r#"{"vera": "shared-token-0001", "ana": "token-of-ana-0001", "bo": "shared-token-0001"}"#,
            b"s",
        );
        let err = dup.unwrap_err();
        assert_eq!(err, KeyRingError::DuplicateToken("bo".into(), "vera".into()));
        let text = err.to_string();
        assert!(text.contains("\"bo\"") && text.contains("\"vera\"") && !text.contains("shared-token"), "{text}");
    }

    #[test]
    fn a_users_digest_changes_with_their_token() {
        let a = KeyRing::parse_tokens(r#"{"ana": "token-of-ana-0001"}"#, b"s").unwrap();
        let b = KeyRing::parse_tokens(r#"{"ana": "token-of-ana-0002"}"#, b"s").unwrap();
        assert_eq!(a.digest_of("ana").map(<[u8]>::len), Some(32));
        assert_ne!(a.digest_of("ana"), b.digest_of("ana"));
        assert_eq!(a.digest_of("bo"), None);
    }

    #[test]
    fn single_secrets_match_exactly() {
        assert!(secret_matches("s3cret", "s3cret"));
        assert!(!secret_matches("s3cret", "s3cre"));
        assert!(!secret_matches("s3cret", "s3cret "));
        assert!(!secret_matches("", ""));
    }
}
