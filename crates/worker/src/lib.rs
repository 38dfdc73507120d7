//! The Systole Worker: a thin shell around `systole-core`.
//!
//! - [`router`]: the stateless edge (`#[event(fetch)]`): one route table (pattern, methods,
//!   who may call, handler) from which 404, 405 and `Allow` follow.
//! - [`routes`]: one module per JSON endpoint; [`http`]: responses and [`http::ApiError`],
//!   converted to problem+json once, by the router.
//! - [`monitor`]: the ServiceMonitor Durable Object, one per service.
//! - [`notify`]: sending notifications, `alert_history`, and the AlertDesk Durable Object.
//! - [`live`]: the NotificationHub Durable Object and publishing live updates to it.
//! - [`pages`]: the dashboard, service, status and sign-in pages and their assets.
//! - [`access`]: who is calling (sessions, user tokens, roles, scopes).
//! - [`d1`]: every D1 query, one row struct per table.
//! - [`managed`]: managed services (created at run time) and the management API's auth;
//!   [`catalog`]: the declared config merged with them, what the read APIs list.
//! - [`deployment`]: the embedded config folder (parsed by the loader `build.rs` validated it
//!   with) and the secrets.
//! - [`housekeeping`]: the cron trigger — retention pruning and the paged alarm watchdog.
//! - [`budget`]: subrequests per invocation against the free plan's 50 (benchmark build).
//! - [`limits`]: per-client-IP rate limits at the edge (sign-in, heartbeats, alerts).
//! - [`stub`]: Durable Object requests on the heartbeat's paths, with the fewest calls into
//!   JavaScript; [`promise`]: awaiting a promise there without new closures.

#![warn(missing_docs)]

mod access;
mod budget;
mod catalog;
mod d1;
mod dependents;
mod deployment;
mod durable;
mod events;
mod housekeeping;
mod http;
mod limits;
mod live;
mod managed;
mod monitor;
#[allow(missing_docs)] // The AlertDesk's glue (notify::desk).
mod notify;
mod pages;
mod promise;
mod provision;
mod router;
mod routes;
mod row;
mod stub;

use worker::{event, Context, Env, Result, ScheduleContext, ScheduledEvent};

pub use live::hub::NotificationHub;
pub use monitor::ServiceMonitor;
pub use notify::desk::AlertDesk;

#[event(fetch)]
async fn fetch(
    req: worker::worker_sys::web_sys::Request,
    env: Env,
    _ctx: Context,
) -> Result<worker::worker_sys::web_sys::Response> {
    router::handle(req, &env).await
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    budget::invocation("cron", housekeeping::run(&env)).await;
}
