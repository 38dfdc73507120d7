//! What this deployment was built with: the embedded config (validated by `build.rs`) and
//! the heartbeat keys from the `API_KEYS` secret.

use std::sync::OnceLock;

use systole_core::config::Config;
use systole_core::keys::KeyRing;
use systole_core::time::Timestamp;
use worker::Env;

const SERVICES_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/services.json"));
const SETTINGS_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/settings.json"));

/// Durable Object namespace binding of the ServiceMonitors.
pub const MONITOR_BINDING: &str = "SERVICE_MONITOR";
/// D1 binding.
pub const DB_BINDING: &str = "DB";

/// The embedded config, parsed once per isolate.
pub fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        // Invariant: build.rs parsed these exact bytes and failed the build on any error.
        #[allow(clippy::expect_used)]
        Config::parse(Some(SERVICES_JSON), Some(SETTINGS_JSON)).expect("config validated by build.rs")
    })
}

/// The heartbeat keys, hashed once per isolate. Keys are HMAC'd under `SERVER_SECRET` when
/// set, else under the `API_KEYS` text itself; without `API_KEYS` no key matches (only
/// services with `auth.required: false` accept heartbeats).
pub fn keys(env: &Env) -> &'static KeyRing {
    static KEYS: OnceLock<KeyRing> = OnceLock::new();
    KEYS.get_or_init(|| {
        let Ok(api_keys) = env.secret("API_KEYS").map(|s| s.to_string()) else {
            worker::console_warn!("API_KEYS is not set: only services with auth.required=false accept heartbeats");
            return KeyRing::empty();
        };
        let secret = env.secret("SERVER_SECRET").map(|s| s.to_string()).unwrap_or_else(|_| api_keys.clone());
        KeyRing::parse(&api_keys, secret.as_bytes()).unwrap_or_else(|e| {
            worker::console_error!("{e}");
            KeyRing::empty()
        })
    })
}

/// Whether the bench-only counters endpoint is enabled (`SYSTOLE_BENCH=1`).
pub fn bench_enabled(env: &Env) -> bool {
    env.var("SYSTOLE_BENCH").map(|v| v.to_string() == "1").unwrap_or(false)
}

/// The current time, read once per event by the shell.
pub fn now() -> Timestamp {
    Timestamp(i64::try_from(worker::Date::now().as_millis()).unwrap_or(i64::MAX))
}
