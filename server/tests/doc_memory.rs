//! What the document cache's estimate (`cache::estimated_bytes`) says against what documents
//! really take in this process: tickets built the way the server holds them (each device change
//! applied to a fork of the stored document, which then replaces it), kept with their views, and
//! the process's anonymous memory read before and after. Its own test binary, so no other test
//! allocates meanwhile.

use std::sync::Arc;

use fieldwork_core::ticket::{ActorId, Edit, NewTicket, TicketDocument};
use fieldwork_core::{Actor, Role, TicketKind};
use fieldwork_server::{CachedDoc, estimated_bytes};

/// The process's anonymous resident memory (heap and stacks), in bytes.
fn anonymous_memory() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("reads its status");
    let line = status
        .lines()
        .find(|l| l.starts_with("RssAnon:"))
        .expect("RssAnon");
    let kib: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a number");
    kib * 1024
}

fn technician() -> Actor {
    Actor {
        tenant: "t".into(),
        user_id: "tech".into(),
        role: Role::Agent,
        name: None,
        team: None,
    }
}

/// Ticket `n` with `notes` notes, as the server holds it after judging each one.
fn held(n: usize, notes: usize) -> CachedDoc {
    let author = technician();
    let new = NewTicket::titled(TicketKind::Repair, format!("fridge {n} warm"));
    let mut device =
        TicketDocument::create(&format!("ticket-{n}"), &author, &new, ActorId::random(), 1)
            .expect("creates");
    let mut server = TicketDocument::load(&device.save()).expect("loads");
    for i in 0..notes {
        let view = device.view().expect("view");
        let note = Edit::AddNote {
            text: format!("checked the compressor and the door seal, visit {i}"),
            internal: false,
        };
        let change = device
            .apply(&view, &note, &author, 1_000 + i as i64)
            .expect("applies")
            .expect("a change");
        let mut merged = server.fork();
        merged
            .apply_changes(vec![change])
            .expect("the server applies it");
        server = merged;
    }
    let view = Arc::new(server.view().expect("view"));
    CachedDoc {
        seq: notes as u64,
        doc: server,
        staff: None,
        view,
    }
}

#[test]
fn the_cache_estimate_is_not_below_what_held_documents_take() {
    const TICKETS: usize = 300;
    let mut measured = Vec::new();
    for notes in [5, 30] {
        let before = anonymous_memory();
        let mut docs: Vec<CachedDoc> = (0..TICKETS).map(|n| held(n, notes)).collect();
        let real = anonymous_memory().saturating_sub(before) / TICKETS;
        let estimated = docs
            .iter_mut()
            .map(|d| estimated_bytes(&mut d.doc))
            .sum::<usize>()
            / TICKETS;
        eprintln!("{notes} notes: {real} bytes each in memory, {estimated} estimated");
        measured.push((notes, real, estimated));
        drop(docs);
    }
    for (notes, real, estimated) in measured {
        assert!(
            estimated >= real,
            "{notes} notes: the estimate ({estimated} bytes) is below the real {real} bytes"
        );
    }
}
