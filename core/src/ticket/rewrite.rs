//! Rewriting one of a ticket's documents without erased content (`docs/staff-data.md`, "Erase"):
//! Automerge keeps every value ever written in its history, so removing personal data means a new
//! history. The rewrite copies what the document holds now — each field's winning value, every
//! note, photo and event in its place — into a document of one change, leaving out what is
//! erased. Lists keep their length and maps their keys, so a path into the old document names the
//! same place in the new one (what a device needs to carry its unsent edits over).
//!
//! The erased content is left out *while* copying: writing it and overwriting it in the same
//! change would keep the overwritten value in the change's bytes.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use super::document::{DocumentError, TicketDocument};
use super::limits::MAX_DEPTH;
pub use crate::model::Erasure;
use crate::model::Part;

/// Keys of a photo entry that go with an erased photo (it may show where someone lives).
const PHOTO_PERSONAL: [&str; 7] = [
    "thumb",
    "name",
    "captured_at",
    "lat",
    "lon",
    "accuracy_m",
    "by",
];

/// What the copy does at one place of the document.
enum Place {
    Copy,
    /// An erased note: copied without its text, marked `erased`.
    ErasedNote,
    /// An erased photo: copied without [`PHOTO_PERSONAL`], marked `erased`.
    ErasedPhoto,
}

/// `doc` rewritten without `erasures`, as a new history by `actor` at `at`: a public document is
/// one change; a staff document is the shared genesis and one change on top of it (so devices
/// that start a staff document from the genesis still build on it). Conflicts are resolved to the
/// values the view shows. Returns the new document and whether anything was erased (an erasure
/// naming nothing this document holds erases nothing).
pub fn rewrite(
    doc: &TicketDocument,
    erasures: &[Erasure],
    actor: ActorId,
    at: i64,
) -> Result<(TicketDocument, bool), DocumentError> {
    let src = doc.raw();
    let mut out = TicketDocument::empty(doc.part(), actor);
    let mut erased = false;
    {
        let dst = out.inner_mut();
        for key in src.keys(&ROOT) {
            let Some((value, id)) = src.get(&ROOT, key.as_str())? else {
                continue;
            };
            if key == "customer" && erasures.contains(&Erasure::Contact) {
                erased |=
                    !matches!(&value, Value::Scalar(s) if matches!(s.as_ref(), ScalarValue::Null));
                dst.put(&ROOT, key.as_str(), ScalarValue::Null)?;
                continue;
            }
            match value {
                Value::Scalar(s) => dst.put(&ROOT, key.as_str(), s.into_owned())?,
                Value::Object(kind) => {
                    // The staff genesis made its containers already: copy into them.
                    let into = match (doc.part(), dst.get(&ROOT, key.as_str())?) {
                        (Part::Staff, Some((Value::Object(made), made_id)))
                            if super::read::same_kind(made, kind) =>
                        {
                            made_id
                        }
                        _ => dst.put_object(&ROOT, key.as_str(), kind)?,
                    };
                    erased |= copy_object(src, dst, &id, &into, kind, &key, erasures, 1)?;
                }
            }
        }
    }
    out.inner_mut().commit_with(
        CommitOptions::default()
            .with_message("rewrite after an erase")
            .with_time(at),
    );
    Ok((out, erased))
}

/// Copies the object `from` of `src` (at root key `root_key`, `depth` deep) into `to` of `dst`.
/// Returns whether it left anything out.
#[allow(clippy::too_many_arguments)]
fn copy_object(
    src: &AutoCommit,
    dst: &mut AutoCommit,
    from: &ObjId,
    to: &ObjId,
    kind: ObjType,
    root_key: &str,
    erasures: &[Erasure],
    depth: usize,
) -> Result<bool, DocumentError> {
    if depth > MAX_DEPTH {
        return Err(super::limits::LimitError::TooDeep.into());
    }
    let mut erased = false;
    match kind {
        ObjType::Text => {
            let text = src.text(from)?;
            dst.splice_text(to, 0, 0, &text)?;
        }
        ObjType::List => {
            for index in 0..src.length(from) {
                let Some((value, id)) = src.get(from, index)? else {
                    continue;
                };
                match value {
                    Value::Scalar(s) => dst.insert(to, index, s.into_owned())?,
                    Value::Object(child_kind) => {
                        let place = if root_key == "notes" && depth == 1 {
                            note_place(src, &id, erasures)?
                        } else {
                            Place::Copy
                        };
                        let child = dst.insert_object(to, index, child_kind)?;
                        erased |= copy_child(
                            src, dst, &id, &child, child_kind, root_key, erasures, depth, place,
                        )?;
                    }
                }
            }
        }
        ObjType::Map | ObjType::Table => {
            for key in src.keys(from) {
                let Some((value, id)) = src.get(from, key.as_str())? else {
                    continue;
                };
                match value {
                    Value::Scalar(s) => dst.put(to, key.as_str(), s.into_owned())?,
                    Value::Object(child_kind) => {
                        let place = if root_key == "attachments"
                            && depth == 1
                            && erasures
                                .iter()
                                .any(|e| matches!(e, Erasure::Photo { sha256 } if *sha256 == key))
                        {
                            Place::ErasedPhoto
                        } else {
                            Place::Copy
                        };
                        let child = dst.put_object(to, key.as_str(), child_kind)?;
                        erased |= copy_child(
                            src, dst, &id, &child, child_kind, root_key, erasures, depth, place,
                        )?;
                    }
                }
            }
        }
    }
    Ok(erased)
}

/// Copies one child object as `place` says.
#[allow(clippy::too_many_arguments)]
fn copy_child(
    src: &AutoCommit,
    dst: &mut AutoCommit,
    from: &ObjId,
    to: &ObjId,
    kind: ObjType,
    root_key: &str,
    erasures: &[Erasure],
    depth: usize,
    place: Place,
) -> Result<bool, DocumentError> {
    let skipped: &[&str] = match place {
        Place::Copy => {
            return copy_object(src, dst, from, to, kind, root_key, erasures, depth + 1);
        }
        Place::ErasedNote => &["text"],
        Place::ErasedPhoto => &PHOTO_PERSONAL,
    };
    // An erased entry: its fields but the personal ones, and the mark.
    for key in src.keys(from) {
        if skipped.contains(&key.as_str()) {
            continue;
        }
        match src.get(from, key.as_str())? {
            Some((Value::Scalar(s), _)) => dst.put(to, key.as_str(), s.into_owned())?,
            Some((Value::Object(child_kind), id)) => {
                let child = dst.put_object(to, key.as_str(), child_kind)?;
                copy_object(
                    src,
                    dst,
                    &id,
                    &child,
                    child_kind,
                    root_key,
                    erasures,
                    depth + 2,
                )?;
            }
            None => {}
        }
    }
    if matches!(place, Place::ErasedNote) {
        dst.put(to, "text", "")?;
    }
    dst.put(to, "erased", true)?;
    Ok(true)
}

/// Whether the note at `note` is one to erase.
fn note_place(
    src: &AutoCommit,
    note: &ObjId,
    erasures: &[Erasure],
) -> Result<Place, DocumentError> {
    let id = match src.get(note, "id")? {
        Some((Value::Scalar(s), _)) => s.to_str().map(str::to_owned),
        _ => None,
    };
    let erased = id.is_some_and(|id| {
        erasures
            .iter()
            .any(|e| matches!(e, Erasure::Note { note_id } if *note_id == id))
    });
    Ok(if erased {
        Place::ErasedNote
    } else {
        Place::Copy
    })
}

/// Carries a device's unsent work over to a rewritten document: what each of `pending` (this
/// device's changes not yet taken by the server, all applied in `old`, oldest first) did to `old`
/// is done again on `new` (the server's rewrite of it, [`rewrite`]) by path — the rewrite kept
/// every list and key in place — as one change by `new`'s actor at `at` for each (a staff one
/// made against the public heads `new` was told of, [`TicketDocument::seen_public`]). One change
/// for each keeps every step the server judges: two status moves made offline stay two moves, not
/// one jump the workflow would refuse. Whatever touches erased content is dropped: an edit of an
/// erased note or photo, or of the contact when it was erased; a change left with nothing to do
/// is carried as no change. Returns the carried changes, oldest first.
pub fn rebase(
    old: &mut TicketDocument,
    pending: &[automerge::Change],
    new: &mut TicketDocument,
    erasures: &[Erasure],
    at: i64,
) -> Result<Vec<automerge::Change>, DocumentError> {
    let mut carried = Vec::new();
    if pending.is_empty() {
        return Ok(carried);
    }
    let message = new.commit_message("unsent work carried over an erase");
    // The heads of `old` before each pending change: without it and every later one.
    let mut heads = heads_without(old, pending);
    for change in pending {
        if !old.has_change(&change.hash()) {
            continue;
        }
        let before = heads.clone();
        heads.retain(|head| !change.deps().contains(head));
        heads.push(change.hash());
        heads.sort_unstable();
        let patches = old.inner_mut().diff(&before, &heads);
        let dst = new.inner_mut();
        if let Some(change) = carry(dst, patches, erasures, &message, at)? {
            carried.push(change);
        }
    }
    Ok(carried)
}

/// Does `patches` (what one unsent change did) again on `dst`, leaving out what touches erased
/// content, and commits it: the new change, or `None` when nothing was left to do (the
/// redaction of an erased note writes its history entry and takes it out again: operations that
/// come to nothing are rolled back, not sent).
fn carry(
    dst: &mut AutoCommit,
    patches: Vec<automerge::Patch>,
    erasures: &[Erasure],
    message: &str,
    at: i64,
) -> Result<Option<automerge::Change>, DocumentError> {
    let unchanged = dst.hydrate(&ROOT, None)?;
    let events_before = match dst.get(&ROOT, "events")? {
        Some((Value::Object(_), events)) => dst.length(&events),
        _ => 0,
    };
    for patch in patches {
        let props: Vec<&automerge::Prop> = patch.path.iter().map(|(_, prop)| prop).collect();
        if touches_erased(dst, &props, &patch.action, erasures)? {
            continue;
        }
        let Some(obj) = resolve(dst, &props)? else {
            // The place is gone in the rewrite (it cannot be, as rewrites keep every place;
            // a change that would land nowhere is dropped rather than misplaced).
            continue;
        };
        apply_patch(dst, &obj, patch.action)?;
    }
    drop_events_about_erased_notes(dst, events_before, erasures)?;
    if dst.hydrate(&ROOT, None)? == unchanged {
        dst.rollback();
        return Ok(None);
    }
    let options = CommitOptions::default()
        .with_message(message.to_owned())
        .with_time(at);
    Ok(dst
        .commit_with(options)
        .and_then(|hash| dst.get_change_by_hash(&hash).cloned()))
}

/// Removes history entries the carried work appended (from `from` on) about an erased note: the
/// redaction of a note that is gone is no event.
fn drop_events_about_erased_notes(
    doc: &mut AutoCommit,
    from: usize,
    erasures: &[Erasure],
) -> Result<(), DocumentError> {
    let Some((Value::Object(_), events)) = doc.get(&ROOT, "events")? else {
        return Ok(());
    };
    let mut index = doc.length(&events);
    while index > from {
        index -= 1;
        let about = match doc.get(&events, index)? {
            Some((Value::Object(_), event)) => match doc.get(&event, "data")? {
                Some((Value::Object(_), data)) => match doc.get(&data, "note_id")? {
                    Some((Value::Scalar(id), _)) => id.to_str().map(str::to_owned),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        let erased = about.is_some_and(|id| {
            erasures
                .iter()
                .any(|e| matches!(e, Erasure::Note { note_id } if *note_id == id))
        });
        if erased {
            doc.delete(&events, index)?;
        }
    }
    Ok(())
}

/// Whether `replacement` (a rewrite the server sent) leaves out history `local` holds beyond
/// `pending` (this device's unsent changes): then the device's copy predates the rewrite and must
/// be replaced, carrying `pending` over ([`rebase`]); otherwise the two merge as usual.
pub fn predates(
    local: &mut TicketDocument,
    pending: &[automerge::Change],
    replacement: &mut TicketDocument,
) -> bool {
    heads_without(local, pending)
        .iter()
        .any(|head| !replacement.has_change(head))
}

/// The heads of `doc` as it was without `pending` (changes nothing else depends on but pending
/// ones).
fn heads_without(
    doc: &mut TicketDocument,
    pending: &[automerge::Change],
) -> Vec<automerge::ChangeHash> {
    let pending: std::collections::HashSet<_> = pending.iter().map(|c| c.hash()).collect();
    let kept: Vec<automerge::Change> = doc
        .changes_since(&[])
        .into_iter()
        .filter(|c| !pending.contains(&c.hash()))
        .collect();
    let depended: std::collections::HashSet<_> =
        kept.iter().flat_map(|c| c.deps().to_vec()).collect();
    let mut heads: Vec<_> = kept
        .iter()
        .map(|c| c.hash())
        .filter(|h| !depended.contains(h))
        .collect();
    heads.sort_unstable();
    heads
}

/// The object at `props` from the root of `doc`, if every step is an object there.
fn resolve(doc: &AutoCommit, props: &[&automerge::Prop]) -> Result<Option<ObjId>, DocumentError> {
    let mut obj = ROOT;
    for prop in props {
        match doc.get(&obj, (*prop).clone())? {
            Some((Value::Object(_), id)) => obj = id,
            _ => return Ok(None),
        }
    }
    Ok(Some(obj))
}

/// Whether a patch at `props` lands in erased content of `doc` (the rewrite).
fn touches_erased(
    doc: &AutoCommit,
    props: &[&automerge::Prop],
    action: &automerge::PatchAction,
    erasures: &[Erasure],
) -> Result<bool, DocumentError> {
    use automerge::Prop;
    let key = |p: &Prop| match p {
        Prop::Map(k) => Some(k.clone()),
        Prop::Seq(_) => None,
    };
    // A put of the contact itself, or anything under it.
    let contact_erased = erasures.contains(&Erasure::Contact);
    let first = props.first().and_then(|p| key(p));
    let at_root_key = match (props.is_empty(), action) {
        (true, automerge::PatchAction::PutMap { key, .. }) => Some(key.clone()),
        _ => None,
    };
    if contact_erased
        && (first.as_deref() == Some("customer") || at_root_key.as_deref() == Some("customer"))
    {
        return Ok(true);
    }
    // Anything under an entry of `notes` or `attachments` that the rewrite marked erased.
    if props.len() >= 2
        && matches!(first.as_deref(), Some("notes" | "attachments"))
        && let Some(entry) = resolve(doc, &props[..2])?
        && let Some((Value::Scalar(erased), _)) = doc.get(&entry, "erased")?
    {
        return Ok(matches!(erased.as_ref(), ScalarValue::Boolean(true)));
    }
    Ok(false)
}

/// Does one patch's action on `obj` of `doc`.
fn apply_patch(
    doc: &mut AutoCommit,
    obj: &ObjId,
    action: automerge::PatchAction,
) -> Result<(), DocumentError> {
    use automerge::PatchAction;
    match action {
        PatchAction::PutMap {
            key,
            value: (value, _),
            ..
        } => match value {
            Value::Scalar(s) => doc.put(obj, key, s.into_owned())?,
            Value::Object(kind) => {
                doc.put_object(obj, key, kind)?;
            }
        },
        PatchAction::PutSeq {
            index,
            value: (value, _),
            ..
        } => {
            if index < doc.length(obj) {
                match value {
                    Value::Scalar(s) => doc.put(obj, index, s.into_owned())?,
                    Value::Object(kind) => {
                        doc.put_object(obj, index, kind)?;
                    }
                }
            }
        }
        PatchAction::Insert { index, values } => {
            for (offset, (value, _, _)) in values.iter().enumerate() {
                let at = (index + offset).min(doc.length(obj));
                match value {
                    Value::Scalar(s) => doc.insert(obj, at, s.clone().into_owned())?,
                    Value::Object(kind) => {
                        doc.insert_object(obj, at, *kind)?;
                    }
                }
            }
        }
        PatchAction::SpliceText { index, value, .. } => {
            let index = index.min(doc.length(obj));
            doc.splice_text(obj, index, 0, &value.make_string())?;
        }
        PatchAction::DeleteMap { key } => doc.delete(obj, key)?,
        PatchAction::DeleteSeq { index, length } => {
            for _ in 0..length {
                if index < doc.length(obj) {
                    doc.delete(obj, index)?;
                }
            }
        }
        PatchAction::Increment { prop, value } => doc.increment(obj, prop, value)?,
        // Conflicts and marks carry no edit of their own.
        PatchAction::Conflict { .. } | PatchAction::Mark { .. } => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Actor, Role, Status};
    use crate::ticket::{Customer, Edit, NewTicket};

    const PHONE: &str = "+86 138 0013 8000";

    /// The server's repair ticket "Fridge warm", created by the agent.
    fn fridge() -> TicketDocument {
        TicketDocument::create(
            "t1",
            &agent(),
            &NewTicket::titled(crate::model::TicketKind::Repair, "Fridge warm"),
            ActorId::random(),
            1,
        )
        .expect("creates")
    }

    fn agent() -> Actor {
        Actor {
            tenant: "acme".into(),
            user_id: "agent1".into(),
            role: Role::Agent,
            name: None,
            team: None,
        }
    }

    fn holds(doc: &mut TicketDocument, text: &str) -> bool {
        let bytes: Vec<u8> = doc
            .changes_since(&[])
            .iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .chain(doc.save())
            .collect();
        bytes.windows(text.len()).any(|w| w == text.as_bytes())
    }

    #[test]
    fn an_erased_note_leaves_no_byte_in_the_new_history_and_everything_else_stays_in_place() {
        let new = NewTicket {
            customer: Some(Customer {
                name: Some("Shop 12".into()),
                phone: Some("+86 10 5555".into()),
            }),
            ..NewTicket::titled(crate::model::TicketKind::Repair, "Fridge warm")
        };
        let mut doc =
            TicketDocument::create("t1", &agent(), &new, ActorId::random(), 1).expect("creates");
        for text in ["first", &format!("call me on {PHONE}"), "third"] {
            let view = doc.view().expect("view");
            let note = Edit::AddNote {
                text: text.into(),
                internal: false,
            };
            doc.apply(&view, &note, &agent(), 2).expect("applies");
        }
        assert!(holds(&mut doc, PHONE));
        let before = doc.view().expect("view");
        let erase = [Erasure::Note {
            note_id: before.notes[1].id.clone(),
        }];
        let (mut new_doc, erased) = rewrite(&doc, &erase, ActorId::random(), 3).expect("rewrites");
        assert!(erased);
        assert!(
            !holds(&mut new_doc, PHONE),
            "no byte of it in the new history"
        );
        assert_eq!(new_doc.changes(), 1, "one change");
        let after = new_doc.view().expect("view");
        assert_eq!(after.notes.len(), 3, "the note keeps its place");
        assert_eq!(after.notes[1].text, "");
        assert_eq!(
            (&after.notes[0].text, &after.notes[2].text),
            (&before.notes[0].text, &before.notes[2].text)
        );
        assert_eq!(after.events, before.events);
        assert_eq!(after.title, before.title);
        assert_eq!(after.customer, before.customer);
        // The contact goes with its own erasure.
        let (mut no_contact, erased) =
            rewrite(&doc, &[Erasure::Contact], ActorId::random(), 3).expect("rewrites");
        assert!(erased);
        assert_eq!(no_contact.view().expect("view").customer, None);
        assert!(!holds(&mut no_contact, "+86 10 5555"));
        // Naming a note the ticket does not have erases nothing.
        let unknown = [Erasure::Note {
            note_id: "none".into(),
        }];
        assert!(
            !rewrite(&doc, &unknown, ActorId::random(), 3)
                .expect("rewrites")
                .1
        );
    }

    #[test]
    fn unsent_work_is_carried_over_an_erase_except_what_touches_erased_content() {
        let mut server = fridge();
        for text in ["first", &format!("call me on {PHONE}"), "third"] {
            let view = server.view().expect("view");
            let note = Edit::AddNote {
                text: text.into(),
                internal: false,
            };
            server.apply(&view, &note, &agent(), 2).expect("applies");
        }
        // The device holds the same ticket and works on it offline.
        let mut device = TicketDocument::empty(Part::Public, ActorId::random());
        device
            .apply_changes(server.changes_since(&[]))
            .expect("applies");
        let erased_id = server.view().expect("view").notes[1].id.clone();
        let mut pending = Vec::new();
        for edit in [
            Edit::AddNote {
                text: "unsent note".into(),
                internal: false,
            },
            Edit::SetTitle {
                title: "Fridge very warm".into(),
            },
            Edit::SetDescription {
                description: "leaking since Monday".into(),
            },
            Edit::RedactNote {
                note_id: erased_id.clone(),
            },
        ] {
            let view = device.view().expect("view");
            pending.push(
                device
                    .apply(&view, &edit, &agent(), 5)
                    .expect("applies")
                    .expect("a change"),
            );
        }
        // The server erases the note; the device takes the rewrite and carries its work over.
        let erase = [Erasure::Note { note_id: erased_id }];
        let (mut rewritten, _) = rewrite(&server, &erase, ActorId::random(), 6).expect("rewrites");
        let mut taken = TicketDocument::load(&rewritten.save()).expect("loads");
        taken.set_actor(device.actor());
        let carried = rebase(&mut device, &pending, &mut taken, &erase, 7).expect("rebases");
        let view = taken.view().expect("view");
        let texts: Vec<&str> = view.notes.iter().map(|n| n.text.as_str()).collect();
        assert_eq!(texts, ["first", "", "third", "unsent note"]);
        assert_eq!(view.title, "Fridge very warm");
        assert_eq!(view.description, "leaking since Monday");
        assert!(
            !view.notes[1].redacted,
            "the redaction of the erased note was dropped"
        );
        assert!(
            view.events.iter().all(|e| e.kind != "note_redacted"),
            "and its history entry"
        );
        assert_eq!(
            view.events,
            server.view().expect("view").events,
            "a title or a description writes no history entry, and the redaction's is gone"
        );
        assert!(!holds(&mut taken, PHONE));
        // The carried changes apply on the server's rewrite as it stands, one for each unsent
        // change but the redaction of the erased note, which had nothing left to do.
        assert_eq!(carried.len(), 3);
        assert_eq!(carried[0].deps(), rewritten.heads().as_slice());
        rewritten.apply_changes(carried).expect("applies");
        assert_eq!(rewritten.view().expect("view").notes.len(), 4);
        // Nothing pending, nothing carried.
        assert!(
            rebase(&mut device, &[], &mut taken, &erase, 8)
                .expect("rebases")
                .is_empty()
        );
    }

    #[test]
    fn a_rewritten_staff_document_still_builds_on_the_shared_genesis() {
        let mut staff = TicketDocument::staff(ActorId::random());
        let public = TicketDocument::create(
            "t1",
            &agent(),
            &NewTicket::titled(crate::model::TicketKind::Repair, "x"),
            ActorId::random(),
            1,
        )
        .expect("creates")
        .view()
        .expect("view");
        let view = public.clone().with_staff(staff.staff_view().expect("view"));
        let note = Edit::AddNote {
            text: format!("fraud flags; his phone {PHONE}"),
            internal: true,
        };
        staff.apply(&view, &note, &agent(), 2).expect("applies");
        let id = staff.staff_view().expect("view").notes[0].id.clone();
        let (mut rewritten, erased) = rewrite(
            &staff,
            &[Erasure::Note { note_id: id }],
            ActorId::random(),
            3,
        )
        .expect("rewrites");
        assert!(erased && !holds(&mut rewritten, PHONE));
        let genesis = TicketDocument::staff(ActorId::random()).heads();
        assert!(rewritten.has_change(&genesis[0]), "the genesis is kept");
        // A device that starts its staff document from the genesis merges with it cleanly.
        let mut fresh = TicketDocument::staff(ActorId::random());
        let view = public.with_staff(fresh.staff_view().expect("view"));
        let later = Edit::AddNote {
            text: "later".into(),
            internal: true,
        };
        let change = fresh
            .apply(&view, &later, &agent(), 4)
            .expect("applies")
            .expect("a change");
        rewritten.apply_changes(vec![change]).expect("applies");
        assert!(rewritten.missing_deps().is_empty());
        let notes = rewritten.staff_view().expect("view").notes;
        assert_eq!(notes.len(), 2);
        assert!(notes.iter().any(|n| n.text.is_empty()));
    }

    #[test]
    fn each_unsent_change_is_carried_as_a_change_of_its_own_so_every_step_stays_a_step() {
        let mut server = fridge();
        for edit in [
            Edit::Assign {
                assignee: Some(agent().user_id),
            },
            Edit::AddNote {
                text: format!("call me on {PHONE}"),
                internal: false,
            },
        ] {
            let view = server.view().expect("view");
            server.apply(&view, &edit, &agent(), 2).expect("applies");
        }
        let mut device = TicketDocument::empty(Part::Public, ActorId::random());
        device
            .apply_changes(server.changes_since(&[]))
            .expect("applies");
        let mut pending = Vec::new();
        for status in [Status::Accepted, Status::EnRoute] {
            let view = device.view().expect("view");
            let edit = Edit::SetStatus { status };
            pending.push(
                device
                    .apply(&view, &edit, &agent(), 5)
                    .expect("applies")
                    .expect("a change"),
            );
        }
        let note_id = server.view().expect("view").notes[0].id.clone();
        let erase = [Erasure::Note { note_id }];
        let (mut rewritten, _) = rewrite(&server, &erase, ActorId::random(), 6).expect("rewrites");
        let mut taken = TicketDocument::load(&rewritten.save()).expect("loads");
        taken.set_actor(device.actor());
        let carried = rebase(&mut device, &pending, &mut taken, &erase, 7).expect("rebases");
        // Two moves, judged one after the other as the server judges them: assigned → accepted,
        // then accepted → en route (one change would jump from assigned to en route).
        assert_eq!(carried.len(), 2);
        let mut judged = TicketDocument::load(&rewritten.save()).expect("loads");
        let mut before = judged.view().expect("view");
        for (change, status) in carried.into_iter().zip([Status::Accepted, Status::EnRoute]) {
            judged.apply_changes(vec![change]).expect("applies");
            let after = judged.view().expect("view");
            assert_eq!(after.status, status);
            crate::rules::changes::check_change(&agent(), Part::Public, &before, &after)
                .expect("a move the workflow allows");
            before = after;
        }
    }
}
