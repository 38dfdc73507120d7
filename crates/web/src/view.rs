//! Plain view models the pages render, and the pure functions that build them from core
//! types (config, stored states, uptime reports). No I/O: the Worker gathers the inputs.

use std::collections::BTreeMap;
use std::time::Duration;

use systole_core::access::Scope;
use systole_core::api::status::{StoredState, Summary};
use systole_core::config::{Config, EXTERNAL_SUBJECT, TEST_SUBJECT};
use systole_core::monitor::Status;
use systole_core::time::Timestamp;
use systole_core::uptime::{DayUptime, ServiceUptime};

/// A maintenance window as the status page shows it: what it covers, its current or next
/// occurrence (UTC) and why.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct MaintenanceItem {
    /// The service's or group's display name.
    pub target: String,
    /// Whether it is in progress.
    pub active: bool,
    /// The current or next occurrence's start.
    pub start: Timestamp,
    /// Its end.
    pub end: Timestamp,
    /// A recurring window's schedule in words (`every day at 03:00 (Europe/Berlin)`).
    pub recurring: Option<String>,
    /// Why, if given.
    pub reason: Option<String>,
}

/// Who is looking at a page.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Viewer {
    /// No users are configured: the dashboard is open to anyone who reaches it.
    Open,
    /// A signed-in user.
    User {
        /// Display name.
        name: String,
        /// Whether they have the admin role.
        admin: bool,
    },
    /// A visitor of the public status page.
    Public,
    /// Someone not signed in, on the sign-in page.
    Anonymous,
}

/// What the admin controls of the pages offer (the "Add service" and edit forms, the test
/// notification). The Worker passes one (in [`crate::pages::Chrome::admin`]) only to callers
/// the management API accepts; a page without one shows none of the controls.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdminView {
    /// The groups a service may join: `(id, name)`, in config order.
    pub groups: Vec<(String, String)>,
    /// The notification channels a test notification may go to, by name.
    pub channels: Vec<String>,
}

/// One service row.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceRow {
    /// Service id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Current status.
    pub status: Status,
    /// When that status began.
    pub status_since: Option<Timestamp>,
    /// The latest heartbeat.
    pub last_heartbeat: Option<Timestamp>,
    /// Its message (never set for the public page).
    pub message: Option<String>,
    /// Uptime percent over the whole window; `None` when nothing was monitored.
    pub uptime: Option<f64>,
    /// One entry per day of the window, oldest first.
    pub days: Vec<DayUptime>,
    /// Its uptime threshold profile, an index into [`crate::branding::profiles`].
    pub profile: usize,
}

/// Services of one group, in the group's order.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupView {
    /// Group id; `None` for the ungrouped services, shown last.
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// Its visible services on this page.
    pub services: Vec<ServiceRow>,
    /// Its visible services on every page.
    pub total: usize,
}

/// Where a page of the fleet stands: page `page` (from 1) of `pages`, `per_page` services
/// each, `total` in all.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Paging {
    /// This page, from 1.
    pub page: usize,
    /// How many pages.
    pub pages: usize,
    /// Services per page.
    pub per_page: usize,
    /// Services the viewer sees.
    pub total: usize,
}

impl Paging {
    /// Page `wanted` (from 1; a page past the end is the last) of `total` services,
    /// `per_page` (at least 1) each.
    pub fn new(wanted: usize, per_page: usize, total: usize) -> Self {
        let per_page = per_page.max(1);
        let pages = total.div_ceil(per_page).max(1);
        Self { page: wanted.clamp(1, pages), pages, per_page, total }
    }

    /// The index range of this page's services in the whole listing.
    pub fn range(&self) -> std::ops::Range<usize> {
        let start = (self.page - 1) * self.per_page;
        start.min(self.total)..(start + self.per_page).min(self.total)
    }
}

/// Everything a reader may see of the fleet, or of one page of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Fleet {
    /// Counts over the visible services (every page's).
    pub summary: Summary,
    /// Non-empty groups in config order, ungrouped last, with this page's rows.
    pub groups: Vec<GroupView>,
    /// When the fleet spans more than one page: which one this is.
    pub paging: Option<Paging>,
    /// On a paged fleet, the services that need attention (`down`, `late`, `degraded`)
    /// wherever they are paged, most recently changed first (at most a page of them).
    pub attention: Vec<ServiceRow>,
}

impl Fleet {
    /// Every visible row.
    pub fn rows(&self) -> impl Iterator<Item = &ServiceRow> {
        self.groups.iter().flat_map(|g| g.services.iter())
    }
}

/// The services `scope` sees in the dashboard's order: each group's in config order, then
/// the ungrouped ones. A page of the dashboard is a range of this listing.
pub fn listing<'c>(config: &'c Config, scope: Scope<'_>) -> Vec<&'c str> {
    let grouped = config.groups.iter().flat_map(|g| g.services.iter().map(|id| id.as_str()));
    let loose = config.services.iter().filter(|s| s.group.is_none()).map(|s| s.id.as_str());
    grouped.chain(loose).filter(|id| config.service(id).is_some_and(|s| scope.sees(config, s))).collect()
}

/// Builds the fleet that `scope` sees from the stored states (services without one are
/// `unknown`, or `paused` when disabled) and the uptime reports of the window: every
/// service, one page, counted here.
pub fn fleet(config: &Config, scope: Scope<'_>, states: &[StoredState], uptime: &[ServiceUptime]) -> Fleet {
    let ids = listing(config, scope);
    let fleet = fleet_page(config, scope, &ids, states, uptime, Summary::default(), None, &[]);
    let mut summary = Summary::default();
    for r in fleet.rows() {
        summary.count(r.status);
    }
    Fleet { summary, ..fleet }
}

/// Builds one page of the fleet that `scope` sees: the rows of `shown` (a range of
/// [`listing`]) from their stored states and uptime reports, under the `summary` counted
/// over the whole fleet (by D1), with `paging` when there is more than one page and the
/// stored states of the services that need `attention` (`uptime` need not cover them).
#[allow(clippy::too_many_arguments)]
pub fn fleet_page(
    config: &Config,
    scope: Scope<'_>,
    shown: &[&str],
    states: &[StoredState],
    uptime: &[ServiceUptime],
    summary: Summary,
    paging: Option<Paging>,
    attention: &[StoredState],
) -> Fleet {
    let states: BTreeMap<&str, &StoredState> = states.iter().map(|s| (s.service_id.as_str(), s)).collect();
    let uptime: BTreeMap<&str, &ServiceUptime> = uptime.iter().map(|u| (u.id.as_str(), u)).collect();
    let details = scope.shows_details();
    let row = |id: &str, stored: Option<&StoredState>| {
        let s = config.service(id)?;
        if !scope.sees(config, s) {
            return None;
        }
        let up = uptime.get(id).copied();
        Some(ServiceRow {
            id: id.to_owned(),
            name: s.name.clone(),
            status: systole_core::api::status::current(s, stored),
            status_since: stored.map(|r| r.status_since),
            last_heartbeat: stored.and_then(|r| r.last_heartbeat),
            message: stored.and_then(|r| r.last_message.clone()).filter(|_| details),
            uptime: up.and_then(|u| u.uptime_percent),
            days: up.map(|u| u.days.clone()).unwrap_or_default(),
            profile: crate::branding::profile_index(&config.settings, &s.uptime_threshold_set),
        })
    };
    // The page's rows by group, in the order shown (the listing's: each group's own order).
    // Only the page's services are looked up; a group's total follows from the scope alone.
    let mut by_group: BTreeMap<Option<&str>, Vec<ServiceRow>> = BTreeMap::new();
    for id in shown {
        if let (Some(s), Some(r)) = (config.service(id), row(id, states.get(id).copied())) {
            by_group.entry(s.group.as_deref()).or_default().push(r);
        }
    }
    let mut groups: Vec<GroupView> = config
        .groups
        .iter()
        .map(|g| GroupView {
            id: Some(g.id.clone()),
            name: g.name.clone(),
            services: by_group.remove(&Some(g.id.as_str())).unwrap_or_default(),
            total: if scope.sees_group(config, Some(&g.id)) { g.services.len() } else { 0 },
        })
        .collect();
    let loose =
        if scope.sees_group(config, None) { config.services.iter().filter(|s| s.group.is_none()).count() } else { 0 };
    groups.push(GroupView {
        id: None,
        name: "Other services".into(),
        services: by_group.remove(&None).unwrap_or_default(),
        total: loose,
    });
    groups.retain(|g| !g.services.is_empty());
    let attention = attention.iter().filter_map(|a| row(a.service_id.as_str(), Some(a))).collect();
    Fleet { summary, groups, paging, attention }
}

/// How an activity entry reads.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Tone {
    /// A service went down, or a delivery was abandoned.
    Bad,
    /// A service recovered, or a delivery arrived.
    Good,
    /// Anything else (a retry, a late warning, an external alert).
    Neutral,
}

/// One entry of the alert history panel.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityItem {
    /// When it happened.
    pub at: Timestamp,
    /// The service concerned, if any.
    pub service_id: Option<String>,
    /// What happened, as a sentence.
    pub text: String,
    /// How it reads.
    pub tone: Tone,
}

/// A status change as D1 `status_changes` holds it, for [`activity`] and the service page.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeRecord {
    /// The service.
    pub service_id: String,
    /// When it changed.
    pub at: Timestamp,
    /// Status before.
    pub from: Status,
    /// Status after.
    pub to: Status,
    /// Why.
    pub reason: String,
}

impl ChangeRecord {
    /// `"Up → Down (no heartbeat for 60 s)"`, as the page's script writes live ones.
    pub fn describe(&self) -> String {
        let (from, to) = (crate::pages::label(self.from), crate::pages::label(self.to));
        if self.reason.is_empty() {
            format!("{from} → {to}")
        } else {
            format!("{from} → {to} ({})", self.reason)
        }
    }

    /// Down is bad, up good, anything else neutral.
    pub fn tone(&self) -> Tone {
        match self.to {
            Status::Down => Tone::Bad,
            Status::Up => Tone::Good,
            _ => Tone::Neutral,
        }
    }
}

/// One notification attempt as `alert_history` holds it, for [`activity`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttemptRecord<'a> {
    /// When it was made.
    pub at: Timestamp,
    /// The service, when the subject is a configured service (else an external alert or a
    /// test notification).
    pub service_id: Option<&'a str>,
    /// `alert_history.subject`: a service id, `external` or `test`.
    pub subject: &'a str,
    /// Channel name.
    pub channel: &'a str,
    /// Event (`down`, `up`, …).
    pub event: &'a str,
    /// `delivered`, `retrying`, `failed`, …
    pub outcome: &'a str,
    /// Attempt number, from 1.
    pub attempt: i64,
    /// HTTP status answered, if any.
    pub http_status: Option<i64>,
    /// Error text, if any.
    pub error: Option<&'a str>,
}

/// The alert history panel: status changes and delivery attempts at or after `since` that
/// `sees` allows (`sees(Some(service))`, or `sees(None)` for entries about no service:
/// external alerts and tests), newest first, at most `max`.
pub fn activity(
    changes: &[ChangeRecord],
    attempts: &[AttemptRecord<'_>],
    since: Timestamp,
    sees: impl Fn(Option<&str>) -> bool,
    max: usize,
) -> Vec<ActivityItem> {
    let mut items: Vec<ActivityItem> = changes
        .iter()
        .filter(|c| c.at >= since && sees(Some(&c.service_id)))
        .map(|c| ActivityItem { at: c.at, service_id: Some(c.service_id.clone()), text: c.describe(), tone: c.tone() })
        .collect();
    for a in attempts.iter().filter(|a| a.at >= since && sees(a.service_id)) {
        let what = match (a.service_id, a.subject) {
            (None, EXTERNAL_SUBJECT) => "external alert".to_owned(),
            (None, TEST_SUBJECT) => "test notification".to_owned(),
            _ => format!("{} notification", a.event),
        };
        let tone = match a.outcome {
            "delivered" => Tone::Good,
            "retrying" => Tone::Neutral,
            _ => Tone::Bad,
        };
        let status = a.http_status.map(|s| format!(", HTTP {s}")).unwrap_or_default();
        let error = a.error.map(|e| format!(": {e}")).unwrap_or_default();
        items.push(ActivityItem {
            at: a.at,
            service_id: a.service_id.map(Into::into),
            text: format!("{what} to {} {} (attempt {}{status}){error}", a.channel, a.outcome, a.attempt),
            tone,
        });
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.at));
    items.truncate(max);
    items
}

/// The alert history panel's time filter.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Window {
    /// Last hour.
    Hour,
    /// Last 24 hours (the default).
    Day,
    /// Last 7 days.
    Week,
    /// Last 30 days.
    Month,
}

impl Window {
    /// Every window, shortest first.
    pub const ALL: [Window; 4] = [Window::Hour, Window::Day, Window::Week, Window::Month];

    /// Parses the `activity` query value (`1h`, `24h`, `7d`, `30d`); anything else is 24 h.
    pub fn parse(v: Option<&str>) -> Self {
        Self::ALL.into_iter().find(|w| Some(w.key()) == v).unwrap_or(Window::Day)
    }

    /// The query value.
    pub fn key(self) -> &'static str {
        match self {
            Window::Hour => "1h",
            Window::Day => "24h",
            Window::Week => "7d",
            Window::Month => "30d",
        }
    }

    /// The label.
    pub fn label(self) -> &'static str {
        match self {
            Window::Hour => "Last hour",
            Window::Day => "Last 24 hours",
            Window::Week => "Last 7 days",
            Window::Month => "Last 30 days",
        }
    }

    /// Its length.
    pub fn span(self) -> Duration {
        Duration::from_secs(3_600)
            * match self {
                Window::Hour => 1,
                Window::Day => 24,
                Window::Week => 24 * 7,
                Window::Month => 24 * 30,
            }
    }
}

/// A past incident of one service.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentView {
    /// When the service went down.
    pub started_at: Timestamp,
    /// When it recovered; `None` while ongoing.
    pub ended_at: Option<Timestamp>,
    /// Why it went down.
    pub cause: String,
    /// Why its alert was held (``suppressed: parent `db` down since …``), if it was.
    pub suppressed: Option<String>,
    /// Who acknowledged it and when, once someone did.
    pub acknowledged: Option<(String, Timestamp)>,
    /// Its id (`{service}.{start ms}`), which its acknowledge form posts to.
    pub id: String,
}

/// One received heartbeat.
#[derive(Clone, Debug, PartialEq)]
pub struct HeartbeatView {
    /// When it arrived.
    pub at: Timestamp,
    /// What it reported (`up`, `degraded` or `down`).
    pub reported: String,
    /// Its run signal when not a plain success: `start`, `fail` or `log`.
    pub event: Option<String>,
    /// The exit status it carried, if any.
    pub exit_status: Option<u8>,
    /// Its message.
    pub message: Option<String>,
    /// Its metadata object, as JSON text.
    pub metadata: Option<String>,
}

impl HeartbeatView {
    /// What the page shows for it: `start` and `log`, `fail` with its exit status, and for a
    /// success what it reported (`up`, `degraded`, `down`), as `success` when it carried exit
    /// status 0; with the status class to colour it by (`s-up`, …), if any.
    pub fn signal(&self) -> (String, Option<&'static str>) {
        let exit = self.exit_status.map(|c| format!(" (exit status {c})")).unwrap_or_default();
        match self.event.as_deref() {
            Some("fail") => (format!("fail{exit}"), Some("s-down")),
            Some(other @ ("start" | "log")) => (other.to_owned(), None),
            _ => match self.reported.as_str() {
                "up" if self.exit_status.is_some() => (format!("success{exit}"), Some("s-up")),
                "up" => ("up".to_owned(), Some("s-up")),
                "down" => ("down".to_owned(), Some("s-down")),
                "degraded" => ("degraded".to_owned(), Some("s-degraded")),
                other => (other.to_owned(), None),
            },
        }
    }
}

/// One metric's values over time, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSeries {
    /// Metric name.
    pub name: String,
    /// `(time, value)` points.
    pub points: Vec<(Timestamp, f64)>,
}

/// Metric series from heartbeats' metrics objects (JSON text, `{"name": number}`), given
/// newest first as D1 answers them; at most `max` series, by name.
pub fn metric_series<'a>(
    heartbeats: impl Iterator<Item = (Timestamp, Option<&'a str>)>,
    max: usize,
) -> Vec<MetricSeries> {
    let mut series: BTreeMap<String, Vec<(Timestamp, f64)>> = BTreeMap::new();
    for (at, metrics) in heartbeats {
        let Some(Ok(map)) = metrics.map(serde_json::from_str::<BTreeMap<String, serde_json::Value>>) else {
            continue;
        };
        for (name, v) in map {
            if let Some(v) = v.as_f64().filter(|v| v.is_finite()) {
                series.entry(name).or_default().push((at, v));
            }
        }
    }
    series
        .into_iter()
        .take(max)
        .map(|(name, mut points)| {
            points.reverse();
            MetricSeries { name, points }
        })
        .collect()
}

/// Everything the service page shows.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceDetail {
    /// The row (status, last heartbeat, uptime bar).
    pub row: ServiceRow,
    /// Its group's name.
    pub group: Option<String>,
    /// Staleness threshold, seconds (unused with a schedule).
    pub staleness_threshold_s: u64,
    /// The cron schedule heartbeats follow instead, if any.
    pub schedule: Option<systole_core::schedule::Schedule>,
    /// Grace period, seconds.
    pub grace_period_s: u64,
    /// When the next heartbeat (or the end of the grace period) is due.
    pub next_deadline: Option<Timestamp>,
    /// Recent status changes, newest first.
    pub changes: Vec<ChangeRecord>,
    /// Recent incidents, newest first.
    pub incidents: Vec<IncidentView>,
    /// Recent heartbeats, newest first.
    pub heartbeats: Vec<HeartbeatView>,
    /// Metrics reported by those heartbeats.
    pub metrics: Vec<MetricSeries>,
    /// Recent runs of the job, newest first (empty for a service that reports no runs).
    pub runs: Vec<RunView>,
    /// Whether its latest success came earlier than its `minInterval` after the one before.
    pub pinged_too_often: bool,
    /// Its group's id.
    pub group_id: Option<String>,
    /// Set for a service managed at run time (created through the API, the dashboard or
    /// auto-provisioning); `None` for one declared in `config/services.json`, which the
    /// pages do not offer to edit.
    pub managed: Option<ManagedView>,
    /// Its change log (who changed what, when), newest first; `None` when the caller may
    /// not read it.
    pub audit: Option<Vec<AuditEntry>>,
    /// The services it depends on and those that depend on it (the ones the caller sees).
    pub dependencies: Dependencies,
    /// Its telemetry: tiles, charts, errors, reliability (`None`: not shown).
    pub telemetry: Option<TelemetryView>,
    /// Whether the viewer may acknowledge its open incident from the page (a signed-in
    /// user): an open, unacknowledged incident then has an Acknowledge button.
    pub can_acknowledge: bool,
}

/// A service's place in the dependency graph (`dependsOn`, see
/// [`systole_core::dependency`]), as the service page draws it.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Dependencies {
    /// The services it depends on, in the order written, with their status.
    pub parents: Vec<Related>,
    /// The services that depend on it, in catalog order, with their status.
    pub dependents: Vec<Related>,
}

/// Another service, linked from a service's page.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Related {
    /// Its id (the link is `/services/{id}`).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Its status.
    pub status: Status,
}

/// What the service page shows of a service's telemetry (`systole_core::telemetry`).
#[derive(Clone, Debug, PartialEq)]
pub struct TelemetryView {
    /// Each metric's newest value (a tile each), by name.
    pub tiles: Vec<systole_core::telemetry::Latest>,
    /// The chart range shown (`24h`, `7d`, `30d`, `90d`).
    pub range: &'static str,
    /// The charts' resolution.
    pub resolution: systole_core::telemetry::Resolution,
    /// Each metric's points over the range, by name.
    pub charts: Vec<(String, Vec<systole_core::telemetry::Point>)>,
    /// Error groups, most recently seen first.
    pub errors: Vec<ErrorGroupView>,
    /// The reliability label, 30-day uptime (percent) and incidents.
    pub reliability: (systole_core::telemetry::Reliability, Option<f64>, u64),
}

/// One error group of a service.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorGroupView {
    /// Its fingerprint.
    pub fingerprint: String,
    /// The latest report's message.
    pub message: String,
    /// The latest report's stack trace.
    pub stack: Option<String>,
    /// Reports counted.
    pub count: i64,
    /// The first report.
    pub first_seen: Timestamp,
    /// The latest report.
    pub last_seen: Timestamp,
}

/// What a managed service carries besides its monitoring config.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ManagedView {
    /// Free text shown on its page.
    pub description: Option<String>,
    /// Labels for filtering.
    pub tags: Vec<String>,
    /// Its stable UUID for URL pings (`/ping/{pingId}`), if it has one.
    pub ping_id: Option<String>,
}

/// One entry of a service's change log (`GET /api/v1/services/{id}/changes`).
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    /// When the change was made.
    pub at: Timestamp,
    /// Who made it (`user:ana`, `api-key`, `provisioning:web`, …).
    pub actor: String,
    /// What kind of change (`create`, `update`, `pause`, `resume`, `rotate-key`, `delete`).
    pub action: String,
    /// What changed, as text (e.g. `name, gracePeriod`); may be empty.
    pub detail: String,
}

impl AuditEntry {
    /// The page's entry for a change log row: `detail` says what an `update` changed (the
    /// patch's fields, `name, gracePeriod`), until when a rotated-out key works, or that a
    /// delete purged the history; nothing for the other actions (a create's spec is on the
    /// page already).
    pub fn from_change(c: &systole_core::managed::Change) -> Self {
        let d = &c.detail;
        let detail = match c.action.as_str() {
            "update" => d.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default(),
            "rotate-key" => d
                .get("oldKeyValidUntil")
                .and_then(serde_json::Value::as_i64)
                .map(|ms| format!("the old key works until {}", Timestamp::from_millis(ms).human()))
                .unwrap_or_default(),
            "delete" if d.get("purge").and_then(serde_json::Value::as_bool) == Some(true) => {
                "with its history".to_owned()
            }
            _ => String::new(),
        };
        Self { at: c.at, actor: c.actor.to_string(), action: c.action.clone(), detail }
    }

    /// The action as the page words it: `"created"`, `"paused"`, `"rotated its key"`;
    /// an unknown action as it is.
    pub fn verb(&self) -> &str {
        match self.action.as_str() {
            "create" | "created" => "created",
            "update" | "updated" | "replace" | "upsert" => "changed",
            "pause" | "paused" => "paused",
            "resume" | "resumed" => "resumed",
            "rotate" | "rotate-key" | "rotateKey" | "key-rotated" => "rotated its key",
            "delete" | "deleted" => "deleted",
            other => other,
        }
    }
}

impl ServiceDetail {
    /// The edit form's starting values as the management API's JSON body (`name`, `group`,
    /// `stalenessThreshold` and `gracePeriod` in seconds, `schedule`, `timezone`,
    /// `description`, `tags`); the page carries it in `data-spec` and the script fills the
    /// form from it.
    pub fn spec_json(&self) -> String {
        let managed = self.managed.clone().unwrap_or_default();
        let schedule = self.schedule.as_ref();
        serde_json::json!({
            "id": self.row.id,
            "name": self.row.name,
            "group": self.group_id,
            "stalenessThreshold": schedule.is_none().then_some(self.staleness_threshold_s),
            "gracePeriod": self.grace_period_s,
            "schedule": schedule.map(|s| s.expression()),
            "timezone": schedule.map(|s| s.zone().name()),
            "description": managed.description,
            "tags": managed.tags,
        })
        .to_string()
    }
}

/// One run of a job, as its service page lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunView {
    /// The run's number (`/api/v1/services/{id}/runs/{n}/log`).
    pub n: u64,
    /// When it started; `None` for an end without a start.
    pub started_at: Option<Timestamp>,
    /// When it ended; `None` while unfinished.
    pub ended_at: Option<Timestamp>,
    /// Its duration, milliseconds, if known.
    pub duration_ms: Option<u64>,
    /// `success`, `fail`, `overrun` or `unknown`.
    pub outcome: String,
    /// Its exit status, if sent.
    pub exit_status: Option<u8>,
    /// Why it counts as a failure (`failed`, `overrun`, `tooShort`, `tooLong`), if it does.
    pub reason: Option<String>,
    /// Whether it has a log (output).
    pub has_output: bool,
}

impl RunView {
    /// The durations of `runs` (newest first) as a chart series, oldest first, in seconds.
    pub fn durations(runs: &[RunView]) -> MetricSeries {
        let points = runs
            .iter()
            .rev()
            .filter_map(|r| Some((r.ended_at.or(r.started_at)?, r.duration_ms? as f64 / 1000.0)))
            .collect();
        MetricSeries { name: "run duration (s)".to_owned(), points }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn metric_series_are_oldest_first_and_skip_non_numbers() {
        let s = metric_series(
            [
                (Timestamp::from_millis(2), Some(r#"{"latency_ms": 20, "note": "x"}"#)),
                (Timestamp::from_millis(1), Some(r#"{"latency_ms": 10, "queue": 3}"#)),
                (Timestamp::from_millis(0), Some("not json")),
            ]
            .into_iter(),
            8,
        );
        assert_eq!(s[0].name, "latency_ms");
        assert_eq!(s[0].points, [(Timestamp::from_millis(1), 10.0), (Timestamp::from_millis(2), 20.0)]);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn activity_merges_changes_and_attempts_newest_first_within_scope() {
        let change = |service: &str, at: i64, to: Status, reason: &str| ChangeRecord {
            service_id: service.into(),
            at: Timestamp::from_millis(at),
            from: Status::Up,
            to,
            reason: reason.into(),
        };
        let changes = [
            change("api", 70_000, Status::Up, ""),
            change("db", 20_000, Status::Down, "hidden"),
            change("api", 10_000, Status::Down, "no heartbeat"),
            change("api", 1_000, Status::Late, "old"),
        ];
        let attempt =
            |at: i64, service_id: Option<&'static str>, subject: &'static str, outcome: &'static str| AttemptRecord {
                at: Timestamp::from_millis(at),
                service_id,
                subject,
                channel: "discord",
                event: "down",
                outcome,
                attempt: 1,
                http_status: Some(500),
                error: None,
            };
        let attempts =
            [attempt(11_000, Some("api"), "api", "retrying"), attempt(12_000, None, "external", "delivered")];
        let viewer = |s: Option<&str>| s == Some("api");
        let items = activity(&changes, &attempts, Timestamp::from_millis(5_000), viewer, 10);
        let texts: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(
            texts,
            ["Up → Up", "down notification to discord retrying (attempt 1, HTTP 500)", "Up → Down (no heartbeat)"]
        );
        assert_eq!(items[2].tone, Tone::Bad);
        let everything = activity(&changes, &attempts, Timestamp::from_millis(5_000), |_| true, 3);
        assert_eq!(everything.len(), 3);
        assert_eq!(everything[1].text, "Up → Down (hidden)");
    }

    #[test]
    fn change_log_entries_say_what_an_update_changed_and_until_when_an_old_key_works() {
        use systole_core::managed::{Actor, Change};
        let change = |action: &str, detail: serde_json::Value| Change {
            service_id: "api".into(),
            at: Timestamp::from_millis(1_000),
            actor: Actor::User("ana".into()),
            action: action.into(),
            detail,
        };
        let update = AuditEntry::from_change(&change("update", serde_json::json!({"name": "x", "gracePeriod": null})));
        assert_eq!(
            (update.actor.as_str(), update.verb(), update.detail.as_str()),
            ("user:ana", "changed", "gracePeriod, name")
        );
        let rotated =
            AuditEntry::from_change(&change("rotate-key", serde_json::json!({"oldKeyValidUntil": 86_401_000})));
        assert_eq!(
            (rotated.verb(), rotated.detail.as_str()),
            ("rotated its key", "the old key works until 1970-01-02 00:00:01 UTC")
        );
        let purged = AuditEntry::from_change(&change("delete", serde_json::json!({"purge": true})));
        assert_eq!((purged.verb(), purged.detail.as_str()), ("deleted", "with its history"));
        let created = AuditEntry::from_change(&change("create", serde_json::json!({"id": "api", "name": "API"})));
        assert_eq!((created.verb(), created.detail.as_str()), ("created", ""));
        assert_eq!(AuditEntry::from_change(&change("pause", serde_json::Value::Null)).verb(), "paused");
    }

    #[test]
    fn windows_parse_their_keys_and_default_to_a_day() {
        assert_eq!(Window::parse(Some("7d")), Window::Week);
        assert_eq!(Window::parse(Some("bogus")), Window::Day);
        assert_eq!(Window::Hour.span(), Duration::from_millis(3_600_000));
    }
}
