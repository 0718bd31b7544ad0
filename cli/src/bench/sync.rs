//! `fieldwork bench sync`: one status change, a fresh device bootstrapping N tickets, a resync
//! with 1% changed, and the server's memory, against a real `fieldwork serve` on loopback.

use std::path::PathBuf;
use std::time::Instant;

use fieldwork_core::store::ListQuery;
use fieldwork_core::ticket::{Edit, NewTicket};
use fieldwork_core::{Priority, Status, TicketKind};
use fieldwork_harness::NewUser;

use super::{BenchError, phone, server_rss_mib, start_server, step, sync_phone};

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

pub(super) fn bench_sync(n: usize) -> Result<(), BenchError> {
    let dir = tempfile::tempdir().map_err(step("temp dir"))?;
    let data: PathBuf = dir.path().join("server");
    let server = start_server(&data, None, &[])?;
    let tenant = server.create_tenant("bench")?;
    let (_, disp_token) = server.create_user(&tenant, &NewUser::new("dispatcher", "ops"))?;
    let technician = NewUser {
        team: Some("north"),
        ..NewUser::new("technician", "tech")
    };
    let (tech_id, tech_token) = server.create_user(&tenant, &technician)?;
    let (_, agent_token) = server.create_user(&tenant, &NewUser::new("agent", "agent"))?;
    let dispatcher = phone(dir.path(), "dispatcher", &server.url, &disp_token)?;
    let tech = phone(dir.path(), "tech", &server.url, &tech_token)?;
    println!(
        "server {} (RSS at start {:.1} MiB)",
        server.url,
        server_rss_mib(&server).unwrap_or(0.0)
    );

    // 1. One status change, incremental.
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
    tech.store
        .edit(
            &id,
            &[Edit::SetStatus {
                status: Status::Accepted,
            }],
        )
        .map_err(step("accept"))?;
    let r = sync_phone(&tech)?;
    println!(
        "| 1 status change, incremental sync | {} round trip(s), {} B up, {} B down |",
        r.rounds, r.bytes_sent, r.bytes_received
    );

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
    let created = start.elapsed();
    let start = Instant::now();
    let push = sync_phone(&dispatcher)?;
    println!(
        "(setup: created {n} tickets in {:.1} s, pushed in {:.1} s, {} rounds, {} up)",
        created.as_secs_f64(),
        start.elapsed().as_secs_f64(),
        push.rounds,
        kib(push.bytes_sent)
    );
    let agent = phone(dir.path(), "agent", &server.url, &agent_token)?;
    let start = Instant::now();
    let boot = sync_phone(&agent)?;
    let took = start.elapsed();
    let count = agent.store.ticket_count().map_err(step("count"))?;
    println!(
        "| fresh device, {count} visible tickets | {:.2} s ({:.2} s server + transfer, {:.2} s applying), {} rounds, {} down, {} up |",
        took.as_secs_f64(),
        boot.wait_ms as f64 / 1e3,
        boot.apply_ms as f64 / 1e3,
        boot.rounds,
        kib(boot.bytes_received),
        kib(boot.bytes_sent)
    );
    println!(
        "server RSS after bootstrap: {:.1} MiB",
        server_rss_mib(&server).unwrap_or(0.0)
    );

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
    let start = Instant::now();
    let resync = sync_phone(&agent)?;
    println!(
        "| resync, {} of {count} changed | {} round trip(s), {} down for {} of changes ({:.2}×), {:.0} ms |",
        page.len(),
        resync.rounds,
        kib(resync.bytes_received),
        kib(change_bytes),
        resync.bytes_received as f64 / change_bytes.max(1) as f64,
        start.elapsed().as_secs_f64() * 1e3
    );
    println!(
        "server RSS at the end: {:.1} MiB ({n} tickets stored)",
        server_rss_mib(&server).unwrap_or(0.0)
    );
    Ok(())
}
