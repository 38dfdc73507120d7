//! Ping credentials: the secrets in healthchecks.io's and Uptime Kuma's ping URLs, as held by
//! the [`KeyRing`].
//!
//! A service has three of them besides its heartbeat key:
//! - its **ping id**, a UUID (`/ping/<ping id>`, healthchecks.io's check UUID);
//! - its **push token**, 32 characters of `[A-Za-z0-9]` (`/api/push/<push token>`, Uptime
//!   Kuma's push token, as long as Kuma generates them);
//! - its group's **ping key** (`/ping/<ping key>/<service id>`, healthchecks.io's project
//!   ping key with the service id as the slug).
//!
//! The ping id and push token are **derived** by default: HMAC-SHA256 under the ring's server
//! secret of a label, the service id and the digest of the key that opens the service
//! (`API_KEYS`), so they are stable across deploys, unguessable without the secret, and
//! rotated with the service's key (or the server secret). A service that needs a key but has
//! none has no derived credentials. The `PING_IDS` secret overrides them per service, for
//! people moving from healthchecks.io or Uptime Kuma who keep their URLs and change only the
//! host: `{"<service id>": {"pingId": "<uuid>", "pushToken": "<token>"}}` (either member may
//! be left out; an override replaces the derived value, which then opens nothing). Ping keys
//! come from the `PING_KEYS` secret, `{"<group id>" | "*": "<ping key>"}`: a service's
//! group's key, else the `"*"` key, as `API_KEYS` does; without `PING_KEYS` no slug URL opens
//! anything.
//!
//! A group's **provisioning key** (the `PROVISIONING_KEYS` secret, `{"<group id>": "<key>"}`,
//! no `"*"`) is presented as a native heartbeat's key: it opens every service of its group
//! and lets a group with `autoProvision` create the services it names
//! ([`KeyRing::provisioning_group`]).
//!
//! The router hands a ping to its ServiceMonitor with the credential encoded as the
//! heartbeat's key ([`PingCredential::to_key`]), and the object checks it again with
//! [`KeyRing::authorize`], which recognises the encoding, so every heartbeat, native or ping,
//! is verified by the object that records it.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use hmac::Mac;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{Authorization, Digest, KeyRing, ANY_SERVICE, MIN_KEY_LEN};
use crate::config::{ServiceConfig, ServiceId};

/// Longest push token or ping key accepted from `PING_IDS` or `PING_KEYS`.
pub const MAX_PING_SECRET_LEN: usize = 128;

/// The characters of a derived push token (Uptime Kuma's alphabet).
const TOKEN_ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The NUL-delimited prefix of an encoded ping credential in a heartbeat's `key`: it cannot be
/// sent in an HTTP header, and a native heartbeat presenting one in its JSON `token` is
/// checked as that ping credential (which opens only what the same secret opens at its URL).
const ENCODED: char = '\u{0}';

/// Which of a service's ping credentials a value is.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum PingKind {
    /// A healthchecks.io check UUID.
    PingId,
    /// An Uptime Kuma push token.
    PushToken,
    /// A healthchecks.io project ping key (with the service id as slug).
    PingKey,
    /// A group's provisioning key (`PROVISIONING_KEYS`), as a native heartbeat's key.
    ProvisioningKey,
}

impl PingKind {
    fn label(self) -> &'static str {
        match self {
            PingKind::PingId => "ping-id",
            PingKind::PushToken => "push-token",
            PingKind::PingKey => "ping-key",
            PingKind::ProvisioningKey => "provisioning-key",
        }
    }
}

/// A ping credential as presented in a URL.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct PingCredential {
    /// Which credential.
    pub kind: PingKind,
    /// Its value as presented.
    pub value: String,
}

impl PingCredential {
    /// A credential of `kind` with `value`.
    pub fn new(kind: PingKind, value: impl Into<String>) -> Self {
        Self { kind, value: value.into() }
    }

    /// The credential encoded as a heartbeat's key (`\0<kind>\0<value>`), which
    /// [`KeyRing::authorize`] checks as this credential.
    pub fn to_key(&self) -> String {
        format!("{ENCODED}{}{ENCODED}{}", self.kind.label(), self.value)
    }

    /// The credential a heartbeat key encodes, if it is one ([`PingCredential::to_key`]).
    pub fn from_key(key: &str) -> Option<Self> {
        let rest = key.strip_prefix(ENCODED)?;
        let (label, value) = rest.split_once(ENCODED)?;
        let kind = [PingKind::PingId, PingKind::PushToken, PingKind::PingKey, PingKind::ProvisioningKey]
            .into_iter()
            .find(|k| k.label() == label)?;
        Some(Self::new(kind, value))
    }
}

/// The `PING_IDS` and `PING_KEYS` secrets, parsed (digests of their values only).
#[derive(Clone, Debug, Default)]
pub(super) struct PingSecrets {
    /// `PING_IDS` ping id overrides by service id: the UUID in lower case.
    ping_ids: BTreeMap<String, String>,
    /// `PING_IDS` push token overrides by service id.
    push_tokens: BTreeMap<String, String>,
    /// `PING_KEYS` by group id or `"*"`: the digest, or `None` for a refused key.
    ping_keys: BTreeMap<String, Option<Digest>>,
    /// `PROVISIONING_KEYS` by group id: the digest, or `None` for a refused key.
    provisioning_keys: BTreeMap<String, Option<Digest>>,
}

/// One entry of `PING_IDS`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Override {
    ping_id: Option<String>,
    push_token: Option<String>,
}

/// Whether `text` is a UUID in its hyphenated form (8-4-4-4-12 hex digits, either case), as
/// healthchecks.io accepts a run id (`hc/lib/string.py` `is_valid_uuid_string`).
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether `text` may be a push token or ping key: 16 to [`MAX_PING_SECRET_LEN`] characters
/// of `[A-Za-z0-9_-]` (a URL path segment as healthchecks.io routes a ping key, Django's
/// `slug`).
fn usable_secret(text: &str) -> bool {
    (MIN_KEY_LEN..=MAX_PING_SECRET_LEN).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl KeyRing {
    /// This ring with the `PING_IDS` and `PING_KEYS` secrets (either `None` when unset), and
    /// one line per problem, naming the entry and never its value: unreadable JSON (the
    /// whole secret is ignored), a ping id that is not a UUID, a push token or ping key that
    /// is not 16 to 128 characters of `[A-Za-z0-9_-]`, or a ping id or push token given to
    /// two services. A refused entry opens nothing: a refused override still replaces the
    /// derived value, a refused ping key still shadows the `"*"` key (fail closed).
    pub fn with_pings(mut self, ping_ids_json: Option<&str>, ping_keys_json: Option<&str>) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let mut secrets = PingSecrets::default();
        if let Some(json) = ping_ids_json {
            match serde_json::from_str::<BTreeMap<String, Override>>(json) {
                Ok(entries) => {
                    for (id, o) in entries {
                        if let Some(p) = o.ping_id {
                            let p = p.to_ascii_lowercase();
                            if !is_uuid(&p) {
                                problems.push(format!("PING_IDS[{id:?}].pingId is not a UUID and opens nothing"));
                            }
                            if secrets.ping_ids.values().any(|q| *q == p) {
                                problems.push(format!("PING_IDS[{id:?}].pingId is another service's too"));
                            }
                            secrets.ping_ids.insert(id.clone(), p);
                        }
                        if let Some(t) = o.push_token {
                            if !usable_secret(&t) {
                                problems.push(format!(
                                    "PING_IDS[{id:?}].pushToken must be {MIN_KEY_LEN} to {MAX_PING_SECRET_LEN} characters of [A-Za-z0-9_-]; it opens nothing"
                                ));
                            }
                            if secrets.push_tokens.values().any(|q| *q == t) {
                                problems.push(format!("PING_IDS[{id:?}].pushToken is another service's too"));
                            }
                            secrets.push_tokens.insert(id, t);
                        }
                    }
                }
                Err(e) => {
                    problems.push(format!("PING_IDS must be a JSON object of service id to {{pingId, pushToken}}: {e}"))
                }
            }
        }
        if let Some(json) = ping_keys_json {
            match super::plain(json) {
                Ok(keys) => {
                    for (id, key) in keys {
                        let usable = usable_secret(&key);
                        if !usable {
                            problems.push(format!(
                                "PING_KEYS[{id:?}] must be {MIN_KEY_LEN} to {MAX_PING_SECRET_LEN} characters of [A-Za-z0-9_-]; it opens nothing"
                            ));
                        }
                        let digest = usable.then(|| self.digest(&key));
                        secrets.ping_keys.insert(id, digest);
                    }
                }
                Err(e) => problems.push(format!("PING_KEYS: {e}")),
            }
        }
        secrets.provisioning_keys = std::mem::take(&mut self.pings.provisioning_keys);
        self.pings = secrets;
        (self, problems)
    }

    /// The service's ping id (a lower-case UUID): its `PING_IDS` override, else derived;
    /// `None` when it has neither (it needs a key and `API_KEYS` has none for it), or when its
    /// override is not a UUID.
    pub fn ping_id(&self, service: &ServiceConfig) -> Option<String> {
        match self.pings.ping_ids.get(service.id.as_str()) {
            Some(p) => Some(p.clone()).filter(|p| is_uuid(p)),
            None => self.derived(PingKind::PingId, service).map(|d| uuid_v8(&d)),
        }
    }

    /// The service's push token: its `PING_IDS` override, else derived (32 characters of
    /// `[A-Za-z0-9]`); `None` as for [`KeyRing::ping_id`].
    pub fn push_token(&self, service: &ServiceConfig) -> Option<String> {
        match self.pings.push_tokens.get(service.id.as_str()) {
            Some(t) => Some(t.clone()).filter(|t| usable_secret(t)),
            None => self.derived(PingKind::PushToken, service).map(|d| token(&d)),
        }
    }

    /// Whether any ping key is configured (`PING_KEYS` set and not empty).
    pub fn has_ping_keys(&self) -> bool {
        self.pings.ping_keys.values().any(Option::is_some)
    }

    /// This ring with the `PROVISIONING_KEYS` secret (`None` when unset): `{"<group id>":
    /// "<key>"}`, and one line per problem, naming the entry and never its value: unreadable
    /// JSON (the whole secret is ignored), a `"*"` entry (a provisioning key names the group
    /// it creates in), a key that is not 16 to 128 characters of `[A-Za-z0-9_-]`, or a key
    /// two groups share. A refused entry opens nothing.
    pub fn with_provisioning(mut self, json: Option<&str>) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let mut keys: BTreeMap<String, Option<Digest>> = BTreeMap::new();
        match json.map(super::plain) {
            None => {}
            Some(Err(e)) => problems.push(format!("PROVISIONING_KEYS: {e}")),
            Some(Ok(entries)) => {
                for (group, key) in entries {
                    let refused = if group == ANY_SERVICE {
                        Some("must name a group, not \"*\"".to_owned())
                    } else if !usable_secret(&key) {
                        Some(format!("must be {MIN_KEY_LEN} to {MAX_PING_SECRET_LEN} characters of [A-Za-z0-9_-]"))
                    } else {
                        None
                    };
                    let digest = self.digest(&key);
                    if let Some(reason) = refused {
                        problems.push(format!("PROVISIONING_KEYS[{group:?}] {reason}; it opens nothing"));
                        keys.insert(group, None);
                    } else if let Some((other, d)) = keys.iter_mut().find(|(_, d)| **d == Some(digest)) {
                        problems.push(format!(
                            "PROVISIONING_KEYS[{group:?}] is group {other:?}'s too; neither opens anything"
                        ));
                        *d = None;
                        keys.insert(group, None);
                    } else {
                        keys.insert(group, Some(digest));
                    }
                }
            }
        }
        self.pings.provisioning_keys = keys;
        (self, problems)
    }

    /// Whether any provisioning key is configured (`PROVISIONING_KEYS` set and not empty).
    pub fn has_provisioning_keys(&self) -> bool {
        self.pings.provisioning_keys.values().any(Option::is_some)
    }

    /// The group whose provisioning key `presented` is, if any. One digest of the presented
    /// value, compared in constant time with every group's (always all of them).
    pub fn provisioning_group(&self, presented: &str) -> Option<&str> {
        let presented = self.digest(presented);
        let mut found = None;
        for (group, digest) in &self.pings.provisioning_keys {
            let equal: bool = digest.unwrap_or([0u8; 32]).ct_eq(&presented).into();
            if equal && digest.is_some() {
                found = Some(group.as_str());
            }
        }
        found
    }

    /// The group whose own `PING_KEYS` entry `presented` is (not the `"*"` key: it names no
    /// group), if any; compared as [`KeyRing::provisioning_group`].
    pub fn ping_key_group(&self, presented: &str) -> Option<&str> {
        let presented = self.digest(presented);
        let mut found = None;
        for (group, digest) in self.pings.ping_keys.iter().filter(|(g, _)| g.as_str() != ANY_SERVICE) {
            let equal: bool = digest.unwrap_or([0u8; 32]).ct_eq(&presented).into();
            if equal && digest.is_some() {
                found = Some(group.as_str());
            }
        }
        found
    }

    /// HMAC-SHA256 under the server secret of `systole <label>`, NUL, the service id, NUL and
    /// the digest of the key that opens it (none for a service that needs no key); `None`
    /// for a service that needs a key and has none.
    fn derived(&self, kind: PingKind, service: &ServiceConfig) -> Option<Digest> {
        let opening = if service.auth_required { Some(*self.expected(service)?) } else { None };
        let mut mac = self.mac.clone();
        mac.update(b"systole ");
        mac.update(kind.label().as_bytes());
        mac.update(b"\0");
        mac.update(service.id.as_str().as_bytes());
        mac.update(b"\0");
        if let Some(d) = opening {
            mac.update(&d);
        }
        Some(mac.finalize().into_bytes().into())
    }

    /// Checks a ping credential for `service` (`None`: not configured), with the same work in
    /// every case (one digest of the presented value, one constant-time comparison).
    pub(super) fn authorize_ping(&self, service: Option<&ServiceConfig>, presented: &PingCredential) -> Authorization {
        let presented_digest = self.digest(&presented.value);
        let expected: Option<Digest> = service.and_then(|s| match presented.kind {
            PingKind::PingId => self.ping_id(s).map(|p| self.digest(&p)),
            PingKind::PushToken => self.push_token(s).map(|t| self.digest(&t)),
            PingKind::PingKey => self.ping_key(s).copied(),
            PingKind::ProvisioningKey => self.provisioning_key(s).copied(),
        });
        let matches: bool = expected.unwrap_or([0u8; 32]).ct_eq(&presented_digest).into();
        match service {
            None => Authorization::UnknownService,
            Some(s) if !s.auth_required => Authorization::Granted,
            Some(_) if expected.is_none() => Authorization::NoKey,
            Some(_) if matches => Authorization::Granted,
            Some(_) => Authorization::WrongKey,
        }
    }

    /// The digest of the provisioning key that opens `service`: its group's
    /// `PROVISIONING_KEYS` entry, if usable.
    fn provisioning_key(&self, service: &ServiceConfig) -> Option<&Digest> {
        let group = service.group.as_deref()?;
        self.pings.provisioning_keys.get(group).and_then(Option::as_ref)
    }

    /// The digest of the ping key that opens `service`: its group's `PING_KEYS` entry, else
    /// the `"*"` entry; `None` when the first present is refused, or neither is.
    fn ping_key(&self, service: &ServiceConfig) -> Option<&Digest> {
        let keys = &self.pings.ping_keys;
        let group = service.group.as_deref().and_then(|g| keys.get(g));
        group.or_else(|| keys.get(ANY_SERVICE)).and_then(Option::as_ref)
    }

    /// The index of `services` by their `kind` credential (ping id or push token), for the
    /// router to find the service a URL names ([`PingIndex::find`]).
    pub fn ping_index<'c>(&self, services: &'c [ServiceConfig], kind: PingKind) -> PingIndex<'c> {
        let mut by_digest: BTreeMap<Digest, Option<&'c ServiceId>> = BTreeMap::new();
        for s in services {
            let value = match kind {
                PingKind::PingId => self.ping_id(s),
                PingKind::PushToken => self.push_token(s),
                PingKind::PingKey | PingKind::ProvisioningKey => None,
            };
            if let Some(v) = value {
                // A value two services share opens neither.
                by_digest.entry(self.digest(&v)).and_modify(|e| *e = None).or_insert(Some(&s.id));
            }
        }
        PingIndex { by_digest }
    }
}

/// Services by the digest of one kind of ping credential ([`KeyRing::ping_index`]).
#[derive(Debug)]
pub struct PingIndex<'c> {
    by_digest: BTreeMap<Digest, Option<&'c ServiceId>>,
}

impl<'c> PingIndex<'c> {
    /// The service whose credential is `presented`. The lookup compares HMAC digests under
    /// the server secret, never the values, so its timing says nothing about how much of a
    /// real credential a guess shares.
    pub fn find(&self, ring: &KeyRing, presented: &str) -> Option<&'c ServiceId> {
        self.by_digest.get(&ring.digest(presented)).copied().flatten()
    }

    /// How many services the index holds.
    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }
}

/// The first 16 bytes of `d` as an RFC 9562 version 8 (custom) UUID, lower case.
fn uuid_v8(d: &Digest) -> String {
    let bytes: Vec<u8> = d
        .iter()
        .take(16)
        .enumerate()
        .map(|(i, b)| match i {
            6 => (b & 0x0f) | 0x80,
            8 => (b & 0x3f) | 0x80,
            _ => *b,
        })
        .collect();
    let hex = hex::encode(bytes);
    let part = |r: std::ops::Range<usize>| hex.get(r).unwrap_or_default().to_owned();
    format!("{}-{}-{}-{}-{}", part(0..8), part(8..12), part(12..16), part(16..20), part(20..32))
}

/// `d` as 32 characters of [`TOKEN_ALPHABET`].
fn token(d: &Digest) -> String {
    d.iter().map(|b| char::from(TOKEN_ALPHABET.get(usize::from(*b) % 62).copied().unwrap_or(b'A'))).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::string_slice)]
    use super::*;
    use crate::config::Config;

    fn config() -> Config {
        Config::parse(
            Some(
                r#"{"groups": [{"id": "prod", "services": ["api", "db"]}],
                    "services": [{"id": "api"}, {"id": "db"}, {"id": "loner"}, {"id": "keyless"},
                                 {"id": "open", "auth": {"required": false}}]}"#,
            ),
            None,
        )
        .unwrap()
    }

    const KEYS: &str = r#"{"api": "key-api-0123456789", "db": "key-db-0123456789", "loner": "key-loner-0123456789"}"#;

    fn ring(secret: &[u8]) -> KeyRing {
        let mut r = KeyRing::parse(KEYS, secret).unwrap();
        // No "*" key: "keyless" has none.
        r.digests.remove("keyless");
        r
    }

    #[test]
    fn derived_ping_ids_are_version_8_uuids_and_tokens_are_32_alphanumerics() {
        let c = config();
        let ring = ring(b"server");
        let id = ring.ping_id(c.service("api").unwrap()).unwrap();
        assert!(is_uuid(&id), "{id}");
        assert_eq!(id, id.to_ascii_lowercase());
        assert_eq!(&id[14..15], "8", "version 8: {id}");
        assert!("89ab".contains(&id[19..20]), "RFC variant: {id}");
        let token = ring.push_token(c.service("api").unwrap()).unwrap();
        assert_eq!(token.len(), 32);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()));
        // Stable for the same secret and key.
        assert_eq!(ring.ping_id(c.service("api").unwrap()), Some(id.clone()));
        assert_eq!(KeyRing::parse(KEYS, b"server").unwrap().ping_id(c.service("api").unwrap()), Some(id));
    }

    #[test]
    fn derived_credentials_differ_per_service_and_rotate_with_the_key_or_secret() {
        let c = config();
        let (api, db) = (c.service("api").unwrap(), c.service("db").unwrap());
        let ring = ring(b"server");
        assert_ne!(ring.ping_id(api), ring.ping_id(db));
        assert_ne!(ring.push_token(api), ring.push_token(db));
        let other_secret = KeyRing::parse(KEYS, b"other").unwrap();
        assert_ne!(ring.ping_id(api), other_secret.ping_id(api));
        let rotated = KeyRing::parse(&KEYS.replace("key-api-0123456789", "key-api-rotated-01"), b"server").unwrap();
        assert_ne!(ring.ping_id(api), rotated.ping_id(api));
        assert_ne!(ring.push_token(api), rotated.push_token(api));
        assert_eq!(ring.ping_id(db), rotated.ping_id(db), "another service's key changed nothing");
    }

    #[test]
    fn a_service_without_a_key_has_no_derived_credentials_unless_it_needs_none() {
        let c = config();
        let ring = ring(b"server");
        assert_eq!(ring.ping_id(c.service("keyless").unwrap()), None);
        assert_eq!(ring.push_token(c.service("keyless").unwrap()), None);
        assert!(ring.ping_id(c.service("open").unwrap()).is_some());
        assert_eq!(KeyRing::unset().ping_id(c.service("api").unwrap()), None);
    }

    #[test]
    fn overrides_replace_the_derived_values() {
        let c = config();
        let api = c.service("api").unwrap();
        let derived = ring(b"s").ping_id(api).unwrap();
        let (ring, problems) = ring(b"s").with_pings(
            Some(
                r#"{"api": {"pingId": "5BF66975-D4C7-4BF5-BCC8-B8D8A82EA278", "pushToken": "kuma-token-0123456789"},
                     "keyless": {"pingId": "07c2f548-9850-4b27-af5d-6c9dc157ec02"}}"#,
            ),
            None,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(ring.ping_id(api).as_deref(), Some("5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"));
        assert_eq!(ring.push_token(api).as_deref(), Some("kuma-token-0123456789"));
        let keyless = c.service("keyless").unwrap();
        assert_eq!(ring.ping_id(keyless).as_deref(), Some("07c2f548-9850-4b27-af5d-6c9dc157ec02"));
        assert_eq!(ring.push_token(keyless), None);
        let presented = |kind, v: &str| PingCredential::new(kind, v).to_key();
        assert_eq!(ring.authorize(Some(api), Some(&presented(PingKind::PingId, &derived))), Authorization::WrongKey);
        let hc = presented(PingKind::PingId, "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278");
        assert_eq!(ring.authorize(Some(api), Some(&hc)), Authorization::Granted);
        assert_eq!(ring.authorize(Some(keyless), Some(&hc)), Authorization::WrongKey);
        let kuma = presented(PingKind::PushToken, "kuma-token-0123456789");
        assert_eq!(ring.authorize(Some(api), Some(&kuma)), Authorization::Granted);
        assert_eq!(ring.authorize(Some(keyless), Some(&kuma)), Authorization::NoKey);
        // A ping credential is not the heartbeat key, and the key is not a ping credential.
        assert_eq!(ring.authorize(Some(api), Some("5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278")), Authorization::WrongKey);
        let as_ping = presented(PingKind::PingId, "key-api-0123456789");
        assert_eq!(ring.authorize(Some(api), Some(&as_ping)), Authorization::WrongKey);
        assert_eq!(ring.authorize(None, Some(&hc)), Authorization::UnknownService);
    }

    #[test]
    fn bad_overrides_and_ping_keys_are_reported_by_name_and_open_nothing() {
        let c = config();
        let (ring, problems) = ring(b"s").with_pings(
            Some(r#"{"api": {"pingId": "not-a-uuid", "pushToken": "short"},
                     "db": {"pushToken": "shared-token-0123456789"}, "loner": {"pushToken": "shared-token-0123456789"}}"#),
            Some(r#"{"prod": "tiny", "*": "star-ping-key-0123456789"}"#),
        );
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems.iter().all(|p| !p.contains("not-a-uuid") && !p.contains("short\"") && !p.contains("tiny")));
        let api = c.service("api").unwrap();
        assert_eq!(ring.ping_id(api), None);
        assert_eq!(ring.push_token(api), None);
        let index = ring.ping_index(&c.services, PingKind::PushToken);
        assert_eq!(index.find(&ring, "shared-token-0123456789"), None, "a shared token opens neither");
        // The refused group key shadows "*" for its services; others take "*".
        let star = PingCredential::new(PingKind::PingKey, "star-ping-key-0123456789").to_key();
        assert_eq!(ring.authorize(Some(api), Some(&star)), Authorization::NoKey);
        assert_eq!(ring.authorize(c.service("loner"), Some(&star)), Authorization::Granted);
        let (_, problems) = KeyRing::empty().with_pings(Some("[]"), Some("{\"a\": 1}"));
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn ping_keys_open_their_groups_services_then_star() {
        let c = config();
        let (ring, problems) = ring(b"s")
            .with_pings(None, Some(r#"{"prod": "prod-ping-key-0123456789", "*": "star-ping-key-0123456789"}"#));
        assert!(problems.is_empty() && ring.has_ping_keys());
        let key = |k: &str| PingCredential::new(PingKind::PingKey, k).to_key();
        let (api, loner) = (c.service("api"), c.service("loner"));
        assert_eq!(ring.authorize(api, Some(&key("prod-ping-key-0123456789"))), Authorization::Granted);
        assert_eq!(ring.authorize(api, Some(&key("star-ping-key-0123456789"))), Authorization::WrongKey);
        assert_eq!(ring.authorize(loner, Some(&key("star-ping-key-0123456789"))), Authorization::Granted);
        assert_eq!(ring.authorize(loner, Some(&key("prod-ping-key-0123456789"))), Authorization::WrongKey);
        assert!(!KeyRing::empty().has_ping_keys());
        assert_eq!(KeyRing::empty().authorize(loner, Some(&key("x"))), Authorization::NoKey);
    }

    #[test]
    fn provisioning_keys_name_their_group_and_open_its_services_only() {
        let c = config();
        let (ring, problems) = ring(b"s").with_provisioning(Some(
            r#"{"prod": "prod-provisioning-0123", "*": "star-provisioning-0123", "weak": "short",
                "dup-a": "shared-provisioning-01", "dup-b": "shared-provisioning-01"}"#,
        ));
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().all(|p| !p.contains("provisioning-0") && !p.contains("short")), "never the values");
        assert!(ring.has_provisioning_keys());
        assert_eq!(ring.provisioning_group("prod-provisioning-0123"), Some("prod"));
        for refused in ["star-provisioning-0123", "short", "shared-provisioning-01", "key-api-0123456789"] {
            assert_eq!(ring.provisioning_group(refused), None, "{refused}");
        }
        let key = |k: &str| PingCredential::new(PingKind::ProvisioningKey, k).to_key();
        let (api, loner) = (c.service("api"), c.service("loner"));
        assert_eq!(ring.authorize(api, Some(&key("prod-provisioning-0123"))), Authorization::Granted);
        assert_eq!(ring.authorize(loner, Some(&key("prod-provisioning-0123"))), Authorization::NoKey);
        assert_eq!(ring.authorize(api, Some("prod-provisioning-0123")), Authorization::WrongKey, "only encoded");
        assert_eq!(ring.authorize(None, Some(&key("prod-provisioning-0123"))), Authorization::UnknownService);
        let (bad, problems) = KeyRing::empty().with_provisioning(Some("[1]"));
        assert!(!bad.has_provisioning_keys() && problems[0].starts_with("PROVISIONING_KEYS: "));
        // A group's own ping key names it; the "*" ping key names none.
        let (ring, _) =
            ring.with_pings(None, Some(r#"{"prod": "prod-ping-key-0123456789", "*": "star-ping-key-0123456789"}"#));
        assert_eq!(ring.ping_key_group("prod-ping-key-0123456789"), Some("prod"));
        assert_eq!(ring.ping_key_group("star-ping-key-0123456789"), None);
        assert_eq!(ring.provisioning_group("prod-provisioning-0123"), Some("prod"), "kept by with_pings");
    }

    #[test]
    fn the_index_finds_each_service_by_its_credential() {
        let c = config();
        let ring = ring(b"s");
        let ids = ring.ping_index(&c.services, PingKind::PingId);
        let tokens = ring.ping_index(&c.services, PingKind::PushToken);
        assert_eq!(ids.len(), 4, "api, db, loner, open: not keyless");
        for s in c.services.iter().filter(|s| s.id.as_str() != "keyless") {
            assert_eq!(ids.find(&ring, &ring.ping_id(s).unwrap()), Some(&s.id));
            assert_eq!(tokens.find(&ring, &ring.push_token(s).unwrap()), Some(&s.id));
            let encoded = PingCredential::new(PingKind::PingId, ring.ping_id(s).unwrap()).to_key();
            assert_eq!(ring.authorize(Some(s), Some(&encoded)), Authorization::Granted);
        }
        assert_eq!(ids.find(&ring, &ring.push_token(c.service("api").unwrap()).unwrap()), None);
        assert_eq!(ids.find(&ring, "07c2f548-9850-4b27-af5d-6c9dc157ec02"), None);
        assert!(!ids.is_empty());
    }

    #[test]
    fn encoded_credentials_read_back_and_plain_keys_are_not_credentials() {
        for kind in [PingKind::PingId, PingKind::PushToken, PingKind::PingKey] {
            let c = PingCredential::new(kind, "v\0x");
            assert_eq!(PingCredential::from_key(&c.to_key()), Some(c));
        }
        assert_eq!(PingCredential::from_key("key-api-0123456789"), None);
        assert_eq!(PingCredential::from_key("\0other\0v"), None);
        assert_eq!(PingCredential::from_key("\0ping-id"), None);
    }

    #[test]
    fn uuids_are_hyphenated_hex_of_either_case() {
        assert!(is_uuid("04603D8B-EDF4-4E85-8F61-24BEDBCAAB59"));
        assert!(is_uuid("07c2f548-9850-4b27-af5d-6c9dc157ec02"));
        for bad in [
            "12345",
            "684e2e73-017e-465f-8149-d70b7c5aaa490",
            "07c2f54898504b27af5d6c9dc157ec02",
            "",
            "g7c2f548-9850-4b27-af5d-6c9dc157ec02",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }
}
