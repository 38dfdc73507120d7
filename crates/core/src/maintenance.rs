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
                errors.push((path(key), "unknown field, expected start, end, schedule, timezone, duration or reason".into()));
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
                        errors.push((path("duration"), format!("must be whole seconds between 1 and {max} (31 days), got {v}")));
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
                        errors.push((path(field), format!("must be an RFC 3339 time such as 2026-12-05T01:00:00Z, got {t:?}")));
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
        let next = active.or_else(|| {
            self.next_start_after(now).map(|s| (s, self.containing(s).map_or(s, |(_, e)| e)))
        });
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

/// What to do with a service's run-time windows.
#[derive(Clone, Debug, Eq, PartialEq)]
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn t(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    fn parse(v: Value) -> Result<Window, Vec<String>> {
        let mut errors = Vec::new();
        Window::parse(&v, "maintenance[0]", &mut errors).ok_or_else(|| errors.iter().map(|(p, m)| format!("{p}: {m}")).collect())
    }

    #[test]
    fn a_one_off_window_is_active_from_its_start_to_just_before_its_end() {
        let w = parse(json!({"start": "2026-12-05T01:00:00Z", "end": "2026-12-05T03:00:00+00:00"})).unwrap();
        assert_eq!(w.containing(t("2026-12-05T00:59:59.999Z")), None);
        assert_eq!(w.containing(t("2026-12-05T01:00:00Z")), Some((t("2026-12-05T01:00:00Z"), t("2026-12-05T03:00:00Z"))));
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
        assert_eq!(w.containing(t("2026-12-05T00:00:12Z")), Some((t("2026-12-05T00:00:10Z"), t("2026-12-05T00:00:25Z"))));
        let until = active_until([&w], t("2026-12-05T00:00:12Z")).unwrap();
        assert!(until > t("2026-12-05T00:00:25Z"), "chained on: {until}");
    }

    #[test]
    fn bad_windows_are_refused_with_their_field_paths() {
        assert_eq!(
            parse(json!({"start": "tomorrow", "end": "2026-12-05T03:00:00Z", "duration": 60, "colour": 1})).unwrap_err(),
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
        assert_eq!(parse(json!([])).unwrap_err(), ["maintenance[0]: must be an object with start and end, or schedule and duration"]);
    }

    #[test]
    fn windows_round_trip_through_their_stored_form() {
        let w = parse(json!({"schedule": "0 2 * * *", "timezone": "Europe/Berlin", "duration": 60, "reason": "backup"})).unwrap();
        let stored = serde_json::to_string(&w).unwrap();
        assert_eq!(stored, r#"{"schedule":{"expression":"0 2 * * *","timezone":"Europe/Berlin"},"duration":60,"reason":"backup"}"#);
        assert_eq!(serde_json::from_str::<Window>(&stored).unwrap(), w);
        let once = Window { id: Some("snooze".into()), ..Window::once(Timestamp::from_millis(1), Timestamp::from_millis(2)) };
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
}
