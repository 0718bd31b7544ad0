//! [`HashingThreads`]: the threads password checks run on, one per hashing slot, at a lower CPU
//! priority than the rest of the server (on Linux), so a flood of password checks slows
//! sign-ins and leaves sync its share of the cores.
//!
//! Not tokio's blocking pool: a thread there would keep a lowered priority for the SQLite work it
//! runs later (an unprivileged process cannot raise it back), and argon2's 19 MiB would pass
//! through whichever of hundreds of threads runs it.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::error::Error;

/// How much lower than the server's own priority hashing runs (added to the nice value).
#[cfg(target_os = "linux")]
const NICER_BY: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads taking jobs from one queue; they end when this is dropped.
#[derive(Debug)]
pub(crate) struct HashingThreads {
    jobs: mpsc::Sender<Job>,
}

impl HashingThreads {
    /// Starts `count` threads (at least 1).
    pub fn start(count: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..count.max(1) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("fieldwork-hash-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only to take the next job, never while running one.
                        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok(job) = next else { return };
                        // A job that panics answers its caller with an error (its result
                        // sender is dropped) and must not take the thread, and with it every
                        // later sign-in, down with it.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                });
            if let Err(error) = spawned {
                // Fewer threads only means fewer checks at once; with none, `run` fails cleanly.
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        HashingThreads { jobs }
    }

    /// Runs `work` on one of the threads and returns its result.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        let stopped = || Error::Task("the password hashing threads stopped".into());
        self.jobs.send(job).map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())
    }
}

/// Makes the calling thread yield the CPU to the server's other threads when both want it.
#[cfg(target_os = "linux")]
fn lower_priority() {
    use rustix::process::{getpriority_process, setpriority_process};
    let me = Some(rustix::thread::gettid());
    let lowered =
        getpriority_process(me).and_then(|nice| setpriority_process(me, (nice + NICER_BY).min(19)));
    if let Err(error) = lowered {
        tracing::debug!(%error, "cannot lower the priority of a password hashing thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_hashing_threads_and_answer() {
        let threads = HashingThreads::start(2);
        let name = threads
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .expect("runs");
        assert!(name.is_some_and(|n| n.starts_with("fieldwork-hash-")));
        let mut doubled = Vec::new();
        for i in 0..4u64 {
            doubled.push(threads.run(move || i * 2).await.expect("runs"));
        }
        assert_eq!(doubled, [0, 2, 4, 6]);
    }

    #[tokio::test]
    async fn a_job_that_panics_fails_alone_and_the_thread_goes_on() {
        let threads = HashingThreads::start(1);
        let failed = threads
            .run(|| -> u32 { panic!("a bug in a password check") })
            .await;
        assert!(failed.is_err());
        assert_eq!(threads.run(|| 7).await.expect("still serving"), 7);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_a_lower_priority_than_the_server() {
        let threads = HashingThreads::start(1);
        let server = rustix::process::getpriority_process(None).expect("own priority");
        let hashing = threads
            .run(|| rustix::process::getpriority_process(Some(rustix::thread::gettid())))
            .await
            .expect("runs")
            .expect("priority");
        assert!(hashing > server || server == 19, "{hashing} vs {server}");
    }
}
