//! Property tests: replicas that edit offline and exchange bundles in any order and grouping
//! always converge, lose nothing, and show same-field concurrent edits as conflicts — across
//! both documents of each ticket (internal notes and tags are in the staff document).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use fieldwork_core::clock::ManualClock;
use fieldwork_core::store::TicketStore;
use fieldwork_core::ticket::{Customer, Edit, NewAttachment, NewTicket, Site, Ticket};
use fieldwork_core::{Actor, Priority, Role, Status, TicketKind};
use proptest::prelude::*;

const REPLICAS: usize = 3;
const TICKETS: usize = 2;
const NOT_NORMAL: [Priority; 3] = [Priority::Low, Priority::High, Priority::Urgent];

struct Replica {
    store: TicketStore,
    /// The same database through a store of its own: its reads load the ticket and read the
    /// whole of it, not the view `store` kept from its own edits.
    fresh: TicketStore,
    clock: Arc<ManualClock>,
}

struct World {
    _dir: tempfile::TempDir,
    replicas: Vec<Replica>,
    ids: Vec<String>,
}

/// dispatcher, technician (assigned to every ticket), agent.
fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let people = [
        ("disp", Role::Dispatcher),
        ("tech", Role::Technician),
        ("agent", Role::Agent),
    ];
    let replicas: Vec<Replica> = people
        .iter()
        .enumerate()
        .map(|(i, (user, role))| {
            // Each replica's clock starts at a different millisecond so events never coincide.
            let clock = Arc::new(ManualClock::at(1_795_000_000_000 + i as i64));
            let store =
                TicketStore::open_with_clock(&dir.path().join(format!("{user}.db")), clock.clone())
                    .expect("store opens");
            store
                .init(Actor {
                    tenant: "acme".into(),
                    user_id: (*user).into(),
                    role: *role,
                    name: None,
                    team: Some("north".into()),
                })
                .expect("init");
            let fresh =
                TicketStore::open_with_clock(&dir.path().join(format!("{user}.db")), clock.clone())
                    .expect("second store opens");
            Replica {
                store,
                fresh,
                clock,
            }
        })
        .collect();
    let mut ids = Vec::new();
    for n in 0..TICKETS {
        let t = replicas[0]
            .store
            .create(NewTicket::titled(TicketKind::Repair, format!("ticket {n}")))
            .expect("create");
        replicas[0]
            .store
            .edit(
                &t.id,
                &[Edit::Assign {
                    assignee: Some("tech".into()),
                }],
            )
            .expect("assign");
        ids.push(t.id);
    }
    let bundle = replicas[0].store.export(None, None).expect("export");
    for r in &replicas[1..] {
        r.store.import(&bundle).expect("import");
    }
    World {
        _dir: dir,
        replicas,
        ids,
    }
}

#[derive(Debug, Clone)]
enum EditKind {
    Title(u8),
    Category(Option<u8>),
    Priority(Priority),
    Description(u8),
    OrderRef(u8),
    Customer(Option<u8>),
    Status(Status),
    Assign(Option<u8>),
    Team(u8),
    Note(bool),
    Redact(usize),
    Part(u8),
    Check(u8, bool),
    Site(i8, i8),
    Tag(u8, bool),
    Rate(u8),
    /// One of a few photos (by hash), so the same photo is sometimes attached on two replicas.
    Attach(u8),
}

#[derive(Debug, Clone)]
enum Step {
    Edit {
        replica: usize,
        ticket: usize,
        kind: EditKind,
    },
    /// Send one ticket, or everything, from one replica to another.
    Send {
        from: usize,
        to: usize,
        ticket: Option<usize>,
    },
    /// Everyone in the group exchanges everything with everyone else in it.
    Gossip { group: Vec<usize> },
}

fn edit_kind() -> impl Strategy<Value = EditKind> {
    prop_oneof![
        (0..4u8).prop_map(EditKind::Title),
        proptest::option::of(0..3u8).prop_map(EditKind::Category),
        proptest::sample::select(Priority::ALL.to_vec()).prop_map(EditKind::Priority),
        (0..4u8).prop_map(EditKind::Description),
        (0..3u8).prop_map(EditKind::OrderRef),
        proptest::option::of(0..3u8).prop_map(EditKind::Customer),
        proptest::sample::select(Status::ALL.to_vec()).prop_map(EditKind::Status),
        proptest::option::of(0..2u8).prop_map(EditKind::Assign),
        (0..2u8).prop_map(EditKind::Team),
        any::<bool>().prop_map(EditKind::Note),
        (0..4usize).prop_map(EditKind::Redact),
        (0..5u8).prop_map(EditKind::Part),
        (0..3u8, any::<bool>()).prop_map(|(i, d)| EditKind::Check(i, d)),
        (-80..80i8, -80..80i8).prop_map(|(a, b)| EditKind::Site(a, b)),
        (0..3u8, any::<bool>()).prop_map(|(i, add)| EditKind::Tag(i, add)),
        (1..6u8).prop_map(EditKind::Rate),
        (0..4u8).prop_map(EditKind::Attach),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..REPLICAS, 0..TICKETS, edit_kind())
            .prop_map(|(replica, ticket, kind)| Step::Edit { replica, ticket, kind }),
        2 => (0..REPLICAS, 0..REPLICAS, proptest::option::of(0..TICKETS))
            .prop_map(|(from, to, ticket)| Step::Send { from, to, ticket }),
        1 => proptest::sample::subsequence((0..REPLICAS).collect::<Vec<_>>(), 2..=REPLICAS)
            .prop_map(|group| Step::Gossip { group }),
    ]
}

/// Turns a generated edit into a real one; note and part texts are unique so losses show.
fn to_edit(kind: &EditKind, ticket: &Ticket, serial: usize, replica: usize) -> Edit {
    match kind {
        EditKind::Title(n) => Edit::SetTitle {
            title: format!("title {n}"),
        },
        EditKind::Category(c) => Edit::SetCategory {
            category: c.map(|c| format!("cat{c}")),
        },
        EditKind::Priority(priority) => Edit::SetPriority {
            priority: *priority,
        },
        EditKind::Description(n) => Edit::SetDescription {
            description: format!("{} +{n}", ticket.description),
        },
        EditKind::OrderRef(n) => Edit::SetOrderRef {
            order_ref: Some(format!("ORD-{n}")),
        },
        EditKind::Customer(c) => Edit::SetCustomer {
            customer: c.map(|c| Customer {
                name: Some(format!("shop {c}")),
                phone: None,
            }),
        },
        EditKind::Status(status) => Edit::SetStatus { status: *status },
        EditKind::Assign(who) => Edit::Assign {
            assignee: who.map(|w| {
                if w == 0 {
                    "tech".into()
                } else {
                    "tech2".into()
                }
            }),
        },
        EditKind::Team(t) => Edit::SetTeam {
            team: Some(format!("team{t}")),
        },
        EditKind::Note(internal) => Edit::AddNote {
            text: format!("note r{replica} #{serial}"),
            internal: *internal,
        },
        EditKind::Redact(i) => Edit::RedactNote {
            note_id: ticket
                .notes
                .get(*i)
                .map(|n| n.id.clone())
                .unwrap_or_else(|| "missing".into()),
        },
        EditKind::Part(n) => Edit::AddPart {
            sku: format!("P{n}-r{replica}-{serial}"),
            qty: 1 + i64::from(*n),
        },
        EditKind::Check(i, done) => Edit::TickChecklist {
            item: format!("step {i}"),
            done: *done,
        },
        EditKind::Site(a, b) => Edit::SetSite {
            site: Site {
                lat: f64::from(*a),
                lon: f64::from(*b),
                accuracy_m: Some(5.0),
                address: None,
            },
        },
        EditKind::Tag(i, true) => Edit::AddTag {
            tag: format!("tag{i}"),
        },
        EditKind::Tag(i, false) => Edit::RemoveTag {
            tag: format!("tag{i}"),
        },
        EditKind::Rate(score) => Edit::Rate {
            score: i64::from(*score),
            comment: None,
        },
        EditKind::Attach(n) => Edit::Attach {
            attachment: NewAttachment {
                sha256: format!("{n:064x}"),
                thumb: Some(format!("{:064x}", u64::from(*n) + 1000)),
                mime: "image/jpeg".into(),
                name: None,
                bytes: 1000 + i64::from(*n),
                width: 1920,
                height: 1080,
                captured_at: None,
                location: None,
            },
        },
    }
}

fn send(world: &World, from: usize, to: usize, ticket: Option<usize>) {
    if from == to {
        return;
    }
    let id = ticket.map(|t| world.ids[t].as_str());
    // Every replica is staff: their bundles carry both documents of each ticket (internal notes
    // and tags live in the staff document).
    let bundle = world.replicas[from]
        .store
        .export_with_staff(id, None)
        .expect("export");
    // Through bytes, as a file would carry it.
    let bundle = fieldwork_core::bundle::Bundle::decode(&bundle.encode()).expect("decode");
    world.replicas[to].store.import(&bundle).expect("import");
}

/// Everything ever seen anywhere, that must still be there at the end.
#[derive(Default)]
struct Seen {
    notes: BTreeSet<String>,
    parts: BTreeSet<String>,
    events: BTreeSet<String>,
    photos: BTreeSet<String>,
}

impl Seen {
    fn record(&mut self, ticket: &Ticket) {
        self.notes.extend(
            ticket
                .notes
                .iter()
                .map(|n| format!("{}:{}", ticket.id, n.id)),
        );
        self.parts.extend(
            ticket
                .parts_used
                .iter()
                .map(|p| format!("{}:{}", ticket.id, p.sku)),
        );
        self.photos.extend(
            ticket
                .attachments
                .iter()
                .map(|a| format!("{}:{}", ticket.id, a.sha256)),
        );
        self.events.extend(
            ticket
                .events
                .iter()
                .map(|e| format!("{}:{:?}", ticket.id, e)),
        );
    }
}

fn run(steps: &[Step]) -> (World, Seen, usize) {
    let world = world();
    let mut seen = Seen::default();
    let mut accepted = 0;
    for (serial, step) in steps.iter().enumerate() {
        match step {
            Step::Edit {
                replica,
                ticket,
                kind,
            } => {
                let r = &world.replicas[*replica];
                r.clock.advance(10);
                let id = &world.ids[*ticket];
                let current = r.store.ticket(id).expect("ticket readable");
                let edit = to_edit(kind, &current, serial, *replica);
                // Many random edits break a rule (a technician cannot cancel); that is fine, a
                // refusal must leave the ticket as it was.
                match r.store.edit(id, &[edit]) {
                    Ok(after) => {
                        // The view an edit answers with (conflicts looked for only when there
                        // were some) is the ticket read whole.
                        assert_eq!(after, r.fresh.ticket(id).expect("readable"));
                        accepted += 1;
                        seen.record(&after);
                    }
                    Err(e) => {
                        assert!(e.is_refusal(), "unexpected failure: {e}");
                        assert_eq!(r.store.ticket(id).expect("readable"), current);
                    }
                }
            }
            Step::Send { from, to, ticket } => send(&world, *from, *to, *ticket),
            Step::Gossip { group } => {
                for &a in group {
                    for &b in group {
                        send(&world, a, b, None);
                    }
                }
            }
        }
    }
    for _round in 0..2 {
        for a in 0..REPLICAS {
            for b in 0..REPLICAS {
                send(&world, a, b, None);
            }
        }
    }
    (world, seen, accepted)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(40),
        // Integration tests have no lib.rs for proptest to file regressions next to; the
        // minimal failing input is printed instead.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn replicas_converge_and_lose_nothing(steps in proptest::collection::vec(step(), 1..40)) {
        let (world, seen, _accepted) = run(&steps);
        let mut finals = Vec::new();
        for id in &world.ids {
            let views: Vec<Ticket> =
                world.replicas.iter().map(|r| r.store.ticket(id).expect("readable")).collect();
            for v in &views[1..] {
                prop_assert_eq!(v, &views[0]);
            }
            finals.push(views[0].clone());
        }
        let mut end = Seen::default();
        for t in &finals {
            end.record(t);
        }
        prop_assert!(seen.notes.is_subset(&end.notes), "a note was lost");
        prop_assert!(seen.parts.is_subset(&end.parts), "a part was lost");
        prop_assert!(seen.events.is_subset(&end.events), "an event was lost");
        prop_assert!(seen.photos.is_subset(&end.photos), "a photo was lost");
        // The index agrees with the documents on every replica.
        for r in &world.replicas {
            let rows = r.store.list(&Default::default()).expect("list");
            for t in &finals {
                let row = rows.iter().find(|row| row.id == t.id).expect("indexed");
                prop_assert_eq!((row.status, row.priority, &row.title), (t.status, t.priority, &t.title));
                prop_assert_eq!(row.conflicts, t.conflicts.len() as i64);
            }
        }
    }

    #[test]
    fn concurrent_writes_to_one_field_show_as_a_conflict(
        field in 0..5usize,
        a in 0..3u8,
        b in 0..3u8,
        via_gossip in any::<bool>(),
    ) {
        prop_assume!(a != b);
        let world = world();
        let id = &world.ids[0];
        let (disp, agent) = (&world.replicas[0], &world.replicas[2]);
        let (edit_a, edit_b, name) = match field {
            0 => (Edit::SetTitle { title: format!("t{a}") }, Edit::SetTitle { title: format!("t{b}") }, "title"),
            // Tickets start at normal; setting a value already there is no change at all.
            1 => (Edit::SetPriority { priority: NOT_NORMAL[usize::from(a)] },
                  Edit::SetPriority { priority: NOT_NORMAL[usize::from(b)] }, "priority"),
            2 => (Edit::SetCategory { category: Some(format!("c{a}")) },
                  Edit::SetCategory { category: Some(format!("c{b}")) }, "category"),
            3 => (Edit::SetOrderRef { order_ref: Some(format!("o{a}")) },
                  Edit::SetOrderRef { order_ref: Some(format!("o{b}")) }, "order_ref"),
            _ => (Edit::SetSite { site: Site { lat: f64::from(a), lon: 0.0, accuracy_m: None, address: None } },
                  Edit::SetSite { site: Site { lat: f64::from(b), lon: 0.0, accuracy_m: None, address: None } }, "site"),
        };
        disp.store.edit(id, &[edit_a]).expect("a edits");
        agent.store.edit(id, &[edit_b]).expect("b edits");
        if via_gossip {
            send(&world, 0, 1, None);
            send(&world, 2, 1, None);
            send(&world, 1, 0, None);
            send(&world, 1, 2, None);
        } else {
            send(&world, 0, 2, Some(0));
            send(&world, 2, 0, Some(0));
        }
        let va = disp.store.ticket(id).expect("a");
        let vb = agent.store.ticket(id).expect("b");
        prop_assert_eq!(&va, &vb);
        let conflict = va.conflicts.iter().find(|c| c.field == name);
        prop_assert!(conflict.is_some(), "no conflict on {} in {:?}", name, va.conflicts);
        prop_assert_eq!(conflict.map(|c| c.values.len()), Some(2));
    }
}

/// The same-field conflict also survives a store reopen (it is in the document, not memory).
#[test]
fn conflicts_are_durable() {
    let world = world();
    let id = world.ids[0].clone();
    world.replicas[0]
        .store
        .edit(&id, &[Edit::SetTitle { title: "A".into() }])
        .expect("edit");
    world.replicas[2]
        .store
        .edit(&id, &[Edit::SetTitle { title: "B".into() }])
        .expect("edit");
    send(&world, 2, 0, None);
    let path = world.replicas[0].store.path().to_owned();
    let reopened = TicketStore::open(&path).expect("reopen");
    let t = reopened.ticket(&id).expect("ticket");
    let values: BTreeMap<String, usize> = t
        .conflicts
        .iter()
        .filter(|c| c.field == "title")
        .flat_map(|c| c.values.iter().map(|v| (v.to_string(), 1)))
        .collect();
    assert_eq!(values.len(), 2, "{:?}", t.conflicts);
}
