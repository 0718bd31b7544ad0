//! What the server's judging and the device's own edit cost on one ticket document, by the
//! ticket's size: loading it (what the server's document cache pays on a miss), reading the
//! whole view, checking the whole document against the limits, a device adding a note (its own
//! write checked, the ticket read back), and the server judging that note.
//!
//! Run: `cargo bench -p fieldwork-core --bench document`.

// Only `actor` and `new_ticket` of the benches' shared helpers are used here.
#[allow(dead_code)]
mod support;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fieldwork_core::Role;
use fieldwork_core::rules::judge::{judge_edit, judge_edit_owned};
use fieldwork_core::ticket::{Edit, TicketDocument};
use support::{actor, new_ticket};

/// A ticket a dispatcher assigned to a technician, who has written `notes` notes on it.
fn ticket(notes: usize) -> TicketDocument {
    let dispatcher = actor("disp1", Role::Dispatcher);
    let tech = actor("tech1", Role::Technician);
    let mut doc = new_ticket(&dispatcher);
    let created = doc.view().expect("view");
    let assign = Edit::Assign {
        assignee: Some(tech.user_id.clone()),
    };
    doc.apply(&created, &assign, &dispatcher, 1)
        .expect("assigns");
    for n in 0..notes {
        let view = doc.view().expect("view");
        doc.apply(&view, &note(n), &tech, 2).expect("applies");
    }
    doc
}

fn note(n: usize) -> Edit {
    Edit::AddNote {
        text: format!("Checked compressor, reading {n}"),
        internal: false,
    }
}

fn bench_document(c: &mut Criterion) {
    let tech = actor("tech1", Role::Technician);
    let mut group = c.benchmark_group("document");
    for notes in [5, 60] {
        let mut doc = ticket(notes);
        let view = doc.view().expect("view");
        // What a cache miss on the server costs: the ticket as stored, loaded.
        let snapshot = doc.save();
        group.bench_function(format!("{notes} notes: load the compacted snapshot"), |b| {
            b.iter(|| TicketDocument::load(&snapshot).expect("loads"))
        });
        let changes: Vec<u8> = doc
            .changes_since(&[])
            .iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .collect();
        group.bench_function(format!("{notes} notes: load from its changes"), |b| {
            b.iter(|| TicketDocument::load(&changes).expect("loads"))
        });
        group.bench_function(format!("{notes} notes: read the view"), |b| {
            b.iter(|| doc.view().expect("view"))
        });
        group.bench_function(format!("{notes} notes: check the limits (server)"), |b| {
            b.iter(|| doc.check_limits(true).expect("within"))
        });
        // What a device's edit does: the note written and checked, the ticket read back.
        group.bench_function(
            format!("{notes} notes: the device adds a note and reads the ticket"),
            |b| {
                b.iter_batched(
                    || doc.fork(),
                    |mut copy| {
                        copy.apply(&view, &note(notes), &tech, 3).expect("applies");
                        copy.view_after_own_edits(false).expect("view")
                    },
                    BatchSize::SmallInput,
                )
            },
        );
        let change = doc
            .fork()
            .apply(&view, &note(notes), &tech, 3)
            .expect("applies")
            .expect("a change");
        group.bench_function(format!("{notes} notes: the server judges a note"), |b| {
            b.iter_batched(
                || doc.fork(),
                |mut copy| judge_edit(&tech, &mut copy, &view, &change).expect("accepted"),
                BatchSize::SmallInput,
            )
        });
        // What the server does for a ticket as stored: no copy to try the change on.
        group.bench_function(
            format!("{notes} notes: the server judges a note on the document itself"),
            |b| {
                b.iter_batched(
                    || doc.fork(),
                    |copy| judge_edit_owned(&tech, copy, &view, &change).expect("accepted"),
                    BatchSize::SmallInput,
                )
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_document);
criterion_main!(benches);
