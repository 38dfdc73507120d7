//! Managed services: services created at run time (the management API `/api/v1/services`,
//! the dashboard, auto-provisioning, Heartbeat Central's API) instead of declared in
//! `config/services.json`.
//!
//! - [`ServiceSpec`]: the JSON body of `POST /api/v1/services` and `PUT /api/v1/services/{id}`,
//!   a `services.json` service entry plus `group`; parsed and resolved by the same code as a
//!   `services.json` entry ([`crate::config`]), every problem with its field path.
//! - [`ManagedService`]: what the service's ServiceMonitor stores (authoritative): the spec,
//!   the defaults of its group when it was written, its keys as HMAC digests (an old key keeps
//!   a `validUntil` after a rotation), its ping id, the paused flag, and who created and last
//!   changed it when.
//! - [`Manage`] / [`handle`]: one management operation on one ServiceMonitor, as data in and
//!   data out (what to store, the registry row, the change log row, the answer).
//! - [`Entry`]: a managed service as the API answers it.
//!
//! Keys are generated from random bytes the caller supplies (the core reads no randomness):
//! [`KEY_RANDOM_BYTES`] bytes (192 bits) in URL-safe base64 without padding, 32 characters.
//! They are stored only as HMAC-SHA256 digests under the [`KeyRing`]'s server secret
//! (`SERVER_SECRET`, else the `API_KEYS` text: set `SERVER_SECRET` with managed services, or a
//! change of `API_KEYS` invalidates every managed key), and compared in constant time.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::api::Problem;
use crate::config::{self, Config, GroupConfig, ServiceConfig, ServiceId, RESERVED_IDS};
use crate::keys::{Authorization, KeyRing, PingCredential, PingKind};
use crate::notify::NotificationsConfig;
use crate::time::Timestamp;

/// Largest management request body: 16 KiB (413 beyond).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Random bytes in a generated key: 24 (192 bits), 32 characters of URL-safe base64.
pub const KEY_RANDOM_BYTES: usize = 24;
/// Random bytes in a generated ping id (a version 4 UUID keeps 122 of them).
pub const PING_RANDOM_BYTES: usize = 16;
/// Random bytes an operation that makes a key and a ping id needs ([`Random`]).
pub const RANDOM_BYTES: usize = KEY_RANDOM_BYTES + PING_RANDOM_BYTES;
/// How long the key a rotation replaces keeps working by default: 24 hours (the Worker's
/// `KEY_ROTATION_GRACE_SECONDS` variable overrides it).
pub const DEFAULT_KEY_GRACE: Duration = Duration::from_secs(24 * 3600);
/// The version of the stored [`ManagedService`] JSON this code writes (the rule of
/// [`crate::record::RECORD_VERSION`] applies).
pub const MANAGED_VERSION: u32 = 1;
/// Most keys a service holds at once: the current one and those still in their grace period;
/// a rotation beyond drops the oldest.
pub const MAX_KEYS: usize = 4;

/// Who made a change, as the change log and `createdBy`/`updatedBy` name them.
///
/// JSON: a string, `api-key` (the `MANAGEMENT_API_KEY` secret), `user:<id>` (an admin user,
/// by token or dashboard session), `provisioning:<group>` (a heartbeat with a group's provisioning key),
/// `heartbeat-central` (Heartbeat Central's `/api/applications`), `heartbeat` (a heartbeat
/// with a valid key that resumed a paused service).
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Actor {
    /// The `MANAGEMENT_API_KEY` bearer secret.
    ApiKey,
    /// An admin user (bearer user token or dashboard session), by id.
    User(String),
    /// Auto-provisioning by the named group's provisioning key.
    Provisioning(String),
    /// Heartbeat Central's application API.
    HeartbeatCentral,
    /// A heartbeat with a valid key to a paused service, which resumes it (as a ping to a
    /// paused healthchecks.io check does).
    Heartbeat,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::ApiKey => f.write_str("api-key"),
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::Provisioning(group) => write!(f, "provisioning:{group}"),
            Actor::HeartbeatCentral => f.write_str("heartbeat-central"),
            Actor::Heartbeat => f.write_str("heartbeat"),
        }
    }
}

impl Actor {
    /// Reads an actor back from its [`Display`](fmt::Display) text; an unknown text reads as
    /// a user of that name (never fails: a stored record must keep loading).
    pub fn parse(text: &str) -> Self {
        match text {
            "api-key" => Actor::ApiKey,
            "heartbeat-central" => Actor::HeartbeatCentral,
            "heartbeat" => Actor::Heartbeat,
            _ => match text.split_once(':') {
                Some(("user", id)) => Actor::User(id.to_owned()),
                Some(("provisioning", g)) => Actor::Provisioning(g.to_owned()),
                _ => Actor::User(text.to_owned()),
            },
        }
    }
}

impl Serialize for Actor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Actor::parse(&String::deserialize(d)?))
    }
}

/// Caller-supplied random bytes (the Worker's `crypto.getRandomValues`): the first
/// [`KEY_RANDOM_BYTES`] make a key, the rest a ping id. JSON: lower-case hex.
#[derive(Clone, Eq, PartialEq)]
pub struct Random(pub [u8; RANDOM_BYTES]);

impl fmt::Debug for Random {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Random(..)")
    }
}

impl Serialize for Random {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Random {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(text).map_err(serde::de::Error::custom)?;
        let bytes: [u8; RANDOM_BYTES] =
            bytes.try_into().map_err(|_| serde::de::Error::custom("wrong number of random bytes"))?;
        Ok(Random(bytes))
    }
}

impl Random {
    /// The key these bytes make: [`KEY_RANDOM_BYTES`] bytes in URL-safe base64 without
    /// padding (32 characters of `[A-Za-z0-9_-]`).
    pub fn key(&self) -> String {
        let bytes = self.0.get(..KEY_RANDOM_BYTES).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The ping id these bytes make: a lower-case version 4 UUID (RFC 9562).
    pub fn ping_id(&self) -> String {
        let mut b = [0u8; PING_RANDOM_BYTES];
        for (to, from) in b.iter_mut().zip(self.0.iter().skip(KEY_RANDOM_BYTES)) {
            *to = *from;
        }
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex = hex::encode(b);
        let part = |r: std::ops::Range<usize>| hex.get(r).unwrap_or_default().to_owned();
        format!("{}-{}-{}-{}-{}", part(0..8), part(8..12), part(12..16), part(16..20), part(20..32))
    }
}

/// A group's default fields as `services.json` writes them (`stalenessThreshold`,
/// `gracePeriod`, `schedule`, `timezone`, `notifications`, `auth`, `uptimeThresholdSet`, the
/// run fields), captured when a managed service in that group is written. JSON: that object.
pub type GroupDefaults = Map<String, Value>;

/// The body of `POST /api/v1/services` and `PUT /api/v1/services/{id}`: a `services.json`
/// service entry (`id`, `name`, `stalenessThreshold`, `gracePeriod`, `schedule`, `timezone`,
/// the run fields `startWindow` … `minInterval`, `notifications`, `auth`,
/// `uptimeThresholdSet`, `enabled`) plus `group` (a declared or managed group's id),
/// `description` and `tags`. Parsed, not yet resolved: its group's defaults and the settings
/// come in [`ServiceSpec::resolve`].
///
/// JSON: the object as written (keys starting with `_` dropped).
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceSpec {
    id: ServiceId,
    fields: Map<String, Value>,
}

impl Serialize for ServiceSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.fields.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ServiceSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A stored spec was checked when written: only its id is read again.
        let fields = Map::deserialize(d)?;
        let id = fields.get("id").and_then(Value::as_str).unwrap_or_default();
        let id = ServiceId::parse(id).map_err(serde::de::Error::custom)?;
        Ok(Self { id, fields })
    }
}

impl ServiceSpec {
    /// Parses a request body (at most [`MAX_BODY_BYTES`], checked by the caller). `path_id`
    /// is the `{id}` of `PUT /api/v1/services/{id}`: the body's `id` may then be left out,
    /// and must equal it when written.
    ///
    /// # Errors
    /// 400 `invalid-json` for a body that is not JSON; 400 `invalid-field` naming the first
    /// problem in `field` and listing all in `errors` (`[{"field", "detail"}]`): a body that
    /// is not an object, a field of the wrong type, an unknown field, an id not matching
    /// `[A-Za-z0-9._-]{1,64}` or reserved, values out of range (as in `services.json`).
    pub fn parse(body: &[u8], path_id: Option<&str>) -> Result<Self, Problem> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            if e.is_data() {
                Problem::invalid_field("", e.to_string())
            } else {
                Problem::invalid_json(e.line(), e.column(), &e.to_string())
            }
        })?;
        Self::from_value(value, path_id)
    }

    /// Parses an already decoded JSON value as [`ServiceSpec::parse`] does (auto-provisioning
    /// and Heartbeat Central build theirs).
    ///
    /// # Errors
    /// As [`ServiceSpec::parse`], without `invalid-json`.
    pub fn from_value(value: Value, path_id: Option<&str>) -> Result<Self, Problem> {
        let Value::Object(mut fields) = value else {
            return Err(Problem::invalid_field("", "must be a JSON object"));
        };
        fields.retain(|k, _| !k.starts_with('_'));
        match (path_id, fields.get("id")) {
            (Some(p), None) => {
                fields.insert("id".to_owned(), Value::String(p.to_owned()));
            }
            (Some(p), Some(v)) if v.as_str() != Some(p) => {
                return Err(Problem::invalid_field("id", format!("must equal the path's id {p:?}")));
            }
            _ => {}
        }
        let mut errors = Vec::new();
        if fields.contains_key("id") {
            let _ = raw_service(&fields, &mut errors);
        } else {
            // Every other problem too, with a stand-in id.
            let mut probe = fields.clone();
            probe.insert("id".to_owned(), Value::String("id".to_owned()));
            let _ = raw_service(&probe, &mut errors);
            errors.insert(0, ("id".to_owned(), "is required".to_owned()));
        }
        let id = fields.get("id").and_then(Value::as_str).map(ServiceId::parse);
        match &id {
            Some(Err(reason)) => errors.push(("id".to_owned(), reason.clone())),
            Some(Ok(id)) => {
                if let Some((_, why)) = RESERVED_IDS.iter().find(|(r, _)| *r == id.as_str()) {
                    errors.push(("id".to_owned(), format!("{:?} is reserved: {why}", id.as_str())));
                }
            }
            None => {}
        }
        if let Some(g) = fields.get("group").and_then(Value::as_str) {
            if let Err(reason) = ServiceId::parse(g) {
                errors.push(("group".to_owned(), reason));
            }
        }
        match id {
            Some(Ok(id)) if errors.is_empty() => Ok(Self { id, fields }),
            _ => Err(field_problems(errors)),
        }
    }

    /// The service id.
    pub fn id(&self) -> &ServiceId {
        &self.id
    }

    /// The group it names (`group`), if any.
    pub fn group(&self) -> Option<&str> {
        self.fields.get("group").and_then(Value::as_str)
    }

    /// The spec as its JSON object.
    pub fn to_value(&self) -> Value {
        Value::Object(self.fields.clone())
    }

    /// This spec with an RFC 7396 JSON merge patch applied (`PATCH /api/v1/services/{id}`):
    /// a member set to `null` is removed (back to its group's or the default value), an
    /// object member is merged recursively, anything else replaces.
    ///
    /// # Errors
    /// 400 as [`ServiceSpec::from_value`] for the merged spec; 400 `invalid-field` `id` when
    /// the patch changes the id, or `""` when it is not an object.
    pub fn merge(&self, patch: &Value) -> Result<Self, Problem> {
        let Value::Object(members) = patch else {
            return Err(Problem::invalid_field("", "a merge patch must be a JSON object"));
        };
        if members.get("id").is_some_and(|v| v.as_str() != Some(self.id.as_str())) {
            return Err(Problem::invalid_field("id", "cannot be changed; create a new service instead"));
        }
        let mut merged = Value::Object(self.fields.clone());
        merge_patch(&mut merged, patch);
        Self::from_value(merged, Some(self.id.as_str()))
    }

    /// Resolves the spec in `group` (the defaults of the group it names; must be `Some` when
    /// it names one) against the declared `config` (its settings; its groups' ids, which
    /// must not clash) and `notifications` (the channels it may name): the same resolution
    /// and checks as a `services.json` entry.
    ///
    /// # Errors
    /// 400 `invalid-field` listing every problem with its field path (`stalenessThreshold`,
    /// `notifications.channels[0]`, `group` for a group that does not exist).
    pub fn resolve(
        &self,
        group: Option<&GroupDefaults>,
        config: &Config,
        notifications: &NotificationsConfig,
    ) -> Result<ServiceConfig, Problem> {
        let mut errors = Vec::new();
        if let (Some(g), None) = (self.group(), group) {
            errors.push(("group".to_owned(), format!("unknown group {g:?}")));
        }
        let resolved = self.resolve_in(group, config, &mut errors);
        if errors.is_empty() {
            for e in notifications.check_policies(std::slice::from_ref(&resolved)) {
                errors.push((strip(&e.path), e.reason));
            }
        }
        if errors.is_empty() {
            Ok(resolved)
        } else {
            Err(field_problems(errors))
        }
    }

    /// Resolves the spec as [`ServiceSpec::resolve`] does, keeping what resolves despite
    /// problems (a value out of range with today's settings is used as written; a schedule
    /// that does not parse is dropped): a stored spec must keep loading whatever changed in
    /// the deployment since it was written.
    pub fn resolve_lenient(&self, group: Option<&GroupDefaults>, config: &Config) -> ServiceConfig {
        self.resolve_in(group, config, &mut Vec::new())
    }

    fn resolve_in(
        &self,
        group: Option<&GroupDefaults>,
        config: &Config,
        errors: &mut Vec<(String, String)>,
    ) -> ServiceConfig {
        let mut err = |path: String, reason: String| errors.push((path.trim_start_matches('.').to_owned(), reason));
        let service =
            raw_service(&self.fields, &mut Vec::new()).unwrap_or_else(|| config::raw::Service::named(&self.id));
        let group = self.group().map(|id| raw_group(id, group));
        let mut resolved = config::resolve_service("", &service, group.as_ref(), &config.settings, &mut err);
        config::check_profile("", service.uptime_threshold_set.as_deref(), &config.settings, &mut err);
        if errors.is_empty() {
            // Effective values are only meaningful once every written value is valid.
            let mut err = |path: String, reason: String| errors.push((path.trim_start_matches('.').to_owned(), reason));
            config::check_resolved("", &resolved, &config.settings, &mut err);
        }
        if let Some(g) = self.group() {
            resolved.group = Some(g.to_owned());
        }
        resolved
    }
}

/// Deserializes `fields` as a `services.json` service entry, pushing each problem (type
/// errors, unknown fields) as `(field, detail)`.
fn raw_service(fields: &Map<String, Value>, errors: &mut Vec<(String, String)>) -> Option<config::raw::Service> {
    let text = Value::Object(fields.clone()).to_string();
    let mut found = Vec::new();
    let raw = config::from_json::<config::raw::Service>(BODY, &text, &mut found);
    errors.extend(found.into_iter().map(|e| (strip(&e.path), strip_at(&e.reason))));
    raw
}

/// The group `id` with `defaults` as a `services.json` group entry (no members).
fn raw_group(id: &str, defaults: Option<&GroupDefaults>) -> config::raw::Group {
    let mut fields = defaults.cloned().unwrap_or_default();
    fields.insert("id".to_owned(), Value::String(id.to_owned()));
    // Stored defaults were checked when written; fields this code no longer knows are
    // ignored rather than refused, so a stored record keeps loading.
    serde_json::from_value(Value::Object(fields)).unwrap_or_else(|_| config::raw::Group::named(id))
}

/// The file label of a request body's problems, stripped again by [`strip`].
const BODY: &str = "body";

/// A problem's path without its file label and the path of the service inside a file.
fn strip(path: &str) -> String {
    let path = path.strip_prefix("body: ").or_else(|| path.strip_prefix("services.json: ")).unwrap_or(path);
    let path = path.strip_prefix("services[0]").unwrap_or(path);
    let path = if path == BODY || path == "." { "" } else { path };
    path.trim_start_matches('.').to_owned()
}

/// A serde message without its ` at line 1 column N` (the body was re-serialized).
fn strip_at(reason: &str) -> String {
    match reason.rfind(" at line ") {
        Some(i) => reason.get(..i).unwrap_or(reason).to_owned(),
        None => reason.to_owned(),
    }
}

/// 400 `invalid-field`: the first problem in `field`/`detail`, every one in `errors`.
fn field_problems(errors: Vec<(String, String)>) -> Problem {
    let list: Vec<Value> =
        errors.iter().map(|(field, detail)| serde_json::json!({ "field": field, "detail": detail })).collect();
    let (field, detail) = errors.into_iter().next().unwrap_or_default();
    let detail = if list.len() > 1 { format!("{detail} (and {} more problems)", list.len() - 1) } else { detail };
    Problem::invalid_field(field, detail).with("errors", list)
}

/// RFC 7396 JSON merge patch of `target` with `patch`.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in members {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// One key of a managed service, as stored: its HMAC-SHA256 digest under the server secret
/// (hex), and for a key replaced by a rotation, until when it still opens the service.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyDigest {
    /// The digest, 64 lower-case hex digits.
    pub digest: String,
    /// When this key stops working (epoch ms); `None` for the current key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
}

/// When and by whom a managed service was created or last changed.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Stamp {
    /// When (epoch ms, UTC).
    pub at: Timestamp,
    /// Who.
    pub by: Actor,
}

/// A managed service as its ServiceMonitor stores it (table `managed`, one JSON row): the
/// authoritative copy. The D1 registry (`managed_services`) holds the same spec for
/// listing; the catalog resolves it the same way ([`ManagedService::config`]).
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedService {
    /// [`MANAGED_VERSION`].
    pub version: u32,
    /// The spec as last written.
    pub spec: ServiceSpec,
    /// Its group's defaults when it was last written (a later change of the group applies at
    /// the service's next change, or through `PATCH /api/v1/groups/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_defaults: Option<GroupDefaults>,
    /// Its keys, the current one first.
    pub keys: Vec<KeyDigest>,
    /// Its ping id (a UUID, `POST /heartbeat/{uuid}`, `/ping/{uuid}`): random, kept for
    /// life.
    pub ping_id: String,
    /// Whether monitoring is paused (`POST …/pause`): the service is `paused`, with no
    /// deadline and no alert, until resumed.
    #[serde(default)]
    pub paused: bool,
    /// Creation.
    pub created: Stamp,
    /// Last change.
    pub updated: Stamp,
}

impl ManagedService {
    /// A new managed service with a key and ping id made from `random`, created at `now` by
    /// `actor`. Returns it and its key (shown once: only its digest is kept).
    pub fn new(
        spec: ServiceSpec,
        group_defaults: Option<GroupDefaults>,
        random: &Random,
        ring: &KeyRing,
        now: Timestamp,
        actor: Actor,
    ) -> (Self, String) {
        let key = random.key();
        let stamp = Stamp { at: now, by: actor };
        let service = Self {
            version: MANAGED_VERSION,
            spec,
            group_defaults,
            keys: vec![KeyDigest { digest: hex::encode(ring.digest_key(&key)), valid_until: None }],
            ping_id: random.ping_id(),
            paused: false,
            created: stamp.clone(),
            updated: stamp,
        };
        (service, key)
    }

    /// The service id.
    pub fn id(&self) -> &ServiceId {
        self.spec.id()
    }

    /// Its resolved config under the declared `config`'s settings (leniently: see
    /// [`ServiceSpec::resolve_lenient`]); `enabled` is false while paused.
    pub fn config(&self, config: &Config) -> ServiceConfig {
        let mut c = self.spec.resolve_lenient(self.group_defaults.as_ref(), config);
        c.enabled &= !self.paused;
        c
    }

    /// Whether a heartbeat presenting `presented` at `now` may be recorded for this service
    /// (`config` is its resolved config). A plain key is hashed under the ring's secret and
    /// compared in constant time with every stored digest whose grace has not ended (always
    /// all of them, without stopping at a match); an encoded ping credential
    /// ([`PingCredential`]) is checked as the service's ping id, or as its group's ping key.
    /// A service with `auth.required: false` is granted whatever is presented.
    pub fn authorize(
        &self,
        config: &ServiceConfig,
        ring: &KeyRing,
        presented: Option<&str>,
        now: Timestamp,
    ) -> Authorization {
        if let Some(credential) = presented.and_then(PingCredential::from_key) {
            return match credential.kind {
                PingKind::PingId => {
                    let ok: bool = ring.digest_key(&credential.value).ct_eq(&ring.digest_key(&self.ping_id)).into();
                    if ok || !config.auth_required {
                        Authorization::Granted
                    } else {
                        Authorization::WrongKey
                    }
                }
                PingKind::PingKey | PingKind::ProvisioningKey => ring.authorize(Some(config), presented),
                PingKind::PushToken if !config.auth_required => Authorization::Granted,
                PingKind::PushToken => Authorization::WrongKey,
            };
        }
        let presented_digest = ring.digest_key(presented.unwrap_or(""));
        let mut matched = false;
        for k in &self.keys {
            let mut stored = [0u8; 32];
            let decoded = hex::decode_to_slice(&k.digest, &mut stored).is_ok();
            let live = k.valid_until.is_none_or(|until| now < until);
            let equal: bool = stored.ct_eq(&presented_digest).into();
            matched |= equal && live && decoded;
        }
        if !config.auth_required || (matched && presented.is_some()) {
            Authorization::Granted
        } else {
            Authorization::WrongKey
        }
    }

    /// Replaces the key at `now` by `actor`: a new key from `random` becomes current, the
    /// current one keeps working until `now + grace`, keys whose grace has ended are dropped
    /// (and the oldest beyond [`MAX_KEYS`]). Returns the new key (shown once) and until when
    /// the old one works.
    pub fn rotate(
        &mut self,
        random: &Random,
        ring: &KeyRing,
        grace: Duration,
        now: Timestamp,
        actor: Actor,
    ) -> (String, Timestamp) {
        let until = now + grace;
        let key = random.key();
        for k in &mut self.keys {
            k.valid_until = Some(k.valid_until.map_or(until, |u| u.min(until)));
        }
        self.keys.retain(|k| k.valid_until.is_none_or(|u| now < u));
        self.keys.insert(0, KeyDigest { digest: hex::encode(ring.digest_key(&key)), valid_until: None });
        self.keys.truncate(MAX_KEYS);
        self.updated = Stamp { at: now, by: actor };
        (key, until)
    }

    /// The API's view of this service with its resolved `config`.
    pub fn entry(&self, config: &ServiceConfig) -> Entry {
        Entry {
            config: config.clone(),
            kind: Kind::Managed,
            paused: self.paused,
            ping_id: Some(self.ping_id.clone()),
            created_at: Some(self.created.at),
            created_by: Some(self.created.by.clone()),
            updated_at: Some(self.updated.at),
            updated_by: Some(self.updated.by.clone()),
            keys: Some(self.keys.len()),
        }
    }

    /// The D1 registry row of this service (`managed_services`) with its resolved `config`.
    pub fn registry_row(&self, config: &ServiceConfig) -> RegistryRow {
        RegistryRow {
            id: self.id().as_str().to_owned(),
            group_id: self.spec.group().map(str::to_owned),
            name: config.name.clone(),
            tags: serde_json::to_string(&config.tags).unwrap_or_else(|_| "[]".to_owned()),
            spec: serde_json::to_string(&StoredSpec {
                spec: self.spec.clone(),
                group_defaults: self.group_defaults.clone(),
            })
            .unwrap_or_default(),
            ping_id: self.ping_id.clone(),
            paused: self.paused,
            created_at: self.created.at,
            updated_at: self.updated.at,
            created_by: self.created.by.to_string(),
            updated_by: self.updated.by.to_string(),
        }
    }
}

/// The `spec` column of a registry row: the spec and its group's defaults as stored, which
/// the catalog resolves as the object does ([`StoredSpec::config`]).
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSpec {
    /// The spec.
    pub spec: ServiceSpec,
    /// Its group's defaults when written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_defaults: Option<GroupDefaults>,
}

impl StoredSpec {
    /// The resolved config of a registry row's spec (`paused` from its column), as
    /// [`ManagedService::config`] gives it.
    pub fn config(&self, config: &Config, paused: bool) -> ServiceConfig {
        let mut c = self.spec.resolve_lenient(self.group_defaults.as_ref(), config);
        c.enabled &= !paused;
        c
    }
}

/// One row of the D1 registry `managed_services` (migration `0008_managed.sql`): what listing
/// and search need without asking each ServiceMonitor.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct RegistryRow {
    /// The service id.
    pub id: String,
    /// Its group's id.
    pub group_id: Option<String>,
    /// Its display name.
    pub name: String,
    /// Its tags, a JSON array of strings.
    pub tags: String,
    /// [`StoredSpec`] JSON.
    pub spec: String,
    /// Its ping id.
    pub ping_id: String,
    /// Whether paused.
    pub paused: bool,
    /// Creation time (epoch ms).
    pub created_at: Timestamp,
    /// Last change (epoch ms).
    pub updated_at: Timestamp,
    /// Who created it ([`Actor`] text).
    pub created_by: String,
    /// Who changed it last.
    pub updated_by: String,
}

/// Whether a service is declared in `config/` or managed at run time.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// From `config/services.json`: read-only through the API.
    Declared,
    /// Created at run time.
    Managed,
}

/// A service as the management API answers it: its resolved config (as `/api/v1/services`
/// lists it: `id`, `name`, `group`, `enabled`, `stalenessThreshold`, `gracePeriod` in
/// seconds, …) plus `kind`, `paused`, and for a managed service `pingId`, `createdAt`,
/// `createdBy`, `updatedAt`, `updatedBy` (epoch ms / [`Actor`]) and `keys` (how many keys open
/// it: 2 during a rotation's grace).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// The resolved config.
    #[serde(flatten)]
    pub config: ServiceConfig,
    /// Declared or managed.
    pub kind: Kind,
    /// Whether paused (managed: `POST …/pause`; declared: `enabled: false`).
    pub paused: bool,
    /// The ping id (managed services).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ping_id: Option<String>,
    /// Creation time (epoch ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// Who created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Actor>,
    /// Last change (epoch ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
    /// Who changed it last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<Actor>,
    /// How many keys open it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<usize>,
}

impl Entry {
    /// The entry of a declared service.
    pub fn declared(config: &ServiceConfig) -> Self {
        Entry {
            config: config.clone(),
            kind: Kind::Declared,
            paused: !config.enabled,
            ping_id: None,
            created_at: None,
            created_by: None,
            updated_at: None,
            updated_by: None,
            keys: None,
        }
    }
}

/// 409 for a write to a declared service: it is read-only through the API.
pub fn declared_conflict(id: &str) -> Problem {
    Problem::conflict(format!(
        "service {id:?} is declared in config/services.json and read-only through the API; change it there and redeploy"
    ))
}

/// A managed group (`/api/v1/groups`): id, display name, whether public status pages show
/// it, and the defaults its services inherit (as a `services.json` group writes them).
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedGroup {
    /// The group id (the service id rule).
    pub id: String,
    /// Display name (the id when not set).
    pub name: String,
    /// Whether a public status page may show it.
    #[serde(default)]
    pub public: bool,
    /// The defaults its services inherit.
    #[serde(default)]
    pub defaults: GroupDefaults,
}

impl ManagedGroup {
    /// Parses a `POST /api/v1/groups` body (`{"id", "name"?, "public"?, …defaults}`), or with
    /// `path_id` a `PATCH /api/v1/groups/{id}` merge patch over `existing`.
    ///
    /// # Errors
    /// 400 `invalid-field` listing every problem with its field (as a `services.json` group).
    pub fn parse(
        body: &[u8],
        path_id: Option<&str>,
        existing: Option<&ManagedGroup>,
        config: &Config,
    ) -> Result<Self, Problem> {
        let patch: Value =
            serde_json::from_slice(body).map_err(|e| Problem::invalid_json(e.line(), e.column(), &e.to_string()))?;
        let mut value = match existing {
            Some(g) => {
                let mut v = Map::clone(&g.defaults);
                v.insert("id".to_owned(), Value::String(g.id.clone()));
                v.insert("name".to_owned(), Value::String(g.name.clone()));
                v.insert("public".to_owned(), Value::Bool(g.public));
                Value::Object(v)
            }
            None => Value::Object(Map::new()),
        };
        if !patch.is_object() {
            return Err(Problem::invalid_field("", "must be a JSON object"));
        }
        merge_patch(&mut value, &patch);
        let Value::Object(mut fields) = value else { return Err(Problem::invalid_field("", "must be a JSON object")) };
        fields.retain(|k, _| !k.starts_with('_'));
        if let Some(p) = path_id {
            if fields.get("id").and_then(Value::as_str) != Some(p) {
                return Err(Problem::invalid_field("id", "cannot be changed"));
            }
        }
        let mut errors = Vec::new();
        if fields.contains_key("services") {
            errors.push(("services".to_owned(), "a managed service names its group in its own `group`".to_owned()));
        }
        let text = Value::Object(fields.clone()).to_string();
        let mut found = Vec::new();
        let raw = config::from_json::<config::raw::Group>(BODY, &text, &mut found);
        errors.extend(found.into_iter().map(|e| (strip(&e.path), strip_at(&e.reason))));
        if let Some(raw) = &raw {
            if let Err(reason) = ServiceId::parse(&raw.id) {
                errors.push(("id".to_owned(), reason));
            }
            let mut err = |p: String, r: String| errors.push((p.trim_start_matches('.').to_owned(), r));
            config::check_group(raw, &config.settings, &mut err);
        }
        let Some(raw) = raw.filter(|_| errors.is_empty()) else { return Err(field_problems(errors)) };
        let id = raw.id.clone();
        let name = raw.name.clone().unwrap_or_else(|| id.clone());
        let public = raw.public.unwrap_or(false);
        for k in ["id", "name", "public"] {
            fields.remove(k);
        }
        Ok(Self { id, name, public, defaults: fields })
    }

    /// The group as the catalog lists it (members are added by [`Config::with_managed`]).
    pub fn config(&self) -> GroupConfig {
        // autoProvision is checked with the group (`config::check_group`) and kept with its
        // defaults; its services ignore it.
        let auto_provision = self
            .defaults
            .get("autoProvision")
            .and_then(|v| {
                serde_json::from_value::<config::raw::Group>(serde_json::json!({"id": self.id, "autoProvision": v}))
                    .ok()
            })
            .and_then(|g| g.auto_provision());
        GroupConfig {
            id: self.id.clone(),
            name: self.name.clone(),
            services: Vec::new(),
            public: self.public,
            auto_provision,
            maintenance: Vec::new(),
        }
    }
}

/// One entry of a service's change log (D1 `service_changes`; `GET
/// /api/v1/services/{id}/changes`).
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The service.
    pub service_id: String,
    /// When (epoch ms, UTC).
    pub at: Timestamp,
    /// Who.
    pub actor: Actor,
    /// What: `create`, `replace`, `update`, `pause`, `resume`, `rotate-key`, `delete`.
    pub action: String,
    /// Details: for `create`/`replace` the spec, for `update` the patch, for `rotate-key`
    /// `{"oldKeyValidUntil"}`, for `delete` `{"purge"}`.
    pub detail: Value,
}

/// A management operation for one ServiceMonitor (the `op` of [`Manage`]).
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum Op {
    /// Create the service (`replace`: or replace it, keeping its keys and ping id: `PUT`).
    Put {
        /// The spec.
        spec: ServiceSpec,
        /// Its group's defaults (`Some` when it names a group that exists).
        group: Option<GroupDefaults>,
        /// Bytes for a new key and ping id.
        random: Random,
        /// Whether an existing service is replaced (else 409).
        replace: bool,
    },
    /// Merge a JSON merge patch into the spec (`PATCH`).
    Patch {
        /// The patch.
        patch: Value,
        /// The defaults of the group the patch names, when it names one that exists.
        group: Option<GroupDefaults>,
    },
    /// Pause monitoring (idempotent).
    Pause,
    /// Resume monitoring (409 when not paused); the service waits in `unknown`.
    Resume,
    /// Replace the key; the old one works for `grace_secs` more.
    Rotate {
        /// Bytes for the new key.
        random: Random,
        /// Seconds the old key keeps working.
        grace_secs: u64,
    },
    /// Delete the service (its object's storage and alarm; `purge`: its D1 history too).
    Delete {
        /// Whether D1 history is deleted too.
        purge: bool,
    },
    /// Read the service.
    Get,
}

/// A management request to one ServiceMonitor (`POST https://service-monitor/` with
/// `{"op": "manage", "data": …}`, [`crate::protocol::ToMonitor::Manage`]).
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manage {
    /// The service (the object's name).
    pub service_id: ServiceId,
    /// Who asks.
    pub actor: Actor,
    /// What.
    pub operation: Op,
}

/// A ServiceMonitor's answer to a [`Manage`] request (200 or 201 JSON; errors are
/// problem+json): the service's entry, and its key after a create or rotation (shown once).
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Managed {
    /// The entry (after a delete: as it was).
    pub service: Value,
    /// The new key (create, rotate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Until when the replaced key still works (rotate; epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_key_valid_until: Option<Timestamp>,
}

/// What the ServiceMonitor's shell does after [`handle`].
#[derive(Clone, Debug, PartialEq)]
pub enum Store {
    /// Nothing changed.
    Nothing,
    /// Write the managed service (then apply its config to the monitor).
    Save,
    /// Delete it: close an open incident (reason `deleted`), flush history, clear the
    /// object's storage and alarm, remove the registry row (and with `purge` its D1 history).
    Delete {
        /// Whether D1 history is deleted too.
        purge: bool,
    },
}

/// The result of one management operation ([`handle`]).
#[derive(Clone, Debug)]
pub struct Outcome {
    /// HTTP status of the answer: 200, 201, or the problem's.
    pub answer: Result<(u16, Managed), Problem>,
    /// What to store.
    pub store: Store,
    /// The change log row to write (with the registry row) when something changed.
    pub change: Option<Change>,
}

/// What the deployment provides to [`handle`].
#[derive(Clone, Copy, Debug)]
pub struct ManageContext<'a> {
    /// The declared config (its settings, groups and declared ids).
    pub config: &'a Config,
    /// The channels a spec may name.
    pub notifications: &'a NotificationsConfig,
    /// The server secret's HMAC (key digests).
    pub keys: &'a KeyRing,
    /// The whole catalog (declared and managed services), which a written spec's `dependsOn`
    /// is checked against ([`crate::dependency::check_in_catalog`]: unknown ids, cycles);
    /// `None` skips that check (operations that write no spec).
    pub catalog: Option<&'a Config>,
}

/// Resolves `spec` in `group` as [`ServiceSpec::resolve`] does, then checks its `dependsOn`
/// against `ctx.catalog` when there is one.
fn resolve_checked(spec: &ServiceSpec, group: Option<&GroupDefaults>, ctx: &ManageContext<'_>) -> Result<(), Problem> {
    let resolved = spec.resolve(group, ctx.config, ctx.notifications)?;
    ctx.catalog.map_or(Ok(()), |c| crate::dependency::check_in_catalog(c, &resolved))
}

/// Carries out one management operation at `now` on the managed service a ServiceMonitor
/// holds (`slot`; `None` when it holds none). Pure: the shell then stores, applies the config
/// to the monitor, writes the registry and change rows, and answers.
///
/// Errors as problems: 404 for any operation but a create on an empty object, 409 for a
/// create (not `replace`) on an existing one and for a resume of a service that is not
/// paused, 400 for a spec that does not resolve.
pub fn handle(slot: &mut Option<ManagedService>, now: Timestamp, req: Manage, ctx: &ManageContext<'_>) -> Outcome {
    let Manage { service_id, actor, operation: op } = req;
    let fail = |p: Problem| Outcome { answer: Err(p), store: Store::Nothing, change: None };
    let change = |action: &str, detail: Value| Change {
        service_id: service_id.as_str().to_owned(),
        at: now,
        actor: actor.clone(),
        action: action.to_owned(),
        detail,
    };
    if ctx.config.is_declared(service_id.as_str()) {
        return fail(declared_conflict(service_id.as_str()));
    }
    let answer = |m: &ManagedService, status: u16, key: Option<String>, until: Option<Timestamp>| {
        let entry = m.entry(&m.config(ctx.config));
        let service = serde_json::to_value(&entry).unwrap_or(Value::Null);
        Ok((status, Managed { service, key, old_key_valid_until: until }))
    };
    match (op, slot.as_mut()) {
        (Op::Put { spec, group, random, replace }, existing) => {
            if spec.id() != &service_id {
                return fail(Problem::invalid_field("id", "does not match the service addressed"));
            }
            if let Err(p) = resolve_checked(&spec, group.as_ref(), ctx) {
                return fail(p);
            }
            let detail = spec.to_value();
            match existing {
                Some(_) if !replace => {
                    fail(Problem::conflict(format!("service {:?} already exists", service_id.as_str())))
                }
                Some(m) => {
                    m.spec = spec;
                    m.group_defaults = group;
                    m.updated = Stamp { at: now, by: actor.clone() };
                    let answer = answer(m, 200, None, None);
                    Outcome { answer, store: Store::Save, change: Some(change("replace", detail)) }
                }
                None => {
                    let (m, key) = ManagedService::new(spec, group, &random, ctx.keys, now, actor.clone());
                    let answer = answer(&m, 201, Some(key), None);
                    *slot = Some(m);
                    Outcome { answer, store: Store::Save, change: Some(change("create", detail)) }
                }
            }
        }
        (_, None) => fail(Problem::not_found(format!("no managed service {:?}", service_id.as_str()))),
        (Op::Get, Some(m)) => Outcome { answer: answer(m, 200, None, None), store: Store::Nothing, change: None },
        (Op::Patch { patch, group }, Some(m)) => {
            let spec = match m.spec.merge(&patch) {
                Ok(s) => s,
                Err(p) => return fail(p),
            };
            let group =
                if spec.group() == m.spec.group() && group.is_none() { m.group_defaults.clone() } else { group };
            let group = if spec.group().is_none() { None } else { group };
            if let Err(p) = resolve_checked(&spec, group.as_ref(), ctx) {
                return fail(p);
            }
            m.spec = spec;
            m.group_defaults = group;
            m.updated = Stamp { at: now, by: actor.clone() };
            Outcome { answer: answer(m, 200, None, None), store: Store::Save, change: Some(change("update", patch)) }
        }
        (Op::Pause, Some(m)) => {
            if m.paused {
                return Outcome { answer: answer(m, 200, None, None), store: Store::Nothing, change: None };
            }
            m.paused = true;
            m.updated = Stamp { at: now, by: actor.clone() };
            Outcome {
                answer: answer(m, 200, None, None),
                store: Store::Save,
                change: Some(change("pause", Value::Null)),
            }
        }
        (Op::Resume, Some(m)) => {
            if !m.paused {
                return fail(Problem::conflict(format!("service {:?} is not paused", service_id.as_str())));
            }
            m.paused = false;
            m.updated = Stamp { at: now, by: actor.clone() };
            Outcome {
                answer: answer(m, 200, None, None),
                store: Store::Save,
                change: Some(change("resume", Value::Null)),
            }
        }
        (Op::Rotate { random, grace_secs }, Some(m)) => {
            let (key, until) = m.rotate(&random, ctx.keys, Duration::from_secs(grace_secs), now, actor.clone());
            let detail = serde_json::json!({ "oldKeyValidUntil": until });
            Outcome {
                answer: answer(m, 200, Some(key), Some(until)),
                store: Store::Save,
                change: Some(change("rotate-key", detail)),
            }
        }
        (Op::Delete { purge }, Some(m)) => {
            let answer = answer(m, 200, None, None);
            *slot = None;
            let detail = serde_json::json!({ "purge": purge });
            Outcome { answer, store: Store::Delete { purge }, change: Some(change("delete", detail)) }
        }
    }
}

#[cfg(test)]
mod tests;
