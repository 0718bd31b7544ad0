//! The store's one writer connection, shared by two kinds of writes: a person's (a tap on the
//! help button, an edit: each one short transaction) and the sync's (a pulled answer in several
//! transactions, the check of listed tickets in batches). The sync's step aside: before each of
//! their transactions they wait until no person's write is waiting for the connection, so a
//! tap waits for at most one of the sync's transactions, never for a whole bootstrap. A plain
//! mutex gives no such turn: the thread that releases it usually takes it again at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

/// How long the sync's writer sleeps between looks while a person's write waits.
const STEP_ASIDE: Duration = Duration::from_micros(50);

#[derive(Debug)]
pub(super) struct Writer {
    conn: Mutex<Connection>,
    /// People's writes waiting for the connection now.
    waiting: AtomicUsize,
}

impl Writer {
    pub fn new(conn: Connection) -> Writer {
        Writer {
            conn: Mutex::new(conn),
            waiting: AtomicUsize::new(0),
        }
    }

    /// The connection, for a person's write: the sync's writes let it go first.
    pub fn first(&self) -> MutexGuard<'_, Connection> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let conn = super::lock(&self.conn);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        conn
    }

    /// The connection, for the sync's write, once no person's write waits for it.
    pub fn behind(&self) -> MutexGuard<'_, Connection> {
        while self.waiting.load(Ordering::SeqCst) > 0 {
            std::thread::sleep(STEP_ASIDE);
        }
        super::lock(&self.conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn a_persons_write_goes_between_the_syncs_writes() {
        let writer = Arc::new(Writer::new(Connection::open_in_memory().expect("open")));
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicUsize::new(0));
        // The sync: back-to-back transactions of 2 ms each, as a bootstrap's are.
        let sync = {
            let (writer, stop, done) = (writer.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let _conn = writer.behind();
                    std::thread::sleep(Duration::from_millis(2));
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        while done.load(Ordering::SeqCst) < 3 {
            std::thread::yield_now();
        }
        let mut most = 0;
        for _ in 0..20 {
            let before = done.load(Ordering::SeqCst);
            drop(writer.first());
            most = most.max(done.load(Ordering::SeqCst) - before);
            std::thread::sleep(Duration::from_millis(1));
        }
        stop.store(true, Ordering::SeqCst);
        sync.join().expect("sync thread");
        // It waits for the transaction under way, and no other (a plain mutex let the sync
        // take it again at once, for many).
        assert!(
            most <= 1,
            "a person's write waited for {most} of the sync's"
        );
    }
}
