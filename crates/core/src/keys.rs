//! Heartbeat keys: parsed from the `API_KEYS` secret, held only as HMAC-SHA256 digests, and
//! compared in constant time.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use crate::config::ServiceConfig;

mod ping;
pub use ping::{is_uuid, PingCredential, PingIndex, PingKind, MAX_PING_SECRET_LEN};

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
    /// HMAC-SHA256 keyed with the server secret, cloned for each digest: the secret (which may
    /// be the whole `API_KEYS` text, tens of KiB for a large fleet) is hashed into the key
    /// once, when the ring is built, never per heartbeat.
    mac: HmacSha256,
    /// By id; `None` for a key shorter than [`MIN_KEY_LEN`], which opens nothing.
    digests: BTreeMap<String, Option<Digest>>,
    /// Whether the secret was set and readable ([`KeyRing::unset`] is not).
    set: bool,
    /// The `PING_IDS` and `PING_KEYS` secrets ([`KeyRing::with_pings`]).
    pings: ping::PingSecrets,
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

/// The fewest characters a heartbeat key (each `API_KEYS` entry) or `ALERT_API_KEY` may
/// have. A shorter key is refused: it opens nothing (fail closed), and the Worker logs its
/// entry's name (never its value) at start-up ([`weak_secrets`]).
pub const MIN_KEY_LEN: usize = MIN_TOKEN_LEN;

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
    /// key or `"*"`). A key shorter than [`MIN_KEY_LEN`] characters is kept as refused: its
    /// id opens nothing (no fall-through either), and [`KeyRing::weak`] names it.
    ///
    /// # Errors
    /// [`KeyRingError::Malformed`] when the JSON is not an object of strings.
    pub fn parse(api_keys_json: &str, secret: &[u8]) -> Result<Self, KeyRingError> {
        Ok(Self::hash(plain(api_keys_json)?, secret))
    }

    fn hash(plain: BTreeMap<String, String>, secret: &[u8]) -> Self {
        let mut ring = Self { mac: keyed(secret), digests: BTreeMap::new(), set: true, pings: Default::default() };
        for (id, key) in plain.into_iter().filter(|(_, key)| !key.is_empty()) {
            let digest = (key.chars().count() >= MIN_KEY_LEN).then(|| ring.digest(&key));
            ring.digests.insert(id, digest);
        }
        ring
    }

    /// The ids whose keys are refused for being shorter than [`MIN_KEY_LEN`], sorted.
    pub fn weak(&self) -> Vec<&str> {
        self.digests.iter().filter(|(_, d)| d.is_none()).map(|(id, _)| id.as_str()).collect()
    }

    /// Parses the `USER_TOKENS` JSON (`{"user-id": "token"}`) like [`KeyRing::parse`],
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
        self.digests.get(id).and_then(|d| d.as_ref()).map(|d| d.as_slice())
    }

    /// A ring holding no keys (every keyed heartbeat is denied).
    pub fn empty() -> Self {
        Self { mac: keyed(&[]), digests: BTreeMap::new(), set: true, pings: Default::default() }
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
    ///
    /// A presented key that encodes a ping credential ([`PingCredential::to_key`]: the
    /// router's translation of a healthchecks.io or Uptime Kuma ping URL) is checked as that
    /// credential instead: the service's ping id, push token or group's ping key.
    pub fn authorize(&self, service: Option<&ServiceConfig>, presented: Option<&str>) -> Authorization {
        if let Some(credential) = presented.and_then(PingCredential::from_key) {
            return self.authorize_ping(service, &credential);
        }
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
    /// the `"*"` key; `None` when the first of these that is present is refused (too short).
    fn expected(&self, service: &ServiceConfig) -> Option<&Digest> {
        let group = service.group.as_deref().and_then(|g| self.digests.get(g));
        let found = self.digests.get(service.id.as_str()).or(group).or_else(|| self.digests.get(ANY_SERVICE));
        found.and_then(Option::as_ref)
    }

    /// The id whose key is `presented` (e.g. the user owning a login token), comparing
    /// against every digest in constant time without stopping at a match.
    pub fn identify(&self, presented: &str) -> Option<&str> {
        let presented = self.digest(presented);
        let mut found = None;
        for (id, digest) in self.digests.iter().filter_map(|(id, d)| Some((id, d.as_ref()?))) {
            if bool::from(digest.ct_eq(&presented)) {
                found = Some(id.as_str());
            }
        }
        found
    }

    /// The HMAC-SHA256 digest of `key` under the ring's server secret: how a managed
    /// service's keys are stored ([`crate::managed`]), compared with
    /// [`subtle::ConstantTimeEq`].
    pub fn digest_key(&self, key: &str) -> [u8; 32] {
        self.digest(key)
    }

    fn digest(&self, key: &str) -> Digest {
        let mut mac = self.mac.clone();
        mac.update(key.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// HMAC-SHA256 under the deployment's server secret (`SERVER_SECRET`, else the `API_KEYS`
/// text), for what the Worker signs to check later without storing it: acknowledgement links
/// ([`crate::escalation::AckLinks`]) and badge keys ([`crate::badge::Badges`]). Each signs
/// its own domain-separated message (`systole ack v1\0…`, `systole badge v1\0…`), so a
/// signature of one kind never passes as another.
#[derive(Clone)]
pub struct ServerMac(Option<HmacSha256>);

impl fmt::Debug for ServerMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.debug_struct("ServerMac").field("enabled", &self.0.is_some()).finish()
    }
}

impl ServerMac {
    /// The MAC under `secret`; an empty or missing secret gives none ([`ServerMac::sign`]
    /// is then always `None`).
    pub fn new(secret: Option<&[u8]>) -> Self {
        Self(secret.filter(|s| !s.is_empty()).map(keyed))
    }

    /// The 32-byte HMAC-SHA256 of `message`; `None` without a secret.
    pub fn sign(&self, message: &str) -> Option<[u8; 32]> {
        let mut mac = self.0.clone()?;
        mac.update(message.as_bytes());
        Some(mac.finalize().into_bytes().into())
    }
}

/// HMAC-SHA256 keyed with `secret` (any length: a key longer than SHA-256's block is hashed
/// first, as RFC 2104 says).
fn keyed(secret: &[u8]) -> HmacSha256 {
    // Invariant: HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    #[allow(clippy::expect_used)]
    HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length")
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

/// One report line per secret entry shorter than [`MIN_KEY_LEN`] characters, naming the
/// entry and never its value: `API_KEYS["<service, group or *>"]` for each such entry of
/// `api_keys_json` (unparseable JSON is reported elsewhere, not here), then `ALERT_API_KEY`.
/// Logged by the Worker at start-up and printed by `cargo xtask dev` for `.dev.vars`.
pub fn weak_secrets(api_keys_json: Option<&str>, alert_api_key: Option<&str>) -> Vec<String> {
    let why = format!("is shorter than {MIN_KEY_LEN} characters and is refused (e.g. `openssl rand -hex 24`)");
    let mut lines: Vec<String> = api_keys_json
        .and_then(|json| plain(json).ok())
        .into_iter()
        .flatten()
        .filter(|(_, key)| !key.is_empty() && key.chars().count() < MIN_KEY_LEN)
        .map(|(id, _)| format!("API_KEYS[{id:?}] {why}"))
        .collect();
    if alert_api_key.is_some_and(|k| k.trim().chars().count() < MIN_KEY_LEN) {
        lines.push(format!("ALERT_API_KEY {why}"));
    }
    lines
}

/// The answer to an external alert's credentials ([`alert_access`]).
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum AlertAccess {
    /// Accepted. `key_id` names the credential that let it in, for namespacing its
    /// fingerprints: 8 hex digits of a SHA-256 of `ALERT_API_KEY` (never the key), or
    /// `open` when `settings.json` `api.allowAlertsWithoutKey` let it in without one.
    Granted {
        /// See above.
        key_id: String,
    },
    /// `ALERT_API_KEY` is not set and the opt-out is off: 503 naming the secret.
    Unset,
    /// `ALERT_API_KEY` is shorter than [`MIN_KEY_LEN`] characters: 503, whatever is
    /// presented (fail closed).
    Weak,
    /// The key is missing or wrong: 401.
    Denied,
}

/// Whether an external alert presenting `presented` may come in, given the `ALERT_API_KEY`
/// secret (`None` when unset; surrounding whitespace ignored) and the `settings.json`
/// opt-out `api.allowAlertsWithoutKey` (`allow_without_key`, which only opens the endpoints
/// while the secret is unset). The key comparison is [`secret_matches`] (constant time).
pub fn alert_access(secret: Option<&str>, allow_without_key: bool, presented: Option<&str>) -> AlertAccess {
    let Some(expected) = secret.map(str::trim) else {
        return if allow_without_key { AlertAccess::Granted { key_id: "open".to_owned() } } else { AlertAccess::Unset };
    };
    if expected.chars().count() < MIN_KEY_LEN {
        return AlertAccess::Weak;
    }
    if !secret_matches(expected, presented.unwrap_or_default().trim()) {
        return AlertAccess::Denied;
    }
    let digest = Sha256::digest(format!("systole alert sender {expected}").as_bytes());
    let key_id = digest.iter().take(4).fold(String::new(), |mut s, b| {
        s.push_str(&format!("{b:02x}"));
        s
    });
    AlertAccess::Granted { key_id }
}

/// The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive,
/// RFC 6750 §2.1, surrounding whitespace ignored); `None` for another scheme or no token.
pub fn bearer(header: &str) -> Option<String> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
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
        let ring = KeyRing::parse(r#"{"api": "s3cret-0123456789", "open": "k-0123456789abcdef"}"#, b"server").unwrap();
        let api = c.service("api");
        assert_eq!(ring.authorize(api, Some("s3cret-0123456789")), Authorization::Granted);
        assert_eq!(ring.authorize(api, Some("s3cret-0123456789 ")), Authorization::WrongKey);
        assert_eq!(ring.authorize(api, Some("")), Authorization::WrongKey);
        assert_eq!(ring.authorize(api, None), Authorization::WrongKey);
        assert_eq!(ring.authorize(None, Some("s3cret-0123456789")), Authorization::UnknownService);
        assert_eq!(ring.authorize(c.service("nokey"), Some("")), Authorization::NoKey);
        assert_eq!(ring.authorize(c.service("nokey"), None), Authorization::NoKey);
    }

    /// The ring keys its HMAC once; each digest is still HMAC-SHA256(secret, key), for
    /// secrets shorter and longer than SHA-256's 64-byte block (the `API_KEYS` text itself).
    #[test]
    fn digests_are_hmac_sha256_under_the_secret_of_any_length() {
        let api_keys = r#"{"api": "s3cret-0123456789"}"#;
        for secret in [b"server".to_vec(), api_keys.repeat(40).into_bytes()] {
            let ring = KeyRing::parse(api_keys, &secret).unwrap();
            let mut mac = HmacSha256::new_from_slice(&secret).unwrap();
            mac.update(b"s3cret-0123456789");
            assert_eq!(ring.digest_of("api").unwrap(), mac.finalize().into_bytes().as_slice());
            assert_eq!(ring.authorize(config().service("api"), Some("s3cret-0123456789")), Authorization::Granted);
        }
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
        let ring = KeyRing::parse(
            r#"{"api": "own-0123456789abc", "prod": "group-0123456789ab", "*": "any-0123456789abc"}"#,
            b"s",
        )
        .unwrap();
        let (api, db, sandbox, loner) = (c.service("api"), c.service("db"), c.service("sandbox"), c.service("loner"));
        // The service's own key wins: its group's key and "*" no longer open it.
        assert_eq!(ring.authorize(api, Some("own-0123456789abc")), Authorization::Granted);
        assert_eq!(ring.authorize(api, Some("group-0123456789ab")), Authorization::WrongKey);
        assert_eq!(ring.authorize(api, Some("any-0123456789abc")), Authorization::WrongKey);
        // Without one, the group's key, and then not "*".
        assert_eq!(ring.authorize(db, Some("group-0123456789ab")), Authorization::Granted);
        assert_eq!(ring.authorize(db, Some("any-0123456789abc")), Authorization::WrongKey);
        // Without either, "*".
        assert_eq!(ring.authorize(sandbox, Some("any-0123456789abc")), Authorization::Granted);
        assert_eq!(ring.authorize(loner, Some("any-0123456789abc")), Authorization::Granted);
        assert_eq!(ring.authorize(loner, Some("group-0123456789ab")), Authorization::WrongKey);
        // An empty key counts as none, as in cloudflaremon: the lookup falls through.
        let ring = KeyRing::parse(r#"{"db": "", "prod": "group-0123456789ab"}"#, b"s").unwrap();
        assert_eq!(ring.authorize(db, Some("group-0123456789ab")), Authorization::Granted);
    }

    #[test]
    fn a_group_key_does_not_open_a_service_of_another_group() {
        let c = grouped();
        let ring = KeyRing::parse(r#"{"prod": "prod-key-0123456789", "dev": "dev-key-0123456789"}"#, b"s").unwrap();
        assert_eq!(ring.authorize(c.service("db"), Some("prod-key-0123456789")), Authorization::Granted);
        assert_eq!(ring.authorize(c.service("db"), Some("dev-key-0123456789")), Authorization::WrongKey);
        assert_eq!(ring.authorize(c.service("sandbox"), Some("prod-key-0123456789")), Authorization::WrongKey);
        assert_eq!(
            ring.authorize(c.service("loner"), Some("prod-key-0123456789")),
            Authorization::NoKey,
            "no group, no star"
        );
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

    #[test]
    fn short_heartbeat_keys_open_nothing_and_are_named() {
        let c = grouped();
        let ring = KeyRing::parse(r#"{"api": "short", "prod": "group-key-0123456789", "*": "x"}"#, b"s").unwrap();
        // The service's own key is too short: refused, with no fall-through to its group's.
        assert_eq!(ring.authorize(c.service("api"), Some("short")), Authorization::NoKey);
        assert_eq!(ring.authorize(c.service("api"), Some("group-key-0123456789")), Authorization::NoKey);
        assert_eq!(ring.authorize(c.service("db"), Some("group-key-0123456789")), Authorization::Granted);
        assert_eq!(ring.authorize(c.service("loner"), Some("x")), Authorization::NoKey, "a short \"*\" too");
        assert_eq!(ring.identify("short"), None);
        assert_eq!(ring.weak(), ["*", "api"]);
        // 16 characters pass, 15 do not; characters, not bytes.
        let ring =
            KeyRing::parse(r#"{"api": "0123456789abcdef", "db": "0123456789abcde", "x": "ééééééééééééééé"}"#, b"s")
                .unwrap();
        assert_eq!(ring.weak(), ["db", "x"]);
        assert_eq!(ring.authorize(c.service("api"), Some("0123456789abcdef")), Authorization::Granted);
    }

    #[test]
    fn weak_secrets_are_reported_by_name_never_by_value() {
        let lines = weak_secrets(
            Some(r#"{"api": "hunter2", "prod": "group-key-0123456789", "*": "star", "empty": ""}"#),
            Some(" alert-key-123 "),
        );
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with(r#"API_KEYS["*"] is shorter than 16 characters"#), "{}", lines[0]);
        assert!(lines[1].starts_with(r#"API_KEYS["api"]"#));
        assert!(lines[2].starts_with("ALERT_API_KEY is shorter than 16"));
        assert!(lines.iter().all(|l| !l.contains("hunter2") && !l.contains("star\"") && !l.contains("alert-key-123")));
        assert!(weak_secrets(Some("not json"), Some("alert-key-0123456789")).is_empty());
        assert!(weak_secrets(None, None).is_empty());
    }

    #[test]
    fn alerts_fail_closed_without_a_strong_key() {
        let strong = "alert-key-0123456789";
        assert_eq!(alert_access(None, false, None), AlertAccess::Unset);
        assert_eq!(alert_access(None, false, Some("anything")), AlertAccess::Unset);
        assert_eq!(alert_access(None, true, None), AlertAccess::Granted { key_id: "open".into() });
        // A short key refuses everyone, even the one presenting it, opt-out or not.
        assert_eq!(alert_access(Some("alert-key-123"), false, Some("alert-key-123")), AlertAccess::Weak);
        assert_eq!(alert_access(Some("alert-key-123"), true, Some("alert-key-123")), AlertAccess::Weak);
        assert_eq!(alert_access(Some(strong), true, None), AlertAccess::Denied, "the opt-out never skips a set key");
        assert_eq!(alert_access(Some(strong), false, Some("alert-key-012345678")), AlertAccess::Denied);
        let AlertAccess::Granted { key_id } = alert_access(Some(&format!(" {strong}\n")), false, Some(strong)) else {
            panic!("the right key is granted");
        };
        assert_eq!(key_id.len(), 8);
        assert!(!strong.contains(&key_id));
        let other = alert_access(Some("another-key-0123456789"), false, Some("another-key-0123456789"));
        assert_ne!(other, AlertAccess::Granted { key_id }, "another key, another sender");
    }
}
