//! Benchmarks of the device store against the budgets in DESIGN.md:
//! - the one-button help request (create + durable commit) next to a plain SQLite insert of the
//!   same bytes with the same durability;
//! - the first page of `list` over 100,000 tickets, filtered and sorted;
//! - opening a store of 100,000 tickets;
//! - the help request again while another thread applies a bootstrap's pages to the same store
//!   (a rider's button must not wait behind a pull);
//! - a technician's note on a ticket of 30 notes: on tickets the store keeps loaded, and on more
//!   tickets than it keeps (each loaded from SQLite).
//!
//! Run: `cargo bench -p fieldwork-core --bench store`. Besides criterion's report, a percentile
//! table (p50/p99 over single calls) is printed at the end, since the budgets are set in p99.

mod support;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use automerge::ActorId;
use criterion::{Criterion, criterion_group};
use fieldwork_core::bundle::{Bundle, BundleTicket, ByteBuf, FORMAT};
use fieldwork_core::location::LocationFix;
use fieldwork_core::store::{ListQuery, SortBy, TicketStore};
use fieldwork_core::ticket::{Edit, NewTicket, TicketDocument};
use fieldwork_core::{Priority, Role, Status, TicketKind};
use fieldwork_protocol::sync::{PullItem, SyncResponse};
use rusqlite::{Connection, params};
use support::{actor, percentiles, quantile_ms};

const LARGE: usize = 100_000;

fn fix() -> LocationFix {
    LocationFix {
        lat: 31.2304,
        lon: 121.4737,
        accuracy_m: Some(8.0),
        at: None,
    }
}

fn help(store: &TicketStore) {
    store
        .help_request(
            Some("ORD-2026-001".into()),
            Some(fix()),
            Some("Scooter down, order spilled".into()),
        )
        .expect("help request commits");
}

/// A plain SQLite table with the same durability and one row of `bytes` bytes, the baseline.
fn plain_sqlite(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("full");
    conn.execute_batch("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, body BLOB NOT NULL)")
        .expect("table");
    conn
}

fn plain_insert(conn: &Connection, body: &[u8]) {
    conn.execute(
        "INSERT INTO t (id, body) VALUES (?1, ?2)",
        params![uuid::Uuid::now_v7().to_string(), body],
    )
    .expect("insert");
}

/// Bytes a help request writes: its document snapshot, its outbox change and its index row.
fn help_request_bytes(store: &TicketStore) -> usize {
    let id = store.list(&ListQuery::default()).expect("list")[0]
        .id
        .clone();
    let bundle = store.export(Some(&id), None).expect("export");
    let change: usize = bundle.tickets[0].changes.iter().map(|c| c.len()).sum();
    // The snapshot is about the size of the change; the index row about 200 bytes.
    2 * change + 200
}

/// A store holding `n` tickets, built once and kept under target/ between runs.
fn large_store(n: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-stores");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let path = dir.join(format!("tickets-{n}.db"));
    if path.exists() {
        return path;
    }
    let partial = dir.join(format!("tickets-{n}.partial.db"));
    let _ = std::fs::remove_file(&partial);
    let store = TicketStore::open(&partial).expect("open");
    store.init(actor("u1", Role::Dispatcher)).expect("init");
    let creator = actor("u1", Role::Dispatcher);
    let categories = ["refrigeration", "pos", "scale", "door", "lighting", "hvac"];
    let mut tickets = Vec::with_capacity(n);
    for i in 0..n {
        let mut new = NewTicket::titled(
            TicketKind::Repair,
            format!("Ticket {i} {} fault", categories[i % 6]),
        );
        new.priority = Priority::ALL[i % 4];
        new.category = Some(categories[i % 6].into());
        let id = uuid::Uuid::now_v7().to_string();
        let mut doc = TicketDocument::create(
            &id,
            &creator,
            &new,
            ActorId::random(),
            1_795_000_000_000 + i as i64,
        )
        .expect("create");
        let changes = doc
            .changes_since(&[])
            .iter()
            .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
            .collect();
        tickets.push(BundleTicket {
            id,
            changes,
            staff: Vec::new(),
        });
    }
    let bundle = Bundle {
        format: FORMAT,
        tenant: "acme".into(),
        exported_at: 0,
        until_seq: 0,
        tickets,
    };
    store.import(&bundle).expect("bulk import");
    drop(store);
    std::fs::rename(&partial, &path).expect("rename");
    path
}

fn queries() -> Vec<(&'static str, ListQuery)> {
    vec![
        ("newest", ListQuery::default()),
        (
            "status=new by priority",
            ListQuery {
                status: Some(Status::New),
                sort: SortBy::Priority,
                ..Default::default()
            },
        ),
        (
            "category by sla",
            ListQuery {
                category: Some("pos".into()),
                sort: SortBy::SlaDue,
                ..Default::default()
            },
        ),
        (
            "title search, common word (1 in 6)",
            ListQuery {
                text: Some("scale".into()),
                ..Default::default()
            },
        ),
        (
            "title search, rare word (1 match)",
            ListQuery {
                text: Some("73219".into()),
                ..Default::default()
            },
        ),
        (
            "title search, no match",
            ListQuery {
                text: Some("compressor".into()),
                ..Default::default()
            },
        ),
    ]
}

fn bench_help_request(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("dir");
    let store = TicketStore::open(&dir.path().join("rider.db")).expect("open");
    store.init(actor("u1", Role::Rider)).expect("init");
    help(&store);
    let body = vec![7u8; help_request_bytes(&store)];
    let plain = plain_sqlite(&dir.path().join("plain.db"));

    let mut group = c.benchmark_group("help_request");
    group.bench_function("fieldwork help_request (create + durable commit)", |b| {
        b.iter(|| help(&store))
    });
    group.bench_function(
        "plain SQLite insert of the same bytes, synchronous=FULL",
        |b| b.iter(|| plain_insert(&plain, black_box(&body))),
    );
    group.finish();
}

fn bench_list(c: &mut Criterion) {
    let store = TicketStore::open(&large_store(LARGE)).expect("open");
    let mut group = c.benchmark_group("list_100k");
    for (name, query) in queries() {
        group.bench_function(name, |b| {
            b.iter(|| black_box(store.list(&query).expect("list")))
        });
    }
    group.finish();
    let path = large_store(LARGE);
    c.bench_function("open_store_100k", |b| {
        b.iter(|| black_box(TicketStore::open(&path).expect("open")))
    });
}

/// A bootstrap as the server sends it: `pages` answers of `per_page` new tickets each, made by a
/// dispatcher of the same tenant.
fn pull_pages(pages: usize, per_page: usize) -> Vec<SyncResponse> {
    let creator = actor("u1", Role::Dispatcher);
    (0..pages)
        .map(|p| SyncResponse {
            server_time: 1_795_000_000_000,
            accepted: Vec::new(),
            rejected: Vec::new(),
            items: (0..per_page)
                .map(|i| {
                    let id = uuid::Uuid::now_v7().to_string();
                    let mut new = NewTicket::titled(
                        TicketKind::Repair,
                        format!("Pulled {p}-{i}: freezer alarm"),
                    );
                    new.priority = Priority::ALL[i % 4];
                    let mut doc = TicketDocument::create(
                        &id,
                        &creator,
                        &new,
                        ActorId::random(),
                        1_795_000_000_000,
                    )
                    .expect("create");
                    PullItem::Snapshot {
                        ticket_id: id,
                        doc: ByteBuf::from(doc.save()),
                        staff: None,
                        erased: Vec::new(),
                        // As the server sends it: the device lists the ticket by it.
                        summary: Some(Box::new(doc.view().expect("view").summary())),
                    }
                })
                .collect(),
            cursor: p as u64 + 1,
            more: p + 1 < pages,
            people: Vec::new(),
            kb: None,
        })
        .collect()
}

/// Help requests, one every 5 ms, while another thread applies a 20,000-ticket bootstrap (20
/// pages of 1,000) to the same store; p50/p99/max of the help requests made meanwhile.
fn help_during_pull(dir: &Path) {
    let store = Arc::new(TicketStore::open(&dir.join("busy.db")).expect("open"));
    store.init(actor("u1", Role::Rider)).expect("init");
    help(&store);
    let pages = pull_pages(20, 1_000);
    let done = Arc::new(AtomicBool::new(false));
    let applier = {
        let (store, done) = (store.clone(), done.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            for page in &pages {
                store.apply_sync_response(page, 0).expect("a page applies");
            }
            done.store(true, Ordering::SeqCst);
            started.elapsed()
        })
    };
    let mut times = Vec::new();
    while !done.load(Ordering::SeqCst) {
        let start = Instant::now();
        help(&store);
        times.push(start.elapsed());
        std::thread::sleep(Duration::from_millis(5));
    }
    let pull = applier.join().expect("applier");
    let max = times.iter().max().copied().unwrap_or_default();
    println!(
        "{:<58} p50 {:>9.3} ms   p99 {:>9.3} ms   max {:.1} ms ({} runs; the pull took {:.1} s)",
        "help_request during a 20,000-ticket pull",
        quantile_ms(&mut times, 0.50),
        quantile_ms(&mut times, 0.99),
        max.as_secs_f64() * 1e3,
        times.len(),
        pull.as_secs_f64()
    );
}

/// A note, as a technician adds one.
fn note(i: usize) -> Edit {
    Edit::AddNote {
        text: format!("checked the compressor and the door seal, visit {i}"),
        internal: false,
    }
}

/// A technician's notes on tickets of 30 notes: six tickets in turn (fewer than the store keeps
/// loaded) and eighteen in turn (more, so each note loads its ticket from SQLite). 120 notes
/// each leave the first six at ~50 notes and the others at ~37: the kept ones are the larger.
fn notes_report(dir: &Path) {
    let store = TicketStore::open(&dir.join("technician.db")).expect("open");
    store.init(actor("t1", Role::Agent)).expect("init");
    let ids: Vec<String> = (0..24)
        .map(|n| {
            let t = store
                .create(NewTicket::titled(TicketKind::Repair, format!("fridge {n}")))
                .expect("create");
            for i in 0..30 {
                store.edit(&t.id, &[note(i)]).expect("edit");
            }
            t.id
        })
        .collect();
    let (kept, loaded) = ids.split_at(6);
    let mut i = 0;
    percentiles(
        "a note on a ticket of 30-50 notes, 6 tickets in turn",
        120,
        || {
            i += 1;
            black_box(store.edit(&kept[i % kept.len()], &[note(i)]).expect("edit"));
        },
    );
    percentiles(
        "a note on a ticket of 30-37 notes, 18 tickets in turn",
        120,
        || {
            i += 1;
            black_box(
                store
                    .edit(&loaded[i % loaded.len()], &[note(i)])
                    .expect("edit"),
            );
        },
    );
}

fn percentile_report() {
    println!("\npercentiles (single calls):");
    let dir = tempfile::tempdir().expect("dir");
    let store = TicketStore::open(&dir.path().join("rider.db")).expect("open");
    store.init(actor("u1", Role::Rider)).expect("init");
    help(&store);
    let bytes = help_request_bytes(&store);
    let body = vec![7u8; bytes];
    let plain = plain_sqlite(&dir.path().join("plain.db"));
    percentiles("help_request (create + durable commit)", 2000, || {
        help(&store)
    });
    percentiles(
        &format!("plain SQLite insert of {bytes} B, synchronous=FULL"),
        2000,
        || plain_insert(&plain, &body),
    );
    help_during_pull(dir.path());
    notes_report(dir.path());
    if std::env::var("STORE_BENCH_SKIP_LARGE").is_ok_and(|v| v == "1") {
        return;
    }
    let path = large_store(LARGE);
    let big = TicketStore::open(&path).expect("open");
    for (name, query) in queries() {
        percentiles(
            &format!("list 100k: {name}, first page of 50"),
            2000,
            || {
                black_box(big.list(&query).expect("list"));
            },
        );
    }
    percentiles("open a store of 100k tickets", 50, || {
        black_box(TicketStore::open(&path).expect("open"));
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = bench_help_request, bench_list
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    percentile_report();
}
