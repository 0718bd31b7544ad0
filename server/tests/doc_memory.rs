//! What the document cache's estimate (`cache::estimated_bytes`) says against what documents
//! really take in this process: tickets built the way the server holds them (each device change
//! applied to a fork of the stored document, which then replaces it), kept with their views, and
//! the process's anonymous memory read before and after. Its own test binary, so no other test
//! allocates meanwhile.

use std::sync::Arc;

use fieldwork_core::ticket::{ActorId, Edit, NewTicket, TicketDocument};
use fieldwork_core::{Actor, Role, TicketKind};
use fieldwork_server::{CachedDoc, PackedView, estimated_bytes, estimated_view_bytes};

/// The process's anonymous resident memory (heap and stacks), in bytes, after handing every
/// free page back to the system, so memory freed earlier is not reused unseen.
// The one unsafe call of the workspace, in a test: glibc's `malloc_trim` takes no pointer and
// only releases free memory of its own arenas.
#[allow(unsafe_code)]
fn anonymous_memory() -> usize {
    // SAFETY: malloc_trim takes no pointer and touches only memory malloc holds free.
    unsafe { libc::malloc_trim(0) };
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
        user_id: "6f1c2a8e-3b7d-4f0a-9c2e-1d5b8a7e4c3f".into(),
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

/// One test, so nothing else allocates in this process while it measures.
#[test]
fn the_estimates_are_not_below_what_held_documents_and_kept_views_take() {
    let mut measured = Vec::new();
    for (notes, tickets) in [(5, 300), (30, 300), (120, 60), (480, 12)] {
        let before = anonymous_memory();
        let mut docs: Vec<CachedDoc> = (0..tickets).map(|n| held(n, notes)).collect();
        let real = anonymous_memory().saturating_sub(before) / tickets;
        let estimated = docs
            .iter_mut()
            .map(|d| estimated_bytes(&mut d.doc))
            .sum::<usize>()
            / tickets;
        let (view_real, view_estimated) = views_measured(&docs);
        eprintln!(
            "{notes} notes: a document with its view takes {real} bytes, {estimated} estimated; \
             a view alone {view_real}, {view_estimated} estimated"
        );
        measured.push((notes, real, estimated, view_real, view_estimated));
        drop(docs);
    }
    for (notes, real, estimated, view_real, view_estimated) in measured {
        assert!(
            estimated >= real,
            "{notes} notes: the estimate ({estimated} bytes) is below the real {real} bytes"
        );
        assert!(
            view_estimated >= view_real,
            "{notes} notes: the view estimate ({view_estimated} bytes) is below the real {view_real}"
        );
    }
}

/// What the views of `docs` take when packed as the cache keeps them, and the estimate, per view.
fn views_measured(docs: &[CachedDoc]) -> (usize, usize) {
    let before = anonymous_memory();
    let views: Vec<PackedView> = docs
        .iter()
        .map(|d| PackedView::pack((*d.view).clone()))
        .collect();
    let real = anonymous_memory().saturating_sub(before) / docs.len();
    let estimated = views.iter().map(estimated_view_bytes).sum::<usize>() / docs.len();
    (real, estimated)
}
