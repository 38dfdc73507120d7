//! The AlertDesk Durable Object's persisted state and its one call into core: external
//! alerts in, de-duplicated deliveries and D1 rows out (see [`crate::durable`]).

use serde::{Deserialize, Serialize};

use crate::config::EXTERNAL_SUBJECT;
use crate::durable::{self, AlarmAction, Armed, Completed, Outcome, Wake, Write};
use crate::live::AlertUpdate;
use crate::notify::external::{AlertDesk, Receipt};
use crate::notify::NotificationsConfig;
use crate::protocol::Intake;
use crate::retry::D1_WRITES;
use crate::time::Timestamp;

/// One event for the AlertDesk.
#[derive(Clone, Debug, PartialEq)]
pub enum DeskInput {
    /// A parsed `POST /api/alert` request.
    Receive(Intake),
    /// The Durable Object alarm fired.
    Alarm,
    /// Effects asked for by an earlier outcome finished.
    Completed(Completed),
}

/// What the AlertDesk's deployment provides to [`DeskRecord::handle`].
#[derive(Clone, Copy, Debug)]
pub struct DeskContext<'a> {
    /// The deployed `notifications.json`.
    pub notifications: &'a NotificationsConfig,
    /// The dashboard's base URL (`https://…`, no trailing `/`), if known.
    pub dashboard_url: Option<&'a str>,
}

/// What [`DeskRecord::handle`] returns: the receipts of a [`DeskInput::Receive`] (empty
/// otherwise), and as its live update the alerts announced (not duplicates).
pub type DeskOutcome = Outcome<Vec<Receipt>, Vec<AlertUpdate>>;

/// Everything the AlertDesk persists: the desk, its armed alarm and its row-write backoff.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeskRecord {
    /// De-duplication state, deliveries and unwritten rows (the JSON written before this
    /// record existed is exactly this object's fields).
    #[serde(flatten)]
    pub desk: AlertDesk,
    /// The alarm time last set, cleared when it fires.
    #[serde(default)]
    pub armed: Armed,
    /// No D1 write of alert rows before this time (after a failed one).
    #[serde(default)]
    pub rows_retry_at: Option<Timestamp>,
    /// Consecutive failed writes of alert rows ([`crate::retry::D1_WRITES`] backoff).
    #[serde(default)]
    pub rows_failures: u32,
}

impl DeskRecord {
    /// The one call into core for every AlertDesk event at `now`.
    ///
    /// - [`DeskInput::Receive`]: de-duplicates the alerts, queues their deliveries, answers
    ///   the receipts, publishes the announced alerts live and arms the alarm at `now` (sends
    ///   happen there, so the request never waits for a channel).
    /// - [`DeskInput::Alarm`]: starts the due delivery attempts; then (directly, or on their
    ///   completion) writes attempt records and alert rows to D1, and finally re-arms.
    /// - [`DeskInput::Completed`]: records the results of sends and writes.
    pub fn handle(&mut self, now: Timestamp, input: DeskInput, ctx: &DeskContext<'_>) -> DeskOutcome {
        match input {
            DeskInput::Receive(intake) => {
                let channels: Vec<_> =
                    ctx.notifications.channels.iter().filter(|c| intake.channels.contains(&c.name)).collect();
                let receipts = self.desk.receive(
                    now,
                    (&intake.batch, &intake.key_id),
                    &channels,
                    intake.explicit,
                    ctx.dashboard_url,
                );
                let announced: Vec<AlertUpdate> = intake
                    .batch
                    .alerts
                    .iter()
                    .zip(&receipts)
                    .filter(|(_, r)| r.action == "sent")
                    .map(|(a, _)| AlertUpdate::new(a, now))
                    .collect();
                let mut out = Outcome::answer(receipts);
                out.update = Some(announced).filter(|a| !a.is_empty());
                out.persist = true;
                out.alarm = self.rearm(now);
                out
            }
            DeskInput::Alarm => {
                self.armed.spent();
                let mut out = Outcome::answer(Vec::new());
                durable::begin_sends(&mut self.desk.deliveries, now, &ctx.notifications.settings.retry, &mut out);
                if out.sends.is_empty() {
                    self.write_or_rearm(now, &mut out);
                }
                out
            }
            DeskInput::Completed(Completed::Sent(attempts)) => {
                let mut out = Outcome::answer(Vec::new());
                let policy = &ctx.notifications.settings.retry;
                durable::finish_sends(&mut self.desk.deliveries, &attempts, policy, EXTERNAL_SUBJECT, &mut out);
                self.write_or_rearm(now, &mut out);
                out
            }
            DeskInput::Completed(Completed::Written(writes)) => {
                let mut out = Outcome::answer(Vec::new());
                for w in writes {
                    match &w.write {
                        Write::Attempts(records) => self.desk.deliveries.written(records.len(), w.ok, now),
                        // Requests may have replaced some rows meanwhile; only the written go.
                        Write::Alerts(rows) if w.ok => {
                            self.desk.rows_written(rows);
                            self.rows_retry_at = None;
                            self.rows_failures = 0;
                        }
                        Write::Alerts(_) => {
                            self.rows_failures = self.rows_failures.saturating_add(1);
                            self.rows_retry_at = Some(now + D1_WRITES.after(self.rows_failures));
                        }
                        Write::History(_) | Write::Incident(_) => {}
                    }
                }
                out.persist = true;
                out.alarm = self.rearm(now);
                out
            }
        }
    }

    /// After the sends: the D1 writes that are due, or (with none) the final alarm.
    fn write_or_rearm(&mut self, now: Timestamp, out: &mut DeskOutcome) {
        durable::write_attempts_if_due(&self.desk.deliveries, now, out);
        if !self.desk.unwritten.is_empty() && self.rows_retry_at.is_none_or(|t| t <= now) {
            out.writes.push(Write::Alerts(self.desk.unwritten.clone()));
        }
        if !out.awaits() {
            out.alarm = self.rearm(now);
        }
    }

    /// The earliest time the desk must be woken: a delivery or attempt-record write, or a
    /// write of alert rows.
    pub fn next_wake(&self, now: Timestamp) -> Option<(Timestamp, Wake)> {
        let notify = self.desk.deliveries.next_wake(now).map(|t| (t, Wake::Notify));
        let rows = (!self.desk.unwritten.is_empty()).then(|| (self.rows_retry_at.unwrap_or(now), Wake::Flush));
        [notify, rows].into_iter().flatten().min_by_key(|(t, _)| *t)
    }

    fn rearm(&mut self, now: Timestamp) -> AlarmAction {
        let wanted = self.next_wake(now);
        self.armed.rearm(now, wanted)
    }
}
