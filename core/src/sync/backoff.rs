//! Retry delays: exponential backoff with full jitter, as a plain function of the attempt number
//! and a random fraction, so it tests without a clock or a random source.

use std::time::Duration;

/// How retries of one sync are spaced and when they stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_delay: Duration,
    /// Attempts in all (1 = no retry).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_attempts: 6,
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (1 = first retry): uniformly random in
    /// `[0, min(max_delay, base · 2^(attempt-1))]`, `fraction` being the random draw in [0, 1).
    pub fn delay(&self, attempt: u32, fraction: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let ceiling = exp.min(self.max_delay);
        ceiling.mul_f64(fraction.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_up_to_the_cap_and_jitter_within_it() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, 1.0), Duration::from_millis(250));
        assert_eq!(p.delay(2, 1.0), Duration::from_millis(500));
        assert_eq!(p.delay(4, 1.0), Duration::from_secs(2));
        assert_eq!(
            p.delay(30, 1.0),
            Duration::from_secs(30),
            "capped, no overflow"
        );
        assert_eq!(p.delay(3, 0.0), Duration::ZERO);
        assert_eq!(p.delay(3, 0.5), Duration::from_millis(500));
    }
}
