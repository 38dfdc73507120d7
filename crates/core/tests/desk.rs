//! The AlertDesk driven through its one call into core: receive, send from the alarm,
//! write attempt records and alert rows, retry what failed, with exact alarm times.
#![allow(clippy::unwrap_used)]

use systole_core::desk::{DeskContext, DeskInput, DeskOutcome, DeskRecord};
use systole_core::durable::{AlarmAction, Attempted, Completed, Wake, Write, Written};
use systole_core::notify::alert;
use systole_core::notify::queue::Outcome as SendOutcome;
use systole_core::notify::NotificationsConfig;
use systole_core::protocol::Intake;
use systole_core::retry::D1_WRITES;
use systole_core::time::Timestamp;

const CHANNELS: &str = r#"{"channels": [{"type": "discord", "name": "ops", "events": ["alert"]}],
    "settings": {"retry": {"initialSeconds": 30, "maxSeconds": 60, "giveUpAfterMinutes": 60}}}"#;

fn intake(state: &str) -> Intake {
    let body =
        format!(r#"{{"title": "Disk full", "message": "95 % used", "severity": "critical", "status": "{state}"}}"#);
    Intake { batch: alert::parse(&body).unwrap(), channels: vec!["ops".into()], explicit: true, key_id: "k".into() }
}

fn handle(desk: &mut DeskRecord, ms: i64, input: DeskInput) -> DeskOutcome {
    let notifications = NotificationsConfig::parse(Some(CHANNELS)).unwrap();
    let ctx = DeskContext { notifications: &notifications, dashboard_url: None };
    desk.handle(Timestamp::from_millis(ms), input, &ctx)
}

fn written(out: &DeskOutcome, ok: bool) -> DeskInput {
    DeskInput::Completed(Completed::Written(out.writes.iter().map(|w| Written { write: w.clone(), ok }).collect()))
}

#[test]
fn an_alert_is_sent_from_the_alarm_it_arms_at_once_and_its_rows_are_written_after() {
    let mut desk = DeskRecord::default();
    let received = handle(&mut desk, 1_000, DeskInput::Receive(intake("firing")));
    assert_eq!(received.answer[0].action, "sent");
    let live = received.update.as_deref().unwrap_or_default();
    assert_eq!(live.len(), 1, "announced to the dashboards");
    assert_eq!((live[0].title.as_str(), live[0].at), ("Disk full", 1_000));
    assert!(received.persist);
    assert_eq!(
        received.alarm,
        AlarmAction::Set(Timestamp::from_millis(1_000), Wake::Notify),
        "the request never waits"
    );
    let alarm = handle(&mut desk, 1_000, DeskInput::Alarm);
    assert_eq!(alarm.sends.len(), 1);
    assert_eq!(alarm.alarm, AlarmAction::Keep, "the sends' completion decides");
    let attempts = alarm
        .sends
        .iter()
        .map(|s| Attempted {
            send: s.clone(),
            started: Timestamp::from_millis(1_000),
            ended: Timestamp::from_millis(1_200),
            outcome: SendOutcome::Answered { status: 204, retry_after: None, body: String::new() },
        })
        .collect();
    let sent = handle(&mut desk, 1_200, DeskInput::Completed(Completed::Sent(attempts)));
    assert_eq!(sent.log, ["external: alert to ops attempt 1: delivered"]);
    let kinds: Vec<_> = sent.writes.iter().map(|w| matches!(w, Write::Attempts(_))).collect();
    assert_eq!(kinds, [true, false], "attempt records and the alert row (written concurrently)");
    let done = handle(&mut desk, 1_300, written(&sent, true));
    assert_eq!(done.alarm, AlarmAction::Keep, "nothing left to do");
    assert!(desk.desk.unwritten.is_empty() && desk.desk.deliveries.unwritten.is_empty());
}

#[test]
fn failed_row_writes_back_off_1_s_then_2_s_and_a_duplicate_sends_nothing() {
    let mut desk = DeskRecord::default();
    let _ = handle(&mut desk, 0, DeskInput::Receive(intake("firing")));
    let _ = handle(&mut desk, 0, DeskInput::Alarm);
    // The send never answers; a duplicate arrives meanwhile and only updates the row.
    let dup = handle(&mut desk, 100, DeskInput::Receive(intake("firing")));
    assert_eq!(dup.answer[0].action, "duplicate");
    assert_eq!(dup.update, None, "a duplicate pops up nothing");
    assert!(dup.answer[0].channels.is_empty());
    assert!(dup.sends.is_empty() && dup.writes.is_empty(), "a request never waits for channels or D1");
    // The lease (10 s timeout + 5 s) ends: the attempt is on the record as interrupted and
    // retried 30 s later; its record and the alert row go to D1, which fails.
    let later = handle(&mut desk, 15_000, DeskInput::Alarm);
    assert!(later.sends.is_empty(), "retried after its backoff, not at once");
    assert_eq!(later.writes.len(), 2);
    let failed = handle(&mut desk, 15_000, written(&later, false));
    assert_eq!(desk.rows_retry_at, Some(Timestamp::from_millis(15_000) + D1_WRITES.after(1)));
    assert!(
        matches!(failed.alarm, AlarmAction::Set(t, _) if t == Timestamp::from_millis(16_000)),
        "{:?}",
        failed.alarm
    );
    let early = handle(&mut desk, 15_500, DeskInput::Alarm);
    assert!(early.writes.is_empty(), "nothing is written before its backoff ends");
    let again = handle(&mut desk, 16_000, DeskInput::Alarm);
    assert_eq!(again.writes.len(), 2);
    let failed = handle(&mut desk, 16_000, written(&again, false));
    assert!(
        matches!(failed.alarm, AlarmAction::Set(t, _) if t == Timestamp::from_millis(18_000)),
        "2 s after the second failure"
    );
    let third = handle(&mut desk, 18_000, DeskInput::Alarm);
    let _ = handle(&mut desk, 18_000, written(&third, true));
    assert_eq!((desk.rows_failures, desk.rows_retry_at), (0, None), "a success resets the backoff");
    assert!(desk.desk.unwritten.is_empty());
}
