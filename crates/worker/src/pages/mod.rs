//! The HTML side of the Worker: the dashboard (`/`), service pages (`/services/{id}`), the
//! public status page (`/status`), sign-in (`/login`, `/logout`) and the assets they load
//! (`/assets/…`). Templates and view models live in `systole-web`; this module gathers the
//! data and sends the pages with a strict Content-Security-Policy.

pub mod dashboard;
pub mod service;
pub mod session;
pub mod status;

use std::borrow::Cow;
use std::sync::OnceLock;

use systole_core::access::Scope;
use systole_core::api::query::PageQuery;
use systole_core::api::status::StoredState;
use systole_core::api::Problem;
use systole_core::config::Config;
use systole_core::time::Timestamp;
use systole_core::uptime::{self, ServiceUptime};
use systole_web::pages::{self, Chrome};
use systole_web::view::{self, Paging, Viewer};
use systole_web::Markup;
use worker::{D1Database, Env, Headers, Request, Response, Result};

use crate::access::Caller;
use crate::d1;
use crate::deployment::{self, now};
use crate::http::Reply;
use crate::router::Call;

/// The Content-Security-Policy of every page, built once per isolate.
fn csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        systole_web::content_security_policy(&systole_web::branding::image_origins(deployment::branding()))
    })
}

/// An HTML page with the CSP and the security headers.
pub fn html(status: u16, page: Markup) -> Reply {
    let headers = Headers::new();
    headers.set("Content-Type", "text/html; charset=utf-8")?;
    headers.set("Content-Security-Policy", csp())?;
    for (k, v) in systole_web::SECURITY_HEADERS {
        headers.set(k, v)?;
    }
    Ok(Response::ok(page.into_string())?.with_status(status).with_headers(headers))
}

/// A 303 redirect to `location`, optionally setting a cookie.
pub fn redirect(location: &str, cookie: Option<&str>) -> Reply {
    let headers = Headers::new();
    headers.set("Location", location)?;
    headers.set("Cache-Control", "no-store")?;
    if let Some(c) = cookie {
        headers.set("Set-Cookie", c)?;
    }
    Ok(Response::empty()?.with_status(303).with_headers(headers))
}

/// The viewer a page shows in its header and footer.
pub fn viewer(caller: Caller) -> Viewer {
    match caller {
        Caller::Open => Viewer::Open,
        Caller::User(u) => Viewer::User { name: u.name.clone(), admin: u.role == systole_core::access::Role::Admin },
    }
}

/// The frame of every page for `viewer` at `now`, with the deployment's branding and
/// settings; `live` is the page's WebSocket path, if it has one.
pub fn chrome<'a>(viewer: &'a Viewer, now: Timestamp, live: Option<&'static str>) -> Chrome<'a> {
    Chrome { branding: deployment::branding(), settings: &deployment::config().settings, viewer, now, live }
}

/// The sign-in page with `status` (401 for a page that needs a session).
pub fn sign_in(status: u16, error: Option<&str>) -> Reply {
    html(status, pages::login(&chrome(&Viewer::Anonymous, now(), None), error))
}

/// A page-level 404.
pub fn not_found(caller: Caller, what: &str) -> Reply {
    html(404, pages::not_found(&chrome(&viewer(caller), now(), None), what))
}

/// `GET /assets/*`: an embedded asset, the theme stylesheet generated from
/// `dashboard.json` and `settings.json` (`/assets/theme.css`), or `dashboard.json`'s
/// `customCss` (`/assets/custom.css`, a stylesheet of its own so the pages' `style-src
/// 'self'` stays); cached 5 minutes. Errors: 404 problem for an unknown asset, and for
/// `custom.css` when no `customCss` is set.
pub async fn assets(_req: Request, _env: &Env, call: Call<'_>) -> Reply {
    let path = call.path;
    let css = "text/css; charset=utf-8";
    let (content_type, body) = match path {
        "/assets/theme.css" => {
            (css, systole_web::branding::theme_css(deployment::branding(), &deployment::config().settings))
        }
        "/assets/custom.css" => match &deployment::branding().custom_css {
            Some(custom) => (css, custom.clone()),
            None => return Err(Problem::not_found("no customCss in dashboard.json").into()),
        },
        _ => {
            let a = systole_web::assets::get(path).ok_or_else(|| Problem::not_found(format!("no asset {path}")))?;
            (a.content_type, a.body.to_owned())
        }
    };
    let headers = Headers::new();
    headers.set("Content-Type", content_type)?;
    headers.set("Cache-Control", "public, max-age=300")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    Ok(Response::ok(body)?.with_headers(headers))
}

/// D1 status changes as view records (rows with a status this version does not know are
/// left out).
pub fn changes(rows: &[d1::ChangeRow]) -> Vec<systole_web::view::ChangeRecord> {
    use systole_core::monitor::Status;
    rows.iter()
        .filter_map(|r| {
            Some(systole_web::view::ChangeRecord {
                service_id: r.service_id.clone(),
                at: Timestamp::from_millis(r.changed_at),
                from: Status::parse(&r.from_status)?,
                to: Status::parse(&r.to_status)?,
                reason: r.reason.clone(),
            })
        })
        .collect()
}

/// The stored states (with last heartbeat and message) and the uptime reports over the
/// retention window of the services `ids` (one page of them): only their rows are read.
pub async fn fleet_data(
    db: &D1Database,
    config: &Config,
    ids: &[&str],
) -> Result<(Vec<StoredState>, Vec<ServiceUptime>)> {
    let now = now();
    let from = config.settings.uptime_window_start(now);
    let (states, rows) =
        futures_util::future::try_join(d1::statuses_of(db, ids), d1::daily(db, Some(ids), from, now)).await?;
    let states: Vec<StoredState> = states.iter().filter_map(d1::StateRow::stored).collect();
    let uptime = uptime::report(config, Some(ids), &rows, &states, from, now, now);
    Ok((states, uptime))
}

/// `view::listing` of `scope` in `config` (the catalog): with only declared services the
/// whole fleet's and the public status page's built once per isolate (the config is
/// embedded); a user's groups', and any with managed services, per request.
fn listing<'c>(config: &'c Config, scope: Scope<'_>) -> Cow<'c, [&'c str]> {
    static ALL: OnceLock<Vec<&'static str>> = OnceLock::new();
    static PUBLIC: OnceLock<Vec<&'static str>> = OnceLock::new();
    if config.has_managed() {
        return Cow::Owned(view::listing(config, scope));
    }
    let config: &'static Config = deployment::config();
    let cell = match scope {
        Scope::All => &ALL,
        Scope::Public => &PUBLIC,
        Scope::Groups(_) => return Cow::Owned(view::listing(config, scope)),
    };
    Cow::Borrowed(cell.get_or_init(|| view::listing(config, scope)))
}

/// Page `wanted` of the fleet `scope` sees, in the dashboard's order (`view::listing`).
/// When it all fits on one page, that page counts its own summary; otherwise D1 counts it
/// over the whole fleet (`d1::summary`) and lists the services that need attention
/// (`d1::attention`, at most a page): no request reads or renders every service.
pub async fn fleet_page(
    db: &D1Database,
    config: &Config,
    scope: Scope<'_>,
    wanted: &PageQuery,
) -> Result<view::Fleet> {
    let listing = listing(config, scope);
    let paging = Paging::new(wanted.page, wanted.limit as usize, listing.len());
    let shown = listing.get(paging.range()).unwrap_or_default();
    if paging.pages == 1 {
        let (states, uptime) = fleet_data(db, config, shown).await?;
        return Ok(view::fleet(config, scope, &states, &uptime));
    }
    let counted = crate::routes::status::counted(config, scope)?;
    let only = (scope != Scope::All).then_some(&*listing);
    let ((states, uptime), summary, attention) = futures_util::future::try_join3(
        fleet_data(db, config, shown),
        d1::summary(db, &counted),
        d1::attention(db, only, wanted.limit),
    )
    .await?;
    let attention: Vec<StoredState> = attention.iter().filter_map(d1::StateRow::stored).collect();
    Ok(view::fleet_page(config, scope, shown, &states, &uptime, summary, Some(paging), &attention))
}
