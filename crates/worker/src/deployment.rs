//! What this deployment was built with: the embedded config folder (validated by `build.rs`
//! with the same loader, `systole_core::config::Deployment::parse`), the
//! heartbeat keys from the `API_KEYS` secret and the notification channels' credentials
//! from `NOTIFICATION_*` secrets.

use std::sync::OnceLock;

use systole_core::access::Users;
use systole_core::branding::Branding;
use systole_core::config::{Config, Deployment};
use systole_core::keys::{KeyRing, PingIndex, PingKind};
use systole_core::notify::{MissingCredential, NotificationsConfig, ResolvedChannel};
use systole_core::time::Timestamp;
use worker::Env;

const SERVICES_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/services.json"));
const SETTINGS_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/settings.json"));
const NOTIFICATIONS_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/notifications.json"));
const USERS_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/users.json"));
const DASHBOARD_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/dashboard.json"));
const UI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/ui.json"));

/// Durable Object namespace binding of the ServiceMonitors.
pub const MONITOR_BINDING: &str = "SERVICE_MONITOR";
/// Durable Object namespace binding of the AlertDesk (external alerts).
pub const DESK_BINDING: &str = "ALERT_DESK";
/// Durable Object namespace binding of the NotificationHubs (live updates).
pub const HUB_BINDING: &str = "NOTIFICATION_HUB";
/// D1 binding.
pub const DB_BINDING: &str = "DB";

/// The embedded config folder, parsed once per isolate by the loader `build.rs` validated
/// it with.
pub fn deployment() -> &'static Deployment {
    static DEPLOYMENT: OnceLock<Deployment> = OnceLock::new();
    DEPLOYMENT.get_or_init(|| {
        let embedded = |name: &str| match name {
            "services.json" => SERVICES_JSON,
            "settings.json" => SETTINGS_JSON,
            "notifications.json" => NOTIFICATIONS_JSON,
            "users.json" => USERS_JSON,
            "dashboard.json" => DASHBOARD_JSON,
            "ui.json" => UI_JSON,
            _ => "",
        };
        // Invariant: build.rs parsed these files and failed the build on any error; it
        // embeds an empty text for an absent file, read back as absent.
        #[allow(clippy::expect_used)]
        Deployment::parse(|name| Some(embedded(name)).filter(|t| !t.is_empty()).map(str::to_owned))
            .expect("config validated by build.rs")
    })
}

/// The embedded `services.json` and `settings.json`.
pub fn config() -> &'static Config {
    &deployment().config
}

/// The embedded `users.json` (no users, an open deployment, when the file is absent).
pub fn users() -> &'static Users {
    &deployment().users
}

/// The embedded `dashboard.json` (defaults when the file is absent).
pub fn branding() -> &'static Branding {
    &deployment().branding
}

/// The `SESSION_SECRET` secret that signs dashboard sessions, if set and at least
/// [`systole_core::session::MIN_SECRET_LEN`] bytes long (shorter ones are refused and logged
/// once); read once per isolate.
pub fn session_secret(env: &Env) -> Option<&'static str> {
    static SECRET: OnceLock<Option<String>> = OnceLock::new();
    SECRET
        .get_or_init(|| {
            let secret = env.secret("SESSION_SECRET").ok()?.to_string();
            if secret.len() < systole_core::session::MIN_SECRET_LEN {
                worker::console_error!("SESSION_SECRET is shorter than 32 bytes; sessions are disabled");
                return None;
            }
            Some(secret)
        })
        .as_deref()
}

/// The users' login tokens from the `USER_TOKENS` secret (JSON `{"user-id": "token"}`),
/// hashed once per isolate under `SESSION_SECRET` (else the secret's own text).
pub fn user_tokens(env: &Env) -> &'static KeyRing {
    static TOKENS: OnceLock<KeyRing> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let Ok(tokens) = env.secret("USER_TOKENS").map(|s| s.to_string()) else {
            if !users().is_open() {
                worker::console_warn!("USER_TOKENS is not set: no user can sign in");
            }
            return KeyRing::empty();
        };
        let secret = env.secret("SESSION_SECRET").map(|s| s.to_string()).unwrap_or_else(|_| tokens.clone());
        KeyRing::parse_tokens(&tokens, secret.as_bytes()).unwrap_or_else(|e| {
            worker::console_error!("USER_TOKENS: {e}; no user can sign in");
            KeyRing::empty()
        })
    })
}

/// The embedded `notifications.json` (no channels when the file is absent).
pub fn notifications() -> &'static NotificationsConfig {
    &deployment().notifications
}

/// The enabled channels that have every credential, and the problems of those that do not
/// (each logged once per isolate: "reported at start-up").
pub fn channels(env: &Env) -> &'static (Vec<ResolvedChannel>, Vec<MissingCredential>) {
    static CHANNELS: OnceLock<(Vec<ResolvedChannel>, Vec<MissingCredential>)> = OnceLock::new();
    CHANNELS.get_or_init(|| {
        let lookup =
            |name: &str| env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string())).ok();
        let resolved = notifications().resolve(lookup);
        for missing in &resolved.1 {
            worker::console_warn!("notification channel unusable: {missing}");
        }
        resolved
    })
}

/// The dashboard's public base URL for links in notifications (`PUBLIC_URL`, e.g.
/// `https://status.example.com`), without a trailing `/`; read once per isolate.
pub fn public_url(env: &Env) -> Option<&'static str> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        let url = env.var("PUBLIC_URL").ok()?.to_string();
        let url = url.trim().trim_end_matches('/');
        (url.starts_with("https://") || url.starts_with("http://")).then(|| url.to_owned())
    })
    .as_deref()
}

/// The heartbeat keys, hashed once per isolate. Keys are HMAC'd under `SERVER_SECRET` when
/// set, else under the `API_KEYS` text itself; without a readable `API_KEYS` no key matches
/// (only services with `auth.required: false` accept heartbeats; the others answer
/// `Server misconfigured: API_KEYS not set`). The ring also holds the ping credentials
/// ([`ring`]).
pub fn keys(env: &Env) -> &'static KeyRing {
    static KEYS: OnceLock<KeyRing> = OnceLock::new();
    KEYS.get_or_init(|| ring(env))
}

/// [`keys`] with the ping credentials: the `PING_IDS` overrides of services' ping ids and
/// push tokens, the `PING_KEYS` per-group ping keys and the `PROVISIONING_KEYS` per-group
/// provisioning keys (see `systole_core::keys` `PingCredential`); each problem logged once
/// per isolate, by name, never by value.
fn ring(env: &Env) -> KeyRing {
    report_weak_secrets(env);
    let secret = |name: &str| env.secret(name).map(|s| s.to_string()).ok();
    let ring = match secret("API_KEYS") {
        None => {
            worker::console_warn!("API_KEYS is not set: only services with auth.required=false accept heartbeats");
            KeyRing::unset()
        }
        Some(api_keys) => {
            let server = secret("SERVER_SECRET").unwrap_or_else(|| api_keys.clone());
            KeyRing::parse(&api_keys, server.as_bytes()).unwrap_or_else(|e| {
                worker::console_error!("API_KEYS: {e}");
                KeyRing::unset()
            })
        }
    };
    let (ring, mut problems) = ring.with_pings(secret("PING_IDS").as_deref(), secret("PING_KEYS").as_deref());
    let (ring, more) = ring.with_provisioning(secret("PROVISIONING_KEYS").as_deref());
    problems.extend(more);
    for problem in problems {
        worker::console_error!("{problem}");
    }
    ring
}

/// The services by ping id (healthchecks.io's `/ping/<uuid>`) or by push token (Uptime Kuma's
/// `/api/push/<token>`), built once per isolate on the first ping of that kind (two HMACs per
/// service).
pub fn ping_index(env: &Env, kind: PingKind) -> &'static PingIndex<'static> {
    static IDS: OnceLock<PingIndex<'static>> = OnceLock::new();
    static TOKENS: OnceLock<PingIndex<'static>> = OnceLock::new();
    let cell = if kind == PingKind::PushToken { &TOKENS } else { &IDS };
    cell.get_or_init(|| keys(env).ping_index(&config().services, kind))
}

/// The badge keys (`systole_core::badge`), keyed once per isolate under `SERVER_SECRET`,
/// else the `API_KEYS` text (as the heartbeat keys); without either, no badges.
pub fn badges(env: &Env) -> &'static systole_core::badge::Badges {
    static BADGES: OnceLock<systole_core::badge::Badges> = OnceLock::new();
    BADGES.get_or_init(|| {
        let secret = env.secret("SERVER_SECRET").or_else(|_| env.secret("API_KEYS")).map(|s| s.to_string()).ok();
        systole_core::badge::Badges::new(secret.as_deref().map(str::as_bytes))
    })
}

/// The signed acknowledgement links (`systole_core::escalation::AckLinks`), keyed once per
/// isolate under `SERVER_SECRET`, else the `API_KEYS` text (as the heartbeat keys and
/// badges); without either, notifications carry no link and every link is refused.
pub fn ack_links(env: &Env) -> &'static systole_core::escalation::AckLinks {
    static LINKS: OnceLock<systole_core::escalation::AckLinks> = OnceLock::new();
    LINKS.get_or_init(|| {
        let secret = env.secret("SERVER_SECRET").or_else(|_| env.secret("API_KEYS")).map(|s| s.to_string()).ok();
        systole_core::escalation::AckLinks::new(secret.as_deref().map(str::as_bytes))
    })
}

/// Logs, once per isolate, each `API_KEYS` entry and the `ALERT_API_KEY` shorter than 16
/// characters (refused: they open nothing), by name and never by value
/// ([`systole_core::keys::weak_secrets`]). Called when the heartbeat keys are first read and
/// on every alert request.
pub fn report_weak_secrets(env: &Env) {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let api_keys = env.secret("API_KEYS").map(|s| s.to_string()).ok();
        let alert_key = env.secret("ALERT_API_KEY").map(|s| s.to_string()).ok();
        for line in systole_core::keys::weak_secrets(api_keys.as_deref(), alert_key.as_deref()) {
            worker::console_error!("{line}");
        }
    });
}

/// The current time, read once per event by the shell: `Date.now()` (UTC milliseconds),
/// without the `Date` object `worker::Date::now` makes for it.
pub fn now() -> Timestamp {
    // Whole milliseconds since the epoch; `as` saturates should a runtime ever answer
    // outside `i64`.
    Timestamp::from_millis(js_sys::Date::now() as i64)
}
