//! Group commit. The commits of one tenant take turns (seq order is commit order, and notices go
//! out in seq order), and each used to hold the turn through its own transaction and flush to
//! disk, so a busy tenant's pushes queued behind one another's fsyncs
//! (`docs/benchmarks.md`, "Server under load"). Now each judged and prepared commit joins its
//! tenant's [`Lane`]; the lane's leader, in the turn, stores everything waiting there (up to
//! [`MAX_GROUP`]) in one transaction ([`crate::storage::TicketLog::commit_group`]) and answers
//! each once it is on disk. A commit the store refuses is refused alone; one whose ticket moved
//! meanwhile (another commit of the same group touched it) is judged again after the group, still
//! in the turn, and stored on its own.
//!
//! One commit at a time leads its lane: it stores groups on a thread of its own, at the normal
//! priority above the request threads' (`crate::priority`), until the lane is empty
//! ([`Lane::lead`]). The others only wait for their answer, so a caller that goes away (a
//! device dropping its connection) neither strands its commit in the lane nor loses its notice,
//! and the lane never waits in the blocking pool's queue between groups while it holds the turn.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::write::{self, Prepared};
use super::{Author, Committed, Inner, ProposedChange};
use crate::error::Error;
use crate::storage::{Conflict, StorageError, TicketCommit};

/// Most commits stored in one transaction. Each waits for the whole group's flush, so a group
/// is kept small enough that the first in it is not held long by the last.
pub(super) const MAX_GROUP: usize = 64;

/// One tenant's turn and the commits waiting for it.
#[derive(Debug, Default)]
pub(super) struct Lane {
    turn: Arc<tokio::sync::Mutex<()>>,
    queue: Mutex<Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    waiting: VecDeque<Waiting>,
    /// A commit's blocking work is storing this lane's groups.
    led: bool,
}

/// A commit waiting in its tenant's lane.
struct Waiting {
    author: Author,
    /// Kept to judge again should a ticket move before the commit is stored.
    changes: Vec<ProposedChange>,
    prepared: Prepared,
    answer: oneshot::Sender<Result<Committed, Error>>,
}

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting")
            .field("changes", &self.changes.len())
            .finish_non_exhaustive()
    }
}

impl Lane {
    /// The tenant's turn, for work that must not run beside a commit (an erase).
    pub(super) fn turn(&self) -> Arc<tokio::sync::Mutex<()>> {
        self.turn.clone()
    }

    /// Stores a prepared commit with whatever else waits in the lane, and answers once it is
    /// on disk.
    pub(super) async fn commit(
        self: Arc<Self>,
        inner: Arc<Inner>,
        tenant: String,
        author: Author,
        changes: Vec<ProposedChange>,
        prepared: Prepared,
    ) -> Result<Committed, Error> {
        let (answer, answered) = oneshot::channel();
        let lead = {
            let mut queue = self.lock_queue();
            queue.waiting.push_back(Waiting {
                author,
                changes,
                prepared,
                answer,
            });
            !std::mem::replace(&mut queue.led, true)
        };
        if lead {
            // Its own thread, at the normal priority, not one of the (lowered) request threads:
            // every push waiting here needs it to run (`crate::priority`).
            let (lane, leading, of) = (self.clone(), inner.clone(), tenant.clone());
            let spawned = std::thread::Builder::new()
                .name("fieldwork-commit".into())
                .spawn(move || lane.lead(&leading, &of));
            if let Err(error) = spawned {
                tracing::warn!(%error, "no thread for the commit lane; it leads from the pool");
                let lane = self.clone();
                tokio::task::spawn_blocking(move || lane.lead(&inner, &tenant));
            }
        }
        answered.await.unwrap_or_else(|_| {
            Err(Error::Task(
                "the commit's group ended without an answer".into(),
            ))
        })
    }

    /// The leading commit's blocking work: takes the turn and stores what waits, a group at a
    /// time, until the lane is empty.
    fn lead(&self, inner: &Inner, tenant: &str) {
        loop {
            let turn = self.turn.blocking_lock();
            let group: Vec<Waiting> = {
                let mut queue = self.lock_queue();
                if queue.waiting.is_empty() {
                    queue.led = false;
                    return;
                }
                let n = queue.waiting.len().min(MAX_GROUP);
                queue.waiting.drain(..n).collect()
            };
            // A panic in one group drops its answers (their callers hear of it); the lane goes on.
            let stored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                store_group(inner, tenant, group);
            }));
            if stored.is_err() {
                tracing::error!(
                    "storing a group of commits panicked; its commits were answered with an error"
                );
            }
            drop(turn);
        }
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Stores a group in the turn and answers each of its commits.
fn store_group(inner: &Inner, tenant: &str, group: Vec<Waiting>) {
    let commits: Vec<&TicketCommit> = group.iter().filter_map(|w| w.prepared.commit()).collect();
    let started = std::time::Instant::now();
    let stored = if commits.is_empty() {
        Ok(Vec::new())
    } else {
        inner.store.commit_group(&commits)
    };
    tracing::debug!(
        commits = commits.len(),
        took_us = started.elapsed().as_micros() as u64,
        "group stored"
    );
    let mut stored = match stored {
        Ok(stored) => stored.into_iter(),
        Err(error) => {
            fail_group(inner, tenant, group, &error);
            return;
        }
    };
    let mut again = Vec::new();
    for waiting in group {
        let outcome = match waiting.prepared.commit() {
            None => Ok(Vec::new()),
            Some(_) => stored.next().unwrap_or_else(|| {
                Err(StorageError::backend(
                    "the store answered fewer commits than it was given",
                ))
            }),
        };
        match outcome {
            Ok(seqs) => {
                let committed = waiting.prepared.finish(&seqs, &inner.cache, tenant);
                inner.announce(tenant, &waiting.author, &committed);
                let _ = waiting.answer.send(Ok(committed));
            }
            Err(StorageError::Conflict(Conflict::Moved)) => again.push(waiting),
            Err(error) => {
                let _ = waiting.answer.send(Err(error.into()));
            }
        }
    }
    // After the group, in the turn: nothing of the tenant moves any more.
    for waiting in again {
        tracing::debug!(tenant, "a ticket moved while the commit was judged; again");
        let Waiting {
            author,
            changes,
            answer,
            ..
        } = waiting;
        let committed = inner
            .judge(&author, tenant, changes)
            .and_then(|(judged, now)| {
                let prepared = write::prepare(judged, tenant, author.device_id(), now)?;
                write::store(prepared, inner.store.as_ref(), &inner.cache, tenant)
            });
        if let Ok(committed) = &committed {
            inner.announce(tenant, &author, committed);
        }
        let _ = answer.send(committed);
    }
}

/// The store refused the whole group (nothing of it is stored): every commit that had something
/// to store hears why; one that had nothing to store is done all the same.
fn fail_group(inner: &Inner, tenant: &str, group: Vec<Waiting>, error: &StorageError) {
    tracing::warn!(%error, commits = group.len(), "a group commit failed");
    for waiting in group {
        let answer = match waiting.prepared.commit() {
            Some(_) => Err(error
                .told_again("the group this commit was stored with failed")
                .into()),
            None => Ok(waiting.prepared.finish(&[], &inner.cache, tenant)),
        };
        let _ = waiting.answer.send(answer);
    }
}
