//! Everything one ServiceMonitor Durable Object persists, and its one call into core.
//!
//! The shell's sequence for every event is: load the record → [`ServiceRecord::handle`]
//! with `now` → persist → apply the alarm → carry out the effects, feeding their results
//! back as [`Input::Completed`] (see [`crate::durable`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{ServiceConfig, ServiceId};
use crate::durable::{self, AlarmAction, Armed, Completed, Outcome, Wake, Write};
use crate::escalation::AckLinks;
use crate::history::{Backpressure, EventRow, FlushBatch, History, Through};
use crate::keys::KeyRing;
use crate::limit::{self, Limiter};
use crate::live::ServiceUpdate;
use crate::maintenance::{self, Window};
use crate::managed::ManagedService;
use crate::monitor::{Deadline, Effect, Event, Heartbeat, HeartbeatEvent, Incident, Monitor, MonitorConfig, Status};
use crate::notify::queue::DeliveryQueue;
use crate::notify::service::{Routing, ServiceNotifier};
use crate::notify::NotificationsConfig;
use crate::time::Timestamp;

/// The version of the stored [`ServiceRecord`] JSON this code writes. The rule (also in
/// `docs/architecture.md`): a change that old JSON still reads as the same value (a new field
/// with `#[serde(default)]`, a removed field) keeps the version; any other change raises it
/// and reads the older versions explicitly, with a test that parses a stored example of
/// each.
///
/// - Version 1 held the buffered heartbeats inside the record (`history.pending.heartbeats`
///   and `history.inFlight.heartbeats`), and the limiter; [`ServiceRecord::upgrade`] moves
///   them into event rows.
/// - Version 2 keeps each heartbeat in its own event row ([`EventRow`]) and the record
///   rewritten only when it changes (see [`ServiceRecord::restore`]).
pub const RECORD_VERSION: u32 = 2;

/// One event for a ServiceMonitor.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A heartbeat, with the key it presented.
    Heartbeat {
        /// What it reports.
        heartbeat: Heartbeat,
        /// The key presented, if any (checked in constant time).
        key: Option<String>,
    },
    /// The Durable Object alarm fired.
    Alarm,
    /// The monitor's deadline ([`ServiceRecord::deadline`]) came while the alarm that started
    /// delivery attempts still awaits them (a receiver may take up to the attempt timeout to
    /// answer, and the runtime runs no other alarm meanwhile): checks the deadlines and
    /// queues what a status change must send, without starting sends or D1 writes (the
    /// running alarm's completion does, and arms the alarm).
    Deadline,
    /// The hourly cron watchdog asks the object to apply the deployed config and make sure
    /// an alarm is armed; `alarm_held` says whether the runtime holds one.
    Watchdog {
        /// Whether the runtime reports an alarm set.
        alarm_held: bool,
    },
    /// Effects asked for by an earlier outcome finished.
    Completed(Completed),
    /// A management operation changed the (managed) service's config: apply it now (a
    /// pause closes an open incident and stops the deadlines, a resume waits in `unknown`),
    /// queue what that sends, publish the change and re-arm. A service never heard from
    /// gets its record now (so a paused one is stored as `paused`).
    Configured,
    /// The (managed) service is being deleted: an open incident closes (reason `deleted`),
    /// the status becomes `paused`, and the history (that change included) is written to D1;
    /// the shell then clears the object's storage and alarm.
    Delete,
    /// A run-time maintenance window is added or removed (the maintenance API, authorized
    /// at the edge).
    Maintenance(maintenance::Command),
    /// A key check (an error report's): answers [`Answer::Nothing`] when `key` opens the
    /// service, else [`Answer::Unauthorized`]; changes nothing.
    Authorize {
        /// The key presented, if any (checked in constant time).
        key: Option<String>,
    },
    /// A snooze: maintenance for `minutes` (within [`maintenance::SNOOZE_MINUTES`]) from now,
    /// replacing an earlier snooze; authorized by the service's heartbeat key.
    Snooze {
        /// How long, in minutes.
        minutes: u64,
        /// The key presented, if any (checked in constant time).
        key: Option<String>,
    },
    /// Parents of this service (`dependsOn`) and their statuses, each with since when: the one
    /// parent that pushed its change, or every parent as D1 last holds it (caught up at the
    /// watchdog's visit). Each is remembered unless older than the state held, and when no
    /// parent blocks any more a `down` whose alert was held is sent now (see
    /// [`crate::dependency`]). Creates the record of a service never heard from.
    Parents(Vec<(ServiceId, crate::dependency::ParentState)>),
    /// Someone acknowledges the open incident that started at `started_at` (authorized at
    /// the edge: a user, the management key, or a signed link).
    Acknowledge {
        /// The incident's start (epoch ms), which names it.
        started_at: Timestamp,
        /// Who: a user id, `api` or `link`.
        by: String,
    },
}

/// The answer to an [`Input`].
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// Nothing to answer (alarms and completions).
    Nothing,
    /// The heartbeat was recorded: the status after it and the next deadline.
    Accepted {
        /// The service.
        service_id: ServiceId,
        /// When it was received (epoch ms, UTC).
        received_at: Timestamp,
        /// Status after the heartbeat.
        status: Status,
        /// When the next heartbeat is due (or the grace period ends), if monitored.
        next_deadline: Option<Timestamp>,
    },
    /// Unknown service, missing key or wrong key (indistinguishable to the caller).
    Unauthorized,
    /// The history buffer is full; nothing was recorded.
    Busy(Backpressure),
    /// The service sent more than [`limit::SERVICE_HEARTBEATS`] allows; nothing was
    /// recorded. Carries how long until one more heartbeat would be admitted.
    Limited(Duration),
    /// The watchdog named a service this deployment does not configure.
    UnknownService,
    /// The watchdog's answer: the wake time the record wants (epoch ms), if any.
    WakeAt(Option<Timestamp>),
    /// The incident is acknowledged (now, or already before: the first acknowledgement
    /// stays).
    Acknowledged(Incident),
    /// The service has no open incident that started then (resolved, or never was).
    NotOpen,
    /// A maintenance window was added or removed, or a snooze taken: the status after it,
    /// and while in maintenance when that ends (epoch ms).
    Maintenance {
        /// Status after the change.
        status: Status,
        /// The end of the maintenance the service is in, if it is.
        until: Option<Timestamp>,
    },
}

impl Answer {
    /// The problem+json a heartbeat that was not accepted is answered with:
    /// - [`Answer::Busy`]: 503 `unavailable` naming the full buffer, `Retry-After: 5`;
    /// - [`Answer::Limited`]: 429 `rate-limited` naming the service's heartbeat rate limit,
    ///   `Retry-After` the whole seconds until one more is admitted;
    /// - anything else: 401 `unauthorized`, with `"unknownService": true` when the object
    ///   holds no such service (`held` false: neither declared nor managed there), so the
    ///   edge can tell a provisioning key's new service from a wrong key.
    pub fn refusal(&self, held: bool) -> crate::api::Problem {
        use crate::api::Problem;
        match self {
            Answer::Busy(full) => Problem::unavailable(full.to_string(), 5),
            Answer::Limited(wait) => {
                Problem::rate_limited("this service's heartbeat rate limit", limit::retry_after_secs(*wait))
            }
            _ if held => Problem::unauthorized(),
            _ => Problem::unauthorized().with("unknownService", true),
        }
    }
}

/// What the ServiceMonitor's deployment provides to [`ServiceRecord::handle`].
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The service's deployed config; `None` when it is no longer configured.
    pub service: Option<&'a ServiceConfig>,
    /// The deployed `notifications.json` (channels, policies, retry policy).
    pub notifications: &'a NotificationsConfig,
    /// The heartbeat keys.
    pub keys: &'a KeyRing,
    /// The dashboard's base URL (`https://…`, no trailing `/`), if known.
    pub dashboard_url: Option<&'a str>,
    /// The managed service the object holds, if it is one: its keys open it (instead of
    /// `API_KEYS`, [`ManagedService::authorize`]); `service` is then its resolved config.
    pub managed: Option<&'a ManagedService>,
    /// How long buffered heartbeats may wait for a D1 flush.
    pub flush_interval: Duration,
    /// The signed acknowledgement links notifications carry, when the deployment has a
    /// server secret.
    pub ack_links: Option<&'a AckLinks>,
}

impl Context<'_> {
    /// Whether `key` opens `service` at `now`: a managed service's own keys (rotation grace
    /// included), else `API_KEYS`; checked in constant time.
    fn authorize(&self, service: &ServiceConfig, key: Option<&str>, now: Timestamp) -> crate::keys::Authorization {
        match self.managed {
            Some(m) => m.authorize(service, self.keys, key, now),
            None => self.keys.authorize(Some(service), key),
        }
    }

    fn routing(&self) -> Option<Routing<'_>> {
        Some(Routing {
            notifications: self.notifications,
            service: self.service?,
            dashboard_url: self.dashboard_url,
            ack_links: self.ack_links,
        })
    }
}

/// What [`ServiceRecord::handle`] returns.
pub type ServiceOutcome = Outcome<Answer, ServiceUpdate>;

/// The persisted state of one ServiceMonitor: monitor, history and the armed alarm.
///
/// Stored as one JSON row (the state row) plus one event row per recorded heartbeat
/// ([`EventRow`]). A heartbeat that changes nothing but the last heartbeat (an `up` service
/// staying `up`) writes only its event row: the record is rewritten when something else
/// changes (a status change, a notification, a flush of many heartbeats, of changes or of
/// rollups, the watchdog; and before the event ring could overwrite a row a load needs),
/// and when it is loaded the event rows stored after it are applied
/// ([`ServiceRecord::restore`]). So the
/// stored record's last heartbeat, sequence numbers and heartbeat tallies may lag, and the
/// alarm time it holds may be an earlier decision (at worst one redundant `setAlarm`).
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRecord {
    /// The version of this JSON ([`RECORD_VERSION`]); records written before versions
    /// existed read as version 1.
    #[serde(default = "first_version")]
    pub version: u32,
    /// The service this record belongs to.
    pub service_id: ServiceId,
    /// The state machine.
    pub monitor: Monitor,
    /// What is owed to D1.
    pub history: History,
    /// The alarm time last set, cleared when it fires.
    pub armed: Armed,
    /// What each notification channel was told about this service.
    #[serde(default, skip_serializing_if = "is_default")]
    pub notifier: ServiceNotifier,
    /// Notifications on their way, and attempt records owed to D1 `alert_history`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub deliveries: DeliveryQueue,
    /// The heartbeat rate limiter ([`limit::SERVICE_HEARTBEATS`]). Kept in memory only (read
    /// from version 1 records): storing it would cost a write per heartbeat. The trade-off: an
    /// object loaded afresh (after a deploy, or after idling long enough to be evicted) starts
    /// with a full burst, so a service can get at most one extra burst per restart, and a
    /// flood keeps its object in memory anyway.
    #[serde(default, skip_serializing)]
    pub limiter: Limiter,
}

fn first_version() -> u32 {
    1
}

/// Whether `v` is its type's default: left out of the stored JSON, so a service that never
/// notified pays nothing for it on each heartbeat's write.
fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl ServiceRecord {
    /// A fresh record for a service first seen at `now`.
    pub fn new(service_id: ServiceId, config: MonitorConfig, now: Timestamp) -> Self {
        let mut history = History::default();
        history.rollups.accounted_until = Some(now);
        Self {
            version: RECORD_VERSION,
            service_id,
            monitor: Monitor::new(config, now),
            history,
            armed: Armed::default(),
            notifier: ServiceNotifier::default(),
            deliveries: DeliveryQueue::default(),
            limiter: Limiter::default(),
        }
    }

    /// The one call into core for every event of a ServiceMonitor at `now`. `slot` holds
    /// the stored record, if any: a first accepted heartbeat creates it.
    ///
    /// - [`Input::Heartbeat`]: checks the key, applies the deployed config, records the
    ///   heartbeat, queues what its status change must send (the alarm this arms at `now`
    ///   sends it, so the answer never waits for a channel) and publishes the new state.
    ///   Answers [`Answer::Accepted`], [`Answer::Unauthorized`], [`Answer::Busy`] or, past
    ///   [`limit::SERVICE_HEARTBEATS`], [`Answer::Limited`] (nothing stored or changed).
    /// - [`Input::Alarm`]: applies the config, checks deadlines, queues notifications,
    ///   starts the due delivery attempts; then (directly, or on their completion) writes
    ///   attempt records and history to D1, and finally re-arms.
    /// - [`Input::Deadline`]: while an alarm's sends are in flight, checks deadlines on time
    ///   and queues notifications; persists, publishes, and leaves sends, writes and the
    ///   alarm to that alarm's completion.
    /// - [`Input::Watchdog`]: applies the config and arms the alarm if the runtime lost it.
    /// - [`Input::Completed`]: records the results of sends and writes.
    pub fn handle(slot: &mut Option<Self>, now: Timestamp, input: Input, ctx: &Context<'_>) -> ServiceOutcome {
        let out = Self::on_input(slot, now, input, ctx);
        if let (true, Some(rec)) = (out.persist, slot.as_mut()) {
            rec.history.stored();
        }
        out
    }

    fn on_input(slot: &mut Option<Self>, now: Timestamp, input: Input, ctx: &Context<'_>) -> ServiceOutcome {
        match input {
            Input::Heartbeat { heartbeat, key } => Self::on_heartbeat_input(slot, now, heartbeat, key.as_deref(), ctx),
            Input::Watchdog { alarm_held } => match (ctx.service, slot.as_mut()) {
                (None, _) => Outcome::answer(Answer::UnknownService),
                (Some(_), None) => Outcome::answer(Answer::WakeAt(None)),
                (Some(_), Some(rec)) => rec.on_watchdog(now, alarm_held, ctx),
            },
            Input::Alarm => match slot.as_mut() {
                Some(rec) => rec.on_alarm_input(now, ctx),
                None => Outcome::answer(Answer::Nothing),
            },
            Input::Deadline => match slot.as_mut() {
                Some(rec) => {
                    let mut out = Outcome::answer(Answer::Nothing);
                    rec.check_deadlines(now, ctx, &mut out);
                    out
                }
                None => Outcome::answer(Answer::Nothing),
            },
            Input::Completed(done) => match slot.as_mut() {
                Some(rec) => rec.on_completed(now, done, ctx),
                None => Outcome::answer(Answer::Nothing),
            },
            Input::Configured => {
                let Some(service) = ctx.service else { return Outcome::answer(Answer::Nothing) };
                let created = slot.is_none();
                let rec = slot.get_or_insert_with(|| Self::new(service.id.clone(), MonitorConfig::from(service), now));
                let mut out = Outcome::answer(Answer::Nothing);
                rec.check_deadlines(now, ctx, &mut out);
                out.persist |= created;
                out.alarm = rec.rearm(now, ctx.flush_interval);
                out
            }
            Input::Delete => match slot.as_mut() {
                Some(rec) => {
                    let before = rec.monitor.status();
                    let effects = rec.monitor.on_delete(now);
                    let _ = rec.history.apply(now, before, &effects, rec.monitor.config().maintenance_uptime);
                    let mut out = Outcome::answer(Answer::Nothing);
                    out.update = Some(ServiceUpdate::new(rec.service_id.as_str(), rec.monitor.state(), &effects, now));
                    out.persist = true;
                    if let Some(batch) = rec.begin_flush(now) {
                        out.writes.push(Write::History(batch));
                    }
                    out
                }
                None => Outcome::answer(Answer::Nothing),
            },
            Input::Maintenance(command) => Self::on_maintenance_input(slot, now, command, ctx),
            Input::Parents(parents) => {
                let (Some(service), Some(routing)) = (ctx.service, ctx.routing()) else {
                    return Outcome::answer(Answer::UnknownService);
                };
                let rec = slot.get_or_insert_with(|| Self::new(service.id.clone(), MonitorConfig::from(service), now));
                let effects = rec.on_config(now, MonitorConfig::from(service));
                for (parent, state) in parents {
                    rec.monitor.on_parent(parent, state, &service.depends_on);
                }
                rec.notify(now, &effects, &routing);
                let mut out = Outcome::answer(Answer::Nothing);
                if effects.iter().any(|e| matches!(e, Effect::StatusChanged(_))) {
                    out.update = Some(ServiceUpdate::new(service.id.as_str(), rec.monitor.state(), &effects, now));
                }
                out.persist = true;
                out.alarm = rec.rearm(now, ctx.flush_interval);
                out
            }
            Input::Authorize { key } => match ctx.service {
                Some(service) if ctx.authorize(service, key.as_deref(), now).granted() => {
                    Outcome::answer(Answer::Nothing)
                }
                _ => Outcome::answer(Answer::Unauthorized),
            },
            Input::Acknowledge { started_at, by } => match slot.as_mut() {
                Some(rec) => rec.on_acknowledge(now, started_at, &by, ctx),
                None => Outcome::answer(Answer::NotOpen),
            },
            Input::Snooze { minutes, key } => {
                let Some(service) = ctx.service else { return Outcome::answer(Answer::Unauthorized) };
                if !ctx.authorize(service, key.as_deref(), now).granted() {
                    return Outcome::answer(Answer::Unauthorized);
                }
                let minutes = minutes.clamp(*maintenance::SNOOZE_MINUTES.start(), *maintenance::SNOOZE_MINUTES.end());
                let end = now + Duration::from_secs(minutes * 60);
                let window = Window {
                    id: Some(maintenance::SNOOZE_ID.to_owned()),
                    reason: Some(format!("snoozed for {minutes} min")),
                    ..Window::once(now, end)
                };
                Self::on_maintenance_input(slot, now, maintenance::Command::Add(window), ctx)
            }
        }
    }

    /// Applies a maintenance `command` at `now`: enters or leaves maintenance at once if that
    /// changes, records and publishes the change (which notifies nothing) and re-arms the
    /// alarm for the window's start or end. Creates the record of a service never heard from.
    fn on_maintenance_input(
        slot: &mut Option<Self>,
        now: Timestamp,
        command: maintenance::Command,
        ctx: &Context<'_>,
    ) -> ServiceOutcome {
        let (Some(service), Some(routing)) = (ctx.service, ctx.routing()) else {
            return Outcome::answer(Answer::UnknownService);
        };
        let rec = slot.get_or_insert_with(|| Self::new(service.id.clone(), MonitorConfig::from(service), now));
        let mut effects = rec.on_config(now, MonitorConfig::from(service));
        let before = rec.monitor.status();
        let more = rec.monitor.on_maintenance(now, command);
        let _ = rec.history.apply(now, before, &more, rec.monitor.config().maintenance_uptime);
        effects.extend(more);
        let queued = rec.notify(now, &effects, &routing);
        let state = rec.monitor.state();
        let until = state.maintenance_until.filter(|_| state.status == Status::Maintenance);
        let mut out = Outcome::answer(Answer::Maintenance { status: state.status, until });
        if queued || effects.iter().any(|e| matches!(e, Effect::StatusChanged(_))) {
            out.update = Some(ServiceUpdate::new(service.id.as_str(), rec.monitor.state(), &effects, now));
        }
        out.persist = true;
        out.alarm = rec.rearm(now, ctx.flush_interval);
        out
    }

    /// Acknowledges at `now` the open incident that started at `started_at` on behalf of
    /// `by` ([`Monitor::on_acknowledge`]): recorded for D1 (written through at once, so a page
    /// read right after the answer shows it), published, and the alarm re-armed (its
    /// escalation deadline is gone, its reminders stop).
    fn on_acknowledge(&mut self, now: Timestamp, started_at: Timestamp, by: &str, ctx: &Context<'_>) -> ServiceOutcome {
        let (Some(service), Some(routing)) = (ctx.service, ctx.routing()) else {
            return Outcome::answer(Answer::NotOpen);
        };
        let mut effects = self.on_config(now, MonitorConfig::from(service));
        let before = self.monitor.status();
        let more = match self.monitor.on_acknowledge(now, started_at, by) {
            Ok(more) => more,
            Err(_) => {
                let mut out = Outcome::answer(Answer::NotOpen);
                out.persist = !effects.is_empty();
                return out;
            }
        };
        let _ = self.history.apply(now, before, &more, self.monitor.config().maintenance_uptime);
        let newly = !more.is_empty();
        effects.extend(more);
        self.notify(now, &effects, &routing);
        let incident = self.monitor.state().incident.clone();
        let Some(incident) = incident else { return Outcome::answer(Answer::NotOpen) };
        let mut out = Outcome::answer(Answer::Acknowledged(incident.clone()));
        if newly {
            out.writes.push(Write::Incident(incident));
        }
        let update = ServiceUpdate::new(service.id.as_str(), self.monitor.state(), &effects, now);
        out.update = update.is_event().then_some(update);
        out.persist = true;
        out.alarm = self.rearm(now, ctx.flush_interval);
        out
    }

    fn on_heartbeat_input(
        slot: &mut Option<Self>,
        now: Timestamp,
        heartbeat: Heartbeat,
        key: Option<&str>,
        ctx: &Context<'_>,
    ) -> ServiceOutcome {
        let (Some(service), Some(routing)) = (ctx.service, ctx.routing()) else {
            return Outcome::answer(Answer::Unauthorized);
        };
        if !ctx.authorize(service, key, now).granted() {
            return Outcome::answer(Answer::Unauthorized);
        }
        let created = slot.is_none();
        let rec = slot.get_or_insert_with(|| Self::new(service.id.clone(), MonitorConfig::from(service), now));
        if let Err(wait) = rec.limiter.admit(now, limit::SERVICE_HEARTBEATS) {
            return Outcome::answer(Answer::Limited(wait));
        }
        // Only a plain success may skip storing the record: a load replays event rows, and D1
        // (which a write-through leaves it to) does not keep a heartbeat's signal.
        let plain = heartbeat.event == Event::Success && heartbeat.exit_status.is_none_or(|c| c == 0);
        let through = plain && !created && rec.history.may_write_through(now, ctx.flush_interval);
        let runs_before = rec.monitor.state().runs.clone();
        let mut effects = rec.on_config(now, MonitorConfig::from(service));
        let rows = match rec.on_heartbeat(now, heartbeat) {
            Ok((more, rows)) => {
                effects.extend(more);
                rows
            }
            Err(full) => {
                // A config change applied above is kept.
                let mut out = Outcome::answer(Answer::Busy(full));
                out.persist = !effects.is_empty();
                return out;
            }
        };
        let queued = rec.notify(now, &effects, &routing);
        let answer = Answer::Accepted {
            service_id: service.id.clone(),
            received_at: now,
            status: rec.monitor.status(),
            // The heartbeat's deadline, not an escalation's (a down service waits for none).
            next_deadline: rec.monitor.next_deadline().filter(|(_, d)| *d != Deadline::Escalation).map(|(t, _)| t),
        };
        let mut out = Outcome::answer(answer);
        out.update = Some(ServiceUpdate::new(service.id.as_str(), rec.monitor.state(), &effects, now));
        let persist = created
            || queued
            || effects.iter().any(|e| !matches!(e, Effect::Record(_)))
            || rec.monitor.state().runs != runs_before
            || rec.history.must_store();
        if !persist && through {
            if let [row] = rows.as_slice() {
                let status = rec.accrued_status();
                if let Some(batch) = rec.history.begin_through(now, status, row.clone()) {
                    // Written to D1 before the answer; its completion stores the event row only
                    // if D1 failed, and sets the alarm (see `on_completed`).
                    out.writes.push(Write::History(batch));
                    return out;
                }
            }
        }
        // The event row stores the heartbeat; the record is rewritten only when more changed,
        // and when heartbeats only D1 holds precede it (a load reads those back from D1 only
        // after the last event row).
        out.append = rows;
        out.persist = persist || rec.history.unstored_through > 0 || rec.history.through.is_some();
        out.alarm = rec.rearm(now, ctx.flush_interval);
        out
    }

    fn on_alarm_input(&mut self, now: Timestamp, ctx: &Context<'_>) -> ServiceOutcome {
        self.armed.spent();
        let mut out = Outcome::answer(Answer::Nothing);
        self.check_deadlines(now, ctx, &mut out);
        // Notifications first: they are what someone is waiting for. Leases, and attempts
        // that never reported back (now on the record), are stored before anything is sent.
        durable::begin_sends(&mut self.deliveries, now, &ctx.notifications.settings.retry, &mut out);
        if out.sends.is_empty() {
            self.write_or_rearm(now, ctx, &mut out);
        }
        out
    }

    fn on_completed(&mut self, now: Timestamp, done: Completed, ctx: &Context<'_>) -> ServiceOutcome {
        let mut out = Outcome::answer(Answer::Nothing);
        match done {
            Completed::Sent(attempts) => {
                let (policy, subject) = (&ctx.notifications.settings.retry, self.service_id.as_str());
                durable::finish_sends(&mut self.deliveries, &attempts, policy, subject, &mut out);
                self.write_or_rearm(now, ctx, &mut out);
            }
            Completed::Written(writes) => {
                let (mut history_ok, mut through) = (true, false);
                for w in writes {
                    match &w.write {
                        Write::History(batch) => {
                            match self.history.finish_through(now, batch, w.ok) {
                                Some(Through::Written { store }) => {
                                    out.persist |= store;
                                    through = true;
                                }
                                Some(Through::Buffered(row)) => {
                                    // Like any buffered heartbeat after written-through ones.
                                    out.persist |= self.history.unstored_through > 0;
                                    out.append.push(row);
                                }
                                None => out.persist |= self.history.finish_flush(now, batch, w.ok),
                            }
                            history_ok &= w.ok;
                        }
                        Write::Attempts(records) => {
                            self.deliveries.written(records.len(), w.ok, now);
                            out.persist = true;
                        }
                        // A written-through incident is in the history's next flush anyway.
                        Write::Alerts(_) | Write::Incident(_) => {}
                    }
                }
                out.alarm = if through {
                    // The heartbeat stored no row: moving the alarm to its new deadline is its
                    // one write (an earlier alarm left in place would cost a wake and a write).
                    self.armed.set_exact(now, self.next_wake(now, ctx.flush_interval))
                } else {
                    self.settle(now, ctx, history_ok, &mut out.log)
                };
            }
        }
        out
    }

    /// Applies the config and the monitor's deadlines at `now`, queues the notifications
    /// that causes and publishes a status change.
    fn check_deadlines(&mut self, now: Timestamp, ctx: &Context<'_>, out: &mut ServiceOutcome) {
        let (Some(service), Some(routing)) = (ctx.service, ctx.routing()) else {
            return;
        };
        let mut effects = self.on_config(now, MonitorConfig::from(service));
        effects.extend(self.on_alarm(now));
        let queued = self.notify(now, &effects, &routing);
        if effects.iter().any(|e| matches!(e, Effect::StatusChanged(_))) {
            out.update = Some(ServiceUpdate::new(service.id.as_str(), self.monitor.state(), &effects, now));
        }
        // A status change (and what it queued) is durable before anything is sent or
        // written elsewhere. Flush bookkeeping alone is not persisted: replaying a
        // flush writes the same rows.
        out.persist = queued || effects.iter().any(|e| !matches!(e, Effect::Record(_)));
    }

    /// The monitor's next deadline (staleness or grace end), when it has one: the shell
    /// sends [`Input::Deadline`] then if an alarm is still awaiting its delivery attempts.
    pub fn deadline(&self) -> Option<Timestamp> {
        self.monitor.next_deadline().map(|(t, _)| t)
    }

    /// After the sends: the D1 writes that are due, or (with none) the final alarm.
    fn write_or_rearm(&mut self, now: Timestamp, ctx: &Context<'_>, out: &mut ServiceOutcome) {
        durable::write_attempts_if_due(&self.deliveries, now, out);
        if let Some(batch) = self.begin_flush(now) {
            out.writes.push(Write::History(batch));
        }
        if !out.awaits() {
            out.alarm = self.settle(now, ctx, true, &mut out.log);
        }
    }

    /// The alarm at the end of an alarm's work. A service removed from the config writes
    /// what it buffered (retried if need be), then sleeps.
    fn settle(&mut self, now: Timestamp, ctx: &Context<'_>, flushed: bool, log: &mut Vec<String>) -> AlarmAction {
        if ctx.service.is_some() {
            return self.rearm(now, ctx.flush_interval);
        }
        match self.history.retry_at {
            Some(at) if !flushed => self.armed.rearm(now, Some((at, Wake::Flush))),
            _ => {
                log.push(format!("service {} is no longer configured; its monitor sleeps", self.service_id));
                AlarmAction::Keep
            }
        }
    }

    fn on_watchdog(&mut self, now: Timestamp, alarm_held: bool, ctx: &Context<'_>) -> ServiceOutcome {
        // Apply a deployed config change now (e.g. a service disabled while down).
        if let (Some(service), Some(routing)) = (ctx.service, ctx.routing()) {
            let effects = self.on_config(now, MonitorConfig::from(service));
            self.notify(now, &effects, &routing);
        }
        if !alarm_held {
            self.armed.spent();
        }
        let mut out = Outcome::answer(Answer::WakeAt(self.next_wake(now, ctx.flush_interval).map(|(t, _)| t)));
        out.persist = true;
        out.alarm = self.rearm(now, ctx.flush_interval);
        out
    }

    /// Records a heartbeat received at `now`: its effects, and its event row to store.
    ///
    /// # Errors
    /// [`Backpressure`] when the history buffer is full; nothing is changed then.
    fn on_heartbeat(&mut self, now: Timestamp, hb: Heartbeat) -> Result<(Vec<Effect>, Vec<EventRow>), Backpressure> {
        self.history.admit()?;
        let before = self.monitor.status();
        let effects = self.monitor.on_heartbeat(now, hb);
        let rows = self.history.apply(now, before, &effects, self.monitor.config().maintenance_uptime);
        Ok((effects, rows))
    }

    /// Checks the monitor's deadlines at `now` and buffers what changed.
    #[must_use]
    fn on_alarm(&mut self, now: Timestamp) -> Vec<Effect> {
        let before = self.monitor.status();
        let effects = self.monitor.on_alarm(now);
        // Alarms record no heartbeat: no event rows.
        let _ = self.history.apply(now, before, &effects, self.monitor.config().maintenance_uptime);
        effects
    }

    /// Applies the deployed config if it differs from the one the monitor holds.
    #[must_use]
    fn on_config(&mut self, now: Timestamp, config: MonitorConfig) -> Vec<Effect> {
        if *self.monitor.config() == config {
            return Vec::new();
        }
        let before = self.monitor.status();
        let effects = self.monitor.on_config(now, config);
        // A config change records no heartbeat: no event rows.
        let _ = self.history.apply(now, before, &effects, self.monitor.config().maintenance_uptime);
        effects
    }

    /// Queues the notifications that `effects` (returned by an `on_*` call at `now`) cause,
    /// and those due at `now` (held problems, reminders); see [`ServiceNotifier`]. Returns
    /// whether anything was queued.
    ///
    /// Dependencies first ([`crate::dependency`]): what a blocking parent holds is left out,
    /// and a held `down` whose parents all recovered is sent now.
    fn notify(&mut self, now: Timestamp, effects: &[Effect], routing: &Routing<'_>) -> bool {
        let depends_on = &routing.service.depends_on;
        let mut effects = crate::dependency::audible(effects, self.monitor.state(), depends_on);
        effects.extend(self.monitor.release(depends_on, now).map(Effect::StatusChanged));
        self.notifier.on_effects(now, &effects, self.monitor.state(), routing, &mut self.deliveries) > 0
    }

    /// The earliest time this record must be woken, and why.
    pub fn next_wake(&self, now: Timestamp, flush_interval: Duration) -> Option<(Timestamp, Wake)> {
        // A held alert waiting for a silent parent's verdict is sent (or not) then.
        let notify = [self.notifier.next_wake(), self.deliveries.next_wake(now), self.monitor.hold_until()]
            .into_iter()
            .flatten()
            .min();
        [
            self.monitor.next_deadline().map(|(t, _)| (t, Wake::Deadline)),
            self.history.flush_due(flush_interval).map(|t| (t, Wake::Flush)),
            notify.map(|t| (t, Wake::Notify)),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|(t, _)| *t)
    }

    /// Decides the alarm after an event at `now` (see [`Armed::rearm`]).
    fn rearm(&mut self, now: Timestamp, flush_interval: Duration) -> AlarmAction {
        let wanted = self.next_wake(now, flush_interval);
        self.armed.rearm(now, wanted)
    }

    /// Starts writing history at `now`; see [`History::begin_flush`].
    fn begin_flush(&mut self, now: Timestamp) -> Option<FlushBatch> {
        self.history.begin_flush(now, self.accrued_status())
    }

    /// The status the time spent now accrues to the uptime tallies as: the current one, as
    /// the service's `maintenanceUptime` counts it
    /// ([`crate::maintenance::MaintenanceUptime::accrued`]).
    fn accrued_status(&self) -> Status {
        self.monitor.config().maintenance_uptime.accrued(self.monitor.status())
    }

    /// Brings a record just read from its state row to [`RECORD_VERSION`]. A version 1 record
    /// held its buffered heartbeats inside: they become event rows (numbered from 1, not yet
    /// flushed), returned for the caller to store, followed by the upgraded record. `None`
    /// when the record is current (nothing to store).
    pub fn upgrade(&mut self) -> Option<Vec<EventRow>> {
        if self.version >= RECORD_VERSION {
            return None;
        }
        self.version = RECORD_VERSION;
        Some(self.history.upgrade())
    }

    /// Completes a record just loaded (and upgraded) with the event rows stored since:
    /// `rows` are the event rows of heartbeats `history.flushed + 1 ..` in order, as far as
    /// they go ([`crate::history::ring_ranges`] says where they are). They are buffered
    /// again for D1, and those stored after the record (newer than `history.recorded`)
    /// update what a heartbeat that changed no status changes: the last heartbeat, its
    /// message and metadata, the sequence numbers and the uptime tally's heartbeat count.
    /// A flush that was in flight when the object stopped is buffered again too.
    pub fn restore(&mut self, rows: Vec<EventRow>) {
        for row in self.history.restore(rows) {
            self.monitor.replay(&row.event);
        }
    }

    /// Where heartbeats written through to D1 after this record (and its event rows) would
    /// start, for [`ServiceRecord::catch_up`]: received at or after the returned time (epoch
    /// ms; `None`: any time), with sequence numbers from the returned one on.
    pub fn catch_up_from(&self) -> (Option<Timestamp>, u64) {
        let state = self.monitor.state();
        (state.last_heartbeat, state.next_seq)
    }

    /// Completes a record just loaded and restored with the heartbeats D1 holds from
    /// [`ServiceRecord::catch_up_from`] on (any order; older ones are ignored): heartbeats
    /// written through to D1 ([`History::may_write_through`]) stored no row in the object.
    /// Each is counted in the uptime tallies and applied to the monitor (last heartbeat,
    /// message, metadata, sequence numbers), so a load never takes a service that beat for
    /// overdue nor hands out a sequence number again.
    ///
    /// `written_until` is the time up to which D1 holds the rollups (`service_state`): when
    /// the stored record is older (a write-through wrote rollups since), its time is accrued
    /// up to there (the status has not changed since the record was stored: a change stores
    /// it) and the buckets D1 holds in full are dropped, so they are not written again.
    pub fn catch_up(&mut self, events: Vec<HeartbeatEvent>, written_until: Option<Timestamp>) {
        let next = self.monitor.state().next_seq;
        let mut events: Vec<HeartbeatEvent> = events.into_iter().filter(|e| e.seq >= next).collect();
        events.sort_by_key(|e| e.seq);
        for e in events {
            self.history.rollups.count_heartbeat(e.at);
            self.history.rollups.metrics.add(e.at, e.metrics.as_deref());
            self.monitor.replay(&e);
            self.history.unstored_through += 1;
        }
        if let Some(until) = written_until.filter(|u| self.history.rollups_written_until.is_none_or(|w| *u > w)) {
            self.history.rollups.accrue(until, self.accrued_status());
            self.history.rollups.prune_through(until);
            self.history.rollups_written_until = Some(until);
        }
    }

    /// Goes on with the record as stored when D1 cannot answer [`ServiceRecord::catch_up`]'s
    /// read, so a heartbeat is never refused for D1's sake. Sequence numbers continue past
    /// every one the heartbeats written through since the record was stored may have taken
    /// (at most [`crate::history::MAX_UNSTORED_THROUGH`]), and the next heartbeat written
    /// through stores the record. What is lost: those heartbeats' counts in the uptime
    /// tallies; the heartbeat being handled sets the last heartbeat anew.
    pub fn catch_up_unavailable(&mut self) {
        self.monitor.skip_seq(crate::history::MAX_UNSTORED_THROUGH);
        self.history.unstored_through = crate::history::MAX_UNSTORED_THROUGH;
    }

    /// The service's status as D1's `service_state` row holds it (written with rollups).
    pub fn snapshot(&self) -> ServiceSnapshot {
        let state = self.monitor.state();
        ServiceSnapshot {
            service_id: self.service_id.clone(),
            status: state.status,
            status_since: state.status_since,
            incident_started_at: state.incident.as_ref().map(|i| i.started_at),
            resumed_at: state.resumed_at,
        }
    }
}

/// A service's status at a moment, as stored in D1 `service_state`. Last heartbeat, last
/// message and next deadline are not stored there: readers derive them from the
/// `heartbeats` table and the config (see [`crate::monitor::deadline`]).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSnapshot {
    /// The service.
    pub service_id: ServiceId,
    /// Current status.
    pub status: Status,
    /// When it began (epoch ms).
    pub status_since: Timestamp,
    /// Start of the open incident, if down.
    pub incident_started_at: Option<Timestamp>,
    /// When its last maintenance ended (see [`crate::monitor::heartbeat_base`]).
    pub resumed_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_refused_heartbeat_is_answered_by_why() {
        let busy = Answer::Busy(Backpressure::BufferFull(2000)).refusal(true);
        assert_eq!((busy.status, busy.retry_after), (503, Some(5)));
        assert!(busy.detail.contains("2000 heartbeats waiting"), "{}", busy.detail);
        let limited = Answer::Limited(Duration::from_millis(1_200)).refusal(true);
        assert_eq!((limited.status, limited.retry_after), (429, Some(2)));
        let unknown = |p: &crate::api::Problem| p.extensions.as_ref().and_then(|e| e.get("unknownService").cloned());
        let wrong_key = Answer::Unauthorized.refusal(true);
        assert_eq!((wrong_key.status, unknown(&wrong_key)), (401, None));
        let not_held = Answer::Unauthorized.refusal(false);
        assert_eq!((not_held.status, unknown(&not_held)), (401, Some(serde_json::Value::Bool(true))));
    }
}
