//! D1 `alert_history` for the delivery queues: writing a queue's unwritten attempts (the
//! SQL is in [`crate::d1::alerts`]).

use systole_core::notify::queue::AttemptRecord;
use worker::Env;

use crate::d1;
use crate::deployment::{self, DB_BINDING};

/// Writes `records` (a queue's unwritten attempts) of `subject` (a service id, `external`
/// or `test`) and says how many and whether it worked, for
/// [`systole_core::notify::queue::DeliveryQueue::written`]; `None` when there are none.
/// A D1 failure is logged and retried later by the queue's schedule.
pub async fn flush(env: &Env, subject: &str, records: &[AttemptRecord]) -> Option<(usize, bool)> {
    if records.is_empty() {
        return None;
    }
    let n = records.len();
    let channels = &deployment::notifications().channels;
    let channel_type = |name: &str| channels.iter().find(|c| c.name == name).map(|c| c.kind.as_str());
    let result = match env.d1(DB_BINDING) {
        Ok(db) => d1::alerts::write_attempts(&db, subject, records, channel_type).await,
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        worker::console_error!("writing {n} alert attempts of {subject} to D1: {e}");
    }
    Some((n, result.is_ok()))
}
