//! The technician devices `bench load` and `bench login-flood` drive: each with its tickets
//! assigned to it (one, or several for `bench load --tickets-per-device`), signed in and caught
//! up; then, in the measured window, a note on its next ticket in turn and one sync round at a
//! fixed period, timed.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldwork_core::TicketKind;
use fieldwork_core::store::TicketStore;
use fieldwork_core::sync::SyncEngine;
use fieldwork_core::ticket::{Edit, NewTicket};
use fieldwork_harness::{NewUser, Server};
use tokio::time::MissedTickBehavior;

use super::{BenchError, phone, step, sync_phone};

/// Logins and first syncs run on this many threads (the server hashes nothing for a token
/// login, so a few threads fill the setup without queueing behind each other).
const LOGIN_THREADS: usize = 4;

/// A technician account made for the bench, with the tickets assigned to it.
pub(super) struct Account {
    name: String,
    token: String,
    tickets: Vec<String>,
}

/// A technician's device in the window: its store and engine, and its assigned tickets.
pub(super) struct Technician {
    pub(super) store: Arc<TicketStore>,
    pub(super) engine: Arc<SyncEngine>,
    pub(super) tickets: Vec<String>,
}

/// A dispatcher device (`DIR/dispatcher.db`) makes `count` technicians, `tech0…`, in team north,
/// and `per_device` tickets for each, assigned to them and synced to the server.
pub(super) fn accounts(
    server: &Server,
    dir: &Path,
    tenant: &str,
    count: usize,
    per_device: usize,
) -> Result<Vec<Account>, BenchError> {
    let (_, disp_token) = server.create_user(tenant, &NewUser::new("dispatcher", "ops"))?;
    let dispatcher = phone(dir, "dispatcher", &server.url, &disp_token)?;
    let mut accounts = Vec::with_capacity(count);
    for i in 0..count {
        let name = format!("tech{i}");
        let technician = NewUser {
            team: Some("north"),
            ..NewUser::new("technician", &name)
        };
        let (id, token) = server.create_user(tenant, &technician)?;
        let mut tickets = Vec::with_capacity(per_device);
        for k in 0..per_device.max(1) {
            let ticket = dispatcher
                .store
                .create(NewTicket::titled(
                    TicketKind::Repair,
                    format!("Freezer alarm at store {i}, aisle {k}"),
                ))
                .map_err(step("create"))?
                .id;
            dispatcher
                .store
                .edit(
                    &ticket,
                    &[Edit::Assign {
                        assignee: Some(id.clone()),
                    }],
                )
                .map_err(step("assign"))?;
            tickets.push(ticket);
        }
        accounts.push(Account {
            name,
            token,
            tickets,
        });
    }
    sync_phone(&dispatcher)?;
    Ok(accounts)
}

/// Each account's device (`DIR/NAME.db`) logged in and synced, a few at a time; fails unless
/// every device received its ticket.
pub(super) fn sign_in(
    dir: &Path,
    url: &str,
    accounts: &[Account],
) -> Result<Vec<Technician>, BenchError> {
    let chunk = accounts.len().div_ceil(LOGIN_THREADS).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = accounts
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|account| sign_in_one(dir, url, account))
                        .collect::<Result<Vec<_>, BenchError>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| BenchError::Step("login thread panicked".into()))?
            })
            .collect::<Result<Vec<_>, BenchError>>()
            .map(|parts| parts.into_iter().flatten().collect())
    })
}

fn sign_in_one(dir: &Path, url: &str, account: &Account) -> Result<Technician, BenchError> {
    let phone = phone(dir, &account.name, url, &account.token)?;
    sync_phone(&phone)?;
    for ticket in &account.tickets {
        phone
            .store
            .ticket(ticket)
            .map_err(step("device did not receive its ticket"))?;
    }
    Ok(Technician {
        engine: Arc::new(phone.engine()?),
        store: phone.store,
        tickets: account.tickets.clone(),
    })
}

/// What one device (or, merged, the whole fleet) measured in the window.
#[derive(Default)]
pub(super) struct Rounds {
    /// Whole rounds (edit → round done) in microseconds.
    pub(super) round_us: Vec<u64>,
    /// The part of each round spent waiting for the server, in milliseconds.
    pub(super) wait_ms: Vec<u64>,
    /// When each round began (after its edit), in the order of `round_us` and `wait_ms` until
    /// [`Rounds::merged`] sorts those.
    pub(super) began: Vec<Instant>,
    pub(super) errors: usize,
    pub(super) rejected: usize,
    pub(super) first_error: Option<String>,
}

impl Rounds {
    /// One device's failure as a result (a task that panicked or was cancelled).
    pub(super) fn failed(error: String) -> Rounds {
        Rounds {
            errors: 1,
            first_error: Some(error),
            ..Rounds::default()
        }
    }

    /// The 99th percentiles of whole rounds (ms) and of waiting for the server (ms) of the rounds
    /// that began in each `width` from `from` on, every device's together: a stall shows as a
    /// window, not only as a tail.
    pub(super) fn p99_by_window(
        results: &[Rounds],
        from: Instant,
        width: Duration,
    ) -> Vec<(u64, u64)> {
        let mut windows: Vec<(Vec<u64>, Vec<u64>)> = Vec::new();
        for rounds in results {
            for ((began, round_us), wait_ms) in rounds
                .began
                .iter()
                .zip(&rounds.round_us)
                .zip(&rounds.wait_ms)
            {
                let index = (began.saturating_duration_since(from).as_secs_f64()
                    / width.as_secs_f64()) as usize;
                if windows.len() <= index {
                    windows.resize_with(index + 1, Default::default);
                }
                windows[index].0.push(round_us / 1000);
                windows[index].1.push(*wait_ms);
            }
        }
        windows
            .into_iter()
            .map(|(mut round_ms, mut wait_ms)| {
                round_ms.sort_unstable();
                wait_ms.sort_unstable();
                (
                    super::percentile(&round_ms, 0.99),
                    super::percentile(&wait_ms, 0.99),
                )
            })
            .collect()
    }

    /// Every device's rounds together, the samples sorted for percentiles.
    pub(super) fn merged(results: &[Rounds]) -> Rounds {
        let mut round_us: Vec<u64> = results.iter().flat_map(|r| r.round_us.clone()).collect();
        let mut wait_ms: Vec<u64> = results.iter().flat_map(|r| r.wait_ms.clone()).collect();
        round_us.sort_unstable();
        wait_ms.sort_unstable();
        Rounds {
            round_us,
            wait_ms,
            began: Vec::new(),
            errors: results.iter().map(|r| r.errors).sum(),
            rejected: results.iter().map(|r| r.rejected).sum(),
            first_error: results.iter().find_map(|r| r.first_error.clone()),
        }
    }
}

/// A note on the device's next ticket (its tickets in turn) and one sync round every `period`
/// from `first` until `end`; ticks missed while a round runs are skipped, not made up.
pub(super) async fn drive(
    technician: Technician,
    first: tokio::time::Instant,
    period: Duration,
    end: tokio::time::Instant,
) -> Rounds {
    let mut out = Rounds::default();
    let mut ticks = tokio::time::interval_at(first, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut n = 0u64;
    while ticks.tick().await < end {
        n += 1;
        let turn = (n - 1) as usize % technician.tickets.len().max(1);
        let (engine, store, ticket) = (
            technician.engine.clone(),
            technician.store.clone(),
            technician.tickets[turn].clone(),
        );
        // The store is blocking SQLite: the edit runs on the blocking pool so the runtime's
        // workers stay free for timers and sockets. The round is awaited here, not blocked on
        // from the pool: it puts its own store work on the pool, and a thousand devices each
        // holding a pool thread while waiting for another would take every thread there is.
        let edited = tokio::task::spawn_blocking(move || {
            store
                .edit(
                    &ticket,
                    &[Edit::AddNote {
                        text: format!("Checked compressor, reading {n}"),
                        internal: false,
                    }],
                )
                .map_err(|e| format!("edit: {e}"))
        })
        .await
        .map_err(|e| format!("join: {e}"))
        .and_then(|r| r);
        let tick = match edited {
            Ok(_) => {
                let started = Instant::now();
                engine
                    .round(0)
                    .await
                    .map(|round| (started.elapsed(), round, started))
                    .map_err(|e| format!("round: {e}"))
            }
            Err(e) => Err(e),
        };
        match tick {
            Ok((took, round, started)) => {
                out.round_us.push(took.as_micros() as u64);
                out.began.push(started);
                out.wait_ms.push(round.wait_ms);
                out.rejected += round.rejected;
            }
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert(e);
            }
        }
    }
    out
}
