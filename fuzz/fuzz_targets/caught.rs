//! Panics the code under test catches and turns into a refusal (Automerge's and the image
//! decoders' panics on hostile input are caught where they are called). libFuzzer's own hook would
//! abort on them; this one counts and prints them instead, so only a panic that escapes the code
//! under test is a crash.

use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

static CAUGHT: AtomicUsize = AtomicUsize::new(0);

/// Installs the counting hook (once per process).
pub fn count_caught_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let n = CAUGHT.fetch_add(1, Ordering::Relaxed) + 1;
            let trace = std::backtrace::Backtrace::force_capture();
            eprintln!("panic #{n} (caught unless the run stops here): {info}\n{trace}");
        }));
    });
}
