//! What the core's benches share: p50/p99 over single calls (criterion reports means, and the
//! budgets in DESIGN.md are set in p99).

use std::time::{Duration, Instant};

use automerge::ActorId;
use fieldwork_core::ticket::{NewTicket, TicketDocument};
use fieldwork_core::{Actor, Role, TicketKind};

/// `user` with `role` in tenant `acme`, team `north`: who the benches' stores belong to.
pub fn actor(user: &str, role: Role) -> Actor {
    Actor {
        tenant: "acme".into(),
        user_id: user.into(),
        role,
        name: None,
        team: Some("north".into()),
    }
}

/// Ticket `t-bench`, a repair, as `by` creates it (a dispatcher, for the benches that work on
/// one ticket document; the others do not use it).
#[allow(dead_code)]
pub fn new_ticket(by: &Actor) -> TicketDocument {
    TicketDocument::create(
        "t-bench",
        by,
        &NewTicket::titled(TicketKind::Repair, "Fridge warm"),
        ActorId::random(),
        1,
    )
    .expect("creates")
}

/// The `q` quantile of `times`, in milliseconds.
pub fn quantile_ms(times: &mut [Duration], q: f64) -> f64 {
    times.sort_unstable();
    times[((times.len() as f64 * q) as usize).min(times.len() - 1)].as_secs_f64() * 1e3
}

/// Runs `f` `runs` times (after a tenth as many to warm up) and prints p50 and p99 under `name`.
pub fn percentiles(name: &str, runs: usize, mut f: impl FnMut()) {
    for _ in 0..runs / 10 {
        f();
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    println!(
        "{name:<58} p50 {:>9.3} ms   p99 {:>9.3} ms   ({runs} runs)",
        quantile_ms(&mut times, 0.50),
        quantile_ms(&mut times, 0.99)
    );
}
