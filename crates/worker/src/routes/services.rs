//! `GET /api/services`: the resolved configuration (never keys).

use serde_json::json;
use worker::{Env, Request, Response, Result};

use crate::{access, deployment, http};

/// JSON: `{"services": [ServiceConfig], "groups": [GroupConfig]}` with thresholds in
/// seconds; see `docs/api.md`. Only what the caller may see. Errors: 401.
pub fn get(req: &Request, env: &Env) -> Result<Response> {
    let caller = match access::caller(req, env) {
        Ok(c) => c,
        Err(p) => return http::problem(&p),
    };
    let c = deployment::config();
    let services: Vec<_> = c.services.iter().filter(|s| access::sees(caller, s.id.as_str())).collect();
    let groups: Vec<_> =
        c.groups.iter().filter(|g| services.iter().any(|s| s.group.as_deref() == Some(g.id.as_str()))).collect();
    http::json(200, &json!({ "services": services, "groups": groups }))
}
