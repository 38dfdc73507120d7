//! The Worker as deployed (the example `config/`, built without the `bench` feature: `cargo
//! xtask build-worker --config config --out target/worker-default`) has none of the
//! benchmark's `/api/internal/*` routes: each answers 404 like any unknown path. Without
//! `MANAGEMENT_API_KEY` (and with no admin user) the management API fails closed.
#![allow(clippy::unwrap_used)]

use systole_e2e::{spawn_build, DEFAULT};

#[test]
fn the_default_build_answers_404_for_the_bench_routes() {
    // Even with the variable that switched them on before they became a build feature.
    let worker = spawn_build(DEFAULT, &[("SYSTOLE_BENCH".to_owned(), "1".to_owned())]);
    let service = DEFAULT.deployment().config.services[0].id.to_string();
    for path in [
        format!("/api/internal/stats?serviceId={service}"),
        format!("/api/internal/echo?serviceId={service}"),
        format!("/api/internal/echo-persist?serviceId={service}"),
        "/api/internal/hub?name=public".to_owned(),
        "/api/internal/budgets".to_owned(),
        "/api/internal/relay?hubs=20".to_owned(),
    ] {
        let a = worker.get(&path);
        assert_eq!(a.status, 404, "{path}: {}", a.body);
        assert_eq!(a.content_type, "application/problem+json", "{path}");
        assert_eq!(a.json()["type"], "urn:systole:problem:not-found", "{path}");
    }
    assert_eq!(worker.get("/healthz").status, 200, "the build itself answers");
}

#[test]
fn the_management_api_fails_closed_without_a_key_or_an_admin_user() {
    // The example config has no users.json, so no admin; an empty secret does not count.
    let worker = spawn_build(DEFAULT, &[("MANAGEMENT_API_KEY".to_owned(), String::new())]);
    for (method, path) in [("POST", "/api/v1/services"), ("POST", "/api/v1/groups"), ("DELETE", "/api/v1/groups/x")] {
        let a = worker.request(method, path, Some("anything-at-all-0123456789"), r#"{"id":"x"}"#);
        assert_eq!(a.status, 403, "{method} {path}: {}", a.body);
        assert_eq!(a.content_type, "application/problem+json", "{method} {path}");
        assert!(a.json()["detail"].as_str().unwrap().contains("MANAGEMENT_API_KEY"), "{}", a.body);
    }
}
