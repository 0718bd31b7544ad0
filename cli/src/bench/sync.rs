//! `fieldwork bench sync`: one status change reaching a second device, a fresh device
//! bootstrapping N tickets, a resync with 1% changed, and the server's memory, against a real
//! `fieldwork serve` on loopback. The devices reach the server through a counting relay, so the
//! bytes are what crossed the wire (headers included); `--json` prints the figures as one object
//! for `bench/peers/run.sh`, which sets them beside automerge-repo's.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fieldwork_core::store::ListQuery;
use fieldwork_core::sync::{self as core_sync, RetryPolicy};
use fieldwork_core::ticket::{Edit, NewTicket};
use fieldwork_core::{Priority, Status, TicketKind};
use fieldwork_harness::NewUser;
use serde::Serialize;

use super::relay::{Relay, Wire};
use super::{BenchError, anon_mib, phone, server_rss_mib, start_server, step, sync_phone};

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// What `bench sync` measured (also its `--json`).
#[derive(Debug, Serialize)]
struct SyncFigures {
    engine: &'static str,
    tickets: usize,
    status_change: StatusChange,
    setup_ms: u64,
    bootstrap: Bootstrap,
    resync: Resync,
    server_rss_mib_after_bootstrap: f64,
    server_rss_mib_end: f64,
    /// Heap and stacks only (RSS also counts the database pages the server reads through a
    /// memory map, which the kernel may drop at will).
    server_anon_mib_end: f64,
    /// The same after the server sat idle past the allocator's decay (jemalloc hands freed pages
    /// back after 10 s): what the server still holds, not the burst's leftovers.
    server_anon_mib_settled: f64,
}

/// One status change on one device until a second device, long-polling, has stored it.
#[derive(Debug, Serialize)]
struct StatusChange {
    ms: u64,
    /// Both devices' bytes meanwhile, headers included.
    bytes_up: u64,
    bytes_down: u64,
    /// The same, bodies only.
    body_bytes_up: u64,
    body_bytes_down: u64,
    /// Round trips of the device that made the change.
    round_trips: usize,
}

#[derive(Debug, Serialize)]
struct Bootstrap {
    /// Until every ticket is on the device and listed (`sync_tickets`).
    ms: u64,
    /// Until, besides, every document was loaded and checked against its listing
    /// (`check_listed`, docs/adr/0018-list-first-check-later.md).
    checked_ms: u64,
    /// What the check did: rows corrected and tickets dropped (both 0 against an honest server).
    corrected: usize,
    dropped: usize,
    visible: usize,
    server_and_transfer_ms: u64,
    applying_ms: u64,
    round_trips: usize,
    bytes_up: u64,
    bytes_down: u64,
}

#[derive(Debug, Serialize)]
struct Resync {
    ms: u64,
    changed: usize,
    round_trips: usize,
    bytes_up: u64,
    bytes_down: u64,
    /// The changes' own bytes, for the ratio of what came down to what changed.
    change_bytes: u64,
}

pub(super) fn bench_sync(n: usize, json: bool) -> Result<(), BenchError> {
    let figures = measure(n)?;
    if json {
        println!("{}", serde_json::to_string(&figures).map_err(step("json"))?);
    } else {
        print_table(&figures);
    }
    Ok(())
}

fn print_table(f: &SyncFigures) {
    let s = &f.status_change;
    println!(
        "| 1 status change, to a second device (long-polling) | {} ms, {} round trip(s), {} B up, {} B down on the wire ({} B / {} B of bodies) |",
        s.ms, s.round_trips, s.bytes_up, s.bytes_down, s.body_bytes_up, s.body_bytes_down
    );
    println!(
        "(setup: {} tickets created and pushed in {:.1} s)",
        f.tickets,
        f.setup_ms as f64 / 1e3
    );
    let b = &f.bootstrap;
    println!(
        "| fresh device, {} visible tickets | listed in {:.2} s ({:.2} s server + transfer, {:.2} s applying), {} rounds, {} down, {} up; every document checked {:.2} s after the start ({} rows corrected, {} tickets dropped) |",
        b.visible,
        b.ms as f64 / 1e3,
        b.server_and_transfer_ms as f64 / 1e3,
        b.applying_ms as f64 / 1e3,
        b.round_trips,
        kib(b.bytes_down),
        kib(b.bytes_up),
        b.checked_ms as f64 / 1e3,
        b.corrected,
        b.dropped
    );
    println!(
        "server RSS after bootstrap: {:.1} MiB",
        f.server_rss_mib_after_bootstrap
    );
    let r = &f.resync;
    println!(
        "| resync, {} of {} changed | {} round trip(s), {} down for {} of changes ({:.2}×), {} ms |",
        r.changed,
        b.visible,
        r.round_trips,
        kib(r.bytes_down),
        kib(r.change_bytes),
        r.bytes_down as f64 / r.change_bytes.max(1) as f64,
        r.ms
    );
    println!(
        "server RSS at the end: {:.1} MiB, of which {:.1} MiB anonymous ({} tickets stored); anonymous after {} s idle: {:.1} MiB",
        f.server_rss_mib_end,
        f.server_anon_mib_end,
        f.tickets,
        SETTLE.as_secs(),
        f.server_anon_mib_settled
    );
}

/// How long the server sits idle before its memory is read again (past jemalloc's 10 s decay).
const SETTLE: Duration = Duration::from_secs(12);

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn measure(n: usize) -> Result<SyncFigures, BenchError> {
    let dir = tempfile::tempdir().map_err(step("temp dir"))?;
    let data: PathBuf = dir.path().join("server");
    let server = start_server(&data, None, &[])?;
    let relay = Relay::start(&server.url)?;
    let tenant = server.create_tenant("bench")?;
    let (_, disp_token) = server.create_user(&tenant, &NewUser::new("dispatcher", "ops"))?;
    let technician = NewUser {
        team: Some("north"),
        ..NewUser::new("technician", "tech")
    };
    let (tech_id, tech_token) = server.create_user(&tenant, &technician)?;
    let (_, agent_token) = server.create_user(&tenant, &NewUser::new("agent", "agent"))?;
    let dispatcher = phone(dir.path(), "dispatcher", &relay.url, &disp_token)?;
    let tech = phone(dir.path(), "tech", &relay.url, &tech_token)?;

    // 1. One status change, from the technician to the dispatcher's long-poll.
    let id = dispatcher
        .store
        .create(NewTicket::titled(TicketKind::Repair, "Compressor noise"))
        .map_err(step("create"))?
        .id;
    dispatcher
        .store
        .edit(
            &id,
            &[Edit::Assign {
                assignee: Some(tech_id.clone()),
            }],
        )
        .map_err(step("assign"))?;
    sync_phone(&dispatcher)?;
    sync_phone(&tech)?;
    let status_change = std::thread::scope(|scope| {
        let listener = dispatcher.engine()?;
        let waiting = scope.spawn(move || {
            core_sync::block_on(async {
                let mut body = Wire::default();
                // A few long-polls at most: the change is made right after the first began.
                for _ in 0..3 {
                    let round = listener.wait_for_news(20_000).await?;
                    body.up += round.bytes_sent as u64;
                    body.down += round.bytes_received as u64;
                    if round.pulled > 0 {
                        return Ok((Instant::now(), body));
                    }
                }
                Err(core_sync::SyncError::Protocol(
                    "the status change never reached the second device".into(),
                ))
            })
        });
        // Let the long-poll reach the server before the change is made.
        std::thread::sleep(Duration::from_millis(300));
        let before = relay.counted();
        let changed_at = Instant::now();
        tech.store
            .edit(
                &id,
                &[Edit::SetStatus {
                    status: Status::Accepted,
                }],
            )
            .map_err(step("accept"))?;
        let push = sync_phone(&tech)?;
        let (arrived, body) = waiting
            .join()
            .map_err(|_| BenchError::Step("the long-poll thread panicked".into()))?
            .map_err(step("runtime"))?
            .map_err(step("long-poll"))?;
        let wire = relay.counted() - before;
        Ok::<_, BenchError>(StatusChange {
            ms: millis(arrived.saturating_duration_since(changed_at)),
            bytes_up: wire.up,
            bytes_down: wire.down,
            body_bytes_up: push.bytes_sent as u64 + body.up,
            body_bytes_down: push.bytes_received as u64 + body.down,
            round_trips: push.rounds,
        })
    })?;

    // 2. A fresh device bootstraps n tickets.
    let start = Instant::now();
    for i in 0..n {
        let mut new = NewTicket::titled(
            TicketKind::Repair,
            format!("Ticket {i}: freezer alarm at store {}", i % 97),
        );
        new.priority = Priority::ALL[i % 4];
        new.description = "Temperature above −12 °C for 20 minutes; customer moved stock.".into();
        dispatcher.store.create(new).map_err(step("create"))?;
    }
    sync_phone(&dispatcher)?;
    let setup_ms = millis(start.elapsed());
    let agent = phone(dir.path(), "agent", &relay.url, &agent_token)?;
    let before = relay.counted();
    let engine = agent.engine()?;
    let start = Instant::now();
    let boot = core_sync::block_on(engine.sync_tickets(RetryPolicy::default()))
        .map_err(step("runtime"))?
        .map_err(step("sync"))?;
    let took = start.elapsed();
    let check = core_sync::block_on(engine.check_listed())
        .map_err(step("runtime"))?
        .map_err(step("check"))?;
    let checked = start.elapsed();
    let wire = relay.counted() - before;
    let bootstrap = Bootstrap {
        ms: millis(took),
        checked_ms: millis(checked),
        corrected: check.corrected,
        dropped: check.dropped,
        visible: agent.store.ticket_count().map_err(step("count"))?,
        server_and_transfer_ms: boot.wait_ms,
        applying_ms: boot.apply_ms,
        round_trips: boot.rounds,
        bytes_up: wire.up,
        bytes_down: wire.down,
    };
    let server_rss_mib_after_bootstrap = server_rss_mib(&server).unwrap_or(0.0);

    // 3. Resync with 1% changed.
    let page = dispatcher
        .store
        .list(&ListQuery {
            limit: (n / 100).max(1) as u32,
            ..Default::default()
        })
        .map_err(step("list"))?;
    for row in &page {
        let title = format!("{} (rechecked)", row.title);
        dispatcher
            .store
            .edit(&row.id, &[Edit::SetTitle { title }])
            .map_err(step("edit"))?;
    }
    let change_bytes: usize = dispatcher
        .store
        .outbox_batch(100_000)
        .map_err(step("outbox"))?
        .iter()
        .map(|c| c.change.len())
        .sum();
    sync_phone(&dispatcher)?;
    let before = relay.counted();
    let start = Instant::now();
    let again = sync_phone(&agent)?;
    let took = start.elapsed();
    let wire = relay.counted() - before;
    let resync = Resync {
        ms: millis(took),
        changed: page.len(),
        round_trips: again.rounds,
        bytes_up: wire.up,
        bytes_down: wire.down,
        change_bytes: change_bytes as u64,
    };
    let server_rss_mib_end = server_rss_mib(&server).unwrap_or(0.0);
    let server_anon_mib_end = server.pid().and_then(anon_mib).unwrap_or(0.0);
    std::thread::sleep(SETTLE);
    let server_anon_mib_settled = server.pid().and_then(anon_mib).unwrap_or(0.0);
    Ok(SyncFigures {
        engine: "fieldwork",
        tickets: n,
        status_change,
        setup_ms,
        bootstrap,
        resync,
        server_rss_mib_after_bootstrap,
        server_rss_mib_end,
        server_anon_mib_end,
        server_anon_mib_settled,
    })
}
