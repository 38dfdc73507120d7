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
//! compatibility path as a row pointing at the same handler or at a thin translation
//! (`routes::cloudflaremon`).
//!
//! Sign-in and alert routes are rate limited per client IP before their handler runs
//! ([`per_ip`], [`limits`]): 429 problem+json with `Retry-After`. The heartbeat handler
//! counts only requests in which no heartbeat passed its key check.
//!
//! Two more columns serve the cloudflaremon seed's contract:
//! - a route's **gate** ([`Endpoint`], `settings.json` `api`): while it is switched off the
//!   route answers 403 with the seed's body, before any caller is identified, without CORS;
//! - **CORS** ([`Route::cors`], the read APIs): an answer to a request whose `Origin`
//!   `allowedOrigins` allows carries `Access-Control-Allow-Origin: <that origin>` and
//!   `Vary: Origin`; any other origin gets no CORS header. An `OPTIONS` request on any path
//!   is a preflight: 200, empty, with `Access-Control-Allow-Methods: GET, POST, OPTIONS` and
//!   `Access-Control-Allow-Headers: Content-Type, Authorization` for an allowed origin only.

use std::future::Future;
use std::pin::Pin;

use systole_core::api::route::{self, Pattern};
use systole_core::api::Problem;
use systole_core::compat::cloudflaremon::{self as seed, Endpoint};
use systole_core::limit::{self, PerIp};
use worker::worker_sys::web_sys;
use worker::{Env, Request, Response, Result};

use crate::access::{self, Caller};
use crate::http::{self, ApiError, Reply};
use crate::{deployment, limits, live, pages, routes};

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
    /// The benchmark's routes (`cargo xtask bench`): anyone, in a build with the `bench`
    /// feature, the only one with such rows; other methods answer 404 as for a gated route.
    #[cfg_attr(not(feature = "bench"), allow(dead_code))]
    Bench,
}

impl Access {
    /// Whether the route exists in this deployment.
    fn open(self) -> bool {
        match self {
            Access::StatusPage => deployment::config().settings.status_page,
            Access::Anyone | Access::User | Access::Admin | Access::Reader | Access::Bench => true,
        }
    }

    /// Whether the route depends on the deployment (see [`Access::open`]).
    fn gated(self) -> bool {
        matches!(self, Access::StatusPage | Access::Bench)
    }
}

/// What the router answers the runtime: the response as the runtime takes it, or an
/// [`ApiError`] answered as problem+json.
pub type Raw = std::result::Result<web_sys::Response, ApiError>;

/// A boxed handler future borrowing the environment and the path.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Raw> + 'a>>;

/// A route handler, boxed by `handler!`.
#[derive(Clone, Copy, Debug)]
pub enum Handler {
    /// An `async fn(Request, &Env, Call) -> Reply` (or with `handler!(raw …)`, `-> Raw`,
    /// whose response goes to the runtime as it is). The router converts the runtime's
    /// request into `worker`'s `Request` for it ([`with_worker_request`]).
    Request(for<'a> fn(Request, &'a Env, Call<'a>) -> Answer<'a>),
    /// An `async fn(web_sys::Request, &Env, Call) -> Raw` (`handler!(runtime …)`): the
    /// request and the response as the runtime gives and takes them, nothing converted on
    /// the way (the heartbeat's hot path). Only for routes anyone may call ([`Access::Anyone`]):
    /// no caller is identified for it.
    Runtime(for<'a> fn(web_sys::Request, &'a Env, Call<'a>) -> Answer<'a>),
}

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
    /// The `settings.json` `api` switch of a cloudflaremon endpoint, if it has one.
    pub gate: Option<Endpoint>,
    /// Whether answers carry CORS headers for an allowed origin (the read APIs).
    pub cors: bool,
}

/// `GET` routes answer `HEAD` too.
const GET: &[&str] = &["GET", "HEAD"];
/// `POST` routes.
const POST: &[&str] = &["POST"];
/// `PUT` routes.
const PUT: &[&str] = &["PUT"];
/// `PATCH` routes.
const PATCH: &[&str] = &["PATCH"];
/// `DELETE` routes.
const DELETE: &[&str] = &["DELETE"];
/// Routes that answer every method (the ping URLs, as healthchecks.io and Uptime Kuma do;
/// `OPTIONS` stays a CORS preflight on every path).
const ANY: &[&str] = &["*"];

/// Boxes an `async fn(Request, &Env, Call) -> Reply` (with `raw`, `-> Raw`; with `runtime`,
/// `async fn(web_sys::Request, &Env, Call) -> Raw`) into a [`Handler`].
macro_rules! handler {
    (runtime $f:path) => {
        Handler::Runtime(|req, env, call| Box::pin($f(req, env, call)))
    };
    (raw $f:path) => {
        Handler::Request(|req, env, call| Box::pin($f(req, env, call)))
    };
    ($f:path) => {
        Handler::Request(|req, env, call| {
            Box::pin(async move { $f(req, env, call).await.map(web_sys::Response::from) })
        })
    };
}

/// One row of [`ROUTES`]: `route!(pattern, methods, access, handler)` (`raw handler` for a
/// `-> Raw` handler, `runtime handler` for a [`Handler::Runtime`]), then optionally
/// `gate = Endpoint` and/or `cors`.
macro_rules! route {
    ($pattern:literal, $methods:expr, Anyone, runtime $f:path) => {
        route!(@ $pattern, $methods, Anyone, handler!(runtime $f), None, false)
    };
    ($pattern:literal, $methods:expr, Anyone, runtime $f:path, gate = $gate:ident) => {
        route!(@ $pattern, $methods, Anyone, handler!(runtime $f), Some(Endpoint::$gate), false)
    };
    ($pattern:literal, $methods:expr, $access:ident, raw $f:path) => {
        route!(@ $pattern, $methods, $access, handler!(raw $f), None, false)
    };
    ($pattern:literal, $methods:expr, $access:ident, raw $f:path, gate = $gate:ident) => {
        route!(@ $pattern, $methods, $access, handler!(raw $f), Some(Endpoint::$gate), false)
    };
    ($pattern:literal, $methods:expr, $access:ident, $f:path) => {
        route!(@ $pattern, $methods, $access, handler!($f), None, false)
    };
    ($pattern:literal, $methods:expr, $access:ident, $f:path, cors) => {
        route!(@ $pattern, $methods, $access, handler!($f), None, true)
    };
    ($pattern:literal, $methods:expr, $access:ident, $f:path, gate = $gate:ident) => {
        route!(@ $pattern, $methods, $access, handler!($f), Some(Endpoint::$gate), false)
    };
    ($pattern:literal, $methods:expr, $access:ident, $f:path, gate = $gate:ident, cors) => {
        route!(@ $pattern, $methods, $access, handler!($f), Some(Endpoint::$gate), true)
    };
    (@ $pattern:literal, $methods:expr, $access:ident, $handler:expr, $gate:expr, $cors:expr) => {
        Route {
            pattern: Pattern($pattern),
            methods: $methods,
            access: Access::$access,
            handler: $handler,
            gate: $gate,
            cors: $cors,
        }
    };
}

/// Every route, in matching order.
pub static ROUTES: &[Route] = &[
    // The heartbeat's routes first, in every surface: a request is matched against each row
    // before its own, and these carry nearly all of a deployment's requests. No other row
    // matches their paths, so their place changes no answer.
    route!("/api/v1/heartbeat", POST, Anyone, runtime routes::heartbeat::post),
    // cloudflaremon's heartbeat (its other paths are below, with `routes::cloudflaremon`).
    route!("/api/heartbeat", POST, Anyone, runtime routes::heartbeat::post, gate = Heartbeat),
    // healthchecks.io's ping URLs and Uptime Kuma's push URL: thin translations onto the
    // heartbeat (`routes::ping`), any method, each answering as its product does.
    route!("/ping/*", ANY, Anyone, raw routes::ping::healthchecks),
    route!("/api/push/{token}", ANY, Anyone, raw routes::ping::kuma),
    // Heartbeat Central's heartbeat URL (any method, as its Docker example pings with a GET;
    // its other paths are below, with `routes::heartbeat_central`).
    route!("/heartbeat/{uuid}", ANY, Anyone, raw routes::heartbeat_central::heartbeat),
    route!("/api/v1/status", GET, User, routes::status::get, cors),
    // The service list and the management reads also take the MANAGEMENT_API_KEY
    // (`managed::auth::reader`), else identify a user as `User` routes do.
    route!("/api/v1/services", GET, Anyone, routes::services::get, cors),
    // The management API (`routes::manage`): writes are authorized in the handler by the
    // MANAGEMENT_API_KEY secret or an admin user (`managed::auth`).
    route!("/api/v1/services", POST, Anyone, routes::manage::create),
    route!("/api/v1/services/{id}", GET, Anyone, routes::manage::get, cors),
    route!("/api/v1/services/{id}", PUT, Anyone, routes::manage::put),
    route!("/api/v1/services/{id}", PATCH, Anyone, routes::manage::patch),
    route!("/api/v1/services/{id}", DELETE, Anyone, routes::manage::delete),
    route!("/api/v1/services/{id}/pause", POST, Anyone, routes::manage::pause),
    route!("/api/v1/services/{id}/resume", POST, Anyone, routes::manage::resume),
    route!("/api/v1/services/{id}/keys", POST, Anyone, routes::manage::rotate),
    route!("/api/v1/services/{id}/changes", GET, Anyone, routes::manage::changes, cors),
    route!("/api/v1/groups", GET, Anyone, routes::manage::groups, cors),
    route!("/api/v1/groups", POST, Anyone, routes::manage::create_group),
    route!("/api/v1/groups/{id}", PATCH, Anyone, routes::manage::patch_group),
    route!("/api/v1/groups/{id}", DELETE, Anyone, routes::manage::delete_group),
    route!("/api/v1/services/{id}/runs", GET, User, routes::runs::list, cors),
    route!("/api/v1/services/{id}/runs/{n}/log", GET, User, routes::runs::log, cors),
    route!("/api/v1/services/{id}/metrics", GET, User, routes::telemetry::list, cors),
    route!("/api/v1/services/{id}/metrics/{name}", GET, User, routes::telemetry::series, cors),
    route!("/api/v1/services/{id}/errors", GET, User, routes::telemetry::errors, cors),
    route!("/api/v1/services/{id}/errors", POST, Anyone, routes::telemetry::report),
    route!("/api/v1/logs", GET, User, routes::logs::get, cors),
    route!("/api/v1/uptime", GET, User, routes::uptime::get, cors),
    route!("/api/v1/incidents", GET, User, routes::incidents::get, cors),
    // Acknowledging an incident: the management key or a signed-in user (checked in the
    // handler, `routes::acknowledge`); the signed link notifications carry, without sign-in.
    route!("/api/v1/incidents/{id}/acknowledge", POST, Anyone, routes::acknowledge::post),
    route!("/api/v1/alerts", POST, Anyone, routes::alerts::post),
    route!("/api/v1/notifications/test", POST, Admin, routes::notifications::test),
    route!("/api/v1/alerts/history", GET, User, routes::alerts::history, cors),
    route!("/api/v1/alerts/recent", GET, User, routes::alerts::recent, cors),
    route!("/api/v1/notifications/channels", GET, User, routes::notifications::channels, cors),
    route!("/api/v1/maintenance", GET, User, routes::maintenance::list, cors),
    route!("/api/v1/maintenance", POST, Admin, routes::maintenance::create),
    route!("/api/v1/maintenance/{id}", DELETE, Admin, routes::maintenance::delete),
    route!("/api/v1/services/{id}/snooze", POST, Anyone, routes::maintenance::snooze),
    route!("/api/v1/live", GET, User, live::connect_user),
    // The benchmark's counters and baselines: only in a build with the `bench` feature.
    #[cfg(feature = "bench")]
    route!("/api/internal/stats", GET, Bench, routes::stats::stats),
    #[cfg(feature = "bench")]
    route!("/api/internal/echo", GET, Bench, routes::stats::echo),
    #[cfg(feature = "bench")]
    route!("/api/internal/echo-persist", GET, Bench, routes::stats::echo_persist),
    #[cfg(feature = "bench")]
    route!("/api/internal/hub", GET, Bench, routes::stats::hub),
    #[cfg(feature = "bench")]
    route!("/api/internal/budgets", GET, Bench, routes::stats::budgets),
    #[cfg(feature = "bench")]
    route!("/api/internal/relay", GET, Bench, routes::stats::relay),
    #[cfg(feature = "bench")]
    route!("/api/internal/trap", GET, Bench, routes::stats::trap),
    // The cloudflaremon compatibility surface: the seed's paths and answers, thin translations
    // onto the same model (`routes::cloudflaremon`), each switched by `settings.json` `api`
    // (`/api/logs`, from the seed's first version, has no switch). Our access rules hold:
    // without users.json a deployment is open, as the seed.
    route!("/api/status", GET, User, routes::cloudflaremon::status, gate = Status, cors),
    route!("/api/uptime", GET, User, routes::cloudflaremon::uptime, gate = Uptime, cors),
    route!("/api/services", GET, User, routes::cloudflaremon::services, gate = Services, cors),
    route!("/api/logs", GET, User, routes::cloudflaremon::logs, cors),
    route!("/api/alert", POST, Anyone, routes::cloudflaremon::alert, gate = Alert),
    route!("/api/alerts/recent", GET, User, routes::cloudflaremon::recent, gate = AlertHistory, cors),
    route!("/api/test-notification", POST, Admin, routes::cloudflaremon::test_notification, gate = TestNotification),
    // Heartbeat Central's API (`routes::heartbeat_central`): its applications as managed
    // services (the management API's credential required), its health check.
    route!("/api/applications", GET, Anyone, routes::heartbeat_central::list),
    route!("/api/applications", POST, Anyone, routes::heartbeat_central::create),
    route!("/api/applications/{id}", GET, Anyone, routes::heartbeat_central::get),
    route!("/api/applications/{id}", PUT, Anyone, routes::heartbeat_central::put),
    route!("/api/applications/{id}", DELETE, Anyone, routes::heartbeat_central::delete),
    route!("/api/applications/{id}/heartbeats", GET, Anyone, routes::heartbeat_central::heartbeats),
    route!("/health", GET, Anyone, routes::heartbeat_central::health),
    route!("/", GET, Reader, pages::dashboard::get),
    route!("/services/*", GET, Reader, pages::service::get),
    route!("/status", GET, Anyone, pages::status::get),
    route!("/ack/{id}", GET, Anyone, routes::acknowledge::confirm),
    route!("/ack/{id}", POST, Anyone, routes::acknowledge::accept),
    route!("/status/live", GET, StatusPage, live::connect_public),
    route!("/login", GET, Anyone, pages::session::form),
    route!("/login", POST, Anyone, pages::session::login),
    route!("/logout", POST, Anyone, pages::session::logout),
    route!("/assets/*", GET, Anyone, pages::assets),
    route!("/healthz", GET, Anyone, healthz),
    route!("/metrics", GET, Anyone, routes::metrics::get),
    route!("/badge/{key}/{file}", GET, Anyone, routes::badge::get),
];

/// The per-client-IP limit of `route`, with what it counts (see [`limits`]): sign-in
/// attempts and alert requests (heartbeat requests without a valid key are counted by their
/// handler, `routes::heartbeat`); other routes have none.
fn per_ip(route: &Route) -> Option<(PerIp, &'static str)> {
    match (route.pattern.0, route.methods) {
        ("/login", POST) => Some((limit::SIGN_IN, "sign-in attempts")),
        ("/api/v1/alerts" | "/api/alert", POST) => Some((limit::ALERT_PER_IP, "alert requests")),
        _ => None,
    }
}

/// Whether `route` answers 405 (with `Allow`) for methods it does not take: fixed, ungated
/// routes do; pattern and gated routes answer 404 then, as before the table existed.
fn announces(route: &Route) -> bool {
    route.pattern.is_fixed() && !route.access.gated()
}

/// Routes a request: an `OPTIONS` request is a CORS preflight ([`preflight`]); a route whose
/// gate is switched off answers the seed's 403; otherwise the route's caller is identified
/// and its handler called, and a CORS route's answer gets `Access-Control-Allow-Origin`
/// and `Vary: Origin` for an allowed origin. Any failure of a dependency answers 503
/// problem+json. In the benchmark build the request is one invocation of the subrequest
/// budgets (`budget`), labelled by its method and route ([`label`]).
///
/// # Errors
/// Never in practice: a response that cannot be built is answered 503, and only if that
/// cannot be built either does the error reach the runtime.
pub async fn handle(req: web_sys::Request, env: &Env) -> Result<web_sys::Response> {
    let url = req.url();
    let path = route::path_of(&url);
    // The method as sent: `worker::Method` reads any method it does not know (`QUERY`,
    // `PROPFIND`) as GET, which would answer it as one.
    let method = req.method();
    let route = find(path, &method);
    #[cfg(feature = "bench")]
    return crate::budget::invocation(&label(&method, route), routed(req, env, path, &method, route)).await;
    #[cfg(not(feature = "bench"))]
    routed(req, env, path, &method, route).await
}

/// [`handle`] once the route is known. The `Origin` header is read only where an answer
/// depends on it (a preflight, a CORS route).
async fn routed(
    req: web_sys::Request,
    env: &Env,
    path: &str,
    method: &str,
    route: Option<&'static Route>,
) -> Result<web_sys::Response> {
    let allowed = |req: &web_sys::Request| {
        let origin = req.headers().get("Origin").ok().flatten();
        seed::cors_origin(&deployment::config().settings.allowed_origins, origin.as_deref()).map(str::to_owned)
    };
    if method.eq_ignore_ascii_case("OPTIONS") {
        return built(preflight(allowed(&req).as_deref()));
    }
    if let Some(gate) = route.and_then(|r| r.gate).filter(|g| !g.enabled(&deployment::config().settings.api)) {
        return built(http::json(403, &gate.disabled_body()));
    }
    if let Some((limit, what)) = route.and_then(per_ip) {
        if let Err(p) = limits::check(&req, env, limit, what).await {
            return built(http::problem(&p));
        }
    }
    let cors = route.is_some_and(|r| r.cors).then(|| allowed(&req)).flatten();
    let resp = match dispatch(req, env, path, method, route).await {
        Ok(resp) => resp,
        Err(e) => built(e.respond())?,
    };
    if let Some(origin) = cors {
        // A response passed on from a Durable Object has immutable headers; none of the CORS
        // routes answers one.
        let headers = resp.headers();
        if headers.set("Access-Control-Allow-Origin", &origin).and_then(|()| headers.append("Vary", "Origin")).is_err()
        {
            worker::console_warn!("CORS headers not set on {path}");
        }
    }
    Ok(resp)
}

/// `req` as `worker`'s [`Request`], its `cf` property (the edge's request metadata, which
/// nothing in Systole reads) shadowed by an own `undefined` first: [`Request`]'s conversion
/// reads it, and the runtime builds that object anew on every read, which cost a request
/// about 0.09 ms of CPU in local workerd (`cargo xtask bench --profile`,
/// docs/benchmarks.md).
fn with_worker_request(req: web_sys::Request) -> Request {
    // `{}` as the descriptor: a data property whose value is `undefined`. Should the
    // runtime refuse, `cf` is read as before.
    let _ = js_sys::Object::define_property(&req, &"cf".into(), &js_sys::Object::new());
    Request::from(req)
}

/// A built response for the runtime; 503 problem+json when it could not be built.
fn built(resp: Result<Response>) -> Result<web_sys::Response> {
    resp.or_else(|e| http::unavailable("storage", &e)).map(web_sys::Response::from)
}

/// 200 with an empty body; CORS headers only for an allowed origin (the seed answers every
/// `OPTIONS` so, on any path).
fn preflight(allowed: Option<&str>) -> Result<Response> {
    let resp = Response::empty()?;
    if let Some(origin) = allowed {
        let headers = resp.headers();
        headers.set("Access-Control-Allow-Origin", origin)?;
        headers.set("Vary", "Origin")?;
        headers.set("Access-Control-Allow-Methods", seed::PREFLIGHT_METHODS)?;
        headers.set("Access-Control-Allow-Headers", seed::PREFLIGHT_HEADERS)?;
    }
    Ok(resp)
}

/// The label of a request's invocation in the subrequest budgets (`budget`): its method
/// and its route's pattern (`POST /api/v1/heartbeat`, `GET /services/*`; `HEAD` counts as
/// `GET`), or `unrouted`.
#[cfg(feature = "bench")]
fn label(method: &str, route: Option<&Route>) -> String {
    let method = if method == "HEAD" { "GET" } else { method };
    match route {
        // Without `format!`, whose machinery cost every request about 10 µs in this build.
        Some(route) => [method, " ", route.pattern.0].concat(),
        None => "unrouted".to_owned(),
    }
}

/// The route a request takes: the first whose pattern matches `path`, whose methods include
/// `method` and whose access gate is open.
fn find(path: &str, method: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| {
        r.pattern.matches(path).is_some() && r.access.open() && (r.methods.contains(&method) || r.methods == ANY)
    })
}

/// Calls the handler of `route` (a [`Handler::Request`] with `worker`'s `Request` and the
/// caller its [`Access`] identifies), or answers 405 or 404 when there is none.
async fn dispatch(req: web_sys::Request, env: &Env, path: &str, method: &str, route: Option<&'static Route>) -> Raw {
    let Some(r) = route else {
        return match allowed(path) {
            Some(allow) => Err(Problem::method_not_allowed(method, &allow).into()),
            None => Err(Problem::not_found(format!("no route for {path}")).into()),
        };
    };
    let params = r.pattern.matches(path).unwrap_or_default();
    let handler = match r.handler {
        Handler::Runtime(handler) => return handler(req, env, Call { path, params, caller: None }).await,
        Handler::Request(handler) => handler,
    };
    let req = with_worker_request(req);
    let caller = match r.access {
        Access::User => Some(access::caller(&req, env).await?),
        Access::Admin => Some(access::admin(&req, env).await?),
        Access::Reader => match access::caller(&req, env).await {
            Ok(c) => Some(c),
            Err(ApiError::Problem(_)) => return pages::sign_in(401, None).map(web_sys::Response::from),
            Err(e) => return Err(e),
        },
        Access::Anyone | Access::StatusPage | Access::Bench => None,
    };
    handler(req, env, Call { path, params, caller }).await
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
            "/api/status",
            "/api/uptime",
            "/api/services",
            "/api/logs",
            "/api/alerts/recent",
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
            "/api/test-notification",
            "/logout",
        ] {
            assert_eq!(allowed(path).as_deref(), Some("POST"), "{path}");
        }
        assert_eq!(allowed("/login").as_deref(), Some("GET, HEAD, POST"));
        assert_eq!(allowed("/api/v1/services").as_deref(), Some("GET, HEAD, POST"));
        assert_eq!(allowed("/api/v1/groups").as_deref(), Some("GET, HEAD, POST"));
        // Pattern and gated routes, and unknown paths, answer 404 for other methods.
        for path in [
            "/api/internal/stats",
            "/api/internal/hub",
            "/api/internal/budgets",
            "/status/live",
            "/services/web",
            "/assets/app.js",
        ] {
            assert_eq!(allowed(path), None, "{path}");
        }
        for path in ["/api/nope", "/api/v1/status/", "/logins", ""] {
            assert_eq!(allowed(path), None, "{path}");
        }
    }

    #[test]
    fn the_cloudflaremon_paths_are_switched_and_the_read_apis_answer_cors() {
        let row = |path: &str| ROUTES.iter().find(|r| r.pattern.0 == path).unwrap();
        let gates = [
            ("/api/heartbeat", Endpoint::Heartbeat, false),
            ("/api/status", Endpoint::Status, true),
            ("/api/uptime", Endpoint::Uptime, true),
            ("/api/services", Endpoint::Services, true),
            ("/api/alert", Endpoint::Alert, false),
            ("/api/alerts/recent", Endpoint::AlertHistory, true),
            ("/api/test-notification", Endpoint::TestNotification, false),
        ];
        for (path, gate, cors) in gates {
            assert_eq!((row(path).gate, row(path).cors), (Some(gate), cors), "{path}");
        }
        assert_eq!((row("/api/logs").gate, row("/api/logs").cors), (None, true), "the seed has no switch for it");
        assert_eq!(row("/api/test-notification").access, Access::Admin, "anyone in an open deployment");
        // Every GET under /api/v1 but the live socket reads JSON and answers CORS.
        for r in ROUTES.iter().filter(|r| r.pattern.0.starts_with("/api/v1/") && r.methods == GET) {
            assert_eq!(r.cors, r.pattern.0 != "/api/v1/live", "{}", r.pattern.0);
        }
        assert!(ROUTES.iter().filter(|r| r.cors).all(|r| r.methods == GET), "only reads");
        assert!(ROUTES.iter().filter(|r| r.gate.is_some()).all(|r| !r.pattern.0.starts_with("/api/v1")));
    }

    #[test]
    fn sign_in_and_alert_routes_are_limited_per_ip_before_their_handler() {
        let limited: Vec<_> = ROUTES.iter().filter_map(|r| per_ip(r).map(|(l, _)| (r.pattern.0, l.binding))).collect();
        assert_eq!(
            limited,
            [("/api/v1/alerts", "ALERT_LIMITER"), ("/api/alert", "ALERT_LIMITER"), ("/login", "SIGN_IN_LIMITER"),]
        );
    }

    /// `wrangler.toml` declares each per-IP limit's binding with the documented limit and period.
    #[test]
    fn wrangler_toml_declares_every_per_ip_limit() {
        let toml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../wrangler.toml")).unwrap();
        let blocks: Vec<&str> = toml.split("[[ratelimits]]").skip(1).collect();
        assert_eq!(blocks.len(), limit::PER_IP.len(), "one [[ratelimits]] per limit");
        for l in limit::PER_IP {
            let block = blocks.iter().find(|b| b.contains(&format!("name = \"{}\"", l.binding))).unwrap();
            let simple = format!("simple = {{ limit = {}, period = {} }}", l.limit, l.period_secs);
            assert!(block.contains(&simple), "{}: expected `{simple}` in {block}", l.binding);
        }
    }

    #[test]
    fn the_ping_urls_take_any_method_and_announce_none() {
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "QUERY"] {
            let hc = find("/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278/fail", method).unwrap();
            assert_eq!((hc.pattern.0, hc.access), ("/ping/*", Access::Anyone), "{method}");
            let kuma = find("/api/push/token-0123456789abcdef", method).unwrap();
            assert_eq!((kuma.pattern.0, kuma.access), ("/api/push/{token}", Access::Anyone), "{method}");
        }
        assert!(find("/api/push/", "GET").is_none());
        assert!(find("/api/push/a/b", "GET").is_none());
        assert_eq!(allowed("/ping/x"), None);
        assert_eq!(find("/api/v1/status", "DELETE").map(|r| r.pattern.0), None, "other routes keep their methods");
    }

    #[test]
    fn the_heartbeat_rows_first_match_no_other_rows_paths() {
        let sample = |p: &str| {
            p.split('/').map(|s| if s.starts_with('{') || s == "*" { "x" } else { s }).collect::<Vec<_>>().join("/")
        };
        for hot in &ROUTES[..5] {
            let path = sample(hot.pattern.0);
            let others: Vec<_> =
                ROUTES.iter().filter(|r| r.pattern != hot.pattern && r.pattern.matches(&path).is_some()).collect();
            assert!(
                others.is_empty(),
                "{path} also matches {:?}",
                others.iter().map(|r| r.pattern.0).collect::<Vec<_>>()
            );
            for other in ROUTES.iter().filter(|r| r.pattern != hot.pattern) {
                let theirs = sample(other.pattern.0);
                assert!(hot.pattern.matches(&theirs).is_none(), "{} takes {theirs}", hot.pattern.0);
            }
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

    #[test]
    fn heartbeat_centrals_paths_allow_its_methods() {
        assert_eq!(allowed("/health").as_deref(), Some("GET, HEAD"));
        assert_eq!(allowed("/api/applications").as_deref(), Some("GET, HEAD, POST"));
        // Pattern routes answer 404 for other methods; the heartbeat takes any.
        assert_eq!(allowed("/api/applications/1"), None);
        assert_eq!(allowed("/heartbeat/0f8fad5b-d9cb-469f-a165-70867728950e"), None);
    }
}
