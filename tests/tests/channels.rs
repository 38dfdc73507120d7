//! Every channel type through the real Worker to a local receiver: the request each API
//! documents, over-long text cut within its limits (never rejected), the channel list with
//! missing credentials reported, and the admin test message.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::receiver::{Received, Receiver};
use systole_e2e::{channel_env, spawn_worker_with, ADMIN_TOKEN};

fn chars(v: &Value) -> usize {
    v.as_str().unwrap_or_else(|| panic!("not text: {v}")).chars().count()
}

/// Telegram HTML as the user sees it: tags removed, entities decoded.
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

fn form(r: &Received) -> BTreeMap<String, String> {
    form_urlencoded::parse(r.body.as_bytes()).into_owned().collect()
}

#[test]
fn every_channel_gets_its_documented_request_with_long_text_cut_to_its_limits() {
    let receiver = Receiver::start();
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    // 1 KiB of message; each shape channel's body template repeats it 8 times. It tries to
    // page everyone in the chat channels.
    let message = format!("@channel <!here> <users/all> {}", "disk /var is full ".repeat(54));
    let answer =
        worker.beat("notify-shapes", &json!({"serviceId": "notify-shapes", "status": "down", "message": message}));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let one = |channel: &str| -> Received {
        let got = receiver.wait(channel, 1, Duration::from_secs(20));
        assert_eq!(got.len(), 1, "{channel}");
        assert_eq!(got[0].method, "POST", "{channel}");
        got[0].clone()
    };

    let d = one("discord").json();
    let embed = &d["embeds"][0];
    assert_eq!(chars(&embed["description"]), 4096, "cut to Discord's description limit");
    assert!(embed["description"].as_str().unwrap().ends_with('…'));
    let total: usize = [&embed["title"], &embed["description"], &embed["footer"]["text"]]
        .iter()
        .map(|v| v.as_str().map_or(0, |s| s.chars().count()))
        .sum::<usize>()
        + embed["fields"].as_array().unwrap().iter().map(|f| chars(&f["name"]) + chars(&f["value"])).sum::<usize>();
    assert!(total <= 6000, "embed total {total}");

    let s = one("slack").json();
    assert!(s["text"].as_str().unwrap().contains("Every channel's shape is DOWN"));
    let section = s["blocks"].as_array().unwrap().iter().find(|b| b["type"] == "section").unwrap();
    assert!(chars(&section["text"]["text"]) <= 3000);

    let t = one("telegram");
    assert_eq!(t.path, "/telegram/bottest-botToken/sendMessage");
    let tj = t.json();
    assert_eq!(tj["chat_id"], "test-chatId");
    assert!(visible(tj["text"].as_str().unwrap()).encode_utf16().count() <= 4096, "after entity parsing");
    assert_eq!(tj["parse_mode"], "HTML");

    let e = one("email");
    assert_eq!(e.path, "/email/v3/test-domain/messages");
    assert!(e.headers["authorization"].starts_with("Basic "));
    let to: Vec<String> =
        form_urlencoded::parse(e.body.as_bytes()).filter(|(k, _)| k == "to").map(|(_, v)| v.into_owned()).collect();
    assert_eq!(to, ["ops@example.com", "oncall@example.com"], "one `to` per recipient");
    let f = form(&e);
    assert_eq!(f["from"], "systole@example.com");
    assert_eq!(f["subject"], "[DOWN] Every channel's shape 🔴", "templates.email (the seed's syntax)");

    let w = one("webhook");
    assert!(w.headers["x-systole-signature"].starts_with("sha256="), "{:?}", w.headers);
    assert_eq!(w.headers["x-team"], "ops");
    assert_eq!(w.json()["event"], "down");
    assert_eq!(w.json()["service"]["id"], "notify-shapes");

    let p = form(&one("pushover"));
    assert_eq!((p["token"].as_str(), p["user"].as_str(), p["priority"].as_str()), ("test-token", "test-user", "2"));
    assert!(p.contains_key("retry") && p.contains_key("expire"), "emergency priority needs retry and expire");
    assert!(p["message"].chars().count() <= 1024);

    let pd = one("pagerduty");
    assert_eq!(pd.path, "/pagerduty/v2/enqueue");
    let pj = pd.json();
    assert_eq!((pj["routing_key"].as_str(), pj["event_action"].as_str()), (Some("test-routingKey"), Some("trigger")));
    assert_eq!(pj["dedup_key"], "systole-notify-shapes");
    assert!(chars(&pj["payload"]["summary"]) <= 1024);
    let summary = pj["payload"]["summary"].as_str().unwrap();
    assert!(summary.starts_with("Every channel's shape went DOWN at "), "templates.pagerduty: {summary}");
    assert!(summary.ends_with(" AM") || summary.ends_with(" PM"), "{summary}");
    assert_eq!(pj["payload"]["severity"], "error", "templates.pagerduty.severity");

    let n = one("ntfy").json();
    assert_eq!(n["topic"], "alerts");
    assert!(chars(&n["message"]) <= 4096);

    let teams = one("teams").json();
    assert_eq!(teams["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");

    let g = one("googlechat").json();
    assert!(chars(&g["text"]) <= 4096);
    assert!(g["text"].as_str().unwrap().contains("<\u{200B}users/all>"), "{g}");

    let gotify = one("gotify");
    assert_eq!(gotify.path, "/gotify/message");
    assert!(chars(&gotify.json()["message"]) <= 4096);

    let o = one("opsgenie");
    assert_eq!(o.path, "/opsgenie/v2/alerts");
    assert_eq!(o.headers["authorization"], "GenieKey test-apiKey");
    assert!(chars(&o.json()["message"]) <= 130);

    for chat in ["mattermost", "rocketchat"] {
        let m = one(chat).json();
        let text = m["attachments"][0]["text"].as_str().unwrap();
        assert!(text.contains("@\u{200B}channel <\u{200B}!here>"), "{chat}: {m}");
    }

    let sms = one("sms");
    assert_eq!(sms.path, "/sms/2010-04-01/Accounts/test-accountSid/Messages.json");
    assert_eq!(sms.headers["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(sms.headers["authorization"], "Basic dGVzdC1hY2NvdW50U2lkOnRlc3QtYXV0aFRva2Vu", "accountSid:authToken");
    let f = form(&sms);
    assert_eq!((f["To"].as_str(), f["From"].as_str()), ("+15551230000", "+15559870000"), "From wins over the service");
    assert!(!f.contains_key("MessagingServiceSid"));
    assert!(f["Body"].starts_with("🔴 Every channel's shape is DOWN"), "the title, not the 8 KiB body: {}", f["Body"]);
    assert!(f["Body"].encode_utf16().count() <= 70, "one UCS-2 segment: {}", f["Body"]);

    let pm = one("postmark");
    assert_eq!(pm.path, "/postmark/email");
    assert_eq!(pm.headers["x-postmark-server-token"], "test-serverToken");
    assert_eq!(pm.headers["accept"], "application/json");
    let pj = pm.json();
    assert_eq!(pj["To"], "ops@example.com, oncall@example.com");
    assert_eq!(pj["From"], "systole@example.com");
    assert_eq!(pj["Subject"], "[DOWN] Every channel's shape 🔴", "templates.email shapes Postmark too");
    assert_eq!(pj["MessageStream"], "outbound");
    assert!(pj["TextBody"].as_str().unwrap().contains("disk /var is full"));
    let html = pj["HtmlBody"].as_str().unwrap();
    assert!(html.starts_with("<html><body>") && html.contains("&lt;!here&gt;") && !html.contains("<!here>"), "{html}");
}

/// Twilio answers 201, Postmark 200; both retry 429 and 5xx and give up at once on other
/// 4xx (Twilio 400 for an invalid `To`, Postmark 422 with an `ErrorCode`), like every channel.
#[test]
fn sms_and_postmark_retry_rate_limits_and_server_errors_and_stop_on_client_errors() {
    let receiver = Receiver::start();
    // Each scripted verdict repeated: under load an attempt whose answer came back too late
    // (or was never recorded) is retried, as a sender must when it cannot know, and the
    // retry gets the same verdict.
    receiver.script("sms", &[429, 201, 201, 201]);
    receiver.script("postmark", &[503, 422, 422, 422]);
    let worker = spawn_worker_with(&channel_env(&receiver, &[]));
    let answer = worker.beat("notify-shapes", &json!({"serviceId": "notify-shapes", "status": "down"}));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answered = |channel: &str, n: usize| -> Vec<u16> {
        receiver.wait(channel, n, Duration::from_secs(45)).iter().take(n).map(|r| r.answered).collect()
    };
    assert_eq!(answered("sms", 2), [429, 201]);
    assert_eq!(answered("postmark", 2), [503, 422]);
    // The last attempt's record: delivered on Twilio's 201, failed for good on Postmark's 422.
    let last = |channel: &str, outcome: &str| -> Value {
        worker.wait_for(outcome, Duration::from_secs(45), || {
            let rows = worker.get("/api/v1/alerts/history?serviceId=notify-shapes&limit=100").json()["attempts"]
                .as_array()
                .cloned()
                .unwrap();
            let mine: Vec<Value> = rows.into_iter().filter(|r| r["channel"] == channel).collect();
            let last = mine.into_iter().max_by_key(|r| r["attempt"].as_i64().unwrap())?;
            (last["outcome"] == outcome).then_some(last)
        })
    };
    // An interrupted attempt takes its number whether or not it reached the receiver, so the
    // last attempt is the second or later, and the receiver saw at most that many.
    let sms = last("sms", "delivered");
    assert_eq!(sms["httpStatus"].as_i64(), Some(201), "{sms}");
    assert!(sms["attempt"].as_i64().unwrap() >= 2, "{sms}");
    let pm = last("postmark", "failed");
    assert_eq!(pm["httpStatus"].as_i64(), Some(422), "{pm}");
    assert!(pm["attempt"].as_i64().unwrap() >= 2, "{pm}");
    let (sms_seen, pm_seen) = (receiver.of("sms").len(), receiver.of("postmark").len());
    assert!(sms_seen as i64 <= sms["attempt"].as_i64().unwrap(), "{sms_seen} requests for {sms}");
    assert!(pm_seen as i64 <= pm["attempt"].as_i64().unwrap(), "{pm_seen} requests for {pm}");
    std::thread::sleep(Duration::from_millis(3_000));
    assert_eq!(receiver.of("postmark").len(), pm_seen, "a 422 is never retried");
    assert_eq!(receiver.of("sms").len(), sms_seen, "nothing more after the delivery");
}

/// The seed's webhook options (`method`, `Authorization: Bearer YOUR_TOKEN` filled from the
/// `AUTHTOKEN` secret) and `settings.includeMetadata` / `timezone`, through a real delivery.
#[test]
fn a_seed_style_webhook_gets_its_method_token_metadata_and_local_time() {
    let receiver = Receiver::start();
    let mut env = channel_env(&receiver, &[]);
    env.retain(|(k, _)| {
        !["NOTIFICATION_SEED_HOOK_AUTHORIZATION", "NOTIFICATION_SEED_HOOK_SECRET"].contains(&k.as_str())
    });
    let worker = spawn_worker_with(&env);
    let metadata = json!({"host": "db-1", "build": 42});
    let answer =
        worker.beat("notify-seed", &json!({"serviceId": "notify-seed", "status": "down", "metadata": metadata}));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let got = receiver.wait("seed-hook", 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].method, "PUT");
    assert_eq!(got[0].headers["authorization"], "Bearer test-authToken");
    let body = got[0].json();
    assert_eq!(body["metadata"], metadata);
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("\nMetadata:\nbuild=42\nhost=db-1"), "{text}");
    assert!(text.contains(" CET.") || text.contains(" CEST."), "times in Europe/Paris: {text}");
}

#[test]
fn channels_report_missing_credentials_and_an_admin_can_send_a_test() {
    let receiver = Receiver::start();
    let mut env = channel_env(&receiver, &[]);
    env.retain(|(k, _)| k != "NOTIFICATION_SLACK_WEBHOOKURL");
    let worker = spawn_worker_with(&env);
    let list = worker.get("/api/v1/notifications/channels").json();
    let slack = list["channels"].as_array().unwrap().iter().find(|c| c["name"] == "slack").unwrap();
    assert_eq!(slack["ready"], false);
    assert!(slack["problems"][0].as_str().unwrap().contains("NOTIFICATION_SLACK_WEBHOOKURL"), "{slack}");

    let sent = worker.request(
        "POST",
        "/api/v1/notifications/test",
        Some(ADMIN_TOKEN),
        r#"{"channel": "discord", "serviceId": "notify-once"}"#,
    );
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.json()["delivered"], true);
    let got = receiver.wait("discord", 1, Duration::from_secs(20));
    assert!(got[0].json()["embeds"][0]["title"].as_str().unwrap().contains("Test notification for Notify once"));

    let failed =
        worker.request("POST", "/api/v1/notifications/test", Some(ADMIN_TOKEN), r#"{"channel": "slack"}"#).json();
    assert_eq!(failed["delivered"], false);
    assert!(failed["error"].as_str().unwrap().contains("NOTIFICATION_SLACK_WEBHOOKURL"), "{failed}");

    let unknown = worker.request("POST", "/api/v1/notifications/test", Some(ADMIN_TOKEN), r#"{"channel": "nope"}"#);
    assert_eq!((unknown.status, unknown.json()["field"].clone()), (400, json!("channel")));
    let rows = worker.get("/api/v1/alerts/history?subject=test").json();
    assert_eq!(rows["attempts"].as_array().unwrap().len(), 2, "{rows}");
}
