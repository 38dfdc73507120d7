//! What one hourly cron tick does, decided here and carried out by the Worker
//! (`crates/worker/src/housekeeping.rs`), within the free plan's 50 subrequests
//! ([`crate::budget::SUBREQUESTS`]) whatever the number of services:
//!
//! - **pruning**: one D1 batch for every service at once (each table's `DELETE` names the
//!   services as one JSON parameter), so its cost in subrequests does not grow with the
//!   fleet;
//! - **the watchdog**, paged: each tick asks at most [`WATCHDOG_PER_TICK`] ServiceMonitors to
//!   apply the deployed config and re-arm an alarm the runtime lost, in service id order
//!   starting after the cursor the previous tick stored (one D1 row), wrapping around at the
//!   end. So every service is checked once every `ceil(services / 40)` ticks (hours): every
//!   tick below 41 services, every 26 hours at 1,006 and every 250 hours at 10,000; and the
//!   watchdog costs at most 40 Durable Object requests an hour, 960 a day, far below the
//!   free plan's 100,000 (a full sweep every hour at 10,000 services would be 240,000).
//!
//! A tick makes [`TICK_D1_QUERIES`] D1 queries (read the cursor, prune, store the cursor) and
//! one Durable Object request per watched service: at most 43 subrequests, and one D1 row
//! written for the cursor.

use crate::config::{Config, ServiceId};
use crate::time::{Timestamp, DAY};

/// Most ServiceMonitors one tick's watchdog asks.
pub const WATCHDOG_PER_TICK: usize = 40;
/// D1 queries of one tick besides the watchdog: reading the cursor, the pruning batch and
/// storing the cursor.
pub const TICK_D1_QUERIES: u32 = 3;

/// One tick's work.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Tick<'a> {
    /// Delete heartbeats older than this (`history.heartbeatRetentionDays`).
    pub heartbeats_before: Timestamp,
    /// Delete daily rollups, status changes and closed incidents older than this
    /// (`uptime.retentionDays`).
    pub uptime_before: Timestamp,
    /// Every configured service, for the pruning statements.
    pub prune: Vec<&'a ServiceId>,
    /// The services whose ServiceMonitor the watchdog asks this tick.
    pub watch: Vec<&'a ServiceId>,
    /// The cursor to store for the next tick (the last service watched), or `None` when every
    /// service fits one tick (nothing to store).
    pub cursor: Option<&'a ServiceId>,
}

impl Tick<'_> {
    /// The subrequests this tick makes: [`TICK_D1_QUERIES`] plus one per watched service.
    pub fn subrequests(&self) -> u32 {
        TICK_D1_QUERIES.saturating_add(u32::try_from(self.watch.len()).unwrap_or(u32::MAX))
    }
}

/// Plans the tick at `now` for `config`, the previous tick having stored `cursor` (the last
/// service it watched; `None` before the first paged tick).
pub fn plan<'a>(now: Timestamp, config: &'a Config, cursor: Option<&str>) -> Tick<'a> {
    let days = |n: u32| now - DAY * n;
    let ids: Vec<&ServiceId> = config.services.iter().map(|s| &s.id).collect();
    let (watch, cursor) = page(&ids, cursor, WATCHDOG_PER_TICK);
    Tick {
        heartbeats_before: days(config.settings.heartbeat_retention_days),
        uptime_before: days(config.settings.uptime_retention_days),
        prune: ids,
        watch,
        cursor,
    }
}

/// The next `per_tick` of `ids` in ascending order after `after` (the first ones when
/// `after` is `None` or the last id), wrapping around, each at most once; and the cursor
/// for the next page (the last id taken), `None` when all ids fit one page. `after` need
/// not be one of `ids` (a removed service): the page starts at the first id above it.
pub fn page<'a>(
    ids: &[&'a ServiceId],
    after: Option<&str>,
    per_tick: usize,
) -> (Vec<&'a ServiceId>, Option<&'a ServiceId>) {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() <= per_tick {
        return (sorted, None);
    }
    let start = after.map_or(0, |a| sorted.partition_point(|id| id.as_str() <= a));
    let taken: Vec<&ServiceId> = sorted.iter().cycle().skip(start).take(per_tick).copied().collect();
    let cursor = taken.last().copied();
    (taken, cursor)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::budget::SUBREQUESTS;

    fn config(n: usize) -> Config {
        let services: Vec<String> = (0..n).map(|i| format!(r#"{{"id": "svc-{i:05}"}}"#)).collect();
        Config::parse(Some(&format!(r#"{{"services": [{}]}}"#, services.join(","))), None).unwrap()
    }

    fn names(ids: &[&ServiceId]) -> Vec<String> {
        ids.iter().map(|i| i.to_string()).collect()
    }

    #[test]
    fn a_small_fleet_is_watched_whole_every_tick_and_stores_no_cursor() {
        let c = config(40);
        let t = plan(Timestamp::from_millis(100 * 86_400_000), &c, Some("svc-00007"));
        assert_eq!((t.watch.len(), t.cursor), (40, None));
        assert_eq!(t.prune.len(), 40);
        assert_eq!(t.subrequests(), 43);
    }

    #[test]
    fn the_watchdog_pages_through_a_large_fleet_in_id_order_and_wraps() {
        let ids: Vec<ServiceId> = ["d", "a", "e", "c", "b"].iter().map(|s| ServiceId::parse(s).unwrap()).collect();
        let refs: Vec<&ServiceId> = ids.iter().collect();
        let (p, c) = page(&refs, None, 2);
        assert_eq!((names(&p), c.map(ToString::to_string)), (vec!["a".into(), "b".into()], Some("b".into())));
        let (p, c) = page(&refs, Some("b"), 2);
        assert_eq!((names(&p), c.map(ToString::to_string)), (vec!["c".into(), "d".into()], Some("d".into())));
        let (p, c) = page(&refs, Some("d"), 2);
        assert_eq!((names(&p), c.map(ToString::to_string)), (vec!["e".into(), "a".into()], Some("a".into())));
        let (p, _) = page(&refs, Some("e"), 2);
        assert_eq!(names(&p), ["a", "b"], "after the last id the sweep starts over");
        let (p, _) = page(&refs, Some("bb"), 2);
        assert_eq!(names(&p), ["c", "d"], "a removed service's cursor still places the page");
        let (p, _) = page(&refs, Some("zz"), 2);
        assert_eq!(names(&p), ["a", "b"]);
    }

    #[test]
    fn every_service_of_ten_thousand_is_watched_within_250_ticks_each_within_budget() {
        let c = config(10_000);
        let now = Timestamp::from_millis(1_800_000_000_000);
        let mut cursor: Option<String> = None;
        let mut seen = std::collections::BTreeMap::<String, u32>::new();
        for _ in 0..250 {
            let t = plan(now, &c, cursor.as_deref());
            assert!(t.subrequests() <= SUBREQUESTS, "{}", t.subrequests());
            assert_eq!(t.prune.len(), 10_000, "one pruning batch covers every service");
            for id in &t.watch {
                *seen.entry(id.to_string()).or_default() += 1;
            }
            cursor = t.cursor.map(ToString::to_string);
        }
        assert_eq!(seen.len(), 10_000);
        assert!(seen.values().all(|n| *n == 1), "each exactly once per sweep");
        assert_eq!(cursor.as_deref(), Some("svc-09999"));
        assert_eq!(names(&plan(now, &c, cursor.as_deref()).watch[..1]), ["svc-00000"]);
    }

    #[test]
    fn retention_cutoffs_come_from_settings() {
        let c = config(1);
        let now = Timestamp::from_millis(200 * 86_400_000);
        let t = plan(now, &c, None);
        assert_eq!(t.heartbeats_before, now - DAY * c.settings.heartbeat_retention_days);
        assert_eq!(t.uptime_before, now - DAY * c.settings.uptime_retention_days);
    }
}
