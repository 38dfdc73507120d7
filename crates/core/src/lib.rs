//! Systole's core: the pure monitoring logic, with no I/O and no clock.
//!
//! - [`access`]: users, roles and what each may see.
//! - [`config`]: `services.json`/`settings.json` → typed, validated config, and
//!   [`config::Deployment`], the one loader of the whole config folder.
//! - [`branding`]: `dashboard.json` (title, logo, colours, uptime bands).
//! - [`compat`]: other monitors' HTTP APIs as translations onto ours (cloudflaremon).
//! - [`monitor`]: the per-service state machine (`on_heartbeat`, `on_alarm`, `next_deadline`).
//! - [`maintenance`]: maintenance windows (one-off and recurring) and snoozes.
//! - [`escalation`]: escalation policies, acknowledgement of incidents and signed ack links.
//! - [`schedule`]: cron schedules in IANA time zones (a scheduled service's deadlines).
//! - [`history`]: buffered D1 rows and uptime rollups.
//! - [`record`]: a ServiceMonitor Durable Object's persisted state and its one call into core.
//! - [`desk`]: the AlertDesk Durable Object's persisted state and its one call into core.
//! - [`durable`]: what every Durable Object's call into core returns; the one alarm strategy.
//! - [`retry`]: the one backoff rule for every retry.
//! - [`budget`]: the free plan's per-invocation limits (50 subrequests, 10 ms CPU) as budgets.
//! - [`housekeeping`]: what one cron tick prunes and which ServiceMonitors its watchdog asks.
//! - [`session`]: signed dashboard session cookies.
//! - [`live`]: the live updates pushed to dashboard tabs.
//! - [`managed`]: services created at run time: their spec, stored record, keys and operations.
//! - [`keys`]: heartbeat keys as HMAC-SHA256 digests, compared in constant time.
//! - [`limit`]: rate limits: the per-IP limits of the edge and the per-service heartbeat limiter.
//! - [`api`]: request parsing, limits, response shapes and `application/problem+json` errors.
//! - [`uptime`]: uptime reports and CSV.
//! - [`protocol`]: the messages between the router and the Durable Objects.
//! - [`notify`]: notification channels, routing, message text and each channel's request as data.
//!
//! Time is always a parameter: a [`time::Timestamp`] in Unix epoch milliseconds, UTC.
#![warn(missing_docs)]

pub mod access;
pub mod api;
pub mod badge;
pub mod branding;
pub mod budget;
pub mod compat;
pub mod config;
pub mod dependency;
pub mod desk;
pub mod durable;
pub mod escalation;
pub mod history;
pub mod housekeeping;
pub mod keys;
pub mod limit;
pub mod live;
pub mod maintenance;
pub mod managed;
pub mod monitor;
pub mod notify;
pub mod protocol;
pub mod provision;
pub mod record;
pub mod retry;
pub mod run;
pub mod schedule;
pub mod session;
pub mod telemetry;
pub mod time;
pub mod uptime;
