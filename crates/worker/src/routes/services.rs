//! `GET /api/v1/services?limit=&cursor=&serviceId=&group=`: the resolved configuration (never
//! keys), one page of services at a time.

use serde_json::{json, Value};
use systole_core::access::{Role, Scope};
use systole_core::api::query::ServicesQuery;
use systole_core::api::services::ServiceEntry;
use systole_core::api::{status, Problem};
use systole_core::badge::{Format, Target};
use systole_core::config::ServiceConfig;
use worker::{Env, Request};

use crate::access::Caller;
use crate::d1;
use crate::deployment::{self, now, DB_BINDING};
use crate::http::{self, ApiError, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;
use crate::routes::query_pairs;

/// JSON: `{"services": [ServiceEntry], "groups": [GroupConfig], "nextCursor"?: string}`:
/// the declared services (config order), then the managed ones (by id, each with `kind:
/// "managed"`, `paused` and `status`; read from the D1 registry one page at a time), filtered
/// by `group`, `tag` and `status` (400 for a malformed one), with
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
pub async fn get(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    let caller = crate::managed::auth::reader(&req, env).await?;
    let pairs = query_pairs(&req);
    let query = ServicesQuery::parse(&pairs)?;
    let (tag, wanted_status) = filters(&pairs)?;
    let c = deployment::config();
    let scope = caller.scope();
    let db = env.d1(DB_BINDING).or_unavailable(HISTORY_DB)?;
    let mut listed = status::listed(c, scope, &query.list.service_ids);
    if let Some(g) = &query.group {
        let seen = match scope {
            Scope::All => true,
            Scope::Groups(groups) => groups.iter().any(|x| x == g),
            Scope::Public => false,
        };
        let managed_group = || async { d1::registry::group(&db, g).await.map(|g| g.is_some()) };
        let exists = c.groups.iter().any(|x| x.id == *g) || managed_group().await.or_unavailable(HISTORY_DB)?;
        if !seen || !exists {
            let mut p = Problem::not_found(format!("no group {g:?} is configured"));
            p.field = Some("group".into());
            return Err(p.into());
        }
        listed.retain(|s| s.group.as_deref() == Some(g.as_str()));
    }
    if let Some(t) = &tag {
        listed.retain(|s| s.tags.iter().any(|x| x == t));
    }
    if let Some(want) = &wanted_status {
        let ids: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
        let states =
            if ids.is_empty() { Vec::new() } else { d1::states_of(&db, &ids).await.or_unavailable(HISTORY_DB)? };
        listed.retain(|s| {
            let stored = states.iter().find(|r| r.service_id == s.id.as_str()).map(|r| r.status.as_str());
            stored.unwrap_or(if s.enabled { "unknown" } else { "paused" }) == want
        });
    }
    let list = &query.list;
    let limit = list.limit as usize;
    // The cursor names a declared service (declared ones are listed first) or a managed one.
    let cursor = list.cursor.as_deref();
    let in_declared = cursor.is_none_or(|cur| c.is_declared(cur));
    if let Some(cur) = cursor.filter(|_| !in_declared) {
        // As every other listing: a cursor naming no service (removed since?) is refused.
        if !d1::registry::exists(&db, cur).await.or_unavailable(HISTORY_DB)? {
            return Err(Problem::invalid_field(
                "cursor",
                format!("cursor {cur:?} names no service of this listing (removed since?); start again without cursor"),
            )
            .into());
        }
    }
    let (services, mut next) =
        if in_declared { status::page(&listed, |s| s.id.as_str(), cursor, limit)? } else { (&listed[..0], None) };
    let groups: Vec<_> =
        c.groups.iter().filter(|g| services.iter().any(|s| s.group.as_deref() == Some(g.id.as_str()))).collect();
    let services = with_urls(&req, env, caller, services)?;
    let mut services: Vec<Value> = services.into_iter().map(|e| json!(e)).collect();
    // Managed services follow the declared ones: one page read from D1 by id.
    if next.is_none() && services.len() < limit {
        let visible_groups = match scope {
            Scope::All => None,
            Scope::Groups(gs) => Some(gs.to_vec()),
            Scope::Public => Some(Vec::new()),
        };
        let q = d1::registry::ListQuery {
            group: query.group.clone(),
            tag,
            status: wanted_status,
            visible_groups,
            cursor: if in_declared { None } else { cursor.map(str::to_owned) },
            limit: (limit - services.len()) as u32,
        };
        let page = crate::managed::list(env, &q).await?;
        let admin = matches!(caller, Caller::User(u) if u.role == Role::Admin);
        let origin = req.url()?.origin().ascii_serialization();
        let wanted: Vec<&str> = list.service_ids.iter().map(|s| s.as_str()).collect();
        for (entry, status) in page.services {
            if !wanted.is_empty() && !wanted.contains(&entry.config.id.as_str()) {
                continue;
            }
            let mut v = json!(ServiceEntry::new(&entry.config, now()));
            v["kind"] = "managed".into();
            v["paused"] = entry.paused.into();
            v["status"] = status.into();
            if admin {
                if let Some(p) = &entry.ping_id {
                    v["pingUrl"] = format!("{origin}/ping/{p}").into();
                }
            }
            services.push(v);
        }
        next = page.next_cursor;
    }
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

/// The `tag` and `status` filters of `GET /api/v1/services`.
///
/// # Errors
/// 400 naming `tag` (not an id) or `status` (not a status name).
fn filters(pairs: &[(String, String)]) -> Result<(Option<String>, Option<String>), Problem> {
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let tag = get("tag");
    if let Some(t) = &tag {
        systole_core::config::ServiceId::parse(t).map_err(|reason| Problem::invalid_field("tag", reason))?;
    }
    let status = get("status");
    if let Some(s) = &status {
        if systole_core::monitor::Status::parse(s).is_none() {
            return Err(Problem::invalid_field("status", "must be one of up, late, degraded, down, paused, unknown"));
        }
    }
    Ok((tag, status))
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
