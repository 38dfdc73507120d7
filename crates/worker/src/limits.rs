//! Per-client-IP rate limits at the edge ([`systole_core::limit::PerIp`]), counted by the
//! Workers Rate Limiting bindings `wrangler.toml` declares (`[[ratelimits]]`; `wrangler dev`
//! runs them locally too). The client is `CF-Connecting-IP`, which Cloudflare sets on every
//! request (a client cannot choose it in production); requests without it share one count.
//!
//! A limiter that is missing or fails lets the request through (logged): a limit protects
//! capacity, and a heartbeat refused because of the limiter itself would be a false alarm.

use systole_core::api::Problem;
use systole_core::limit::PerIp;
use worker::worker_sys::web_sys;
use worker::Env;

/// Counts the request `req` (as the runtime gives it) against `limit` for its client IP.
///
/// # Errors
/// 429 problem+json ([`Problem::too_many_from_ip`], `Retry-After: period`) past the limit;
/// `what` names what is counted in its detail.
pub async fn check(req: &web_sys::Request, env: &Env, limit: PerIp, what: &str) -> Result<(), Problem> {
    let ip = req.headers().get("CF-Connecting-IP").ok().flatten().unwrap_or_default();
    let limiter = match env.rate_limiter(limit.binding) {
        Ok(l) => l,
        Err(e) => {
            worker::console_warn!("rate limiter {} missing: {e}", limit.binding);
            return Ok(());
        }
    };
    match limiter.limit(ip).await {
        Ok(outcome) if !outcome.success => Err(Problem::too_many_from_ip(what, limit)),
        Ok(_) => Ok(()),
        Err(e) => {
            worker::console_warn!("rate limiter {} failed: {e}", limit.binding);
            Ok(())
        }
    }
}
