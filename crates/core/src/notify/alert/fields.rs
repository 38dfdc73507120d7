//! Reading a JSON body's fields with their paths, for [`super::parse`]: every wrong type,
//! missing field or broken limit becomes a 400 [`Problem`] naming the field.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{cut, MAX_FINGERPRINT, MAX_KEY, MAX_PAIRS};
use crate::api::Problem;
use crate::notify::vocab::AlertState;
use crate::time::Timestamp;

/// A JSON object being read, with its path for error messages.
pub(super) struct At<'a> {
    pub(super) obj: &'a Map<String, Value>,
    /// The object's JSON path, empty at the top level.
    pub(super) prefix: String,
}

impl<'a> At<'a> {
    pub(super) fn root(obj: &'a Map<String, Value>) -> Self {
        Self { obj, prefix: String::new() }
    }

    pub(super) fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// The value of `key`; `null` counts as absent.
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    pub(super) fn string(&self, key: &str) -> Result<Option<&'a str>, Problem> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => {
                let path = self.path(key);
                Err(Problem::invalid_field(&path, format!("{path} must be a string, got {}", kind(v))))
            }
        }
    }

    pub(super) fn required_string(&self, key: &str) -> Result<&'a str, Problem> {
        self.string(key)?.ok_or_else(|| {
            let path = self.path(key);
            Problem::invalid_field(&path, format!("{path} is required"))
        })
    }

    pub(super) fn state(&self, key: &str) -> Result<Option<AlertState>, Problem> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => AlertState::parse(s).map(Some).ok_or_else(|| {
                let path = self.path(key);
                Problem::invalid_field(&path, format!("{path} must be firing or resolved, got {s:?}"))
            }),
        }
    }

    /// An RFC 3339 time; empty, and anything before 1970 (Go's zero time), is `None`.
    pub(super) fn time(&self, key: &str) -> Result<Option<Timestamp>, Problem> {
        match self.string(key)?.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => match Timestamp::parse_rfc3339(s) {
                Some(t) => Ok(Some(t).filter(|t| t.as_millis() >= 0)),
                None => {
                    let path = self.path(key);
                    Err(Problem::invalid_field(
                        &path,
                        format!("{path} must be an RFC 3339 time such as 2025-11-21T19:33:20Z, got {s:?}"),
                    ))
                }
            },
        }
    }

    /// The given fingerprint, if any and not blank.
    pub(super) fn fingerprint(&self) -> Result<Option<String>, Problem> {
        let Some(f) = self.string("fingerprint")?.map(str::trim).filter(|f| !f.is_empty()) else {
            return Ok(None);
        };
        let count = f.chars().count();
        if count > MAX_FINGERPRINT {
            let path = self.path("fingerprint");
            let mut p = Problem::invalid_field(
                &path,
                format!("{path} must be at most {MAX_FINGERPRINT} characters, got {count}"),
            );
            p.limit = u32::try_from(MAX_FINGERPRINT).ok();
            return Err(p);
        }
        Ok(Some(f.to_owned()))
    }

    /// A string → string object (`labels`, `annotations`), values uncut; numbers and
    /// booleans are taken as their JSON text.
    pub(super) fn pairs(&self, key: &str) -> Result<BTreeMap<String, String>, Problem> {
        let path = self.path(key);
        let map = match self.get(key) {
            None => return Ok(BTreeMap::new()),
            Some(Value::Object(map)) => map,
            Some(v) => {
                return Err(Problem::invalid_field(
                    &path,
                    format!("{path} must be an object of names to strings, got {}", kind(v)),
                ))
            }
        };
        if map.len() > MAX_PAIRS {
            let mut p = Problem::invalid_field(
                &path,
                format!("{path} must have at most {MAX_PAIRS} entries, got {}", map.len()),
            );
            p.limit = u32::try_from(MAX_PAIRS).ok();
            return Err(p);
        }
        let mut out = BTreeMap::new();
        for (k, v) in map {
            let count = k.chars().count();
            if count > MAX_KEY {
                let mut p = Problem::invalid_field(
                    &path,
                    format!("{path} names must be at most {MAX_KEY} characters, got {count} ({:?})", cut(k, 32)),
                );
                p.limit = u32::try_from(MAX_KEY).ok();
                return Err(p);
            }
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    let at = format!("{path}.{k}");
                    return Err(Problem::invalid_field(&at, format!("{at} must be a string, got {}", kind(other))));
                }
            };
            out.insert(k.clone(), text);
        }
        Ok(out)
    }
}

/// A JSON value's kind, for error messages: `a string`, `an array`, ….
pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
