//! The Systole Worker: a thin shell around `systole-core`.
//!
//! - [`router`]: the stateless edge (`#[event(fetch)]`): limits, parsing, routing.
//! - [`monitor`]: the ServiceMonitor Durable Object, one per service.
//! - [`d1`]: every D1 query (history writes and reads).
//! - [`housekeeping`]: the cron trigger — retention pruning and the alarm watchdog.

mod d1;
mod deployment;
mod housekeeping;
mod http;
mod monitor;
mod router;
mod routes;

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

pub use monitor::ServiceMonitor;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    router::handle(req, &env).await
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    housekeeping::run(&env).await;
}
