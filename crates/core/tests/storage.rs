//! What a ServiceMonitor stores per event: one event row per heartbeat, the state row only
//! when something else changed, and the record loaded back from both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{history, load, Harness};
use systole_core::history::{Backpressure, EventRow, FLUSH_NOW_HEARTBEATS, MAX_BUFFERED_HEARTBEATS, RING_SLOTS};
use systole_core::monitor::{Heartbeat, Reported, Status};
use systole_core::record::{Answer, Input, RECORD_VERSION};
use systole_core::time::Timestamp;

const S: i64 = 1_000;
const T0: i64 = 1_700_000_001_000;
const API: &str = r#"{"services": [{"id": "api", "name": "API", "stalenessThreshold": 3600}]}"#;

fn api() -> Harness {
    Harness::new(API, None, "api")
}

fn said(h: &mut Harness, ms: i64, message: &str) -> systole_core::record::ServiceOutcome {
    let heartbeat = Heartbeat { message: Some(message.to_owned()), ..Heartbeat::default() };
    h.event(ms, Input::Heartbeat { heartbeat, key: Some(support::KEY.to_owned()) })
}

/// `h` past its first heartbeat and first flush: `up`, nothing buffered.
fn steady() -> Harness {
    let mut h = api();
    let _ = h.beat(T0, Reported::Up);
    let _ = h.alarm_all_ok(T0);
    assert_eq!(h.record().history.flushed, 1);
    h
}

#[test]
fn a_steady_heartbeat_appends_one_event_row_and_leaves_the_state_row_alone() {
    let mut h = steady();
    let writes = h.state_writes;
    for i in 1..=5 {
        let out = said(&mut h, T0 + i * S, &format!("beat {i}"));
        assert!(matches!(out.answer, Answer::Accepted { status: Status::Up, .. }));
        assert_eq!(out.append.len(), 1, "one event row");
        assert_eq!(out.append[0].n, 1 + i as u64);
        assert_eq!(out.append[0].slot(), (1 + i as u64) % RING_SLOTS);
        assert!(!out.persist, "up → up does not rewrite the state row");
    }
    assert_eq!(h.state_writes, writes);
    // The state row still says one heartbeat; the event rows say the rest.
    let reloaded = h.reloaded().unwrap();
    let state = reloaded.monitor.state();
    assert_eq!(state.last_heartbeat, Some(Timestamp::from_millis(T0 + 5 * S)));
    assert_eq!(state.last_message.as_deref(), Some("beat 5"));
    assert_eq!(state.next_seq, h.record().monitor.state().next_seq);
    assert_eq!(reloaded.history.recorded, 6);
    assert_eq!(reloaded.history.pending.heartbeats.len(), 5);
}

#[test]
fn a_status_change_rewrites_the_state_row_with_its_event_row() {
    let mut h = steady();
    let out = h.beat(T0 + S, Reported::Degraded);
    assert_eq!(out.append.len(), 1);
    assert!(out.persist, "degraded is a status change");
    let back = h.beat(T0 + 2 * S, Reported::Up);
    assert!(back.persist, "and back to up");
}

#[test]
fn a_flush_moves_the_flushed_position_which_the_next_event_row_stores_and_a_failed_one_moves_nothing() {
    let mut h = steady();
    for i in 1..=3 {
        let _ = h.beat(T0 + i * S, Reported::Up);
    }
    let alarm = h.alarm(T0 + 11 * S);
    let batch = history(&alarm).unwrap().clone();
    assert_eq!((batch.through, batch.outbox.heartbeats.len()), (4, 3));
    assert!(!alarm.persist && alarm.append.is_empty(), "starting a flush stores nothing");
    let failed = h.answer_writes(T0 + 11 * S, &alarm, false);
    assert!(!failed.persist, "a failed flush stores nothing");
    assert_eq!(h.record().history.flushed, 1);
    let retry = h.alarm(T0 + 12 * S);
    assert_eq!(history(&retry).unwrap().through, 4);
    let done = h.answer_writes(T0 + 12 * S, &retry, true);
    assert!(!done.persist, "a flush of a few heartbeats does not rewrite the state row");
    assert_eq!(h.record().history.flushed, 4);
    // Restarted now, the object would write heartbeats 2..=4 again (insert-or-ignore).
    assert_eq!(h.reloaded().unwrap().history.pending.heartbeats.len(), 3);
    // The next heartbeat's row carries the flushed position.
    let next = h.beat(T0 + 13 * S, Reported::Up);
    assert_eq!((next.append[0].n, next.append[0].flushed, next.persist), (5, 4, false));
    let reloaded = h.reloaded().unwrap();
    assert_eq!(reloaded.history.flushed, 4);
    assert_eq!(reloaded.history.pending.heartbeats.len(), 1, "only heartbeat 5 is left to flush");
}

#[test]
fn a_flush_of_a_full_batch_or_a_status_change_stores_the_state_row() {
    let mut h = steady();
    let mut t = T0;
    for _ in 0..FLUSH_NOW_HEARTBEATS {
        t += 200;
        let _ = h.beat(t, Reported::Up);
    }
    let done = h.alarm_all_ok(t);
    assert_eq!(history(&done[0]).unwrap().outbox.heartbeats.len(), FLUSH_NOW_HEARTBEATS);
    assert!(done.last().unwrap().persist, "a restart must not send 200 heartbeats again");
    let _ = h.beat(t + S, Reported::Degraded);
    let done = h.alarm_all_ok(t + S);
    assert!(done.last().unwrap().persist, "flushed status changes leave the stored record");
    assert!(h.reloaded().unwrap().history.pending.is_empty());
}

#[test]
fn a_long_stream_without_state_writes_still_loads_back_whole() {
    // Heartbeats every 100 ms flushed every 10 s: the state row is rewritten only for rollups
    // (a 5-minute bucket closed) and before the ring could overwrite a row a load needs.
    let mut h = steady();
    let writes = h.state_writes;
    let mut t = T0;
    for i in 1..=3_000 {
        t += 100;
        let _ = h.beat(t, Reported::Up);
        if i % 100 == 0 {
            let _ = h.alarm_all_ok(t);
        }
        if i % 500 == 0 {
            let reloaded = h.reloaded().unwrap();
            assert_eq!(reloaded.monitor, h.record().monitor);
            assert_eq!(reloaded.history.recorded, h.record().history.recorded);
            let counts = |r: &systole_core::record::ServiceRecord| {
                r.history
                    .rollups
                    .daily
                    .iter()
                    .map(|(k, t)| (*k, t.heartbeats))
                    .filter(|(_, n)| *n > 0)
                    .collect::<Vec<_>>()
            };
            assert_eq!(counts(&reloaded), counts(h.record()));
        }
    }
    assert!(h.state_writes - writes < 10, "{} state writes for 3,000 heartbeats", h.state_writes - writes);
}

#[test]
fn a_full_buffer_still_answers_busy_and_stores_nothing() {
    let mut h = steady();
    // D1 is down: no flush gets through (here no alarm runs at all).
    let mut t = T0;
    for _ in 0..MAX_BUFFERED_HEARTBEATS {
        t += 200; // within the per-service rate limit
        let out = h.beat(t, Reported::Up);
        assert!(matches!(out.answer, Answer::Accepted { .. }), "{:?}", out.answer);
    }
    t += 200;
    let full = h.beat(t, Reported::Up);
    assert_eq!(full.answer, Answer::Busy(Backpressure::BufferFull(MAX_BUFFERED_HEARTBEATS)));
    assert!(full.append.is_empty() && !full.persist);
    // Every buffered heartbeat is still in a row of its own, and a restart finds it.
    let reloaded = h.reloaded().unwrap();
    assert_eq!(reloaded.history.pending.heartbeats.len(), MAX_BUFFERED_HEARTBEATS);
    assert_eq!(reloaded.history.admit(), Err(Backpressure::BufferFull(MAX_BUFFERED_HEARTBEATS)));
}

#[test]
fn a_restart_loads_the_state_row_and_event_rows_back_to_the_same_record() {
    let mut h = steady();
    let _ = said(&mut h, T0 + S, "one");
    let _ = h.beat(T0 + 2 * S, Reported::Degraded);
    let _ = said(&mut h, T0 + 3 * S, "three");
    let _ = said(&mut h, T0 + 4 * S, "four");
    // A flush starts and the object stops before D1 answers.
    let alarm = h.alarm(T0 + 5 * S);
    assert!(history(&alarm).is_some());
    let _ = said(&mut h, T0 + 6 * S, "six");
    let before = h.record().clone();
    h.restart();
    let after = h.record();
    assert_eq!(after.monitor, before.monitor);
    let seqs = |hb: &[systole_core::monitor::HeartbeatEvent]| hb.iter().map(|e| e.seq).collect::<Vec<_>>();
    let mut unflushed = before.history.in_flight.clone().unwrap().heartbeats;
    unflushed.extend(before.history.pending.heartbeats.clone());
    assert_eq!(seqs(&after.history.pending.heartbeats), seqs(&unflushed), "the interrupted flush is buffered again");
    assert!(after.history.in_flight.is_none());
    assert_eq!(after.history.rollups.daily.values().map(|t| t.heartbeats).sum::<i64>(), 6);
    // The next heartbeat continues the numbering.
    let next = h.beat(T0 + 7 * S, Reported::Up);
    assert_eq!(next.append[0].n, 7);
}

#[test]
fn the_ring_never_overwrites_an_unflushed_heartbeat() {
    let rows = |from: u64| systole_core::history::ring_ranges(from, 32);
    assert_eq!(rows(1), [(1, 33)]);
    assert_eq!(rows(RING_SLOTS - 2), [(RING_SLOTS - 2, RING_SLOTS), (0, 30)]);
    assert!(MAX_BUFFERED_HEARTBEATS as u64 <= RING_SLOTS);
    let row = EventRow {
        n: RING_SLOTS + 5,
        flushed: 0,
        event: serde_json::from_str(r#"{"seq": 9, "at": 0, "reported": "up"}"#).unwrap(),
    };
    assert_eq!(row.slot(), 5);
}

/// A record as version 1 stored it (one JSON row, buffered heartbeats and the limiter
/// inside): `api` beat at T0 (unknown → up), its flush began and the object stopped before
/// D1 answered; then two more heartbeats.
const VERSION_1: &str = r#"{"version":1,"serviceId":"api","monitor":{"config":{"staleness_threshold":{"secs":3600,"nanos":0},"grace_period":{"secs":0,"nanos":0},"enabled":true},"state":{"status":"up","statusSince":1700000001000,"lastHeartbeat":1700000003000,"lastMessage":"third","incident":null,"nextSeq":5}},"history":{"pending":{"heartbeats":[{"seq":3,"at":1700000002000,"reported":"up","message":"second"},{"seq":4,"at":1700000003000,"reported":"up","message":"third"}],"changes":[],"incidents":[],"since":1700000002000,"bytes":11},"inFlight":{"heartbeats":[{"seq":1,"at":1700000001000,"reported":"up","message":"first"}],"changes":[{"seq":2,"at":1700000001000,"from":"unknown","to":"up","reason":"heartbeat received"}],"incidents":[],"since":1700000001000,"bytes":5},"rollups":{"accountedUntil":1700000001000,"fiveMin":{"1699999800000":{"upMs":0,"degradedMs":0,"lateMs":0,"downMs":0,"heartbeats":3}},"daily":{"1699920000000":{"upMs":0,"degradedMs":0,"lateMs":0,"downMs":0,"heartbeats":3}}},"rollupsWrittenUntil":null,"failures":0,"retryAt":null,"busySinceFlush":1700000001000},"armed":1700000011000,"limiter":{"tat":1700000003100}}"#;

#[test]
fn a_version_1_record_loads_with_its_buffered_heartbeats_moved_into_event_rows() {
    // The same events under the current code.
    let mut h = api();
    let _ = said(&mut h, T0, "first");
    let alarm = h.alarm(T0);
    assert!(history(&alarm).is_some());
    let _ = said(&mut h, T0 + S, "second");
    let _ = said(&mut h, T0 + 2 * S, "third");
    h.restart();
    let mut now = h.record().clone();
    // Status changes stored before reasons had kinds load without one.
    for c in &mut now.history.pending.changes {
        c.kind = None;
    }

    let mut rows = std::collections::BTreeMap::new();
    let (old, upgraded) = load(VERSION_1, &mut rows);
    assert_eq!(old.version, RECORD_VERSION);
    let upgraded = upgraded.expect("a version 1 record is rewritten");
    assert!(
        !upgraded.contains(r#""heartbeats":["#) && !upgraded.contains("limiter"),
        "no heartbeats left in the state row: {upgraded}"
    );
    let messages: Vec<_> = rows.values().map(|r| (r.n, r.event.message.clone().unwrap())).collect();
    assert_eq!(messages, [(1, "first".into()), (2, "second".into()), (3, "third".into())]);
    assert_eq!(old.monitor, now.monitor);
    assert_eq!(old.history.pending, now.history.pending, "every buffered row, in order");
    assert_eq!((old.history.recorded, old.history.flushed), (3, 0));
    assert_eq!(old.history.rollups.daily, now.history.rollups.daily);
    // Loading the upgraded record again finds the same.
    let (again, none) = load(&upgraded, &mut rows);
    assert!(none.is_none());
    assert_eq!(again.history.pending, old.history.pending);
    assert_eq!(again.monitor, old.monitor);
}
