//! The free plan's per-invocation limits as budgets: at most [`SUBREQUESTS`] subrequests
//! (outbound fetches, Durable Object calls and D1 queries each count one) and
//! [`CPU_MS`] of CPU per invocation.
//!
//! The Worker counts the subrequests of each invocation (a request to the edge router, a
//! cron tick, each event of a Durable Object) into a [`Subrequests`] and, in the benchmark
//! build, keeps the largest per invocation kind in [`Peaks`] (`GET /api/internal/budgets`).
//! CPU is measured by the benchmark from the runtime process, not here.

use std::collections::BTreeMap;

use serde::Serialize;

/// Most subrequests one invocation may make on the Workers free plan.
pub const SUBREQUESTS: u32 = 50;
/// Most CPU time one invocation may use on the Workers free plan, milliseconds.
pub const CPU_MS: u32 = 10;

/// What one subrequest is.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Kind {
    /// An outbound `fetch` (a notification channel).
    Fetch,
    /// A request to a Durable Object (ServiceMonitor, NotificationHub, AlertDesk).
    Object,
    /// A D1 query (a `batch` counts one).
    D1,
}

/// The subrequests of one invocation, by kind. JSON: `{"fetches", "objects", "d1",
/// "total"}`.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Serialize)]
pub struct Subrequests {
    /// Outbound fetches.
    pub fetches: u32,
    /// Durable Object requests.
    pub objects: u32,
    /// D1 queries and batches.
    pub d1: u32,
}

impl Subrequests {
    /// Counts one subrequest of `kind`.
    pub fn add(&mut self, kind: Kind) {
        let n = match kind {
            Kind::Fetch => &mut self.fetches,
            Kind::Object => &mut self.objects,
            Kind::D1 => &mut self.d1,
        };
        *n = n.saturating_add(1);
    }

    /// All of them.
    pub fn total(&self) -> u32 {
        self.fetches.saturating_add(self.objects).saturating_add(self.d1)
    }

    /// Whether they fit the free plan's [`SUBREQUESTS`].
    pub fn within(&self) -> bool {
        self.total() <= SUBREQUESTS
    }
}

/// The largest invocation seen of one kind (a route, a cron tick, a Durable Object event).
/// JSON: `{"invocations": n, "max": Subrequests, "total": n}` (`total`: the largest
/// invocation's total).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Serialize)]
pub struct Peak {
    /// Invocations counted.
    pub invocations: u64,
    /// The invocation with the most subrequests.
    pub max: Subrequests,
}

/// The largest invocation per kind, by label (`GET /api/v1/status`, `cron`,
/// `ServiceMonitor alarm`, …). JSON: `{"limit": 50, "invocations": {label: Peak}}`.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Peaks {
    by_label: BTreeMap<String, Peak>,
}

impl Peaks {
    /// Records one invocation labelled `label` that made `made`.
    pub fn record(&mut self, label: &str, made: Subrequests) {
        // No new key for a label already seen (every request is one invocation).
        let peak = match self.by_label.get_mut(label) {
            Some(peak) => peak,
            None => self.by_label.entry(label.to_owned()).or_default(),
        };
        peak.invocations = peak.invocations.saturating_add(1);
        if made.total() > peak.max.total() {
            peak.max = made;
        }
    }

    /// The peak of `label`, if any invocation was recorded with it.
    pub fn get(&self, label: &str) -> Option<&Peak> {
        self.by_label.get(label)
    }

    /// Forgets every invocation (the benchmark measures one phase at a time).
    pub fn clear(&mut self) {
        self.by_label.clear();
    }

    /// The JSON of `GET /api/internal/budgets`: `{"limit": 50, "invocations": {label:
    /// {"invocations", "max": {"fetches", "objects", "d1"}, "total"}}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let invocations: serde_json::Map<String, serde_json::Value> = self
            .by_label
            .iter()
            .map(|(label, p)| {
                let value = serde_json::json!({
                    "invocations": p.invocations,
                    "max": p.max,
                    "total": p.max.total(),
                });
                (label.clone(), value)
            })
            .collect();
        serde_json::json!({ "limit": SUBREQUESTS, "invocations": invocations })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn peaks_keep_the_largest_invocation_per_label() {
        let mut made = Subrequests::default();
        made.add(Kind::D1);
        made.add(Kind::Object);
        made.add(Kind::Object);
        assert_eq!((made.total(), made.within()), (3, true));
        let mut peaks = Peaks::default();
        peaks.record("cron", made);
        peaks.record("cron", Subrequests { d1: 1, ..Subrequests::default() });
        peaks.record("GET /", Subrequests::default());
        assert_eq!(peaks.get("cron"), Some(&Peak { invocations: 2, max: made }));
        let json = peaks.to_json();
        assert_eq!(json["limit"], 50);
        assert_eq!(json["invocations"]["cron"]["total"], 3);
        assert_eq!(json["invocations"]["cron"]["max"], serde_json::json!({"fetches": 0, "objects": 2, "d1": 1}));
        assert_eq!(json["invocations"]["GET /"]["invocations"], 1);
        peaks.clear();
        assert_eq!(peaks.get("cron"), None);
    }

    #[test]
    fn fifty_subrequests_fit_and_fifty_one_do_not() {
        let fifty = Subrequests { objects: 48, d1: 2, fetches: 0 };
        assert!(fifty.within());
        assert!(!Subrequests { fetches: 1, ..fifty }.within());
    }
}
