//! Building responses: JSON bodies and `application/problem+json` errors.

use serde::Serialize;
use systole_core::api::Problem;
use worker::{Headers, Response, Result};

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    let text = serde_json::to_string(body)?;
    with_type(status, text, "application/json")
}

/// A problem+json response, with `Allow` / `Retry-After` when the problem carries them.
pub fn problem(p: &Problem) -> Result<Response> {
    let mut resp = with_type(p.status, p.to_json(), "application/problem+json")?;
    if let Some(allow) = p.allow {
        resp.headers_mut().set("Allow", allow)?;
    }
    if let Some(secs) = p.retry_after {
        resp.headers_mut().set("Retry-After", &secs.to_string())?;
    }
    Ok(resp)
}

/// A text response with an explicit content type; never cached, never sniffed.
pub fn with_type(status: u16, body: String, content_type: &str) -> Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", content_type)?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    Ok(Response::ok(body)?.with_status(status).with_headers(headers))
}

/// 503 for a dependency that failed (D1, a Durable Object): logged, never a 500.
pub fn unavailable(what: &str, err: &worker::Error) -> Result<Response> {
    worker::console_error!("{what} failed: {err}");
    problem(&Problem::unavailable(format!("{what} is temporarily unavailable; retry shortly"), 2))
}
