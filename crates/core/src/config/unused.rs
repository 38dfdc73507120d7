//! Fields the cloudflaremon seed documents that Systole accepts but has no use for: a
//! user's unchanged config folder builds, and each such field is listed once at build time
//! with the reason it means nothing here (see `docs/migrating-from-cloudflaremon.md`).
//!
//! Everything else a file's types do not know stays an error (typos must be caught), except
//! keys starting with `_`, which are comments anywhere.

use std::fmt;

use serde_json::Value;

/// One seed field without effect in Systole.
#[derive(Clone, Copy, Debug)]
pub struct Unused {
    /// The file, e.g. `settings.json`.
    pub file: &'static str,
    /// The JSON path, `[]` standing for any array index, e.g. `groups[].foo`.
    pub path: &'static str,
    /// Why it has no effect, lower-case.
    pub reason: &'static str,
}

/// Every seed field accepted without effect.
pub const UNUSED: &[Unused] = &[Unused {
    file: "notifications.json",
    path: "settings.alertHistory.cleanupOnAdd",
    reason: "the alert history lives in D1 and is trimmed to maxAlerts and maxAgeDays by the hourly \
                 housekeeping, never on each add",
}];

/// Something a build lists about a config folder without failing: a seed field without
/// effect (`ignored: …`), or a credential written in a file (`move it to …`).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ConfigNotice {
    /// File and JSON path, e.g. `notifications.json: settings.alertHistory.cleanupOnAdd`.
    pub path: String,
    /// What to know, e.g. `ignored: read alerts are remembered per browser …`.
    pub reason: String,
}

impl fmt::Display for ConfigNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Whether `path` (as [`path_text`] writes it) of `file` is in [`UNUSED`].
pub(crate) fn is_listed(file: &str, path: &str) -> bool {
    let pattern = any_index(path);
    UNUSED.iter().any(|u| u.file == file && u.path == pattern)
}

/// The [`UNUSED`] fields present in `text` (the JSON of `file`), one notice per occurrence,
/// in table order. Text that is not JSON has none (the parser reports it).
pub fn notices(file: &str, text: &str) -> Vec<ConfigNotice> {
    let Ok(root) = serde_json::from_str::<Value>(text) else { return Vec::new() };
    let mut found = Vec::new();
    for u in UNUSED.iter().filter(|u| u.file == file) {
        let mut at = vec![(String::new(), &root)];
        for segment in u.path.split('.') {
            let (key, each) = segment.strip_suffix("[]").map_or((segment, false), |k| (k, true));
            at = at
                .into_iter()
                .filter_map(|(path, v)| Some((join(&path, key), v.get(key)?)))
                .flat_map(|(path, v)| match (each, v) {
                    (true, Value::Array(items)) => {
                        items.iter().enumerate().map(|(i, item)| (format!("{path}[{i}]"), item)).collect()
                    }
                    (true, _) => Vec::new(),
                    (false, v) => vec![(path, v)],
                })
                .collect();
        }
        found.extend(at.into_iter().map(|(path, _)| ConfigNotice {
            path: format!("{file}: {path}"),
            reason: format!("ignored: {}", u.reason),
        }));
    }
    found
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// `path` with every `[n]` written `[]`.
fn any_index(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' => in_index = false,
            c if !in_index => out.push(c),
            _ => {}
        }
    }
    out
}

/// A path of `serde_ignored` written as `serde_path_to_error` writes paths:
/// `groups[0].uptimeThresholdSet`.
pub(crate) fn path_text(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", path_text(parent)),
        Path::Map { parent, key } => join(&path_text(parent), key),
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => path_text(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_fields_are_found_at_every_index_and_others_are_not() {
        assert!(is_listed("notifications.json", "settings.alertHistory.cleanupOnAdd"));
        assert!(!is_listed("settings.json", "settings.alertHistory.cleanupOnAdd"));
        assert_eq!(any_index("groups[12].a[3].b"), "groups[].a[].b");
        let n = notices("notifications.json", r#"{"settings": {"alertHistory": {"cleanupOnAdd": true}}}"#);
        assert_eq!(n.len(), 1);
        let reason = UNUSED[0].reason;
        assert_eq!(
            n[0].to_string(),
            format!("notifications.json: settings.alertHistory.cleanupOnAdd: ignored: {reason}")
        );
        assert!(notices("notifications.json", "not json").is_empty());
    }
}
