//! What checking a bundle costs on import (`core::rules::imports`, docs/security.md "Bundles"):
//! a whole ticket of 999 changes imported into a fresh store, every change judged against the
//! ticket before it. That is 499,500 units of the 1,000,000 an import may spend; notes are the
//! dearest changes to judge (each judgement reads every note), checklist ticks cheap.
//!
//! Run: `cargo bench -p fieldwork-core --bench import`.

// Only `actor` and `new_ticket` of the benches' shared helpers are used here.
#[allow(dead_code)]
mod support;

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fieldwork_core::Role;
use fieldwork_core::bundle::{Bundle, BundleTicket, ByteBuf, FORMAT};
use fieldwork_core::store::TicketStore;
use fieldwork_core::ticket::Edit;
use support::{actor, new_ticket};

/// One ticket of `changes` changes by a dispatcher, each made by `edit(n)`, as a bundle.
fn bundle(changes: usize, edit: impl Fn(usize) -> Edit) -> Bundle {
    let dispatcher = actor("disp1", Role::Dispatcher);
    let mut doc = new_ticket(&dispatcher);
    let created = doc.view().expect("view");
    for n in 1..changes {
        doc.apply(&created, &edit(n), &dispatcher, 2)
            .expect("applies");
    }
    Bundle {
        format: FORMAT,
        tenant: "acme".into(),
        exported_at: 0,
        until_seq: 0,
        tickets: vec![BundleTicket {
            id: "t-bench".into(),
            changes: doc
                .changes_since(&[])
                .iter()
                .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
                .collect(),
            staff: Vec::new(),
        }],
    }
}

fn fresh_store() -> (tempfile::TempDir, TicketStore) {
    let dir = tempfile::tempdir().expect("dir");
    let store = TicketStore::open(&dir.path().join("tech.db")).expect("open");
    store.init(actor("tech1", Role::Technician)).expect("init");
    (dir, store)
}

fn bench_import(c: &mut Criterion) {
    let notes = bundle(999, |n| Edit::AddNote {
        text: format!("note {n}: checked the compressor relay again"),
        internal: false,
    });
    // Tags, once the cheapest, are staff data now (another document): checklist ticks are the
    // cheap public change (100 items at most, each ticked and unticked in turn).
    let ticks = bundle(999, |n| Edit::TickChecklist {
        item: format!("step {}", n % 100),
        done: (n / 100).is_multiple_of(2),
    });
    let mut group = c.benchmark_group("import");
    for (name, bundle) in [("999 notes", &notes), ("999 checklist ticks", &ticks)] {
        group.bench_function(format!("one ticket of {name}, judged"), |b| {
            b.iter_batched(
                fresh_store,
                |(_dir, store)| store.import(bundle).expect("imports"),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(20));
    targets = bench_import
}
criterion_main!(benches);
