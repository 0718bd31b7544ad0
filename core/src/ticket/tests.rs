//! The document ⇄ type mapping: what goes in comes out, merges keep everything, conflicts show.

use automerge::transaction::Transactable;
use automerge::{ActorId, ObjType, ROOT, ReadDoc};

use super::*;
use crate::model::{Actor, Priority, Role, Status, TicketKind};

const AT: i64 = 1_795_000_000_000;

pub(super) fn actor(user: &str, role: Role) -> Actor {
    Actor {
        tenant: "acme".into(),
        user_id: user.into(),
        role,
        name: Some("Ana".into()),
        team: Some("north".into()),
    }
}

fn full_new_ticket() -> NewTicket {
    NewTicket {
        category: Some("refrigeration".into()),
        priority: Priority::Urgent,
        description: "冷柜不制冷 — the fridge is warm".into(),
        order_ref: Some("ORD-77".into()),
        customer: Some(Customer {
            name: Some("Shop 12".into()),
            phone: Some("+86 10 5555".into()),
        }),
        asset: Some(Asset {
            serial: "SN-1".into(),
            model: Some("F-200".into()),
            warranty_until: None,
        }),
        site: Some(Site {
            lat: 31.23,
            lon: 121.47,
            accuracy_m: Some(12.0),
            address: Some("Dock 3".into()),
        }),
        note: Some("first words".into()),
        ..NewTicket::titled(TicketKind::Repair, "Fridge warm")
    }
}

pub(super) fn created(by: &Actor) -> TicketDocument {
    TicketDocument::create("t-1", by, &full_new_ticket(), ActorId::random(), AT).expect("creates")
}

/// A replica of `doc` on another device (its own actor).
pub(super) fn replica(doc: &mut TicketDocument) -> TicketDocument {
    let mut other = TicketDocument::empty(crate::ticket::Part::Public, ActorId::random());
    other
        .apply_changes(doc.changes_since(&[]))
        .expect("applies");
    other
}

pub(super) fn merge(into: &mut TicketDocument, from: &mut TicketDocument) {
    into.apply_changes(from.changes_since(&[])).expect("merges");
}

pub(super) fn edit(doc: &mut TicketDocument, by: &Actor, edit: Edit) {
    let view = doc.view().expect("view");
    crate::rules::check_edit(by, &view, &edit).expect("edit allowed");
    doc.apply(&view, &edit, by, AT + 1).expect("applies");
}

/// An edit that belongs to the staff document of the ticket whose public document is `public`.
fn staff_edit(public: &TicketDocument, staff: &mut TicketDocument, by: &Actor, edit: Edit) {
    let view = public
        .view()
        .expect("view")
        .with_staff(staff.staff_view().expect("staff view"));
    crate::rules::check_edit(by, &view, &edit).expect("edit allowed");
    assert_eq!(edit.part(&view), Part::Staff);
    staff.apply(&view, &edit, by, AT + 1).expect("applies");
}

#[test]
fn every_field_of_a_new_ticket_reads_back_and_survives_save_and_load() {
    let agent = actor("agent1", Role::Agent);
    let mut doc = created(&agent);
    let view = doc.view().expect("view");
    assert_eq!(view.id, "t-1");
    assert_eq!(view.tenant, "acme");
    assert_eq!(view.kind, TicketKind::Repair);
    assert_eq!(view.status, Status::New);
    assert_eq!(view.priority, Priority::Urgent);
    assert_eq!(view.category.as_deref(), Some("refrigeration"));
    assert_eq!(view.description, "冷柜不制冷 — the fridge is warm");
    assert_eq!(
        view.reporter,
        Person {
            user_id: "agent1".into(),
            role: Role::Agent,
            name: Some("Ana".into())
        }
    );
    assert_eq!(view.order_ref.as_deref(), Some("ORD-77"));
    assert_eq!(
        view.customer.as_ref().and_then(|c| c.phone.as_deref()),
        Some("+86 10 5555")
    );
    assert_eq!(view.asset.as_ref().map(|a| a.serial.as_str()), Some("SN-1"));
    assert_eq!(
        view.site.as_ref().map(|s| (s.lat, s.lon)),
        Some((31.23, 121.47))
    );
    assert_eq!(view.assignee, None);
    assert_eq!(view.team.as_deref(), Some("north"));
    assert_eq!(view.notes.len(), 1);
    assert_eq!(view.notes[0].text, "first words");
    assert_eq!(view.events.len(), 1);
    assert_eq!(view.events[0].kind, "created");
    assert_eq!(view.created_at, AT);
    assert!(view.conflicts.is_empty());
    assert_eq!(doc.changes_since(&[]).len(), 1, "creation is one change");

    let loaded = TicketDocument::load(&doc.save()).expect("loads");
    assert_eq!(loaded.view().expect("view"), view);
}

#[test]
fn every_edit_kind_lands_in_the_view() {
    let agent = actor("agent1", Role::Agent);
    let mut doc = created(&agent);
    edit(
        &mut doc,
        &agent,
        Edit::SetTitle {
            title: "Fridge very warm".into(),
        },
    );
    edit(&mut doc, &agent, Edit::SetCategory { category: None });
    edit(
        &mut doc,
        &agent,
        Edit::SetPriority {
            priority: Priority::High,
        },
    );
    edit(
        &mut doc,
        &agent,
        Edit::SetDescription {
            description: "now leaking".into(),
        },
    );
    edit(
        &mut doc,
        &agent,
        Edit::SetOrderRef {
            order_ref: Some("ORD-78".into()),
        },
    );
    edit(&mut doc, &agent, Edit::SetCustomer { customer: None });
    edit(
        &mut doc,
        &agent,
        Edit::SetTeam {
            team: Some("south".into()),
        },
    );
    edit(
        &mut doc,
        &agent,
        Edit::Assign {
            assignee: Some("tech1".into()),
        },
    );
    edit(
        &mut doc,
        &agent,
        Edit::SetStatus {
            status: Status::Accepted,
        },
    );
    // Internal notes and tags go to the ticket's staff document.
    let mut staff = TicketDocument::staff(ActorId::random());
    staff_edit(
        &doc,
        &mut staff,
        &agent,
        Edit::AddNote {
            text: "internal".into(),
            internal: true,
        },
    );
    let first_note = doc.view().expect("view").notes[0].id.clone();
    edit(
        &mut doc,
        &agent,
        Edit::RedactNote {
            note_id: first_note.clone(),
        },
    );
    edit(
        &mut doc,
        &agent,
        Edit::AddPart {
            sku: "VALVE-2".into(),
            qty: 2,
        },
    );
    edit(
        &mut doc,
        &agent,
        Edit::TickChecklist {
            item: "power off".into(),
            done: true,
        },
    );
    let site = Site {
        lat: 1.5,
        lon: 2.5,
        accuracy_m: None,
        address: None,
    };
    edit(&mut doc, &agent, Edit::SetSite { site: site.clone() });
    staff_edit(&doc, &mut staff, &agent, Edit::AddTag { tag: "vip".into() });
    staff_edit(
        &doc,
        &mut staff,
        &agent,
        Edit::AddTag {
            tag: "cold-chain".into(),
        },
    );
    staff_edit(
        &doc,
        &mut staff,
        &agent,
        Edit::RemoveTag { tag: "vip".into() },
    );
    let public = doc.view().expect("view");
    assert!(
        public.tags.is_empty() && public.notes.len() == 1,
        "nothing of it in the public document"
    );

    let v = public.with_staff(staff.staff_view().expect("staff view"));
    assert_eq!(v.title, "Fridge very warm");
    assert_eq!(v.category, None);
    assert_eq!(v.priority, Priority::High);
    assert_eq!(v.description, "now leaking");
    assert_eq!(v.order_ref.as_deref(), Some("ORD-78"));
    assert_eq!(v.customer, None);
    assert_eq!(v.team.as_deref(), Some("south"));
    assert_eq!(v.assignee.as_deref(), Some("tech1"));
    assert_eq!(v.status, Status::Accepted);
    assert_eq!(v.notes.len(), 2);
    assert!(v.notes[1].internal);
    assert!(
        v.note(&first_note).expect("kept").redacted,
        "redacted notes stay for audit"
    );
    assert_eq!(
        v.parts_used,
        vec![PartUsed {
            sku: "VALVE-2".into(),
            qty: 2,
            by: "agent1".into()
        }]
    );
    assert!(v.checklist["power off"].done);
    assert_eq!(v.site, Some(site));
    assert_eq!(v.tags, vec!["cold-chain".to_owned()]);
    let kinds: Vec<&str> = v.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "priority_changed",
            "assigned",
            "status_changed",
            "status_changed",
            "note_redacted"
        ]
    );
    assert_eq!(
        v.events[3].data["to"], "assigned",
        "assignment moved the status"
    );
    assert!(v.conflicts.is_empty());

    edit(
        &mut doc,
        &agent,
        Edit::SetStatus {
            status: Status::InProgress,
        },
    );
    edit(
        &mut doc,
        &agent,
        Edit::SetStatus {
            status: Status::Resolved,
        },
    );
    edit(
        &mut doc,
        &agent,
        Edit::Rate {
            score: 4,
            comment: Some("quick".into()),
        },
    );
    let v = doc.view().expect("view");
    assert_eq!(
        v.csat,
        Some(Csat {
            score: 4,
            comment: Some("quick".into())
        })
    );
}

#[test]
fn edits_to_different_fields_merge_without_conflict() {
    let agent = actor("agent1", Role::Agent);
    let mut a = created(&agent);
    let mut b = replica(&mut a);
    edit(
        &mut a,
        &agent,
        Edit::SetPriority {
            priority: Priority::Low,
        },
    );
    edit(
        &mut b,
        &agent,
        Edit::SetTitle {
            title: "Renamed".into(),
        },
    );
    merge(&mut a, &mut b);
    merge(&mut b, &mut a);
    let (va, vb) = (a.view().expect("a"), b.view().expect("b"));
    assert_eq!(va, vb);
    assert_eq!((va.priority, va.title.as_str()), (Priority::Low, "Renamed"));
    assert!(va.conflicts.is_empty());
}

/// Two replicas of one ticket whose priority was set to Low on one and High on the other,
/// before they merged: `(a, b)`, `a` holding both (its own first).
pub(super) fn conflicting_priorities(agent: &Actor) -> (TicketDocument, TicketDocument) {
    let mut a = created(agent);
    let mut b = replica(&mut a);
    for (doc, priority) in [(&mut a, Priority::Low), (&mut b, Priority::High)] {
        edit(doc, agent, Edit::SetPriority { priority });
    }
    merge(&mut a, &mut b);
    (a, b)
}

#[test]
fn same_field_edits_are_listed_as_a_conflict_with_both_values_and_one_winner() {
    let agent = actor("agent1", Role::Agent);
    let (mut a, mut b) = conflicting_priorities(&agent);
    merge(&mut b, &mut a);
    let (va, vb) = (a.view().expect("a"), b.view().expect("b"));
    assert_eq!(va, vb, "both replicas pick the same winner");
    let conflict = va
        .conflicts
        .iter()
        .find(|c| c.field == "priority")
        .expect("priority conflict");
    let mut values: Vec<String> = conflict
        .values
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        values.last().map(String::as_str),
        Some(va.priority.as_str()),
        "last value is the winner"
    );
    values.sort();
    assert_eq!(values, ["high", "low"]);
    // A later edit that has seen both resolves the conflict.
    edit(
        &mut a,
        &agent,
        Edit::SetPriority {
            priority: Priority::Urgent,
        },
    );
    assert!(a.view().expect("a").conflicts.is_empty());
}

#[test]
fn picking_either_conflicting_value_settles_the_conflict_even_the_one_shown() {
    let agent = actor("agent1", Role::Agent);
    for pick_winner in [true, false] {
        let (mut a, _) = conflicting_priorities(&agent);
        let merged = a.view().expect("a");
        assert_eq!(merged.conflicts.len(), 1);
        let loser = if merged.priority == Priority::Low {
            Priority::High
        } else {
            Priority::Low
        };
        let pick = if pick_winner { merged.priority } else { loser };
        edit(&mut a, &agent, Edit::SetPriority { priority: pick });
        let after = a.view().expect("a");
        assert_eq!(after.priority, pick);
        assert!(after.conflicts.is_empty(), "picking {pick:?} settles it");
        // Without a conflict, the same value again writes nothing.
        let heads = a.heads();
        edit(&mut a, &agent, Edit::SetPriority { priority: pick });
        assert_eq!(a.heads(), heads);
    }
}

#[test]
fn concurrent_notes_parts_and_description_edits_all_survive() {
    let agent = actor("agent1", Role::Agent);
    let mut a = created(&agent);
    let mut b = replica(&mut a);
    edit(
        &mut a,
        &agent,
        Edit::AddNote {
            text: "from a".into(),
            internal: false,
        },
    );
    edit(
        &mut b,
        &agent,
        Edit::AddNote {
            text: "from b".into(),
            internal: false,
        },
    );
    edit(
        &mut a,
        &agent,
        Edit::AddPart {
            sku: "A".into(),
            qty: 1,
        },
    );
    edit(
        &mut b,
        &agent,
        Edit::AddPart {
            sku: "B".into(),
            qty: 1,
        },
    );
    edit(
        &mut a,
        &agent,
        Edit::SetDescription {
            description: "冷柜不制冷 — the fridge is warm, door ok".into(),
        },
    );
    edit(
        &mut b,
        &agent,
        Edit::SetDescription {
            description: "URGENT 冷柜不制冷 — the fridge is warm".into(),
        },
    );
    merge(&mut a, &mut b);
    merge(&mut b, &mut a);
    let v = a.view().expect("a");
    assert_eq!(v, b.view().expect("b"));
    let texts: Vec<&str> = v.notes.iter().map(|n| n.text.as_str()).collect();
    assert!(
        texts.contains(&"from a") && texts.contains(&"from b"),
        "{texts:?}"
    );
    assert_eq!(v.parts_used.len(), 2);
    assert_eq!(
        v.description, "URGENT 冷柜不制冷 — the fridge is warm, door ok",
        "text edits merge"
    );
}

#[test]
fn site_moves_as_one_value_so_coordinates_never_mix() {
    let agent = actor("agent1", Role::Agent);
    let mut a = created(&agent);
    let mut b = replica(&mut a);
    let here = Site {
        lat: 10.0,
        lon: 20.0,
        accuracy_m: Some(5.0),
        address: None,
    };
    let there = Site {
        lat: -10.0,
        lon: -20.0,
        accuracy_m: Some(5.0),
        address: None,
    };
    edit(&mut a, &agent, Edit::SetSite { site: here.clone() });
    edit(
        &mut b,
        &agent,
        Edit::SetSite {
            site: there.clone(),
        },
    );
    merge(&mut a, &mut b);
    let v = a.view().expect("a");
    let site = v.site.expect("site");
    assert!(site == here || site == there, "coordinates mixed: {site:?}");
    assert!(
        v.conflicts
            .iter()
            .any(|c| c.field == "site" && c.values.len() == 2)
    );
}

#[test]
fn keys_from_newer_versions_are_kept_through_edits_saves_and_merges() {
    let agent = actor("agent1", Role::Agent);
    let mut newer = created(&agent);
    {
        let raw = newer.raw_mut();
        raw.put(ROOT, "drone_dispatch", "requested").expect("put");
        let obj = raw
            .put_object(ROOT, "x_future", ObjType::Map)
            .expect("object");
        raw.put(&obj, "level", 3_i64).expect("put");
        let note = raw.get(ROOT, "notes").expect("get").expect("notes").1;
        let first = raw.get(&note, 0_usize).expect("get").expect("note").1;
        raw.put(&first, "voice_memo", "memo-1").expect("put");
        raw.commit();
    }
    let mut older = replica(&mut newer);
    edit(
        &mut older,
        &agent,
        Edit::AddNote {
            text: "old app".into(),
            internal: false,
        },
    );
    edit(
        &mut older,
        &agent,
        Edit::SetTitle {
            title: "Old app title".into(),
        },
    );
    let mut reloaded = TicketDocument::load(&older.save()).expect("loads");
    merge(&mut newer, &mut reloaded);
    let raw = newer.raw();
    assert_eq!(
        raw.get(ROOT, "drone_dispatch")
            .expect("get")
            .and_then(|(v, _)| v.into_string().ok()),
        Some("requested".into())
    );
    let obj = raw.get(ROOT, "x_future").expect("get").expect("kept").1;
    assert!(raw.get(&obj, "level").expect("get").is_some());
    let notes = raw.get(ROOT, "notes").expect("get").expect("notes").1;
    let first = raw.get(&notes, 0_usize).expect("get").expect("note").1;
    assert!(raw.get(&first, "voice_memo").expect("get").is_some());
    let v = newer.view().expect("view ignores unknown keys");
    assert_eq!(v.title, "Old app title");
    assert_eq!(v.notes.len(), 2);
}

#[test]
fn a_document_without_its_creation_change_is_reported_not_guessed() {
    let empty = TicketDocument::empty(crate::ticket::Part::Public, ActorId::random());
    assert!(matches!(empty.view(), Err(DocumentError::Missing(_))));
}

#[test]
fn a_creation_change_alone_loads_as_the_document() {
    let agent = actor("agent1", Role::Agent);
    let mut doc = created(&agent);
    let change = doc.changes_since(&[]).remove(0);
    let loaded = TicketDocument::load(change.raw_bytes()).expect("a change chunk loads");
    assert_eq!(loaded.view().expect("view"), doc.view().expect("view"));
}

#[test]
fn the_largest_honest_changes_fit_within_the_limits() {
    use crate::rules::values::{MAX_DESCRIPTION_CHARS, MAX_NOTE_CHARS, MAX_TITLE_CHARS};
    let agent = actor("agent1", Role::Agent);
    // Longest title, description and note, in a script of 3-byte characters.
    let new = NewTicket {
        description: "冷".repeat(MAX_DESCRIPTION_CHARS),
        note: Some("柜".repeat(MAX_NOTE_CHARS)),
        ..NewTicket::titled(TicketKind::Repair, "热".repeat(MAX_TITLE_CHARS))
    };
    let mut doc = TicketDocument::create("t-big", &agent, &new, ActorId::random(), AT)
        .expect("the largest creation is within the limits");
    let creation = doc.changes_since(&[]).remove(0);
    assert!(creation.raw_bytes().len() <= limits::MAX_CHANGE_BYTES);
    // Rewriting a description deletes and inserts every character: two operations each (shown
    // on 2,000 characters; the diff is slow to compute on the longest), so rewriting the longest
    // stays within the limit.
    let mut short = TicketDocument::create(
        "t-short",
        &agent,
        &NewTicket {
            description: "冷".repeat(2_000),
            ..NewTicket::titled(TicketKind::Repair, "x")
        },
        ActorId::random(),
        AT,
    )
    .expect("creates");
    let view = short.view().expect("view");
    let rewrite = Edit::SetDescription {
        description: "暖".repeat(2_000),
    };
    let change = short
        .apply(&view, &rewrite, &agent, AT + 1)
        .expect("applies")
        .expect("a change");
    assert!(change.len() <= 2 * 2_000 + 10, "{}", change.len());
    const { assert!(2 * MAX_DESCRIPTION_CHARS + 10 <= limits::MAX_CHANGE_OPS) };
    // And the server's judgement decodes both.
    assert!(decode_change(creation.raw_bytes()).is_ok());
    assert!(decode_change(change.raw_bytes()).is_ok());
}

#[test]
fn objects_of_the_wrong_kind_read_as_absent_never_as_a_panic() {
    // Found by the fuzz target: asking a list for a key makes Automerge panic.
    let agent = actor("agent1", Role::Agent);
    let mut doc = created(&agent);
    {
        let raw = doc.raw_mut();
        let events = raw.get(ROOT, "events").expect("get").expect("events").1;
        let len = raw.length(&events);
        raw.insert_object(&events, len, ObjType::List)
            .expect("a list where an event belongs");
        raw.put_object(ROOT, "customer", ObjType::List)
            .expect("a list where the customer belongs");
        raw.put_object(ROOT, "tags", ObjType::Text)
            .expect("a text where the tags belong");
        raw.commit();
    }
    let view = doc.view().expect("still readable");
    assert_eq!(view.events.len(), 1, "only the real event");
    assert_eq!(view.customer, None);
    assert!(view.tags.is_empty());
    // Editing a container of the wrong kind is an error, not a panic either.
    let tag = Edit::AddTag { tag: "vip".into() };
    assert!(doc.apply(&view, &tag, &agent, AT + 2).is_err());
}

#[test]
fn a_ticket_names_each_of_its_people_once_reporter_and_assignee_first() {
    let agent = actor("agent1", Role::Agent);
    let dispatcher = actor("disp1", Role::Dispatcher);
    let tech = actor("tech1", Role::Technician);
    let mut doc = created(&agent);
    let fresh = doc.view().expect("view");
    assert_eq!(fresh.people(), ["agent1"], "the reporter, once");
    let by = |doc: &mut TicketDocument, who: &Actor, e: Edit| {
        let view = doc.view().expect("view");
        doc.apply(&view, &e, who, AT + 1).expect("applies");
    };
    by(
        &mut doc,
        &dispatcher,
        Edit::Assign {
            assignee: Some("tech1".into()),
        },
    );
    by(
        &mut doc,
        &tech,
        Edit::AddNote {
            text: "on my way".into(),
            internal: false,
        },
    );
    by(
        &mut doc,
        &tech,
        Edit::AddPart {
            sku: "VALVE-1".into(),
            qty: 1,
        },
    );
    by(
        &mut doc,
        &dispatcher,
        Edit::Assign {
            assignee: Some("tech2".into()),
        },
    );
    let view = doc.view().expect("view");
    // tech1 is no longer the assignee but stays named: by their note and in the history.
    assert_eq!(view.people(), ["agent1", "tech2", "tech1", "disp1"]);
    by(&mut doc, &dispatcher, Edit::Assign { assignee: None });
    let view = doc.view().expect("view");
    assert_eq!(view.people(), ["agent1", "tech1", "disp1", "tech2"]);
}

#[test]
fn staff_documents_begin_with_one_genesis_so_offline_starts_are_one_document() {
    let agent = actor("agent1", Role::Agent);
    let dispatcher = actor("disp1", Role::Dispatcher);
    let public = created(&agent);
    let mut a = TicketDocument::staff(ActorId::random());
    let mut b = TicketDocument::staff(ActorId::random());
    assert_eq!(a.heads(), b.heads(), "the same genesis, byte for byte");
    let genesis = a.changes_since(&[]);
    assert_eq!(genesis.len(), 1);
    assert_eq!(genesis[0].actor_id(), &ActorId::from(STAFF_GENESIS_ACTOR));
    let note = |text: &str| Edit::AddNote {
        text: text.into(),
        internal: true,
    };
    staff_edit(&public, &mut a, &agent, note("from the desk"));
    staff_edit(&public, &mut b, &dispatcher, note("from the van"));
    staff_edit(&public, &mut b, &agent, Edit::AddTag { tag: "vip".into() });
    merge(&mut a, &mut b);
    merge(&mut b, &mut a);
    let (va, vb) = (a.staff_view().expect("view"), b.staff_view().expect("view"));
    assert_eq!(va, vb);
    let mut texts: Vec<&str> = va.notes.iter().map(|n| n.text.as_str()).collect();
    texts.sort_unstable();
    assert_eq!(
        texts,
        ["from the desk", "from the van"],
        "neither list hides the other"
    );
    assert!(va.notes.iter().all(|n| n.internal));
    assert_eq!(va.tags, ["vip"]);
    assert!(va.conflicts.is_empty(), "{:?}", va.conflicts);
}

#[test]
fn each_edit_is_written_to_its_own_document_only() {
    let agent = actor("agent1", Role::Agent);
    let mut public = created(&agent);
    let view = public.view().expect("view");
    let internal = Edit::AddNote {
        text: "internal".into(),
        internal: true,
    };
    assert!(matches!(
        public.apply(&view, &internal, &agent, AT),
        Err(DocumentError::WrongPart { .. })
    ));
    let mut staff = TicketDocument::staff(ActorId::random());
    let title = Edit::SetTitle {
        title: "other".into(),
    };
    assert!(matches!(
        staff.apply(&view, &title, &agent, AT),
        Err(DocumentError::WrongPart { .. })
    ));
    // A redaction follows its note: the public note's to the public document.
    let public_note = view.notes[0].id.clone();
    let redact = Edit::RedactNote {
        note_id: public_note,
    };
    assert_eq!(redact.part(&view), Part::Public);
    staff_edit(&public, &mut staff, &agent, internal);
    let merged = view.clone().with_staff(staff.staff_view().expect("view"));
    let internal_id = merged
        .notes
        .iter()
        .find(|n| n.internal)
        .expect("internal")
        .id
        .clone();
    let redact_internal = Edit::RedactNote {
        note_id: internal_id.clone(),
    };
    assert_eq!(redact_internal.part(&merged), Part::Staff);
    staff_edit(&public, &mut staff, &agent, redact_internal);
    let staff_view = staff.staff_view().expect("view");
    assert!(staff_view.notes[0].redacted);
    assert_eq!(staff_view.events[0].kind, "note_redacted");
    assert!(
        public
            .view()
            .expect("view")
            .events
            .iter()
            .all(|e| e.kind != "note_redacted")
    );
    // A saved staff document loads as one.
    let saved = staff.save();
    let loaded = TicketDocument::load_part(Part::Staff, &saved).expect("loads");
    assert_eq!(loaded.staff_view().expect("view"), staff_view);
}
