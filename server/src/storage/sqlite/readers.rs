//! The read connections: a bounded pool. Opening a connection is not cheap — SQLite parses the
//! whole schema on its first statement and sets up its page cache — and under load a pool that
//! only kept a few idle connections opened and closed one per request (`docs/benchmarks.md`,
//! "Server under load"). Reads beyond [`MAX_READERS`] at once wait for a connection instead: two
//! cores gain nothing from more reads at a time.
//!
//! A read that runs inside another read on the same thread (a store method called from a
//! [`crate::storage::TicketLog::read`] closure) never waits — it could wait for itself — and
//! opens a connection past the bound if none is idle; that one is closed when given back.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};

use rusqlite::Connection;

use super::{lock, schema};
use crate::storage::Result;

/// Most read connections open at once (outside nested reads).
pub(super) const MAX_READERS: usize = 8;

thread_local! {
    /// How many read connections this thread holds right now.
    static HELD: Cell<usize> = const { Cell::new(0) };
}

#[derive(Debug, Default)]
struct Counts {
    idle: Vec<Connection>,
    /// Open connections, idle or lent.
    open: usize,
}

#[derive(Debug)]
pub(super) struct ReaderPool {
    path: PathBuf,
    counts: Mutex<Counts>,
    returned: Condvar,
}

impl ReaderPool {
    pub(super) fn new(path: PathBuf) -> Self {
        ReaderPool {
            path,
            counts: Mutex::new(Counts::default()),
            returned: Condvar::new(),
        }
    }

    /// Runs `work` on a read connection, waiting for one if [`MAX_READERS`] are lent.
    pub(super) fn with<T>(&self, work: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let nested = HELD.get() > 0;
        let mut lent = Lent {
            pool: self,
            conn: Some(self.take(nested)?),
        };
        HELD.set(HELD.get() + 1);
        let conn = lent.conn.as_mut().expect("set above");
        work(conn)
    }

    fn take(&self, nested: bool) -> Result<Connection> {
        let mut counts = lock(&self.counts);
        loop {
            if let Some(conn) = counts.idle.pop() {
                return Ok(conn);
            }
            if counts.open < MAX_READERS || nested {
                counts.open += 1;
                drop(counts);
                return schema::open_reader(&self.path).inspect_err(|_| {
                    lock(&self.counts).open -= 1;
                    self.returned.notify_one();
                });
            }
            counts = self
                .returned
                .wait(counts)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn give_back(&self, conn: Connection) {
        let mut counts = lock(&self.counts);
        if counts.open > MAX_READERS {
            // Opened past the bound for a nested read.
            counts.open -= 1;
            drop(counts);
            drop(conn);
        } else {
            counts.idle.push(conn);
            drop(counts);
        }
        self.returned.notify_one();
    }

    /// How many connections are open (idle or lent), for tests.
    #[cfg(test)]
    pub(super) fn open(&self) -> usize {
        lock(&self.counts).open
    }
}

/// A connection lent to one read: given back (and the thread's count of held connections
/// lowered) however the read ends, a panic included.
struct Lent<'a> {
    pool: &'a ReaderPool,
    conn: Option<Connection>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        HELD.set(HELD.get() - 1);
        if let Some(conn) = self.conn.take() {
            self.pool.give_back(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn pool() -> (tempfile::TempDir, Arc<ReaderPool>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("server.db");
        drop(schema::open_writer(&path).expect("database"));
        (dir, Arc::new(ReaderPool::new(path)))
    }

    #[test]
    fn many_reads_at_once_share_at_most_the_bound_of_connections() {
        let (_dir, pool) = pool();
        let busy = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4 * MAX_READERS)
            .map(|_| {
                let (pool, busy, most) = (pool.clone(), busy.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        pool.with(|conn| {
                            let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            let one: i64 = conn.query_row("SELECT 1", [], |r| r.get(0))?;
                            std::thread::sleep(std::time::Duration::from_millis(1));
                            busy.fetch_sub(1, Ordering::SeqCst);
                            Ok(one)
                        })
                        .expect("read");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("reader thread");
        }
        assert!(most.load(Ordering::SeqCst) <= MAX_READERS);
        assert!(most.load(Ordering::SeqCst) > 1, "reads ran side by side");
        assert!(pool.open() <= MAX_READERS);
    }

    #[test]
    fn a_read_inside_a_read_never_waits_even_with_every_connection_lent() {
        let (_dir, pool) = pool();
        fn nest(pool: &ReaderPool, depth: usize) -> Result<usize> {
            pool.with(|_| {
                if depth == 0 {
                    Ok(pool.open())
                } else {
                    nest(pool, depth - 1)
                }
            })
        }
        let deepest = nest(&pool, MAX_READERS + 2).expect("nested reads finish");
        assert_eq!(deepest, MAX_READERS + 3);
        assert_eq!(pool.open(), MAX_READERS, "the extra ones were closed");
    }
}
