//! Escalation and acknowledgement on the real Worker. The `escalation` group of
//! `tests/config` (`esc-unacked`, `esc-acked`, `esc-link`) notifies `esc-first` and escalates
//! to `esc-second` 4 s after an incident opens: an unacknowledged incident escalates at
//! exactly 4 s (the receiver's arrival time against the incident's start, within the 2 s
//! alarm tolerance of the other suites), an acknowledged one does not; acknowledging from the
//! dashboard's form, the API and a signed link, which opens only its incident and is refused
//! tampered or expired.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use systole_core::escalation::AckLinks;
use systole_core::time::Timestamp;
use systole_e2e::receiver::{Received, Receiver};
use systole_e2e::{channel_env, now_ms, spawn_worker_with, Worker, ADMIN_TOKEN, MANAGEMENT_KEY, VIEWER_TOKEN};

/// The escalation level's `after`, ms.
const AFTER: i64 = 4_000;
/// How late a Durable Object alarm (and the send it makes) may arrive, as in `lifecycle`.
const TOLERANCE: i64 = 2_000;
/// The server secret the links are signed with here.
const SECRET: &str = "escalation-test-server-secret-0123456789";
/// The dashboard URL the links point at (the test swaps in the Worker's own).
const PUBLIC: &str = "https://systole.example";

fn spawn(receiver: &Receiver) -> Worker {
    let vars = [("SERVER_SECRET".to_owned(), SECRET.to_owned()), ("PUBLIC_URL".to_owned(), PUBLIC.to_owned())];
    spawn_worker_with(&channel_env(receiver, &vars))
}

/// What `channel` received about `service`.
fn about(receiver: &Receiver, channel: &str, service: &str) -> Vec<Received> {
    receiver.of(channel).into_iter().filter(|r| r.json()["service"]["id"] == service).collect()
}

/// Reports `service` down and returns its `down` notification (on `esc-first`).
fn down(worker: &Worker, receiver: &Receiver, service: &str) -> Value {
    worker.pulse(service, &json!({"status": "down", "message": "e2e"}));
    worker.wait_for("the down notification", Duration::from_secs(10), || {
        about(receiver, "esc-first", service).into_iter().map(|r| r.json()).find(|b| b["event"] == "down")
    })
}

/// The incident as the incidents API lists it, once D1 has it and `ready` holds.
fn incident(worker: &Worker, service: &str, ready: impl Fn(&Value) -> bool) -> Value {
    worker.wait_for("the incident in D1", Duration::from_secs(10), || {
        let listed = worker.get(&format!("/api/v1/incidents?serviceId={service}")).json();
        listed["incidents"].as_array().unwrap().first().cloned().filter(&ready)
    })
}

#[test]
fn an_unacknowledged_incident_escalates_at_exactly_after_and_an_acknowledged_one_does_not() {
    let receiver = Receiver::start();
    let worker = spawn(&receiver);
    let unacked = down(&worker, &receiver, "esc-unacked");
    let acked = down(&worker, &receiver, "esc-acked");
    let started = unacked["since"].as_i64().unwrap();
    let id = format!("esc-acked.{}", acked["since"].as_i64().unwrap());

    // The dashboard's form, posted by a signed-in admin from the service page.
    let cookie = worker.login(ADMIN_TOKEN).header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
    let path = format!("/api/v1/incidents/{id}/acknowledge");
    let html = [("Cookie", cookie.as_str()), ("Accept", "text/html"), ("Sec-Fetch-Site", "same-origin")];
    let cross = worker.post_form(&path, "", &[html[0], html[1], ("Sec-Fetch-Site", "cross-site")]);
    assert_eq!(cross.status, 403, "a form from another site: {}", cross.body);
    let mut tab = worker.live("/api/v1/live", Some(ADMIN_TOKEN), None, Duration::from_secs(5)).unwrap();
    let form = worker.post_form(&path, "", &html);
    assert_eq!((form.status, form.header("location")), (303, Some("/services/esc-acked")), "{}", form.body);
    // Open tabs hear of it at once: which incident, who and when.
    let (live, _) = tab.first("live acknowledgement", Duration::from_secs(20), |u| {
        u["id"] == "esc-acked" && !u["acknowledged"].is_null()
    });
    assert_eq!(
        (live["acknowledged"]["incident"].as_str(), live["acknowledged"]["by"].as_str()),
        (Some(id.as_str()), Some("ana"))
    );
    // The API: idempotent, the first acknowledgement stays.
    let again = worker.request("POST", &path, Some(MANAGEMENT_KEY), "");
    assert_eq!(again.status, 200, "{}", again.body);
    let again = again.json();
    assert_eq!(
        (again["incident"]["id"].as_str(), again["incident"]["acknowledgedBy"].as_str()),
        (Some(id.as_str()), Some("ana"))
    );
    assert_eq!(worker.request("POST", &path, Some(VIEWER_TOKEN), "").status, 404, "vera does not see the group");
    assert_eq!(worker.request("POST", &path, None, "").status, 401);
    let other = format!("/api/v1/incidents/esc-acked.{}/acknowledge", acked["since"].as_i64().unwrap() + 1);
    assert_eq!(worker.request("POST", &other, Some(MANAGEMENT_KEY), "").status, 404, "no such incident");
    assert_eq!(worker.request("POST", "/api/v1/incidents/nope/acknowledge", Some(MANAGEMENT_KEY), "").status, 404);

    // The unacknowledged incident escalates once, at its start + 4 s.
    let escalated = worker.wait_for("the escalation", Duration::from_secs(15), || {
        about(&receiver, "esc-second", "esc-unacked").into_iter().next()
    });
    let late = escalated.at_ms - (started + AFTER);
    assert!((0..TOLERANCE).contains(&late), "escalated {late} ms after start + {AFTER} ms");
    println!("escalation arrived {late} ms after the incident's start + {AFTER} ms");
    let body = escalated.json();
    assert_eq!((body["event"].as_str(), body["since"].as_i64()), (Some("escalation"), Some(started)));
    assert!(body["ackUrl"].as_str().unwrap().starts_with(&format!("{PUBLIC}/ack/esc-unacked.{started}?")), "{body}");
    assert!(body["text"].as_str().unwrap().contains("Acknowledge: https://"), "{body}");

    // The management API takes a policy through the same parser, naming each problem's field.
    let bad = json!({"id": "esc-managed", "stalenessThreshold": 60,
        "escalation": [{"after": 600, "channels": ["esc-second"]}, {"after": 300, "channels": ["nowhere"]}]});
    let refused = worker.request("POST", "/api/v1/services", Some(MANAGEMENT_KEY), &bad.to_string());
    assert_eq!(refused.status, 400, "{}", refused.body);
    let fields: Vec<String> = refused.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(fields.contains(&"escalation[1].after".to_owned()), "{}", refused.body);
    let good = json!({"id": "esc-managed", "stalenessThreshold": 60, "group": "escalation",
        "escalation": [{"after": 60, "channels": ["esc-second"]}]});
    let created = worker.request("POST", "/api/v1/services", Some(MANAGEMENT_KEY), &good.to_string());
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["service"]["escalation"], json!([{"after": 60, "channels": ["esc-second"]}]));

    // Past the acknowledged incident's own escalation time (+ tolerance): nothing for it, and
    // the unacknowledged one escalated once.
    let quiet_until = acked["since"].as_i64().unwrap() + AFTER + TOLERANCE + 1_000;
    thread::sleep(Duration::from_millis(u64::try_from((quiet_until - now_ms()).max(0)).unwrap()));
    assert!(about(&receiver, "esc-second", "esc-acked").is_empty(), "an acknowledged incident does not escalate");
    assert_eq!(about(&receiver, "esc-second", "esc-unacked").len(), 1, "one level, once");

    // The timeline: who and when, on the incidents API and the service page.
    let listed = incident(&worker, "esc-acked", |i| i["acknowledgedBy"] == "ana");
    assert_eq!(listed["id"], id.as_str());
    let at = Timestamp::parse_rfc3339(listed["acknowledgedAt"].as_str().unwrap()).unwrap().as_millis();
    assert!(at >= acked["since"].as_i64().unwrap() && at <= now_ms(), "{listed}");
    let page = worker.get_as("/services/esc-acked", None, Some(&cookie)).body;
    assert!(page.contains("by <strong>ana</strong>"), "the page shows who acknowledged");
    let _ = incident(&worker, "esc-unacked", |i| i["open"] == true);
    let page = worker.get_as("/services/esc-unacked", None, Some(&cookie)).body;
    assert!(page.contains(&format!("action=\"/api/v1/incidents/esc-unacked.{started}/acknowledge\"")), "the button");

    // Resolved: acknowledging is a conflict.
    worker.pulse("esc-acked", &json!({"status": "up"}));
    let _ = incident(&worker, "esc-acked", |i| i["open"] == false);
    let resolved = worker.request("POST", &path, Some(MANAGEMENT_KEY), "");
    assert_eq!(resolved.status, 409, "{}", resolved.body);
    assert_eq!(resolved.content_type, "application/problem+json");

    // The escalated channel hears the recovery of the incident it was paged about, and of
    // no other.
    worker.pulse("esc-unacked", &json!({"status": "up"}));
    let up = worker.wait_for("the escalated channel's up", Duration::from_secs(10), || {
        about(&receiver, "esc-second", "esc-unacked").into_iter().map(|r| r.json()).find(|b| b["event"] == "up")
    });
    assert_eq!(up["previousStatus"], "down", "{up}");
    assert!(about(&receiver, "esc-second", "esc-acked").is_empty(), "never escalated, so no up either");
}

#[test]
fn a_signed_link_acknowledges_its_incident_only_after_a_confirm_and_is_refused_tampered_or_expired() {
    let receiver = Receiver::start();
    let worker = spawn(&receiver);
    let mine = down(&worker, &receiver, "esc-link");
    let theirs = down(&worker, &receiver, "esc-unacked");
    let link = mine["ackUrl"].as_str().unwrap().strip_prefix(PUBLIC).unwrap().to_owned();
    let started = mine["since"].as_i64().unwrap();
    assert!(link.starts_with(&format!("/ack/esc-link.{started}?expires=")), "{link}");

    // A GET (a link scanner, or the person) only shows the confirm page.
    let page = worker.get_as(&link, None, None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<form method=\"post\""), "{}", page.body);
    assert!(page.body.contains("Escalation (signed link)"));
    thread::sleep(Duration::from_millis(1_500));
    let listed = incident(&worker, "esc-link", |_| true);
    assert!(listed["acknowledgedBy"].is_null(), "a GET acknowledges nothing: {listed}");

    // Tampered, or for another incident: refused, and nothing is acknowledged.
    let (path, query) = link.split_once('?').unwrap();
    let flip = |c: char| if c == '0' { '1' } else { '0' };
    let mut tampered = link.clone();
    let last = tampered.pop().unwrap();
    tampered.push(flip(last));
    let other = format!("/ack/esc-unacked.{}?{query}", theirs["since"].as_i64().unwrap());
    let later = format!("{path}?{}", query.replace("expires=", "expires=9"));
    for bad in [&tampered, &other, &later] {
        assert_eq!(worker.get_as(bad, None, None).status, 403, "{bad}");
        let post = worker.post_form(bad, "", &[]);
        assert_eq!(post.status, 403, "{bad}: {}", post.body);
        assert!(post.body.contains("not valid"), "a clear page: {}", post.body);
    }
    // Signed with the secret, but expired.
    let links = AckLinks::new(Some(SECRET.as_bytes()));
    let long_ago = Timestamp::from_millis(now_ms() - 8 * 86_400_000);
    let expired = links.link("", "esc-link", Timestamp::from_millis(started), long_ago).unwrap();
    let refused = worker.post_form(&expired, "", &[]);
    assert_eq!(refused.status, 410, "{}", refused.body);
    assert!(refused.body.contains("expired"), "{}", refused.body);

    // The button: acknowledged by the link, no sign-in; again shows the same acknowledgement.
    let done = worker.post_form(&link, "", &[("Sec-Fetch-Site", "same-origin")]);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("acknowledged by <strong>link</strong>"), "{}", done.body);
    let again = worker.post_form(&link, "", &[]);
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(again.body.contains("<strong>link</strong>"));
    let listed = incident(&worker, "esc-link", |i| i["acknowledgedBy"] == "link");
    assert_eq!(listed["open"], true);
    let theirs_listed = incident(&worker, "esc-unacked", |_| true);
    assert!(theirs_listed["acknowledgedBy"].is_null(), "the other incident is untouched: {theirs_listed}");

    // Acknowledged before its 4 s: it never escalates; the other one does.
    let quiet_until = started + AFTER + TOLERANCE + 1_000;
    thread::sleep(Duration::from_millis(u64::try_from((quiet_until - now_ms()).max(0)).unwrap()));
    assert!(about(&receiver, "esc-second", "esc-link").is_empty());
    assert_eq!(about(&receiver, "esc-second", "esc-unacked").len(), 1);

    // Resolved: the link says so.
    worker.pulse("esc-link", &json!({"status": "up"}));
    let resolved = worker.post_form(&link, "", &[]);
    assert_eq!(resolved.status, 409, "{}", resolved.body);
    assert!(resolved.body.contains("already resolved"), "{}", resolved.body);
}

#[test]
fn acknowledging_from_the_service_page_and_a_signed_link_in_chromium() {
    let receiver = Receiver::start();
    let worker = spawn(&receiver);
    let _ = down(&worker, &receiver, "esc-acked");
    let link =
        down(&worker, &receiver, "esc-link")["ackUrl"].as_str().unwrap().strip_prefix(PUBLIC).unwrap().to_owned();
    systole_e2e::browser_script(&worker, "ack.mjs", &[("SERVICE", "esc-acked"), ("LINK", &link)]);
    let listed = incident(&worker, "esc-link", |i| i["acknowledgedBy"] == "link");
    assert_eq!(listed["open"], true);
}
