//! Awaiting a JavaScript promise on the heartbeat's paths with one callback made once per
//! instance.
//!
//! `js_sys`'s `JsFuture` makes two wasm-bindgen closures for every promise it awaits (each
//! a new JavaScript function registered with a `FinalizationRegistry`) and destroys both
//! when the promise settles: about a tenth of a heartbeat's CPU in local workerd (`cargo
//! xtask bench --profile`, docs/benchmarks.md). [`settled`] instead hands the promise two
//! bound copies of one persistent callback (`Function.prototype.bind`, native), which
//! record the outcome in a table slot and wake the waiting task.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// A JavaScript function: the persistent callback or a bound copy of it.
    type Callback;

    /// `callback.bind(null, slot, fulfilled)`.
    #[wasm_bindgen(method, js_name = bind)]
    fn bind_slot(this: &Callback, context: &JsValue, slot: u32, fulfilled: bool) -> Callback;

    /// A promise.
    type Thenable;

    /// `promise.then(onFulfilled, onRejected)`, its result unused.
    #[wasm_bindgen(method, js_name = then)]
    fn then_call(this: &Thenable, on_fulfilled: &Callback, on_rejected: &Callback);
}

/// One awaited promise's place in [`TABLE`].
enum Slot {
    /// Unused (its index is on the free list).
    Free,
    /// Not settled yet; the task to wake once it is.
    Waiting(Option<Waker>),
    /// Settled: `Ok` with the value it fulfilled with, `Err` with the reason it rejected with.
    Settled(Result<JsValue, JsValue>),
    /// Its [`Settled`] future was dropped before it settled: freed when it does.
    Abandoned,
}

/// The slots and the indices of the free ones.
#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

impl Table {
    fn take(&mut self) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Slot::Waiting(None);
                i
            }
            None => {
                self.slots.push(Slot::Waiting(None));
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        }
    }

    /// Frees slot `i`; what it held, to be dropped once the table is no longer borrowed.
    fn release(&mut self, i: u32) -> Slot {
        self.free.push(i);
        std::mem::replace(&mut self.slots[i as usize], Slot::Free)
    }
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
    /// The persistent callback: `(slot, fulfilled, value)`.
    static SETTLE: Closure<dyn FnMut(u32, bool, JsValue)> = Closure::new(settle);
}

/// Records the outcome of the promise awaited in `slot` and wakes its task (called by the
/// promise's reaction, never while [`TABLE`] is borrowed).
fn settle(slot: u32, fulfilled: bool, value: JsValue) {
    let waker = TABLE.with(|t| {
        let mut t = t.borrow_mut();
        match t.slots.get_mut(slot as usize) {
            Some(s @ Slot::Waiting(_)) => {
                let outcome = if fulfilled { Ok(value) } else { Err(value) };
                match std::mem::replace(s, Slot::Settled(outcome)) {
                    Slot::Waiting(waker) => waker,
                    _ => None,
                }
            }
            Some(Slot::Abandoned) => {
                t.release(slot);
                None
            }
            _ => None,
        }
    });
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// A promise being awaited (see [`settled`]): its slot, `None` once it has been returned.
#[derive(Debug)]
pub struct Settled(Option<u32>);

/// Awaits `promise`: `Ok` with the value it fulfils with, `Err` with the reason it rejects
/// with (as `JsFuture` gives them).
pub fn settled(promise: &js_sys::Promise) -> Settled {
    let slot = TABLE.with(|t| t.borrow_mut().take());
    SETTLE.with(|settle| {
        let settle: &Callback = settle.as_ref().unchecked_ref();
        let on_fulfilled = settle.bind_slot(&JsValue::NULL, slot, true);
        let on_rejected = settle.bind_slot(&JsValue::NULL, slot, false);
        promise.unchecked_ref::<Thenable>().then_call(&on_fulfilled, &on_rejected);
    });
    Settled(Some(slot))
}

impl Future for Settled {
    type Output = Result<JsValue, JsValue>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(slot) = self.0 else {
            return Poll::Ready(Err(JsValue::from_str("a promise polled after it settled")));
        };
        // What the table gives up (the waker replaced, the slot freed) is dropped once it is
        // no longer borrowed.
        let (outcome, _replaced) = TABLE.with(|t| {
            let mut t = t.borrow_mut();
            match &mut t.slots[slot as usize] {
                Slot::Waiting(waker) => (None, waker.replace(cx.waker().clone())),
                Slot::Settled(_) => match t.release(slot) {
                    Slot::Settled(outcome) => (Some(outcome), None),
                    _ => (None, None),
                },
                // Not reachable while this future holds the slot.
                Slot::Free | Slot::Abandoned => (Some(Err(JsValue::from_str("a promise's slot was lost"))), None),
            }
        });
        let Some(outcome) = outcome else {
            return Poll::Pending;
        };
        self.0 = None;
        Poll::Ready(outcome)
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        let Some(slot) = self.0 else {
            return;
        };
        // What the slot held (a waker, a settled value) is dropped once the table is no longer
        // borrowed.
        let _held = TABLE.with(|t| {
            let mut t = t.borrow_mut();
            match t.slots[slot as usize] {
                Slot::Waiting(_) => Some(std::mem::replace(&mut t.slots[slot as usize], Slot::Abandoned)),
                Slot::Settled(_) => Some(t.release(slot)),
                Slot::Free | Slot::Abandoned => None,
            }
        });
    }
}
