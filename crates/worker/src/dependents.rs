//! Pushing a service's status to the services that depend on it (`dependsOn`, see
//! `systole_core::dependency`): after a ServiceMonitor stored a status change, it posts
//! `ToMonitor::Parent` to each dependent's object, which decides what its held alerts do.

use futures_util::future::join_all;
use systole_core::budget::Kind;
use systole_core::config::ServiceId;
use systole_core::dependency::{self, ParentState, MAX_DEPENDENTS_NOTIFIED};
use systole_core::protocol::ToMonitor;
use worker::worker_sys::web_sys;
use worker::Env;

use crate::deployment::MONITOR_BINDING;
use crate::{catalog, stub};

/// Tells every dependent of `parent` (the catalog's reverse index, declared and managed; at
/// most [`MAX_DEPENDENTS_NOTIFIED`], which config and API validation guarantee) that it is now
/// in `state`: one D1 read of the catalog version (the catalog itself when it changed), then
/// one Durable Object request per dependent, concurrently. A dependent that cannot be reached
/// is logged: it learns the parent's state with the parent's next status change.
pub async fn push(env: &Env, parent: &str, state: ParentState) {
    let Ok(parent) = ServiceId::parse(parent) else { return };
    let config = match catalog::config(env).await {
        Ok(c) => c,
        Err(e) => {
            worker::console_error!("{parent}: dependents not told of its status (catalog unreadable): {e:?}");
            return;
        }
    };
    let children: Vec<&ServiceId> =
        dependency::dependents(&config, parent.as_str()).take(MAX_DEPENDENTS_NOTIFIED).collect();
    let told = join_all(children.iter().map(|child| {
        let message = ToMonitor::Parent { service_id: (*child).clone(), parent: parent.clone(), state };
        async move { (child, tell(env, child, &message).await) }
    }))
    .await;
    for (child, answer) in told {
        match answer {
            Ok(r) if r.ok() => {}
            Ok(r) => worker::console_error!("{parent}: dependent {child} answered {}", r.status()),
            Err(e) => worker::console_error!("{parent}: dependent {child} not reached: {e}"),
        }
    }
}

/// Posts `message` to the ServiceMonitor of `child` (counted where it starts).
async fn tell(env: &Env, child: &ServiceId, message: &ToMonitor) -> worker::Result<web_sys::Response> {
    let obj = stub::named(env, MONITOR_BINDING, child.as_str())?;
    crate::budget::count(Kind::Object);
    stub::post(&obj, "https://service-monitor/", &serde_json::to_string(message)?).await
}
