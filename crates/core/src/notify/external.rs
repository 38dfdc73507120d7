//! The AlertDesk's state: external alerts by fingerprint, so a repeated firing alert is not
//! sent again while its resolution is; channel selection (an explicit list, validated, or
//! routing by severity); and the delivery queue that sends them.
//!
//! Rules: an alert is sent when its fingerprint is new and firing, or when its state
//! changed (firing → resolved, resolved → firing again). A repeat in the same state is
//! counted, not sent. A `resolved` for a fingerprint never seen firing is recorded but not
//! sent: no channel heard of it.
//!
//! Fingerprints are namespaced by sender ([`sender_id`]: the payload format and the key that
//! authenticated it, never the key itself), so one sender can neither pre-post another's
//! fingerprint to make the real alert a `duplicate`, nor resolve it: a resolution is honoured
//! only from the sender that fired.
//!
//! Bounds: resolved alerts are forgotten [`FORGET_AFTER`] after their last request, firing
//! ones not repeated for [`STALE_AFTER`]; each sender keeps at most [`MAX_TRACKED_PER_SENDER`]
//! fingerprints (its oldest resolved go first, then its oldest) and all together at most
//! [`MAX_TRACKED`]; each sender's deliveries wait within their own budget
//! ([`MAX_PENDING_PER_SENDER`]), so a flood from one never evicts another's. The Worker
//! stores each tracked alert as its own row ([`AlertDesk::changed`] says which to write).
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::api::Problem;
use crate::notify::alert::{AlertBatch, AlertFormat, ExternalAlert};
use crate::notify::config::{ChannelConfig, NotificationsConfig};
use crate::notify::message::Subject;
use crate::notify::queue::DeliveryQueue;
use crate::notify::vocab::{AlertState, Event, Severity};
use crate::time::Timestamp;

/// How long a resolved alert's fingerprint is remembered: 7 days.
pub const FORGET_AFTER: Duration = Duration::from_secs(7 * 86_400);
/// How long a firing alert that no request repeats is remembered: 30 days (Alertmanager
/// repeats a firing group every `repeat_interval`, 4 h by default).
pub const STALE_AFTER: Duration = Duration::from_secs(30 * 86_400);
/// Most fingerprints tracked, all senders together.
pub const MAX_TRACKED: usize = 10_000;
/// Most fingerprints tracked per sender.
pub const MAX_TRACKED_PER_SENDER: usize = 2_500;
/// Most deliveries waiting per sender; beyond it the sender's oldest is abandoned (on the
/// record), never another sender's.
pub const MAX_PENDING_PER_SENDER: usize = 100;
/// Most alert rows buffered for D1 `external_alerts` while it is unreachable.
pub const MAX_UNWRITTEN: usize = 1_000;

/// What the desk remembers of one fingerprint.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tracked {
    /// Its last state.
    pub state: AlertState,
    /// When a request last carried it.
    pub received_at: Timestamp,
    /// When it was last sent to channels.
    pub notified_at: Option<Timestamp>,
    /// Requests that repeated it without a change, since it was last sent.
    pub repeats: u32,
}

/// One alert as written to D1 `external_alerts` (its latest state).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRow {
    /// The alert.
    pub alert: ExternalAlert,
    /// `generic`, `alertmanager` or `grafana`.
    pub format: String,
    /// What the desk remembers.
    pub tracked: Tracked,
    /// Its sender ([`sender_id`]); empty for a row queued before senders were told apart.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sender: String,
}

impl AlertRow {
    /// Its key in [`AlertDesk::tracked`] ([`tracked_key`]).
    pub fn key(&self) -> String {
        tracked_key(&self.sender, &self.alert.fingerprint)
    }
}

/// The sender an alert request is namespaced by: `<format>.<key id>` (e.g.
/// `alertmanager.1a2b3c4d`, `generic.open`), the key id from
/// [`crate::keys::AlertAccess::Granted`].
pub fn sender_id(format: AlertFormat, key_id: &str) -> String {
    format!("{}.{key_id}", format.as_str())
}

/// The key a sender's fingerprint is tracked under: `<sender>/<fingerprint>` (the bare
/// fingerprint for the empty sender of desks stored before senders were told apart).
pub fn tracked_key(sender: &str, fingerprint: &str) -> String {
    if sender.is_empty() {
        fingerprint.to_owned()
    } else {
        format!("{sender}/{fingerprint}")
    }
}

/// What became of one alert of a request. JSON: camelCase.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The alert's fingerprint.
    pub fingerprint: String,
    /// Its state in this request.
    pub state: AlertState,
    /// `sent` (queued for the channels), `duplicate` (same state as already sent) or
    /// `unannounced` (resolved, never seen firing).
    pub action: &'static str,
    /// The channels it was queued for.
    pub channels: Vec<String>,
}

/// The AlertDesk Durable Object's state. Its JSON holds only `deliveries`: `tracked` and
/// `unwritten` are stored by the Worker as one row per tracked alert (keys in
/// [`AlertDesk::changed`] are the rows to rewrite or delete), and are read from the JSON
/// only when a desk stored before that carries them.
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertDesk {
    /// By [`tracked_key`].
    #[serde(default, skip_serializing)]
    pub tracked: BTreeMap<String, Tracked>,
    /// Notifications on their way.
    pub deliveries: DeliveryQueue,
    /// Alert rows not yet written to D1, at most one per tracked key, oldest first.
    #[serde(default, skip_serializing)]
    pub unwritten: Vec<AlertRow>,
    /// The tracked keys whose row changed since the Worker last stored them: present in
    /// `tracked` → write it (with its `unwritten` row, if any); absent → delete it.
    #[serde(skip)]
    pub changed: BTreeSet<String>,
}

/// Why a channel a request named cannot take its alerts.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Refused {
    /// No channel has that name or type.
    NotConfigured,
    /// Notifications are off (`notifications.json` `enabled: false`).
    NotificationsOff,
    /// The channel is disabled.
    Disabled,
    /// The channel's config sets `externalAlerts: false`.
    ExternalOff,
    /// The channel's events omit `alert`.
    NoAlerts,
}

/// The channels a request named that cannot take its alerts, each with why, and the
/// channels that could.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Refusal<'a> {
    /// Each refused name, in request order.
    pub refused: Vec<(String, Refused)>,
    /// The enabled channels taking `alert` events.
    pub available: Vec<&'a ChannelConfig>,
}

/// 400 naming `channels`: each refused channel and why, then the channels available.
impl From<Refusal<'_>> for Problem {
    fn from(r: Refusal<'_>) -> Self {
        let why: Vec<String> = r
            .refused
            .iter()
            .map(|(name, why)| {
                let why = match why {
                    Refused::NotConfigured => "is not configured",
                    Refused::NotificationsOff => "cannot send: notifications are disabled",
                    Refused::Disabled => "is disabled",
                    Refused::ExternalOff => "does not accept external alerts (its config sets externalAlerts: false)",
                    Refused::NoAlerts => "does not accept external alerts (its events omit \"alert\")",
                };
                format!("channel {name:?} {why}")
            })
            .collect();
        let list: Vec<String> = r.available.iter().map(|c| format!("{} ({})", c.name, c.kind)).collect();
        let list = if list.is_empty() { "none".to_owned() } else { list.join(", ") };
        Problem::invalid_field("channels", format!("{}; available channels: {list}", why.join("; ")))
    }
}

/// The channels an alert batch goes to: the named ones (by name or type, ignoring ASCII
/// case, as cloudflaremon), each checked to exist, be enabled, accept external alerts
/// (`config.externalAlerts` not `false`) and take `alert` events; or, when none are named,
/// every such channel whose `minSeverity` the
/// alert meets (checked per alert by [`AlertDesk::receive`]).
///
/// # Errors
/// A [`Refusal`] (a 400 naming `channels` as a [`Problem`]) when any named channel is
/// unknown, disabled or does not take external alerts (or notifications are off), listing
/// every such name and the channels available.
pub fn select<'a>(
    config: &'a NotificationsConfig,
    named: Option<&[String]>,
    routing: Routing,
) -> Result<Vec<&'a ChannelConfig>, Refusal<'a>> {
    let open = |c: &ChannelConfig| config.enabled && c.enabled && c.external_alerts;
    let takes = |c: &ChannelConfig| {
        open(c)
            && match routing {
                Routing::Alert => c.events.contains(&Event::Alert),
                Routing::Seed(_) if named.is_some() => true,
                Routing::Seed(severity) => c.events.contains(&Event::Alert) || c.events.contains(&seed_event(severity)),
            }
    };
    let available: Vec<&ChannelConfig> = config.channels.iter().filter(|c| takes(c)).collect();
    let Some(named) = named else {
        return Ok(available);
    };
    let mut chosen: Vec<&ChannelConfig> = Vec::new();
    let mut refused = Vec::new();
    for name in named {
        let matches: Vec<&ChannelConfig> = config
            .channels
            .iter()
            .filter(|c| c.name.eq_ignore_ascii_case(name) || c.kind.is_named(name, true))
            .collect();
        let usable: Vec<&ChannelConfig> = matches.iter().copied().filter(|c| takes(c)).collect();
        if usable.is_empty() {
            let why = match matches.first() {
                None => Refused::NotConfigured,
                Some(_) if !config.enabled => Refused::NotificationsOff,
                Some(c) if !c.enabled => Refused::Disabled,
                Some(c) if !c.external_alerts => Refused::ExternalOff,
                Some(_) => Refused::NoAlerts,
            };
            refused.push((name.clone(), why));
        }
        for c in usable {
            if !chosen.iter().any(|x| x.name == c.name) {
                chosen.push(c);
            }
        }
    }
    if refused.is_empty() {
        Ok(chosen)
    } else {
        Err(Refusal { refused, available })
    }
}

/// Which channels take external alerts.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Routing {
    /// Systole's rule (`/api/v1/alerts`): channels whose `events` include `alert`.
    Alert,
    /// The cloudflaremon seed's rule (`/api/alert`), for channel lists written for it: named
    /// channels take the alert whatever their `events`; otherwise channels whose `events`
    /// include `alert` or the event the first alert's severity maps to (critical and error
    /// → `down`, warning → `degraded`, info → `up`).
    Seed(Severity),
}

/// The status event cloudflaremon maps an external alert's severity onto.
fn seed_event(severity: Severity) -> Event {
    match severity {
        Severity::Critical | Severity::Error => Event::Down,
        Severity::Warning => Event::Degraded,
        Severity::Info => Event::Up,
    }
}

/// Whether an alert of `severity` passes `channel`'s `minSeverity`.
fn severe_enough(channel: &ChannelConfig, severity: Severity) -> bool {
    // `Severity` orders from critical (least) to info (greatest).
    channel.options.min_severity.is_none_or(|min| severity <= min)
}

impl AlertDesk {
    /// Takes in `batch` at `now` from `key_id` ([`crate::protocol::Intake::key_id`]),
    /// queueing what must be sent to `channels` (from [`select`]; `explicit` when the request
    /// named them, which skips `minSeverity`). Fingerprints are looked up in the sender's
    /// namespace only ([`sender_id`]).
    pub fn receive(
        &mut self,
        now: Timestamp,
        (batch, key_id): (&AlertBatch, &str),
        channels: &[&ChannelConfig],
        explicit: bool,
        dashboard_url: Option<&str>,
    ) -> Vec<Receipt> {
        let sender = sender_id(batch.format, key_id);
        let mut receipts = Vec::new();
        for alert in &batch.alerts {
            let key = tracked_key(&sender, &alert.fingerprint);
            let previous = self.tracked.get(&key).cloned();
            let action = match (&previous, alert.state) {
                (Some(t), state) if t.state == state => "duplicate",
                (None, AlertState::Resolved) => "unannounced",
                _ => "sent",
            };
            let mut sent_to = Vec::new();
            if action == "sent" {
                for c in channels.iter().filter(|c| explicit || severe_enough(c, alert.severity)) {
                    let mut n = alert.notification(dashboard_url.map(ToOwned::to_owned), now);
                    if let Subject::Alert(a) = &mut n.subject {
                        a.sender = Some(sender.clone());
                    }
                    self.deliveries.push_for(now, &c.name, n, &sender, MAX_PENDING_PER_SENDER);
                    sent_to.push(c.name.clone());
                }
            }
            let tracked = Tracked {
                state: alert.state,
                received_at: now,
                notified_at: if action == "sent" { Some(now) } else { previous.as_ref().and_then(|p| p.notified_at) },
                repeats: if action == "duplicate" { previous.as_ref().map_or(0, |p| p.repeats) + 1 } else { 0 },
            };
            self.tracked.insert(key.clone(), tracked.clone());
            self.changed.insert(key.clone());
            self.unwritten.retain(|r| r.sender != sender || r.alert.fingerprint != alert.fingerprint);
            if self.unwritten.len() >= MAX_UNWRITTEN {
                let dropped = self.unwritten.remove(0);
                self.changed.insert(dropped.key());
            }
            let format = batch.format.as_str().to_owned();
            self.unwritten.push(AlertRow { alert: alert.clone(), format, tracked, sender: sender.clone() });
            receipts.push(Receipt {
                fingerprint: alert.fingerprint.clone(),
                state: alert.state,
                action,
                channels: sent_to,
            });
        }
        self.forget(now, &sender);
        receipts
    }

    /// Marks the rows in `written` as written to D1 (those still unwritten and unchanged).
    pub fn rows_written(&mut self, written: &[AlertRow]) {
        let before: Vec<String> = self.unwritten.iter().map(AlertRow::key).collect();
        self.unwritten.retain(|r| !written.contains(r));
        let after: BTreeSet<String> = self.unwritten.iter().map(AlertRow::key).collect();
        self.changed.extend(before.into_iter().filter(|k| !after.contains(k)));
    }

    /// Takes in the rows the Worker stored (key, tracked alert, unwritten row) after the
    /// JSON: rows win over a desk stored as one JSON value before, whose entries are all
    /// marked [`changed`](Self::changed) so they move into rows on the next write.
    pub fn restore(&mut self, rows: Vec<(String, Tracked, Option<AlertRow>)>) {
        self.changed.extend(self.tracked.keys().cloned());
        self.changed.extend(self.unwritten.iter().map(AlertRow::key));
        for (key, tracked, row) in rows {
            if let Some(row) = row {
                self.unwritten.retain(|r| r.key() != key);
                self.unwritten.push(row);
            }
            self.tracked.insert(key, tracked);
        }
        self.unwritten.sort_by_key(|r| r.tracked.received_at);
    }

    /// The row to store for tracked `key`: its alert and its unwritten D1 row, or `None`
    /// when the key is no longer tracked (delete its row).
    pub fn row(&self, key: &str) -> Option<(&Tracked, Option<&AlertRow>)> {
        let tracked = self.tracked.get(key)?;
        Some((tracked, self.unwritten.iter().find(|r| r.key() == key)))
    }

    /// Drops resolved fingerprints older than [`FORGET_AFTER`] and firing ones older than
    /// [`STALE_AFTER`]; then `sender`'s oldest resolved (then oldest of any state) beyond
    /// [`MAX_TRACKED_PER_SENDER`], then anyone's beyond [`MAX_TRACKED`]. A forgotten alert's
    /// unwritten row goes with it.
    fn forget(&mut self, now: Timestamp, sender: &str) {
        let mut gone: Vec<String> = self
            .tracked
            .iter()
            .filter(|(_, t)| {
                let keep = if t.state == AlertState::Firing { STALE_AFTER } else { FORGET_AFTER };
                t.received_at + keep <= now
            })
            .map(|(k, _)| k.clone())
            .collect();
        let prefix = format!("{sender}/");
        let oldest_first = |tracked: &BTreeMap<String, Tracked>, own: bool| {
            let mut keys: Vec<(bool, Timestamp, String)> = tracked
                .iter()
                .filter(|(k, _)| !own || k.starts_with(&prefix))
                .map(|(k, t)| (t.state == AlertState::Firing, t.received_at, k.clone()))
                .collect();
            keys.sort();
            keys
        };
        for k in &gone {
            self.tracked.remove(k);
        }
        let own = oldest_first(&self.tracked, true);
        for (_, _, k) in own.iter().take(own.len().saturating_sub(MAX_TRACKED_PER_SENDER)) {
            self.tracked.remove(k);
            gone.push(k.clone());
        }
        if self.tracked.len() > MAX_TRACKED {
            let all = oldest_first(&self.tracked, false);
            for (_, _, k) in all.iter().take(all.len().saturating_sub(MAX_TRACKED)) {
                self.tracked.remove(k);
                gone.push(k.clone());
            }
        }
        if !gone.is_empty() {
            let gone: BTreeSet<String> = gone.into_iter().collect();
            self.unwritten.retain(|r| !gone.contains(&r.key()));
            self.changed.extend(gone);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::string_slice)]
    use super::*;
    use crate::notify::alert::parse;

    const CHANNELS: &str = r#"{"channels": [
        {"type": "discord", "name": "ops"},
        {"type": "pagerduty", "name": "pager", "config": {"minSeverity": "error"}},
        {"type": "slack", "name": "quiet", "events": ["down", "up"]},
        {"type": "slack", "name": "off", "enabled": false},
        {"type": "webhook", "name": "hook", "config": {"externalAlerts": false}}
    ]}"#;

    fn config() -> NotificationsConfig {
        NotificationsConfig::parse(Some(CHANNELS)).unwrap()
    }

    fn generic(title: &str, severity: &str, status: &str) -> AlertBatch {
        parse(&format!(r#"{{"title": "{title}", "message": "m", "severity": "{severity}", "status": "{status}"}}"#))
            .unwrap()
    }

    fn names(cs: &[&ChannelConfig]) -> Vec<String> {
        cs.iter().map(|c| c.name.clone()).collect()
    }

    #[test]
    fn the_seeds_routing_maps_severity_onto_status_events_and_names_ignore_events() {
        let config = config();
        // `quiet` lists only down and up: a critical alert maps to down, a warning to degraded.
        let critical = select(&config, None, Routing::Seed(Severity::Critical)).unwrap();
        assert_eq!(names(&critical), ["ops", "pager", "quiet"]);
        let warning = select(&config, None, Routing::Seed(Severity::Warning)).unwrap();
        assert_eq!(names(&warning), ["ops", "pager"]);
        let info = select(&config, None, Routing::Seed(Severity::Info)).unwrap();
        assert_eq!(names(&info), ["ops", "pager", "quiet"]);
        let named = select(&config, Some(&["quiet".to_owned()]), Routing::Seed(Severity::Warning)).unwrap();
        assert_eq!(names(&named), ["quiet"]);
        // Still refused: disabled, and externalAlerts false.
        for name in ["off", "hook"] {
            assert!(select(&config, Some(&[name.to_owned()]), Routing::Seed(Severity::Critical)).is_err(), "{name}");
        }
        assert_eq!(names(&select(&config, None, Routing::Alert).unwrap()), ["ops", "pager"]);
    }

    #[test]
    fn severity_routes_when_no_channel_is_named() {
        let config = config();
        let all = select(&config, None, Routing::Alert).unwrap();
        assert_eq!(names(&all), ["ops", "pager"]);
        let mut desk = AlertDesk::default();
        let r =
            desk.receive(Timestamp::from_millis(0), (&generic("Disk", "warning", "firing"), "k"), &all, false, None);
        assert_eq!(r[0].channels, ["ops"], "warning is below the pager's minSeverity");
        let r =
            desk.receive(Timestamp::from_millis(0), (&generic("CPU", "critical", "firing"), "k"), &all, false, None);
        assert_eq!(r[0].channels, ["ops", "pager"]);
    }

    #[test]
    fn named_channels_are_validated_and_listed_when_wrong() {
        let config = config();
        let by_type = select(&config, Some(&["pagerduty".to_owned()]), Routing::Alert).unwrap();
        assert_eq!(names(&by_type), ["pager"]);
        for (name, why) in [
            ("nope", "is not configured"),
            ("off", "is disabled"),
            ("quiet", "does not accept external alerts"),
            ("hook", "does not accept external alerts (its config sets externalAlerts: false)"),
        ] {
            let p = Problem::from(select(&config, Some(&[name.to_owned()]), Routing::Alert).unwrap_err());
            assert_eq!((p.status, p.field.as_deref()), (400, Some("channels")));
            assert!(p.detail.contains(why), "{}", p.detail);
            assert!(p.detail.ends_with("available channels: ops (discord), pager (pagerduty)"), "{}", p.detail);
        }
        let both = select(&config, Some(&["NOPE".to_owned(), "OPS".to_owned(), "off".to_owned()]), Routing::Alert)
            .unwrap_err();
        assert_eq!(both.refused, [("NOPE".to_owned(), Refused::NotConfigured), ("off".to_owned(), Refused::Disabled)]);
        assert_eq!(
            names(&select(&config, Some(&["Discord".to_owned()]), Routing::Alert).unwrap()),
            ["ops"],
            "any case, as the seed"
        );
    }

    #[test]
    fn a_repeated_firing_alert_is_not_resent_but_its_resolution_is() {
        let config = config();
        let all = select(&config, None, Routing::Alert).unwrap();
        let mut desk = AlertDesk::default();
        let actions = |r: Vec<Receipt>| r.iter().map(|x| x.action).collect::<Vec<_>>();
        assert_eq!(
            actions(desk.receive(
                Timestamp::from_millis(0),
                (&generic("A", "error", "firing"), "k"),
                &all,
                false,
                None
            )),
            ["sent"]
        );
        assert_eq!(
            actions(desk.receive(
                Timestamp::from_millis(1),
                (&generic("A", "error", "firing"), "k"),
                &all,
                false,
                None
            )),
            ["duplicate"]
        );
        assert_eq!(desk.deliveries.pending.len(), 2);
        let fp = desk.tracked.keys().next().unwrap().clone();
        assert_eq!(desk.tracked[&fp].repeats, 1);
        assert_eq!(
            actions(desk.receive(
                Timestamp::from_millis(2),
                (&generic("A", "error", "resolved"), "k"),
                &all,
                false,
                None
            )),
            ["sent"]
        );
        assert_eq!(
            actions(desk.receive(
                Timestamp::from_millis(3),
                (&generic("A", "error", "resolved"), "k"),
                &all,
                false,
                None
            )),
            ["duplicate"]
        );
        assert_eq!(desk.deliveries.pending.len(), 4);
        assert_eq!(
            actions(desk.receive(
                Timestamp::from_millis(4),
                (&generic("B", "error", "resolved"), "k"),
                &all,
                false,
                None
            )),
            ["unannounced"]
        );
        assert_eq!(desk.unwritten.len(), 2, "one row per fingerprint, latest state");
    }

    /// A desk as the code before `Subject` stored it: one Alertmanager alert, firing, queued
    /// for `ops`.
    const STORED_DESK: &str = r#"{"tracked":{"fbaaaadd3bb9c704":{"state":"firing","receivedAt":2000,"notifiedAt":2000,"repeats":0}},"deliveries":{"pending":[{"id":0,"channel":"ops","notification":{"event":"alert","serviceId":"alertmanager","serviceName":"High memory","group":null,"status":"down","previousStatus":"up","since":1763753600000,"duration":null,"message":"db-1 97 %","dashboardUrl":"https://status.example.com","suppressed":0,"alert":{"state":"firing","severity":"critical","source":"alertmanager","fingerprint":"fbaaaadd3bb9c704","labels":{"alertname":"HighMemory","severity":"critical"},"url":"https://prom.example.com/graph?g0.expr=mem"}},"incident":null,"attempts":0,"queuedAt":2000,"firstAttemptAt":null,"nextAt":2000,"inFlight":null}],"nextId":1,"unwritten":[],"writeRetryAt":null},"unwritten":[{"alert":{"fingerprint":"fbaaaadd3bb9c704","state":"firing","title":"High memory","message":"db-1 97 %","severity":"critical","source":"alertmanager","labels":{"alertname":"HighMemory","severity":"critical"},"annotations":{"description":"db-1 97 %","summary":"High memory"},"startsAt":1763753600000,"endsAt":null,"url":"https://prom.example.com/graph?g0.expr=mem"},"format":"alertmanager","tracked":{"state":"firing","receivedAt":2000,"notifiedAt":2000,"repeats":0}}]}"#;

    #[test]
    fn a_desk_stored_by_earlier_versions_reads_back_unchanged() {
        let desk: AlertDesk = serde_json::from_str(STORED_DESK).unwrap();
        let n = &desk.deliveries.pending[0].notification;
        let a = n.alert().unwrap();
        assert_eq!(
            (a.state, a.severity, a.fingerprint.as_str()),
            (AlertState::Firing, Severity::Critical, "fbaaaadd3bb9c704")
        );
        assert_eq!(desk.unwritten[0].alert.details(), *a);
        assert_eq!(
            desk.unwritten[0]
                .alert
                .notification(Some("https://status.example.com".into()), Timestamp::from_millis(2_000)),
            *n
        );
        assert_eq!(desk.tracked["fbaaaadd3bb9c704"].state, AlertState::Firing);
        // Its tracked alert and row move into rows: the JSON keeps the deliveries only.
        let mut desk = desk;
        desk.restore(Vec::new());
        assert_eq!(desk.changed.iter().collect::<Vec<_>>(), ["fbaaaadd3bb9c704"]);
        let (tracked, row) = desk.row("fbaaaadd3bb9c704").unwrap();
        assert_eq!((tracked.state, row.map(|r| r.format.as_str())), (AlertState::Firing, Some("alertmanager")));
        let json = serde_json::to_string(&desk).unwrap();
        let deliveries =
            &STORED_DESK[STORED_DESK.find(r#""deliveries""#).unwrap()..STORED_DESK.find(r#","unwritten":[{"#).unwrap()];
        assert_eq!(json, format!("{{{deliveries}}}"), "the deliveries written back byte for byte");
    }

    fn alertmanager(status: &str, fingerprint: &str) -> AlertBatch {
        parse(&format!(
            r#"{{"version": "4", "status": "{status}", "alerts": [{{"status": "{status}", "fingerprint": "{fingerprint}",
                "labels": {{"alertname": "HighMemory", "severity": "critical"}},
                "generatorURL": "https://prom.example.com/graph"}}]}}"#
        ))
        .unwrap()
    }

    fn generic_fp(status: &str, fingerprint: &str) -> AlertBatch {
        parse(&format!(
            r#"{{"title": "fake", "message": "m", "severity": "critical", "status": "{status}", "fingerprint": "{fingerprint}"}}"#
        ))
        .unwrap()
    }

    #[test]
    fn another_sender_can_neither_suppress_nor_resolve_an_alert() {
        let config = config();
        let all = select(&config, None, Routing::Alert).unwrap();
        let mut desk = AlertDesk::default();
        let at = Timestamp::from_millis;
        let action = |r: Vec<Receipt>| r[0].action;
        // B pre-posts A's fingerprint (another format, or another key): A's alert is still sent.
        assert_eq!(action(desk.receive(at(0), (&generic_fp("firing", "fp-1"), "k1"), &all, false, None)), "sent");
        assert_eq!(action(desk.receive(at(0), (&alertmanager("firing", "fp-1"), "k2"), &all, false, None)), "sent");
        assert_eq!(action(desk.receive(at(1), (&alertmanager("firing", "fp-1"), "k1"), &all, false, None)), "sent");
        assert_eq!(
            action(desk.receive(at(2), (&alertmanager("firing", "fp-1"), "k1"), &all, false, None)),
            "duplicate"
        );
        // B's resolution of the same fingerprint is its own: A's alert stays firing, nothing is sent for it.
        let pending = desk.deliveries.pending.len();
        assert_eq!(action(desk.receive(at(3), (&alertmanager("resolved", "fp-1"), "k2"), &all, false, None)), "sent");
        assert_eq!(
            action(desk.receive(at(3), (&generic_fp("resolved", "fp-9"), "k1"), &all, false, None)),
            "unannounced"
        );
        let a = tracked_key(&sender_id(AlertFormat::Alertmanager, "k1"), "fp-1");
        assert_eq!(desk.tracked[&a].state, AlertState::Firing);
        // Only A's own resolution resolves it, and its deliveries name A as the sender.
        assert_eq!(action(desk.receive(at(4), (&alertmanager("resolved", "fp-1"), "k1"), &all, false, None)), "sent");
        assert_eq!(desk.tracked[&a].state, AlertState::Resolved);
        let last = desk.deliveries.pending.last().unwrap();
        assert_eq!(last.notification.alert().unwrap().sender.as_deref(), Some("alertmanager.k1"));
        assert!(desk.deliveries.pending.len() > pending);
        assert!(desk.changed.contains(&a));
    }

    #[test]
    fn the_senders_url_is_its_source_link_never_our_dashboard_link() {
        let config = config();
        let all = select(&config, None, Routing::Alert).unwrap();
        let mut desk = AlertDesk::default();
        desk.receive(Timestamp::from_millis(0), (&alertmanager("firing", "fp"), "k"), &all, false, None);
        let n = &desk.deliveries.pending[0].notification;
        assert_eq!(n.dashboard_url, None, "PUBLIC_URL unset: no dashboard link");
        assert_eq!(n.alert().unwrap().url.as_deref(), Some("https://prom.example.com/graph"));
        desk.receive(
            Timestamp::from_millis(0),
            (&alertmanager("firing", "fp2"), "k"),
            &all,
            false,
            Some("https://s.example"),
        );
        let n = &desk.deliveries.pending.last().unwrap().notification;
        assert_eq!(n.dashboard_url.as_deref(), Some("https://s.example"));
    }

    #[test]
    fn a_flood_from_one_sender_keeps_within_its_budgets() {
        let config = config();
        let ops = select(&config, Some(&["ops".to_owned()]), Routing::Alert).unwrap();
        let mut desk = AlertDesk::default();
        desk.receive(Timestamp::from_millis(0), (&alertmanager("firing", "real"), "k1"), &ops, true, None);
        let real = desk.deliveries.pending[0].id;
        for round in 0..3 {
            let alerts: Vec<String> = (0..1_000)
                .map(|i| {
                    format!(r#"{{"status": "firing", "fingerprint": "f{round}-{i}", "labels": {{"alertname": "x"}}}}"#)
                })
                .collect();
            let flood =
                parse(&format!(r#"{{"version": "4", "status": "firing", "alerts": [{}]}}"#, alerts.join(","))).unwrap();
            desk.receive(Timestamp::from_millis(1 + round), (&flood, "k2"), &ops, true, None);
        }
        assert_eq!(desk.deliveries.pending[0].id, real, "the other sender's delivery is still pending");
        assert_eq!(desk.deliveries.pending.len(), 1 + MAX_PENDING_PER_SENDER);
        let flooder = format!("{}/", sender_id(AlertFormat::Alertmanager, "k2"));
        assert_eq!(desk.tracked.keys().filter(|k| k.starts_with(&flooder)).count(), MAX_TRACKED_PER_SENDER);
        assert!(desk.tracked.contains_key(&tracked_key(&sender_id(AlertFormat::Alertmanager, "k1"), "real")));
        assert!(desk.unwritten.len() <= MAX_UNWRITTEN);
        // Every row dropped by the bounds is among those to delete.
        let stored: BTreeSet<&String> = desk.changed.iter().filter(|k| desk.row(k).is_some()).collect();
        assert_eq!(stored.len(), desk.tracked.len());
        assert_eq!(desk.changed.len(), 1 + 3_000);
    }

    #[test]
    fn firing_alerts_nobody_repeats_expire() {
        let config = config();
        let all = select(&config, None, Routing::Alert).unwrap();
        let mut desk = AlertDesk::default();
        desk.receive(Timestamp::from_millis(0), (&generic("A", "error", "firing"), "k"), &all, false, None);
        desk.changed.clear();
        desk.receive(
            Timestamp::from_millis(0) + STALE_AFTER,
            (&generic("B", "error", "firing"), "k"),
            &all,
            false,
            None,
        );
        assert_eq!(desk.tracked.len(), 1, "A, firing but unheard of for 30 days, is forgotten");
        assert_eq!(desk.changed.len(), 2, "B written, A deleted");
        assert!(desk.unwritten.iter().all(|r| r.alert.title == "B"));
    }

    #[test]
    fn resolved_alerts_are_forgotten_after_a_week() {
        let config = config();
        let all = select(&config, None, Routing::Alert).unwrap();
        let mut desk = AlertDesk::default();
        desk.receive(Timestamp::from_millis(0), (&generic("A", "error", "firing"), "k"), &all, false, None);
        desk.receive(Timestamp::from_millis(1), (&generic("A", "error", "resolved"), "k"), &all, false, None);
        desk.receive(Timestamp::from_millis(2), (&generic("B", "error", "firing"), "k"), &all, false, None);
        desk.receive(
            Timestamp::from_millis(2) + FORGET_AFTER,
            (&generic("C", "info", "firing"), "k"),
            &all,
            false,
            None,
        );
        assert_eq!(desk.tracked.len(), 2, "A forgotten; B still firing; C new");
    }
}
