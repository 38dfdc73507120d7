//! The declarative configuration (`config/services.json`, `config/settings.json`), parsed once
//! into typed, validated values.
//!
//! The file formats follow the seeds' `services.json`: `groups` carry defaults
//! (`stalenessThreshold`, `gracePeriod`, `notifications`, `auth`) that their services inherit;
//! a service's own fields win. [`Config::parse`] reports every problem with its JSON path.
//!
//! [`Deployment::parse`] is the one loader of a whole config folder (these two files,
//! `notifications.json`, `users.json` and `dashboard.json`).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::access::Users;
use crate::branding::Branding;
use crate::notify::vocab::Event;
use crate::notify::NotificationsConfig;
use crate::run::RunConfig;
use crate::schedule::Schedule;
use crate::time::Zone;

mod legacy;
mod settings;
pub mod unused;

pub use settings::{AlertHistoryDefaults, AlertNotifications, Api, Features, Settings, DEFAULT_PROFILE};

/// Default staleness threshold when neither service nor group sets one: 300 s.
pub const DEFAULT_STALENESS_THRESHOLD: Duration = Duration::from_secs(300);
/// Largest staleness threshold or grace period accepted: 365 days.
pub const MAX_THRESHOLD: Duration = Duration::from_secs(365 * 86_400);
/// Largest `failureThreshold` or `recoveryThreshold`.
pub const MAX_RUN_THRESHOLD: u32 = 1000;
/// Every notification event a channel may take, in [`crate::notify::Event::ALL`] order.
pub const NOTIFICATION_EVENTS: [&str; 7] = ["down", "up", "degraded", "late", "reminder", "alert", "test"];
/// The events a service or group may subscribe its notifications to: those a service raises
/// itself. `alert` comes from `POST /api/alert`, not a service, and a `test` skips every
/// event filter, so listing either on a service would mean nothing.
pub const SERVICE_EVENTS: [&str; 5] = ["down", "up", "degraded", "late", "reminder"];

/// Service ids the code uses for other subjects, with the reason; `services.json` may not
/// use them.
pub const RESERVED_IDS: [(&str, &str); 2] = [
    (EXTERNAL_SUBJECT, "the alert history's subject for external alerts"),
    (TEST_SUBJECT, "the alert history's subject for test notifications"),
];
/// The alert history's subject of external alerts (a service's is its id).
pub const EXTERNAL_SUBJECT: &str = "external";
/// The alert history's subject of test notifications.
pub const TEST_SUBJECT: &str = "test";

/// A service id: 1 to 64 characters from `[A-Za-z0-9._-]` (the seed's ids are free text;
/// these are the ones that are safe in URLs, Durable Object names and logs unescaped).
#[derive(Clone, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct ServiceId(String);

impl ServiceId {
    /// Parses an id, returning the reason it is invalid.
    ///
    /// # Errors
    /// A lower-case sentence when the id is empty, longer than 64 characters, or contains a
    /// character outside `[A-Za-z0-9._-]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() || text.len() > 64 {
            return Err(format!("must be 1 to 64 characters, got {}", text.len()));
        }
        if let Some(bad) = text.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.')) {
            return Err(format!("must match [A-Za-z0-9._-]{{1,64}}, found {bad:?}"));
        }
        Ok(Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One problem found in the configuration: where it is and why it is wrong.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ConfigError {
    /// JSON path inside the file, e.g. `services.json: services[3].stalenessThreshold`.
    pub path: String,
    /// What is wrong, lower-case, e.g. `must be ≥ 10 s, got 0`.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Every problem found by [`Config::parse`], in the order checked (ids, groups, values).
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(f, "invalid configuration ({n} problem{}):", if n == 1 { "" } else { "s" })?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

/// Which notification channels and events a service routes to (used by the alerting
/// pipeline). Resolved: service fields over group fields over defaults.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPolicy {
    /// Whether this service notifies at all (default `true`).
    pub enabled: bool,
    /// Channel names; empty means every enabled channel.
    pub channels: Vec<String>,
    /// Events from [`SERVICE_EVENTS`], in the order written; empty means each channel's own
    /// events. JSON: their lower-case names.
    pub events: Vec<Event>,
}

/// A group of services, shown together on the dashboard.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupConfig {
    /// The group id (same syntax as service ids).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Member service ids, in the order listed.
    pub services: Vec<ServiceId>,
    /// Whether a public status page may show this group.
    pub public: bool,
    /// Whether heartbeats may create services in it (`autoProvision`; see
    /// [`crate::provision`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_provision: Option<crate::provision::AutoProvision>,
    /// Its maintenance windows from `services.json` (each member's list starts with them).
    #[serde(skip)]
    pub maintenance: Vec<crate::maintenance::Window>,
}

/// One monitored service, with group defaults already applied.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConfig {
    /// The id heartbeats name in `serviceId`.
    pub id: ServiceId,
    /// Display name.
    pub name: String,
    /// The group this service belongs to, if any.
    pub group: Option<String>,
    /// Whether the service is monitored; a disabled service is `paused`.
    pub enabled: bool,
    /// How long after a heartbeat the next one is due (serialized in whole seconds); unused
    /// when [`schedule`](Self::schedule) is set.
    #[serde(serialize_with = "as_secs")]
    pub staleness_threshold: Duration,
    /// The cron schedule (in its time zone) the service's heartbeats follow instead of a
    /// period: the next one is due at the schedule's next occurrence after the last one.
    /// Not serialized here: the API shows it with [`crate::schedule::ScheduleView`].
    #[serde(skip)]
    pub schedule: Option<Schedule>,
    /// Extra time after the deadline during which the service is `late`, not yet `down`
    /// (serialized in whole seconds).
    #[serde(serialize_with = "as_secs")]
    pub grace_period: Duration,
    /// Whether a heartbeat must carry this service's key (default `true`).
    pub auth_required: bool,
    /// The uptime threshold profile its bars are coloured by (`uptimeThresholdSet`: the
    /// service's, else its group's, else `settings.json` `uptime.thresholdProfile`, else
    /// `default`); a key of `settings.json` `uptimeThresholds` when that has profiles.
    pub uptime_threshold_set: String,
    /// How its maintenance time counts in its uptime (`maintenanceUptime`: the service's,
    /// else its group's, else `settings.json` `uptime.maintenance`, else `exclude`).
    pub maintenance_uptime: crate::maintenance::MaintenanceUptime,
    /// Notification routing.
    pub notifications: NotificationPolicy,
    /// The run timers and thresholds (`startWindow`, `maxRuntime`, `minDuration`,
    /// `maxDuration`, `failureThreshold`, `recoveryThreshold`, `minInterval`; see
    /// [`crate::run`]); serialized flat, durations in whole seconds, defaults left out.
    #[serde(flatten)]
    pub runs: RunConfig,
    /// Free text shown with the service (`description`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Labels to filter by (`tags`, each as an id: `[A-Za-z0-9._-]{1,64}`), in the order
    /// written; left out of the JSON when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Its maintenance windows from `services.json` (`maintenance`): its group's, then its
    /// own (see [`crate::maintenance`]). Not serialized here: the maintenance API lists them.
    #[serde(skip)]
    pub maintenance: Vec<crate::maintenance::Window>,
    /// The services it depends on (`dependsOn`: its own list, else its group's; at most
    /// [`crate::dependency::MAX_DEPENDS_ON`]); left out of the JSON when empty. See
    /// [`crate::dependency`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<ServiceId>,
    /// Its escalation policy (`escalation`: the service's own, else its group's; see
    /// [`crate::escalation`]), `after` in whole seconds; left out of the JSON when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub escalation: Vec<crate::escalation::Level>,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// The whole validated configuration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Config {
    /// Services in file order.
    pub services: Vec<ServiceConfig>,
    /// Groups in file order.
    pub groups: Vec<GroupConfig>,
    /// Deployment-wide settings.
    pub settings: Settings,
    #[serde(skip)]
    index: BTreeMap<ServiceId, usize>,
    /// Each declared group's default fields as written (its JSON object without `id`,
    /// `name`, `services` and `public`), for a managed service joining it.
    #[serde(skip)]
    group_defaults: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    /// How many of `services` (the first ones) are declared in `services.json`; the rest are
    /// managed ([`Config::with_managed`]).
    #[serde(skip)]
    declared: usize,
}

impl Config {
    /// Parses and validates `services.json` and `settings.json` (either may be `None` for
    /// defaults: no services, default settings).
    ///
    /// # Errors
    /// [`ConfigErrors`] listing every problem with its path: malformed JSON or a field of the
    /// wrong type (first one per file), unknown fields, duplicate service or group ids, a
    /// service listed in two groups, a group naming an undefined service, ids not matching
    /// `[A-Za-z0-9._-]{1,64}`, thresholds outside `minStalenessThreshold..=365 days`, grace
    /// periods over 365 days, unknown notification events, settings out of range.
    pub fn parse(services_json: Option<&str>, settings_json: Option<&str>) -> Result<Self, ConfigErrors> {
        let mut errors = Vec::new();
        let raw_settings: settings::raw::Settings =
            settings_json.map(|s| from_json("settings.json", s, &mut errors)).unwrap_or_default().unwrap_or_default();
        let raw_services: raw::ServicesFile =
            services_json.map(|s| from_json("services.json", s, &mut errors)).unwrap_or_default().unwrap_or_default();
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let settings = settings::resolve(&raw_settings, &mut errors);
        let (services, groups) = resolve_services(&raw_services, &settings, &mut errors);
        check_profiles(&raw_services, &settings, &mut errors);
        if errors.is_empty() {
            crate::dependency::check_graph(&services, |i, reason| {
                errors.push(ConfigError { path: format!("services.json: services[{i}].dependsOn"), reason });
            });
        }
        if errors.is_empty() {
            // Effective values are only meaningful once every written value is valid.
            for (i, s) in services.iter().enumerate() {
                check_resolved(&format!("services[{i}]"), s, &settings, &mut |path, reason| {
                    errors.push(ConfigError { path: format!("services.json: {path}"), reason });
                });
            }
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let index = services.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        let group_defaults = services_json.map(group_defaults).unwrap_or_default();
        let declared = services.len();
        Ok(Self { services, groups, settings, index, group_defaults, declared })
    }

    /// The service with this id, if configured.
    pub fn service(&self, id: &str) -> Option<&ServiceConfig> {
        let id = ServiceId::parse(id).ok()?;
        self.index.get(&id).and_then(|&i| self.services.get(i))
    }

    /// Whether any managed service is in this catalog ([`Config::with_managed`]).
    pub fn has_managed(&self) -> bool {
        self.services.len() > self.declared
    }

    /// Whether `id` is declared in `services.json` (not a managed service).
    pub fn is_declared(&self, id: &str) -> bool {
        ServiceId::parse(id).ok().and_then(|id| self.index.get(&id)).is_some_and(|&i| i < self.declared)
    }

    /// The services declared in `services.json`, in file order (without managed ones).
    pub fn declared_services(&self) -> &[ServiceConfig] {
        self.services.get(..self.declared).unwrap_or_default()
    }

    /// The group `id`'s default fields as `services.json` writes them (its object without
    /// `id`, `name`, `services` and `public`); `None` for a group it does not declare.
    pub fn group_defaults(&self, id: &str) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.group_defaults.get(id)
    }

    /// This (declared) configuration with managed `services` appended after the declared ones
    /// and managed `groups` after its groups; a managed service in a group (declared or
    /// managed) is listed among that group's members. A service or group whose id is already
    /// present is left out (declared ones win), as is a second one with the same id. The
    /// catalog the Worker lists and looks services up in.
    #[must_use]
    pub fn with_managed(&self, services: Vec<ServiceConfig>, groups: Vec<GroupConfig>) -> Config {
        let mut merged = Config {
            services: self.declared_services().to_vec(),
            groups: self.groups.clone(),
            settings: self.settings.clone(),
            index: BTreeMap::new(),
            group_defaults: self.group_defaults.clone(),
            declared: self.declared,
        };
        for g in groups {
            if !merged.groups.iter().any(|x| x.id == g.id) {
                merged.groups.push(GroupConfig { services: Vec::new(), ..g });
            }
        }
        merged.index = merged.services.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        for s in services {
            if merged.index.contains_key(&s.id) {
                continue;
            }
            if let Some(g) = s.group.as_deref().and_then(|g| merged.groups.iter_mut().find(|x| x.id == g)) {
                g.services.push(s.id.clone());
            }
            merged.index.insert(s.id.clone(), merged.services.len());
            merged.services.push(s);
        }
        merged
    }
}

/// Each group's default fields in `services.json` text (already parsed without error).
fn group_defaults(text: &str) -> BTreeMap<String, serde_json::Map<String, serde_json::Value>> {
    let Ok(serde_json::Value::Object(mut root)) = serde_json::from_str::<serde_json::Value>(text) else {
        return BTreeMap::new();
    };
    let Some(serde_json::Value::Array(groups)) = root.remove("groups") else { return BTreeMap::new() };
    groups
        .into_iter()
        .filter_map(|g| match g {
            serde_json::Value::Object(mut g) => {
                let id = g.remove("id")?.as_str()?.to_owned();
                for k in ["name", "services", "public", "autoProvision"] {
                    g.remove(k);
                }
                g.retain(|k, _| !k.starts_with('_'));
                Some((id, g))
            }
            _ => None,
        })
        .collect()
}

/// A deployment's whole declarative configuration: every file of its config folder, parsed
/// and cross-checked together. The one loader of the Worker's build script, the Worker, the
/// tests and `cargo xtask`.
#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    /// `services.json` and `settings.json`.
    pub config: Config,
    /// `notifications.json` (no channels when absent).
    pub notifications: NotificationsConfig,
    /// `users.json` (no users, an open deployment, when absent).
    pub users: Users,
    /// `dashboard.json` (defaults when absent).
    pub branding: Branding,
    /// What the build lists without failing: seed fields present in the folder that have no
    /// effect here, and credentials written in `notifications.json`.
    pub notices: Vec<unused::ConfigNotice>,
}

impl Deployment {
    /// The files of a config folder, in the order [`Deployment::parse`] reads them.
    pub const FILES: [&'static str; 6] =
        ["services.json", "settings.json", "notifications.json", "users.json", "dashboard.json", "ui.json"];

    /// Parses every file of [`Deployment::FILES`]; `read(name)` gives a file's text, `None`
    /// when it is absent. The core does no I/O: the caller reads a folder, embedded text or
    /// anything else. The seed's legacy `ui.json` stands in for an absent `settings.json` or
    /// `dashboard.json` (see `legacy`).
    ///
    /// # Errors
    /// [`ConfigErrors`] listing every problem of every file, each path prefixed with its file
    /// name: those of [`Config::parse`], [`NotificationsConfig::parse`] and
    /// [`Branding::parse`]; when the services and notifications parse, also channels that
    /// services name but that are not configured ([`NotificationsConfig::check_policies`])
    /// and those of [`Users::parse`] (which needs the services).
    pub fn parse(mut read: impl FnMut(&'static str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let texts = Self::FILES.map(&mut read);
        let notices: Vec<_> = Self::FILES
            .iter()
            .zip(&texts)
            .filter_map(|(file, text)| Some(unused::notices(file, text.as_deref()?)))
            .flatten()
            .collect();
        let [services, settings, notifications, users, dashboard, ui] = texts;
        let mut errors = Vec::new();
        let (settings, dashboard, from_ui) = legacy::merge(settings, dashboard, ui.as_deref(), &mut errors);
        let config = Config::parse(services.as_deref(), settings.as_deref());
        let notifications = NotificationsConfig::parse(notifications.as_deref());
        let branding = Branding::parse(dashboard.as_deref());
        let users = match (&config, &notifications) {
            (Ok(config), Ok(n)) => {
                errors.extend(n.check_policies(&config.services));
                Users::parse(users.as_deref(), config).map_err(|e| errors.extend(e.0)).ok()
            }
            (c, n) => {
                errors.extend(c.as_ref().err().map(|e| e.0.clone()).unwrap_or_default());
                errors.extend(n.as_ref().err().map(|e| e.0.clone()).unwrap_or_default());
                None
            }
        };
        if let Err(e) = &branding {
            errors.extend(e.0.iter().cloned());
        }
        for e in &mut errors {
            for (file, _) in [("settings.json", from_ui[0]), ("dashboard.json", from_ui[1])].iter().filter(|f| f.1) {
                if let Some(rest) = e.path.strip_prefix(file) {
                    e.path = format!("ui.json{rest}");
                }
            }
        }
        match (config, notifications, users, branding) {
            (Ok(config), Ok(notifications), Some(users), Ok(branding)) if errors.is_empty() => {
                let notices = notices.into_iter().chain(notifications.notices.iter().cloned()).collect();
                Ok(Self { config, notifications, users, branding, notices })
            }
            _ => Err(ConfigErrors(errors)),
        }
    }
}

/// Deserializes one config file, pushing onto `errors` the first syntax or type error (with
/// its path) or else every field the file's types do not know, all at once. A key starting
/// with `_` (`_comment`, `_description`, `_usage`) is a comment anywhere; a field the seed
/// documents but Systole has no use for ([`unused::UNUSED`]) is accepted here and listed by
/// [`unused::notices`].
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    let mut unknown = Vec::new();
    let de = &mut serde_json::Deserializer::from_str(text);
    let mut note = |path: serde_ignored::Path<'_>| unknown.push(unused::path_text(&path));
    let tracked = serde_ignored::Deserializer::new(de, &mut note);
    match serde_path_to_error::deserialize(tracked) {
        Ok(v) => {
            let before = errors.len();
            for path in unknown {
                let last = path.rsplit(['.', ']']).next().unwrap_or_default();
                if !last.starts_with('_') && !unused::is_listed(file, &path) {
                    let reason = format!("unknown field `{last}`");
                    errors.push(ConfigError { path: format!("{file}: {path}"), reason });
                }
            }
            (errors.len() == before).then_some(v)
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            errors.push(ConfigError {
                path: if path == "." { file.to_owned() } else { format!("{file}: {path}") },
                reason: inner.to_string(),
            });
            None
        }
    }
}

/// Every `uptimeThresholdSet` written in `services.json` names a profile of `settings.json`
/// (or is `default` when that defines none).
fn check_profiles(raw: &raw::ServicesFile, settings: &Settings, errors: &mut Vec<ConfigError>) {
    let written = raw.groups.iter().enumerate().map(|(i, g)| (format!("groups[{i}]"), &g.uptime_threshold_set));
    let written = written
        .chain(raw.services.iter().enumerate().map(|(i, s)| (format!("services[{i}]"), &s.uptime_threshold_set)));
    for (at, name) in written {
        check_profile(&at, name.as_deref(), settings, &mut |path, reason| {
            errors.push(ConfigError { path: format!("services.json: {path}"), reason });
        });
    }
}

/// Checks that an `uptimeThresholdSet` written at `at` names a profile of `settings.json`
/// (or is `default` when that defines none).
pub(crate) fn check_profile(at: &str, name: Option<&str>, settings: &Settings, err: &mut impl FnMut(String, String)) {
    let profiles = &settings.uptime_thresholds;
    let known = |name: &str| profiles.contains_key(name) || (profiles.is_empty() && name == settings::DEFAULT_PROFILE);
    let Some(name) = name.filter(|n| !known(n)) else { return };
    let expected = if profiles.is_empty() {
        "settings.json defines no uptimeThresholds profiles, so only \"default\"".to_owned()
    } else {
        format!("one of {}", profiles.keys().map(String::as_str).collect::<Vec<_>>().join(", "))
    };
    err(format!("{at}.uptimeThresholdSet"), format!("unknown profile {name:?}, expected {expected}"));
}

fn resolve_services(
    raw: &raw::ServicesFile,
    settings: &Settings,
    errors: &mut Vec<ConfigError>,
) -> (Vec<ServiceConfig>, Vec<GroupConfig>) {
    let mut err =
        |path: String, reason: String| errors.push(ConfigError { path: format!("services.json: {path}"), reason });

    let mut defined: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, s) in raw.services.iter().enumerate() {
        if let Err(reason) = ServiceId::parse(&s.id) {
            err(format!("services[{i}].id"), reason);
        }
        if let Some((_, why)) = RESERVED_IDS.iter().find(|(id, _)| *id == s.id) {
            err(format!("services[{i}].id"), format!("{:?} is reserved: {why}", s.id));
        }
        if let Some(first) = defined.insert(&s.id, i) {
            err(format!("services[{i}].id"), format!("duplicate id {:?}, first defined at services[{first}]", s.id));
        }
    }

    let mut group_of: BTreeMap<&str, usize> = BTreeMap::new();
    let mut group_ids: BTreeMap<&str, usize> = BTreeMap::new();
    for (g, group) in raw.groups.iter().enumerate() {
        if let Err(reason) = ServiceId::parse(&group.id) {
            err(format!("groups[{g}].id"), reason);
        }
        if let Some(first) = group_ids.insert(&group.id, g) {
            err(
                format!("groups[{g}].id"),
                format!("duplicate group id {:?}, first defined at groups[{first}]", group.id),
            );
        }
        for (j, member) in group.services.iter().enumerate() {
            if !defined.contains_key(member.as_str()) {
                err(format!("groups[{g}].services[{j}]"), format!("unknown service {member:?}"));
            }
            if let Some(other) = group_of.insert(member, g) {
                let reason = if other == g {
                    format!("service {member:?} is listed twice")
                } else {
                    format!("service {member:?} is already in group {:?}", raw.groups[other].id)
                };
                err(format!("groups[{g}].services[{j}]"), reason);
            }
        }
        check_group_at(&format!("groups[{g}]"), group, settings, &mut err);
    }
    let group_windows: Vec<Vec<crate::maintenance::Window>> = raw
        .groups
        .iter()
        .enumerate()
        .map(|(g, group)| windows(&format!("groups[{g}]"), &group.maintenance, &mut err))
        .collect();

    let services = raw
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if s.group.is_some() {
                err(
                    format!("services[{i}].group"),
                    "in services.json a service joins a group through groups[].services".to_owned(),
                );
            }
            let g = group_of.get(s.id.as_str()).copied();
            let mut service =
                resolve_service(&format!("services[{i}]"), s, g.map(|g| &raw.groups[g]), settings, &mut err);
            // The group's windows come first, then the service's own.
            let mut maintenance = g.map(|g| group_windows[g].clone()).unwrap_or_default();
            maintenance.append(&mut service.maintenance);
            service.maintenance = maintenance;
            service
        })
        .collect();

    let mut group_windows = group_windows.into_iter();
    let groups = raw
        .groups
        .iter()
        .map(|g| GroupConfig {
            maintenance: group_windows.next().unwrap_or_default(),
            id: g.id.clone(),
            name: g.name.clone().unwrap_or_else(|| g.id.clone()),
            services: g.services.iter().map(|s| ServiceId(s.clone())).collect(),
            public: g.public.unwrap_or(false),
            auto_provision: g.auto_provision(),
        })
        .collect();
    (services, groups)
}

/// Resolves one service as written (`s`, at JSON path `at`) in `group` (its defaults) under
/// `settings`: the service's own fields over the group's over the defaults. Checks the
/// written values (pushing each problem with its path onto `err`); the effective ones are
/// checked by [`check_resolved`]. The one resolution of a `services.json` entry and of a
/// managed service's spec ([`crate::managed::ServiceSpec`]).
pub(crate) fn resolve_service(
    at: &str,
    s: &raw::Service,
    group: Option<&raw::Group>,
    settings: &Settings,
    err: &mut impl FnMut(String, String),
) -> ServiceConfig {
    let own = s.defaults();
    check_durations(at, &own, settings, err);
    check_labels(at, s, err);
    let inherited = group.map(raw::Group::defaults);
    let pick = |f: fn(&raw::Defaults<'_>) -> Option<u64>| f(&own).or_else(|| inherited.as_ref().and_then(f));
    // A period or a schedule: the service's own choice, else its group's.
    let timing =
        if own.staleness_threshold.is_some() || own.schedule.is_some() { Some(&own) } else { inherited.as_ref() };
    let timezone = own.timezone.or_else(|| inherited.and_then(|d| d.timezone));
    let schedule = timing.and_then(|d| d.schedule).and_then(|e| Schedule::parse(e, timezone).ok());
    if own.timezone.is_some() && timing.and_then(|d| d.schedule).is_none() {
        err(format!("{at}.timezone"), "has no effect without a schedule (on the service or its group)".to_owned());
    }
    let notify_s = own.notifications;
    let notify_g = inherited.and_then(|d| d.notifications);
    ServiceConfig {
        id: ServiceId(s.id.clone()),
        name: s.name.clone().unwrap_or_else(|| s.id.clone()),
        group: group.map(|g| g.id.clone()),
        enabled: s.enabled.unwrap_or(true),
        staleness_threshold: timing
            .and_then(|d| d.staleness_threshold)
            .map_or(DEFAULT_STALENESS_THRESHOLD, Duration::from_secs),
        schedule,
        grace_period: Duration::from_secs(pick(|d| d.grace_period).unwrap_or(0)),
        auth_required: own
            .auth
            .and_then(|a| a.required)
            .or_else(|| inherited.and_then(|d| d.auth).and_then(|a| a.required))
            .unwrap_or(true),
        uptime_threshold_set: s
            .uptime_threshold_set
            .clone()
            .or_else(|| group.and_then(|g| g.uptime_threshold_set.clone()))
            .unwrap_or_else(|| settings.threshold_profile.clone()),
        maintenance_uptime: maintenance_uptime(at, s.maintenance_uptime.as_deref(), err)
            .or_else(|| group.and_then(|g| maintenance_uptime("", g.maintenance_uptime.as_deref(), &mut |_, _| {})))
            .unwrap_or(settings.maintenance_uptime),
        runs: RunConfig {
            start_window: pick(|d| d.start_window).map(Duration::from_secs),
            max_runtime: pick(|d| d.max_runtime).map(Duration::from_secs),
            min_duration: pick(|d| d.min_duration).map(Duration::from_secs),
            max_duration: pick(|d| d.max_duration).map(Duration::from_secs),
            failure_threshold: pick(|d| d.failure_threshold.map(u64::from)).map_or(1, |n| n as u32),
            recovery_threshold: pick(|d| d.recovery_threshold.map(u64::from)).map_or(1, |n| n as u32),
            min_interval: pick(|d| d.min_interval).map(Duration::from_secs),
        },
        notifications: NotificationPolicy {
            enabled: notify_s.and_then(|n| n.enabled).or_else(|| notify_g.and_then(|n| n.enabled)).unwrap_or(true),
            channels: notify_s
                .and_then(|n| n.channels.clone())
                .or_else(|| notify_g.and_then(|n| n.channels.clone()))
                .unwrap_or_default(),
            // Unknown names are reported by `check_durations` (and fail the parse).
            events: notify_s
                .and_then(|n| n.events.as_ref())
                .or_else(|| notify_g.and_then(|n| n.events.as_ref()))
                .map(|names| names.iter().filter_map(|e| Event::parse(e)).collect())
                .unwrap_or_default(),
        },
        description: s.description.clone().filter(|d| !d.is_empty()),
        tags: s.tags.clone().unwrap_or_default(),
        maintenance: windows(at, &s.maintenance, err),
        depends_on: depends_on(at, s, group, err),
        escalation: escalation(at, s.escalation.as_ref(), err)
            .or_else(|| group.and_then(|g| escalation("", g.escalation.as_ref(), &mut |_, _| {})))
            .unwrap_or_default(),
    }
}

/// Parses the `maintenanceUptime` written at `at` (a service's or a group's), reporting a
/// bad value with its path; `None` when absent or bad.
fn maintenance_uptime(
    at: &str,
    raw: Option<&str>,
    err: &mut impl FnMut(String, String),
) -> Option<crate::maintenance::MaintenanceUptime> {
    crate::maintenance::MaintenanceUptime::parse(raw?)
        .map_err(|reason| err(format!("{at}.maintenanceUptime"), reason))
        .ok()
}

/// Parses the `escalation` written at `at` (a service's or a group's; see
/// [`crate::escalation::parse`]), reporting each problem with its path; `None` when absent.
fn escalation(
    at: &str,
    raw: Option<&serde_json::Value>,
    err: &mut impl FnMut(String, String),
) -> Option<Vec<crate::escalation::Level>> {
    let mut problems = Vec::new();
    let levels = crate::escalation::parse(raw?, at, &mut problems);
    for (path, reason) in problems {
        err(path, reason);
    }
    Some(levels)
}

/// The service's effective `dependsOn` (its own list, else its group's), checked: at most
/// [`crate::dependency::MAX_DEPENDS_ON`] ids, each a valid id, not the service itself, none
/// twice. Whether each names a service, and cycles, are checked over the whole catalog
/// ([`crate::dependency::check_graph`]).
fn depends_on(
    at: &str,
    s: &raw::Service,
    group: Option<&raw::Group>,
    err: &mut impl FnMut(String, String),
) -> Vec<ServiceId> {
    let (list, from_group) = match (&s.depends_on, group.and_then(|g| g.depends_on.as_ref())) {
        (Some(own), _) => (own, ""),
        (None, Some(inherited)) => (inherited, " (its group's dependsOn)"),
        (None, None) => return Vec::new(),
    };
    let max = crate::dependency::MAX_DEPENDS_ON;
    if list.len() > max {
        err(format!("{at}.dependsOn"), format!("must list at most {max} services, got {}{from_group}", list.len()));
        return Vec::new();
    }
    let mut ids = Vec::new();
    for (k, id) in list.iter().enumerate() {
        let problem = match ServiceId::parse(id) {
            Err(reason) => reason,
            Ok(_) if *id == s.id => "a service cannot depend on itself".to_owned(),
            Ok(_) if list[..k].contains(id) => format!("{id:?} is listed twice"),
            Ok(parsed) => {
                ids.push(parsed);
                continue;
            }
        };
        err(format!("{at}.dependsOn[{k}]"), format!("{problem}{from_group}"));
    }
    ids
}

/// Checks a group's written default fields (at JSON path `at`).
fn check_group_at(at: &str, group: &raw::Group, settings: &Settings, err: &mut impl FnMut(String, String)) {
    check_durations(at, &group.defaults(), settings, err);
    escalation(at, group.escalation.as_ref(), err);
    maintenance_uptime(at, group.maintenance_uptime.as_deref(), err);
    if let Some(auto) = &group.auto_provision {
        let max = crate::provision::MAX_SERVICES;
        if auto.enabled.is_none() {
            err(format!("{at}.autoProvision.enabled"), "required (true or false)".to_owned());
        }
        match auto.max_services {
            None if auto.enabled == Some(true) => err(
                format!("{at}.autoProvision.maxServices"),
                format!("required when autoProvision.enabled is true (1 to {max})"),
            ),
            Some(n) if n == 0 || n > u64::from(max) => {
                err(format!("{at}.autoProvision.maxServices"), format!("must be 1 to {max}, got {n}"));
            }
            _ => {}
        }
    }
}

/// Checks a managed group's default fields (paths relative to the group object), as a
/// `services.json` group's are checked.
pub(crate) fn check_group(group: &raw::Group, settings: &Settings, err: &mut impl FnMut(String, String)) {
    check_group_at("", group, settings, err);
    check_profile("", group.uptime_threshold_set.as_deref(), settings, err);
}

/// Most tags a service may carry.
pub const MAX_TAGS: usize = 16;
/// Longest `description`, in characters.
pub const MAX_DESCRIPTION: usize = 1000;
/// Longest `name`, in characters.
pub const MAX_NAME: usize = 200;

/// Checks a service's `name`, `description` and `tags` (each tag as an id: 1 to 64 of
/// `[A-Za-z0-9._-]`, no repeats, at most [`MAX_TAGS`]).
fn check_labels(at: &str, s: &raw::Service, err: &mut impl FnMut(String, String)) {
    if let Some(n) = s.name.as_ref().map(|n| n.chars().count()).filter(|n| *n > MAX_NAME) {
        err(format!("{at}.name"), format!("must be at most {MAX_NAME} characters, got {n}"));
    }
    if let Some(n) = s.description.as_ref().map(|d| d.chars().count()).filter(|n| *n > MAX_DESCRIPTION) {
        err(format!("{at}.description"), format!("must be at most {MAX_DESCRIPTION} characters, got {n}"));
    }
    let tags = s.tags.as_deref().unwrap_or_default();
    if tags.len() > MAX_TAGS {
        err(format!("{at}.tags"), format!("must have at most {MAX_TAGS} tags, got {}", tags.len()));
    }
    for (k, tag) in tags.iter().enumerate() {
        if let Err(reason) = ServiceId::parse(tag) {
            err(format!("{at}.tags[{k}]"), reason);
        } else if tags.iter().take(k).any(|t| t == tag) {
            err(format!("{at}.tags[{k}]"), format!("tag {tag:?} is listed twice"));
        }
    }
}

/// Parses the `maintenance` windows of the service or group at `at`, reporting each problem
/// with its path (`services[2].maintenance[0].end: must be after start`).
fn windows(
    at: &str,
    raw: &Option<Vec<serde_json::Value>>,
    err: &mut impl FnMut(String, String),
) -> Vec<crate::maintenance::Window> {
    let mut problems = Vec::new();
    let parsed = raw
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(k, v)| crate::maintenance::Window::parse(v, &format!("{at}.maintenance[{k}]"), &mut problems))
        .collect();
    for (path, reason) in problems {
        err(path, reason);
    }
    parsed
}

/// Checks a service's effective (inherited or default) thresholds against the settings.
pub(crate) fn check_resolved(at: &str, s: &ServiceConfig, settings: &Settings, err: &mut impl FnMut(String, String)) {
    if s.schedule.is_some() {
        // The period is unused; a schedule's gaps are its own (a yearly job is fine: the
        // ring never prunes a service's newest heartbeat).
        return;
    }
    let threshold = s.staleness_threshold.as_secs();
    let min = settings.min_staleness_threshold.as_secs();
    if threshold < min {
        // Only an inherited or default value can get here: written ones were checked.
        err(
            format!("{at}.stalenessThreshold"),
            format!("the inherited {threshold} s is below monitoring.minStalenessThreshold ({min} s)"),
        );
    }
    let retention_days = u64::from(settings.heartbeat_retention_days);
    if threshold + s.grace_period.as_secs() > retention_days * 86_400 {
        err(
            format!("{at}.stalenessThreshold"),
            format!(
                "{threshold} s plus the grace period exceeds history.heartbeatRetentionDays = {retention_days}: \
                 the last heartbeat would be pruned while still awaited"
            ),
        );
    }
}

fn check_durations(at: &str, d: &raw::Defaults<'_>, settings: &Settings, err: &mut impl FnMut(String, String)) {
    let min = settings.min_staleness_threshold.as_secs();
    let max = MAX_THRESHOLD.as_secs();
    if let Some(t) = d.staleness_threshold {
        if t < min {
            err(format!("{at}.stalenessThreshold"), format!("must be ≥ {min} s, got {t}"));
        } else if t > max {
            err(format!("{at}.stalenessThreshold"), format!("must be ≤ {max} s (365 days), got {t}"));
        }
    }
    match (d.schedule, d.staleness_threshold) {
        (Some(_), Some(_)) => err(
            format!("{at}.schedule"),
            "set together with stalenessThreshold: a service expects heartbeats either on a period or on a \
             schedule, remove one"
                .to_owned(),
        ),
        (Some(expression), None) => {
            if let Err(e) = Schedule::parse(expression, d.timezone) {
                err(format!("{at}.{}", e.field()), e.to_string());
            }
        }
        (None, _) => {
            if let Some(zone) = d.timezone.filter(|z| Zone::parse(z.trim()).is_none()) {
                let e = crate::schedule::ScheduleError::UnknownZone(zone.to_owned());
                err(format!("{at}.timezone"), e.to_string());
            }
        }
    }
    if let Some(g) = d.grace_period {
        if g > max {
            err(format!("{at}.gracePeriod"), format!("must be ≤ {max} s (365 days), got {g}"));
        }
    }
    let runs = [
        ("startWindow", d.start_window, 0),
        ("maxRuntime", d.max_runtime, 1),
        ("minDuration", d.min_duration, 0),
        ("maxDuration", d.max_duration, 1),
        ("minInterval", d.min_interval, 1),
    ];
    for (name, value, low) in runs {
        if let Some(v) = value.filter(|v| *v < low || *v > max) {
            err(format!("{at}.{name}"), format!("must be between {low} and {max} s (365 days), got {v}"));
        }
    }
    for (name, value) in [("failureThreshold", d.failure_threshold), ("recoveryThreshold", d.recovery_threshold)] {
        if let Some(v) = value.filter(|v| !(1..=MAX_RUN_THRESHOLD).contains(v)) {
            err(format!("{at}.{name}"), format!("must be between 1 and {MAX_RUN_THRESHOLD}, got {v}"));
        }
    }
    if let (Some(lo), Some(hi)) = (d.min_duration, d.max_duration) {
        if lo > hi {
            err(format!("{at}.minDuration"), format!("must be ≤ maxDuration ({hi} s), got {lo}"));
        }
    }
    if let Some(n) = d.notifications {
        for (k, e) in n.events.iter().flatten().enumerate() {
            if !SERVICE_EVENTS.contains(&e.as_str()) {
                err(
                    format!("{at}.notifications.events[{k}]"),
                    format!("unknown event {e:?}, expected one of {}", SERVICE_EVENTS.join(", ")),
                );
            }
        }
    }
}

/// The files as written, before validation.
pub(crate) mod raw {
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    pub struct ServicesFile {
        #[serde(default)]
        pub groups: Vec<Group>,
        #[serde(default)]
        pub services: Vec<Service>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Group {
        pub id: String,
        pub name: Option<String>,
        #[serde(default)]
        pub services: Vec<String>,
        pub public: Option<bool>,
        pub staleness_threshold: Option<u64>,
        pub schedule: Option<String>,
        pub timezone: Option<String>,
        pub grace_period: Option<u64>,
        pub notifications: Option<Notifications>,
        pub auth: Option<Auth>,
        pub uptime_threshold_set: Option<String>,
        pub start_window: Option<u64>,
        pub max_runtime: Option<u64>,
        pub min_duration: Option<u64>,
        pub max_duration: Option<u64>,
        pub failure_threshold: Option<u32>,
        pub recovery_threshold: Option<u32>,
        pub min_interval: Option<u64>,
        pub auto_provision: Option<AutoProvision>,
        pub maintenance: Option<Vec<serde_json::Value>>,
        pub maintenance_uptime: Option<String>,
        pub depends_on: Option<Vec<String>>,
        pub escalation: Option<serde_json::Value>,
    }

    /// A group's `autoProvision` as written (checked by `check_group_at`).
    #[derive(Clone, Copy, Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct AutoProvision {
        pub enabled: Option<bool>,
        pub max_services: Option<u64>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Service {
        pub id: String,
        pub name: Option<String>,
        /// Only in a managed service's spec: `services.json` lists members in its groups.
        pub group: Option<String>,
        pub description: Option<String>,
        pub tags: Option<Vec<String>>,
        pub enabled: Option<bool>,
        pub staleness_threshold: Option<u64>,
        pub schedule: Option<String>,
        pub timezone: Option<String>,
        pub grace_period: Option<u64>,
        pub notifications: Option<Notifications>,
        pub auth: Option<Auth>,
        pub uptime_threshold_set: Option<String>,
        pub start_window: Option<u64>,
        pub max_runtime: Option<u64>,
        pub min_duration: Option<u64>,
        pub max_duration: Option<u64>,
        pub failure_threshold: Option<u32>,
        pub recovery_threshold: Option<u32>,
        pub min_interval: Option<u64>,
        pub maintenance: Option<Vec<serde_json::Value>>,
        pub maintenance_uptime: Option<String>,
        pub depends_on: Option<Vec<String>>,
        pub escalation: Option<serde_json::Value>,
    }

    impl Service {
        /// A service entry with only its id (every field defaulted).
        pub fn named(id: &crate::config::ServiceId) -> Self {
            Self {
                id: id.as_str().to_owned(),
                name: None,
                group: None,
                description: None,
                tags: None,
                enabled: None,
                staleness_threshold: None,
                schedule: None,
                timezone: None,
                grace_period: None,
                notifications: None,
                auth: None,
                uptime_threshold_set: None,
                start_window: None,
                max_runtime: None,
                min_duration: None,
                max_duration: None,
                failure_threshold: None,
                recovery_threshold: None,
                min_interval: None,
                maintenance: None,
                maintenance_uptime: None,
                depends_on: None,
                escalation: None,
            }
        }
    }

    impl Group {
        /// A group entry with only its id (no members, no defaults).
        pub fn named(id: &str) -> Self {
            Self {
                id: id.to_owned(),
                name: None,
                services: Vec::new(),
                public: None,
                staleness_threshold: None,
                schedule: None,
                timezone: None,
                grace_period: None,
                notifications: None,
                auth: None,
                uptime_threshold_set: None,
                start_window: None,
                max_runtime: None,
                min_duration: None,
                max_duration: None,
                failure_threshold: None,
                recovery_threshold: None,
                min_interval: None,
                auto_provision: None,
                maintenance: None,
                maintenance_uptime: None,
                depends_on: None,
                escalation: None,
            }
        }

        /// Its `autoProvision`, when complete and valid (as `check_group_at` requires).
        pub fn auto_provision(&self) -> Option<crate::provision::AutoProvision> {
            let a = self.auto_provision?;
            let max_services = u32::try_from(a.max_services.unwrap_or(0)).ok()?;
            let max_services = Some(max_services).filter(|n| (1..=crate::provision::MAX_SERVICES).contains(n));
            match (a.enabled?, max_services) {
                (true, Some(max_services)) => Some(crate::provision::AutoProvision { enabled: true, max_services }),
                (true, None) => None,
                (false, n) => Some(crate::provision::AutoProvision { enabled: false, max_services: n.unwrap_or(0) }),
            }
        }
    }

    /// Fields a group sets as defaults and a service may override.
    #[derive(Clone, Copy, Debug)]
    pub struct Defaults<'a> {
        pub staleness_threshold: Option<u64>,
        pub schedule: Option<&'a str>,
        pub timezone: Option<&'a str>,
        pub grace_period: Option<u64>,
        pub notifications: Option<&'a Notifications>,
        pub auth: Option<&'a Auth>,
        pub start_window: Option<u64>,
        pub max_runtime: Option<u64>,
        pub min_duration: Option<u64>,
        pub max_duration: Option<u64>,
        pub failure_threshold: Option<u32>,
        pub recovery_threshold: Option<u32>,
        pub min_interval: Option<u64>,
    }

    macro_rules! defaults {
        ($t:ty) => {
            impl $t {
                pub fn defaults(&self) -> Defaults<'_> {
                    Defaults {
                        staleness_threshold: self.staleness_threshold,
                        schedule: self.schedule.as_deref(),
                        timezone: self.timezone.as_deref(),
                        grace_period: self.grace_period,
                        notifications: self.notifications.as_ref(),
                        auth: self.auth.as_ref(),
                        start_window: self.start_window,
                        max_runtime: self.max_runtime,
                        min_duration: self.min_duration,
                        max_duration: self.max_duration,
                        failure_threshold: self.failure_threshold,
                        recovery_threshold: self.recovery_threshold,
                        min_interval: self.min_interval,
                    }
                }
            }
        };
    }
    defaults!(Group);
    defaults!(Service);

    #[derive(Debug, Deserialize)]
    pub struct Notifications {
        pub enabled: Option<bool>,
        pub channels: Option<Vec<String>>,
        pub events: Option<Vec<String>>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Auth {
        pub required: Option<bool>,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn files(services: &'static str, notifications: &'static str, dashboard: &'static str) -> Deployment {
        Deployment::parse(|name| match name {
            "services.json" => Some(services.to_owned()),
            "notifications.json" => Some(notifications.to_owned()),
            "dashboard.json" => Some(dashboard.to_owned()),
            _ => None,
        })
        .unwrap()
    }

    #[test]
    fn ids_the_code_uses_for_other_subjects_are_refused_with_the_reason() {
        let e = Config::parse(Some(r#"{"services": [{"id": "ok"}, {"id": "external"}, {"id": "test"}]}"#), None)
            .unwrap_err();
        let got: Vec<String> = e.0.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "services.json: services[1].id: \"external\" is reserved: the alert history's subject for external alerts",
                "services.json: services[2].id: \"test\" is reserved: the alert history's subject for test notifications",
            ]
        );
    }

    #[test]
    fn a_deployment_of_absent_files_is_open_and_unbranded() {
        let d = Deployment::parse(|_| None).unwrap();
        assert!(d.config.services.is_empty() && d.users.is_open() && d.notifications.channels.is_empty());
        assert_eq!(d.branding, crate::branding::Branding::default());
        let d = files(r#"{"services": [{"id": "api"}]}"#, "{}", r#"{"header": {"title": "Acme"}}"#);
        assert_eq!((d.config.services.len(), d.branding.title.as_str()), (1, "Acme"));
    }

    #[test]
    fn a_deployment_lists_every_problem_of_every_file_with_its_path() {
        let e = Deployment::parse(|name| match name {
            "services.json" => Some(r#"{"services": [{"id": "Bad Id"}]}"#.to_owned()),
            "notifications.json" => Some(r#"{"nope": 1}"#.to_owned()),
            "dashboard.json" => Some(r#"{"theme": {"primaryColor": "red;}"}}"#.to_owned()),
            _ => None,
        })
        .unwrap_err();
        let files: Vec<&str> = e.0.iter().map(|e| e.path.split(':').next().unwrap_or_default()).collect();
        assert_eq!(files, ["services.json", "notifications.json", "dashboard.json"], "{e}");
    }

    #[test]
    fn five_unknown_fields_across_files_are_reported_at_once() {
        let e = Deployment::parse(|name| match name {
            "services.json" => Some(r#"{"services": [{"id": "a", "stalenessTreshold": 60, "_comment": "ok"}], "grups": []}"#.to_owned()),
            "settings.json" => Some(r#"{"_description": "ok", "api": {"enableStatusEndpoint": true, "enableStatus": false}, "alertHistroy": {}}"#.to_owned()),
            "dashboard.json" => Some(r#"{"header": {"titel": "Acme"}}"#.to_owned()),
            _ => None,
        })
        .unwrap_err();
        let got: Vec<String> = e.0.iter().map(|e| e.path.clone()).collect();
        assert_eq!(
            got,
            [
                "settings.json: api.enableStatus",
                "settings.json: alertHistroy",
                "services.json: services[0].stalenessTreshold",
                "services.json: grups",
                "dashboard.json: header.titel",
            ],
            "{e}"
        );
        assert!(e.to_string().starts_with("invalid configuration (5 problems):"), "{e}");
    }

    const SEED_EXAMPLE: &str = r#"{
      "groups": [{
        "id": "production", "name": "Production Services",
        "services": ["api-prod", "db-prod"],
        "stalenessThreshold": 300, "gracePeriod": 60,
        "notifications": {"enabled": true, "channels": ["discord", "pagerduty"], "events": ["down", "up"]}
      }],
      "services": [
        {"id": "api-prod", "name": "Production API", "enabled": true},
        {"id": "db-prod", "name": "Production Database", "enabled": true, "stalenessThreshold": 180,
         "notifications": {"channels": ["pagerduty"]}},
        {"id": "batch", "name": "Nightly batch", "auth": {"required": false}}
      ]
    }"#;

    fn errors(services: &str) -> Vec<String> {
        Config::parse(Some(services), None).unwrap_err().0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn auto_provision_is_checked_with_field_paths() {
        let c = Config::parse(
            Some(
                r#"{"groups": [{"id": "fleet", "autoProvision": {"enabled": true, "maxServices": 50}},
                               {"id": "off", "autoProvision": {"enabled": false}}, {"id": "plain"}]}"#,
            ),
            None,
        )
        .unwrap();
        let auto: Vec<_> = c.groups.iter().map(|g| g.auto_provision).collect();
        let on = crate::provision::AutoProvision { enabled: true, max_services: 50 };
        let off = crate::provision::AutoProvision { enabled: false, max_services: 0 };
        assert_eq!(auto, [Some(on), Some(off), None]);
        assert_eq!(
            errors(
                r#"{"groups": [{"id": "a", "autoProvision": {"enabled": true}},
                               {"id": "b", "autoProvision": {"enabled": true, "maxServices": 0}},
                               {"id": "c", "autoProvision": {"maxServices": 10001}}]}"#
            ),
            [
                "services.json: groups[0].autoProvision.maxServices: required when autoProvision.enabled is true (1 to 10000)",
                "services.json: groups[1].autoProvision.maxServices: must be 1 to 10000, got 0",
                "services.json: groups[2].autoProvision.enabled: required (true or false)",
                "services.json: groups[2].autoProvision.maxServices: must be 1 to 10000, got 10001",
            ]
        );
        let typed = errors(r#"{"groups": [{"id": "d", "autoProvision": {"enabled": "yes"}}]}"#);
        assert!(typed[0].contains("groups[0].autoProvision.enabled"), "{typed:?}");
    }

    #[test]
    fn seed_format_parses_and_services_inherit_from_their_group() {
        let c = Config::parse(Some(SEED_EXAMPLE), None).unwrap();
        let api = c.service("api-prod").unwrap();
        assert_eq!(api.staleness_threshold, Duration::from_secs(300));
        assert_eq!(api.grace_period, Duration::from_secs(60));
        assert_eq!(api.group.as_deref(), Some("production"));
        assert_eq!(api.notifications.channels, ["discord", "pagerduty"]);
        let db = c.service("db-prod").unwrap();
        assert_eq!(db.staleness_threshold, Duration::from_secs(180));
        assert_eq!(db.notifications.channels, ["pagerduty"]);
        assert_eq!(db.notifications.events, [Event::Down, Event::Up], "unset service fields still inherit");
        let batch = c.service("batch").unwrap();
        assert_eq!(batch.staleness_threshold, DEFAULT_STALENESS_THRESHOLD);
        assert!(!batch.auth_required);
        assert!(api.auth_required);
        assert_eq!(batch.group, None);
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let got = errors(
            r#"{"groups": [
                 {"id": "a", "services": ["x", "ghost"]},
                 {"id": "b", "services": ["x"], "gracePeriod": 40000000}
               ],
               "services": [
                 {"id": "x", "stalenessThreshold": 0},
                 {"id": "x"},
                 {"id": "Bad Id", "stalenessThreshold": 99999999999,
                  "notifications": {"events": ["exploded", "alert"]}}
               ]}"#,
        );
        assert_eq!(
            got,
            [
                "services.json: services[1].id: duplicate id \"x\", first defined at services[0]",
                "services.json: services[2].id: must match [A-Za-z0-9._-]{1,64}, found ' '",
                "services.json: groups[0].services[1]: unknown service \"ghost\"",
                "services.json: groups[1].services[0]: service \"x\" is already in group \"a\"",
                "services.json: groups[1].gracePeriod: must be ≤ 31536000 s (365 days), got 40000000",
                "services.json: services[0].stalenessThreshold: must be ≥ 10 s, got 0",
                                "services.json: services[2].stalenessThreshold: must be ≤ 31536000 s (365 days), got 99999999999",
                "services.json: services[2].notifications.events[0]: unknown event \"exploded\", expected one of down, up, degraded, late, reminder",
                "services.json: services[2].notifications.events[1]: unknown event \"alert\", expected one of down, up, degraded, late, reminder",
            ]
        );
    }

    #[test]
    fn wrong_types_and_unknown_fields_name_the_path() {
        assert_eq!(
            errors(r#"{"services": [{"id": "a", "stalenessThreshold": "5m"}]}"#),
            ["services.json: services[0].stalenessThreshold: invalid type: string \"5m\", expected u64 at line 1 column 52"]
        );
        let typo = errors(r#"{"services": [{"id": "a", "stalenesThreshold": 5}]}"#);
        assert!(
            typo[0].starts_with("services.json: services[0].stalenesThreshold: unknown field `stalenesThreshold`"),
            "{typo:?}"
        );
        let five = errors(
            r#"{"_comment": "ok", "grups": [], "services": [{"id": "a", "_comment": "ok", "nmae": "A",
                "notifications": {"chanels": []}}, {"id": "b", "auth": {"requird": true}, "x": 1}]}"#,
        );
        assert_eq!(
            five,
            [
                "services.json: grups: unknown field `grups`",
                "services.json: services[0].nmae: unknown field `nmae`",
                "services.json: services[0].notifications.chanels: unknown field `chanels`",
                "services.json: services[1].auth.requird: unknown field `requird`",
                "services.json: services[1].x: unknown field `x`",
            ]
        );
        let eof = errors("{");
        assert!(eof[0].contains("EOF while parsing"), "{eof:?}");
    }

    #[test]
    fn settings_have_defaults_and_bounds() {
        let c = Config::parse(None, None).unwrap();
        assert_eq!(c.settings, Settings::default());
        let e = Config::parse(None, Some(r#"{"uptime": {"retentionDays": 0}}"#)).unwrap_err();
        assert_eq!(e.0[0].to_string(), "settings.json: uptime.retentionDays: must be between 1 and 3650, got 0");
        let low = r#"{"monitoring": {"minStalenessThreshold": 1}}"#;
        let c = Config::parse(Some(r#"{"services": [{"id": "fast", "stalenessThreshold": 3}]}"#), Some(low)).unwrap();
        assert_eq!(c.service("fast").unwrap().staleness_threshold, Duration::from_secs(3));
    }

    #[test]
    fn effective_thresholds_are_checked_against_the_settings() {
        let settings = r#"{"monitoring": {"minStalenessThreshold": 600}, "history": {"heartbeatRetentionDays": 1}}"#;
        let services = r#"{"services": [{"id": "a"}, {"id": "b", "stalenessThreshold": 86400, "gracePeriod": 60}]}"#;
        let got: Vec<String> =
            Config::parse(Some(services), Some(settings)).unwrap_err().0.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "services.json: services[0].stalenessThreshold: the inherited 300 s is below monitoring.minStalenessThreshold (600 s)",
                "services.json: services[1].stalenessThreshold: 86400 s plus the grace period exceeds history.heartbeatRetentionDays = 1: the last heartbeat would be pruned while still awaited",
            ]
        );
        assert_eq!(
            errors(r#"{"groups": [{"id": "g", "services": ["a", "a"]}], "services": [{"id": "a"}]}"#),
            ["services.json: groups[0].services[1]: service \"a\" is listed twice"]
        );
    }

    #[test]
    fn run_fields_are_inherited_from_the_group_and_checked() {
        let c = Config::parse(
            Some(
                r#"{"groups": [{"id": "jobs", "services": ["backup"], "maxRuntime": 600, "failureThreshold": 2}],
                   "services": [{"id": "backup", "startWindow": 60, "minDuration": 5, "maxDuration": 300,
                                 "recoveryThreshold": 3, "minInterval": 30},
                                {"id": "plain"}]}"#,
            ),
            None,
        )
        .unwrap();
        let runs = &c.service("backup").unwrap().runs;
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(
            (runs.start_window, runs.max_runtime, runs.min_duration, runs.max_duration, runs.min_interval),
            (secs(60), secs(600), secs(5), secs(300), secs(30))
        );
        assert_eq!((runs.failure_threshold, runs.recovery_threshold), (2, 3));
        assert_eq!(c.service("plain").unwrap().runs, RunConfig::default());
        let json = serde_json::to_value(c.service("backup").unwrap()).unwrap();
        assert_eq!((json["maxRuntime"].as_u64(), json["failureThreshold"].as_u64()), (Some(600), Some(2)));
        assert_eq!(
            errors(
                r#"{"services": [{"id": "a", "maxRuntime": 0, "failureThreshold": 0, "minDuration": 9,
                                  "maxDuration": 8, "startWindow": 99999999999}]}"#
            ),
            [
                "services.json: services[0].startWindow: must be between 0 and 31536000 s (365 days), got 99999999999",
                "services.json: services[0].maxRuntime: must be between 1 and 31536000 s (365 days), got 0",
                "services.json: services[0].failureThreshold: must be between 1 and 1000, got 0",
                "services.json: services[0].minDuration: must be ≤ maxDuration (8 s), got 9",
            ]
        );
    }

    #[test]
    fn maintenance_uptime_is_the_services_else_its_groups_else_the_deployments() {
        use crate::maintenance::MaintenanceUptime::{Exclude, Up};
        let services = r#"{"groups": [{"id": "db", "services": ["pg", "own"], "maintenanceUptime": "up"}],
                           "services": [{"id": "pg"}, {"id": "own", "maintenanceUptime": "exclude"}, {"id": "solo"}]}"#;
        let pick = |c: &Config, id: &str| c.service(id).unwrap().maintenance_uptime;
        let c = Config::parse(Some(services), None).unwrap();
        assert_eq!([pick(&c, "pg"), pick(&c, "own"), pick(&c, "solo")], [Up, Exclude, Exclude]);
        assert_eq!(serde_json::to_value(c.service("pg").unwrap()).unwrap()["maintenanceUptime"], "up");
        let c = Config::parse(Some(services), Some(r#"{"uptime": {"maintenance": "up"}}"#)).unwrap();
        assert_eq!([pick(&c, "pg"), pick(&c, "own"), pick(&c, "solo")], [Up, Exclude, Up]);
        assert_eq!(
            errors(
                r#"{"groups": [{"id": "g", "maintenanceUptime": "down"}],
                    "services": [{"id": "a", "maintenanceUptime": "yes"}]}"#
            ),
            [
                r#"services.json: groups[0].maintenanceUptime: must be "exclude" or "up", got "down""#,
                r#"services.json: services[0].maintenanceUptime: must be "exclude" or "up", got "yes""#,
            ]
        );
    }

    #[test]
    fn service_ids_are_checked() {
        assert!(ServiceId::parse("api-prod_2").is_ok());
        assert!(ServiceId::parse("").is_err());
        assert!(ServiceId::parse(&"a".repeat(65)).is_err());
        assert!(ServiceId::parse("../etc").is_err());
    }

    #[test]
    fn a_schedule_with_its_zone_replaces_the_period_and_groups_pass_theirs_on() {
        let c = Config::parse(
            Some(
                r#"{"groups": [{"id": "jobs", "services": ["backup", "report", "poll"], "schedule": "0 3 * * *",
                                "timezone": "Europe/Berlin"}],
                    "services": [{"id": "backup"}, {"id": "report", "schedule": "@weekly", "timezone": "UTC"},
                                 {"id": "poll", "stalenessThreshold": 60}, {"id": "plain"}]}"#,
            ),
            None,
        )
        .unwrap();
        let schedule = |id: &str| c.service(id).unwrap().schedule.as_ref().map(|s| (s.expression(), s.zone().name()));
        assert_eq!(schedule("backup"), Some(("0 3 * * *", "Europe/Berlin")));
        assert_eq!(schedule("report"), Some(("@weekly", "UTC")));
        // A service's own period wins over its group's schedule.
        assert_eq!(schedule("poll"), None);
        assert_eq!(c.service("poll").unwrap().staleness_threshold, Duration::from_secs(60));
        assert_eq!(schedule("plain"), None);
    }

    #[test]
    fn schedule_problems_are_reported_with_their_paths() {
        let got = errors(
            r#"{"groups": [{"id": "g", "services": ["d"], "schedule": "@daily", "stalenessThreshold": 60}],
                "services": [{"id": "a", "schedule": "0 0 32 * *"}, {"id": "b", "schedule": "@daily",
                              "timezone": "Mars/Base"}, {"id": "c", "timezone": "UTC"}, {"id": "d"},
                             {"id": "e", "schedule": "* * * *"}]}"#,
        );
        assert_eq!(
            got,
            [
                "services.json: groups[0].schedule: set together with stalenessThreshold: a service expects \
                 heartbeats either on a period or on a schedule, remove one",
                "services.json: services[0].schedule: field 3 (day of month) 32 out of range 1-31",
                "services.json: services[1].timezone: unknown time zone \"Mars/Base\", expected an IANA name such \
                 as \"Europe/Berlin\" or \"UTC\"",
                "services.json: services[2].timezone: has no effect without a schedule (on the service or its group)",
                "services.json: services[4].schedule: has 4 fields, expected 5 (minute hour day-of-month month \
                 day-of-week), 6 with a leading seconds field, or a macro such as @daily",
            ]
        );
    }
}
