//! The catalog: the declared config (`config/services.json`, embedded) merged with the
//! managed services and groups of the D1 registry, as one `Config`
//! ([`Config::with_managed`]). What the read APIs, pages, badges, metrics, housekeeping and
//! the live views list and look services up in; the heartbeat hot path keeps the declared
//! config (managed ids go to their ServiceMonitor, which holds their config).
//!
//! Cached per isolate with the registry's catalog version (D1 table `catalog`, raised by every
//! registry write): each [`config`] call reads the version (one small D1 query) and reloads the
//! whole registry only when it changed. A write through this isolate drops the cache at once
//! ([`invalidate`]).

use std::cell::RefCell;
use std::rc::Rc;

use systole_core::config::Config;
use systole_core::managed::ManagedGroup;
use worker::Env;

use crate::d1;
use crate::deployment::{self, DB_BINDING};
use crate::http::{ApiError, OrUnavailable, HISTORY_DB};

thread_local! {
    /// The merged catalog and the version it was read at.
    static CACHE: RefCell<Option<(i64, Rc<Config>)>> = const { RefCell::new(None) };
}

/// The declared config merged with the managed services and groups (see the module docs).
///
/// # Errors
/// 503 when D1 cannot be read.
pub async fn config(env: &Env) -> Result<Rc<Config>, ApiError> {
    let db = env.d1(DB_BINDING).or_unavailable(HISTORY_DB)?;
    let version = d1::registry::version(&db).await.or_unavailable(HISTORY_DB)?;
    if let Some(c) = CACHE.with(|c| c.borrow().as_ref().filter(|(v, _)| *v == version).map(|(_, c)| Rc::clone(c))) {
        return Ok(c);
    }
    let declared = deployment::config();
    let (version, services, groups) = d1::registry::catalog(&db, declared).await.or_unavailable(HISTORY_DB)?;
    let merged = Rc::new(declared.with_managed(services, groups.iter().map(ManagedGroup::config).collect()));
    CACHE.with(|c| *c.borrow_mut() = Some((version, Rc::clone(&merged))));
    Ok(merged)
}

/// Drops this isolate's cached catalog (after a management write through it).
pub fn invalidate() {
    CACHE.with(|c| *c.borrow_mut() = None);
}
