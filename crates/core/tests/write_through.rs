//! Sparse heartbeats are written through to D1 before their answer: no event row, no flush
//! alarm, the alarm moved to the new deadline; a failed write stores the event row instead;
//! a record loaded afresh catches up from D1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{armed_at, history, Harness};
use systole_core::durable::{AlarmAction, Wake};
use systole_core::history::MAX_UNSTORED_THROUGH;
use systole_core::monitor::{Heartbeat, Reported, Status};
use systole_core::record::{Answer, Input};
use systole_core::time::Timestamp;

const S: i64 = 1_000;
const T0: i64 = 1_700_000_001_000;
/// Threshold 3,600 s; the default flush interval, 10 s.
const API: &str = r#"{"services": [{"id": "api", "name": "API", "stalenessThreshold": 3600}]}"#;

/// Past the first heartbeat, its flush and the flush's planned follow-up: `up`, nothing
/// buffered, the alarm at the deadline.
fn quiet() -> Harness {
    let mut h = Harness::new(API, None, "api");
    let _ = h.beat(T0, Reported::Up);
    let _ = h.alarm_all_ok(T0 + 10 * S);
    let _ = h.alarm_all_ok(T0 + 20 * S);
    assert_eq!(h.record().history.flushed, 1);
    h
}

fn heartbeat(h: &mut Harness, ms: i64) -> systole_core::record::ServiceOutcome {
    let heartbeat = Heartbeat { message: Some(format!("at {ms}")), ..Heartbeat::default() };
    h.event(ms, Input::Heartbeat { heartbeat, key: Some(support::KEY.to_owned()) })
}

#[test]
fn a_sparse_heartbeat_is_written_to_d1_before_its_answer_and_its_one_write_is_the_alarm() {
    let mut h = quiet();
    let writes = h.state_writes;
    for i in 0..3 {
        let at = T0 + (30 + 15 * i) * S;
        let out = heartbeat(&mut h, at);
        assert!(matches!(out.answer, Answer::Accepted { status: Status::Up, .. }));
        assert!(out.append.is_empty() && !out.persist, "nothing stored yet");
        assert_eq!(out.alarm, AlarmAction::Keep, "decided when D1 answers");
        let batch = history(&out).expect("written through");
        assert_eq!(batch.outbox.heartbeats.len(), 1);
        assert_eq!(batch.through, 1, "it takes no event row number");
        let done = h.answer_writes(at, &out, true);
        assert!(done.append.is_empty() && !done.persist, "no row: D1 holds it");
        assert_eq!(done.alarm, AlarmAction::Set(Timestamp::from_millis(at + 3_600 * S), Wake::Deadline));
        assert!(!done.awaits());
    }
    assert_eq!(h.state_writes, writes);
    assert!(h.rows.len() == 1, "the first heartbeat's row only");
}

#[test]
fn a_heartbeat_closer_than_the_flush_interval_is_buffered_and_stores_the_record() {
    let mut h = quiet();
    let _ = h.beat(T0 + 30 * S, Reported::Up);
    let out = heartbeat(&mut h, T0 + 35 * S);
    assert!(out.writes.is_empty(), "buffered");
    assert_eq!(out.append.len(), 1);
    assert_eq!(out.append[0].n, 2);
    assert!(out.persist, "the record covers the written-through heartbeat before a row follows it");
    assert_eq!(armed_at(&out), Some(Timestamp::from_millis(T0 + 45 * S)), "the flush alarm");
    // Under load, a later deadline leaves the earlier alarm in place.
    let next = heartbeat(&mut h, T0 + 36 * S);
    assert_eq!((next.append.len(), next.persist, next.alarm), (1, false, AlarmAction::Keep));
}

#[test]
fn a_failed_write_through_stores_the_event_row_before_the_answer_and_is_flushed_later() {
    let mut h = quiet();
    h.d1_up = false;
    let out = h.beat(T0 + 30 * S, Reported::Up);
    assert!(matches!(out.answer, Answer::Accepted { .. }));
    assert_eq!(out.append.len(), 1, "stored in the object");
    assert_eq!(out.append[0].n, 2);
    assert_eq!(out.alarm, AlarmAction::Set(Timestamp::from_millis(T0 + 31 * S), Wake::Flush), "retried in 1 s");
    assert_eq!(h.reloaded().unwrap().history.pending.heartbeats.len(), 1, "a restart would flush it");
    h.d1_up = true;
    let outs = h.alarm_all_ok(T0 + 31 * S);
    assert_eq!(history(&outs[0]).unwrap().outbox.heartbeats.len(), 1);
    assert_eq!(h.record().history.flushed, 2);
    assert_eq!(h.d1.len(), 2);
}

#[test]
fn a_record_loaded_afresh_catches_up_from_d1() {
    let mut h = quiet();
    for i in 0..3 {
        let out = heartbeat(&mut h, T0 + (30 + 15 * i) * S);
        let _ = h.answer_writes(T0 + (30 + 15 * i) * S, &out, true);
    }
    let live = h.record().clone();
    // Storage alone knows the first heartbeat only: the deadline would be an hour early.
    let stale = support::load(h.stored.as_deref().unwrap(), &mut h.rows.clone()).0;
    assert_eq!(stale.monitor.state().last_heartbeat, Some(Timestamp::from_millis(T0)));
    assert_eq!(stale.catch_up_from(), (Some(Timestamp::from_millis(T0)), 3));
    h.restart();
    let state = h.record().monitor.state();
    assert_eq!(state, live.monitor.state(), "last heartbeat, message, sequence numbers");
    assert_eq!(h.record().deadline(), live.deadline());
    let beats =
        |r: &systole_core::record::ServiceRecord| r.history.rollups.daily.values().map(|t| t.heartbeats).sum::<i64>();
    assert_eq!(beats(h.record()), 4, "every heartbeat counted in the tallies");
    // The next heartbeat takes the next sequence number.
    let out = h.beat(T0 + 80 * S, Reported::Up);
    assert!(out.append.is_empty());
    assert_eq!(h.d1.last().unwrap().seq, live.monitor.state().next_seq);
}

#[test]
fn the_record_is_stored_after_a_bounded_number_of_written_through_heartbeats() {
    let mut h = quiet();
    let writes = h.state_writes;
    for i in 1..=MAX_UNSTORED_THROUGH as i64 {
        let out = h.beat(T0 + (20 + 15 * i) * S, Reported::Up);
        assert_eq!(out.persist, i == MAX_UNSTORED_THROUGH as i64, "heartbeat {i}");
    }
    assert_eq!(h.state_writes, writes + 1);
    assert_eq!(h.reloaded().unwrap().catch_up_from().1, h.record().monitor.state().next_seq, "nothing to read back");
}

#[test]
fn a_record_loaded_afresh_does_not_write_again_the_rollups_d1_holds() {
    let mut h = quiet();
    // Sparse heartbeats across a UTC midnight: the first write-through of the new day
    // carries the closed day's rollup.
    let midnight = Timestamp::from_millis(1_700_006_400_000);
    for i in 0..12 {
        let _ = h.beat(T0 + (30 + 600 * i) * S, Reported::Up);
    }
    let live = h.record().history.rollups.clone();
    assert!(h.record().history.rollups_written_until >= Some(midnight));
    let stale = support::load(h.stored.as_deref().unwrap(), &mut h.rows.clone()).0;
    assert!(stale.history.rollups_written_until < h.record().history.rollups_written_until, "the stored record lags");
    h.restart();
    // Both accrue the time to the next flush alike.
    let end = Timestamp::from_millis(T0 + 7_000 * S);
    let (mut rollups, mut live) = (h.record().history.rollups.clone(), live);
    rollups.accrue(end, Status::Up);
    live.accrue(end, Status::Up);
    assert_eq!(rollups.daily.keys().collect::<Vec<_>>(), live.daily.keys().collect::<Vec<_>>());
    assert_eq!(rollups, live, "the open buckets, heartbeats and time alike");
    assert_eq!(h.record().history.rollups_written_until, h.d1_rollups_until);
}

#[test]
fn a_failed_write_through_after_written_through_ones_stores_the_record_with_its_row() {
    let mut h = quiet();
    let _ = h.beat(T0 + 30 * S, Reported::Up);
    h.d1_up = false;
    let out = h.beat(T0 + 45 * S, Reported::Up);
    assert_eq!(out.append.len(), 1);
    assert!(out.persist, "the record covers the heartbeat only D1 holds before a row follows it");
    let beats =
        |r: &systole_core::record::ServiceRecord| r.history.rollups.daily.values().map(|t| t.heartbeats).sum::<i64>();
    let live = beats(h.record());
    h.restart();
    assert_eq!(beats(h.record()), live, "every heartbeat counted once");
    assert_eq!(live, 3);
}

#[test]
fn a_record_loaded_while_d1_cannot_answer_goes_on_without_reusing_a_sequence_number() {
    let mut h = quiet();
    for i in 0..3 {
        let out = heartbeat(&mut h, T0 + (30 + 15 * i) * S);
        let _ = h.answer_writes(T0 + (30 + 15 * i) * S, &out, true);
    }
    let taken = h.record().monitor.state().next_seq;
    // The object restarts while D1 refuses the catch-up read: the record goes on as stored.
    let mut stale = support::load(h.stored.as_deref().unwrap(), &mut h.rows.clone()).0;
    assert!(stale.monitor.state().next_seq < taken);
    stale.catch_up_unavailable();
    assert!(stale.monitor.state().next_seq >= taken, "past every number a write-through may have taken");
    h.slot = Some(stale);
    // The next heartbeat is accepted, sets the last heartbeat anew and stores the record.
    let at = T0 + 90 * S;
    let out = heartbeat(&mut h, at);
    assert!(matches!(out.answer, Answer::Accepted { status: Status::Up, .. }));
    let done = h.answer_writes(at, &out, true);
    assert!(done.persist, "the record is stored at once");
    assert_eq!(h.record().monitor.state().last_heartbeat, Some(Timestamp::from_millis(at)));
    assert!(h.d1.last().unwrap().seq >= taken);
    assert_eq!(h.record().deadline(), Some(Timestamp::from_millis(at + 3_600 * S)));
}
