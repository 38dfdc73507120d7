//! `GET /api/v1/services?limit=&cursor=&serviceId=&group=`: the resolved configuration (never
//! keys), one page of services at a time.

use serde_json::json;
use systole_core::access::{Role, Scope};
use systole_core::api::query::ServicesQuery;
use systole_core::api::services::ServiceEntry;
use systole_core::api::{status, Problem};
use systole_core::badge::{Format, Target};
use systole_core::config::ServiceConfig;
use worker::{Env, Request};

use crate::access::Caller;
use crate::deployment::{self, now};
use crate::http::{self, ApiError, Reply};
use crate::router::Call;
use crate::routes::query_pairs;

/// JSON: `{"services": [ServiceEntry], "groups": [GroupConfig], "nextCursor"?: string}` with
/// thresholds in seconds, a scheduled service's schedule, its words and next run, and each
/// service and group with its `badgeUrl` (when the deployment has a server secret;
/// `docs/metrics.md`); see `docs/api.md`. Only what the caller may see: the services in
/// config order (only those of `group`, and of `serviceId` if given), paged as
/// `/api/v1/status` (`limit`, default 100, at most 500, after `cursor`), and the groups of
/// that page's services. `nextCursor` is present only when more services follow, so a
/// fleet that fits one page gets the same answer as before paging. Errors: 400 (`limit`,
/// `cursor`, `serviceId`, `group`), 401, 404 naming `group` when no group of that id is
/// configured and visible.
///
/// For a signed-in admin, each service also carries its ping URLs, which are credentials
/// (whoever holds one can ping the service): `pingUrl` (`<origin>/ping/<ping id>`,
/// healthchecks.io's form) and `pushUrl` (`<origin>/api/push/<push token>`, Uptime Kuma's),
/// each absent when the service has no such credential (it needs a key and has none). Viewers
/// and open deployments (no users: the API is anyone's to read) never get them.
pub async fn get(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let caller = call.caller()?;
    let query = ServicesQuery::parse(&query_pairs(&req))?;
    let c = deployment::config();
    let scope = caller.scope();
    let mut listed = status::listed(c, scope, &query.list.service_ids);
    if let Some(g) = &query.group {
        let seen = match scope {
            Scope::All => true,
            Scope::Groups(groups) => groups.iter().any(|x| x == g),
            Scope::Public => false,
        };
        if !seen || !c.groups.iter().any(|x| x.id == *g) {
            let mut p = Problem::not_found(format!("no group {g:?} is configured"));
            p.field = Some("group".into());
            return Err(p.into());
        }
        listed.retain(|s| s.group.as_deref() == Some(g.as_str()));
    }
    let list = &query.list;
    let (services, next) = status::page(&listed, |s| s.id.as_str(), list.cursor.as_deref(), list.limit as usize)?;
    let groups: Vec<_> =
        c.groups.iter().filter(|g| services.iter().any(|s| s.group.as_deref() == Some(g.id.as_str()))).collect();
    let services = with_urls(&req, env, caller, services)?;
    // Each group with its badge URL, as its services: whoever sees it may embed its badge
    // (the key opens only that badge). Absolute when `PUBLIC_URL` is set.
    let badges = deployment::badges(env);
    let base = deployment::public_url(env).unwrap_or_default();
    let groups: Vec<_> = groups
        .into_iter()
        .map(|g| {
            let mut value = json!(g);
            if let Some(path) = badges.path(Target::Group(g), Format::Svg) {
                value["badgeUrl"] = format!("{base}{path}").into();
            }
            value
        })
        .collect();
    let mut answer = json!({ "services": services, "groups": groups });
    if let Some(next) = next {
        answer["nextCursor"] = next.into();
    }
    Ok(http::json(200, &answer)?)
}

/// `services` as listed, each with its `badgeUrl` (absolute when `PUBLIC_URL` is set), and
/// with `pingUrl` and `pushUrl` for an admin (see [`get`]; their origin is the request's).
fn with_urls<'a>(
    req: &Request,
    env: &Env,
    caller: Caller,
    services: &[&'a ServiceConfig],
) -> Result<Vec<ServiceEntry<'a>>, ApiError> {
    let admin = matches!(caller, Caller::User(u) if u.role == Role::Admin);
    let origin = req.url()?.origin().ascii_serialization();
    let keys = deployment::keys(env);
    let badges = deployment::badges(env);
    let base = deployment::public_url(env).unwrap_or_default();
    let now = now();
    Ok(services
        .iter()
        .map(|s| {
            let mut entry = ServiceEntry::new(s, now);
            entry.badge_url = badges.path(Target::Service(s), Format::Svg).map(|path| format!("{base}{path}"));
            if admin {
                entry.ping_url = keys.ping_id(s).map(|id| format!("{origin}/ping/{id}"));
                entry.push_url = keys.push_token(s).map(|token| format!("{origin}/api/push/{token}"));
            }
            entry
        })
        .collect())
}
