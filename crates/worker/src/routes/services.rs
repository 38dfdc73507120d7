//! `GET /api/v1/services`: the resolved configuration (never keys).

use serde_json::json;
use worker::{Env, Request};

use crate::http::{self, Reply};
use crate::router::Call;
use crate::{access, deployment};

/// JSON: `{"services": [ServiceConfig], "groups": [GroupConfig]}` with thresholds in
/// seconds; see `docs/api.md`. Only what the caller may see. Errors: 401.
pub async fn get(_req: Request, _env: &Env, call: Call<'_>) -> Reply {
    let caller = call.caller()?;
    let c = deployment::config();
    let services: Vec<_> = c.services.iter().filter(|s| access::sees(caller, s.id.as_str())).collect();
    let groups: Vec<_> =
        c.groups.iter().filter(|g| services.iter().any(|s| s.group.as_deref() == Some(g.id.as_str()))).collect();
    Ok(http::json(200, &json!({ "services": services, "groups": groups }))?)
}
