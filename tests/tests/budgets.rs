//! The free plan's 50 subrequests per invocation, counted by the Worker itself (the bench
//! build's `GET /api/internal/budgets`): live publishing reaches any number of hubs through a
//! relay tree in which no invocation posts to more than 10.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use systole_e2e::spawn_worker;

#[test]
fn an_update_reaches_a_hundred_hubs_with_at_most_ten_posts_per_invocation() {
    let worker = spawn_worker();
    assert_eq!(worker.get("/api/internal/budgets?clear").status, 200);
    let probe = worker.get("/api/internal/relay?hubs=100");
    assert_eq!(probe.status, 200, "{}", probe.body);
    assert_eq!(probe.json(), json!({"reached": 100}), "every hub answered once");
    let budgets = worker.get("/api/internal/budgets").json();
    let at_most_ten = |label: &str| {
        let peak = &budgets["invocations"][label];
        assert!(peak["total"].as_u64().unwrap() <= 10, "{label}: {budgets}");
        peak["invocations"].as_u64().unwrap()
    };
    assert_eq!(at_most_ten("GET /api/internal/relay"), 1);
    // Every hub that relayed on ran one counted invocation (those at the leaves have none
    // to relay to, and are counted too).
    assert_eq!(at_most_ten("NotificationHub relay"), 100, "{budgets}");
    assert_eq!(worker.get("/api/internal/relay?hubs=101").status, 400);
}
