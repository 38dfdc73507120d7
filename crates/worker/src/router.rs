//! The stateless edge: method and path routing, and the rule that nothing escapes as a 500.

use systole_core::api::Problem;
use worker::{Env, Method, Request, Response, Result};

use crate::{access, deployment, http, live, pages, routes};

/// Routes a request. Any failure of a dependency answers 503 problem+json.
pub async fn handle(req: Request, env: &Env) -> Result<Response> {
    let path = req.path();
    match route(req, env, &path).await {
        Ok(resp) => Ok(resp),
        Err(e) => http::unavailable("storage", &e),
    }
}

async fn route(req: Request, env: &Env, path: &str) -> Result<Response> {
    let method = req.method();
    let get = method == Method::Get || method == Method::Head;
    let bench = path.starts_with("/api/internal/") && crate::deployment::bench_enabled(env);
    match path {
        "/api/heartbeat" if method == Method::Post => routes::heartbeat::post(req, env).await,
        "/api/heartbeat" => not_allowed(&method, "POST"),
        "/api/status" if get => routes::status::get(&req, env).await,
        "/api/services" if get => routes::services::get(&req, env),
        "/api/logs" if get => routes::logs::get(&req, env).await,
        "/api/uptime" if get => routes::uptime::get(&req, env).await,
        "/api/incidents" if get => routes::incidents::get(&req, env).await,
        "/api/alert" if method == Method::Post => routes::alerts::post(req, env).await,
        "/api/notifications/test" if method == Method::Post => routes::notifications::test(req, env).await,
        "/api/alert" | "/api/notifications/test" => not_allowed(&method, "POST"),
        "/api/alerts/history" if get => routes::alerts::history(&req, env).await,
        "/api/alerts/recent" if get => routes::alerts::recent(&req, env).await,
        "/api/notifications/channels" if get => routes::notifications::channels(&req, env),

        "/api/internal/stats" if get && bench => routes::stats::get(&req, env, "stats").await,
        "/api/internal/echo" if get && bench => routes::stats::get(&req, env, "echo").await,
        "/api/internal/echo-persist" if get && bench => routes::stats::get(&req, env, "echo-persist").await,
        "/" if get => pages::dashboard::get(&req, env).await,
        "/status" if get => pages::status::get(env).await,
        "/login" if get => pages::session::form(),
        "/login" if method == Method::Post => pages::session::login(req, env).await,
        "/logout" if method == Method::Post => pages::session::logout(&req),
        "/api/live" if get => match access::caller(&req, env) {
            Ok(caller) => live::connect(&req, env, &caller.hub()).await,
            Err(p) => http::problem(&p),
        },
        "/status/live" if get && deployment::config().settings.status_page => {
            live::connect(&req, env, &systole_core::access::Hub::public()).await
        }
        "/api/internal/hub" if get && bench => routes::stats::hub(&req, env).await,
        _ if get && path.starts_with("/services/") => pages::service::get(&req, env, &path["/services/".len()..]).await,
        _ if get && path.starts_with("/assets/") => match pages::asset(path) {
            Some(resp) => resp,
            None => http::problem(&Problem::not_found(format!("no asset {path}"))),
        },
        "/healthz" if get => http::json(200, &serde_json::json!({ "ok": true, "version": env!("CARGO_PKG_VERSION") })),
        "/api/status"
        | "/api/services"
        | "/api/logs"
        | "/api/uptime"
        | "/api/incidents"
        | "/api/alerts/history"
        | "/api/alerts/recent"
        | "/api/notifications/channels"
        | "/healthz"
        | "/"
        | "/status"
        | "/api/live" => not_allowed(&method, "GET, HEAD"),
        "/login" => not_allowed(&method, "GET, HEAD, POST"),
        "/logout" => not_allowed(&method, "POST"),
        _ => http::problem(&Problem::not_found(format!("no route for {path}"))),
    }
}

fn not_allowed(method: &Method, allow: &'static str) -> Result<Response> {
    http::problem(&Problem::method_not_allowed(method.as_ref(), allow))
}
