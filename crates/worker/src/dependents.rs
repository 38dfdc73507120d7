//! Pushing a service's status to the services that depend on it (`dependsOn`, see
//! `systole_core::dependency`): after a ServiceMonitor stored a status change, it posts
//! `ToMonitor::Parent` to each dependent's object, which decides what its held alerts do.

use systole_core::budget::Kind;
use systole_core::config::ServiceId;
use systole_core::dependency::{self, ParentState, MAX_DEPENDENTS_NOTIFIED};
use systole_core::protocol::ToMonitor;
use worker::Env;

use crate::deployment::MONITOR_BINDING;
use crate::{catalog, stub};

/// Tells every dependent of `parent` (the catalog's reverse index, declared and managed; at
/// most [`MAX_DEPENDENTS_NOTIFIED`], which config and API validation guarantee) that it is now
/// in `state`, without waiting (the posts run after the caller's code returns, one D1 read of
/// the catalog version first). A dependent that cannot be reached is logged: it learns the
/// parent's state with the parent's next status change.
pub fn push(env: &Env, parent: &str, state: ParentState) {
    let (env, parent) = (env.clone(), parent.to_owned());
    wasm_bindgen_futures::spawn_local(async move {
        let Ok(parent) = ServiceId::parse(&parent) else { return };
        let config = match catalog::config(&env).await {
            Ok(c) => c,
            Err(e) => {
                worker::console_error!("{parent}: dependents not told of its status (catalog unreadable): {e:?}");
                return;
            }
        };
        for child in dependency::dependents(&config, parent.as_str()).take(MAX_DEPENDENTS_NOTIFIED) {
            let message = ToMonitor::Parent { service_id: child.clone(), parent: parent.clone(), state };
            let sent = async {
                let obj = stub::named(&env, MONITOR_BINDING, child.as_str())?;
                crate::budget::count(Kind::Object);
                stub::post(&obj, "https://service-monitor/", &serde_json::to_string(&message)?).await
            };
            match sent.await {
                Ok(r) if r.ok() => {}
                Ok(r) => worker::console_error!("{parent}: dependent {child} answered {}", r.status()),
                Err(e) => worker::console_error!("{parent}: dependent {child} not reached: {e}"),
            }
        }
    });
}
