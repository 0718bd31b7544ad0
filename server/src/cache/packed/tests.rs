//! A packed view reads back as the view it was but for its notes' texts, whatever its notes hold.

use fieldwork_core::ticket::{ActorId, Edit, NewTicket, TicketDocument};
use fieldwork_core::{Actor, TicketKind};
use proptest::prelude::*;

use super::*;

fn ticket_with_notes(notes: usize) -> Ticket {
    let actor = Actor {
        tenant: "t".into(),
        user_id: Uuid::new_v4().to_string(),
        role: Role::Technician,
        name: None,
        team: None,
    };
    let new = NewTicket::titled(TicketKind::Repair, "Freezer warm");
    let mut doc =
        TicketDocument::create("id", &actor, &new, ActorId::random(), 1).expect("creates");
    for i in 0..notes {
        let view = doc.view().expect("view");
        let note = Edit::AddNote {
            text: format!("Checked compressor, reading {i}"),
            internal: false,
        };
        doc.apply(&view, &note, &actor, 1_700_000_000_000 + i as i64)
            .expect("applies");
    }
    doc.view().expect("view")
}

/// `view` as it reads back once packed.
fn packed_as(view: &Ticket) -> Option<Ticket> {
    Some(Ticket {
        notes: without_texts(view.notes.clone()),
        ..view.clone()
    })
}

#[test]
fn a_ticket_written_by_its_device_reads_back_and_packs_small() {
    let view = ticket_with_notes(120);
    let packed = PackedView::pack(view.clone());
    assert_eq!(packed.unpack(), packed_as(&view));
    assert!(view.notes.iter().all(|n| !n.text.is_empty()));
    assert_eq!(packed.notes(), 120);
    assert!(packed.head().notes.is_empty());
    // Each note: its author's index, flags, a UUID's 16 bytes and a short time step, against
    // ~220 bytes held as a `Note`; its ~30 bytes of text are not kept.
    let per_note = packed.packed_bytes() / 120;
    assert!(
        (18..=24).contains(&per_note),
        "{per_note} bytes a packed note"
    );
}

#[test]
fn a_buffer_that_does_not_read_back_is_none_not_a_panic() {
    let mut packed = PackedView::pack(ticket_with_notes(3));
    let whole = packed.notes.clone();
    for cut in 0..whole.len() {
        packed.notes = whole[..cut].into();
        assert_eq!(packed.unpack(), None, "cut at {cut}");
    }
    packed.notes = [&whole[..], &[0]].concat();
    assert_eq!(packed.unpack(), None, "a byte left over");
}

fn any_note() -> impl Strategy<Value = Note> {
    let id = prop_oneof![
        Just(()).prop_map(|()| Uuid::new_v4().to_string()),
        Just(()).prop_map(|()| Uuid::new_v4().to_string().to_uppercase()),
        Just(()).prop_map(|()| Uuid::new_v4().simple().to_string()),
        Just(()).prop_map(|()| Uuid::new_v4().simple().to_string().to_uppercase()),
        Just(()).prop_map(|()| Uuid::new_v4().braced().to_string()),
        ".{0,40}",
    ];
    let role = prop_oneof![
        Just(Role::Rider),
        Just(Role::Technician),
        Just(Role::Agent),
        Just(Role::Admin),
    ];
    (
        id,
        prop_oneof!["a|b|c", ".{0,40}"],
        role,
        ".{0,200}",
        any::<[bool; 3]>(),
        any::<i64>(),
    )
        .prop_map(
            |(id, author, role, text, [internal, redacted, erased], at)| Note {
                id,
                author,
                role,
                text,
                internal,
                at,
                redacted,
                erased,
            },
        )
}

proptest! {
    #[test]
    fn any_notes_read_back_as_they_were(notes in prop::collection::vec(any_note(), 0..40)) {
        let view = Ticket { notes, ..ticket_with_notes(0) };
        prop_assert_eq!(PackedView::pack(view.clone()).unpack(), packed_as(&view));
    }
}

/// `long` with its first `notes` notes.
fn short_again(long: &Ticket, notes: usize) -> Ticket {
    Ticket {
        notes: long.notes[..notes].to_vec(),
        ..long.clone()
    }
}

#[test]
fn notes_appended_are_packed_after_the_others_and_a_changed_head_packs_whole() {
    let long = ticket_with_notes(8);
    let short = short_again(&long, 5);
    let before = PackedView::pack(short);
    let appended = before.appended(long.clone());
    assert_eq!(appended.unpack(), packed_as(&long));
    assert_eq!(appended.notes, PackedView::pack(long.clone()).notes);
    // What a writer appends to is a kept view, read back without the texts; the notes it
    // appends have theirs.
    let kept = PackedView::pack(short_again(&long, 5))
        .unpack()
        .expect("reads");
    let appended_to_kept = Ticket {
        notes: [&kept.notes[..], &long.notes[5..]].concat(),
        ..long.clone()
    };
    assert_eq!(before.appended(appended_to_kept).notes, appended.notes);
    // The head moved too (a writer must not say so, but if it did): packed whole, read back.
    let retitled = Ticket {
        title: "Freezer still warm".into(),
        ..long
    };
    assert_eq!(
        before.appended(retitled.clone()).unpack(),
        packed_as(&retitled)
    );
}

proptest! {
    #[test]
    fn notes_packed_in_two_steps_read_back_as_packed_at_once(
        notes in prop::collection::vec(any_note(), 0..30),
        split in 0usize..30,
    ) {
        let split = split.min(notes.len());
        let view = Ticket { notes, ..ticket_with_notes(0) };
        let first = Ticket { notes: view.notes[..split].to_vec(), ..view.clone() };
        let at_once = PackedView::pack(view.clone());
        let in_two = PackedView::pack(first).appended(view.clone());
        prop_assert_eq!(&in_two.notes, &at_once.notes);
        prop_assert_eq!(in_two.unpack(), packed_as(&view));
    }
}
