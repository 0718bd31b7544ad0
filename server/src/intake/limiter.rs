//! [`DeliveryLimiter`]: how many deliveries a channel may make, as a token bucket per channel,
//! driven by the time passed in (no clock, no I/O). A channel has `burst` deliveries at once and
//! `per_second` more each second; past that it is told how long to wait (`429` with
//! `Retry-After`). An alert storm is cut here, before it costs a database write.

use std::collections::HashMap;

/// How fast one channel may deliver.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntakeLimits {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for IntakeLimits {
    /// 100 deliveries a second, 1,000 at once: a building's alarms going off together pass, a
    /// runaway integration does not.
    fn default() -> Self {
        IntakeLimits {
            per_second: 100.0,
            burst: 1_000.0,
        }
    }
}

/// Channels tracked at most; a full table forgets the buckets that are full again (idle ones).
const MAX_CHANNELS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

/// The buckets of the channels seen lately.
#[derive(Debug)]
pub struct DeliveryLimiter {
    limits: IntakeLimits,
    buckets: HashMap<String, Bucket>,
}

impl DeliveryLimiter {
    pub fn new(limits: IntakeLimits) -> Self {
        DeliveryLimiter {
            limits: IntakeLimits {
                per_second: limits.per_second.max(0.001),
                burst: limits.burst.max(1.0),
            },
            buckets: HashMap::new(),
        }
    }

    fn refilled(&self, bucket: Bucket, now_ms: i64) -> f64 {
        let elapsed_s = now_ms.saturating_sub(bucket.at_ms).max(0) as f64 / 1000.0;
        (bucket.tokens + elapsed_s * self.limits.per_second).min(self.limits.burst)
    }

    /// Takes one delivery of `channel_id` at `now_ms`: `Ok`, or the whole seconds to wait.
    pub fn take(&mut self, channel_id: &str, now_ms: i64) -> Result<(), u64> {
        if self.buckets.len() >= MAX_CHANNELS && !self.buckets.contains_key(channel_id) {
            let burst = self.limits.burst;
            let full: Vec<String> = self
                .buckets
                .iter()
                .filter(|(_, b)| self.refilled(**b, now_ms) >= burst)
                .map(|(k, _)| k.clone())
                .collect();
            for key in full {
                self.buckets.remove(&key);
            }
        }
        let current = match self.buckets.get(channel_id) {
            Some(bucket) => self.refilled(*bucket, now_ms),
            None => self.limits.burst,
        };
        if current < 1.0 {
            let wait_s = ((1.0 - current) / self.limits.per_second).ceil().max(1.0);
            return Err(wait_s as u64);
        }
        self.buckets.insert(
            channel_id.to_owned(),
            Bucket {
                tokens: current - 1.0,
                at_ms: now_ms,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: f64, burst: f64) -> DeliveryLimiter {
        DeliveryLimiter::new(IntakeLimits { per_second, burst })
    }

    #[test]
    fn a_burst_passes_then_the_channel_waits_for_its_rate() {
        let mut l = limiter(2.0, 3.0);
        for _ in 0..3 {
            assert_eq!(l.take("c", 0), Ok(()));
        }
        assert_eq!(l.take("c", 0), Err(1));
        assert_eq!(l.take("c", 499), Err(1), "half a delivery is not one");
        assert_eq!(l.take("c", 500), Ok(()));
        assert_eq!(l.take("c", 500), Err(1));
        assert_eq!(l.take("c", 10_000), Ok(()), "refilled, up to the burst");
    }

    #[test]
    fn channels_have_buckets_of_their_own() {
        let mut l = limiter(0.1, 1.0);
        assert_eq!(l.take("a", 0), Ok(()));
        assert_eq!(l.take("a", 0), Err(10));
        assert_eq!(l.take("b", 0), Ok(()));
    }

    #[test]
    fn the_table_stays_bounded_and_forgets_idle_channels() {
        let mut l = limiter(1.0, 1.0);
        for i in 0..MAX_CHANNELS {
            assert_eq!(l.take(&format!("c{i}"), 0), Ok(()));
        }
        assert_eq!(l.take("late", 5_000), Ok(()));
        assert!(l.buckets.len() <= 1, "idle buckets are dropped");
    }
}
