//! `GET /api/v1/services?limit=&cursor=&serviceId=&group=`: the resolved configuration (never
//! keys), one page of services at a time.

use serde_json::json;
use systole_core::access::Scope;
use systole_core::api::query::ServicesQuery;
use systole_core::api::{status, Problem};
use systole_core::badge::{Format, Target};
use worker::{Env, Request};

use crate::deployment;
use crate::http::{self, Reply};
use crate::router::Call;
use crate::routes::query_pairs;

/// JSON: `{"services": [ServiceConfig], "groups": [GroupConfig], "nextCursor"?: string}` with
/// thresholds in seconds, each service and group with its `badgeUrl` (when the deployment has
/// a server secret; `docs/metrics.md`); see `docs/api.md`. Only what the caller may see: the services in
/// config order (only those of `group`, and of `serviceId` if given), paged as
/// `/api/v1/status` (`limit`, default 100, at most 500, after `cursor`), and the groups of
/// that page's services. `nextCursor` is present only when more services follow, so a
/// fleet that fits one page gets the same answer as before paging. Errors: 400 (`limit`,
/// `cursor`, `serviceId`, `group`), 401, 404 naming `group` when no group of that id is
/// configured and visible.
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
    // Each service and group with its badge URL: whoever sees it may embed its badge (the
    // key opens only that badge). Absolute when `PUBLIC_URL` is set.
    let badges = deployment::badges(env);
    let base = deployment::public_url(env).unwrap_or_default();
    let with_badge = |value: serde_json::Value, target: Target<'_>| {
        let mut value = value;
        if let Some(path) = badges.path(target, Format::Svg) {
            value["badgeUrl"] = format!("{base}{path}").into();
        }
        value
    };
    let services: Vec<_> = services.iter().map(|s| with_badge(json!(s), Target::Service(s))).collect();
    let groups: Vec<_> = groups.into_iter().map(|g| with_badge(json!(g), Target::Group(g))).collect();
    let mut answer = json!({ "services": services, "groups": groups });
    if let Some(next) = next {
        answer["nextCursor"] = next.into();
    }
    Ok(http::json(200, &answer)?)
}
