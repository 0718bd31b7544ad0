//! WAL checkpoints off the commit path.
//!
//! SQLite's automatic checkpoint runs inside whichever commit crosses the WAL threshold, so one
//! help request in ~70 paid for copying the log back into the database (the p99 in
//! `docs/benchmarks.md`). A thread with its own connection runs `PRAGMA wal_checkpoint(PASSIVE)`
//! instead, woken every [`COMMITS_PER_CHECKPOINT`] commits: a passive checkpoint never blocks the
//! writer. The writer's own automatic checkpoint stays on at a much higher threshold
//! ([`FALLBACK_PAGES`]) as a safety net, so the log stays bounded even if this thread falls behind.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

/// Commits between two background checkpoints (~10 pages of log each). Measured: every 32 commits
/// cost the help request's p50 more than it saved at p99; every 200 halves the p99 and leaves the
/// p50 as it was (docs/benchmarks.md).
pub(super) const COMMITS_PER_CHECKPOINT: usize = 200;
/// The writer checkpoints by itself only past this many pages of log (~16 MB).
pub(super) const FALLBACK_PAGES: i64 = 4000;

#[derive(Debug, Default)]
struct Signal {
    /// Checkpoints asked for and not yet run; `None` once the store is closing.
    pending: Mutex<Option<usize>>,
    wake: Condvar,
}

/// The background checkpointer of one store; stops when dropped.
#[derive(Debug)]
pub(super) struct Checkpointer {
    signal: Arc<Signal>,
    commits: AtomicUsize,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread for the database at `path`. If it cannot start (no threads, the file
    /// cannot be opened again), the writer's fallback checkpoints keep the log bounded.
    pub(super) fn start(path: &Path) -> Checkpointer {
        let signal = Arc::new(Signal {
            pending: Mutex::new(Some(0)),
            wake: Condvar::new(),
        });
        let thread = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ok()
        .and_then(|conn| {
            conn.busy_timeout(std::time::Duration::from_secs(1)).ok()?;
            let signal = signal.clone();
            std::thread::Builder::new()
                .name("fieldwork-checkpoint".into())
                .spawn(move || run(&conn, &signal))
                .ok()
        });
        Checkpointer {
            signal,
            commits: AtomicUsize::new(0),
            thread,
        }
    }

    /// Counts a commit; every [`COMMITS_PER_CHECKPOINT`] wakes the thread.
    pub(super) fn committed(&self) {
        let n = self.commits.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(COMMITS_PER_CHECKPOINT) {
            self.wake();
        }
    }

    /// Counts a commit of many pages (a page of a pull, a batch of checks) and wakes the thread
    /// at once: a bootstrap fills the log at megabytes a second, and left to the count above
    /// it would reach [`FALLBACK_PAGES`], where the writer checkpoints inside whichever commit
    /// crosses it — a help request's, 25 ms (docs/benchmarks.md, "Device store").
    pub(super) fn committed_many(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.wake();
    }

    fn wake(&self) {
        let mut pending = self
            .signal
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = pending.as_mut() {
            *count += 1;
            self.signal.wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        *self
            .signal
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        self.signal.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, signal: &Signal) {
    loop {
        {
            let mut pending = signal.pending.lock().unwrap_or_else(|p| p.into_inner());
            while *pending == Some(0) {
                pending = signal.wake.wait(pending).unwrap_or_else(|p| p.into_inner());
            }
            match pending.as_mut() {
                Some(count) => *count = 0,
                None => return,
            }
        }
        // PASSIVE copies what it can without waiting for readers or blocking the writer; what
        // it cannot copy now is copied next time.
        if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(%error, "background checkpoint skipped");
        }
    }
}
