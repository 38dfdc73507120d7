//! The one backoff rule for everything that is retried: failed deliveries (with each
//! deployment's `settings.retry`), and failed D1 writes (history flushes, attempt records,
//! external alert rows).

use std::time::Duration;

/// An exponential backoff: `initial` after the first failure, doubling after each further
/// one, never more than `max`.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

/// Failed D1 writes: 1 s, 2 s, 4 s … at most 60 s.
pub const D1_WRITES: Backoff = Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(60) };

impl Backoff {
    /// The wait after failure number `failures` (1-based; 0 counts as 1):
    /// `initial · 2^(failures−1)`, at most `max`.
    pub fn after(self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(31));
        self.initial.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_the_initial_up_to_the_maximum() {
        let waits: Vec<u64> = (1..=8).map(|n| D1_WRITES.after(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(D1_WRITES.after(0), Duration::from_secs(1));
        assert_eq!(D1_WRITES.after(u32::MAX), Duration::from_secs(60), "no overflow");
    }
}
