//! Request data as an attacker writes it: every parser of paths, headers, cookies, forms and
//! bodies in the core takes arbitrary strings and bytes without panicking, and each refusal
//! names its field. (Query strings: `hostile_queries.rs`; alert payloads: the properties in
//! `notify::alert`.)
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{Map, Value};
use systole_core::api::heartbeat::{self, Entry};
use systole_core::api::route::Pattern;
use systole_core::api::{Problem, TestRequest};
use systole_core::compat::cloudflaremon::{self as seed, alerts, logs};
use systole_core::config::{AlertHistoryDefaults, ServiceId};
use systole_core::keys::{self, KeyRing};
use systole_core::notify::{AlertState, ChannelType, Event, Severity};
use systole_core::session;
use systole_core::time::Timestamp;

const NOW: Timestamp = Timestamp::from_millis(1_764_000_000_000);
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
/// A login token digest the sessions are checked against.
const TOKEN: &[u8] = b"digest-of-a-login-token-32-bytes";

/// The field names of the heartbeat body, in any of its three forms.
const HEARTBEAT_FIELDS: [&str; 8] = ["serviceId", "services", "status", "message", "metadata", "metrics", "token", "x"];

/// Any JSON value whose object keys are mostly heartbeat fields, nested a few levels.
fn heartbeat_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::String),
        Just(Value::String("guarded".to_owned())),
        Just(Value::String("up".to_owned())),
    ];
    let key = prop_oneof![(0..HEARTBEAT_FIELDS.len()).prop_map(|i| HEARTBEAT_FIELDS[i].to_owned()), "\\PC{0,12}"];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A heartbeat refusal: 413, or a 400 whose field (when it has one) is a path into the body
/// made of heartbeat fields, batch indexes and metric names.
fn heartbeat_refusal_is_precise(body: &[u8], problem: &Problem) {
    assert!(matches!(problem.status, 400 | 413), "{problem:?}");
    if problem.code == "invalid-field" && serde_json::from_slice::<Map<String, Value>>(body).is_ok() {
        let field = problem.field.as_deref().unwrap_or_else(|| panic!("no field: {problem:?}"));
        let first = field.split(['.', '[']).next().unwrap();
        assert!(first.is_empty() || HEARTBEAT_FIELDS.contains(&first), "{field:?} in {problem:?}");
    }
}

#[test]
fn test_notification_refusals_name_the_field() {
    let field = |body: &str| TestRequest::parse(body.as_bytes()).unwrap_err().field;
    assert_eq!(field(r#"{"serviceId": "a"}"#).as_deref(), Some("channel"));
    assert_eq!(field(r#"{"channel": 7}"#).as_deref(), Some("channel"));
    assert_eq!(field(r#"{"channel": "a", "serviceId": []}"#).as_deref(), Some("serviceId"));
    assert_eq!(field(r#"{"channel": "a", "chanel": "b"}"#).as_deref(), Some("chanel"));
    assert_eq!(TestRequest::parse(b"{").unwrap_err().code, "invalid-json");
}

proptest! {
    #[test]
    fn no_heartbeat_body_bytes_make_the_parser_panic(
        body in prop::collection::vec(any::<u8>(), 0..300),
        bearer in prop::option::of("\\PC{0,20}"),
    ) {
        if let Err(p) = heartbeat::parse(&body, bearer.as_deref()) {
            heartbeat_refusal_is_precise(&body, &p);
        }
    }

    #[test]
    fn no_heartbeat_json_makes_the_parser_panic_and_refusals_name_their_field(value in heartbeat_json()) {
        let body = value.to_string();
        match heartbeat::parse(body.as_bytes(), Some("key")) {
            Ok(request) => {
                for entry in request.entries {
                    if let Entry::Beat(item) = entry {
                        prop_assert!(ServiceId::parse(item.service_id.as_str()).is_ok());
                    }
                }
            }
            Err(p) => heartbeat_refusal_is_precise(body.as_bytes(), &p),
        }
    }

    #[test]
    fn no_test_notification_body_makes_the_parser_panic(body in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = TestRequest::parse(&body);
        let _ = alerts::TestRequest::parse(&body);
    }

    #[test]
    fn test_notification_refusals_of_an_object_name_their_field(
        // Keys of at least one character: an unknown empty name is named in the detail only.
        fields in prop::collection::btree_map(
            prop_oneof![Just("channel".to_owned()), Just("serviceId".to_owned()), Just("channelType".to_owned()), "\\PC{1,8}"],
            prop_oneof![Just(Value::Null), any::<i64>().prop_map(Value::from), "\\PC{0,12}".prop_map(Value::String)],
            0..4,
        )
    ) {
        let body = Value::Object(fields.into_iter().collect()).to_string();
        if let Err(p) = TestRequest::parse(body.as_bytes()) {
            prop_assert_eq!(p.status, 400);
            prop_assert!(p.field.is_some(), "{:?}", p);
        }
        if let Err(message) = alerts::TestRequest::parse(body.as_bytes()) {
            prop_assert!(message.contains("channelType") || message.contains("eventType"), "{}", message);
        }
    }

    #[test]
    fn no_path_makes_a_route_pattern_panic(path in "(/|\\PC){0,60}") {
        for pattern in ["/", "/healthz", "/api/v1/logs", "/services/*", "/assets/*", "/services/{id}"] {
            if let Some(params) = Pattern(pattern).matches(&path) {
                let _ = (params.get("*"), params.get("id"));
            }
        }
    }

    #[test]
    fn no_cookie_header_or_session_value_makes_a_parser_panic(header in "\\PC{0,120}", value in "\\PC{0,80}") {
        if let Some(v) = session::cookie(&header, session::COOKIE) {
            let _ = session::Session::claimed(v);
            let _ = session::verify(v, SECRET, Some(TOKEN), NOW);
        }
        prop_assert!(session::verify(&value, SECRET, Some(TOKEN), NOW).is_err());
        let _ = session::same_origin_post(Some(&header), Some(&value), "https://systole.example");
    }

    #[test]
    fn a_session_value_of_dot_separated_parts_is_refused_not_a_panic(
        user in "\\PC{0,10}", generation in "\\PC{0,6}", expires in "\\PC{0,20}", sig in "[0-9a-f\\PC]{0,70}"
    ) {
        let value = [user, generation, expires, sig].join(".");
        prop_assert!(session::verify(&value, SECRET, Some(TOKEN), NOW).is_err());
    }

    #[test]
    fn no_sign_in_form_makes_the_parser_panic(body in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Some(token) = session::form_token(&body) {
            prop_assert!(!token.is_empty());
        }
    }

    #[test]
    fn no_authorization_header_or_presented_key_makes_a_parser_panic(header in "\\PC{0,80}") {
        let ring = KeyRing::parse(r#"{"guarded": "key-guarded-0123456789", "*": "key-star-0123456789"}"#, SECRET).unwrap();
        let token = keys::bearer(&header);
        if let Some(t) = &token {
            prop_assert!(!t.is_empty());
        }
        let presented = token.unwrap_or(header);
        prop_assert_eq!(ring.identify(&presented), None);
        let _ = ring.authorize(None, Some(&presented));
        prop_assert!(!keys::secret_matches("key-guarded-0123456789", &presented));
    }

    #[test]
    fn no_keys_secret_makes_its_parser_panic(json in "\\PC{0,80}") {
        let _ = KeyRing::parse(&json, SECRET);
        let _ = KeyRing::parse_tokens(&json, SECRET);
    }

    #[test]
    fn no_seed_query_makes_a_parser_panic_and_refusals_name_their_parameter(
        pairs in prop::collection::vec(
            (prop_oneof![Just("serviceId"), Just("limit"), Just("since"), Just("hours"), Just("format")], "\\PC{0,30}"),
            0..5,
        )
    ) {
        let pairs: Vec<(String, String)> = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        if let Err(m) = logs::query(&pairs) {
            prop_assert!(m.contains("serviceId") || m.contains("limit"), "{}", m);
        }
        if let Err(m) = seed::service_id(&pairs) {
            prop_assert!(m.contains("serviceId"), "{}", m);
        }
        if let Err(m) = alerts::RecentQuery::parse(&pairs, &AlertHistoryDefaults::default(), NOW) {
            prop_assert!(["since", "hours", "limit"].iter().any(|f| m.contains(f)), "{}", m);
        }
    }

    #[test]
    fn no_text_makes_an_id_time_or_vocabulary_parser_panic(text in "\\PC{0,80}") {
        if let Ok(id) = ServiceId::parse(&text) {
            prop_assert_eq!(id.as_str(), text.as_str());
        }
        let _ = Timestamp::parse_rfc3339(&text);
        let _ = (text.parse::<Severity>(), Event::parse(&text), AlertState::parse(&text), ChannelType::parse(&text));
        let _ = systole_core::notify::alert::severity_from_label(&text);
    }
}
