//! Maintenance windows: times during which a service is `maintenance` instead of late or
//! down, sends no notifications, and whose end restarts its deadline.
//!
//! A window is one-off (`start`, `end`, RFC 3339) or recurring (a cron `schedule` in a
//! `timezone`, each occurrence lasting `duration` seconds; see [`crate::schedule`]). Windows
//! come from `services.json` (on a service or its group) and at run time from the API
//! (`/api/v1/maintenance`, and a service's snooze). Overlapping and touching windows merge:
//! a service stays in maintenance until the last of them ends ([`active_until`]).
//!
//! Wire form (config and API), one of:
//! `{"start": "2026-12-05T01:00:00Z", "end": "2026-12-05T03:00:00Z", "reason": "db upgrade"}`,
//! `{"schedule": "0 2 * * SUN", "timezone": "Europe/Berlin", "duration": 3600}`; the API adds
//! `id`. Stored form (a ServiceMonitor's record): the same with `start`/`end` in epoch ms
//! and the schedule as `{"expression", "timezone"}`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::Problem;
use crate::config::{Config, ServiceConfig, ServiceId};
use crate::monitor::Status;
use crate::schedule::{Schedule, ScheduleView};
use crate::time::Timestamp;

/// The longest window: a one-off's `end - start` and a recurring window's `duration`
/// (31 days).
pub const MAX_WINDOW: Duration = Duration::from_secs(31 * 86_400);

/// The fewest and most minutes a snooze may last (`?minutes=`): 1 minute to 1 day.
pub const SNOOZE_MINUTES: std::ops::RangeInclusive<u64> = 1..=1440;

/// The id a service's snooze window carries (one per service; a new snooze replaces it).
pub const SNOOZE_ID: &str = "snooze";

/// How many occurrences a merge follows before giving up (windows that chain for longer are
/// treated as ending at the last one followed).
const MAX_STEPS: usize = 1000;

/// How a service's maintenance time counts in its uptime (`maintenanceUptime` on a service,
/// else its group's, else `settings.json` `uptime.maintenance`, else `exclude`).
///
/// JSON: `"exclude"` or `"up"`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MaintenanceUptime {
    /// Maintenance time is not monitored (like `paused`): a day with an hour of maintenance
    /// and no downtime is 100 % over 23 monitored hours.
    #[default]
    Exclude,
    /// Maintenance time counts as available, as `up`.
    Up,
}

impl MaintenanceUptime {
    /// Parses `"exclude"` or `"up"`.
    ///
    /// # Errors
    /// The reason for anything else, e.g. `must be "exclude" or "up", got "down"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "exclude" => Ok(Self::Exclude),
            "up" => Ok(Self::Up),
            other => Err(format!("must be \"exclude\" or \"up\", got {other:?}")),
        }
    }

    /// The status that time spent in `status` accrues to the uptime tallies as: `up` for
    /// `maintenance` when maintenance counts as up, else `status` itself (and
    /// [`crate::history::Tally::add`] leaves `maintenance` out). The one mapping every
    /// accrual of status time goes through (rollups, and the read APIs' open interval).
    pub fn accrued(self, status: Status) -> Status {
        match (self, status) {
            (Self::Up, Status::Maintenance) => Status::Up,
            _ => status,
        }
    }
}

/// When a window is.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(untagged)]
pub enum When {
    /// From `start` (inclusive) to `end` (exclusive), epoch ms UTC.
    Once {
        /// The start.
        start: Timestamp,
        /// The end, after the start.
        end: Timestamp,
    },
    /// At each occurrence of `schedule`, for `duration` seconds.
    Recurring {
        /// The cron schedule in its zone.
        schedule: Box<Schedule>,
        /// How long each occurrence lasts, in whole seconds.
        duration: u64,
    },
}

/// One maintenance window.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    /// The run-time window's id (API windows: a UUID; a snooze: [`SNOOZE_ID`]); `None` for
    /// windows from `services.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When it is.
    #[serde(flatten)]
    pub when: When,
    /// Why (free text, at most 200 characters), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Window {
    /// A one-off window from `start` to `end` (epoch ms).
    pub fn once(start: Timestamp, end: Timestamp) -> Self {
        Self { id: None, when: When::Once { start, end }, reason: None }
    }

    /// Parses the wire form `value` (see the module docs) found at `at` (a field path such
    /// as `services[2].maintenance[0]`, or `""` for an API body), pushing each problem as
    /// `(path, message)` to `errors`. Unknown fields, a missing or unparseable field, an end
    /// not after the start, a window or duration longer than [`MAX_WINDOW`], a schedule with
    /// one-off fields (or the other way round) and a reason over 200 characters are refused.
    pub fn parse(value: &Value, at: &str, errors: &mut Vec<(String, String)>) -> Option<Self> {
        let path = |field: &str| if at.is_empty() { field.to_owned() } else { format!("{at}.{field}") };
        let before = errors.len();
        let Some(obj) = value.as_object() else {
            let here = if at.is_empty() { "body".to_owned() } else { at.to_owned() };
            errors.push((here, "must be an object with start and end, or schedule and duration".into()));
            return None;
        };
        for key in obj.keys() {
            if !["start", "end", "schedule", "timezone", "duration", "reason"].contains(&key.as_str())
                && !key.starts_with('_')
            {
                errors.push((
                    path(key),
                    "unknown field, expected start, end, schedule, timezone, duration or reason".into(),
                ));
            }
        }
        let text = |field: &str, errors: &mut Vec<(String, String)>| match obj.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                errors.push((path(field), "must be a string".into()));
                None
            }
        };
        let reason = text("reason", errors);
        if reason.as_ref().is_some_and(|r| r.chars().count() > 200) {
            errors.push((path("reason"), "must be at most 200 characters".into()));
        }
        let max = MAX_WINDOW.as_secs();
        let when = if obj.contains_key("schedule") {
            for field in ["start", "end"] {
                if obj.contains_key(field) {
                    errors.push((path(field), "set together with schedule: a window is one-off or recurring".into()));
                }
            }
            let expression = text("schedule", errors);
            let zone = text("timezone", errors);
            let schedule = expression.and_then(|e| match Schedule::parse(&e, zone.as_deref()) {
                Ok(s) => Some(s),
                Err(e) => {
                    errors.push((path(e.field()), e.to_string()));
                    None
                }
            });
            let duration = match obj.get("duration") {
                None => {
                    errors.push((path("duration"), "is required with schedule (seconds each occurrence lasts)".into()));
                    None
                }
                Some(v) => match v.as_u64() {
                    Some(d) if (1..=max).contains(&d) => Some(d),
                    _ => {
                        errors.push((
                            path("duration"),
                            format!("must be whole seconds between 1 and {max} (31 days), got {v}"),
                        ));
                        None
                    }
                },
            };
            When::Recurring { schedule: Box::new(schedule?), duration: duration? }
        } else {
            for field in ["timezone", "duration"] {
                if obj.contains_key(field) {
                    errors.push((path(field), "has no effect without a schedule".into()));
                }
            }
            let time = |field: &str, errors: &mut Vec<(String, String)>| {
                let t = text(field, errors);
                if t.is_none() && !obj.contains_key(field) {
                    errors.push((path(field), "is required (RFC 3339), or give schedule and duration".into()));
                }
                t.and_then(|t| match Timestamp::parse_rfc3339(&t) {
                    Some(ts) => Some(ts),
                    None => {
                        errors.push((
                            path(field),
                            format!("must be an RFC 3339 time such as 2026-12-05T01:00:00Z, got {t:?}"),
                        ));
                        None
                    }
                })
            };
            let (start, end) = (time("start", errors), time("end", errors));
            let (start, end) = (start?, end?);
            if end <= start {
                errors.push((path("end"), "must be after start".into()));
            } else if end.since(start) > MAX_WINDOW {
                errors.push((path("end"), format!("must be at most {max} s (31 days) after start")));
            }
            When::Once { start, end }
        };
        (errors.len() == before).then_some(Self { id: None, when, reason })
    }

    /// The occurrence of this window that contains `t` (start ≤ t < end), the one ending
    /// last if several do.
    pub fn containing(&self, t: Timestamp) -> Option<(Timestamp, Timestamp)> {
        match &self.when {
            When::Once { start, end } => (*start <= t && t < *end).then_some((*start, *end)),
            When::Recurring { schedule, duration } => {
                let d = Duration::from_secs(*duration);
                // Occurrences after t - d end after t; the last one at or before t ends last.
                let mut found = None;
                let mut from = t - d;
                for _ in 0..MAX_STEPS {
                    match schedule.next_after(from) {
                        Some(o) if o <= t => {
                            found = Some((o, o + d));
                            from = o;
                        }
                        _ => break,
                    }
                }
                found
            }
        }
    }

    /// The first start of this window strictly after `t`.
    pub fn next_start_after(&self, t: Timestamp) -> Option<Timestamp> {
        match &self.when {
            When::Once { start, .. } => (*start > t).then_some(*start),
            When::Recurring { schedule, .. } => schedule.next_after(t),
        }
    }

    /// Whether the window can never be active at or after `t` (a one-off that ended).
    pub fn is_over(&self, t: Timestamp) -> bool {
        matches!(self.when, When::Once { end, .. } if end <= t)
    }

    /// The window as the API shows it at `now`.
    pub fn view(&self, now: Timestamp) -> WindowView {
        let (kind, start, end, schedule, duration) = match &self.when {
            When::Once { start, end } => ("once", Some(*start), Some(*end), None, None),
            When::Recurring { schedule, duration } => {
                ("recurring", None, None, Some(ScheduleView::new(schedule, now)), Some(*duration))
            }
        };
        let active = self.containing(now);
        let next = active.or_else(|| self.next_start_after(now).map(|s| (s, self.containing(s).map_or(s, |(_, e)| e))));
        WindowView {
            id: self.id.clone(),
            kind,
            start: start.map(Timestamp::to_rfc3339),
            end: end.map(Timestamp::to_rfc3339),
            schedule,
            duration,
            reason: self.reason.clone(),
            active: active.is_some(),
            next_start: next.map(|(s, _)| s.to_rfc3339()),
            next_end: next.map(|(_, e)| e.to_rfc3339()),
        }
    }
}

/// A window as `/api/v1/maintenance` lists it (camelCase JSON): `kind` `once` (with `start`,
/// `end`) or `recurring` (with the schedule's fields and `duration` in seconds); `active`
/// at the time of the answer; `nextStart`/`nextEnd` the current or next occurrence (RFC 3339
/// UTC), `null` when there is none.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowView {
    /// The run-time window's id; absent for config windows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `once` or `recurring`.
    pub kind: &'static str,
    /// A one-off's start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// A one-off's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// A recurring window's schedule.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleView>,
    /// A recurring window's length per occurrence, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
    /// Why, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether it is active now.
    pub active: bool,
    /// The current or next occurrence's start.
    pub next_start: Option<String>,
    /// The current or next occurrence's end.
    pub next_end: Option<String>,
}

/// When the maintenance active at `t` ends, if any window of `windows` contains `t`:
/// overlapping and touching windows merge, so this is the end of the last window reached
/// by a chain of windows from `t`.
pub fn active_until<'w>(windows: impl IntoIterator<Item = &'w Window> + Clone, t: Timestamp) -> Option<Timestamp> {
    let end_at = |t: Timestamp| windows.clone().into_iter().filter_map(|w| w.containing(t)).map(|(_, e)| e).max();
    let mut end = end_at(t)?;
    for _ in 0..MAX_STEPS {
        match end_at(end) {
            Some(later) if later > end => end = later,
            _ => break,
        }
    }
    Some(end)
}

/// The first start of any of `windows` strictly after `t`.
pub fn next_start<'w>(windows: impl IntoIterator<Item = &'w Window>, t: Timestamp) -> Option<Timestamp> {
    windows.into_iter().filter_map(|w| w.next_start_after(t)).min()
}

/// What to do with a service's run-time windows. JSON (the router's message to the
/// ServiceMonitor): `{"add": window}` or `{"remove": "id"}`.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Command {
    /// Adds the window (replacing one with the same id).
    Add(Window),
    /// Removes the window with this id (nothing if there is none).
    Remove(String),
}

/// Applies `command` to `windows` (a service's run-time windows), dropping one-off windows
/// over at `now`. Returns whether anything changed.
pub fn apply(windows: &mut Vec<Window>, command: Command, now: Timestamp) -> bool {
    let before = windows.clone();
    match command {
        Command::Add(w) => {
            windows.retain(|x| x.id.is_none() || x.id != w.id);
            windows.push(w);
        }
        Command::Remove(id) => windows.retain(|x| x.id.as_deref() != Some(id.as_str())),
    }
    windows.retain(|w| !w.is_over(now));
    *windows != before
}

/// Parses a snooze's `minutes` query value.
///
/// # Errors
/// The message for a 400 when it is not a whole number within [`SNOOZE_MINUTES`].
pub fn snooze_minutes(text: Option<&str>) -> Result<u64, String> {
    let (lo, hi) = (SNOOZE_MINUTES.start(), SNOOZE_MINUTES.end());
    let message = || format!("minutes must be a whole number from {lo} to {hi} (1 day)");
    match text {
        None => Err(message()),
        Some(t) => t.trim().parse::<u64>().ok().filter(|m| SNOOZE_MINUTES.contains(m)).ok_or_else(message),
    }
}

/// Where a run-time window created through the API applies: `{"service": id}` or
/// `{"group": id}` in the body.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Target {
    /// One service.
    Service(ServiceId),
    /// Every service of a group (the group id).
    Group(String),
}

/// Parses the body of `POST /api/v1/maintenance` against `config`: a window's wire form
/// (see the module docs) plus exactly one of `service` or `group`. Returns the target, the
/// services it covers (config order) and the window (without an id).
///
/// # Errors
/// 400 problem+json: invalid JSON; not exactly one target; an unknown service or group (or
/// a group without services); the first problem of the window, with every problem listed
/// in the `errors` extension as `"path: message"`.
pub fn parse_create(body: &[u8], config: &Config) -> Result<(Target, Vec<ServiceId>, Window), Problem> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| Problem::invalid_json(e.line(), e.column(), &e.to_string().to_lowercase()))?;
    let Some(obj) = value.as_object_mut() else {
        return Err(Problem::invalid_field("", "the body must be a JSON object"));
    };
    let target = match (obj.remove("service"), obj.remove("group")) {
        (Some(Value::String(id)), None) => match config.service(&id) {
            Some(s) => (Target::Service(s.id.clone()), vec![s.id.clone()]),
            None => return Err(Problem::invalid_field("service", format!("no service {id:?} is configured"))),
        },
        (None, Some(Value::String(id))) => match config.groups.iter().find(|g| g.id == id) {
            Some(g) if !g.services.is_empty() => (Target::Group(id), g.services.clone()),
            _ => return Err(Problem::invalid_field("group", format!("no group {id:?} with services is configured"))),
        },
        _ => return Err(Problem::invalid_field("service", "give exactly one of service or group (a string id)")),
    };
    let mut errors = Vec::new();
    match Window::parse(&value, "", &mut errors) {
        Some(window) => Ok((target.0, target.1, window)),
        None => {
            // As every 400 of the API lists them (docs/openapi.yaml): `{"field", "detail"}`.
            let listed: Vec<Value> =
                errors.iter().map(|(p, m)| serde_json::json!({ "field": p, "detail": m })).collect();
            let (field, message) = errors.into_iter().next().unwrap_or_default();
            Err(Problem::invalid_field(field.clone(), format!("{field}: {message}")).with("errors", listed))
        }
    }
}

/// A run-time window as D1 `maintenance_windows` keeps it for listing: one row per window
/// and service (a group's window has one per member, same id).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct StoredWindow {
    /// The window's id (a UUID, or [`SNOOZE_ID`] for a snooze).
    pub id: String,
    /// The service it applies to.
    pub service_id: String,
    /// The group it was created for, if any.
    pub group_id: Option<String>,
    /// The window's stored JSON ([`Window`]).
    pub body: String,
    /// A one-off window's end (epoch ms), for pruning; `None` for a recurring one.
    pub ends_at: Option<i64>,
    /// When it was created (epoch ms).
    pub created_at: i64,
}

impl StoredWindow {
    /// The row of `window` (which has an id) for `service_id`, created at `now`.
    pub fn new(window: &Window, service_id: &str, group_id: Option<&str>, now: Timestamp) -> Self {
        Self {
            id: window.id.clone().unwrap_or_default(),
            service_id: service_id.to_owned(),
            group_id: group_id.map(str::to_owned),
            body: serde_json::to_string(window).unwrap_or_default(),
            ends_at: match window.when {
                When::Once { end, .. } => Some(end.as_millis()),
                When::Recurring { .. } => None,
            },
            created_at: now.as_millis(),
        }
    }
}

/// One window as `GET /api/v1/maintenance` and the status page list it: the window's view
/// ([`WindowView`], flattened), where it applies (`service` or `group`) and `source`
/// (`config`, `api` or `snooze`).
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// The window.
    #[serde(flatten)]
    pub window: WindowView,
    /// The service it applies to (absent for a group's window).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The group it applies to (absent for a service's window).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `config` (services.json), `api` or `snooze`.
    pub source: &'static str,
}

/// Every window at `now` of the services `sees` accepts: `services.json`'s (each group's
/// once, then each service's own) and the run-time ones of `rows` (a group's once, as long
/// as `sees` accepts one of its members), one-off windows that ended left out; ordered by
/// their current or next start (those without one last).
pub fn list(
    config: &Config,
    rows: &[StoredWindow],
    sees: impl Fn(&ServiceConfig) -> bool,
    now: Timestamp,
) -> Vec<Listed> {
    let mut out = Vec::new();
    let visible = |id: &str| config.service(id).is_some_and(&sees);
    for g in config.groups.iter().filter(|g| g.services.iter().any(|id| visible(id.as_str()))) {
        for w in &g.maintenance {
            out.push(Listed { window: w.view(now), service: None, group: Some(g.id.clone()), source: "config" });
        }
    }
    for s in config.services.iter().filter(|s| sees(s)) {
        let inherited =
            config.groups.iter().find(|g| s.group.as_ref() == Some(&g.id)).map_or(0, |g| g.maintenance.len());
        for w in s.maintenance.iter().skip(inherited) {
            out.push(Listed { window: w.view(now), service: Some(s.id.to_string()), group: None, source: "config" });
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for row in rows.iter().filter(|r| visible(&r.service_id)) {
        let Ok(w) = serde_json::from_str::<Window>(&row.body) else { continue };
        if w.is_over(now)
            || !seen.insert((row.id.clone(), row.group_id.clone().unwrap_or_else(|| row.service_id.clone())))
        {
            continue;
        }
        let source = if row.id == SNOOZE_ID { "snooze" } else { "api" };
        let (service, group) = match &row.group_id {
            Some(g) => (None, Some(g.clone())),
            None => (Some(row.service_id.clone()), None),
        };
        out.push(Listed { window: w.view(now), service, group, source });
    }
    out.retain(|l| l.window.next_start.is_some() || l.window.kind == "recurring");
    out.sort_by_key(|l| {
        l.window.next_start.as_deref().and_then(Timestamp::parse_rfc3339).map_or(i64::MAX, Timestamp::as_millis)
    });
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn maintenance_counts_as_up_only_when_the_setting_says_up() {
        assert_eq!(MaintenanceUptime::parse("up"), Ok(MaintenanceUptime::Up));
        assert_eq!(MaintenanceUptime::parse("exclude"), Ok(MaintenanceUptime::Exclude));
        assert_eq!(MaintenanceUptime::parse("Up"), Err(r#"must be "exclude" or "up", got "Up""#.to_owned()));
        assert_eq!(MaintenanceUptime::Up.accrued(Status::Maintenance), Status::Up);
        assert_eq!(MaintenanceUptime::Exclude.accrued(Status::Maintenance), Status::Maintenance);
        for s in [Status::Up, Status::Down, Status::Late, Status::Degraded, Status::Paused, Status::Unknown] {
            assert_eq!(MaintenanceUptime::Up.accrued(s), s, "only maintenance is mapped");
        }
    }

    fn t(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    fn parse(v: Value) -> Result<Window, Vec<String>> {
        let mut errors = Vec::new();
        Window::parse(&v, "maintenance[0]", &mut errors)
            .ok_or_else(|| errors.iter().map(|(p, m)| format!("{p}: {m}")).collect())
    }

    #[test]
    fn a_one_off_window_is_active_from_its_start_to_just_before_its_end() {
        let w = parse(json!({"start": "2026-12-05T01:00:00Z", "end": "2026-12-05T03:00:00+00:00"})).unwrap();
        assert_eq!(w.containing(t("2026-12-05T00:59:59.999Z")), None);
        assert_eq!(
            w.containing(t("2026-12-05T01:00:00Z")),
            Some((t("2026-12-05T01:00:00Z"), t("2026-12-05T03:00:00Z")))
        );
        assert_eq!(w.containing(t("2026-12-05T03:00:00Z")), None);
        assert_eq!(w.next_start_after(t("2026-12-01T00:00:00Z")), Some(t("2026-12-05T01:00:00Z")));
        assert_eq!(w.next_start_after(t("2026-12-05T01:00:00Z")), None);
        assert!(w.is_over(t("2026-12-05T03:00:00Z")) && !w.is_over(t("2026-12-05T02:59:59Z")));
    }

    #[test]
    fn a_recurring_window_follows_its_zone_across_daylight_saving_time() {
        // Sundays 02:30 Berlin for an hour: 01:30Z in winter (CET), 00:30Z in summer (CEST).
        let w = parse(json!({"schedule": "30 2 * * SUN", "timezone": "Europe/Berlin", "duration": 3600})).unwrap();
        let winter = t("2026-03-22T01:30:00Z");
        assert_eq!(w.next_start_after(t("2026-03-20T00:00:00Z")), Some(winter));
        assert_eq!(w.containing(t("2026-03-22T02:00:00Z")), Some((winter, t("2026-03-22T02:30:00Z"))));
        // 29 March 2026: 02:00 → 03:00, so 02:30 does not exist; Vixie cron runs it right
        // after the jump (03:00 CEST = 01:00Z).
        assert_eq!(w.next_start_after(winter), Some(t("2026-03-29T01:00:00Z")));
        let summer = t("2026-04-05T00:30:00Z");
        assert_eq!(w.next_start_after(t("2026-03-29T01:00:00Z")), Some(summer));
        assert_eq!(w.containing(t("2026-04-05T01:29:59Z")), Some((summer, t("2026-04-05T01:30:00Z"))));
        assert_eq!(w.containing(t("2026-04-05T01:30:00Z")), None);
    }

    #[test]
    fn overlapping_and_touching_windows_merge_until_the_last_ends() {
        let a = Window::once(t("2026-12-05T01:00:00Z"), t("2026-12-05T02:00:00Z"));
        let b = Window::once(t("2026-12-05T01:30:00Z"), t("2026-12-05T03:00:00Z"));
        let c = Window::once(t("2026-12-05T03:00:00Z"), t("2026-12-05T03:10:00Z"));
        let d = Window::once(t("2026-12-05T04:00:00Z"), t("2026-12-05T05:00:00Z"));
        let all = [a, b, c, d];
        assert_eq!(active_until(&all, t("2026-12-05T01:00:00Z")), Some(t("2026-12-05T03:10:00Z")));
        assert_eq!(active_until(&all, t("2026-12-05T03:05:00Z")), Some(t("2026-12-05T03:10:00Z")));
        assert_eq!(active_until(&all, t("2026-12-05T03:10:00Z")), None);
        assert_eq!(next_start(&all, t("2026-12-05T03:10:00Z")), Some(t("2026-12-05T04:00:00Z")));
        assert_eq!(next_start(&all, t("2026-12-05T00:00:00Z")), Some(t("2026-12-05T01:00:00Z")));
    }

    #[test]
    fn a_recurring_window_longer_than_its_period_is_one_long_window() {
        // Every 10 s for 15 s: occurrences overlap; active from 00:00:00 on while they go on.
        let w = parse(json!({"schedule": "*/10 * * * * *", "duration": 15})).unwrap();
        assert_eq!(
            w.containing(t("2026-12-05T00:00:12Z")),
            Some((t("2026-12-05T00:00:10Z"), t("2026-12-05T00:00:25Z")))
        );
        let until = active_until([&w], t("2026-12-05T00:00:12Z")).unwrap();
        assert!(until > t("2026-12-05T00:00:25Z"), "chained on: {until}");
    }

    #[test]
    fn bad_windows_are_refused_with_their_field_paths() {
        assert_eq!(
            parse(json!({"start": "tomorrow", "end": "2026-12-05T03:00:00Z", "duration": 60, "colour": 1}))
                .unwrap_err(),
            [
                "maintenance[0].colour: unknown field, expected start, end, schedule, timezone, duration or reason",
                "maintenance[0].duration: has no effect without a schedule",
                "maintenance[0].start: must be an RFC 3339 time such as 2026-12-05T01:00:00Z, got \"tomorrow\"",
            ]
        );
        assert_eq!(
            parse(json!({"start": "2026-12-05T03:00:00Z", "end": "2026-12-05T03:00:00Z"})).unwrap_err(),
            ["maintenance[0].end: must be after start"]
        );
        assert_eq!(
            parse(json!({"schedule": "0 2 * * *", "timezone": "Mars/Base", "duration": 0})).unwrap_err(),
            [
                "maintenance[0].timezone: unknown time zone \"Mars/Base\", expected an IANA name such as \"Europe/Berlin\" or \"UTC\"",
                "maintenance[0].duration: must be whole seconds between 1 and 2678400 (31 days), got 0",
            ]
        );
        assert_eq!(
            parse(json!({"schedule": "0 2 * * *", "start": "2026-12-05T03:00:00Z"})).unwrap_err(),
            [
                "maintenance[0].start: set together with schedule: a window is one-off or recurring",
                "maintenance[0].duration: is required with schedule (seconds each occurrence lasts)",
            ]
        );
        assert_eq!(
            parse(json!([])).unwrap_err(),
            ["maintenance[0]: must be an object with start and end, or schedule and duration"]
        );
    }

    #[test]
    fn windows_round_trip_through_their_stored_form() {
        let w =
            parse(json!({"schedule": "0 2 * * *", "timezone": "Europe/Berlin", "duration": 60, "reason": "backup"}))
                .unwrap();
        let stored = serde_json::to_string(&w).unwrap();
        assert_eq!(
            stored,
            r#"{"schedule":{"expression":"0 2 * * *","timezone":"Europe/Berlin"},"duration":60,"reason":"backup"}"#
        );
        assert_eq!(serde_json::from_str::<Window>(&stored).unwrap(), w);
        let once =
            Window { id: Some("snooze".into()), ..Window::once(Timestamp::from_millis(1), Timestamp::from_millis(2)) };
        let stored = serde_json::to_string(&once).unwrap();
        assert_eq!(stored, r#"{"id":"snooze","start":1,"end":2}"#);
        assert_eq!(serde_json::from_str::<Window>(&stored).unwrap(), once);
    }

    #[test]
    fn commands_add_replace_and_remove_by_id_and_drop_windows_that_ended() {
        let now = Timestamp::from_millis(10_000);
        let mut ws = vec![Window::once(Timestamp::from_millis(1), Timestamp::from_millis(2))];
        let snooze = |end| Window { id: Some(SNOOZE_ID.into()), ..Window::once(now, Timestamp::from_millis(end)) };
        assert!(apply(&mut ws, Command::Add(snooze(20_000)), now));
        assert_eq!(ws, [snooze(20_000)], "the ended one-off is dropped");
        assert!(apply(&mut ws, Command::Add(snooze(30_000)), now));
        assert_eq!(ws, [snooze(30_000)], "replaced by id");
        assert!(apply(&mut ws, Command::Remove(SNOOZE_ID.into()), now));
        assert!(!apply(&mut ws, Command::Remove(SNOOZE_ID.into()), now));
    }

    #[test]
    fn snooze_minutes_are_bounded_and_the_message_names_the_limit() {
        assert_eq!(snooze_minutes(Some("30")), Ok(30));
        assert_eq!(snooze_minutes(Some("1440")), Ok(1440));
        let e = "minutes must be a whole number from 1 to 1440 (1 day)".to_owned();
        for bad in [Some("0"), Some("1441"), Some("-5"), Some("ten"), None] {
            assert_eq!(snooze_minutes(bad), Err(e.clone()), "{bad:?}");
        }
    }

    const SERVICES: &str = r#"{"groups": [{"id": "db", "services": ["pg"], "public": true,
        "maintenance": [{"schedule": "0 3 * * *", "duration": 600}]}],
        "services": [{"id": "pg"}, {"id": "api", "maintenance": [{"start": "2026-12-05T01:00:00Z", "end": "2026-12-05T02:00:00Z"}]},
                     {"id": "old", "maintenance": [{"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"}]}]}"#;

    #[test]
    fn a_create_body_names_one_target_and_a_valid_window() {
        let config = Config::parse(Some(SERVICES), None).unwrap();
        let (target, services, w) = parse_create(
            br#"{"group": "db", "start": "2026-12-05T01:00:00Z", "end": "2026-12-05T02:00:00Z"}"#,
            &config,
        )
        .unwrap();
        assert_eq!((target, services.len(), w.id), (Target::Group("db".into()), 1, None));
        let e = parse_create(br#"{"service": "nope", "start": "x", "end": "y"}"#, &config).unwrap_err();
        assert_eq!((e.status, e.field.as_deref()), (400, Some("service")));
        let e = parse_create(br#"{"service": "api", "group": "db"}"#, &config).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("service"));
        let e = parse_create(
            br#"{"service": "api", "start": "2026-12-05T02:00:00Z", "end": "2026-12-05T01:00:00Z"}"#,
            &config,
        )
        .unwrap_err();
        assert_eq!((e.field.as_deref(), e.detail.as_str()), (Some("end"), "end: must be after start"));
    }

    #[test]
    fn the_listing_shows_group_windows_once_run_time_ones_by_source_and_drops_ended_ones() {
        let config = Config::parse(Some(SERVICES), None).unwrap();
        let now = t("2026-12-05T00:00:00Z");
        let api =
            Window { id: Some("w1".into()), ..Window::once(t("2026-12-06T00:00:00Z"), t("2026-12-06T01:00:00Z")) };
        let snooze = Window { id: Some(SNOOZE_ID.into()), ..Window::once(now, t("2026-12-05T00:30:00Z")) };
        let rows = [StoredWindow::new(&api, "pg", Some("db"), now), StoredWindow::new(&snooze, "api", None, now)];
        let listed = list(&config, &rows, |_| true, now);
        type Row<'a> = (Option<&'a str>, Option<&'a str>, &'a str, bool, Option<&'a str>);
        let got: Vec<Row<'_>> = listed
            .iter()
            .map(|l| {
                (l.service.as_deref(), l.group.as_deref(), l.source, l.window.active, l.window.next_start.as_deref())
            })
            .collect();
        assert_eq!(
            got,
            [
                (Some("api"), None, "snooze", true, Some("2026-12-05T00:00:00.000Z")),
                (Some("api"), None, "config", false, Some("2026-12-05T01:00:00.000Z")),
                (None, Some("db"), "config", false, Some("2026-12-05T03:00:00.000Z")),
                (None, Some("db"), "api", false, Some("2026-12-06T00:00:00.000Z")),
            ]
        );
        let only_public = list(&config, &rows, |s| s.group.is_some(), now);
        assert_eq!(only_public.len(), 2, "the group's windows only");
    }
}
