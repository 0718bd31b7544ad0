//! [`PasswordGate`]: at most a few password hashes at once (argon2 takes 19 MiB and a core's
//! worth of time each), a short queue behind them, and an immediate "busy" beyond it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Admits password checks to a fixed number of slots.
#[derive(Debug)]
pub(crate) struct PasswordGate {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    max_wait: Duration,
    gauge: Arc<HashingGauge>,
}

/// The gate is full: the queue is at its limit, or the wait for a slot ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GateBusy;

/// How many hashes run now, and the most that ever ran at once.
#[derive(Debug, Default)]
struct HashingGauge {
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// The right to run one password hash; hand it to the blocking task that hashes, so the slot is
/// held for exactly as long as the hash runs (even when the client has gone away meanwhile).
#[derive(Debug)]
pub(crate) struct HashingSlot {
    _permit: OwnedSemaphorePermit,
    gauge: Arc<HashingGauge>,
}

impl HashingSlot {
    /// Runs `hash` in this slot, then frees the slot.
    pub fn run<T>(self, hash: impl FnOnce() -> T) -> T {
        let running = self.gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.gauge.peak.fetch_max(running, Ordering::SeqCst);
        let out = hash();
        self.gauge.now.fetch_sub(1, Ordering::SeqCst);
        out
    }
}

impl PasswordGate {
    /// `slots` hashes at once (at least 1), at most `max_waiting` callers queued behind them,
    /// each waiting at most `max_wait`.
    pub fn new(slots: usize, max_waiting: usize, max_wait: Duration) -> Self {
        PasswordGate {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
            max_wait,
            gauge: Arc::default(),
        }
    }

    /// A slot, after queueing if all are taken; [`GateBusy`] at once if the queue is full.
    pub async fn enter(&self) -> Result<HashingSlot, GateBusy> {
        let slot = |permit| HashingSlot {
            _permit: permit,
            gauge: self.gauge.clone(),
        };
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(slot(permit));
        }
        let queued = Queued::join(&self.waiting, self.max_waiting).ok_or(GateBusy)?;
        let permit = tokio::time::timeout(self.max_wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| GateBusy)?
            .map_err(|_| GateBusy)?;
        drop(queued);
        Ok(slot(permit))
    }

    /// The most password hashes that ever ran at once.
    pub fn peak(&self) -> usize {
        self.gauge.peak.load(Ordering::SeqCst)
    }
}

/// A place in the queue, left when dropped (also when the waiting request is cancelled).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn join(waiting: &'a AtomicUsize, max: usize) -> Option<Self> {
        waiting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Queued(waiting))
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn beyond_the_slots_and_the_queue_the_answer_is_busy_at_once() {
        let gate = Arc::new(PasswordGate::new(2, 3, LONG));
        let held = [
            gate.enter().await.expect("a free slot"),
            gate.enter().await.expect("a free slot"),
        ];
        let mut queued = Vec::new();
        for _ in 0..3 {
            let gate = gate.clone();
            queued.push(tokio::spawn(async move { gate.enter().await.map(|_| ()) }));
        }
        // Wait (by condition, not by time) until all three stand in the queue.
        while gate.waiting.load(Ordering::SeqCst) < 3 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.enter().await.err(), Some(GateBusy));
        drop(held);
        for waiter in queued {
            assert_eq!(waiter.await.expect("task"), Ok(()));
        }
        assert_eq!(gate.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_wait_that_runs_out_is_busy_and_leaves_the_queue() {
        let gate = PasswordGate::new(1, 8, Duration::from_millis(10));
        let _held = gate.enter().await.expect("a free slot");
        assert_eq!(gate.enter().await.err(), Some(GateBusy));
        assert_eq!(gate.waiting.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn the_gauge_counts_hashes_running_at_once() {
        let gate = PasswordGate::new(4, 0, LONG);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let (a, b) = runtime.block_on(async {
            (
                gate.enter().await.expect("slot"),
                gate.enter().await.expect("slot"),
            )
        });
        a.run(|| b.run(|| ()));
        assert_eq!(gate.peak(), 2);
    }
}
