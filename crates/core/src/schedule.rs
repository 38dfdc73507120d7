//! Cron schedules in an IANA time zone: when a scheduled job's next run is due.
//!
//! A [`Schedule`] is a cron expression (5 fields `minute hour day-of-month month day-of-week`,
//! or 6 with a leading seconds field; `*`, lists, ranges, steps, `JAN`–`DEC`, `SUN`–`SAT`,
//! `L`, `W`, `#`, `?`, and the macros `@yearly`, `@annually`, `@monthly`, `@weekly`,
//! `@daily`, `@hourly`) evaluated in a time zone from the compiled-in tz database
//! ([`Zone`]). Matching is the `croner` crate's (Vixie cron's rules: day of month and day of
//! week are OR-ed when both are restricted; `+` before the day of week ANDs them), connected
//! here to the tz-rs zones of [`crate::time`] so that no second date library is linked.
//!
//! Daylight saving time behaves as Debian's (Vixie) cron: a fixed-time job (one second,
//! minute and hour) whose time falls in the hour skipped in spring runs once, right after the
//! jump; in the hour repeated in autumn it runs once, the first time; a job with a wildcard or
//! step in its time fields follows the wall clock (skipped times do not run, repeated ones
//! run twice).

use std::cmp::Ordering;
use std::fmt;

use croner::errors::CronError;
use croner::parser::{CronParser, Seconds, Year};
use croner::{CivilDate, CivilDateTime, CivilTime, Cron, CronDateTime, Resolution, Weekday};
use serde::{Deserialize, Serialize};

use crate::time::{Timestamp, Zone};

/// Why a schedule or its time zone was refused. Messages are lower-case and name the field of
/// the expression (`field 3 (day of month) 32 out of range 1-31`); [`ScheduleError::field`]
/// says which config field (`schedule` or `timezone`) is wrong.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    /// The expression is empty or blank.
    #[error("is empty, expected a cron expression such as \"30 2 * * *\" or @daily")]
    Empty,
    /// Not 5 or 6 fields.
    #[error(
        "has {0} fields, expected 5 (minute hour day-of-month month day-of-week), 6 with a leading seconds \
         field, or a macro such as @daily"
    )]
    FieldCount(usize),
    /// A `@` word that is not one of the macros.
    #[error("unknown macro {0:?}, expected one of @yearly, @annually, @monthly, @weekly, @daily, @hourly")]
    Macro(String),
    /// A number outside its field's range.
    #[error("field {index} ({name}) {value} out of range {min}-{max}")]
    OutOfRange {
        /// 1-based position of the field in the expression as written.
        index: usize,
        /// The field's name, e.g. `day of month`.
        name: &'static str,
        /// The number written.
        value: u64,
        /// The smallest value allowed.
        min: u32,
        /// The largest value allowed.
        max: u32,
    },
    /// A part of a field that is not a number, name, range, step or special character the
    /// field allows.
    #[error("field {index} ({name}) {text:?} is not valid: {why}")]
    Invalid {
        /// 1-based position of the field.
        index: usize,
        /// The field's name.
        name: &'static str,
        /// The part as written.
        text: String,
        /// What is expected instead.
        why: String,
    },
    /// Refused by the cron parser for another reason (its message, lower-case).
    #[error("{0}")]
    Syntax(String),
    /// The expression is valid but no time matches it (e.g. `0 0 30 2 *`, 30 February).
    #[error("never occurs (no date matches it)")]
    Never,
    /// The time zone is not in the tz database.
    #[error("unknown time zone {0:?}, expected an IANA name such as \"Europe/Berlin\" or \"UTC\"")]
    UnknownZone(String),
}

impl ScheduleError {
    /// The config field at fault: `timezone` for [`ScheduleError::UnknownZone`], else
    /// `schedule`.
    pub fn field(&self) -> &'static str {
        match self {
            ScheduleError::UnknownZone(_) => "timezone",
            _ => "schedule",
        }
    }
}

/// A parsed cron expression in a time zone.
///
/// Built by [`Schedule::parse`]; two schedules are equal when their expressions (as written,
/// trimmed) and zone names are. Serialized as `{"expression": "30 2 * * *", "timezone":
/// "Europe/Berlin"}` and parsed again when read (stored Durable Object records carry it).
#[derive(Clone)]
pub struct Schedule {
    expression: String,
    zone: Zone,
    cron: Cron,
}

impl Schedule {
    /// Parses `expression` to be evaluated in the IANA zone `timezone` (`None`: UTC).
    ///
    /// # Errors
    /// A [`ScheduleError`]: an empty expression, a wrong number of fields, an unknown macro, a
    /// value out of its field's range or otherwise invalid (naming the field), an expression
    /// no date matches, or an unknown time zone.
    pub fn parse(expression: &str, timezone: Option<&str>) -> Result<Self, ScheduleError> {
        let expression = expression.trim();
        let zone = match timezone {
            None => Zone::utc(),
            Some(name) => Zone::parse(name.trim()).ok_or_else(|| ScheduleError::UnknownZone(name.to_owned()))?,
        };
        let fields = expand(expression)?;
        check_fields(&fields, expression.split_whitespace().count() == 6)?;
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build()
            .parse(expression)
            .map_err(|e| ScheduleError::Syntax(e.to_string().to_lowercase()))?;
        let schedule = Self { expression: expression.to_owned(), zone, cron };
        // 2000-01-01T00:00:00Z: any pattern that matches at all does so within 28 years
        // (the calendar repeats), so a pattern without an occurrence then matches nothing.
        if schedule.next_after(Timestamp::from_millis(946_684_800_000)).is_none() {
            return Err(ScheduleError::Never);
        }
        Ok(schedule)
    }

    /// The expression as written (trimmed).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The time zone it runs in.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// The first occurrence strictly after `t` (UTC epoch ms in and out; occurrences fall on
    /// whole seconds), with Vixie cron's DST rules (see the module docs); `None` if there is
    /// none before the year 5000.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let secs = t.as_millis().div_euclid(1000);
        let start = Local::at(&self.zone, secs)?;
        let next = self.cron.find_next_occurrence(&start, false).ok()?;
        Some(Timestamp::from_millis(next.secs.checked_mul(1000)?))
    }

    /// The schedule in words, without its zone: `every day at 02:30`, `every 5 minutes`,
    /// `at 09:00 on Monday to Friday`, `at second 0,15,30,45 of every minute`; for shapes it
    /// has no words for, `cron "<expression>"`.
    pub fn describe(&self) -> String {
        let Ok(fields) = expand(&self.expression) else { return self.fallback() };
        describe(&fields).unwrap_or_else(|| self.fallback())
    }

    fn fallback(&self) -> String {
        format!("cron {:?}", self.expression)
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schedule").field("expression", &self.expression).field("zone", &self.zone.name()).finish()
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression && self.zone == other.zone
    }
}

impl Eq for Schedule {}

/// A schedule as the API shows it, next to a service's other fields (`/api/v1/services`):
/// `{"schedule": "30 2 * * *", "timezone": "Europe/Berlin", "scheduleText": "every day at
/// 02:30", "nextExpectedAt": "2026-12-04T01:30:00.000Z", "nextExpectedLocal":
/// "2026-12-04T02:30:00+01:00"}`.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleView {
    /// The cron expression as written.
    pub schedule: String,
    /// The IANA time zone it runs in.
    pub timezone: String,
    /// The schedule in words ([`Schedule::describe`]).
    pub schedule_text: String,
    /// The next run after `now`, RFC 3339 UTC with milliseconds; `null` if there is none.
    pub next_expected_at: Option<String>,
    /// The same instant in the schedule's zone, RFC 3339 with its offset.
    pub next_expected_local: Option<String>,
}

impl ScheduleView {
    /// The view of `schedule` at `now` (UTC epoch ms).
    pub fn new(schedule: &Schedule, now: Timestamp) -> Self {
        let next = schedule.next_after(now);
        Self {
            schedule: schedule.expression.clone(),
            timezone: schedule.zone.name().to_owned(),
            schedule_text: schedule.describe(),
            next_expected_at: next.map(Timestamp::to_rfc3339),
            next_expected_local: next.map(|t| t.rfc3339_in(&schedule.zone)),
        }
    }
}

/// The stored and wire form of a [`Schedule`].
#[derive(Deserialize, Serialize)]
struct Stored {
    expression: String,
    timezone: String,
}

impl Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Stored { expression: self.expression.clone(), timezone: self.zone.name().to_owned() }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let stored = Stored::deserialize(d)?;
        Schedule::parse(&stored.expression, Some(&stored.timezone)).map_err(serde::de::Error::custom)
    }
}

/// The fields of a cron field position: name and range.
struct FieldKind {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names standing for values (`JAN` = 1, `SUN` = 0), upper-case.
    names: &'static [&'static str],
}

const SECOND: FieldKind = FieldKind { name: "second", min: 0, max: 59, names: &[] };
const MINUTE: FieldKind = FieldKind { name: "minute", min: 0, max: 59, names: &[] };
const HOUR: FieldKind = FieldKind { name: "hour", min: 0, max: 23, names: &[] };
const DAY_OF_MONTH: FieldKind = FieldKind { name: "day of month", min: 1, max: 31, names: &[] };
const MONTH: FieldKind = FieldKind {
    name: "month",
    min: 1,
    max: 12,
    names: &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
};
const DAY_OF_WEEK: FieldKind =
    FieldKind { name: "day of week", min: 0, max: 7, names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] };

/// The expression's six fields (seconds first, `0` when it has five), macros expanded.
fn expand(expression: &str) -> Result<Vec<String>, ScheduleError> {
    if expression.is_empty() {
        return Err(ScheduleError::Empty);
    }
    if let Some(word) = expression.strip_prefix('@') {
        let fields = match word.to_ascii_lowercase().as_str() {
            "yearly" | "annually" => "0 0 0 1 1 *",
            "monthly" => "0 0 0 1 * *",
            "weekly" => "0 0 0 * * 0",
            "daily" | "midnight" => "0 0 0 * * *",
            "hourly" => "0 0 * * * *",
            _ => return Err(ScheduleError::Macro(expression.to_owned())),
        };
        return Ok(fields.split(' ').map(str::to_owned).collect());
    }
    let mut fields: Vec<String> = expression.split_whitespace().map(str::to_ascii_uppercase).collect();
    match fields.len() {
        5 => fields.insert(0, "0".to_owned()),
        6 => {}
        n => return Err(ScheduleError::FieldCount(n)),
    }
    Ok(fields)
}

/// Checks every field's values against its range, naming the field by its position as
/// written (a 5-field expression's minute is field 1; `seconds_written` says whether the
/// expression had the seconds field).
fn check_fields(fields: &[String], seconds_written: bool) -> Result<(), ScheduleError> {
    let kinds = [SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK];
    for (i, (field, kind)) in fields.iter().zip(&kinds).enumerate() {
        if i == 0 && !seconds_written {
            continue;
        }
        check_field(field, kind, if seconds_written { i + 1 } else { i })?;
    }
    Ok(())
}

fn check_field(field: &str, kind: &FieldKind, index: usize) -> Result<(), ScheduleError> {
    let invalid =
        |text: &str, why: String| ScheduleError::Invalid { index, name: kind.name, text: text.to_owned(), why };
    let field = if kind.name == DAY_OF_WEEK.name { field.strip_prefix('+').unwrap_or(field) } else { field };
    for item in field.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => (base, Some(step)),
            None => (item, None),
        };
        if let Some(step) = step {
            match step.parse::<u64>() {
                Ok(n) if n >= 1 && n <= u64::from(kind.max) => {}
                Ok(n) => {
                    return Err(ScheduleError::OutOfRange { index, name: kind.name, value: n, min: 1, max: kind.max })
                }
                Err(_) => {
                    return Err(invalid(item, format!("the step after / must be a number from 1 to {}", kind.max)))
                }
            }
        }
        if base == "*" || (base == "?" && [DAY_OF_MONTH.name, DAY_OF_WEEK.name].contains(&kind.name)) {
            continue;
        }
        let parts: Vec<&str> = match base.split_once('-') {
            Some((a, b)) => vec![a, b],
            None => vec![base],
        };
        for part in parts {
            check_value(part, kind, index).map_err(|why| why.unwrap_or_else(|| invalid(item, expected(kind))))?;
        }
    }
    Ok(())
}

/// What a field's values may be, for [`ScheduleError::Invalid`].
fn expected(kind: &FieldKind) -> String {
    let special = match kind.name {
        "day of month" => ", L (last day) or nW (nearest weekday)",
        "day of week" => ", L, n#k (k-th) or n#L (last)",
        _ => "",
    };
    let names = match kind.names.first().zip(kind.names.last()) {
        Some((a, b)) => format!(", {a}-{b}"),
        None => String::new(),
    };
    format!("expected *, a number from {} to {}{names}{special}, a range a-b or a step /n", kind.min, kind.max)
}

/// One value of a field (a bound of a range): `Err(Some(e))` for a number out of range,
/// `Err(None)` for text the field does not allow.
fn check_value(part: &str, kind: &FieldKind, index: usize) -> Result<(), Option<ScheduleError>> {
    let mut part = part;
    if kind.name == DAY_OF_MONTH.name {
        if part == "L" || part == "LW" {
            return Ok(());
        }
        part = part.strip_suffix('W').unwrap_or(part);
    }
    if kind.name == DAY_OF_WEEK.name {
        if let Some((day, nth)) = part.split_once('#') {
            match nth.parse::<u64>() {
                Ok(1..=5) => {}
                Ok(n) => {
                    return Err(Some(ScheduleError::OutOfRange { index, name: kind.name, value: n, min: 1, max: 5 }))
                }
                Err(_) if nth == "L" => {}
                Err(_) => return Err(None),
            }
            part = day;
        } else if part != "L" {
            part = part.strip_suffix('L').unwrap_or(part);
        } else {
            return Ok(());
        }
    }
    if kind.names.contains(&part) {
        return Ok(());
    }
    let value: u64 = part.parse().map_err(|_| None)?;
    if value < u64::from(kind.min) || value > u64::from(kind.max) {
        return Err(Some(ScheduleError::OutOfRange { index, name: kind.name, value, min: kind.min, max: kind.max }));
    }
    Ok(())
}

/// Words for the common shapes of six expanded fields; `None` for the others.
fn describe(fields: &[String]) -> Option<String> {
    let [sec, min, hour, dom, month, dow] = fields else { return None };
    let num = |s: &str| s.parse::<u32>().ok();
    let list = |s: &str| s.split(',').all(|p| num(p).is_some());
    let step = |s: &str| s.strip_prefix("*/").and_then(num);
    let unit =
        |n: u32, one: &str, many: &str| if n == 1 { format!("every {one}") } else { format!("every {n} {many}") };
    let time = match (num(sec), num(min), num(hour)) {
        (Some(0), Some(m), Some(h)) => Some(format!("at {h:02}:{m:02}")),
        (Some(s), Some(m), Some(h)) => Some(format!("at {h:02}:{m:02}:{s:02}")),
        _ => None,
    };
    let time = match time {
        Some(t) => Ok(t),
        None => Err(match (sec.as_str(), min.as_str(), hour.as_str()) {
            ("0", "*", "*") => "every minute".to_owned(),
            ("*", "*", "*") => "every second".to_owned(),
            ("0", m, "*") if num(m).is_some() => format!("every hour at minute {m}"),
            ("0", m, "*") if step(m).is_some() => unit(step(m)?, "minute", "minutes"),
            ("0", "0", h) if step(h).is_some() => unit(step(h)?, "hour", "hours"),
            ("0", m, h) if num(m).is_some() && list(h) => {
                let hours: Vec<String> =
                    h.split(',').map(|h| format!("{:02}:{:02}", num(h).unwrap_or(0), num(m).unwrap_or(0))).collect();
                return Some(format!(
                    "{} at {}",
                    day_words(dom, month, dow)?.unwrap_or_else(|| "every day".into()),
                    hours.join(", ")
                ));
            }
            (s, "*", "*") if step(s).is_some() => unit(step(s)?, "second", "seconds"),
            (s, "*", "*") if list(s) => format!("at second {s} of every minute"),
            _ => return None,
        }),
    };
    let days = day_words(dom, month, dow)?;
    Some(match (time, days) {
        (Ok(at), None) => format!("every day {at}"),
        (Ok(at), Some(days)) => format!("{at} {days}"),
        (Err(every), None) => every,
        (Err(every), Some(days)) => format!("{every} {days}"),
    })
}

/// Words for the date fields: `Ok(None)` for every day, `None` for shapes without words.
fn day_words(dom: &str, month: &str, dow: &str) -> Option<Option<String>> {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    let month_name = |m: &str| {
        let n = m.parse::<usize>().ok().or_else(|| MONTH.names.iter().position(|x| *x == m).map(|i| i + 1))?;
        MONTHS.get(n.checked_sub(1)?).copied()
    };
    let day_name = |d: &str| {
        let n = d.parse::<usize>().ok().or_else(|| DAY_OF_WEEK.names.iter().position(|x| *x == d))?;
        DAYS.get(n % 7).copied()
    };
    let ordinal = |n: &str| match n {
        "1" => Some("first"),
        "2" => Some("second"),
        "3" => Some("third"),
        "4" => Some("fourth"),
        "5" => Some("fifth"),
        "L" => Some("last"),
        _ => None,
    };
    let any = |f: &str| f == "*" || f == "?";
    let in_month = if any(month) { "every month".to_owned() } else { month_name(month)?.to_owned() };
    let day = match (any(dom), any(dow)) {
        (true, true) if any(month) => return Some(None),
        (true, true) => return Some(Some(format!("every day in {in_month}"))),
        (false, true) => {
            if dom == "L" {
                format!("on the last day of {in_month}")
            } else if let Some(n) = dom.strip_suffix('W').and_then(|d| d.parse::<u32>().ok()) {
                format!("on the weekday nearest day {n} of {in_month}")
            } else if let (Ok(n), false) = (dom.parse::<u32>(), any(month)) {
                format!("on {n} {in_month}")
            } else if dom.parse::<u32>().is_ok() {
                format!("on day {dom} of every month")
            } else {
                return None;
            }
        }
        (true, false) => {
            let words = if let Some((d, nth)) = dow.split_once('#') {
                format!("on the {} {} of {in_month}", ordinal(nth)?, day_name(d)?)
            } else if let Some(d) = dow.strip_suffix('L').filter(|d| !d.is_empty()) {
                format!("on the last {} of {in_month}", day_name(d)?)
            } else if let Some((a, b)) = dow.split_once('-') {
                format!("on {} to {}", day_name(a)?, day_name(b)?)
            } else {
                let names: Option<Vec<&str>> = dow.split(',').map(day_name).collect();
                format!("on {}", names?.join(", "))
            };
            if any(month) || words.contains(" of ") {
                words
            } else {
                format!("{words} in {in_month}")
            }
        }
        (false, false) => return None,
    };
    Some(Some(day))
}

/// An instant (whole seconds since the epoch, UTC) seen in a zone: the `CronDateTime`
/// `croner` searches over.
#[derive(Clone, Debug)]
struct Local<'z> {
    secs: i64,
    /// The zone's offset from UTC at `secs`, in seconds.
    offset: i32,
    zone: &'z Zone,
}

impl<'z> Local<'z> {
    fn at(zone: &'z Zone, secs: i64) -> Option<Self> {
        Some(Self { secs, offset: zone.offset_at(secs)?, zone })
    }

    /// Seconds since 1970-01-01T00:00 on the local wall clock.
    fn wall(&self) -> i64 {
        self.secs + i64::from(self.offset)
    }
}

const DAY_SECS: i64 = 86_400;

impl CronDateTime for Local<'_> {
    fn to_civil(&self) -> CivilDateTime {
        let wall = self.wall();
        let (y, m, d) = civil_from_days(wall.div_euclid(DAY_SECS));
        let tod = wall.rem_euclid(DAY_SECS);
        // In range by construction: a day of the proleptic calendar and a second of the day.
        CivilDateTime::new(
            CivilDate::from_parts_unchecked(y, m, d),
            CivilTime::from_parts_unchecked((tod / 3600) as u32, (tod % 3600 / 60) as u32, (tod % 60) as u32),
        )
    }

    fn civil_weekday(&self) -> Weekday {
        // 1970-01-01 was a Thursday (4 days from Sunday).
        Weekday::from_days_from_sunday((self.wall().div_euclid(DAY_SECS) + 4).rem_euclid(7) as u32)
    }

    fn resolve_civil(&self, civil: CivilDateTime) -> Result<Resolution<Self>, CronError> {
        let wall = days_from_civil(civil.year(), civil.month(), civil.day()) * DAY_SECS
            + i64::from(civil.hour() * 3600 + civil.minute() * 60 + civil.second());
        // Offsets in force around this wall time (transitions are further apart than a
        // day); each one that maps back onto this wall time is an instant showing it.
        let mut found: Vec<Local<'_>> = Vec::with_capacity(2);
        for probe in [wall - DAY_SECS, wall, wall + DAY_SECS] {
            let offset = self.zone.offset_at(probe).ok_or(CronError::InvalidTime)?;
            let Some(local) = Local::at(self.zone, wall - i64::from(offset)) else { continue };
            if local.offset == offset && !found.iter().any(|f| f.secs == local.secs) {
                found.push(local);
            }
        }
        found.sort_by_key(|l| l.secs);
        let mut found = found.into_iter();
        Ok(match (found.next(), found.next()) {
            (None, _) => Resolution::Gap,
            (Some(one), None) => Resolution::Single(one),
            (Some(earlier), Some(later)) => Resolution::Ambiguous(earlier, later),
        })
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        Local::at(self.zone, self.secs.checked_add(seconds)?)
    }

    fn cmp_instant(&self, other: &Self) -> Ordering {
        self.secs.cmp(&other.secs)
    }
}

/// The proleptic Gregorian (year, month, day) of `days` since 1970-01-01, as croner's
/// adapter takes it ([`crate::time::civil_from_days`]).
fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let (y, m, d) = crate::time::civil_from_days(days);
    (i32::try_from(y).unwrap_or(i32::MAX), m as u32, d as u32)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ts(rfc: &str) -> Timestamp {
        Timestamp::parse_rfc3339(rfc).unwrap()
    }

    /// The next `n` occurrences after `from`, as RFC 3339 in the schedule's zone.
    fn next(expr: &str, zone: &str, from: &str, n: usize) -> Vec<String> {
        let s = Schedule::parse(expr, Some(zone)).unwrap();
        let mut t = ts(from);
        (0..n)
            .map(|_| {
                t = s.next_after(t).unwrap();
                t.rfc3339_in(s.zone())
            })
            .collect()
    }

    fn err(expr: &str) -> String {
        Schedule::parse(expr, None).unwrap_err().to_string()
    }

    #[test]
    fn civil_days_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 365, 11_016, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn a_fixed_time_in_the_skipped_spring_hour_runs_once_right_after_the_jump() {
        // Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST.
        assert_eq!(
            next("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 3),
            ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"]
        );
        // New York, 8 March 2026: 02:00 EST becomes 03:00 EDT.
        assert_eq!(
            next("0 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 2),
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"]
        );
        // Lord Howe, 4 October 2026: 02:00 becomes 02:30 (a half-hour shift).
        assert_eq!(
            next("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00Z", 2),
            ["2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"]
        );
    }

    #[test]
    fn a_fixed_time_in_the_repeated_autumn_hour_runs_once() {
        // Berlin, 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
        assert_eq!(
            next("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 2),
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
        );
        // New York, 1 November 2026: 02:00 EDT becomes 01:00 EST.
        assert_eq!(
            next("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2),
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]
        );
        // Lord Howe, 5 April 2026: 02:00 becomes 01:30; 01:45 happens twice.
        assert_eq!(
            next("45 1 * * *", "Australia/Lord_Howe", "2026-04-04T00:00:00Z", 2),
            ["2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"]
        );
    }

    #[test]
    fn a_wildcard_hour_follows_the_wall_clock_through_both_transitions() {
        assert_eq!(
            next("30 * * * *", "Europe/Berlin", "2026-03-28T23:00:00Z", 3),
            ["2026-03-29T00:30:00+01:00", "2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00"]
        );
        assert_eq!(
            next("30 * * * *", "Europe/Berlin", "2026-10-24T23:00:00Z", 4),
            [
                "2026-10-25T01:30:00+02:00",
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T02:30:00+01:00",
                "2026-10-25T03:30:00+01:00"
            ]
        );
    }

    #[test]
    fn a_zone_without_daylight_saving_is_a_fixed_offset() {
        let s = Schedule::parse("30 2 * * *", Some("Asia/Kolkata")).unwrap();
        let t = s.next_after(ts("2026-12-02T12:00:00Z")).unwrap();
        assert_eq!(
            (t.to_rfc3339(), t.rfc3339_in(s.zone())),
            ("2026-12-02T21:00:00.000Z".to_owned(), "2026-12-03T02:30:00+05:30".to_owned())
        );
    }

    #[test]
    fn utc_is_the_default_zone() {
        let s = Schedule::parse("30 2 * * *", None).unwrap();
        assert_eq!(s.zone().name(), "UTC");
        assert_eq!(s.next_after(ts("2026-12-03T02:30:00Z")).unwrap(), ts("2026-12-04T02:30:00Z"));
        assert_eq!(s.next_after(ts("2026-12-03T02:29:59.999Z")).unwrap(), ts("2026-12-03T02:30:00Z"));
        assert_eq!(next("30 2 * * *", "utc", "2026-12-03T00:00:00Z", 1), ["2026-12-03T02:30:00Z"]);
    }

    #[test]
    fn last_nearest_weekday_and_nth_weekday() {
        assert_eq!(
            next("0 0 L * *", "UTC", "2026-02-10T00:00:00Z", 2),
            ["2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z"]
        );
        assert_eq!(next("0 0 L 2 *", "UTC", "2027-03-01T00:00:00Z", 1), ["2028-02-29T00:00:00Z"]);
        // 15 August 2026 is a Saturday, 15 November a Sunday.
        assert_eq!(next("0 0 15W 8 *", "UTC", "2026-01-01T00:00:00Z", 1), ["2026-08-14T00:00:00Z"]);
        assert_eq!(next("0 0 15W 11 *", "UTC", "2026-01-01T00:00:00Z", 1), ["2026-11-16T00:00:00Z"]);
        assert_eq!(
            next("0 9 * * FRI#2", "Europe/Berlin", "2026-12-01T00:00:00Z", 2),
            ["2026-12-11T09:00:00+01:00", "2027-01-08T09:00:00+01:00"]
        );
        assert_eq!(next("0 9 * * 5#L", "UTC", "2026-12-01T00:00:00Z", 1), ["2026-12-25T09:00:00Z"]);
    }

    #[test]
    fn a_leading_seconds_field_runs_to_the_second() {
        assert_eq!(
            next("*/15 * * * * *", "UTC", "2026-12-03T10:00:05Z", 3),
            ["2026-12-03T10:00:15Z", "2026-12-03T10:00:30Z", "2026-12-03T10:00:45Z"]
        );
        assert_eq!(next("0,15,30,45 * * * * *", "UTC", "2026-12-03T10:00:45Z", 1), ["2026-12-03T10:01:00Z"]);
        assert_eq!(next("5 30 2 * * *", "Europe/Berlin", "2026-12-03T00:00:00Z", 1), ["2026-12-03T02:30:05+01:00"]);
    }

    #[test]
    fn a_leap_day_schedule_waits_years() {
        assert_eq!(
            next("0 0 29 2 *", "UTC", "2026-03-01T00:00:00Z", 2),
            ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]
        );
        assert_eq!(next("@yearly", "Europe/Berlin", "2026-12-03T00:00:00Z", 1), ["2027-01-01T00:00:00+01:00"]);
    }

    #[test]
    fn macros_and_names() {
        let from = "2026-12-03T10:20:00Z";
        assert_eq!(next("@hourly", "UTC", from, 1), ["2026-12-03T11:00:00Z"]);
        assert_eq!(next("@daily", "UTC", from, 1), ["2026-12-04T00:00:00Z"]);
        assert_eq!(next("@weekly", "UTC", from, 1), ["2026-12-06T00:00:00Z"]);
        assert_eq!(next("@monthly", "UTC", from, 1), ["2027-01-01T00:00:00Z"]);
        assert_eq!(next("@annually", "UTC", from, 1), ["2027-01-01T00:00:00Z"]);
        assert_eq!(next("0 12 * JAN-MAR mon-fri", "UTC", from, 1), ["2027-01-01T12:00:00Z"]);
        // Day of month and day of week both restricted: either matches (Vixie cron).
        assert_eq!(next("0 0 13 * FRI", "UTC", from, 2), ["2026-12-04T00:00:00Z", "2026-12-11T00:00:00Z"]);
    }

    #[test]
    fn errors_name_the_field_and_the_problem() {
        assert_eq!(err("0 0 32 * *"), "field 3 (day of month) 32 out of range 1-31");
        assert_eq!(err("0 0 0 32 * *"), "field 4 (day of month) 32 out of range 1-31");
        assert_eq!(err("61 * * * *"), "field 1 (minute) 61 out of range 0-59");
        assert_eq!(err("0 24 * * *"), "field 2 (hour) 24 out of range 0-23");
        assert_eq!(err("0 0 * 13 *"), "field 4 (month) 13 out of range 1-12");
        assert_eq!(err("0 0 * * 8"), "field 5 (day of week) 8 out of range 0-7");
        assert_eq!(err("0 0 * * MON#6"), "field 5 (day of week) 6 out of range 1-5");
        assert_eq!(err("*/0 * * * *"), "field 1 (minute) 0 out of range 1-59");
        assert!(err("0 0 * FOO *")
            .starts_with("field 4 (month) \"FOO\" is not valid: expected *, a number from 1 to 12, JAN-DEC"));
        assert!(err("* * * *").starts_with("has 4 fields, expected 5"));
        assert!(err("0 * * * * * 2030").starts_with("has 7 fields"));
        assert_eq!(err(" "), "is empty, expected a cron expression such as \"30 2 * * *\" or @daily");
        assert!(err("@sometimes").starts_with("unknown macro \"@sometimes\""));
        assert_eq!(err("0 0 30 2 *"), "never occurs (no date matches it)");
        let zone = Schedule::parse("@daily", Some("Mars/Base")).unwrap_err();
        assert_eq!(
            (zone.field(), zone.to_string().as_str()),
            ("timezone", "unknown time zone \"Mars/Base\", expected an IANA name such as \"Europe/Berlin\" or \"UTC\"")
        );
        assert_eq!(ScheduleError::Never.field(), "schedule");
    }

    #[test]
    fn described_in_words() {
        let words = |e: &str| Schedule::parse(e, None).unwrap().describe();
        assert_eq!(words("30 2 * * *"), "every day at 02:30");
        assert_eq!(words("@daily"), "every day at 00:00");
        assert_eq!(words("@hourly"), "every hour at minute 0");
        assert_eq!(words("*/5 * * * *"), "every 5 minutes");
        assert_eq!(words("* * * * *"), "every minute");
        assert_eq!(words("*/5 * * * * *"), "every 5 seconds");
        assert_eq!(words("0,15,30,45 * * * * *"), "at second 0,15,30,45 of every minute");
        assert_eq!(words("0 9 * * 1-5"), "at 09:00 on Monday to Friday");
        assert_eq!(words("0 9 * * MON,WED"), "at 09:00 on Monday, Wednesday");
        assert_eq!(words("0 0 29 2 *"), "at 00:00 on 29 February");
        assert_eq!(words("0 0 L * *"), "at 00:00 on the last day of every month");
        assert_eq!(words("0 0 15W * *"), "at 00:00 on the weekday nearest day 15 of every month");
        assert_eq!(words("0 9 * * 5#2"), "at 09:00 on the second Friday of every month");
        assert_eq!(words("0 9 * * 5#L"), "at 09:00 on the last Friday of every month");
        assert_eq!(words("0 2,14 * * *"), "every day at 02:00, 14:00");
        assert_eq!(words("0 */6 * * *"), "every 6 hours");
        assert_eq!(words("@weekly"), "at 00:00 on Sunday");
        assert_eq!(words("@monthly"), "at 00:00 on day 1 of every month");
        assert_eq!(words("@yearly"), "at 00:00 on 1 January");
        assert_eq!(words("1-5 3 1,15 * *"), "cron \"1-5 3 1,15 * *\"");
    }

    #[test]
    fn the_api_view_has_words_and_the_next_run_in_utc_and_in_the_zone() {
        let s = Schedule::parse("30 2 * * *", Some("Europe/Berlin")).unwrap();
        let view = serde_json::to_value(ScheduleView::new(&s, ts("2026-12-03T12:00:00Z"))).unwrap();
        assert_eq!(
            view,
            serde_json::json!({"schedule": "30 2 * * *", "timezone": "Europe/Berlin",
                "scheduleText": "every day at 02:30", "nextExpectedAt": "2026-12-04T01:30:00.000Z",
                "nextExpectedLocal": "2026-12-04T02:30:00+01:00"})
        );
    }

    #[test]
    fn stored_as_expression_and_zone_and_read_back() {
        let s = Schedule::parse(" 30 2 * * * ", Some("europe/berlin")).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"expression":"30 2 * * *","timezone":"Europe/Berlin"}"#);
        assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), s);
        assert!(serde_json::from_str::<Schedule>(r#"{"expression":"0 0 32 * *","timezone":"UTC"}"#).is_err());
    }
}
