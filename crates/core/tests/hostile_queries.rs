//! Query strings as an attacker writes them: no parser of the read APIs panics, and every
//! refusal is a 400 naming its field.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use systole_core::api::query::{AlertsQuery, IncidentsQuery, LogsQuery, UptimeQuery};
use systole_core::api::Problem;
use systole_core::config::Settings;
use systole_core::time::Timestamp;

const NOW: Timestamp = Timestamp::from_millis(1_764_000_000_000);

const NAMES: [&str; 9] = ["since", "serviceId", "subject", "channel", "limit", "before", "from", "to", "format"];

fn all(pairs: &[(String, String)]) -> Vec<Result<(), Problem>> {
    vec![
        AlertsQuery::parse(pairs, NOW).map(drop),
        LogsQuery::parse(pairs).map(drop),
        IncidentsQuery::parse(pairs).map(drop),
        UptimeQuery::parse(pairs, NOW, &Settings::default()).map(drop),
    ]
}

fn refusals_name_their_field(pairs: &[(String, String)]) {
    for problem in all(pairs).into_iter().filter_map(Result::err) {
        assert_eq!(problem.status, 400, "{problem:?}");
        let field = problem.field.clone().unwrap_or_default();
        assert!(NAMES.contains(&field.as_str()), "{pairs:?} → {problem:?}");
    }
}

#[test]
fn multi_byte_look_backs_are_refused_not_a_panic() {
    for since in ["é", "1€", "💥", "7ď", "1h\u{301}", "\u{10FFFF}"] {
        let pairs = [("since".to_owned(), since.to_owned())];
        let p = AlertsQuery::parse(&pairs, NOW).unwrap_err();
        assert_eq!((p.status, p.field.as_deref()), (400, Some("since")), "{since:?}");
    }
    let ok = [("since".to_owned(), "90m".to_owned())];
    assert!(AlertsQuery::parse(&ok, NOW).is_ok());
}

proptest! {
    #[test]
    fn no_query_string_makes_a_parser_panic(
        pairs in proptest::collection::vec((0..NAMES.len(), any::<String>()), 0..6)
    ) {
        let pairs: Vec<(String, String)> = pairs.into_iter().map(|(i, v)| (NAMES[i].to_owned(), v)).collect();
        refusals_name_their_field(&pairs);
    }

    #[test]
    fn look_back_shaped_values_never_panic(n in "[0-9]{0,25}", unit in any::<char>()) {
        refusals_name_their_field(&[("since".to_owned(), format!("{n}{unit}"))]);
    }
}
