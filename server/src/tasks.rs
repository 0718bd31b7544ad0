//! [`BackgroundTasks`]: the work a server does on its own schedule (today the blob collector;
//! SLA timers and webhooks later), started by `Server::run`, told to stop when the server stops,
//! and awaited before `run` returns. A task receives a [`StopToken`] and ends soon after it fires;
//! one still running after the grace period is aborted.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{Id, JoinSet};

/// What a background task watches to know when to end.
#[derive(Debug, Clone)]
pub struct StopToken(watch::Receiver<bool>);

impl StopToken {
    /// Completes once the tasks are told to stop (at once if they were already).
    pub async fn stopped(&mut self) {
        // An error means the sender is gone: nothing can tell the task to go on either.
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }
}

/// Tells the tasks to stop, from anywhere (e.g. the shutdown signal's future).
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<watch::Sender<bool>>);

impl StopHandle {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

/// How the tasks ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stopped {
    /// Ended by themselves once told to.
    pub finished: usize,
    /// Panicked (logged).
    pub failed: usize,
    /// Still running after the grace period, so aborted.
    pub aborted: usize,
}

/// The server's background tasks.
#[derive(Debug)]
pub struct BackgroundTasks {
    stop: Arc<watch::Sender<bool>>,
    running: JoinSet<()>,
    names: HashMap<Id, &'static str>,
}

impl Default for BackgroundTasks {
    fn default() -> Self {
        Self::new()
    }
}

impl BackgroundTasks {
    pub fn new() -> Self {
        BackgroundTasks {
            stop: Arc::new(watch::Sender::new(false)),
            running: JoinSet::new(),
            names: HashMap::new(),
        }
    }

    /// Starts `task` on the runtime with a token that fires when the tasks are told to stop.
    /// Call from inside a tokio runtime.
    pub fn spawn<F, Fut>(&mut self, name: &'static str, task: F)
    where
        F: FnOnce(StopToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let token = StopToken(self.stop.subscribe());
        let handle = self.running.spawn(task(token));
        self.names.insert(handle.id(), name);
        tracing::debug!(task = name, "background task started");
    }

    /// A handle that tells the tasks to stop without waiting for them.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.stop.clone())
    }

    /// How many tasks were started and have not been collected by [`Self::stop`].
    pub fn len(&self) -> usize {
        self.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Tells every task to stop and waits for them, at most `grace`; the rest are aborted.
    pub async fn stop(mut self, grace: Duration) -> Stopped {
        self.stop.send_replace(true);
        let mut stopped = Stopped::default();
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let next = tokio::time::timeout_at(deadline, self.running.join_next_with_id()).await;
            match next {
                Ok(None) => break,
                Ok(Some(Ok((id, ())))) => {
                    stopped.finished += 1;
                    let name = self.names.remove(&id).unwrap_or("unnamed");
                    tracing::debug!(task = name, "background task stopped");
                }
                Ok(Some(Err(error))) => {
                    stopped.failed += 1;
                    let name = self.names.remove(&error.id()).unwrap_or("unnamed");
                    tracing::error!(task = name, %error, "background task failed");
                }
                Err(_) => {
                    stopped.aborted = self.running.len();
                    for name in self.names.values() {
                        tracing::warn!(
                            task = name,
                            "background task did not stop in time; aborted"
                        );
                    }
                    self.running.abort_all();
                    // Collect the aborted tasks so nothing outlives the server.
                    while self.running.join_next().await.is_some() {}
                    break;
                }
            }
        }
        stopped
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[tokio::test]
    async fn tasks_end_when_told_and_stop_waits_for_their_last_step() {
        let mut tasks = BackgroundTasks::new();
        let cleaned_up = Arc::new(AtomicBool::new(false));
        let flag = cleaned_up.clone();
        tasks.spawn("sweeper", move |mut stop| async move {
            stop.stopped().await;
            // Work a task does on its way out (a last round, a flush) is waited for.
            tokio::task::yield_now().await;
            flag.store(true, Ordering::SeqCst);
        });
        tasks.spawn("idle", |mut stop| async move { stop.stopped().await });
        assert_eq!(tasks.len(), 2);
        let stopped = tasks.stop(Duration::from_secs(60)).await;
        assert_eq!(
            stopped,
            Stopped {
                finished: 2,
                failed: 0,
                aborted: 0
            }
        );
        assert!(cleaned_up.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_task_that_ignores_the_stop_is_aborted_and_a_panic_is_counted() {
        let mut tasks = BackgroundTasks::new();
        tasks.spawn("stubborn", |_stop| std::future::pending::<()>());
        tasks.spawn("broken", |_stop| async { panic!("a task bug") });
        let stopped = tasks.stop(Duration::from_millis(50)).await;
        assert_eq!((stopped.failed, stopped.aborted), (1, 1));
    }

    #[tokio::test]
    async fn a_handle_stops_the_tasks_before_stop_is_awaited() {
        let mut tasks = BackgroundTasks::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tasks.spawn("watcher", move |mut stop| async move {
            stop.stopped().await;
            let _ = tx.send(stop.is_stopped());
        });
        tasks.stop_handle().stop();
        assert_eq!(rx.await, Ok(true));
        assert_eq!(tasks.stop(Duration::from_secs(60)).await.finished, 1);
    }
}
