//! `GET /badge/{badgeKey}/{id}.svg|.json`: a service's or group's status badge
//! (`systole_core::badge`).

use systole_core::api::Problem;
use systole_core::badge::{self, CACHE_CONTROL};
use worker::{Env, Request};

use crate::d1;
use crate::deployment::{self, DB_BINDING};
use crate::http::{self, OrUnavailable, Reply, HISTORY_DB};
use crate::router::Call;

/// Resolves the key and file (a wrong key, an unknown id and another extension all answer
/// the same 404), reads the stored states of the service or the group's services (one D1
/// query) and answers the badge with `Cache-Control: public, max-age=60, s-maxage=60`.
/// Errors: 404, 503 D1.
pub async fn get(_req: Request, env: &Env, call: Call<'_>) -> Reply {
    let config = crate::catalog::config(env).await?;
    let config = &*config;
    let (key, file) = (call.params.get("key").unwrap_or_default(), call.params.get("file").unwrap_or_default());
    let Some((target, format)) = deployment::badges(env).resolve(config, key, file) else {
        return Err(Problem::not_found(format!("no badge {}", call.path)).into());
    };
    let db = env.d1(DB_BINDING)?;
    let rows = d1::states_of(&db, &target.service_ids()).await.or_unavailable(HISTORY_DB)?;
    let states: Vec<_> = rows.iter().filter_map(d1::StateRow::stored).collect();
    let status = badge::status(config, target, &states);
    let mut resp = http::with_type(200, badge::render(target, status, format), format.content_type())?;
    resp.headers_mut().set("Cache-Control", CACHE_CONTROL)?;
    Ok(resp)
}
