//! Query parameters of the read APIs, parsed with limits. Unknown parameters are ignored.

// Request data reaches every line here: no slicing by byte index, no indexing.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::time::Duration;

use super::Problem;
use crate::config::{ServiceId, Settings, EXTERNAL_SUBJECT, TEST_SUBJECT};
use crate::time::{Timestamp, DAY};

/// Default page size of `/api/v1/logs` and `/api/v1/incidents`.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub const MAX_LIMIT: u32 = 500;

/// Default page size of the service listings (`/api/v1/status`, `/api/v1/uptime`,
/// `/api/v1/services`) and of the dashboard's service list.
pub const STATUS_DEFAULT_LIMIT: u32 = 100;

/// The paging of every service listing: `limit=&cursor=&serviceId=` of `GET /api/v1/status`,
/// `GET /api/v1/uptime` and `GET /api/v1/services` (cut by `api::status::page`).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ListQuery {
    /// Page size, 1..=500 (default 100).
    pub limit: u32,
    /// The previous page's `nextCursor` (opaque to callers: today the last service id shown).
    pub cursor: Option<String>,
    /// Only these services (`serviceId` repeated, or comma-separated, at most 500); empty
    /// means all the caller sees.
    pub service_ids: Vec<ServiceId>,
}

impl ListQuery {
    /// Parses the parameters.
    ///
    /// # Errors
    /// 400 naming `limit` (not 1..=500, with `limit` 500), `cursor` (empty or over 200
    /// bytes) or `serviceId` (malformed, or more than 500).
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, Problem> {
        let cursor = get(pairs, "cursor").map(ToOwned::to_owned);
        match &cursor {
            Some(c) if c.is_empty() => {
                return Err(Problem::invalid_field("cursor", "cursor must be a nextCursor from a previous page"))
            }
            Some(c) if c.len() > 200 => return Err(Problem::too_long("cursor", 200, c.len())),
            _ => {}
        }
        Ok(Self { limit: limit_or(pairs, STATUS_DEFAULT_LIMIT)?, cursor, service_ids: services(pairs)? })
    }
}

/// `GET /api/v1/services?limit=&cursor=&serviceId=&group=`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ServicesQuery {
    /// The page ([`ListQuery`]).
    pub list: ListQuery,
    /// Only the services of this group (`group`).
    pub group: Option<String>,
}

impl ServicesQuery {
    /// Parses the parameters.
    ///
    /// # Errors
    /// As [`ListQuery::parse`]; 400 naming `group` when it is empty or over 64 bytes.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, Problem> {
        let group = get(pairs, "group").map(ToOwned::to_owned);
        match &group {
            Some(g) if g.is_empty() => return Err(Problem::invalid_field("group", "group must be a group id")),
            Some(g) if g.len() > 64 => return Err(Problem::too_long("group", 64, g.len())),
            _ => {}
        }
        Ok(Self { list: ListQuery::parse(pairs)?, group })
    }
}

/// `GET /?page=&limit=`: which page of the dashboard's service list.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct PageQuery {
    /// Page number from 1 (default 1; one past the end shows the last page).
    pub page: usize,
    /// Services per page, 1..=500 (default 100).
    pub limit: u32,
}

impl PageQuery {
    /// Parses the parameters.
    ///
    /// # Errors
    /// 400 naming `page` (not an integer ≥ 1) or `limit` (not 1..=500).
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, Problem> {
        let page =
            match get(pairs, "page") {
                None => 1,
                Some(v) => v.parse::<usize>().ok().filter(|p| *p >= 1).ok_or_else(|| {
                    Problem::invalid_field("page", format!("page must be an integer from 1, got {v:?}"))
                })?,
            };
        Ok(Self { page, limit: limit_or(pairs, STATUS_DEFAULT_LIMIT)? })
    }

    /// The other parameters of `pairs` (all but `page`), URL-encoded, for page links.
    pub fn others(pairs: &[(String, String)]) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().filter(|(k, _)| k != "page"))
            .finish()
    }
}

/// `GET /api/v1/logs?serviceId=&limit=&before=`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct LogsQuery {
    /// Required service.
    pub service_id: ServiceId,
    /// Page size, 1..=500 (default 50).
    pub limit: u32,
    /// Only heartbeats received strictly before this time (epoch ms or RFC 3339).
    pub before: Option<Timestamp>,
}

/// `GET /api/v1/services/{id}/runs?limit=&cursor=`: a page of a service's runs, newest
/// first.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct RunsQuery {
    /// Page size, 1..=500 (default 50).
    pub limit: u32,
    /// Only runs numbered below this (the previous page's `nextCursor`).
    pub cursor: Option<u64>,
}

impl RunsQuery {
    /// Parses the parameters.
    ///
    /// # Errors
    /// 400 naming `limit` (not 1..=500) or `cursor` (not a non-negative integer).
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, Problem> {
        let cursor = match get(pairs, "cursor") {
            None => None,
            Some(v) => Some(v.parse::<u64>().map_err(|_| {
                Problem::invalid_field("cursor", format!("cursor must be a previous page's nextCursor, got {v:?}"))
            })?),
        };
        Ok(Self { limit: limit_or(pairs, DEFAULT_LIMIT)?, cursor })
    }
}

/// `GET /api/v1/incidents?serviceId=&kind=&limit=`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct IncidentsQuery {
    /// Optional service filter.
    pub service_id: Option<ServiceId>,
    /// Optional filter on the cause's kind (`kind=missed`, `overrun`, `failed`, …).
    pub kind: Option<crate::run::Reason>,
    /// Page size, 1..=500 (default 50).
    pub limit: u32,
}

/// `GET /api/v1/uptime?serviceId=&limit=&cursor=&from=&to=&format=`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct UptimeQuery {
    /// The page of services ([`ListQuery`]: `limit`, `cursor`, `serviceId`).
    pub list: ListQuery,
    /// First day (00:00 UTC), from `from=YYYY-MM-DD`; default: `retentionDays` ago.
    pub from: Timestamp,
    /// Last day (00:00 UTC), from `to=YYYY-MM-DD`; default: today.
    pub to: Timestamp,
    /// `format=csv` instead of JSON.
    pub csv: bool,
}

/// `GET /api/v1/alerts/history?since=&serviceId=&channel=&limit=` and
/// `GET /api/v1/alerts/recent?since=&limit=`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct AlertsQuery {
    /// Only rows at or after this time: epoch ms, RFC 3339, or a look-back such as `90m`,
    /// `24h`, `7d` (default `24h`).
    pub since: Timestamp,
    /// Only this service's notifications (`serviceId`), or `external` / `test`
    /// (`subject`).
    pub subject: Option<String>,
    /// Only this channel's attempts.
    pub channel: Option<String>,
    /// Page size, 1..=500 (default 50).
    pub limit: u32,
}

impl AlertsQuery {
    /// Parses the parameters at `now`.
    ///
    /// # Errors
    /// 400 naming `since` (not epoch ms, RFC 3339 or `N` + `m`/`h`/`d` up to 400 days),
    /// `serviceId` (malformed), `subject` (not `external` or `test`), `channel` (over 64
    /// characters) or `limit` (not 1..=500).
    pub fn parse(pairs: &[(String, String)], now: Timestamp) -> Result<Self, Problem> {
        let since = match get(pairs, "since") {
            None => now - DAY,
            Some(v) => lookback(v, now).ok_or_else(|| {
                Problem::invalid_field(
                    "since",
                    format!("since must be epoch milliseconds, RFC 3339 or a look-back like 90m, 24h, 7d (at most 400d), got {v:?}"),
                )
            })?,
        };
        let subject = match (service(pairs)?, get(pairs, "subject")) {
            (Some(id), _) => Some(id.to_string()),
            (None, Some(s @ (EXTERNAL_SUBJECT | TEST_SUBJECT))) => Some(s.to_owned()),
            (None, Some(other)) => {
                return Err(Problem::invalid_field(
                    "subject",
                    format!("subject must be external or test (use serviceId for a service), got {other:?}"),
                ))
            }
            (None, None) => None,
        };
        let channel = get(pairs, "channel").map(ToOwned::to_owned);
        if let Some(c) = &channel {
            if c.chars().count() > 64 {
                return Err(Problem::too_long("channel", 64, c.len()));
            }
        }
        Ok(Self { since, subject, channel, limit: limit(pairs)? })
    }
}

/// `since` as epoch ms, RFC 3339, or `N` minutes/hours/days before `now` (≤ 400 days).
fn lookback(v: &str, now: Timestamp) -> Option<Timestamp> {
    if let Some(t) = v.parse::<i64>().ok().map(Timestamp::from_millis).or_else(|| Timestamp::parse_rfc3339(v)) {
        return Some(t);
    }
    // By suffix, never by byte index: the value may end in any character.
    let units = [("m", 60), ("h", 3_600), ("d", 86_400)];
    let (n, unit_secs) = units.iter().find_map(|(unit, secs)| v.strip_suffix(unit).map(|n| (n, *secs)))?;
    let n = n.parse::<i64>().ok().and_then(|n| u64::try_from(n).ok())?;
    let back = Duration::from_secs(n.checked_mul(unit_secs)?);
    (back <= DAY * 400).then(|| now - back)
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn service(pairs: &[(String, String)]) -> Result<Option<ServiceId>, Problem> {
    get(pairs, "serviceId")
        .map(|v| ServiceId::parse(v).map_err(|r| Problem::invalid_field("serviceId", format!("serviceId {r}"))))
        .transpose()
}

/// Every `serviceId` value, repeated or comma-separated; at most [`MAX_LIMIT`].
fn services(pairs: &[(String, String)]) -> Result<Vec<ServiceId>, Problem> {
    let ids: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "serviceId")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if ids.len() > MAX_LIMIT as usize {
        let mut p = Problem::invalid_field("serviceId", format!("at most {MAX_LIMIT} services per request"));
        p.limit = Some(MAX_LIMIT);
        return Err(p);
    }
    ids.into_iter()
        .map(|v| ServiceId::parse(v).map_err(|r| Problem::invalid_field("serviceId", format!("serviceId {r}"))))
        .collect()
}

fn limit(pairs: &[(String, String)]) -> Result<u32, Problem> {
    limit_or(pairs, DEFAULT_LIMIT)
}

/// `limit`, 1..=[`MAX_LIMIT`], or `default` when absent.
fn limit_or(pairs: &[(String, String)], default: u32) -> Result<u32, Problem> {
    let Some(text) = get(pairs, "limit") else {
        return Ok(default);
    };
    match text.parse::<u32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => {
            let mut p = Problem::invalid_field(
                "limit",
                format!("limit must be an integer from 1 to {MAX_LIMIT}, got {text:?}"),
            );
            p.limit = Some(MAX_LIMIT);
            Err(p)
        }
    }
}

impl LogsQuery {
    /// Parses the parameters.
    ///
    /// # Errors
    /// 400 naming `serviceId` (missing or malformed), `limit` (not 1..=500) or `before`
    /// (neither epoch milliseconds nor RFC 3339).
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, Problem> {
        let service_id = service(pairs)?.ok_or_else(|| Problem::invalid_field("serviceId", "serviceId is required"))?;
        let before = get(pairs, "before")
            .map(|v| {
                v.parse::<i64>().ok().map(Timestamp::from_millis).or_else(|| Timestamp::parse_rfc3339(v)).ok_or_else(
                    || {
                        Problem::invalid_field(
                            "before",
                            format!("before must be epoch milliseconds or RFC 3339, got {v:?}"),
                        )
                    },
                )
            })
            .transpose()?;
        Ok(Self { service_id, limit: limit(pairs)?, before })
    }
}

impl IncidentsQuery {
    /// Parses the parameters.
    ///
    /// # Errors
    /// 400 naming `serviceId` (malformed), `kind` (not a reason kind) or `limit` (not
    /// 1..=500).
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, Problem> {
        let kind = match get(pairs, "kind") {
            None => None,
            Some(v) => Some(crate::run::Reason::parse(v).ok_or_else(|| {
                let kinds: Vec<&str> = crate::run::Reason::ALL.iter().map(|r| r.as_str()).collect();
                Problem::invalid_field("kind", format!("kind must be one of {}, got {v:?}", kinds.join(", ")))
            })?),
        };
        Ok(Self { service_id: service(pairs)?, kind, limit: limit(pairs)? })
    }
}

impl UptimeQuery {
    /// Parses the parameters; without `from`, the range is the uptime window of `settings`
    /// ([`Settings::uptime_window_start`]) ending on `to`, by default today (UTC, from `now`).
    ///
    /// # Errors
    /// 400 naming `from`/`to` (not `YYYY-MM-DD`, or `from` after `to`), the range (more than
    /// 3650 days), `format` (not `json` or `csv`), or as [`ListQuery::parse`] (`limit`,
    /// `cursor`, `serviceId`).
    pub fn parse(pairs: &[(String, String)], now: Timestamp, settings: &Settings) -> Result<Self, Problem> {
        let date = |name: &str| {
            get(pairs, name)
                .map(|v| {
                    Timestamp::parse_date(v).ok_or_else(|| {
                        Problem::invalid_field(name, format!("{name} must be a date YYYY-MM-DD, got {v:?}"))
                    })
                })
                .transpose()
        };
        let to = date("to")?.unwrap_or_else(|| now.day_start());
        let from = date("from")?.unwrap_or_else(|| settings.uptime_window_start(to));
        if from > to {
            return Err(Problem::invalid_field("from", "from must not be after to"));
        }
        if to.since(from) >= DAY * 3650 {
            let mut p = Problem::invalid_field("from", "a range may span at most 3650 days");
            p.limit = Some(3650);
            return Err(p);
        }
        let csv = match get(pairs, "format") {
            None | Some("json") => false,
            Some("csv") => true,
            Some(other) => {
                return Err(Problem::invalid_field("format", format!("format must be json or csv, got {other:?}")))
            }
        };
        Ok(Self { list: ListQuery::parse(pairs)?, from, to, csv })
    }
}

/// Cuts a page from rows fetched newest first with `LIMIT limit + 1` (`received_ms`,
/// descending), so that `before=<next>` on the next request neither repeats nor skips a row.
/// Returns how many rows to show and the `before` value for the next page (`None` on the
/// last page). When the row after the page shares the last shown row's millisecond, the
/// rows of that millisecond move to the next page. Only more than `limit` heartbeats of one
/// service in one millisecond cannot be split; the page then ends after them.
pub fn page(received_ms: &[i64], limit: usize) -> (usize, Option<i64>) {
    let (Some(shown), Some(&first_hidden)) = (received_ms.get(..limit), received_ms.get(limit)) else {
        return (received_ms.len().min(limit), None);
    };
    let Some(&last_shown) = shown.last() else {
        return (0, None);
    };
    if last_shown != first_hidden {
        return (limit, Some(last_shown));
    }
    match shown.iter().take_while(|&&t| t != first_hidden).count() {
        0 => (limit, Some(first_hidden)),
        keep => (keep, Some(first_hidden + 1)),
    }
}

#[cfg(test)]
mod alerts_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::time::DAY_MS;

    fn q(pairs: &[(&str, &str)]) -> Result<AlertsQuery, Problem> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        AlertsQuery::parse(&pairs, Timestamp::from_millis(10 * DAY_MS))
    }

    #[test]
    fn since_takes_times_and_look_backs() {
        assert_eq!(q(&[]).unwrap().since, Timestamp::from_millis(9 * DAY_MS));
        assert_eq!(q(&[("since", "90m")]).unwrap().since, Timestamp::from_millis(10 * DAY_MS - 90 * 60_000));
        assert_eq!(q(&[("since", "2d")]).unwrap().since, Timestamp::from_millis(8 * DAY_MS));
        assert_eq!(q(&[("since", "1970-01-02T00:00:00Z")]).unwrap().since, Timestamp::from_millis(DAY_MS));
        for bad in ["soon", "5w", "-1h", "401d", ""] {
            assert_eq!(q(&[("since", bad)]).unwrap_err().field.as_deref(), Some("since"), "{bad}");
        }
        assert_eq!(q(&[("subject", "nope")]).unwrap_err().field.as_deref(), Some("subject"));
        assert_eq!(q(&[("serviceId", "api"), ("channel", "ops")]).unwrap().subject.as_deref(), Some("api"));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn q(s: &str) -> Vec<(String, String)> {
        s.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect()
    }

    #[test]
    fn logs_query_limits() {
        let l = LogsQuery::parse(&q("serviceId=api&limit=10&before=1700000000000")).unwrap();
        assert_eq!((l.limit, l.before), (10, Some(Timestamp::from_millis(1_700_000_000_000))));
        assert_eq!(LogsQuery::parse(&q("limit=10")).unwrap_err().field.as_deref(), Some("serviceId"));
        assert_eq!(LogsQuery::parse(&q("serviceId=a&limit=0")).unwrap_err().field.as_deref(), Some("limit"));
        assert_eq!(LogsQuery::parse(&q("serviceId=a&limit=501")).unwrap_err().limit, Some(500));
        assert_eq!(LogsQuery::parse(&q("serviceId=a&before=soon")).unwrap_err().field.as_deref(), Some("before"));
    }

    #[test]
    fn incidents_filter_by_kind() {
        let i = IncidentsQuery::parse(&q("kind=overrun&serviceId=job")).unwrap();
        assert_eq!(i.kind, Some(crate::run::Reason::Overrun));
        assert_eq!(IncidentsQuery::parse(&q("")).unwrap().kind, None);
        let p = IncidentsQuery::parse(&q("kind=gremlins")).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("kind"));
        assert!(p.detail.contains("noHeartbeat") && p.detail.contains("\"gremlins\""), "{}", p.detail);
        for r in crate::run::Reason::ALL {
            assert_eq!(crate::run::Reason::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn status_query_pages_by_limit_and_cursor() {
        let s = ListQuery::parse(&q("")).unwrap();
        assert_eq!((s.limit, s.cursor, s.service_ids.len()), (100, None, 0), "the defaults");
        let s = ListQuery::parse(&q("limit=500&cursor=api&serviceId=a,b")).unwrap();
        assert_eq!((s.limit, s.cursor.as_deref(), s.service_ids.len()), (500, Some("api"), 2));
        for bad in ["limit=0", "limit=501", "limit=ten", "limit=-1"] {
            let p = ListQuery::parse(&q(bad)).unwrap_err();
            assert_eq!((p.status, p.field.as_deref(), p.limit), (400, Some("limit"), Some(500)), "{bad}");
        }
        assert_eq!(ListQuery::parse(&q("cursor=")).unwrap_err().field.as_deref(), Some("cursor"));
        let long = format!("cursor={}", "x".repeat(201));
        assert_eq!(ListQuery::parse(&q(&long)).unwrap_err().limit, Some(200));
    }

    #[test]
    fn uptime_and_services_page_as_the_status_does() {
        let now = Timestamp::parse_rfc3339("2026-11-21T12:00:00Z").unwrap();
        let uptime = |s: &str| UptimeQuery::parse(&q(s), now, &Settings::default());
        let u = uptime("limit=20&cursor=api&serviceId=a").unwrap();
        assert_eq!(u.list, ListQuery::parse(&q("limit=20&cursor=api&serviceId=a")).unwrap());
        assert_eq!(uptime("").unwrap().list.limit, 100);
        for (bad, field) in [("limit=0", "limit"), ("limit=501", "limit"), ("cursor=", "cursor")] {
            assert_eq!(uptime(bad).unwrap_err().field.as_deref(), Some(field), "{bad}");
            assert_eq!(ServicesQuery::parse(&q(bad)).unwrap_err().field.as_deref(), Some(field), "{bad}");
        }
        let s = ServicesQuery::parse(&q("group=prod&limit=2")).unwrap();
        assert_eq!((s.group.as_deref(), s.list.limit), (Some("prod"), 2));
        assert_eq!(ServicesQuery::parse(&q("group=")).unwrap_err().field.as_deref(), Some("group"));
    }

    #[test]
    fn dashboard_pages_start_at_one_and_keep_the_other_parameters() {
        assert_eq!(PageQuery::parse(&q("")).unwrap(), PageQuery { page: 1, limit: 100 });
        assert_eq!(PageQuery::parse(&q("page=3&limit=20")).unwrap(), PageQuery { page: 3, limit: 20 });
        for bad in ["page=0", "page=x", "page=-2"] {
            assert_eq!(PageQuery::parse(&q(bad)).unwrap_err().field.as_deref(), Some("page"), "{bad}");
        }
        assert_eq!(PageQuery::parse(&q("limit=1000")).unwrap_err().field.as_deref(), Some("limit"));
        assert_eq!(PageQuery::others(&q("activity=7d&page=2&limit=20")), "activity=7d&limit=20");
    }

    #[test]
    fn pages_never_split_a_millisecond() {
        assert_eq!(page(&[9, 8, 7], 5), (3, None));
        assert_eq!(page(&[9, 8, 7], 3), (3, None));
        assert_eq!(page(&[9, 8, 7, 6], 3), (3, Some(7)), "a full page, next starts below 7");
        assert_eq!(page(&[9, 8, 7, 7], 3), (2, Some(8)), "the 7s move to the next page together");
        assert_eq!(page(&[7, 7, 7, 7], 3), (3, Some(7)));
    }

    #[test]
    fn uptime_defaults_to_the_retention_window() {
        let now = Timestamp::parse_rfc3339("2026-11-21T12:00:00Z").unwrap();
        let u = UptimeQuery::parse(&[], now, &Settings::default()).unwrap();
        assert_eq!(u.to.date_string().unwrap(), "2026-11-21");
        assert_eq!(u.from.date_string().unwrap(), "2026-07-25");
        let p = UptimeQuery::parse(&q("from=2026-11-22&to=2026-11-21"), now, &Settings::default()).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("from"));
        assert!(UptimeQuery::parse(&q("format=xml"), now, &Settings::default()).is_err());
        assert!(UptimeQuery::parse(&q("format=csv"), now, &Settings::default()).unwrap().csv);
        let many = UptimeQuery::parse(&q("serviceId=a,b&serviceId=c"), now, &Settings::default()).unwrap();
        assert_eq!(many.list.service_ids.iter().map(ServiceId::as_str).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(
            UptimeQuery::parse(&q("serviceId=A%20B"), now, &Settings::default()).unwrap_err().field.as_deref(),
            Some("serviceId")
        );
    }

    #[test]
    fn runs_query_pages_by_run_number() {
        let pairs = |p: &[(&str, &str)]| p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        assert_eq!(RunsQuery::parse(&[]).unwrap(), RunsQuery { limit: 50, cursor: None });
        let q = RunsQuery::parse(&pairs(&[("limit", "2"), ("cursor", "17")])).unwrap();
        assert_eq!(q, RunsQuery { limit: 2, cursor: Some(17) });
        assert_eq!(RunsQuery::parse(&pairs(&[("cursor", "x")])).unwrap_err().field.as_deref(), Some("cursor"));
        assert_eq!(RunsQuery::parse(&pairs(&[("limit", "0")])).unwrap_err().field.as_deref(), Some("limit"));
    }
}
