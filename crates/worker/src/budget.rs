//! Subrequests per invocation (`systole_core::budget`: the free plan allows 50), counted in
//! the benchmark build only (the worker's `bench` feature); in a deployed build [`count`]
//! and [`invocation`] do nothing.
//!
//! Invocations interleave in one isolate (a request awaits D1 while another runs), so one
//! global counter would mix them. Instead each invocation's future runs inside
//! [`invocation`], which makes its own counter the current one for the duration of each
//! poll; every subrequest is counted where it starts ([`count`], called synchronously just
//! before the fetch, the Durable Object call or the D1 query), which is always inside a
//! poll of the invocation that makes it. Work spawned to run after the invocation's poll
//! (`live::publish`) counts its posts before spawning them.
//!
//! When an invocation ends, its count goes into the isolate's [`Peaks`] under its label
//! (`POST /api/v1/heartbeat`, `cron`, `ServiceMonitor alarm`, …), read by `GET
//! /api/internal/budgets`; an invocation over the limit is logged.

use std::future::Future;

use systole_core::budget::Kind;

#[cfg(feature = "bench")]
mod metered {
    use std::cell::{Cell, RefCell};
    use std::future::{poll_fn, Future};
    use std::pin::pin;
    use std::rc::Rc;

    use systole_core::budget::{Kind, Peaks, Subrequests};

    thread_local! {
        static CURRENT: RefCell<Option<Rc<Cell<Subrequests>>>> = const { RefCell::new(None) };
        static PEAKS: RefCell<Peaks> = RefCell::new(Peaks::default());
    }

    pub fn count(kind: Kind) {
        CURRENT.with(|c| {
            if let Some(meter) = c.borrow().as_ref() {
                let mut made = meter.get();
                made.add(kind);
                meter.set(made);
            }
        });
    }

    /// Polls `fut` to its end with a new counter current during each poll; records the
    /// counter under `label` when it ends.
    pub async fn invocation<F: Future>(label: &str, fut: F) -> F::Output {
        let meter = Rc::new(Cell::new(Subrequests::default()));
        let mut fut = pin!(fut);
        let out = poll_fn(|cx| {
            let previous = CURRENT.with(|c| c.replace(Some(Rc::clone(&meter))));
            let polled = fut.as_mut().poll(cx);
            CURRENT.with(|c| c.replace(previous));
            polled
        })
        .await;
        let made = meter.get();
        if !made.within() {
            worker::console_warn!("{label}: {} subrequests, over the free plan's 50 ({made:?})", made.total());
        }
        PEAKS.with(|p| p.borrow_mut().record(label, made));
        out
    }

    pub fn peaks(clear: bool) -> serde_json::Value {
        PEAKS.with(|p| {
            let json = p.borrow().to_json();
            if clear {
                p.borrow_mut().clear();
            }
            json
        })
    }
}

/// Counts one subrequest of `kind` against the current invocation (benchmark build only).
/// Call it synchronously right before starting the subrequest.
pub fn count(kind: Kind) {
    #[cfg(feature = "bench")]
    metered::count(kind);
    #[cfg(not(feature = "bench"))]
    let _ = kind;
}

/// Runs `fut` as one invocation labelled `label`, counting its subrequests (benchmark build
/// only; see the module docs).
pub async fn invocation<F: Future>(label: &str, fut: F) -> F::Output {
    #[cfg(feature = "bench")]
    return metered::invocation(label, fut).await;
    #[cfg(not(feature = "bench"))]
    {
        let _ = label;
        fut.await
    }
}

/// The isolate's peaks as `systole_core::budget::Peaks::to_json`; `clear` forgets them
/// after reading.
#[cfg(feature = "bench")]
pub fn peaks(clear: bool) -> serde_json::Value {
    metered::peaks(clear)
}
