//! [`Frequency`]: how often each ticket was asked of the document cache lately, estimated in a
//! fixed few KiB — a count-min sketch of small counters, halved as time goes on, the way TinyLFU
//! keeps its history (Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache Admission
//! Policy", 2017). The cache compares these counts to decide whether a document loaded on a miss
//! may push out the least recently used ones.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// Rows of counters; an estimate is the smallest of a key's counter in each row.
const DEPTH: usize = 4;

/// A counter stops here: beyond it, "asked often" is all the cache needs to know.
const MAX_COUNT: u8 = 15;

/// The most counters a row holds (4 MiB for the sketch), whatever the cache's capacity.
const MAX_WIDTH: usize = 1 << 20;

/// Recent requests per key, estimated: never below the true count since the last halving (up to
/// [`MAX_COUNT`]), above it only where keys share all their counters.
#[derive(Debug)]
pub(super) struct Frequency {
    counters: Vec<u8>,
    /// A row's width minus one (widths are powers of two).
    mask: usize,
    /// Keyed at random for each cache: nobody can choose ticket ids that share counters.
    hasher: RandomState,
    /// Requests recorded since the counters were last halved.
    recorded: usize,
    /// After this many requests every counter is halved, so old popularity fades.
    period: usize,
}

impl Frequency {
    /// A sketch for a cache of `capacity` entries: four counters per entry in each row, halved
    /// every ten requests per entry.
    pub fn new(capacity: usize) -> Self {
        let width = capacity
            .max(16)
            .saturating_mul(4)
            .min(MAX_WIDTH)
            .next_power_of_two();
        Frequency {
            counters: vec![0; DEPTH * width],
            mask: width - 1,
            hasher: RandomState::new(),
            recorded: 0,
            period: capacity.max(16).saturating_mul(10),
        }
    }

    /// The counter of `key` in each row.
    fn slots(&self, key: &str) -> [usize; DEPTH] {
        let hash = self.hasher.hash_one(key);
        // Two halves of one hash make the rows' indexes (Kirsch and Mitzenmacher).
        let low = hash as u32 as usize;
        let high = ((hash >> 32) as usize) | 1;
        let width = self.mask + 1;
        std::array::from_fn(|row| {
            row * width + (low.wrapping_add(row.wrapping_mul(high)) & self.mask)
        })
    }

    /// Counts one request for `key`. Only the key's smallest counters go up (the conservative
    /// update), so keys sharing a counter inflate each other less.
    pub fn record(&mut self, key: &str) {
        let slots = self.slots(key);
        let least = slots.iter().map(|&s| self.counters[s]).min().unwrap_or(0);
        if least < MAX_COUNT {
            for slot in slots {
                if self.counters[slot] == least {
                    self.counters[slot] = least + 1;
                }
            }
        }
        self.recorded += 1;
        if self.recorded >= self.period {
            for counter in &mut self.counters {
                *counter /= 2;
            }
            self.recorded /= 2;
        }
    }

    /// How often `key` was asked for lately, as estimated.
    pub fn estimate(&self, key: &str) -> u8 {
        self.slots(key)
            .iter()
            .map(|&s| self.counters[s])
            .min()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_up_to_its_ceiling_and_never_under() {
        let mut f = Frequency::new(1000);
        for _ in 0..3 {
            f.record("t/a");
        }
        f.record("t/b");
        assert_eq!(f.estimate("t/a"), 3);
        assert_eq!(f.estimate("t/b"), 1);
        assert_eq!(f.estimate("t/never"), 0);
        for _ in 0..40 {
            f.record("t/a");
        }
        assert_eq!(f.estimate("t/a"), MAX_COUNT);
        // Many keys in a small sketch (fewer requests than a period, so nothing is halved): an
        // estimate may be high where keys share counters, never below what was recorded.
        let mut small = Frequency::new(16);
        let keys: Vec<String> = (0..100).map(|i| format!("t/{i}")).collect();
        for (i, key) in keys.iter().enumerate() {
            for _ in 0..(i % 3) {
                small.record(key);
            }
        }
        for (i, key) in keys.iter().enumerate() {
            assert!(usize::from(small.estimate(key)) >= i % 3, "{key}");
        }
    }

    #[test]
    fn old_popularity_fades() {
        // Wide enough that no other key shares all of "t/old"'s counters (with 16 entries it
        // did, about once in thirty runs, and the halved count read 7).
        let mut f = Frequency::new(1000);
        for _ in 0..12 {
            f.record("t/old");
        }
        assert_eq!(f.estimate("t/old"), 12);
        // A period of other requests halves every counter: what was popular counts less.
        for i in 0..f.period {
            f.record(&format!("t/{}", i % 50));
        }
        assert!(
            f.estimate("t/old") <= 6,
            "halved at least once: {}",
            f.estimate("t/old")
        );
    }
}
