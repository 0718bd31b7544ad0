//! Judging a change from its effect: the typed edits a change amounts to, derived by comparing
//! the ticket as its author saw it (`before`) with the ticket after the change (`after`), each
//! checked with [`super::check_edit`]. The server uses this to validate every pushed change, so
//! it accepts exactly what an honest device's own checks would have let through.

use std::collections::{BTreeMap, BTreeSet};

use crate::location::LocationFix;
use crate::model::{Actor, Part, Status};
use crate::ticket::{ARRIVED_ON_SITE, Attachment, Edit, NewAttachment, NewTicket, Ticket};

use super::{Refusal, check_create, check_edit, values, workflow};

/// Fields only the server writes (or nobody changes after creation).
const SERVER_OWNED: &str = "fields owned by the server";

fn forbidden(actor: &Actor, action: &'static str, reason: &'static str) -> Refusal {
    Refusal::Forbidden {
        role: actor.role,
        action,
        reason,
    }
}

/// Checks a change that created a ticket: made by its reporter, in their tenant, starting
/// `new` and unassigned, with values the rules accept.
pub fn check_creation(actor: &Actor, after: &Ticket) -> Result<(), Refusal> {
    if after.tenant != actor.tenant {
        return Err(Refusal::OtherTenant);
    }
    if after.reporter.user_id != actor.user_id || after.reporter.role != actor.role {
        return Err(forbidden(
            actor,
            "create a ticket",
            "in someone else's name",
        ));
    }
    if after.status != Status::New
        || after.number.is_some()
        || after.sla.is_some()
        || after.alert.is_some()
    {
        return Err(forbidden(
            actor,
            "create a ticket",
            "with server-owned fields set",
        ));
    }
    if !after.attachments.is_empty() {
        // Photos are attached by their own change, after the files are stored.
        return Err(forbidden(
            actor,
            "create a ticket",
            "with attachments in it",
        ));
    }
    if after.assignee.is_some() && !actor.role.is_back_office() {
        return Err(forbidden(actor, "create a ticket", "already assigned"));
    }
    let new = NewTicket {
        kind: after.kind,
        channel: after.channel,
        title: after.title.clone(),
        category: after.category.clone(),
        priority: after.priority,
        description: after.description.clone(),
        order_ref: after.order_ref.clone(),
        customer: after.customer.clone(),
        asset: after.asset.clone(),
        site: after.site.clone(),
        note: None,
    };
    check_create(actor, &new)?;
    // A new ticket holds what creating one writes: its `created` event, the reporter's notes, and
    // nothing of the work that comes later.
    let history_is_fresh = after
        .events
        .iter()
        .all(|e| e.kind == "created" && e.by == actor.user_id)
        && after.events.len() <= 1
        && after.parts_used.is_empty()
        && after.checklist.is_empty()
        && after.csat.is_none();
    if !history_is_fresh {
        return Err(forbidden(
            actor,
            "create a ticket",
            "with history or work already in it",
        ));
    }
    for event in &after.events {
        values::check_event(event)?;
    }
    if !after.custom.is_empty() || !after.tags.is_empty() {
        if !actor.role.is_back_office() {
            return Err(forbidden(
                actor,
                "create a ticket",
                "with tags or custom fields",
            ));
        }
        values::check_custom(&after.custom)?;
        if after.tags.len() > values::MAX_TAGS {
            return Err(Refusal::Invalid {
                field: "tags",
                reason: format!("a ticket holds at most {}", values::MAX_TAGS),
            });
        }
    }
    for note in &after.notes {
        check_authored(actor, &note.author, "add a note")?;
        check_edit(
            actor,
            after,
            &Edit::AddNote {
                text: note.text.clone(),
                internal: note.internal,
            },
        )
        .or_else(|e| {
            if actor.role.is_back_office() {
                Ok(())
            } else {
                Err(e)
            }
        })?;
    }
    Ok(())
}

fn check_authored(actor: &Actor, by: &str, action: &'static str) -> Result<(), Refusal> {
    if by == actor.user_id {
        Ok(())
    } else {
        Err(forbidden(actor, action, "in someone else's name"))
    }
}

/// A note a change adds is written in its author's own name and role, and not yet redacted.
fn check_new_note(actor: &Actor, note: &crate::ticket::Note) -> Result<(), Refusal> {
    check_authored(actor, &note.author, "add a note")?;
    if note.role != actor.role || note.redacted {
        return Err(forbidden(
            actor,
            "add a note",
            "with a role or state not their own",
        ));
    }
    Ok(())
}

/// Checks a change to an existing ticket's `part` document: `before` as the author saw it (the
/// document at the change's dependencies), `after` with the change applied on top (for the
/// staff part, each merged into the ticket's public view). Every edit the change makes must
/// belong to that document ([`Edit::part`]).
pub fn check_change(
    actor: &Actor,
    part: Part,
    before: &Ticket,
    after: &Ticket,
) -> Result<(), Refusal> {
    if part == Part::Staff && !actor.role.reads_staff_data() {
        return Err(forbidden(
            actor,
            "write",
            "a ticket's staff document (staff data is for staff)",
        ));
    }
    check_fixed_fields(actor, before, after)?;
    values::check_counts(before, after)?;
    check_history(actor, before, after)?;
    check_status_event(before, after)?;
    let mut view = before.clone();
    for edit in derive_edits(before, after)? {
        let belongs = edit.part(&view);
        if belongs != part {
            return Err(Refusal::WrongPart {
                edit: edit.name(),
                part: belongs,
            });
        }
        check_edit(actor, &view, &edit)?;
        apply_to_view(&mut view, &edit);
    }
    Ok(())
}

/// [`check_change`] followed by [`super::merged::check_merged`] for the commonest change of all,
/// one public note appended to what the author saw, which is also what everyone sees now
/// (`after` is `before` with `note` pushed onto its notes and nothing else changed): the same
/// rules in the same order, without comparing the two tickets whole. `None` when `note`'s id is
/// one of `before`'s notes' (the whole comparison, on the document, judges that). Of `before`'s
/// notes only their ids are read.
pub fn check_note_appended(
    actor: &Actor,
    before: &Ticket,
    note: &crate::ticket::Note,
) -> Option<Result<(), Refusal>> {
    if before.notes.iter().any(|n| n.id == note.id) {
        return None;
    }
    Some(note_appended(actor, before, note))
}

fn note_appended(
    actor: &Actor,
    before: &Ticket,
    note: &crate::ticket::Note,
) -> Result<(), Refusal> {
    // `check_fixed_fields`: nothing but the notes moved.
    if before.tenant != actor.tenant {
        return Err(Refusal::OtherTenant);
    }
    // `check_history`: every note kept as it was, one new one.
    check_new_note(actor, note)?;
    // The one edit `derive_edits` finds, in the public document; the merged ticket has no
    // guarded edit to judge again.
    let edit = Edit::AddNote {
        text: note.text.clone(),
        internal: note.internal,
    };
    let belongs = edit.part(before);
    if belongs != Part::Public {
        return Err(Refusal::WrongPart {
            edit: edit.name(),
            part: belongs,
        });
    }
    check_edit(actor, before, &edit)
}

/// The ticket's identity and the server's fields never change, and only the back office writes
/// custom fields (plain values, within their limits).
pub(crate) fn check_fixed_fields(
    actor: &Actor,
    before: &Ticket,
    after: &Ticket,
) -> Result<(), Refusal> {
    if before.tenant != actor.tenant {
        return Err(Refusal::OtherTenant);
    }
    let unchanged_identity = before.id == after.id
        && before.tenant == after.tenant
        && before.kind == after.kind
        && before.channel == after.channel
        && before.reporter == after.reporter
        && before.created_at == after.created_at
        && before.number == after.number
        && before.sla == after.sla
        && before.asset == after.asset
        && before.alert == after.alert
        && before.asset_history == after.asset_history;
    if !unchanged_identity {
        return Err(forbidden(actor, "change", SERVER_OWNED));
    }
    if before.custom != after.custom {
        if !actor.role.is_back_office() {
            return Err(forbidden(actor, "change", "custom fields"));
        }
        values::check_custom(&after.custom)?;
    }
    Ok(())
}

/// Notes, events and parts only grow, and what is new is written in the author's own name.
fn check_history(actor: &Actor, before: &Ticket, after: &Ticket) -> Result<(), Refusal> {
    let after_notes: BTreeMap<&str, _> = after.notes.iter().map(|n| (n.id.as_str(), n)).collect();
    for note in &before.notes {
        match after_notes.get(note.id.as_str()) {
            Some(now)
                if now.text == note.text
                    && now.author == note.author
                    && now.internal == note.internal => {}
            _ => {
                return Err(forbidden(
                    actor,
                    "rewrite or remove",
                    "a note (redact it instead)",
                ));
            }
        }
    }
    let before_ids: BTreeSet<&str> = before.notes.iter().map(|n| n.id.as_str()).collect();
    // A note under an id already taken is a new note all the same (a copy of someone's note
    // under its id would otherwise pass as that note, unchecked).
    if after
        .notes
        .iter()
        .filter(|n| before_ids.contains(n.id.as_str()))
        .count()
        > before.notes.len()
    {
        return Err(forbidden(actor, "add a note", "under another note's id"));
    }
    for note in after
        .notes
        .iter()
        .filter(|n| !before_ids.contains(n.id.as_str()))
    {
        check_new_note(actor, note)?;
    }
    let filed: BTreeSet<&str> = before
        .attachments
        .iter()
        .map(|a| a.sha256.as_str())
        .collect();
    for attachment in after
        .attachments
        .iter()
        .filter(|a| !filed.contains(a.sha256.as_str()))
    {
        check_authored(actor, &attachment.by, "attach a photo")?;
    }
    check_grows(
        actor,
        &before.events,
        &after.events,
        "rewrite the history",
        |e| e.by.as_str(),
    )?;
    for event in added(&before.events, &after.events) {
        values::check_event(event)?;
    }
    check_grows(
        actor,
        &before.parts_used,
        &after.parts_used,
        "rewrite the parts used",
        |p| p.by.as_str(),
    )?;
    Ok(())
}

/// `after` holds every item of `before` (as a multiset); the new ones are by `actor`.
fn check_grows<T: Ord>(
    actor: &Actor,
    before: &[T],
    after: &[T],
    action: &'static str,
    by: impl Fn(&T) -> &str,
) -> Result<(), Refusal> {
    let mut remaining: BTreeMap<&T, usize> = BTreeMap::new();
    for item in after {
        *remaining.entry(item).or_default() += 1;
    }
    for item in before {
        match remaining.get_mut(item) {
            Some(n) if *n > 0 => *n -= 1,
            _ => return Err(forbidden(actor, action, "(it only grows)")),
        }
    }
    for (item, n) in remaining {
        if n > 0 && by(item) != actor.user_id {
            return Err(forbidden(actor, action, "in someone else's name"));
        }
    }
    Ok(())
}

/// The items of `after` that `before` lacks, as multisets (lists only grow; what is new is what
/// the change added).
pub(crate) fn added<'a, T: Ord>(before: &[T], after: &'a [T]) -> Vec<&'a T> {
    let mut held: BTreeMap<&T, usize> = BTreeMap::new();
    for item in before {
        *held.entry(item).or_default() += 1;
    }
    after
        .iter()
        .filter(|item| match held.get_mut(item) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect()
}

/// A status that moves comes with the `status_changed` event the workflow writes (the device
/// always writes both in one change), so the history shows every move.
pub(crate) fn check_status_event(before: &Ticket, after: &Ticket) -> Result<(), Refusal> {
    if before.status == after.status {
        return Ok(());
    }
    let recorded = added(&before.events, &after.events).into_iter().any(|e| {
        e.kind == "status_changed"
            && e.data.get("to").map(String::as_str) == Some(after.status.as_str())
    });
    if recorded {
        Ok(())
    } else {
        Err(Refusal::Invalid {
            field: "status",
            reason: "changed without its status_changed event".into(),
        })
    }
}

/// The typed edits that turn `before` into `after` (assignment and status first, since later
/// checks depend on them). History lists are checked separately by [`check_history`].
pub fn derive_edits(before: &Ticket, after: &Ticket) -> Result<Vec<Edit>, Refusal> {
    let mut edits = guarded_edits(before, after)?;
    edits.extend(record_edits(before, after)?);
    Ok(edits)
}

/// Whether field `name`'s conflict (its several concurrent values) differs between `before` and
/// `after`. A write replaces every value its author saw: assigning the person who already wins a
/// conflict over the assignee settles it without changing the winner, and is still an
/// assignment, with the status move that comes with one.
fn conflict_changed(before: &Ticket, after: &Ticket, name: &str) -> bool {
    fn values<'t>(ticket: &'t Ticket, name: &str) -> Option<&'t Vec<serde_json::Value>> {
        let conflict = ticket.conflicts.iter().find(|c| c.field == name)?;
        Some(&conflict.values)
    }
    values(before, name) != values(after, name)
}

/// The edits to the ticket's guarded fields — one value each, whose move is judged by the role and
/// the workflow: assignment, status, title, category, priority, description, order reference,
/// customer, team, site, tags and rating. [`super::merged`] judges these again on the merged
/// ticket.
pub fn guarded_edits(before: &Ticket, after: &Ticket) -> Result<Vec<Edit>, Refusal> {
    let mut edits = Vec::new();
    let mut status = before.status;
    if before.assignee != after.assignee || conflict_changed(before, after, "assignee") {
        edits.push(Edit::Assign {
            assignee: after.assignee.clone(),
        });
        status = workflow::status_after_assignment(before.status, after.assignee.as_deref())?;
    }
    if after.status != status {
        edits.push(Edit::SetStatus {
            status: after.status,
        });
    }
    if before.title != after.title {
        edits.push(Edit::SetTitle {
            title: after.title.clone(),
        });
    }
    if before.category != after.category {
        edits.push(Edit::SetCategory {
            category: after.category.clone(),
        });
    }
    if before.priority != after.priority {
        edits.push(Edit::SetPriority {
            priority: after.priority,
        });
    }
    if before.description != after.description {
        edits.push(Edit::SetDescription {
            description: after.description.clone(),
        });
    }
    if before.order_ref != after.order_ref {
        edits.push(Edit::SetOrderRef {
            order_ref: after.order_ref.clone(),
        });
    }
    if before.customer != after.customer {
        edits.push(Edit::SetCustomer {
            customer: after.customer.clone(),
        });
    }
    if before.team != after.team {
        edits.push(Edit::SetTeam {
            team: after.team.clone(),
        });
    }
    if before.site != after.site {
        match &after.site {
            Some(site) => edits.push(Edit::SetSite { site: site.clone() }),
            None => {
                return Err(Refusal::Invalid {
                    field: "site",
                    reason: "cannot be removed".into(),
                });
            }
        }
    }
    let (old_tags, new_tags): (BTreeSet<_>, BTreeSet<_>) =
        (before.tags.iter().collect(), after.tags.iter().collect());
    edits.extend(
        new_tags
            .difference(&old_tags)
            .map(|t| Edit::AddTag { tag: (*t).clone() }),
    );
    edits.extend(
        old_tags
            .difference(&new_tags)
            .map(|t| Edit::RemoveTag { tag: (*t).clone() }),
    );
    if before.csat != after.csat {
        match &after.csat {
            Some(csat) => edits.push(Edit::Rate {
                score: csat.score,
                comment: csat.comment.clone(),
            }),
            None => {
                return Err(Refusal::Invalid {
                    field: "rating",
                    reason: "cannot be removed".into(),
                });
            }
        }
    }
    Ok(edits)
}

/// The edits that record work — notes and redactions, parts, checklist ticks, photos, arrivals —
/// judged only as the author saw the ticket, so work done offline survives a reassignment made
/// meanwhile.
fn record_edits(before: &Ticket, after: &Ticket) -> Result<Vec<Edit>, Refusal> {
    let mut edits = Vec::new();
    let before_notes: BTreeMap<&str, bool> = before
        .notes
        .iter()
        .map(|n| (n.id.as_str(), n.redacted))
        .collect();
    for note in &after.notes {
        match before_notes.get(note.id.as_str()) {
            None => edits.push(Edit::AddNote {
                text: note.text.clone(),
                internal: note.internal,
            }),
            Some(false) if note.redacted => edits.push(Edit::RedactNote {
                note_id: note.id.clone(),
            }),
            Some(true) if !note.redacted => {
                return Err(Refusal::Invalid {
                    field: "note",
                    reason: "a redaction cannot be undone".into(),
                });
            }
            Some(_) => {}
        }
    }
    let before_parts = before.parts_used.len();
    for part in after.parts_used.iter().skip(before_parts) {
        edits.push(Edit::AddPart {
            sku: part.sku.clone(),
            qty: part.qty,
        });
    }
    for (item, state) in &after.checklist {
        if before.checklist.get(item) != Some(state) {
            edits.push(Edit::TickChecklist {
                item: item.clone(),
                done: state.done,
            });
        }
    }
    if before
        .checklist
        .keys()
        .any(|item| !after.checklist.contains_key(item))
    {
        return Err(Refusal::Invalid {
            field: "checklist",
            reason: "items cannot be removed".into(),
        });
    }
    edits.extend(new_attachments(before, after)?);
    let arrivals_before = before
        .events
        .iter()
        .filter(|e| e.kind == ARRIVED_ON_SITE)
        .count();
    for event in after
        .events
        .iter()
        .filter(|e| e.kind == ARRIVED_ON_SITE)
        .skip(arrivals_before)
    {
        let distance_m = event
            .data
            .get("distance_m")
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| Refusal::Invalid {
                field: "arrival",
                reason: "lacks its distance".into(),
            })?;
        edits.push(Edit::RecordArrival { distance_m });
    }
    Ok(edits)
}

/// Attachments are filed once and never rewritten or removed; each new one was attached by the
/// change's author (checked in [`check_history`]).
fn new_attachments(before: &Ticket, after: &Ticket) -> Result<Vec<Edit>, Refusal> {
    let old: BTreeMap<&str, &Attachment> = before
        .attachments
        .iter()
        .map(|a| (a.sha256.as_str(), a))
        .collect();
    let mut edits = Vec::new();
    for a in &after.attachments {
        match old.get(a.sha256.as_str()) {
            Some(was) if *was == a => {}
            Some(_) => {
                return Err(Refusal::Invalid {
                    field: "attachment",
                    reason: "cannot be changed once filed".into(),
                });
            }
            None => edits.push(Edit::Attach {
                attachment: NewAttachment {
                    sha256: a.sha256.clone(),
                    thumb: a.thumb.clone(),
                    mime: a.mime.clone(),
                    name: a.name.clone(),
                    bytes: a.bytes,
                    width: a.width,
                    height: a.height,
                    captured_at: a.captured_at,
                    location: match (a.lat, a.lon) {
                        (Some(lat), Some(lon)) => Some(LocationFix {
                            lat,
                            lon,
                            accuracy_m: a.accuracy_m,
                            at: None,
                        }),
                        _ => None,
                    },
                },
            }),
        }
    }
    if old.len() + edits.len() != after.attachments.len() {
        return Err(Refusal::Invalid {
            field: "attachment",
            reason: "cannot be removed".into(),
        });
    }
    Ok(edits)
}

/// Mirrors the parts of an edit that later checks in the same change depend on.
pub(crate) fn apply_to_view(view: &mut Ticket, edit: &Edit) {
    match edit {
        Edit::Assign { assignee } => {
            if let Ok(next) = workflow::status_after_assignment(view.status, assignee.as_deref()) {
                view.status = next;
            }
            view.assignee = assignee.clone();
        }
        Edit::SetStatus { status } => view.status = *status,
        Edit::SetTeam { team } => view.team = team.clone(),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
