//! The Systole Worker: a thin shell around `systole-core`.
//!
//! - [`router`]: the stateless edge (`#[event(fetch)]`): limits, parsing, routing.
//! - [`monitor`]: the ServiceMonitor Durable Object, one per service.
//! - [`notify`]: sending notifications, `alert_history`, and the AlertDesk Durable Object.
//! - [`access`]: who is calling (users and roles).
//! - [`d1`]: every D1 query of the monitoring history.
//! - [`housekeeping`]: the cron trigger — retention pruning and the alarm watchdog.

mod access;
mod d1;
mod deployment;
mod housekeeping;
mod http;
mod monitor;
mod notify;
mod router;
mod routes;
mod row;

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

pub use monitor::ServiceMonitor;
pub use notify::desk::AlertDesk;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    router::handle(req, &env).await
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    housekeeping::run(&env).await;
}
