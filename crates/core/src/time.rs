//! Points in time as Unix epoch milliseconds (UTC), and their text forms.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds in one day.
pub const DAY_MS: i64 = 86_400_000;

/// A point in time: milliseconds since the Unix epoch, UTC.
///
/// The core never reads a clock; every handler takes `now: Timestamp` from the shell.
/// Serialized as a plain JSON integer (milliseconds).
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Builds a timestamp from Unix epoch milliseconds (UTC).
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Unix epoch milliseconds (UTC).
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This time plus `span`, saturating at the end of `i64` milliseconds.
    #[must_use]
    pub fn plus(self, span: Duration) -> Self {
        let ms = i64::try_from(span.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(ms))
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
        let dt = self.to_datetime()?;
        Some(format!("{:04}-{:02}-{:02}", dt.year(), u8::from(dt.month()), dt.day()))
    }

    /// RFC 3339 text in UTC with millisecond precision, e.g. `2026-11-21T19:40:00.123Z`.
    pub fn to_rfc3339(self) -> String {
        let Some(dt) = self.to_datetime() else {
            return self.0.to_string();
        };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            dt.millisecond()
        )
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
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(text, &format).ok()?;
        Some(Self(date.midnight().assume_utc().unix_timestamp() * 1000))
    }

    fn to_datetime(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000).ok()
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
    fn formats_and_parses_rfc3339_in_utc() {
        let t = Timestamp(1_763_753_600_123);
        assert_eq!(t.to_rfc3339(), "2025-11-21T19:33:20.123Z");
        assert_eq!(Timestamp::parse_rfc3339("2025-11-21T19:33:20.123Z"), Some(t));
        assert_eq!(Timestamp::parse_rfc3339("2025-11-21T20:33:20.123+01:00"), Some(t));
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn day_start_and_date_string_are_utc() {
        let t = Timestamp(1_763_753_600_123);
        assert_eq!(t.day_start().to_rfc3339(), "2025-11-21T00:00:00.000Z");
        assert_eq!(t.date_string().as_deref(), Some("2025-11-21"));
        assert_eq!(Timestamp::parse_date("2025-11-21"), Some(t.day_start()));
        assert_eq!(Timestamp::parse_date("2025-02-30"), None);
    }

    #[test]
    fn since_never_goes_negative() {
        assert_eq!(Timestamp(5).since(Timestamp(9)), Duration::ZERO);
        assert_eq!(Timestamp(9).since(Timestamp(5)), Duration::from_millis(4));
    }
}
