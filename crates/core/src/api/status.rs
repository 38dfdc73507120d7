//! `GET /api/v1/status`: the summary counts over every service a caller sees and one page of
//! their current states, built from what D1 holds (the dashboard reuses the same parts).
//!
//! No request reads or renders the whole fleet: the summary is counted by D1 (see
//! [`Summary::from_counts`]) and only one page of services ([`page`]) is read and built.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Problem;
use crate::access::Scope;
use crate::config::{Config, ServiceConfig, ServiceId};
use crate::monitor::{deadline, MonitorConfig, Status};
use crate::time::Timestamp;

/// A service's state as stored in D1: its `service_state` row joined with its latest
/// heartbeat.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct StoredState {
    /// The service.
    pub service_id: String,
    /// Last written status.
    pub status: Status,
    /// When that status began.
    pub status_since: Timestamp,
    /// Start of the open incident, if any.
    pub incident_started_at: Option<Timestamp>,
    /// Time up to which uptime rollups are written.
    pub accounted_until: Option<Timestamp>,
    /// When its last maintenance ended, as last written (the deadline counts from there when
    /// later than the last heartbeat; see [`crate::monitor::deadline`]).
    pub resumed_at: Option<Timestamp>,
    /// The latest written heartbeat.
    pub last_heartbeat: Option<Timestamp>,
    /// Its message.
    pub last_message: Option<String>,
    /// Whether its latest success came earlier than the service's `minInterval` after the one
    /// before (as written with its latest success or fail).
    pub pinged_too_often: bool,
}

/// Counts per status.
///
/// JSON: `{"total", "up", "late", "degraded", "down", "paused", "unknown"}`.
#[derive(Clone, Debug, Default, Eq, PartialEq, Serialize)]
pub struct Summary {
    /// Configured services.
    pub total: u32,
    /// `up`.
    pub up: u32,
    /// `late`.
    pub late: u32,
    /// `degraded`.
    pub degraded: u32,
    /// `down`.
    pub down: u32,
    /// `paused`.
    pub paused: u32,
    /// `maintenance`.
    pub maintenance: u32,
    /// `unknown`.
    pub unknown: u32,
}

impl Summary {
    /// The summary from per-status counts, as D1 answers `GROUP BY status`: `(status as
    /// stored, count)`. A status this version does not know counts as `unknown`.
    pub fn from_counts<'a>(counts: impl IntoIterator<Item = (&'a str, u32)>) -> Self {
        let mut summary = Self::default();
        for (status, n) in counts {
            summary.add(Status::parse(status).unwrap_or(Status::Unknown), n);
        }
        summary
    }

    /// The summary of `total` services, `disabled` of them disabled, from D1's counts of
    /// those that have a stored state, `(status as stored, count, how many of them are
    /// disabled)`: the others have never been written and count as `unknown`, or `paused`
    /// when disabled (as [`current`]). Counts that exceed `total` (they cannot, from a
    /// query restricted to these services) leave the never-written ones at 0.
    pub fn from_stored<'a>(stored: impl IntoIterator<Item = (&'a str, u32, u32)>, total: u32, disabled: u32) -> Self {
        let (mut seen, mut seen_disabled) = (0u32, 0u32);
        let mut summary = Self::from_counts(stored.into_iter().map(|(status, n, d)| {
            seen = seen.saturating_add(n);
            seen_disabled = seen_disabled.saturating_add(d);
            (status, n)
        }));
        let unseen_disabled = disabled.saturating_sub(seen_disabled);
        let unseen = total.saturating_sub(seen);
        summary.add(Status::Paused, unseen_disabled.min(unseen));
        summary.add(Status::Unknown, unseen.saturating_sub(unseen_disabled));
        summary
    }

    /// Counts one service with `status`.
    pub fn count(&mut self, status: Status) {
        self.add(status, 1);
    }

    /// Counts `n` services with `status`.
    fn add(&mut self, status: Status, n: u32) {
        self.total += n;
        *match status {
            Status::Up => &mut self.up,
            Status::Late => &mut self.late,
            Status::Degraded => &mut self.degraded,
            Status::Down => &mut self.down,
            Status::Paused => &mut self.paused,
            Status::Maintenance => &mut self.maintenance,
            Status::Unknown => &mut self.unknown,
        } += n;
    }
}

/// One service in the report; times are RFC 3339 UTC.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    /// Service id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Group id, if any.
    pub group: Option<String>,
    /// Current status; `unknown` (or `paused` if disabled) before the first write.
    pub status: Status,
    /// When the status began.
    pub status_since: Option<String>,
    /// The latest written heartbeat.
    pub last_heartbeat: Option<String>,
    /// Whole seconds from it to the report time.
    pub seconds_since_last_heartbeat: Option<u64>,
    /// Its message.
    pub message: Option<String>,
    /// When the next heartbeat (or, while `late`, the end of the grace period) is due.
    pub next_deadline: Option<String>,
    /// Start of the open incident, if any.
    pub incident_started_at: Option<String>,
    /// Whether the latest success came earlier than the service's `minInterval` after the
    /// one before (a job running twice, two hosts sending for one service); `false` without
    /// `minInterval`. No status change goes with it.
    pub pinged_too_often: bool,
}

/// One page of the report. JSON: `{"generatedAt", "summary": Summary, "services":
/// [ServiceStatus], "nextCursor": string | null}`.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// When it was built.
    pub generated_at: String,
    /// Counts over every service the caller sees (not only this page's, and whatever the
    /// `serviceId` filter).
    pub summary: Summary,
    /// This page's services, in config order.
    pub services: Vec<ServiceStatus>,
    /// The `cursor` of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl StatusReport {
    /// Keeps only the services `keep` accepts (e.g. those a viewer may see) and recounts the
    /// summary over them.
    pub fn retain(&mut self, keep: impl Fn(&ServiceStatus) -> bool) {
        self.services.retain(|s| keep(s));
        let mut summary = Summary::default();
        for s in &self.services {
            summary.count(s.status);
        }
        self.summary = summary;
    }
}

/// The status to show for `service` given its stored state: the stored status, or before
/// the first write `unknown` (`paused` when disabled).
pub fn current(service: &ServiceConfig, stored: Option<&StoredState>) -> Status {
    stored.map_or(if service.enabled { Status::Unknown } else { Status::Paused }, |r| r.status)
}

/// Builds the report at `now` for every configured service from the stored states; services
/// without one (never written) are `unknown`, or `paused` when disabled. The summary counts
/// them all and there is no next page: for a whole (small) fleet, and tests.
pub fn report(config: &Config, states: &[StoredState], now: Timestamp) -> StatusReport {
    let services: Vec<&ServiceConfig> = config.services.iter().collect();
    let mut summary = Summary::default();
    let by_id: BTreeMap<&str, &StoredState> = states.iter().map(|s| (s.service_id.as_str(), s)).collect();
    for s in &services {
        summary.count(current(s, by_id.get(s.id.as_str()).copied()));
    }
    report_page(&services, states, summary, None, now)
}

/// Builds one page of the report at `now`: `services` (the page, in order) from the stored
/// states (only theirs are needed), with the `summary` counted over all the caller sees and
/// the `next_cursor` of [`page`].
pub fn report_page(
    services: &[&ServiceConfig],
    states: &[StoredState],
    summary: Summary,
    next_cursor: Option<String>,
    now: Timestamp,
) -> StatusReport {
    let by_id: BTreeMap<&str, &StoredState> = states.iter().map(|s| (s.service_id.as_str(), s)).collect();
    let rfc = |t: Option<Timestamp>| t.map(Timestamp::to_rfc3339);
    let services = services
        .iter()
        .map(|s| {
            let stored = by_id.get(s.id.as_str()).copied();
            let status = current(s, stored);
            let last = stored.and_then(|r| r.last_heartbeat);
            ServiceStatus {
                id: s.id.to_string(),
                name: s.name.clone(),
                group: s.group.clone(),
                status,
                status_since: rfc(stored.map(|r| r.status_since)),
                last_heartbeat: rfc(last),
                seconds_since_last_heartbeat: last.map(|t| now.since(t).as_secs()),
                message: stored.and_then(|r| r.last_message.clone()),
                next_deadline: rfc(
                    deadline(status, last, stored.and_then(|r| r.resumed_at), &MonitorConfig::from(*s)).map(|(t, _)| t)
                ),
                incident_started_at: rfc(stored.and_then(|r| r.incident_started_at)),
                pinged_too_often: stored.is_some_and(|r| r.pinged_too_often),
            }
        })
        .collect();
    StatusReport { generated_at: now.to_rfc3339(), summary, services, next_cursor }
}

/// The services `scope` sees, in config order; only those of `ids` when any are given (ids
/// not configured or not seen are left out, each service once): the listing that the
/// status, uptime and services APIs cut pages from with [`page`].
pub fn listed<'c>(config: &'c Config, scope: Scope<'_>, ids: &[ServiceId]) -> Vec<&'c ServiceConfig> {
    let wanted: BTreeSet<&str> = ids.iter().map(ServiceId::as_str).collect();
    config
        .services
        .iter()
        .filter(|s| (wanted.is_empty() || wanted.contains(s.id.as_str())) && scope.sees(config, s))
        .collect()
}

/// Cuts the page after `cursor` from `items` (a listing in its order, e.g. the services a
/// caller sees), at most `limit` long. The cursor is the id (`id(item)`) of the last item
/// of the previous page, and the returned cursor the id of this page's last item when more
/// follow (`None` on the last page), so a listing that gains or loses items between
/// requests neither repeats nor skips the others.
///
/// # Errors
/// 400 naming `cursor` when no item has that id (it came from another listing, or its
/// service was removed by a deploy since): start again without a cursor.
pub fn page<'a, T>(
    items: &'a [T],
    id: impl Fn(&T) -> &str,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(&'a [T], Option<String>), Problem> {
    let start = match cursor {
        None => 0,
        Some(c) => items.iter().position(|i| id(i) == c).map(|i| i + 1).ok_or_else(|| {
            Problem::invalid_field(
                "cursor",
                format!("cursor {c:?} names no service of this listing (removed since?); start again without cursor"),
            )
        })?,
    };
    let rest = items.get(start..).unwrap_or_default();
    let shown = rest.get(..limit).unwrap_or(rest);
    let next = (rest.len() > shown.len()).then(|| shown.last().map(|i| id(i).to_owned())).flatten();
    Ok((shown, next))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn unwritten_services_are_unknown_or_paused_and_deadlines_follow_the_config() {
        let config = Config::parse(
            Some(
                r#"{"services": [{"id": "a", "stalenessThreshold": 60}, {"id": "b"}, {"id": "c", "enabled": false}]}"#,
            ),
            None,
        )
        .unwrap();
        let states = [StoredState {
            service_id: "a".into(),
            status: Status::Up,
            status_since: Timestamp::from_millis(1_000),
            incident_started_at: None,
            accounted_until: Some(Timestamp::from_millis(1_000)),
            resumed_at: None,
            last_heartbeat: Some(Timestamp::from_millis(10_000)),
            last_message: Some("ok".into()),
            pinged_too_often: true,
        }];
        let r = report(&config, &states, Timestamp::from_millis(25_500));
        assert_eq!(r.summary, Summary { total: 3, up: 1, paused: 1, unknown: 1, ..Summary::default() });
        let a = &r.services[0];
        assert_eq!(a.seconds_since_last_heartbeat, Some(15));
        assert!(a.pinged_too_often && !r.services[1].pinged_too_often);
        assert_eq!(a.next_deadline.as_deref(), Some("1970-01-01T00:01:10.000Z"));
        assert_eq!((r.services[1].status, r.services[2].status), (Status::Unknown, Status::Paused));
        assert_eq!(r.services[1].next_deadline, None);
        assert_eq!(r.next_cursor, None);
    }

    #[test]
    fn pages_follow_the_cursor_to_the_end() {
        fn id<'a>(s: &'a &str) -> &'a str {
            s
        }
        let ids = ["a", "b", "c", "d", "e"];
        let (first, next) = page(&ids, id, None, 2).unwrap();
        assert_eq!((first, next.as_deref()), (&ids[..2], Some("b")));
        let (second, next) = page(&ids, id, next.as_deref(), 2).unwrap();
        assert_eq!((second, next.as_deref()), (&ids[2..4], Some("d")));
        let (last, next) = page(&ids, id, next.as_deref(), 2).unwrap();
        assert_eq!((last, next), (&ids[4..], None), "the last page has no cursor");
        assert_eq!(page(&ids, id, None, 5).unwrap(), (&ids[..], None), "exactly one full page");
        assert_eq!(page(&ids, id, Some("e"), 5).unwrap(), (&ids[5..], None), "after the last item: empty");
        let empty: [&str; 0] = [];
        assert_eq!(page(&empty, id, None, 5).unwrap(), (&empty[..], None));
    }

    #[test]
    fn listings_keep_config_order_and_leave_out_unseen_ids() {
        let config = Config::parse(
            Some(
                r#"{"services": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
                     "groups": [{"id": "g", "services": ["a", "c"]}]}"#,
            ),
            None,
        )
        .unwrap();
        let ids = |v: Vec<&ServiceConfig>| v.iter().map(|s| s.id.to_string()).collect::<Vec<_>>();
        let id = |s: &str| ServiceId::parse(s).unwrap();
        assert_eq!(ids(listed(&config, Scope::All, &[])), ["a", "b", "c"]);
        assert_eq!(ids(listed(&config, Scope::All, &[id("c"), id("a"), id("x"), id("a")])), ["a", "c"]);
        let groups = ["g".to_owned()];
        assert_eq!(ids(listed(&config, Scope::Groups(&groups), &[id("b"), id("c")])), ["c"], "b is not seen");
    }

    #[test]
    fn an_unknown_cursor_is_a_400_naming_it() {
        let p = page(&["a", "b"], |s| s, Some("gone"), 1).unwrap_err();
        assert_eq!((p.status, p.field.as_deref()), (400, Some("cursor")));
    }

    #[test]
    fn summaries_from_counts_add_up_and_read_unknown_words_as_unknown() {
        let s = Summary::from_counts([("up", 9_990), ("down", 3), ("late", 2), ("paused", 1), ("someday", 4)]);
        assert_eq!(
            s,
            Summary { total: 10_000, up: 9_990, down: 3, late: 2, paused: 1, unknown: 4, ..Summary::default() }
        );
    }

    #[test]
    fn never_written_services_are_counted_by_difference() {
        // 10,000 services, 7 disabled; 1,000 written (2 of them disabled, one still `up`).
        let s = Summary::from_stored([("up", 995, 1), ("down", 4, 0), ("paused", 1, 1)], 10_000, 7);
        assert_eq!(
            s,
            Summary { total: 10_000, up: 995, down: 4, paused: 1 + 5, unknown: 9_000 - 5, ..Summary::default() }
        );
        assert_eq!(Summary::from_stored([], 3, 1), Summary { total: 3, paused: 1, unknown: 2, ..Summary::default() });
        let over = Summary::from_stored([("up", 5, 2)], 3, 1);
        assert_eq!((over.total, over.up, over.paused, over.unknown), (5, 5, 0, 0), "never negative");
    }
}
