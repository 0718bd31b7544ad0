//! Reading after an appended note against reading the whole ticket: the same ticket, or the same
//! refusal, for honest notes and for changes forged around them.

use automerge::ActorId;
use proptest::prelude::*;
use serde_json::{Value as Json, json};

use super::note_appended;
use crate::model::{Actor, Priority, Role};
use crate::ticket::tests::actor;
use crate::ticket::{Change, Edit, NewTicket, TicketDocument};

pub(in crate::ticket) fn tech() -> Actor {
    actor("tech1", Role::Technician)
}

/// A repair ticket assigned to `tech1`, as the server holds it, with `notes` notes.
pub(in crate::ticket) fn ticket(notes: usize) -> TicketDocument {
    let dispatcher = actor("disp1", Role::Dispatcher);
    let new = NewTicket::titled(crate::model::TicketKind::Repair, "Fridge");
    let mut doc =
        TicketDocument::create("t1", &dispatcher, &new, ActorId::random(), 1).expect("creates");
    let assign = Edit::Assign {
        assignee: Some("tech1".into()),
    };
    write(&mut doc, &assign, &dispatcher);
    for n in 0..notes {
        write(&mut doc, &note(&format!("reading {n}")), &tech());
    }
    doc
}

pub(in crate::ticket) fn note(text: &str) -> Edit {
    Edit::AddNote {
        text: text.into(),
        internal: false,
    }
}

pub(in crate::ticket) fn write(doc: &mut TicketDocument, edit: &Edit, by: &Actor) -> Change {
    let view = doc.view().expect("view");
    doc.apply(&view, edit, by, 2)
        .expect("applies")
        .expect("a change")
}

/// A technician's phone: a copy of `server` writing as its own author.
pub(in crate::ticket) fn phone(server: &mut TicketDocument) -> TicketDocument {
    let mut phone = server.fork();
    phone.set_actor(ActorId::random());
    phone
}

/// `phone` after a sync: what the server holds, written further by the phone's own author.
pub(in crate::ticket) fn sync(phone: &mut TicketDocument, server: &mut TicketDocument) {
    let mut synced = server.fork();
    synced.set_actor(phone.actor());
    *phone = synced;
}

/// How a change is forged from an honest note, through its serde form (as a client could).
#[derive(Debug, Clone, Copy)]
pub(in crate::ticket) enum Forgery {
    None,
    /// One of the note's keys written twice (the note then holds a conflict).
    RepeatedKey,
    /// A key a note does not have.
    UnknownKey,
    /// The key set when a note is erased, which a note may hold.
    ErasedKey,
    /// The note's id left out (it does not read).
    WithoutId,
    /// A value of another type where the note's time goes.
    TextTime,
    /// A value written over another (a predecessor named).
    Replacing,
    /// The ticket's title changed beside the note.
    AndTheTitle,
    /// A map where the note's text goes.
    ObjectText,
    /// The note inserted first, not last.
    AtTheHead,
}

pub(in crate::ticket) const FORGERIES: [Forgery; 10] = [
    Forgery::None,
    Forgery::RepeatedKey,
    Forgery::UnknownKey,
    Forgery::ErasedKey,
    Forgery::WithoutId,
    Forgery::TextTime,
    Forgery::Replacing,
    Forgery::AndTheTitle,
    Forgery::ObjectText,
    Forgery::AtTheHead,
];

pub(in crate::ticket) fn forge(honest: &Change, forgery: Forgery) -> Change {
    if matches!(forgery, Forgery::None) {
        return honest.clone();
    }
    let mut form = serde_json::to_value(honest.decode()).expect("serde form");
    let make = format!("{}@{}", honest.start_op().get(), honest.actor_id());
    let ops = form["ops"].as_array_mut().expect("ops");
    let put = |ops: &[Json], key: &str| {
        ops.iter()
            .position(|op| op["key"] == key)
            .expect("the note writes the key")
    };
    match forgery {
        Forgery::None => {}
        Forgery::RepeatedKey => {
            let i = put(ops, "text");
            let mut again = ops[i].clone();
            again["value"] = json!("written twice");
            ops.push(again);
        }
        Forgery::UnknownKey => {
            let i = put(ops, "role");
            ops[i]["key"] = json!("x_mood");
        }
        Forgery::ErasedKey => {
            let i = put(ops, "redacted");
            let mut erased = ops[i].clone();
            erased["key"] = json!("erased");
            ops.push(erased);
        }
        Forgery::WithoutId => {
            let id = put(ops, "id");
            ops.remove(id);
        }
        Forgery::TextTime => {
            let i = put(ops, "at");
            let op = ops[i].as_object_mut().expect("an op");
            op.insert("value".into(), json!("yesterday"));
            op.remove("datatype");
        }
        Forgery::Replacing => {
            let i = put(ops, "text");
            ops[i]["pred"] = json!([make]);
        }
        Forgery::AndTheTitle => ops.push(json!({
            "action": "set", "obj": "_root", "key": "title", "value": "Mine now", "pred": [],
        })),
        Forgery::ObjectText => {
            let text = put(ops, "text");
            let op = ops[text].as_object_mut().expect("an op");
            op.insert("action".into(), json!("makeMap"));
            op.remove("value");
        }
        Forgery::AtTheHead => ops[0]["elemId"] = json!("_head"),
    }
    let expanded: automerge::ExpandedChange = serde_json::from_value(form).expect("a change");
    Change::from(expanded)
}

/// What reading after the note and reading the whole ticket say, as comparable values, and
/// whether the note was read on its own.
fn both_readings(server: &mut TicketDocument, change: &Change) -> (Json, Json, bool) {
    let before = server.view().expect("the server's ticket reads");
    let mut after = server.fork();
    if after.apply_changes(vec![change.clone()]).is_err() {
        // Automerge refused it: judging never reads such a change.
        return (Json::Null, Json::Null, false);
    }
    let short = note_appended(after.raw(), &before, change).is_some();
    let mut whole = after.fork();
    let render = |read: Result<crate::ticket::Ticket, crate::ticket::DocumentError>| match read {
        Ok(ticket) => serde_json::to_value(ticket).expect("serializes"),
        Err(e) => json!({ "error": e.to_string() }),
    };
    (
        render(after.read_after(&before, change)),
        render(whole.read_checked(None)),
        short,
    )
}

#[test]
fn an_honest_note_reads_as_the_whole_ticket_does_without_the_walk() {
    for notes in [0, 1, 5, 40] {
        let mut server = ticket(notes);
        let change = write(
            &mut phone(&mut server),
            &note("compressor replaced"),
            &tech(),
        );
        let (short, whole, took) = both_readings(&mut server, &change);
        assert!(took, "{notes} notes: an honest note is read on its own");
        assert_eq!(short, whole, "{notes} notes");
        assert_eq!(short["notes"].as_array().map(Vec::len), Some(notes + 1));
    }
}

#[test]
fn every_forgery_is_read_whole_or_read_the_same() {
    let mut server = ticket(3);
    let honest = write(&mut phone(&mut server), &note("fan replaced"), &tech());
    for forgery in FORGERIES {
        let change = forge(&honest, forgery);
        let (short, whole, took) = both_readings(&mut server, &change);
        assert_eq!(short, whole, "{forgery:?}");
        // Only what an honest app could write is read on its own.
        let expected = matches!(
            forgery,
            Forgery::None | Forgery::ErasedKey | Forgery::WithoutId | Forgery::TextTime
        );
        assert_eq!(took, expected, "{forgery:?}");
    }
}

#[test]
fn a_ticket_with_conflicts_and_a_note_landing_early_are_read_whole() {
    let mut server = ticket(2);
    // Two phones set the priority apart: the ticket holds a conflict.
    let (mut a, mut b) = (phone(&mut server), phone(&mut server));
    let high = Edit::SetPriority {
        priority: Priority::High,
    };
    let low = Edit::SetPriority {
        priority: Priority::Low,
    };
    let dispatcher = actor("disp1", Role::Dispatcher);
    let one = write(&mut a, &high, &dispatcher);
    let other = write(&mut b, &low, &dispatcher);
    server.apply_changes(vec![one, other]).expect("merges");
    assert!(!server.view().expect("view").conflicts.is_empty());
    let change = write(&mut phone(&mut server), &note("which one?"), &tech());
    let (short, whole, took) = both_readings(&mut server, &change);
    assert!(!took);
    assert_eq!(short, whole);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A ticket with some notes, then notes written on several phones apart (each on the
    /// ticket as the server held it when its phone last synced), forged or not, arriving in any
    /// order: after each, reading the note alone gives what reading the whole ticket gives.
    #[test]
    fn reading_after_a_note_is_reading_the_whole_ticket(
        notes in 0usize..6,
        writes in proptest::collection::vec((0usize..3, 0usize..FORGERIES.len()), 1..8),
    ) {
        let mut server = ticket(notes);
        let mut phones: Vec<TicketDocument> = (0..3).map(|_| phone(&mut server)).collect();
        let mut took = 0;
        for (i, (which, forgery)) in writes.iter().enumerate() {
            let phone = &mut phones[*which];
            let honest = write(phone, &note(&format!("note {i}")), &tech());
            let change = forge(&honest, FORGERIES[*forgery]);
            let (short, whole, short_read) = both_readings(&mut server, &change);
            prop_assert_eq!(&short, &whole);
            took += usize::from(short_read);
            // A change that leaves a ticket that reads is kept, as judging would (a forged one
            // may leave conflicts behind); the phone syncs and holds what the server holds.
            if whole.get("id").is_some() {
                server.apply_changes(vec![change]).expect("applied before");
            }
            sync(phone, &mut server);
        }
        // The first honest note on the ticket as stored is always read on its own.
        if matches!(FORGERIES[writes[0].1], Forgery::None) {
            prop_assert!(took > 0);
        }
    }
}
