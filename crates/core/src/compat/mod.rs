//! Compatibility surfaces: other monitors' HTTP APIs as thin translations onto Systole's
//! model, one module per project, so their clients and dashboards keep working unchanged.
//!
//! - [`cloudflaremon`]: the cloudflaremon Worker's `/api/status`, `/api/uptime`,
//!   `/api/services`, `/api/logs`, `/api/alert`, `/api/alerts/recent` and
//!   `/api/test-notification`.
//! - [`healthchecks`]: healthchecks.io's Pinging API, `/ping/…`.
//! - [`heartbeat_central`]: Heartbeat Central's `/heartbeat/{uuid}`, `/api/applications…`
//!   and `/health`, onto managed services.
//! - [`kuma`]: Uptime Kuma's push URL, `/api/push/<token>`.

pub mod cloudflaremon;
pub mod healthchecks;
pub mod heartbeat_central;
pub mod kuma;
