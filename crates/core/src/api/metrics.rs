//! The sanity clamp for reported metrics: out-of-range values are dropped, never stored,
//! and the heartbeat itself still counts (CloudLine's "sanity clamp").

use std::collections::BTreeMap;

/// Most metrics one heartbeat may carry.
pub const MAX_METRICS: usize = 32;
/// Largest magnitude kept for any metric.
pub const MAX_ABS_VALUE: f64 = 1e12;

/// Keeps the sane metrics and names the dropped ones.
///
/// A metric is dropped when its name is not 1–64 characters of `[A-Za-z0-9_.:-]`, its value is
/// not finite or exceeds ±10¹², or it breaks the range its name's unit suffix implies:
/// `_percent`/`_pct` 0–100; `_ms` 0–604 800 000 (7 days); `_seconds`/`_s` 0–31 536 000
/// (a year); `_bytes`/`_count`/`_total` ≥ 0.
pub fn clamp(metrics: BTreeMap<String, f64>) -> (BTreeMap<String, f64>, Vec<String>) {
    let mut kept = BTreeMap::new();
    let mut dropped = Vec::new();
    for (name, value) in metrics {
        if sane(&name, value) {
            kept.insert(name, value);
        } else {
            dropped.push(name);
        }
    }
    (kept, dropped)
}

fn sane(name: &str, v: f64) -> bool {
    let name_ok =
        !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c));
    if !name_ok || !v.is_finite() || v.abs() > MAX_ABS_VALUE {
        return false;
    }
    let range = |lo: f64, hi: f64| (lo..=hi).contains(&v);
    if name.ends_with("_percent") || name.ends_with("_pct") {
        range(0.0, 100.0)
    } else if name.ends_with("_ms") {
        range(0.0, 604_800_000.0)
    } else if name.ends_with("_seconds") || name.ends_with("_s") {
        range(0.0, 31_536_000.0)
    } else if name.ends_with("_bytes") || name.ends_with("_count") || name.ends_with("_total") {
        v >= 0.0
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_values_are_dropped_and_sane_ones_kept() {
        let input: BTreeMap<String, f64> = [
            ("cpu_percent", 42.5),
            ("mem_percent", 140.0),
            ("latency_ms", 12.0),
            ("latency_ns_as_ms", 5e13),
            ("queue_depth", -3.0),
            ("disk_bytes", -1.0),
            ("uptime_seconds", 3600.0),
            ("bad name!", 1.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let (kept, dropped) = clamp(input);
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["cpu_percent", "latency_ms", "queue_depth", "uptime_seconds"]);
        assert_eq!(dropped, ["bad name!", "disk_bytes", "latency_ns_as_ms", "mem_percent"]);
    }
}
