//! Running sync in the background on its own tokio runtime (one thread): catch up, then keep a
//! long-poll open so news arrives within a second; a local edit, a network change or `sync_now`
//! interrupts the wait. Failed attempts back off with jitter. Photo files move on a task of their
//! own beside it, so a slow upload never delays a ticket. Dropping the handle stops both.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::Notify;

use super::SyncError;
use super::backoff::RetryPolicy;
use super::engine::{SyncEngine, SyncState, retry_delay};
use crate::store::{ChangeOrigin, ObserverHandle};

/// How long one background long-poll waits for news.
pub const LONG_POLL_MS: u32 = 25_000;

/// How often the blob lane looks for files whose retry time came, when nothing else wakes it.
const FILE_PASS_EVERY: Duration = Duration::from_secs(30);

struct Control {
    wake: Notify,
    /// Wakes the blob lane.
    files: Notify,
    stop: AtomicBool,
    network: AtomicBool,
}

/// A running background sync; stops when dropped.
pub struct BackgroundSync {
    control: Arc<Control>,
    thread: Option<JoinHandle<()>>,
    _local_edits: ObserverHandle,
}

impl std::fmt::Debug for BackgroundSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundSync").finish_non_exhaustive()
    }
}

impl BackgroundSync {
    /// Starts syncing `engine` in the background.
    pub fn start(engine: Arc<SyncEngine>) -> Result<Self, SyncError> {
        let control = Arc::new(Control {
            wake: Notify::new(),
            files: Notify::new(),
            stop: AtomicBool::new(false),
            network: AtomicBool::new(true),
        });
        let waker = control.clone();
        let local_edits = engine.store().observe(move |event| {
            if event.origin == ChangeOrigin::Local {
                waker.wake.notify_one();
            }
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SyncError::Protocol(format!("cannot start the sync runtime: {e}")))?;
        let loop_control = control.clone();
        let thread = std::thread::Builder::new()
            .name("fieldwork-sync".into())
            .spawn(move || runtime.block_on(run(engine, loop_control)))
            .map_err(|e| SyncError::Protocol(format!("cannot start the sync thread: {e}")))?;
        Ok(BackgroundSync {
            control,
            thread: Some(thread),
            _local_edits: local_edits,
        })
    }

    /// Sync at once (e.g. the user pulled to refresh).
    pub fn sync_now(&self) {
        self.control.wake.notify_one();
    }

    /// Tells the engine whether the OS reports a network; while unavailable it does not try.
    pub fn set_network_available(&self, available: bool) {
        self.control.network.store(available, Ordering::SeqCst);
        self.control.wake.notify_one();
        self.control.files.notify_one();
    }

    /// Stops the background loop and waits for it to finish its current step.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.control.stop.store(true, Ordering::SeqCst);
        self.control.wake.notify_one();
        self.control.files.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for BackgroundSync {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The blob lane beside ticket sync: a slow or failing file never holds up a ticket. Runs a pass
/// whenever ticket sync caught up, and every so often for files whose retry time came; then
/// fetches the pictures new articles show, and checks the tickets pulls listed from summaries.
async fn run_files(engine: Arc<SyncEngine>, control: Arc<Control>) {
    while !control.stop.load(Ordering::SeqCst) {
        if control.network.load(Ordering::SeqCst) {
            if let Err(error) = engine.move_blobs().await {
                tracing::warn!(%error, "blob lane paused");
            }
            // Pictures of the knowledge base's articles, for reading them offline.
            if let Err(error) = engine.fetch_kb_images().await {
                tracing::warn!(%error, "knowledge-base pictures paused");
            }
            if let Err(error) = engine.report_position().await {
                tracing::warn!(%error, "position report failed");
            }
        }
        // Tickets a pull listed from the server's summaries, checked against their documents.
        if let Err(error) = engine.check_listed().await {
            tracing::warn!(%error, "checking pulled tickets paused");
        }
        tokio::select! {
            () = tokio::time::sleep(FILE_PASS_EVERY) => {}
            () = control.files.notified() => {}
        }
    }
}

async fn run(engine: Arc<SyncEngine>, control: Arc<Control>) {
    let files = tokio::spawn(run_files(engine.clone(), control.clone()));
    run_tickets(engine, control).await;
    // A file mid-upload resumes from the server's offset next time.
    files.abort();
    let _ = files.await;
}

async fn run_tickets(engine: Arc<SyncEngine>, control: Arc<Control>) {
    let once = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    let backoff = RetryPolicy::default();
    let mut failures = 0u32;
    while !control.stop.load(Ordering::SeqCst) {
        if !control.network.load(Ordering::SeqCst) {
            engine.set_state(SyncState::Offline);
            control.wake.notified().await;
            continue;
        }
        let result = tokio::select! {
            result = engine.sync_tickets(once) => result.map(|_| ()),
            () = control.wake.notified() => continue,
        };
        let result = match result {
            // Caught up: let the blob lane look for work, then wait for news from the server,
            // or for something to send.
            Ok(()) => {
                control.files.notify_one();
                tokio::select! {
                    result = engine.wait_for_news(LONG_POLL_MS) => result.map(|_| ()),
                    () = control.wake.notified() => Ok(()),
                }
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => failures = 0,
            Err(error) if !error.is_retryable() => {
                tracing::warn!(%error, "background sync paused until woken");
                control.wake.notified().await;
            }
            Err(_) => {
                failures = failures.saturating_add(1);
                let delay = retry_delay(&backoff, failures).max(Duration::from_millis(50));
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = control.wake.notified() => {}
                }
            }
        }
    }
}
