//! `GET /api/services`: the resolved configuration (never keys).

use serde_json::json;
use worker::{Response, Result};

use crate::{deployment, http};

/// JSON: `{"services": [ServiceConfig], "groups": [GroupConfig]}` with thresholds in
/// seconds; see `docs/api.md`.
pub fn get() -> Result<Response> {
    let c = deployment::config();
    http::json(200, &json!({ "services": c.services, "groups": c.groups }))
}
