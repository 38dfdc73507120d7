//! Escalation and acknowledgement of incidents.
//!
//! A service (or its group) may carry an escalation policy: levels of `{after, channels}`,
//! `after` in whole seconds since the incident opened, strictly increasing, at most
//! [`MAX_LEVELS`]. When an incident is neither resolved nor acknowledged `after` seconds
//! after it opened, the level's channels are notified (an `escalation` event), once per
//! level. Someone acknowledges an incident from the dashboard, through the API or with a
//! signed link carried by its notifications ([`AckLinks`]); an acknowledged incident
//! escalates no further and its reminders stop. The monitor holds the state
//! ([`crate::monitor::Incident::acknowledged`], [`crate::monitor::Incident::escalated`]) and
//! its one `next_deadline` includes the next level's time.
//!
//! Config and API form: `"escalation": [{"after": 900, "channels": ["pagerduty-oncall"]},
//! {"after": 3600, "channels": ["sms-manager"]}]`.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::config::ServiceId;
use crate::keys::ServerMac;
use crate::time::Timestamp;

/// The most levels a policy may have.
pub const MAX_LEVELS: usize = 3;

/// The longest `after`: 7 days, in seconds.
pub const MAX_AFTER_SECS: u64 = 7 * 86_400;

/// How long a signed acknowledgement link stays valid after the notification carrying it
/// was made: 7 days.
pub const LINK_TTL: Duration = Duration::from_secs(7 * 86_400);

/// The longest `who` an acknowledgement records, in characters.
pub const MAX_WHO: usize = 100;

/// One level of an escalation policy.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Level {
    /// Time from the incident's start to this level (serialized in whole seconds).
    #[serde(with = "secs")]
    pub after: Duration,
    /// The channels (names or types in `notifications.json`) it notifies.
    pub channels: Vec<String>,
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// Parses a written `escalation` (at JSON path `at`, e.g. `services[2]`), pushing each
/// problem as `(path, message)` to `errors`: it must be an array of at most [`MAX_LEVELS`]
/// objects `{after, channels}` (no other fields but `_` comments), `after` whole seconds
/// from 1 to [`MAX_AFTER_SECS`] and strictly increasing, `channels` a non-empty array of
/// strings. Whether the channels exist is checked against `notifications.json`
/// ([`crate::notify::NotificationsConfig::check_policies`]).
pub fn parse(value: &Value, at: &str, errors: &mut Vec<(String, String)>) -> Vec<Level> {
    let here = if at.is_empty() { "escalation".to_owned() } else { format!("{at}.escalation") };
    let Some(items) = value.as_array() else {
        errors.push((here, "must be an array of {\"after\": seconds, \"channels\": [names]}".into()));
        return Vec::new();
    };
    if items.len() > MAX_LEVELS {
        errors.push((here.clone(), format!("must have at most {MAX_LEVELS} levels, got {}", items.len())));
    }
    let mut levels: Vec<Level> = Vec::new();
    for (k, item) in items.iter().enumerate() {
        let path = format!("{here}[{k}]");
        let Some(obj) = item.as_object() else {
            errors.push((path, "must be an object with after and channels".into()));
            continue;
        };
        for key in obj.keys().filter(|k| !k.starts_with('_') && *k != "after" && *k != "channels") {
            errors.push((format!("{path}.{key}"), "unknown field, expected after or channels".into()));
        }
        let after = match obj.get("after").map(|v| (v, v.as_u64())) {
            Some((_, Some(s))) if (1..=MAX_AFTER_SECS).contains(&s) => Some(Duration::from_secs(s)),
            Some((v, _)) => {
                errors.push((
                    format!("{path}.after"),
                    format!("must be whole seconds from 1 to {MAX_AFTER_SECS} (7 days), got {v}"),
                ));
                None
            }
            None => {
                errors.push((format!("{path}.after"), "is required (seconds after the incident opened)".into()));
                None
            }
        };
        if let (Some(a), Some(prev)) = (after, levels.last()) {
            if a <= prev.after {
                errors.push((
                    format!("{path}.after"),
                    format!(
                        "must be greater than the previous level's {} s, got {}",
                        prev.after.as_secs(),
                        a.as_secs()
                    ),
                ));
            }
        }
        let channels: Option<Vec<String>> = match obj.get("channels") {
            Some(Value::Array(names)) if !names.is_empty() => {
                names.iter().map(|n| n.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>().or_else(|| {
                    errors.push((format!("{path}.channels"), "must be an array of channel names".into()));
                    None
                })
            }
            _ => {
                errors.push((format!("{path}.channels"), "must be a non-empty array of channel names".into()));
                None
            }
        };
        if let (Some(after), Some(channels)) = (after, channels) {
            levels.push(Level { after, channels });
        }
    }
    levels
}

/// Who acknowledged an incident, and when.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Acknowledgement {
    /// Who: a user id, `api` (the management key), or `link` (a signed link).
    pub by: String,
    /// When (epoch ms, UTC).
    pub at: Timestamp,
}

/// Why an acknowledgement was refused.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
pub enum AckError {
    /// The service has no open incident that started then: it was resolved, or never was.
    #[error("the incident is not open (resolved, or unknown)")]
    NotOpen,
}

/// An incident's id in URLs and the API: `{serviceId}.{startedAt epoch ms}`.
pub fn incident_id(service: &str, started_at: Timestamp) -> String {
    format!("{service}.{}", started_at.as_millis())
}

/// Parses an incident id ([`incident_id`]): the service and the start; `None` when it is
/// not `{valid service id}.{non-negative integer}`.
pub fn parse_incident_id(id: &str) -> Option<(ServiceId, Timestamp)> {
    let (service, ms) = id.rsplit_once('.')?;
    if ms.is_empty() || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: i64 = ms.parse().ok()?;
    Some((ServiceId::parse(service).ok()?, Timestamp::from_millis(ms)))
}

/// Why a signed acknowledgement link was refused.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
pub enum LinkError {
    /// The signature does not match (tampered, for another incident, or no secret).
    #[error("this acknowledgement link is not valid")]
    Invalid,
    /// The link's time ran out.
    #[error("this acknowledgement link has expired")]
    Expired,
}

/// The signed acknowledgement links of one deployment: HMAC-SHA256 under the server secret
/// (`SERVER_SECRET`, else the `API_KEYS` text, as managed keys and badges) over the incident
/// id (service and start) and the expiry, so a link acknowledges only its incident, until
/// it expires, without sign-in.
///
/// Link: `{base}/ack/{incident id}?expires={epoch seconds}&sig={64 hex digits}`.
#[derive(Clone, Debug)]
pub struct AckLinks {
    mac: ServerMac,
}

impl AckLinks {
    /// The links under `secret`; an empty or missing secret gives none (no link is made,
    /// every link is [`LinkError::Invalid`]).
    pub fn new(secret: Option<&[u8]>) -> Self {
        Self { mac: ServerMac::new(secret) }
    }

    fn sign(&self, id: &str, expires: i64) -> Option<[u8; 32]> {
        self.mac.sign(&format!("systole ack v1\0{id}\0{expires}"))
    }

    /// The link acknowledging the incident of `service` that started at `started_at`, made
    /// at `now` and valid for [`LINK_TTL`], under the dashboard's base URL `base`
    /// (`https://…`, no trailing `/`); `None` without a secret.
    pub fn link(&self, base: &str, service: &str, started_at: Timestamp, now: Timestamp) -> Option<String> {
        let id = incident_id(service, started_at);
        let expires = (now + LINK_TTL).as_millis() / 1000;
        let sig = hex::encode(self.sign(&id, expires)?);
        Some(format!("{base}/ack/{id}?expires={expires}&sig={sig}"))
    }

    /// Checks a link's parts at `now`: the incident id, `expires` (epoch seconds) and `sig`
    /// (hex), compared in constant time.
    ///
    /// # Errors
    /// [`LinkError::Invalid`] for a signature that does not match (or no secret),
    /// [`LinkError::Expired`] for a valid link past its expiry.
    pub fn verify(&self, id: &str, expires: i64, sig: &str, now: Timestamp) -> Result<(), LinkError> {
        let expected = self.sign(id, expires).ok_or(LinkError::Invalid)?;
        let presented = hex::decode(sig).map_err(|_| LinkError::Invalid)?;
        if presented.len() != expected.len() || !bool::from(presented.ct_eq(&expected)) {
            return Err(LinkError::Invalid);
        }
        if now.as_millis() / 1000 >= expires {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use serde_json::json;

    use super::*;

    fn parsed(v: Value) -> (Vec<Level>, Vec<(String, String)>) {
        let mut errors = Vec::new();
        let levels = parse(&v, "services[0]", &mut errors);
        (levels, errors)
    }

    #[test]
    fn a_policy_of_two_levels_parses() {
        let (levels, errors) =
            parsed(json!([{"after": 900, "channels": ["pagerduty"]}, {"after": 3600, "channels": ["sms"]}]));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(levels[1], Level { after: Duration::from_secs(3600), channels: vec!["sms".into()] });
    }

    #[test]
    fn each_problem_is_named_with_its_path() {
        let (_, errors) = parsed(json!([
            {"after": 900, "channels": ["a"]},
            {"after": 900, "channels": []},
            {"after": 0, "channels": ["b"], "when": 1},
            {"channels": ["c"]}
        ]));
        let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "services[0].escalation",
                "services[0].escalation[1].after",
                "services[0].escalation[1].channels",
                "services[0].escalation[2].when",
                "services[0].escalation[2].after",
                "services[0].escalation[3].after",
            ]
        );
        assert_eq!(errors[0].1, "must have at most 3 levels, got 4");
        assert_eq!(errors[1].1, "must be greater than the previous level's 900 s, got 900");
    }

    #[test]
    fn incident_ids_round_trip() {
        let id = incident_id("api-prod", Timestamp::from_millis(1_764_866_400_000));
        assert_eq!(id, "api-prod.1764866400000");
        assert_eq!(
            parse_incident_id(&id),
            Some((ServiceId::parse("api-prod").unwrap(), Timestamp::from_millis(1_764_866_400_000)))
        );
        assert_eq!(parse_incident_id("api-prod"), None);
        assert_eq!(parse_incident_id("api-prod.12x"), None);
        assert_eq!(parse_incident_id(".12"), None);
    }

    #[test]
    fn a_link_opens_its_incident_only_and_until_it_expires() {
        let links = AckLinks::new(Some(b"server secret"));
        let now = Timestamp::from_millis(1_000_000);
        let link = links.link("https://s.example", "api", Timestamp::from_millis(5_000), now).unwrap();
        let (path, query) = link.strip_prefix("https://s.example/ack/").unwrap().split_once('?').unwrap();
        assert_eq!(path, "api.5000");
        let expires: i64 = query.split('&').next().unwrap().strip_prefix("expires=").unwrap().parse().unwrap();
        assert_eq!(expires, 1_000 + 7 * 86_400);
        let sig = query.split_once("sig=").unwrap().1;
        // HMAC-SHA256("server secret", "systole ack v1\0api.5000\0605800"), as Python's
        // `hmac` computes it: links already sent keep working.
        assert_eq!(sig, "ce6be85ee8615f77eb96425215974ba6aadf35c3154fe635a934d3e13b69e59d");
        assert_eq!(links.verify("api.5000", expires, sig, now), Ok(()));
        assert_eq!(links.verify("api.5001", expires, sig, now), Err(LinkError::Invalid));
        assert_eq!(links.verify("other.5000", expires, sig, now), Err(LinkError::Invalid));
        assert_eq!(links.verify("api.5000", expires + 1, sig, now), Err(LinkError::Invalid));
        assert_eq!(links.verify("api.5000", expires, "zz", now), Err(LinkError::Invalid));
        let late = Timestamp::from_millis(expires * 1000);
        assert_eq!(links.verify("api.5000", expires, sig, late), Err(LinkError::Expired));
        assert_eq!(AckLinks::new(None).verify("api.5000", expires, sig, now), Err(LinkError::Invalid));
        assert_eq!(AckLinks::new(None).link("https://s.example", "api", Timestamp::from_millis(5_000), now), None);
    }
}
