//! One ServiceMonitor driven through `ServiceRecord::handle`, as the Worker drives it, with
//! the deployment (config, channels, keys) the test gives it.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use systole_core::config::Config;
use systole_core::durable::{AlarmAction, Attempted, Completed, Write, Written};
use systole_core::history::EventRow;
use systole_core::keys::KeyRing;
use systole_core::monitor::{Heartbeat, HeartbeatEvent, Reported};
use systole_core::notify::queue::Outcome as SendOutcome;
use systole_core::notify::vocab::Event;
use systole_core::notify::NotificationsConfig;
use systole_core::record::{Context, Input, ServiceOutcome, ServiceRecord};
use systole_core::time::Timestamp;

/// The key every test service accepts.
pub const KEY: &str = "test-key-0123456789";

/// A ServiceMonitor of one service under a test deployment.
pub struct Harness {
    pub config: Config,
    pub notifications: NotificationsConfig,
    pub keys: KeyRing,
    pub id: String,
    pub slot: Option<ServiceRecord>,
    pub flush_interval: Duration,
    /// The object's storage as the shell keeps it: the state row's JSON and the event rows
    /// by slot, written from each outcome's `append` and `persist`.
    pub stored: Option<String>,
    pub rows: BTreeMap<u64, EventRow>,
    /// State row rewrites so far.
    pub state_writes: usize,
    /// The heartbeats D1 holds (from successful history writes), which a load reads back.
    pub d1: Vec<HeartbeatEvent>,
    /// D1's `service_state.accounted_until`: the rollups written so far reach there.
    pub d1_rollups_until: Option<Timestamp>,
    /// Whether D1 takes a heartbeat's write-through (a [`Harness::beat`]); `true` unless set.
    pub d1_up: bool,
    /// The signed acknowledgement links (under `test secret`).
    pub ack_links: systole_core::escalation::AckLinks,
}

impl Harness {
    /// Service `id` of `services` (services.json) with `channels` (notifications.json).
    pub fn new(services: &str, channels: Option<&str>, id: &str) -> Self {
        let config = Config::parse(Some(services), None).unwrap();
        let keys: serde_json::Map<String, serde_json::Value> =
            config.services.iter().map(|s| (s.id.to_string(), KEY.into())).collect();
        let keys = KeyRing::parse(&serde_json::Value::Object(keys).to_string(), b"test secret").unwrap();
        Self {
            flush_interval: config.settings.flush_interval,
            config,
            notifications: NotificationsConfig::parse(channels).unwrap(),
            keys,
            id: id.to_owned(),
            slot: None,
            stored: None,
            rows: BTreeMap::new(),
            state_writes: 0,
            d1: Vec::new(),
            d1_rollups_until: None,
            d1_up: true,
            ack_links: systole_core::escalation::AckLinks::new(Some(b"test secret")),
        }
    }

    /// Stores what `out` asks for, as the shell does: its event rows, then the record.
    fn store(&mut self, out: &ServiceOutcome) {
        for row in &out.append {
            self.rows.insert(row.slot(), row.clone());
        }
        if out.persist {
            self.stored = self.slot.as_ref().map(|r| serde_json::to_string(r).unwrap());
            self.state_writes += 1;
        }
    }

    /// The object restarts: the record is loaded from the stored state row and event rows
    /// as the shell loads it (upgrade, then the rows of heartbeats `flushed + 1 ..`).
    pub fn restart(&mut self) {
        let mut rows = std::mem::take(&mut self.rows);
        let (d1, until) = (self.d1.clone(), self.d1_rollups_until);
        self.slot = self.stored.clone().map(|json| {
            let (mut rec, upgraded) = load(&json, &mut rows);
            catch_up(&mut rec, &d1, until);
            self.stored = upgraded.or(self.stored.take());
            rec
        });
        self.rows = rows;
    }

    /// The record a restart would load now (storage unchanged).
    pub fn reloaded(&self) -> Option<ServiceRecord> {
        self.stored.as_deref().map(|json| {
            let mut rec = load(json, &mut self.rows.clone()).0;
            catch_up(&mut rec, &self.d1, self.d1_rollups_until);
            rec
        })
    }

    /// One event at `ms` (epoch ms).
    pub fn event(&mut self, ms: i64, input: Input) -> ServiceOutcome {
        let ctx = Context {
            service: self.config.service(&self.id),
            notifications: &self.notifications,
            keys: &self.keys,
            dashboard_url: Some("https://status.example.com"),
            flush_interval: self.flush_interval,
            managed: None,
            ack_links: Some(&self.ack_links),
        };
        let out = ServiceRecord::handle(&mut self.slot, Timestamp::from_millis(ms), input, &ctx);
        self.store(&out);
        out
    }

    /// A heartbeat reporting `reported` at `ms`, with the right key, as the shell answers
    /// it: a write-through to D1 it asks for is carried out first (D1 taking it when
    /// [`Harness::d1_up`]), and its completion's rows, state and alarm are merged into the
    /// outcome returned (which then asks for no writes).
    pub fn beat(&mut self, ms: i64, reported: Reported) -> ServiceOutcome {
        let heartbeat = Heartbeat { reported, ..Heartbeat::default() };
        let mut out = self.event(ms, Input::Heartbeat { heartbeat, key: Some(KEY.to_owned()) });
        if out.writes.is_empty() {
            return out;
        }
        let done = self.answer_writes(ms, &out, self.d1_up);
        out.writes.clear();
        out.append.extend(done.append);
        out.persist |= done.persist;
        if done.alarm != AlarmAction::Keep {
            out.alarm = done.alarm;
        }
        out
    }

    /// Handles `input` at `ms` and returns what it queued: (channel, event, suppressed).
    pub fn queued(&mut self, ms: i64, input: Input) -> Vec<(String, Event, u32)> {
        let from = self.next_id();
        let _ = self.event(ms, input);
        self.queued_since(from)
    }

    /// The alarm fires at `ms`.
    pub fn alarm(&mut self, ms: i64) -> ServiceOutcome {
        self.event(ms, Input::Alarm)
    }

    /// The sends of `out` ended at `ms`, each answered `status`.
    pub fn answer_sends(&mut self, ms: i64, out: &ServiceOutcome, status: impl Fn(&str) -> u16) -> ServiceOutcome {
        let attempts = out
            .sends
            .iter()
            .map(|s| Attempted {
                send: s.clone(),
                started: Timestamp::from_millis(ms),
                ended: Timestamp::from_millis(ms),
                outcome: SendOutcome::Answered { status: status(&s.channel), retry_after: None, body: String::new() },
            })
            .collect();
        self.event(ms, Input::Completed(Completed::Sent(attempts)))
    }

    /// The writes of `out` ended at `ms`, each with `ok`.
    pub fn answer_writes(&mut self, ms: i64, out: &ServiceOutcome, ok: bool) -> ServiceOutcome {
        if ok {
            for w in &out.writes {
                if let Write::History(batch) = w {
                    if batch.rollups_until.is_some() {
                        self.d1_rollups_until = batch.rollups_until;
                    }
                    for hb in &batch.outbox.heartbeats {
                        if !self.d1.iter().any(|d| d.seq == hb.seq) {
                            self.d1.push(hb.clone());
                        }
                    }
                }
            }
        }
        let written = out.writes.iter().map(|w| Written { write: w.clone(), ok }).collect();
        self.event(ms, Input::Completed(Completed::Written(written)))
    }

    /// The alarm fires at `ms` and everything it starts succeeds at once; the outcomes in order.
    pub fn alarm_all_ok(&mut self, ms: i64) -> Vec<ServiceOutcome> {
        let mut outs = vec![self.alarm(ms)];
        loop {
            let last = outs.last().unwrap().clone();
            let next = if !last.sends.is_empty() {
                self.answer_sends(ms, &last, |_| 200)
            } else if !last.writes.is_empty() {
                self.answer_writes(ms, &last, true)
            } else {
                return outs;
            };
            outs.push(next);
        }
    }

    /// The stored record.
    pub fn record(&self) -> &ServiceRecord {
        self.slot.as_ref().unwrap()
    }

    /// Notifications queued since delivery id `from`: (channel, event, suppressed count).
    pub fn queued_since(&self, from: u64) -> Vec<(String, Event, u32)> {
        let Some(rec) = &self.slot else { return Vec::new() };
        rec.deliveries
            .pending
            .iter()
            .filter(|d| d.id >= from)
            .map(|d| (d.channel.clone(), d.notification.event(), d.notification.suppressed))
            .collect()
    }

    /// The next delivery id.
    pub fn next_id(&self) -> u64 {
        self.slot.as_ref().map_or(0, |r| r.deliveries.next_id)
    }
}

/// Loads a record from its state row `json` and event rows `rows` as the shell does; a
/// version 1 record is upgraded (its heartbeats moved into `rows`) and its new JSON returned.
pub fn load(json: &str, rows: &mut BTreeMap<u64, EventRow>) -> (ServiceRecord, Option<String>) {
    let mut rec: ServiceRecord = serde_json::from_str(json).unwrap();
    let mut upgraded = None;
    if let Some(moved) = rec.upgrade() {
        for row in moved {
            rows.insert(row.slot(), row);
        }
        upgraded = Some(serde_json::to_string(&rec).unwrap());
    }
    let mut found = Vec::new();
    let mut n = rec.history.flushed + 1;
    while let Some(row) = rows.get(&(n % systole_core::history::RING_SLOTS)).filter(|r| r.n == n) {
        found.push(row.clone());
        n += 1;
    }
    rec.restore(found);
    (rec, upgraded)
}

/// Completes a loaded record with the heartbeats `d1` holds from where it asks, and D1's
/// rollups reaching `until`, as the shell does.
pub fn catch_up(rec: &mut ServiceRecord, d1: &[HeartbeatEvent], until: Option<Timestamp>) {
    let (since, seq) = rec.catch_up_from();
    let from = since.unwrap_or(Timestamp::from_millis(0));
    rec.catch_up(d1.iter().filter(|e| e.at >= from && e.seq >= seq).cloned().collect(), until);
}

/// The absolute time an outcome sets the alarm to, if it sets one.
pub fn armed_at(out: &ServiceOutcome) -> Option<Timestamp> {
    match out.alarm {
        AlarmAction::Set(t, _) => Some(t),
        AlarmAction::Keep => None,
    }
}

/// The history batch an outcome writes, if any.
pub fn history(out: &ServiceOutcome) -> Option<&systole_core::history::FlushBatch> {
    out.writes.iter().find_map(|w| match w {
        Write::History(b) => Some(b),
        _ => None,
    })
}
