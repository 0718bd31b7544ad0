//! Which of the server's threads a busy machine runs first. Judging a push or answering a pull is
//! work for one request, and dozens of them run at once; storing a tenant's commit group is one
//! thread's work that every one of those pushes then waits for (`service::group`). With every
//! thread at the same priority, the commit thread got a core for a fraction of the time it was
//! ready to run — measured at 1,000 devices: 17 ms of CPU in a 92 ms group, 65 ms of it waiting
//! for a core (`docs/benchmarks.md`, "The commit lane's priority") — and every push queued behind
//! it. So request work runs a little lower than normal ([`request_priority`]), and the commit
//! thread at the normal priority: when the cores are short the commits go first, and when they
//! are not, nothing changes.

/// How much lower than normal request work runs (a nice value: 10 gives the commit thread about
/// nine times the share of a core that one request thread gets when both are ready to run).
/// Raising a thread's nice value needs no privilege; lowering it again would, so a thread once
/// lowered stays lowered (tokio reuses its blocking threads for request work only).
pub const REQUEST_NICE: i32 = 10;

#[cfg(target_os = "linux")]
thread_local! {
    static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Lowers the calling thread to request priority (once per thread; nothing off Linux, or if
/// the system refuses).
pub fn request_priority() {
    #[cfg(target_os = "linux")]
    LOWERED.with(|lowered| {
        if lowered.replace(true) {
            return;
        }
        let tid = rustix::thread::gettid();
        // The process's own nice value plus REQUEST_NICE (an operator's `nice` is kept).
        let base = rustix::process::getpriority_process(None).unwrap_or(0);
        if let Err(error) =
            rustix::process::setpriority_process(Some(tid), (base + REQUEST_NICE).min(19))
        {
            tracing::debug!(%error, "request threads keep the normal priority");
        }
    });
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_request_thread_runs_lower_and_a_thread_it_did_not_touch_does_not() {
        let base = rustix::process::getpriority_process(None).expect("priority");
        let lowered = std::thread::spawn(|| {
            request_priority();
            request_priority();
            rustix::process::getpriority_process(Some(rustix::thread::gettid())).expect("priority")
        })
        .join()
        .expect("thread");
        assert_eq!(lowered, (base + REQUEST_NICE).min(19));
        let untouched = std::thread::spawn(|| {
            rustix::process::getpriority_process(Some(rustix::thread::gettid())).expect("priority")
        })
        .join()
        .expect("thread");
        assert_eq!(untouched, base, "only the threads that ran request work");
    }
}
