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

/// The heartbeat keys of every service, as digests.
///
/// Built from the `API_KEYS` secret, a JSON object `{"service-id": "key", …}` (the seeds'
/// format). Plain keys are dropped after hashing; comparisons hash the presented key under
/// the same secret and compare the two 32-byte digests with [`subtle`], so the time taken
/// does not depend on how many bytes match, nor on the key lengths.
pub struct KeyRing {
    secret: Vec<u8>,
    digests: BTreeMap<String, Digest>,
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
    /// A key is empty, which would match a missing key.
    #[error("empty key for service {0:?}")]
    EmptyKey(String),
    /// A login token is shorter than [`MIN_TOKEN_LEN`], short enough to guess.
    #[error("the token of user {0:?} is shorter than {MIN_TOKEN_LEN} characters")]
    ShortToken(String),
}

/// The fewest characters a login token in `USER_TOKENS` may have. Sign-in has no rate limit,
/// so a token's length is what keeps guessing out of reach: 16 random characters from
/// `openssl rand -base64 24` carry over 90 bits.
pub const MIN_TOKEN_LEN: usize = 16;

/// The outcome of checking a heartbeat's key; both failures answer the same 401.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Authorization {
    /// The key matches, or the service does not require one.
    Granted,
    /// Unknown service, missing key or wrong key — deliberately indistinguishable.
    Denied,
}

impl KeyRing {
    /// Parses the `API_KEYS` JSON and hashes every key under `secret` (any length; in the
    /// Worker it is the `SERVER_SECRET` secret, or failing that the `API_KEYS` text itself).
    ///
    /// # Errors
    /// [`KeyRingError::Malformed`] when the JSON is not an object of strings;
    /// [`KeyRingError::EmptyKey`] when a key is the empty string.
    pub fn parse(api_keys_json: &str, secret: &[u8]) -> Result<Self, KeyRingError> {
        Self::hash(plain(api_keys_json)?, secret)
    }

    fn hash(plain: BTreeMap<String, String>, secret: &[u8]) -> Result<Self, KeyRingError> {
        let mut ring = Self { secret: secret.to_vec(), digests: BTreeMap::new() };
        for (service, key) in plain {
            if key.is_empty() {
                return Err(KeyRingError::EmptyKey(service));
            }
            let digest = ring.digest(&key);
            ring.digests.insert(service, digest);
        }
        Ok(ring)
    }

    /// Parses the `USER_TOKENS` JSON (`{"user-id": "token"}`) like [`KeyRing::parse`], also
    /// requiring every token to have at least [`MIN_TOKEN_LEN`] characters.
    ///
    /// # Errors
    /// As [`KeyRing::parse`], and [`KeyRingError::ShortToken`] naming the first user whose
    /// token is too short.
    pub fn parse_tokens(user_tokens_json: &str, secret: &[u8]) -> Result<Self, KeyRingError> {
        let plain = plain(user_tokens_json)?;
        if let Some((user, _)) = plain.iter().find(|(_, token)| token.chars().count() < MIN_TOKEN_LEN) {
            return Err(KeyRingError::ShortToken(user.clone()));
        }
        Self::hash(plain, secret)
    }

    /// A ring holding no keys (every keyed heartbeat is denied).
    pub fn empty() -> Self {
        Self { secret: Vec::new(), digests: BTreeMap::new() }
    }

    /// Decides whether a heartbeat for `service` carrying `presented` may be recorded.
    ///
    /// `service` is `None` for an id that is not configured. The work done is the same in
    /// every denied case: the presented key (or an empty one) is always hashed and compared
    /// against a digest (a dummy one when the service has no key).
    pub fn authorize(&self, service: Option<&ServiceConfig>, presented: Option<&str>) -> Authorization {
        let presented_digest = self.digest(presented.unwrap_or(""));
        let expected = service.and_then(|s| self.digests.get(s.id.as_str()));
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
            Some(s) if !s.auth_required => Authorization::Granted,
            Some(_) if matches && presented.is_some() => Authorization::Granted,
            _ => Authorization::Denied,
        }
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
        assert_eq!(ring.authorize(api, Some("s3cret ")), Authorization::Denied);
        assert_eq!(ring.authorize(api, Some("")), Authorization::Denied);
        assert_eq!(ring.authorize(api, None), Authorization::Denied);
        assert_eq!(ring.authorize(None, Some("s3cret")), Authorization::Denied);
        assert_eq!(ring.authorize(c.service("nokey"), Some("")), Authorization::Denied);
        assert_eq!(ring.authorize(c.service("nokey"), None), Authorization::Denied);
    }

    #[test]
    fn auth_not_required_grants_keyless_heartbeats_for_that_service_only() {
        let c = config();
        let ring = KeyRing::parse("{}", b"server").unwrap();
        assert_eq!(ring.authorize(c.service("open"), None), Authorization::Granted);
        assert_eq!(ring.authorize(c.service("api"), None), Authorization::Denied);
    }

    #[test]
    fn malformed_secrets_are_rejected_and_debug_hides_keys() {
        assert!(matches!(KeyRing::parse("[1]", b""), Err(KeyRingError::Malformed(_))));
        assert!(matches!(KeyRing::parse(r#"{"a": ""}"#, b""), Err(KeyRingError::EmptyKey(s)) if s == "a"));
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
    fn single_secrets_match_exactly() {
        assert!(secret_matches("s3cret", "s3cret"));
        assert!(!secret_matches("s3cret", "s3cre"));
        assert!(!secret_matches("s3cret", "s3cret "));
        assert!(!secret_matches("", ""));
    }
}
