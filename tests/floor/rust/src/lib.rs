//! The workers-rs floor (see `tests/floor/README.md`): router → Durable Object named by the
//! request's `serviceId` → one SQLite `INSERT OR REPLACE` of the body → 200.

use serde::Deserialize;
use worker::{
    durable_object, event, Context, DurableObject, Env, Headers, Method, Request, RequestInit, Response, Result, State,
};

/// The one object per service id: stores the last body it was sent.
#[allow(missing_debug_implementations)] // State is a JS handle without Debug.
#[durable_object]
pub struct Floor {
    state: State,
}

impl DurableObject for Floor {
    fn new(state: State, _env: Env) -> Self {
        let sql = "CREATE TABLE IF NOT EXISTS beat (id INTEGER PRIMARY KEY, body TEXT NOT NULL)";
        if let Err(e) = state.storage().sql().exec(sql, None) {
            worker::console_error!("creating the table: {e}");
        }
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let body = req.text().await?;
        let sql = "INSERT OR REPLACE INTO beat (id, body) VALUES (1, ?)";
        self.state.storage().sql().exec(sql, vec![body.into()])?;
        json(r#"{"ok":true}"#)
    }
}

/// The part of a heartbeat the router reads.
#[derive(Deserialize)]
struct Beat<'a> {
    #[serde(rename = "serviceId", borrow)]
    service_id: std::borrow::Cow<'a, str>,
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
    match (req.method(), req.path().as_str()) {
        (Method::Get, "/healthz") => json(r#"{"ok":true}"#),
        (Method::Post, "/api/heartbeat") => {
            let body = req.text().await?;
            let id = match serde_json::from_str::<Beat<'_>>(&body) {
                Ok(beat) if !beat.service_id.is_empty() => beat.service_id.into_owned(),
                _ => return Response::error("serviceId required", 400),
            };
            let stub = env.durable_object("FLOOR")?.id_from_name(&id)?.get_stub()?;
            let mut init = RequestInit::new();
            init.with_method(Method::Post).with_body(Some(body.into()));
            stub.fetch_with_request(Request::new_with_init("https://floor/", &init)?).await
        }
        _ => Response::error("not found", 404),
    }
}

/// A 200 JSON response.
fn json(text: &str) -> Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    Ok(Response::ok(text)?.with_headers(headers))
}
