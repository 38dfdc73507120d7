//! Service dependencies (`dependsOn`): the graph's checks and reverse index, and what a
//! child does with its parents' statuses.
//!
//! A service (or a group, for each of its members) may list the services it depends on. While
//! one of them is `down` or in `maintenance`, a child that goes `down` is recorded as usual
//! (status, incident, uptime) but its notifications are held and its incident is marked
//! [`Suppression`] ("suppressed: parent `db-prod` down since …"). When no parent blocks any
//! more, a child still `down` alerts then, once; one already back `up` sends nothing (not even
//! the recovery of a `down` nobody was told about), except its recovery to a channel told its
//! `late` before the hold. A `late` while a parent blocks is dropped.
//!
//! Parents push: a ServiceMonitor whose status changes tells each of its dependents (the
//! reverse index, [`dependents`], at most [`MAX_DEPENDENTS_NOTIFIED`] per change) its new
//! [`ParentState`]; the child keeps the last one of each parent
//! ([`crate::monitor::MonitorState::parents`]). A push that did not arrive is caught up at
//! the hourly watchdog's visit, from the parents' last written status in D1, through the
//! same [`remember`].
//!
//! A parent that is silent too but not `down` yet (the usual case: the shared network dies,
//! the child beats every minute, the parent every five) holds the child's alert until its
//! verdict ([`awaiting`]). When a child goes `down` for silence and a parent has not been heard
//! from since before the child's missed heartbeat was due, with its own `down` deadline at most
//! [`MAX_HOLD`] away, the alert is held until that deadline plus [`HOLD_MARGIN`]: the parent
//! going `down` by then turns the hold into an ordinary suppression; the parent heard from
//! again (or the time passing) sends the child's alert. What each parent last heard and when it
//! goes `down` come with its pushes and, at the child's deadline, from D1
//! ([`ParentState::observed`]). Pure: no clock, no I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use std::time::Duration;

use crate::api::status::StoredState;
use crate::api::Problem;
use crate::config::{Config, ServiceConfig, ServiceId};
use crate::monitor::{Effect, MonitorConfig, MonitorState, Status, StatusChange};
use crate::time::Timestamp;

/// Most services one service (or group) may depend on.
pub const MAX_DEPENDS_ON: usize = 16;

/// Most dependents one status change is pushed to. Each push is a Durable Object request (a
/// subrequest) made in the invocation that changed the status, next to its notification
/// sends, D1 writes, one catalog read and at most 10 live-update posts; the free plan allows
/// 50 per invocation. [`crate::config::Config::parse`] and the management API refuse a
/// service with more dependents (`docs/alerting.md#limits`).
pub const MAX_DEPENDENTS_NOTIFIED: usize = 25;

/// Longest a child's alert waits for a silent parent's verdict: a parent whose `down` deadline
/// is further away holds nothing (its child alerts at once).
pub const MAX_HOLD: Duration = Duration::from_secs(600);

/// How long after a silent parent's `down` deadline a child's held alert waits for that
/// parent's push (the parent's alarm may run late, and the deadline read from D1 may be up to
/// one flush interval early) before it is sent.
pub const HOLD_MARGIN: Duration = Duration::from_secs(15);

/// What a child knows of one parent: its status and since when, the last heartbeat it had and
/// when it goes `down` if it stays silent (epoch ms, UTC).
///
/// JSON: `{"status", "since", "lastHeartbeat"?, "downAt"?}` (ms).
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentState {
    /// The parent's status.
    pub status: Status,
    /// When it began.
    pub since: Timestamp,
    /// Its last heartbeat (a success or fail), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat: Option<Timestamp>,
    /// When it goes `down` if no heartbeat comes (its grace period's end), if it has such a
    /// deadline and it is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_at: Option<Timestamp>,
}

impl ParentState {
    /// A parent's state as D1 last holds it (its `service_state` row and latest heartbeat),
    /// with its `down` deadline per its `config`: what the watchdog's catch-up and a child's
    /// deadline read in place of (or ahead of) a push.
    pub fn observed(stored: &StoredState, config: &MonitorConfig) -> Self {
        Self {
            status: stored.status,
            since: stored.status_since,
            last_heartbeat: stored.last_heartbeat,
            down_at: crate::monitor::down_at(stored.status, stored.last_heartbeat, stored.resumed_at, config),
        }
    }

    /// Whether this parent holds its children's alerts: `down` or in `maintenance`.
    pub fn blocks(&self) -> bool {
        matches!(self.status, Status::Down | Status::Maintenance)
    }
}

/// Why an incident's alert was held: the parent that was `down` (or in maintenance) when it
/// opened. Stored with the incident (D1 `incidents.suppressed`, as [`Suppression`]'s text).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Suppression {
    /// The blocking parent.
    pub parent: ServiceId,
    /// Its status then (`down` or `maintenance`).
    pub status: Status,
    /// Since when (epoch ms).
    pub since: Timestamp,
    /// Whether the held alert was sent when the parent recovered (the child still `down`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub released: bool,
    /// When it was released (epoch ms): the incident's escalation levels count from then,
    /// since nobody was told before (see [`crate::escalation`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<Timestamp>,
    /// For a parent that was silent but not `down` ([`awaiting`]): how long the alert waits
    /// for its verdict; `since` is then the parent's last heartbeat. `None` for a parent that
    /// was `down` or in maintenance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
}

/// A wait for a silent parent's verdict (epoch ms). JSON: `{"until", "due"}`.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Hold {
    /// When the alert is sent if the parent has not gone `down` (its deadline plus
    /// [`HOLD_MARGIN`]).
    pub until: Timestamp,
    /// When this service's missed heartbeat was due: the parent heard from at or after it was
    /// not down with it, which releases the alert.
    pub due: Timestamp,
}

impl fmt::Display for Suppression {
    /// `suppressed: parent `db-prod` down since 2026-12-04T16:00:00Z`, or for a silent
    /// parent `held until 2026-12-04T16:05:15Z: parent `db-prod` silent since
    /// 2026-12-04T16:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.hold {
            None => write!(f, "suppressed: parent `{}` {} since {}", self.parent, self.status, self.since),
            Some(h) => write!(f, "held until {}: parent `{}` silent since {}", h.until, self.parent, self.since),
        }
    }
}

/// The first parent (in `depends_on` order) that blocks, per `parents`.
pub fn blocking<'a>(
    depends_on: &'a [ServiceId],
    parents: &BTreeMap<ServiceId, ParentState>,
) -> Option<(&'a ServiceId, ParentState)> {
    depends_on.iter().find_map(|id| parents.get(id).filter(|p| p.blocks()).map(|p| (id, *p)))
}

/// The suppression an incident opening now gets: the first parent (by id) of `parents` that
/// blocks, if any (the ServiceMonitor keeps only the parents its config names).
pub fn suppression(parents: &BTreeMap<ServiceId, ParentState>) -> Option<Suppression> {
    parents.iter().find(|(_, p)| p.blocks()).map(|(id, p)| Suppression::by(id, p))
}

impl Suppression {
    /// The suppression by `parent`, which blocks in `state`.
    fn by(parent: &ServiceId, state: &ParentState) -> Self {
        Self {
            parent: parent.clone(),
            status: state.status,
            since: state.since,
            released: false,
            released_at: None,
            hold: None,
        }
    }
}

/// The hold an incident of a child that went `down` at `now` for silence gets when no parent
/// blocks but one is silent too: a parent of `parents` that has not been heard from since
/// before `due` (when the child's missed heartbeat was due) and goes `down` after `now`, at
/// most [`MAX_HOLD`] later. Of several, the one that goes `down` last; held until its `down`
/// deadline plus [`HOLD_MARGIN`]. `None` when no parent is silent so, or nothing is known of
/// when they were last heard.
pub fn awaiting(parents: &BTreeMap<ServiceId, ParentState>, due: Timestamp, now: Timestamp) -> Option<Suppression> {
    parents
        .iter()
        .filter(|(_, p)| !p.blocks())
        .filter_map(|(id, p)| {
            let last = p.last_heartbeat.filter(|last| *last < due)?;
            let at = p.down_at.filter(|at| *at > now && *at <= now + MAX_HOLD)?;
            Some((id, p, last, at))
        })
        .max_by_key(|(_, _, _, at)| *at)
        .map(|(id, p, last, at)| Suppression {
            since: last,
            hold: Some(Hold { until: at + HOLD_MARGIN, due }),
            ..Suppression::by(id, p)
        })
}

/// Remembers that `parent` is in `state` if it is one of `depends_on` and `state` is not older
/// than what `parents` holds (pushes may arrive out of order); forgets parents no longer in
/// `depends_on`.
pub fn remember(
    parents: &mut BTreeMap<ServiceId, ParentState>,
    parent: ServiceId,
    state: ParentState,
    depends_on: &[ServiceId],
) {
    parents.retain(|id, _| depends_on.contains(id));
    if depends_on.contains(&parent) && parents.get(&parent).is_none_or(|held| held.since <= state.since) {
        parents.insert(parent, state);
    }
}

/// See [`crate::monitor::Monitor::release`].
pub fn release(state: &mut MonitorState, depends_on: &[ServiceId], now: Timestamp) -> Option<StatusChange> {
    if state.status != Status::Down {
        return None;
    }
    let blocker = blocking(depends_on, &state.parents);
    let incident = state.incident.as_mut()?;
    let suppressed = incident.suppressed.as_mut().filter(|s| !s.released)?;
    if let Some((id, p)) = blocker {
        if suppressed.hold.is_some() {
            // The silent parent (or another) went down: an ordinary suppression from now on.
            *suppressed = Suppression::by(id, &p);
        }
        return None;
    }
    if let Some(Hold { until, due }) = suppressed.hold {
        // Heard from since the child's heartbeat was due (a last heartbeat merely newer than
        // the one held may be a late flush of one from before), or no longer a parent.
        let heard = |p: &ParentState| p.last_heartbeat.is_some_and(|last| last >= due);
        let parent = state.parents.get(&suppressed.parent);
        if now < until && depends_on.contains(&suppressed.parent) && !parent.is_some_and(heard) {
            return None;
        }
    }
    suppressed.released = true;
    suppressed.released_at = Some(now);
    Some(StatusChange {
        seq: 0,
        at: incident.started_at,
        from: Status::Up,
        to: Status::Down,
        reason: incident.cause.clone(),
        kind: incident.kind,
    })
}

/// The effects the notifier may see, of `effects` from one event, with the monitor in `state`
/// after them: a `down` whose incident is held (suppressed, not released) and a `late` while a
/// parent in `depends_on` blocks are left out. The recovery that closes a held incident goes
/// on: the notifier tells it only to channels told of a problem (a `late` sent before the
/// hold), so one never told of the `down` hears nothing, and none is left with a `late`.
pub fn audible(effects: &[Effect], state: &MonitorState, depends_on: &[ServiceId]) -> Vec<Effect> {
    let held = |suppressed: &Option<Suppression>| suppressed.as_ref().is_some_and(|s| !s.released);
    let blocked = blocking(depends_on, &state.parents).is_some();
    effects
        .iter()
        .filter(|e| match e {
            Effect::StatusChanged(c) => match c.to {
                Status::Down => !state.incident.as_ref().is_some_and(|i| held(&i.suppressed)),
                Status::Late => !blocked,
                _ => true,
            },
            _ => true,
        })
        .cloned()
        .collect()
}

/// The services that depend on `id` in `config` (directly, their own or their group's
/// `dependsOn`), in catalog order: the reverse index a parent pushes its status to.
pub fn dependents<'a>(config: &'a Config, id: &'a str) -> impl Iterator<Item = &'a ServiceId> {
    config.services.iter().filter(move |s| s.depends_on.iter().any(|p| p.as_str() == id)).map(|s| &s.id)
}

/// Checks the dependency graph of `services` (each one's effective `dependsOn`): every id
/// names a service, no cycle, no service with more than [`MAX_DEPENDENTS_NOTIFIED`]
/// dependents. Calls `err(index, reason)` for each problem (`index` into `services`); a
/// cycle is reported once, at its first service: `cycle api → db → api`.
pub fn check_graph(services: &[ServiceConfig], mut err: impl FnMut(usize, String)) {
    let index: BTreeMap<&str, usize> = services.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    for (i, s) in services.iter().enumerate() {
        for p in s.depends_on.iter().filter(|p| !index.contains_key(p.as_str())) {
            err(i, format!("unknown service {:?}", p.as_str()));
        }
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in services {
        for p in &s.depends_on {
            *counts.entry(p.as_str()).or_default() += 1;
        }
    }
    for (id, n) in counts.into_iter().filter(|(_, n)| *n > MAX_DEPENDENTS_NOTIFIED) {
        let Some(&i) = index.get(id) else { continue };
        err(i, format!("{n} services depend on {id:?}, at most {MAX_DEPENDENTS_NOTIFIED} may"));
    }
    let index = &index;
    let edges = move |i: usize| services[i].depends_on.iter().filter_map(move |p| index.get(p.as_str()).copied());
    let mut reported: BTreeSet<usize> = BTreeSet::new();
    for start in 0..services.len() {
        if reported.contains(&start) {
            continue;
        }
        if let Some(cycle) = find_cycle(start, &edges) {
            let names: Vec<&str> = cycle.iter().map(|&i| services[i].id.as_str()).collect();
            reported.extend(cycle.iter().copied());
            err(start, format!("cycle {}", names.join(" → ")));
        }
    }
}

/// A cycle through `start` (the nodes from `start` back to `start`), by depth-first search.
fn find_cycle<I: Iterator<Item = usize>>(start: usize, edges: &impl Fn(usize) -> I) -> Option<Vec<usize>> {
    let mut path = vec![start];
    let mut stack = vec![edges(start)];
    let mut seen = BTreeSet::from([start]);
    while let Some(next) = stack.last_mut().map(Iterator::next) {
        match next {
            Some(n) if n == start => {
                path.push(start);
                return Some(path);
            }
            Some(n) if seen.insert(n) => {
                path.push(n);
                stack.push(edges(n));
            }
            Some(_) => {}
            None => {
                stack.pop();
                path.pop();
            }
        }
    }
    None
}

/// Checks a managed service's effective `dependsOn` against the whole `catalog` (declared
/// and managed) as if `service` replaced the entry with its id: the management API's check.
///
/// # Errors
/// 400 `invalid-field` naming `dependsOn`: an id that names no service in the catalog
/// (`dependsOn: unknown service "x"`), or a cycle through the service
/// (`dependsOn: cycle api → db → api`), or a parent that would have more than
/// [`MAX_DEPENDENTS_NOTIFIED`] dependents.
pub fn check_in_catalog(catalog: &Config, service: &ServiceConfig) -> Result<(), Problem> {
    let mut services: Vec<ServiceConfig> = catalog.services.iter().filter(|s| s.id != service.id).cloned().collect();
    services.insert(0, service.clone());
    let mut problem = None;
    check_graph(&services, |i, reason| {
        // Only problems this service takes part in: its own ids, a cycle through it (found
        // from it first), one parent too many.
        let ours = i == 0 || reason.contains(" services depend on ");
        if ours && problem.is_none() {
            problem = Some(Problem::invalid_field("dependsOn", format!("dependsOn: {reason}")));
        }
    });
    problem.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn catalog(edges: &[(&str, &[&str])]) -> Config {
        let services: Vec<serde_json::Value> =
            edges.iter().map(|(id, deps)| serde_json::json!({"id": id, "dependsOn": deps})).collect();
        let text = serde_json::json!({ "services": services }).to_string();
        Config::parse(Some(&text), None).unwrap()
    }

    #[test]
    fn a_parent_observed_in_d1_goes_down_at_its_grace_periods_end_and_older_records_still_read() {
        let text = r#"{"services": [{"id": "db", "stalenessThreshold": 60, "gracePeriod": 30}]}"#;
        let c = Config::parse(Some(text), None).unwrap();
        let config = MonitorConfig::from(c.service("db").unwrap());
        let t = Timestamp::from_millis;
        let stored = |status, last: Option<i64>| StoredState {
            service_id: "db".into(),
            status,
            status_since: t(1_000),
            incident_started_at: None,
            accounted_until: None,
            resumed_at: None,
            last_heartbeat: last.map(t),
            last_message: None,
            pinged_too_often: false,
        };
        let up = ParentState::observed(&stored(Status::Up, Some(5_000)), &config);
        assert_eq!((up.last_heartbeat, up.down_at), (Some(t(5_000)), Some(t(95_000))));
        assert_eq!(ParentState::observed(&stored(Status::Late, Some(5_000)), &config).down_at, Some(t(95_000)));
        assert_eq!(ParentState::observed(&stored(Status::Down, Some(5_000)), &config).down_at, None);
        assert_eq!(ParentState::observed(&stored(Status::Unknown, None), &config).down_at, None);
        // A state stored before the last heartbeat and deadline were kept.
        let old: ParentState = serde_json::from_str(r#"{"status": "down", "since": 1000}"#).unwrap();
        assert_eq!((old.last_heartbeat, old.down_at), (None, None));
        assert_eq!(
            serde_json::to_string(&up).unwrap(),
            r#"{"status":"up","since":1000,"lastHeartbeat":5000,"downAt":95000}"#
        );
    }

    #[test]
    fn the_reverse_index_lists_direct_dependents_in_catalog_order() {
        let c = catalog(&[("db", &[]), ("api", &["db"]), ("web", &["api", "db"]), ("cron", &[])]);
        let ids: Vec<&str> = dependents(&c, "db").map(ServiceId::as_str).collect();
        assert_eq!(ids, ["api", "web"]);
        assert_eq!(dependents(&c, "cron").count(), 0);
    }

    #[test]
    fn a_cycle_in_services_json_is_refused_naming_it() {
        let text =
            r#"{"services": [{"id": "web"}, {"id": "api", "dependsOn": ["db"]}, {"id": "db", "dependsOn": ["api"]}]}"#;
        let errors = Config::parse(Some(text), None).unwrap_err().0;
        let shown: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.path, e.reason)).collect();
        assert_eq!(shown, ["services.json: services[1].dependsOn: cycle api → db → api"]);
    }

    #[test]
    fn unknown_self_and_repeated_parents_are_refused() {
        let text = r#"{"services": [{"id": "api", "dependsOn": ["api", "nope", "db", "db"]}, {"id": "db"}]}"#;
        let errors = Config::parse(Some(text), None).unwrap_err().0;
        let shown: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.path, e.reason)).collect();
        assert_eq!(
            shown,
            [
                "services.json: services[0].dependsOn[0]: a service cannot depend on itself",
                "services.json: services[0].dependsOn[3]: \"db\" is listed twice",
            ]
        );
        let text = r#"{"services": [{"id": "api", "dependsOn": ["nope"]}]}"#;
        let errors = Config::parse(Some(text), None).unwrap_err().0;
        assert_eq!(errors[0].to_string(), "services.json: services[0].dependsOn: unknown service \"nope\"");
    }

    #[test]
    fn a_group_list_applies_to_its_members() {
        let text = r#"{"groups": [{"id": "apps", "services": ["api", "web"], "dependsOn": ["db"]}],
            "services": [{"id": "db"}, {"id": "api"}, {"id": "web", "dependsOn": []}]}"#;
        let c = Config::parse(Some(text), None).unwrap();
        let deps =
            |id: &str| c.service(id).unwrap().depends_on.iter().map(|s| s.as_str().to_owned()).collect::<Vec<_>>();
        assert_eq!(deps("api"), ["db"]);
        assert!(deps("web").is_empty(), "a service's own list replaces its group's");
        assert!(deps("db").is_empty());
    }

    #[test]
    fn too_many_parents_are_refused_with_the_limit() {
        let ids: Vec<String> = (0..=MAX_DEPENDS_ON).map(|i| format!("p{i}")).collect();
        let mut services: Vec<serde_json::Value> = ids.iter().map(|id| serde_json::json!({"id": id})).collect();
        services.push(serde_json::json!({"id": "child", "dependsOn": ids}));
        let text = serde_json::json!({ "services": services }).to_string();
        let errors = Config::parse(Some(&text), None).unwrap_err().0;
        assert_eq!(
            errors[0].reason,
            format!("must list at most {MAX_DEPENDS_ON} services, got {}", MAX_DEPENDS_ON + 1)
        );
    }

    #[test]
    fn the_api_check_names_a_cycle_through_the_new_service() {
        let c = catalog(&[("db", &[]), ("api", &["db"])]);
        let mut db = c.service("db").unwrap().clone();
        db.depends_on = vec![ServiceId::parse("api").unwrap()];
        let p = check_in_catalog(&c, &db).unwrap_err();
        assert_eq!(p.detail, "dependsOn: cycle db → api → db");
        db.depends_on = vec![ServiceId::parse("ghost").unwrap()];
        assert_eq!(check_in_catalog(&c, &db).unwrap_err().detail, "dependsOn: unknown service \"ghost\"");
        db.depends_on = Vec::new();
        assert_eq!(check_in_catalog(&c, &db), Ok(()));
    }
}
