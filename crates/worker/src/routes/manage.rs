//! The management API (`/api/v1`): managed services' writes, their change log, and managed
//! groups; see `docs/api.md#management`. Every write is authorized by
//! [`managed::auth::admin`] (the `MANAGEMENT_API_KEY` secret or an admin user) and carried out
//! by [`crate::managed`]. Bodies are JSON of at most 16 KiB (413 beyond); errors are
//! problem+json (400 naming the field and listing every problem in `errors`, 403, 404, 409
//! for a duplicate id or a declared service, 503).

use serde_json::{json, Value};
use systole_core::api::Problem;
use systole_core::managed::{ManagedGroup, ServiceSpec, MAX_BODY_BYTES};
use worker::{Env, Request};

use super::query_pairs;
use crate::http::{self, OrUnavailable, Reply, HISTORY_DB};
use crate::managed::{self, auth};
use crate::router::Call;
use crate::{catalog, d1, deployment};

fn id<'a>(call: &Call<'a>) -> &'a str {
    call.params.get("id").unwrap_or_default()
}

/// `POST /api/v1/services`: creates a managed service from a [`ServiceSpec`] body →
/// 201 `{"service": Entry, "key": "<shown once>"}` with `Location`. Errors: 400, 403, 409,
/// 413, 503.
pub async fn create(mut req: Request, env: &Env, _call: Call<'_>) -> Reply {
    let actor = auth::admin(&req, env, true).await?;
    let spec = ServiceSpec::parse(&http::body(&mut req, MAX_BODY_BYTES).await?, None)?;
    let id = spec.id().as_str().to_owned();
    let created = managed::create(env, spec, actor).await?;
    let mut resp = http::json(201, &created)?;
    resp.headers_mut().set("Location", &format!("/api/v1/services/{id}"))?;
    Ok(resp)
}

/// `PUT /api/v1/services/{id}`: creates (201, with `key`) or replaces (200, the key stays)
/// the managed service. Errors: 400, 403, 409 (declared), 413, 503.
pub async fn put(mut req: Request, env: &Env, call: Call<'_>) -> Reply {
    let actor = auth::admin(&req, env, true).await?;
    let spec = ServiceSpec::parse(&http::body(&mut req, MAX_BODY_BYTES).await?, Some(id(&call)))?;
    let (status, answer) = managed::upsert(env, spec, actor).await?;
    Ok(http::json(status, &answer)?)
}

/// `GET /api/v1/services/{id}`: `{"service": Entry, "reliability": {"label", "uptimePercent",
/// "incidents", "windowDays"}}` for a declared or managed service the caller sees (the label
/// over its last 30 days: `systole_core::telemetry::Reliability`). Errors: 401, 404, 503.
pub async fn get(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let caller = auth::reader(&req, env).await?;
    let id = id(&call);
    let c = catalog::config(env).await?;
    let visible = c.service(id).is_some_and(|s| caller.scope().sees(&c, s));
    if !visible {
        return Err(Problem::unknown_service(id).into());
    }
    let service = managed::get(env, id).await?;
    let db = env.d1(deployment::DB_BINDING)?;
    let reliability = super::telemetry::reliability(&db, &c, id, deployment::now()).await.or_unavailable(HISTORY_DB)?;
    let reliability = super::telemetry::reliability_json(reliability);
    Ok(http::json(200, &json!({ "service": service, "reliability": reliability }))?)
}

/// `PATCH /api/v1/services/{id}`: an RFC 7396 JSON merge patch of the spec (`null` removes a
/// field) → 200 `{"service": Entry}`. Errors: 400, 403, 404, 409 (declared), 413, 503.
pub async fn patch(mut req: Request, env: &Env, call: Call<'_>) -> Reply {
    let actor = auth::admin(&req, env, true).await?;
    let body = http::body(&mut req, MAX_BODY_BYTES).await?;
    let patch: Value =
        serde_json::from_slice(&body).map_err(|e| Problem::invalid_json(e.line(), e.column(), &e.to_string()))?;
    Ok(http::json(200, &managed::update(env, id(&call), patch, actor).await?)?)
}

/// `DELETE /api/v1/services/{id}?purge=true`: deletes the managed service → 200
/// `{"service": Entry}` (as it was). Errors: 400 (`purge` not `true`/`false`), 403, 404, 409
/// (declared), 503.
pub async fn delete(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let actor = auth::admin(&req, env, true).await?;
    let purge = match query_pairs(&req).iter().find(|(k, _)| k == "purge").map(|(_, v)| v.as_str()) {
        None | Some("false" | "0") => false,
        Some("true" | "1" | "") => true,
        Some(_) => return Err(Problem::invalid_field("purge", "must be true or false").into()),
    };
    Ok(http::json(200, &managed::delete(env, id(&call), purge, actor).await?)?)
}

/// `POST /api/v1/services/{id}/pause` (idempotent) → 200 `{"service": Entry}`. Errors: 403,
/// 404, 409 (declared), 503.
pub async fn pause(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let actor = auth::admin(&req, env, true).await?;
    Ok(http::json(200, &managed::pause(env, id(&call), actor).await?)?)
}

/// `POST /api/v1/services/{id}/resume` → 200 `{"service": Entry}`; the service waits in
/// `unknown`. Errors: 403, 404, 409 (not paused, or declared), 503.
pub async fn resume(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let actor = auth::admin(&req, env, true).await?;
    Ok(http::json(200, &managed::resume(env, id(&call), actor).await?)?)
}

/// `POST /api/v1/services/{id}/keys`: rotates the key → 200 `{"service", "key",
/// "oldKeyValidUntil"}` (the old key works until then; 24 h by default). Errors: 403, 404,
/// 409 (declared), 503.
pub async fn rotate(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let actor = auth::admin(&req, env, true).await?;
    Ok(http::json(200, &managed::rotate_key(env, id(&call), actor).await?)?)
}

/// `GET /api/v1/services/{id}/changes?limit=&before=` → 200 `{"serviceId", "changes":
/// [Change], "nextBefore"?: ms}`, newest first (`limit` default 50, at most 500; `before`:
/// the previous page's `nextBefore`). The log outlives a deleted service unless purged.
/// Errors: 400, 401, 404 (a service the caller may not see), 503.
pub async fn changes(req: Request, env: &Env, call: Call<'_>) -> Reply {
    let caller = auth::reader(&req, env).await?;
    let id = id(&call);
    let c = catalog::config(env).await?;
    if c.service(id).is_some_and(|s| !caller.scope().sees(&c, s)) {
        return Err(Problem::unknown_service(id).into());
    }
    let pairs = query_pairs(&req);
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let limit = match get("limit") {
        None => 50,
        Some(v) => v.parse::<u32>().ok().filter(|n| (1..=500).contains(n)).ok_or_else(|| {
            let mut p = Problem::invalid_field("limit", "must be an integer from 1 to 500");
            p.limit = Some(500);
            p
        })?,
    };
    let before = match get("before") {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| Problem::invalid_field("before", "must be epoch milliseconds"))?),
    };
    let changes = managed::changes(env, id, before, limit + 1).await?;
    let more = changes.len() > limit as usize;
    let shown: Vec<_> = changes.into_iter().take(limit as usize).collect();
    let mut answer = json!({ "serviceId": id, "changes": shown });
    if more {
        answer["nextBefore"] = shown.last().map(|c| c.at.as_millis()).into();
    }
    Ok(http::json(200, &answer)?)
}

/// `GET /api/v1/groups` → 200 `{"groups": [{"id", "name", "public", "kind", "defaults"?}]}`:
/// declared groups (`kind: "declared"`) then managed ones, those the caller sees. Errors:
/// 401, 503.
pub async fn groups(req: Request, env: &Env, _call: Call<'_>) -> Reply {
    let caller = auth::reader(&req, env).await?;
    let c = deployment::config();
    let scope = caller.scope();
    let mut groups: Vec<Value> = c
        .groups
        .iter()
        .filter(|g| scope.sees_group(c, Some(&g.id)))
        .map(|g| json!({ "id": g.id, "name": g.name, "public": g.public, "kind": "declared" }))
        .collect();
    let db = env.d1(deployment::DB_BINDING).or_unavailable(HISTORY_DB)?;
    for g in d1::registry::groups(&db).await.or_unavailable(HISTORY_DB)? {
        if matches!(scope, systole_core::access::Scope::All)
            || matches!(scope, systole_core::access::Scope::Groups(gs) if gs.contains(&g.id))
        {
            groups.push(
                json!({ "id": g.id, "name": g.name, "public": g.public, "kind": "managed", "defaults": g.defaults }),
            );
        }
    }
    Ok(http::json(200, &json!({ "groups": groups }))?)
}

/// `POST /api/v1/groups`: creates a managed group (`{"id", "name"?, "public"?, …defaults as a
/// services.json group}`) → 201 `{"group"}`. Errors: 400, 403, 409 (exists or declared),
/// 413, 503.
pub async fn create_group(mut req: Request, env: &Env, _call: Call<'_>) -> Reply {
    auth::admin(&req, env, true).await?;
    let body = http::body(&mut req, MAX_BODY_BYTES).await?;
    let group = ManagedGroup::parse(&body, None, None, deployment::config())?;
    if deployment::config().groups.iter().any(|g| g.id == group.id) {
        return Err(declared_group(&group.id).into());
    }
    let db = env.d1(deployment::DB_BINDING).or_unavailable(HISTORY_DB)?;
    if d1::registry::group(&db, &group.id).await.or_unavailable(HISTORY_DB)?.is_some() {
        return Err(Problem::conflict(format!("group {:?} already exists", group.id)).into());
    }
    d1::registry::write_group(&db, &group, deployment::now()).await.or_unavailable(HISTORY_DB)?;
    catalog::invalidate();
    Ok(http::json(201, &json!({ "group": group }))?)
}

/// `PATCH /api/v1/groups/{id}`: a JSON merge patch of a managed group → 200 `{"group"}`. Its
/// services take the new defaults at their next change. Errors: 400, 403, 404, 409
/// (declared), 413, 503.
pub async fn patch_group(mut req: Request, env: &Env, call: Call<'_>) -> Reply {
    auth::admin(&req, env, true).await?;
    let id = id(&call);
    if deployment::config().groups.iter().any(|g| g.id == id) {
        return Err(declared_group(id).into());
    }
    let body = http::body(&mut req, MAX_BODY_BYTES).await?;
    let db = env.d1(deployment::DB_BINDING).or_unavailable(HISTORY_DB)?;
    let existing = d1::registry::group(&db, id)
        .await
        .or_unavailable(HISTORY_DB)?
        .ok_or_else(|| Problem::not_found(format!("no managed group {id:?}")))?;
    let group = ManagedGroup::parse(&body, Some(id), Some(&existing), deployment::config())?;
    d1::registry::write_group(&db, &group, deployment::now()).await.or_unavailable(HISTORY_DB)?;
    catalog::invalidate();
    Ok(http::json(200, &json!({ "group": group }))?)
}

/// `DELETE /api/v1/groups/{id}` → 200 `{"deleted": id}`. Errors: 403, 404, 409 (declared, or
/// managed services still in it), 503.
pub async fn delete_group(req: Request, env: &Env, call: Call<'_>) -> Reply {
    auth::admin(&req, env, true).await?;
    let id = id(&call);
    if deployment::config().groups.iter().any(|g| g.id == id) {
        return Err(declared_group(id).into());
    }
    let db = env.d1(deployment::DB_BINDING).or_unavailable(HISTORY_DB)?;
    let members = managed::count_in_group(env, id).await?;
    if members > 0 {
        return Err(
            Problem::conflict(format!("group {id:?} still has {members} services; move or delete them first")).into()
        );
    }
    if !d1::registry::delete_group(&db, id).await.or_unavailable(HISTORY_DB)? {
        return Err(Problem::not_found(format!("no managed group {id:?}")).into());
    }
    catalog::invalidate();
    Ok(http::json(200, &json!({ "deleted": id }))?)
}

/// 409 for a write to a group declared in `config/services.json`.
fn declared_group(id: &str) -> Problem {
    Problem::conflict(format!(
        "group {id:?} is declared in config/services.json and read-only through the API; change it there and redeploy"
    ))
}
