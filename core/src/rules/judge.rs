//! Judging one pushed change the way the server does, as plain functions over a document and a
//! change — no store, no HTTP, no clock: the server's commit path (`server/src/service/judge.rs`) and the fuzz
//! target (`fuzz/`) call these, so what is fuzzed is what is served. The steps and codes are those
//! of `docs/sync-protocol.md`, "Push".

use automerge::ActorId;

use crate::model::{Actor, Part};
use crate::ticket::limits::{self, LimitError};
use crate::ticket::{Change, DocumentError, EncodedError, Ticket, TicketDocument, Tip};
use fieldwork_protocol::sync::RejectCode;

use super::changes::{check_change, check_creation};
use super::merged::check_merged;
use super::{Refusal, can_see};

/// Why a change was refused, as the sync protocol reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: RejectCode,
    /// For the user; names the rule or limit, never ticket contents.
    pub message: String,
}

impl Refused {
    fn new(code: RejectCode, message: impl Into<String>) -> Self {
        Refused {
            code,
            message: message.into(),
        }
    }

    fn malformed(message: &str) -> Self {
        Refused::new(RejectCode::Malformed, message)
    }

    fn limit(error: &LimitError) -> Self {
        match error {
            // A broken numbering or shape is a malformed change, not a big one.
            LimitError::Sequence | LimitError::Shape => {
                Refused::new(RejectCode::Malformed, error.to_string())
            }
            _ => Refused::new(RejectCode::TooLarge, error.to_string()),
        }
    }

    /// A document error met while judging: a limit, or `otherwise` for anything else.
    fn document(error: &DocumentError, otherwise: &str) -> Self {
        match error {
            DocumentError::Limit(limit) => Refused::limit(limit),
            _ => Refused::malformed(otherwise),
        }
    }
}

impl From<Refusal> for Refused {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::OtherTenant => Refused::new(
                RejectCode::NotVisible,
                "the ticket belongs to another tenant",
            ),
            other => Refused::new(RejectCode::Forbidden, other.to_string()),
        }
    }
}

/// Step 1: the bytes as one Automerge change, within the change limits, checked before Automerge
/// parses them (`ticket::decode_change`).
pub fn decode_change(bytes: &[u8]) -> Result<Change, Refused> {
    crate::ticket::decode_change(bytes).map_err(|e| match e {
        EncodedError::Limit(limit) => Refused::limit(&limit),
        EncodedError::NotAChange => Refused::malformed("the bytes are not an Automerge change"),
        EncodedError::UnknownActor => {
            Refused::malformed("the change refers to an author it does not list")
        }
    })
}

/// What judging a change costs, for the per-push budget (`limits::MAX_PUSH_OPS`): its own
/// operations, plus the document's once (the change is tried on it or on a copy, and the result
/// read whole), and once more when the change builds on an older version (the server rebuilds
/// that version to see what the author saw).
pub fn judging_cost(doc: &mut TicketDocument, change: &Change) -> usize {
    let own = change.len().max(1);
    let whole = usize::try_from(doc.ops()).unwrap_or(usize::MAX);
    let rebuilt = if builds_on_heads(doc, change) {
        0
    } else {
        whole
    };
    own.saturating_add(whole).saturating_add(rebuilt)
}

fn builds_on_heads(doc: &mut TicketDocument, change: &Change) -> bool {
    let mut deps = change.deps().to_vec();
    deps.sort_unstable();
    deps == doc.heads()
}

/// Runs a judgement whose Automerge calls see hostile data: a panic inside Automerge becomes a
/// refusal of this change instead of failing the whole push (the documents it touched are copies,
/// or owned by the judgement: dropped with it).
fn guarded<T>(judge: impl FnOnce() -> Result<T, Refused>) -> Result<T, Refused> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(judge)).unwrap_or_else(|_| {
        tracing::warn!("judging a change panicked inside Automerge; refused as malformed");
        Err(Refused::malformed(
            "the change cannot be applied to the ticket safely",
        ))
    })
}

/// A staff change Automerge accepts but cannot encode (or decode) back is refused here, not
/// found at commit ([`TicketDocument::storable`]).
fn check_storable(doc: &mut TicketDocument) -> Result<(), Refused> {
    if doc.storable() {
        return Ok(());
    }
    Err(Refused::malformed(
        "the change leaves a ticket that cannot be stored",
    ))
}

/// Steps 4–6 for a change with no dependencies, which creates ticket `ticket_id`: on acceptance,
/// the new document (authored further by `doc_actor`) and its view.
pub fn judge_creation(
    actor: &Actor,
    ticket_id: &str,
    change: &Change,
    doc_actor: ActorId,
) -> Result<(TicketDocument, Ticket), Refused> {
    guarded(|| creation(actor, ticket_id, change, doc_actor))
}

fn creation(
    actor: &Actor,
    ticket_id: &str,
    change: &Change,
    doc_actor: ActorId,
) -> Result<(TicketDocument, Ticket), Refused> {
    if !change.deps().is_empty() {
        return Err(Refused::new(
            RejectCode::MissingDependencies,
            "the change builds on changes the server does not have; send those first",
        ));
    }
    if change.seq() != 1 || change.start_op().get() != 1 {
        return Err(Refused::malformed(
            "a ticket's first change starts at sequence 1 and operation 1",
        ));
    }
    let mut doc = TicketDocument::empty(Part::Public, doc_actor);
    doc.apply_changes(vec![change.clone()])
        .map_err(|e| Refused::document(&e, "the change does not make a ticket"))?;
    let view = doc
        .view()
        .map_err(|e| Refused::document(&e, "the change does not make a ticket"))?;
    if view.id != ticket_id {
        return Err(Refused::malformed(
            "the change is filed under the wrong ticket",
        ));
    }
    doc.check_limits(true)
        .map_err(|e| Refused::document(&e, "the change does not make a ticket"))?;
    check_creation(actor, &view)?;
    Ok((doc, view))
}

/// Steps 4–6 for a change to ticket `doc` (its public document), whose merged view everyone
/// reads now is `current`. The change is judged as its author saw the ticket (the document at
/// its dependencies) and by its effect on `current`; on acceptance it is applied to `doc` and the
/// new merged view returned. On refusal `doc` is unchanged: the change is tried on a copy. A
/// caller that can read the ticket again from elsewhere spares the copy with
/// [`judge_edit_owned`].
pub fn judge_edit(
    actor: &Actor,
    doc: &mut TicketDocument,
    current: &Ticket,
    change: &Change,
) -> Result<Ticket, Refused> {
    // What costs nothing is refused before the document is copied.
    guarded(|| ready(doc, change))?;
    let (judged, view) = judge_edit_owned(actor, doc.fork(), current, change)?;
    *doc = judged;
    Ok(view)
}

/// [`judge_edit`] on the document itself, not a copy: on acceptance the document with the change
/// and the new merged view; on refusal the document goes with the refusal (it may hold part of
/// the change), and the caller reads the ticket again where it keeps it — the server, from its
/// store.
pub fn judge_edit_owned(
    actor: &Actor,
    doc: TicketDocument,
    current: &Ticket,
    change: &Change,
) -> Result<(TicketDocument, Ticket), Refused> {
    guarded(move || edit(actor, doc, None, current, change))
}

/// [`judge_edit_owned`] for a change that only appends a note to a ticket whose document is not
/// at hand, judged on its [`Tip`] (`ticket::tip`) and its view as everyone reads it now,
/// `current`: `None` when the change is not that case (judge it on the document), else what
/// judging it on the document says — the ticket after it and the tip after it, or the refusal.
pub fn judge_append(
    actor: &Actor,
    tip: &Tip,
    current: &Ticket,
    change: &Change,
) -> Option<Result<(Ticket, Tip), Refused>> {
    let mut after = current.clone();
    let judged = judge_append_in_place(actor, tip, &mut after, change)?;
    Some(judged.map(|next| (after, next)))
}

/// [`judge_append`] on the ticket itself, not a copy: `ticket` is the view as everyone reads it
/// now and, when the note is accepted, becomes the ticket after it (the note pushed onto its
/// notes); anything else leaves it as it was. The server holds a long ticket's view only to
/// append to it, so copying it whole for every note would cost as much as reading it.
///
/// Of `ticket`'s notes only their number and their ids are read, never their texts: the server
/// keeps its tickets' views without them. A note whose id one of them has already is not this
/// case (the document compares the notes whole).
pub fn judge_append_in_place(
    actor: &Actor,
    tip: &Tip,
    ticket: &mut Ticket,
    change: &Change,
) -> Option<Result<Tip, Refused>> {
    let (note, next) = tip.note_appended(ticket, change)?;
    let current: &Ticket = ticket;
    // The document's judgement in its order, past what the tip knows would pass: on the heads,
    // the version its author saw is `current`.
    // The rules for one note appended spare comparing the two tickets whole.
    let judged = if !can_see(actor, current) {
        Err(not_visible())
    } else {
        super::changes::check_note_appended(actor, current, &note)?.map_err(Refused::from)
    };
    Some(judged.map(|()| {
        ticket.notes.push(note);
        next
    }))
}

/// [`judge_edit`] for a change to a ticket's staff document `doc`: only roles that read staff
/// data write it, for tickets they see, and only what belongs there (internal notes and their
/// redaction, tags). `public` is the ticket's public document and `public_now` its view as the
/// server holds it now. The change is judged as its author saw the ticket — the staff document at
/// its dependencies, merged into the public document at the heads its message names
/// ([`crate::ticket::seen_public_heads`]; now, when it names none the server has) — and by its
/// effect merged into `public_now`; on acceptance the ticket as staff now read it is returned.
/// On refusal `doc` is unchanged ([`judge_staff_edit_owned`] spares the copy).
pub fn judge_staff_edit(
    actor: &Actor,
    doc: &mut TicketDocument,
    public: &mut TicketDocument,
    public_now: &Ticket,
    change: &Change,
) -> Result<Ticket, Refused> {
    may_write_staff(actor, doc)?;
    let (judged, view) = judge_staff_edit_owned(actor, doc.fork(), public, public_now, change)?;
    *doc = judged;
    Ok(view)
}

/// [`judge_staff_edit`] on the staff document itself, not a copy; on refusal it goes with the
/// refusal, as in [`judge_edit_owned`].
pub fn judge_staff_edit_owned(
    actor: &Actor,
    doc: TicketDocument,
    public: &mut TicketDocument,
    public_now: &Ticket,
    change: &Change,
) -> Result<(TicketDocument, Ticket), Refused> {
    may_write_staff(actor, &doc)?;
    let current = doc
        .read_with(Some(public_now))
        .map_err(|e| Refused::document(&e, "the ticket's staff document cannot be read"))?;
    guarded(move || {
        let seen = crate::ticket::seen_public_heads(change);
        let public_seen = if !seen.is_empty() && seen.iter().all(|h| public.has_change(h)) {
            let at = public.fork_at(&seen).map_err(|_| {
                Refused::malformed("the change names a version of the ticket that is not one")
            })?;
            Some(at.view().map_err(|e| {
                Refused::document(
                    &e,
                    "the change names a version of the ticket that is not one",
                )
            })?)
        } else {
            None
        };
        let publics = Publics {
            seen: public_seen.as_ref().unwrap_or(public_now),
            now: public_now,
        };
        edit(actor, doc, Some(publics), &current, change)
    })
}

/// Who may write a staff document at all, and that `doc` is one.
fn may_write_staff(actor: &Actor, doc: &TicketDocument) -> Result<(), Refused> {
    if !actor.role.reads_staff_data() {
        return Err(Refused::new(
            RejectCode::Forbidden,
            format!("a {} may not write a ticket's staff document", actor.role),
        ));
    }
    if doc.part() != Part::Staff {
        return Err(Refused::malformed(
            "the change is filed under the other document of the ticket",
        ));
    }
    Ok(())
}

/// The ticket's public view a staff change is read with: as its author saw it, and now.
#[derive(Clone, Copy)]
struct Publics<'a> {
    seen: &'a Ticket,
    now: &'a Ticket,
}

/// What a change to `doc` is refused for before anything costs the document: no dependencies,
/// dependencies the server lacks, the sizes, its author's numbering.
fn ready(doc: &mut TicketDocument, change: &Change) -> Result<(), Refused> {
    if change.deps().is_empty() {
        // A second root would write every field concurrently with the real creation.
        return Err(Refused::new(
            RejectCode::Forbidden,
            "the ticket exists already; a change to it must build on it",
        ));
    }
    if change.deps().iter().any(|dep| !doc.has_change(dep)) {
        return Err(Refused::new(
            RejectCode::MissingDependencies,
            "the change builds on changes the server does not have; send those first",
        ));
    }
    let history = doc.history_bytes();
    limits::check_ticket_size(
        doc.ops() + change.len() as u64,
        history + change.raw_bytes().len(),
    )
    .and_then(|()| limits::check_change_count(doc.changes() + 1))
    .map_err(|e| Refused::limit(&e))?;
    if change.seq() != doc.changes_by(change.actor_id()) + 1 {
        return Err(Refused::malformed(
            "the change's sequence number does not follow its author's previous change",
        ));
    }
    Ok(())
}

/// That `change` follows the version `as_seen` it builds on: its author's next change, and its
/// first operation one past the version's last.
fn follows(as_seen: &mut TicketDocument, change: &Change) -> Result<(), Refused> {
    if as_seen.changes_by(change.actor_id()) + 1 != change.seq() {
        return Err(Refused::malformed(
            "the change does not build on its author's previous change",
        ));
    }
    if change.start_op().get() != as_seen.next_op() {
        return Err(Refused::malformed(
            "the change's startOp is not one past the last operation of the version it builds on",
        ));
    }
    Ok(())
}

const UNREADABLE: &str = "the change does not leave a readable ticket";
const NOT_A_VERSION: &str = "the change's dependencies are not a version of the ticket";

/// Judges a change to `doc`, read as a ticket with [`TicketDocument::read_with`]: the public
/// document alone, or the staff document merged into the ticket's public view (`publics`). On
/// acceptance `doc` holds the change; on refusal it is dropped, possibly holding part of it.
fn edit(
    actor: &Actor,
    mut doc: TicketDocument,
    publics: Option<Publics<'_>>,
    current: &Ticket,
    change: &Change,
) -> Result<(TicketDocument, Ticket), Refused> {
    let seen = publics.map(|p| p.seen);
    let now = publics.map(|p| p.now);
    ready(&mut doc, change)?;
    if !builds_on_heads(&mut doc, change) {
        return edit_behind(actor, doc, seen, now, current, change);
    }
    // On the heads the document is the version its author saw.
    follows(&mut doc, change)?;
    // Read with the public view as it is now, that version is the one everyone reads now:
    // `current`, already read (reading a ticket walks all of it).
    let seen_is_now = match publics {
        None => true,
        Some(p) => std::ptr::eq(p.seen, p.now),
    };
    let read;
    let before = if seen_is_now {
        current
    } else {
        read = doc
            .read_with(seen)
            .map_err(|e| Refused::document(&e, NOT_A_VERSION))?;
        &read
    };
    if !can_see(actor, before) {
        return Err(not_visible());
    }
    doc.apply_changes(vec![change.clone()])
        .map_err(|e| Refused::document(&e, UNREADABLE))?;
    // The author's version with the change is the merged document: its limits are checked in
    // the same walk as its view's conflicts — a public document's, where the change only
    // appended a note, on the note alone.
    let after = match publics {
        None => doc.read_after(before, change),
        Some(_) => doc.read_checked(seen),
    }
    .map_err(|e| Refused::document(&e, UNREADABLE))?;
    let merged_view = if seen_is_now {
        None
    } else {
        Some(
            doc.read_with(now)
                .map_err(|e| Refused::document(&e, UNREADABLE))?,
        )
    };
    check_change(actor, doc.part(), before, &after)?;
    let merged_view = merged_view.unwrap_or(after);
    check_merged(actor, current, &merged_view)?;
    check_storable(&mut doc)?;
    Ok((doc, merged_view))
}

/// [`edit`] for a change built on an older version than the heads: judged on that version,
/// rebuilt, and by its effect merged into `doc`.
fn edit_behind(
    actor: &Actor,
    mut doc: TicketDocument,
    seen: Option<&Ticket>,
    now: Option<&Ticket>,
    current: &Ticket,
    change: &Change,
) -> Result<(TicketDocument, Ticket), Refused> {
    let mut as_seen = doc
        .fork_at(change.deps())
        .map_err(|_| Refused::malformed(NOT_A_VERSION))?;
    follows(&mut as_seen, change)?;
    let before = as_seen
        .read_with(seen)
        .map_err(|e| Refused::document(&e, NOT_A_VERSION))?;
    if !can_see(actor, &before) {
        return Err(not_visible());
    }
    as_seen
        .apply_changes(vec![change.clone()])
        .map_err(|e| Refused::document(&e, UNREADABLE))?;
    let after = as_seen
        .read_with(seen)
        .map_err(|e| Refused::document(&e, UNREADABLE))?;
    drop(as_seen);
    doc.apply_changes(vec![change.clone()])
        .and_then(|()| doc.check_limits(true))
        .map_err(|e| Refused::document(&e, UNREADABLE))?;
    let merged_view = doc
        .read_with(now)
        .map_err(|e| Refused::document(&e, UNREADABLE))?;
    check_change(actor, doc.part(), &before, &after)?;
    check_merged(actor, current, &merged_view)?;
    check_storable(&mut doc)?;
    Ok((doc, merged_view))
}

fn not_visible() -> Refused {
    Refused::new(
        RejectCode::NotVisible,
        "the ticket was not visible to this user when the change was made",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Role, Status};
    use crate::ticket::{Edit, NewTicket};

    fn rider() -> Actor {
        Actor {
            tenant: "acme".into(),
            user_id: "r1".into(),
            role: Role::Rider,
            name: None,
            team: None,
        }
    }

    /// The server's copy of a rider's help request, and the rider's device copy.
    fn server_and_device() -> (TicketDocument, TicketDocument) {
        let new = NewTicket::help_request(None, None, Some("help".into()));
        let device = ActorId::random();
        let mut phone = TicketDocument::create("t1", &rider(), &new, device, 1).expect("doc");
        let creation = phone.changes_since(&[]).remove(0);
        let (server, _) = judge_creation(&rider(), "t1", &creation, ActorId::random())
            .expect("an honest creation passes");
        (server, phone)
    }

    /// A public note saying `text`.
    fn note(text: &str) -> Edit {
        Edit::AddNote {
            text: text.into(),
            internal: false,
        }
    }

    fn edit(phone: &mut TicketDocument, edit: Edit) -> Change {
        let view = phone.view().expect("view");
        phone
            .apply(&view, &edit, &rider(), 2)
            .expect("applies")
            .expect("a change")
    }

    #[test]
    fn a_stored_snapshot_followed_by_the_accepted_changes_loads_as_the_judged_ticket() {
        let (mut server, mut phone) = server_and_device();
        let snapshot = server
            .save_proven()
            .expect("the ticket saves and loads back");
        let mut stored = snapshot.clone();
        for text in ["first", "second"] {
            let change = edit(&mut phone, note(text));
            let current = server.view().expect("view");
            judge_edit(&rider(), &mut server, &current, &change).expect("accepted");
            stored.extend_from_slice(change.raw_bytes());
        }
        let mut loaded = TicketDocument::load(&stored).expect("snapshot and changes load");
        assert_eq!(loaded.heads(), server.heads(), "the same history");
        assert_eq!(loaded.view().expect("view"), server.view().expect("view"));
        let compacted = server.save_proven().expect("compacts");
        assert!(compacted.len() < stored.len(), "compacting saves bytes");
        let mut reloaded = TicketDocument::load(&compacted).expect("loads");
        assert_eq!(reloaded.heads(), server.heads());
    }

    #[test]
    fn an_honest_edit_passes_and_lands_in_the_document() {
        let (mut server, mut phone) = server_and_device();
        let added = edit(&mut phone, note("still here"));
        let current = server.view().expect("view");
        let merged = judge_edit(&rider(), &mut server, &current, &added).expect("accepted");
        assert_eq!(merged.notes.len(), 2);
        assert!(server.has_change(&added.hash()));
        assert_eq!(
            merged,
            server.view().expect("view"),
            "the view returned for a change on the heads is the document's, read afresh"
        );
    }

    #[test]
    fn a_concurrent_edit_is_judged_as_its_author_saw_the_ticket() {
        let (mut server, mut phone) = server_and_device();
        let mut other = phone.fork();
        other.set_actor(ActorId::random());
        let first = edit(&mut phone, note("from the phone"));
        let current = server.view().expect("view");
        judge_edit(&rider(), &mut server, &current, &first).expect("accepted");
        // Made beside `first`, not on it: judged at its own dependencies, merged with the heads.
        let beside = edit(&mut other, note("from the other copy"));
        let current = server.view().expect("view");
        let merged = judge_edit(&rider(), &mut server, &current, &beside).expect("accepted");
        assert_eq!(
            merged.notes.len(),
            3,
            "both notes and the first: {merged:?}"
        );
        assert_eq!(merged, server.view().expect("view"));
    }

    #[test]
    fn start_op_and_seq_must_be_what_the_dependencies_give() {
        let (mut server, mut phone) = server_and_device();
        let cancel = edit(
            &mut phone,
            Edit::SetStatus {
                status: Status::Cancelled,
            },
        );
        let current = server.view().expect("view");
        for (start_op, seq) in [
            (cancel.start_op().get() + 1, cancel.seq()),
            (10_000_000, cancel.seq()),
            (cancel.start_op().get(), cancel.seq() + 5),
            (cancel.start_op().get(), 0),
        ] {
            let mut forged = cancel.decode();
            forged.start_op = std::num::NonZeroU64::new(start_op).expect("non-zero");
            forged.seq = seq;
            let forged = Change::from(forged);
            let refused = judge_edit(&rider(), &mut server, &current, &forged)
                .expect_err("numbered otherwise than its dependencies allow");
            assert_eq!(refused.code, RejectCode::Malformed, "{refused:?}");
            assert!(
                !server.has_change(&forged.hash()),
                "refusals change nothing"
            );
        }
        assert!(judge_edit(&rider(), &mut server, &current, &cancel).is_ok());
    }

    #[test]
    fn a_change_referring_to_an_author_the_ticket_lacks_is_malformed_not_a_panic() {
        // Found by the fuzz target: Automerge applied such a change, then panicked saving it.
        let (mut server, mut phone) = server_and_device();
        let base = phone.heads();
        let mut other = phone.fork();
        other.set_actor(ActorId::random());
        let aside = edit(
            &mut other,
            Edit::SetPriority {
                priority: crate::model::Priority::Low,
            },
        );
        phone.apply_changes(vec![aside]).expect("merges");
        let reply = edit(
            &mut phone,
            Edit::SetStatus {
                status: Status::Cancelled,
            },
        );
        // The reply's cancel event goes after the other device's priority event: it refers to an
        // operation of that device. Claiming only the base as its dependency hides that device.
        let mut forged = reply.decode();
        forged.deps = base;
        let forged = Change::from(forged);
        assert!(!forged.other_actor_ids().is_empty());
        let current = server.view().expect("view");
        let refused = judge_edit(&rider(), &mut server, &current, &forged).expect_err("refused");
        assert_eq!(refused.code, RejectCode::Malformed, "{refused:?}");
        let mut device = server.fork();
        assert!(device.apply_changes(vec![forged]).is_err());
        let _ = device.save();
    }

    #[test]
    fn an_operation_with_the_wrong_kind_of_key_is_malformed_not_a_panic() {
        // Found by the fuzz target: Automerge applied a name written into a list, then panicked
        // comparing keys. The change is rewritten through its serde form, as a client could.
        let (mut server, mut phone) = server_and_device();
        let added = edit(&mut phone, note("x"));
        let mut json = serde_json::to_value(added.decode()).expect("serde form");
        let insert = json["ops"]
            .as_array_mut()
            .expect("ops")
            .iter_mut()
            .find(|op| op.get("elemId").is_some())
            .expect("the note's insertion into the notes list");
        let fields = insert.as_object_mut().expect("an object");
        fields.remove("elemId");
        fields.remove("insert");
        fields.insert("key".into(), "oops".into());
        let forged: automerge::ExpandedChange =
            serde_json::from_value(json).expect("still a change");
        let forged = Change::from(forged);
        let current = server.view().expect("view");
        let refused = judge_edit(&rider(), &mut server, &current, &forged).expect_err("refused");
        assert_eq!(refused.code, RejectCode::Malformed, "{refused:?}");
        assert!(server.fork().apply_changes(vec![forged]).is_err());
    }

    #[test]
    fn limits_are_too_large_and_compressed_chunks_malformed() {
        let (mut server, mut phone) = server_and_device();
        let deep = crate::ticket::testing::deeply_nested_change(&mut phone, 3_000);
        let bytes = deep.raw_bytes().to_vec();
        let decoded = decode_change(&bytes).expect("3,000 operations decode");
        let current = server.view().expect("view");
        let refused = judge_edit(&rider(), &mut server, &current, &decoded).expect_err("too deep");
        assert_eq!(refused.code, RejectCode::TooLarge);
        assert!(
            refused.message.contains("levels deep"),
            "{}",
            refused.message
        );

        let mut compressible = deep.clone();
        let compressed = compressible.bytes().to_vec();
        assert_eq!(
            decode_change(&compressed).map(|c| c.len()),
            Err(Refused::malformed("the bytes are not an Automerge change"))
        );
    }
}
