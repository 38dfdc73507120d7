//! The stateless edge: one route table, from which 404, 405 and `Allow` follow, and the rule
//! that nothing escapes as a 500.
//!
//! Each [`Route`] is (pattern, methods, access, handler). A request takes the first route
//! whose pattern matches its path, whose methods include its method and whose access gate
//! is open; the router then identifies the caller as the route's [`Access`] requires, calls
//! the handler and turns an [`ApiError`] into problem+json. A path that no open route
//! matches is 404; a path that matches only fixed, ungated routes with other methods is 405
//! with their methods in `Allow` (pattern and gated routes answer 404 for other methods,
//! as they always have; see [`announces`]).
//!
//! A versioned native API goes beside the current paths as more rows (`/api/v1/…`), and a
//! compatibility path as a row pointing at the same handler.

use std::future::Future;
use std::pin::Pin;

use systole_core::api::route::{self, Pattern};
use systole_core::api::Problem;
use worker::{Env, Request, Response, Result};

use crate::access::{self, Caller};
use crate::http::{self, ApiError, Reply};
use crate::{deployment, live, pages, routes};

/// What a handler receives besides the request and the environment.
#[derive(Debug)]
pub struct Call<'a> {
    /// The request path (no query string).
    pub path: &'a str,
    /// What the pattern's `{name}` or `*` captured (`*` is named `"*"`).
    pub params: route::Params<'a>,
    /// The caller the route's [`Access`] identified; `None` for routes anyone may call.
    caller: Option<Caller>,
}

impl Call<'_> {
    /// The caller the router identified for a route with [`Access::User`], [`Access::Admin`]
    /// or [`Access::Reader`].
    ///
    /// # Errors
    /// 401 `unauthenticated` on a route anyone may call (no caller was identified there; a
    /// handler asking is a table mistake, refused rather than treated as open).
    pub fn caller(&self) -> std::result::Result<Caller, ApiError> {
        self.caller.ok_or_else(|| Problem::unauthenticated().into())
    }
}

/// Who may call a route.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Access {
    /// Anyone; the handler checks any credential itself (heartbeat key, alert key, login
    /// token).
    Anyone,
    /// A user (session cookie or bearer user token), or anyone in an open deployment; else
    /// 401 problem+json.
    User,
    /// A user with the admin role; else 401 or 403 problem+json.
    Admin,
    /// A page's reader, as [`Access::User`] but answered with the sign-in page (401) when
    /// unidentified.
    Reader,
    /// Anyone, while `settings.json` enables the public status page; else the route does
    /// not exist.
    StatusPage,
    /// The benchmark (`cargo xtask bench`): only while the `SYSTOLE_BENCH` var is `1`; else
    /// the route does not exist.
    Bench,
}

impl Access {
    /// Whether the route exists in this deployment.
    fn open(self, env: &Env) -> bool {
        match self {
            Access::StatusPage => deployment::config().settings.status_page,
            Access::Bench => deployment::bench_enabled(env),
            Access::Anyone | Access::User | Access::Admin | Access::Reader => true,
        }
    }

    /// Whether the route depends on the deployment (see [`Access::open`]).
    fn gated(self) -> bool {
        matches!(self, Access::StatusPage | Access::Bench)
    }
}

/// A boxed handler future borrowing the environment and the path.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Reply> + 'a>>;

/// A route handler: an `async fn(Request, &Env, Call) -> Reply`, boxed by `handler!`.
pub type Handler = for<'a> fn(Request, &'a Env, Call<'a>) -> Answer<'a>;

/// One row of the route table.
#[derive(Debug)]
pub struct Route {
    /// The path pattern.
    pub pattern: Pattern,
    /// The methods it answers, as sent in `Allow`.
    pub methods: &'static [&'static str],
    /// Who may call it.
    pub access: Access,
    /// The handler.
    pub handler: Handler,
}

/// `GET` routes answer `HEAD` too.
const GET: &[&str] = &["GET", "HEAD"];
/// `POST` routes.
const POST: &[&str] = &["POST"];

/// Boxes an `async fn(Request, &Env, Call) -> Reply` into a [`Handler`].
macro_rules! handler {
    ($f:path) => {
        |req, env, call| Box::pin($f(req, env, call))
    };
}

/// One row of [`ROUTES`]: `route!(pattern, methods, access, handler)`.
macro_rules! route {
    ($pattern:literal, $methods:expr, $access:ident, $f:path) => {
        Route { pattern: Pattern($pattern), methods: $methods, access: Access::$access, handler: handler!($f) }
    };
}

/// Every route, in matching order.
pub static ROUTES: &[Route] = &[
    route!("/api/v1/heartbeat", POST, Anyone, routes::heartbeat::post),
    route!("/api/v1/status", GET, User, routes::status::get),
    route!("/api/v1/services", GET, User, routes::services::get),
    route!("/api/v1/logs", GET, User, routes::logs::get),
    route!("/api/v1/uptime", GET, User, routes::uptime::get),
    route!("/api/v1/incidents", GET, User, routes::incidents::get),
    route!("/api/v1/alerts", POST, Anyone, routes::alerts::post),
    route!("/api/v1/notifications/test", POST, Admin, routes::notifications::test),
    route!("/api/v1/alerts/history", GET, User, routes::alerts::history),
    route!("/api/v1/alerts/recent", GET, User, routes::alerts::recent),
    route!("/api/v1/notifications/channels", GET, User, routes::notifications::channels),
    route!("/api/v1/live", GET, User, live::connect_user),
    route!("/api/internal/stats", GET, Bench, routes::stats::stats),
    route!("/api/internal/echo", GET, Bench, routes::stats::echo),
    route!("/api/internal/echo-persist", GET, Bench, routes::stats::echo_persist),
    route!("/api/internal/hub", GET, Bench, routes::stats::hub),
    // The cloudflaremon seed's paths, in its shapes (`routes::cloudflaremon`).
    route!("/api/heartbeat", POST, Anyone, routes::heartbeat::post),
    route!("/api/alert", POST, Anyone, routes::alerts::post),
    route!("/", GET, Reader, pages::dashboard::get),
    route!("/services/*", GET, Reader, pages::service::get),
    route!("/status", GET, Anyone, pages::status::get),
    route!("/status/live", GET, StatusPage, live::connect_public),
    route!("/login", GET, Anyone, pages::session::form),
    route!("/login", POST, Anyone, pages::session::login),
    route!("/logout", POST, Anyone, pages::session::logout),
    route!("/assets/*", GET, Anyone, pages::assets),
    route!("/healthz", GET, Anyone, healthz),
];

/// Whether `route` answers 405 (with `Allow`) for methods it does not take: fixed, ungated
/// routes do; pattern and gated routes answer 404 then, as before the table existed.
fn announces(route: &Route) -> bool {
    route.pattern.is_fixed() && !route.access.gated()
}

/// Routes a request. Any failure of a dependency answers 503 problem+json.
///
/// # Errors
/// Never in practice: a response that cannot be built is answered 503, and only if that
/// cannot be built either does the error reach the runtime.
pub async fn handle(req: Request, env: &Env) -> Result<Response> {
    let path = req.path();
    let answer = match dispatch(req, env, &path).await {
        Ok(resp) => Ok(resp),
        Err(e) => e.respond(),
    };
    answer.or_else(|e| http::unavailable("storage", &e))
}

async fn dispatch(req: Request, env: &Env, path: &str) -> Reply {
    let method = req.method();
    for r in ROUTES {
        let Some(params) = r.pattern.matches(path) else { continue };
        if !r.access.open(env) || !r.methods.contains(&method.as_ref()) {
            continue;
        }
        let caller = match r.access {
            Access::User => Some(access::caller(&req, env)?),
            Access::Admin => Some(access::admin(&req, env)?),
            Access::Reader => match access::caller(&req, env) {
                Ok(c) => Some(c),
                Err(_) => return pages::sign_in(401, None),
            },
            Access::Anyone | Access::StatusPage | Access::Bench => None,
        };
        return (r.handler)(req, env, Call { path, params, caller }).await;
    }
    match allowed(path) {
        Some(allow) => Err(Problem::method_not_allowed(method.as_ref(), &allow).into()),
        None => Err(Problem::not_found(format!("no route for {path}")).into()),
    }
}

/// The `Allow` header of a 405 for `path`: the methods of the routes that match it and
/// [`announces`] them, in table order; `None` (a 404) when there are none.
fn allowed(path: &str) -> Option<String> {
    let methods = ROUTES.iter().filter(|r| announces(r) && r.pattern.matches(path).is_some()).map(|r| r.methods);
    Some(route::allow(methods)).filter(|a| !a.is_empty())
}

/// `GET /healthz`: `{"ok": true, "version"}`.
async fn healthz(_req: Request, _env: &Env, _call: Call<'_>) -> Reply {
    Ok(http::json(200, &serde_json::json!({ "ok": true, "version": env!("CARGO_PKG_VERSION") }))?)
}

#[cfg(test)]
mod tests {
    //! Native (`cargo test -p systole-worker --lib`).
    use super::*;

    #[test]
    fn other_methods_get_the_same_405s_and_404s_as_before_the_table() {
        let get = [
            "/api/v1/status",
            "/api/v1/services",
            "/api/v1/logs",
            "/api/v1/uptime",
            "/api/v1/incidents",
            "/api/v1/alerts/history",
            "/api/v1/alerts/recent",
            "/api/v1/notifications/channels",
            "/healthz",
            "/",
            "/status",
            "/api/v1/live",
        ];
        for path in get {
            assert_eq!(allowed(path).as_deref(), Some("GET, HEAD"), "{path}");
        }
        for path in [
            "/api/heartbeat",
            "/api/v1/heartbeat",
            "/api/alert",
            "/api/v1/alerts",
            "/api/v1/notifications/test",
            "/logout",
        ] {
            assert_eq!(allowed(path).as_deref(), Some("POST"), "{path}");
        }
        assert_eq!(allowed("/login").as_deref(), Some("GET, HEAD, POST"));
        // Pattern and gated routes, and unknown paths, answer 404 for other methods.
        for path in ["/api/internal/stats", "/api/internal/hub", "/status/live", "/services/web", "/assets/app.js"] {
            assert_eq!(allowed(path), None, "{path}");
        }
        for path in ["/api/nope", "/api/v1/status/", "/logins", ""] {
            assert_eq!(allowed(path), None, "{path}");
        }
    }

    #[test]
    fn each_path_and_method_has_one_route() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                let overlap = a.methods.iter().any(|m| b.methods.contains(m));
                assert!(!(a.pattern == b.pattern && overlap), "{} {:?} twice", a.pattern.0, a.methods);
            }
        }
    }
}
