//! Judging a note on the ticket's tip against judging it on the document: the same ticket (and
//! the tip the document then has), or the same refusal, or no judgement on the tip at all — for
//! honest notes, forged ones, and notes written apart on several phones.

use automerge::ActorId;
use proptest::prelude::*;
use serde_json::{Value as Json, json};

use crate::model::{Actor, Role};
use crate::rules::judge::{Refused, judge_append, judge_edit_owned};
use crate::ticket::appended::tests::{
    FORGERIES, Forgery, forge, note, phone, sync, tech, ticket, write,
};
use crate::ticket::tests::actor;
use crate::ticket::{Change, TicketDocument};

/// What judging on the tip said, if it judged.
#[derive(Debug, PartialEq)]
enum OnTip {
    NotJudged,
    Accepted,
    Refused(Refused),
}

/// Judges `change` by `by` both ways on the server's ticket, checks that they agree, and says
/// what the tip said. The tip judges it a second time on the view without its notes' texts (as
/// the server keeps it) and must say the same.
fn judged_both_ways(server: &mut TicketDocument, by: &Actor, change: &Change) -> OnTip {
    let current = server.view().expect("the server's ticket reads");
    let tip = server.tip().expect("a ticket with a notes list has a tip");
    let on_document = judge_edit_owned(by, server.fork(), &current, change);
    let (said, view) = match (judge_append(by, &tip, &current, change), on_document) {
        (None, _) => (OnTip::NotJudged, None),
        (Some(Ok((ticket, next))), Ok((mut doc, view))) => {
            assert_eq!(ticket, view, "the same ticket both ways");
            assert_eq!(doc.tip(), Some(next), "the tip the document has after it");
            (OnTip::Accepted, Some(view))
        }
        (Some(Err(on_tip)), Err(on_doc)) => {
            assert_eq!(on_tip, on_doc, "the same refusal both ways");
            (OnTip::Refused(on_tip), None)
        }
        (Some(on_tip), on_doc) => panic!(
            "the tip said {:?}, the document {:?}",
            on_tip.map(|_| ()),
            on_doc.map(|_| ())
        ),
    };
    let mut textless = current.clone();
    for note in &mut textless.notes {
        note.text.clear();
    }
    match (&said, judge_append(by, &tip, &textless, change)) {
        (OnTip::NotJudged, None) => {}
        (OnTip::Accepted, Some(Ok((ticket, _)))) => assert_eq!(
            ticket.notes.last(),
            view.as_ref().and_then(|v| v.notes.last()),
            "the same note appended without the texts"
        ),
        (OnTip::Refused(refused), Some(Err(without))) => {
            assert_eq!(refused, &without, "the same refusal without the texts")
        }
        (said, without) => panic!(
            "with the texts the tip said {said:?}, without them {:?}",
            without.map(|j| j.map(|_| ()))
        ),
    }
    said
}

/// `change` with its serde form edited by `edit`.
fn reforged(change: &Change, edit: impl FnOnce(&mut Json)) -> Change {
    let mut form = serde_json::to_value(change.decode()).expect("serde form");
    edit(&mut form);
    let expanded: automerge::ExpandedChange = serde_json::from_value(form).expect("a change");
    Change::from(expanded)
}

#[test]
fn an_honest_note_is_judged_on_the_tip_as_on_the_document() {
    for notes in [0, 1, 5, 40] {
        let mut server = ticket(notes);
        let change = write(
            &mut phone(&mut server),
            &note("compressor replaced"),
            &tech(),
        );
        assert_eq!(
            judged_both_ways(&mut server, &tech(), &change),
            OnTip::Accepted,
            "{notes} notes"
        );
    }
}

#[test]
fn a_tip_moves_along_note_by_note_as_the_document_does() {
    let mut server = ticket(2);
    let mut tip = server.tip().expect("tip");
    let mut view = server.view().expect("view");
    let mut device = phone(&mut server);
    for n in 0..5 {
        let change = write(&mut device, &note(&format!("step {n}")), &tech());
        let (after, next) = judge_append(&tech(), &tip, &view, &change)
            .expect("judged on the tip")
            .expect("accepted");
        server.apply_changes(vec![change]).expect("applies");
        assert_eq!(after, server.view().expect("view"));
        assert_eq!(Some(next.clone()), server.tip());
        (tip, view) = (next, after);
    }
}

#[test]
fn every_forged_note_is_judged_on_the_document_or_judged_the_same() {
    let mut server = ticket(3);
    let honest = write(&mut phone(&mut server), &note("fan replaced"), &tech());
    for forgery in FORGERIES {
        let on_tip = judged_both_ways(&mut server, &tech(), &forge(&honest, forgery));
        let honest_looking = matches!(
            forgery,
            Forgery::None | Forgery::ErasedKey | Forgery::TextTime
        );
        assert_eq!(on_tip == OnTip::Accepted, honest_looking, "{forgery:?}");
        // A note without its id does not read: the document says why.
        if matches!(forgery, Forgery::WithoutId) {
            assert_eq!(on_tip, OnTip::NotJudged);
        }
    }
}

#[test]
fn a_note_out_of_order_or_off_the_heads_is_judged_on_the_document() {
    let mut server = ticket(3);
    let mut device = phone(&mut server);
    let honest = write(&mut device, &note("fan replaced"), &tech());
    let skips_a_number = reforged(&honest, |form| {
        form["seq"] = json!(form["seq"].as_u64().unwrap() + 1)
    });
    // Its operations numbered one later, the note's values put into the note so numbered.
    let later_op = reforged(&honest, |form| {
        let start = form["startOp"].as_u64().unwrap();
        let (was, now) = (format!("{start}@"), format!("{}@", start + 1));
        form["startOp"] = json!(start + 1);
        for op in form["ops"].as_array_mut().unwrap() {
            let obj = op["obj"].as_str().unwrap().replacen(&was, &now, 1);
            op["obj"] = json!(obj);
        }
    });
    let no_deps = reforged(&honest, |form| form["deps"] = json!([]));
    // Another phone wrote first: this note is off the heads, as its author saw an older ticket.
    let first = write(&mut phone(&mut server), &note("I was here first"), &tech());
    let mut moved = server.fork();
    moved.apply_changes(vec![first]).expect("applies");
    for (what, server, change) in [
        ("a skipped number", &mut server.fork(), &skips_a_number),
        ("a later first operation", &mut server.fork(), &later_op),
        ("no dependencies", &mut server.fork(), &no_deps),
        ("off the heads", &mut moved, &honest),
    ] {
        assert_eq!(
            judged_both_ways(server, &tech(), change),
            OnTip::NotJudged,
            "{what}"
        );
    }
}

#[test]
fn a_note_by_someone_who_may_not_write_it_is_refused_the_same_on_the_tip() {
    let mut server = ticket(2);
    // A rider who is not on the ticket, writing a note through a synced copy.
    let rider = actor("rider9", Role::Rider);
    let change = write(&mut phone(&mut server), &note("not mine"), &tech());
    let change = reforged(&change, |form| {
        for op in form["ops"].as_array_mut().unwrap() {
            if op["key"] == "author" {
                op["value"] = json!("rider9");
            }
        }
    });
    let on_tip = judged_both_ways(&mut server, &rider, &change);
    assert!(matches!(on_tip, OnTip::Refused(_)), "{on_tip:?}");
}

#[test]
fn a_note_under_a_taken_id_is_judged_on_the_document() {
    let mut server = ticket(2);
    let taken = server.view().expect("view").notes[0].clone();
    let honest = write(&mut phone(&mut server), &note("fan replaced"), &tech());
    for text in [taken.text.as_str(), "something else"] {
        // The first note's id (and author, and perhaps its text) on a new note of the tech's.
        let change = reforged(&honest, |form| {
            for op in form["ops"].as_array_mut().unwrap() {
                match op["key"].as_str() {
                    Some("id") => op["value"] = json!(taken.id),
                    Some("author") => op["value"] = json!(taken.author),
                    Some("text") => op["value"] = json!(text),
                    _ => {}
                }
            }
        });
        // The tip does not read the notes' texts: the document compares the notes whole.
        let on_tip = judged_both_ways(&mut server, &tech(), &change);
        assert_eq!(on_tip, OnTip::NotJudged, "{text}");
        let current = server.view().expect("view");
        let on_document = judge_edit_owned(&tech(), server.fork(), &current, &change);
        assert!(on_document.is_err(), "{text}: refused on the document");
    }
}

#[test]
fn a_staff_document_has_no_tip() {
    let mut staff = TicketDocument::staff(ActorId::random());
    assert_eq!(staff.tip(), None);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Notes written on several phones apart (each on the ticket as the server held it when its
    /// phone last synced), forged or not, arriving in any order: the tip's judgement is the
    /// document's whenever it judges, and it judges every honest note built on the heads.
    #[test]
    fn judging_on_the_tip_is_judging_on_the_document(
        notes in 0usize..6,
        writes in proptest::collection::vec((0usize..3, 0usize..FORGERIES.len()), 1..8),
    ) {
        let mut server = ticket(notes);
        let mut phones: Vec<TicketDocument> = (0..3).map(|_| phone(&mut server)).collect();
        for (i, (which, forgery)) in writes.iter().enumerate() {
            let phone = &mut phones[*which];
            let on_heads = phone.heads() == server.heads();
            let honest = write(phone, &note(&format!("note {i}")), &tech());
            let change = forge(&honest, FORGERIES[*forgery]);
            let current = server.view().expect("view");
            let on_tip = judged_both_ways(&mut server, &tech(), &change);
            if on_heads && current.conflicts.is_empty() && matches!(FORGERIES[*forgery], Forgery::None) {
                prop_assert_eq!(&on_tip, &OnTip::Accepted);
            }
            // What the document accepts is kept, as the server would; the phone syncs.
            if let Ok((doc, _)) = judge_edit_owned(&tech(), server.fork(), &current, &change) {
                server = doc;
            }
            sync(phone, &mut server);
        }
    }
}

#[test]
fn a_note_naming_its_authors_last_change_beside_the_heads_is_judged_on_the_tip() {
    let mut server = ticket(1);
    let (mut first, mut second) = (phone(&mut server), phone(&mut server));
    // The first phone writes; the second builds on that; the first syncs it and writes again.
    let mine = write(&mut first, &note("fan replaced"), &tech());
    assert_eq!(
        judged_both_ways(&mut server, &tech(), &mine),
        OnTip::Accepted
    );
    server.apply_changes(vec![mine.clone()]).expect("applies");
    sync(&mut second, &mut server);
    let theirs = write(&mut second, &note("checked"), &tech());
    server.apply_changes(vec![theirs.clone()]).expect("applies");
    sync(&mut first, &mut server);
    let again = write(&mut first, &note("sealed"), &tech());
    // Automerge names the author's own last change too: it is no longer a head.
    let mut deps = again.deps().to_vec();
    deps.sort_unstable();
    let mut expected = vec![mine.hash(), theirs.hash()];
    expected.sort_unstable();
    assert_eq!(deps, expected);
    assert_eq!(
        judged_both_ways(&mut server, &tech(), &again),
        OnTip::Accepted
    );
}
