//! Durable Object requests with the fewest calls into JavaScript, for the paths that run on
//! every heartbeat: the Worker's call to a ServiceMonitor and a ServiceMonitor's live update
//! to a NotificationHub. `worker`'s `ObjectNamespace`, `Stub` and `Response` cost more
//! there: a check of the binding's class name, a `Request` built for each call, the answer
//! wrapped (and rebuilt when passed on) and its body read through a stream reader.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::worker_sys::{web_sys, DurableObjectNamespace};
use worker::{Env, Result};

use crate::promise::settled;

#[wasm_bindgen]
extern "C" {
    /// A Durable Object's stub.
    pub type Object;

    /// `stub.fetch(url, init)`: a request without building a `Request` first.
    #[wasm_bindgen(method, catch, js_name = fetch)]
    fn fetch_with_init(
        this: &Object,
        url: &str,
        init: &web_sys::RequestInit,
    ) -> std::result::Result<js_sys::Promise, JsValue>;
}

/// The object named `name` in the namespace bound as `binding` (`namespace.getByName`).
///
/// # Errors
/// The runtime's error, also for a missing binding (an unreachable object).
pub fn named(env: &Env, binding: &str, name: &str) -> Result<Object> {
    let namespace: DurableObjectNamespace = js_sys::Reflect::get(env, &JsValue::from_str(binding))?.unchecked_into();
    Ok(namespace.get_by_name(name)?.unchecked_into())
}

/// `POST url` with `body` to `stub`: the object's answer as the runtime gives it (the caller
/// counts the subrequest, `crate::budget::count`).
///
/// # Errors
/// The runtime's error reaching the object.
pub async fn post(stub: &Object, url: &str, body: &str) -> Result<web_sys::Response> {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    Ok(settled(&stub.fetch_with_init(url, &init)?).await?.unchecked_into())
}

/// The whole body of `resp` as text (one `text()`).
///
/// # Errors
/// The runtime's error reading the body.
pub async fn text(resp: &web_sys::Response) -> Result<String> {
    Ok(settled(&resp.text()?).await?.as_string().unwrap_or_default())
}
