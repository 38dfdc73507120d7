//! Compatibility surfaces: other monitors' HTTP APIs as thin translations onto Systole's
//! model, one module per project, so their clients and dashboards keep working unchanged.
//!
//! - [`cloudflaremon`]: the cloudflaremon Worker's `/api/status`, `/api/uptime`,
//!   `/api/services`, `/api/logs`, `/api/alert`, `/api/alerts/recent` and
//!   `/api/test-notification`.

pub mod cloudflaremon;
