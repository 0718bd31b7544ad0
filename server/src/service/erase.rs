//! Erasing personal data from a ticket for good (`docs/staff-data.md`, "Erase"; ADR 0011): the
//! ticket's documents are rewritten without the erased content (`core::ticket::rewrite`), the
//! rewrite replaces every stored change of the ticket in one transaction with an erasure log row
//! that names what was erased and never the content, the files of erased photos go, and the
//! database's write-ahead log is emptied. Devices holding the ticket take the rewrite on their
//! next sync (the pull's replacing snapshot).

use fieldwork_core::model::Erasure;
use fieldwork_core::ticket::{Part, Ticket, TicketDocument, rewrite};
use serde::Serialize;

use super::write::people_of;
use crate::blobs::BlobStore;
use crate::cache::DocCache;
use crate::error::Error;
use crate::storage::{
    Conflict, Missing, NewChange, ReadWith, ServerStore, StorageError, TicketRewrite, TicketWrite,
};

/// Longest reference an erasure may carry (a case number, not an explanation).
const MAX_REFERENCE: usize = 200;
/// Tries when the ticket keeps moving while it is rewritten.
const ATTEMPTS: usize = 5;

/// What to erase from one ticket of a tenant.
#[derive(Debug, Clone)]
pub struct EraseRequest {
    pub ticket_id: String,
    pub erasures: Vec<Erasure>,
    /// Who asks (a user id, or the operator of the admin command), for the log.
    pub by: String,
    /// The request's reference, e.g. the data-protection case number: never the content.
    pub reference: Option<String>,
}

/// What an erase did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub ticket_id: String,
    pub number: Option<String>,
    /// The ticket's seq after the rewrite (its `rewritten_seq`).
    pub seq: u64,
    pub erased: Vec<Erasure>,
    /// Photo files removed (an erased photo and its thumbnail; one another ticket still names
    /// stays for it).
    pub files_removed: usize,
}

/// Erases `request` from a ticket of `tenant`, as [`crate::service::Tickets::erase`] and the
/// admin command do. Refuses (nothing changes) a request naming nothing the ticket holds or
/// something erased already.
pub(crate) fn erase(
    store: &dyn ServerStore,
    files: &dyn BlobStore,
    cache: &DocCache,
    tenant: &str,
    request: &EraseRequest,
    now: i64,
) -> Result<Erased, Error> {
    check_request(request)?;
    let mut attempt = 0;
    let (erased, unnamed) = loop {
        attempt += 1;
        match rewrite_once(store, tenant, request, now) {
            Err(Error::Storage(StorageError::Conflict(Conflict::Moved))) if attempt < ATTEMPTS => {
                tracing::debug!(tenant, "the ticket moved while it was rewritten; again");
            }
            other => break other?,
        }
    };
    cache.forget(tenant, &request.ticket_id);
    let files_removed = remove_unnamed_files(store, files, tenant, &unnamed)?;
    store.scrub()?;
    tracing::info!(
        tenant,
        erased = erased.erased.len(),
        files_removed,
        "personal data erased from a ticket"
    );
    Ok(Erased {
        files_removed,
        ..erased
    })
}

fn check_request(request: &EraseRequest) -> Result<(), Error> {
    if request.erasures.is_empty() {
        return Err(Error::Invalid {
            field: "erasure",
            reason: "name a note, a photo or the contact to erase".into(),
        });
    }
    if let Some(reference) = &request.reference
        && (reference.chars().count() > MAX_REFERENCE || reference.chars().any(char::is_control))
    {
        return Err(Error::Invalid {
            field: "reference",
            reason: format!(
                "must be at most {MAX_REFERENCE} characters without control characters (a case number, not the content)"
            ),
        });
    }
    Ok(())
}

/// One read, rewrite and store; [`Conflict::Moved`] if the ticket moved meanwhile. Returns what
/// was done and the blobs the ticket no longer names.
fn rewrite_once(
    store: &dyn ServerStore,
    tenant: &str,
    request: &EraseRequest,
    now: i64,
) -> Result<(Erased, Vec<String>), Error> {
    let id = request.ticket_id.as_str();
    let (head, public, staff) = store.read_with(|reader| {
        let head = reader.ticket_head(tenant, id)?.ok_or(Missing::Ticket)?;
        let public = reader
            .ticket_snapshot(tenant, id)?
            .ok_or_else(|| StorageError::Corrupt("a ticket without its document".into()))?;
        let staff = reader.ticket_staff_snapshot(tenant, id)?;
        Ok::<_, Error>((head, public, staff))
    })?;
    let public = TicketDocument::load(&public)?;
    let staff = staff
        .map(|bytes| TicketDocument::load_part(Part::Staff, &bytes))
        .transpose()?;
    let view = match &staff {
        Some(staff) => public.view()?.with_staff(staff.staff_view()?),
        None => public.view()?,
    };
    let erasures = dedup(&request.erasures);
    for erasure in &erasures {
        check_names_something(&view, erasure)?;
    }
    let unnamed = photo_files(&view, &erasures);
    let actor = store.server_actor().clone();
    let (mut new_public, _) = rewrite::rewrite(&public, &erasures, actor.clone(), now)?;
    let mut changes = vec![only_change(&mut new_public, &[], Part::Public, id)?];
    let new_staff = match &staff {
        Some(staff) => {
            let (mut new_staff, _) = rewrite::rewrite(staff, &erasures, actor.clone(), now)?;
            let genesis = TicketDocument::staff(actor.clone()).heads();
            changes.push(only_change(&mut new_staff, &genesis, Part::Staff, id)?);
            Some(new_staff)
        }
        None => None,
    };
    let new_view = new_public.view()?;
    // The erased words leave the search index too.
    let staff_listing = new_staff
        .as_ref()
        .map(|staff| {
            staff
                .staff_view()
                .map(|v| super::listing::staff_listing_of(&v))
        })
        .transpose()?;
    let ticket = TicketWrite {
        id: id.to_owned(),
        expected_last_seq: Some(head.last_seq),
        number: new_view.number.clone(),
        reporter_id: new_view.reporter.user_id.clone(),
        assignee: new_view.assignee.clone(),
        team: new_view.team.clone(),
        status: new_view.status.as_str().to_owned(),
        people: people_of(&new_view),
        snapshot: Some(new_public.save()),
        summary: Some(new_view.summary()),
        staff_snapshot: new_staff.map(|mut staff| staff.save()),
        staff_people: None,
        last_effective_at: None,
        category: new_view.category.clone(),
        created_at: None,
        listing: Some(super::listing::listing_of(&new_view)),
        staff_listing,
    };
    let seq = store.rewrite(&TicketRewrite {
        tenant_id: tenant.to_owned(),
        at: now,
        ticket,
        changes,
        unnamed_blobs: unnamed.clone(),
        erased: erasures.clone(),
        by: request.by.clone(),
        reference: request.reference.clone(),
    })?;
    let erased = Erased {
        ticket_id: id.to_owned(),
        number: new_view.number,
        seq,
        erased: erasures,
        files_removed: 0,
    };
    Ok((erased, unnamed))
}

/// `erasures` without repeats, in order.
fn dedup(erasures: &[Erasure]) -> Vec<Erasure> {
    let mut out: Vec<Erasure> = Vec::with_capacity(erasures.len());
    for erasure in erasures {
        if !out.contains(erasure) {
            out.push(erasure.clone());
        }
    }
    out
}

/// Refuses an erasure naming nothing the ticket holds, or something erased already (the ids are
/// not personal data; the message may name them).
fn check_names_something(view: &Ticket, erasure: &Erasure) -> Result<(), Error> {
    let (field, found) = match erasure {
        Erasure::Note { note_id } => (
            "note",
            view.notes
                .iter()
                .find(|n| &n.id == note_id)
                .map(|n| n.erased),
        ),
        Erasure::Photo { sha256 } => (
            "photo",
            view.attachments
                .iter()
                .find(|a| &a.sha256 == sha256)
                .map(|a| a.erased),
        ),
        Erasure::Contact => ("contact", view.customer.as_ref().map(|_| false)),
    };
    let reason = match found {
        Some(false) => return Ok(()),
        Some(true) => "was erased already",
        None if field == "contact" => "the ticket holds no contact details",
        None => "the ticket has none with that id",
    };
    Err(Error::Invalid {
        field,
        reason: reason.into(),
    })
}

/// The files of the photos `erasures` name: each full image and its thumbnail.
fn photo_files(view: &Ticket, erasures: &[Erasure]) -> Vec<String> {
    let mut files: Vec<String> = erasures
        .iter()
        .filter_map(|e| match e {
            Erasure::Photo { sha256 } => view.attachments.iter().find(|a| &a.sha256 == sha256),
            _ => None,
        })
        .flat_map(|a| std::iter::once(a.sha256.clone()).chain(a.thumb.clone()))
        .collect();
    files.sort();
    files.dedup();
    files
}

/// The one change a rewrite made on top of `base` (nothing, or the staff genesis).
fn only_change(
    doc: &mut TicketDocument,
    base: &[fieldwork_core::ticket::ChangeHash],
    part: Part,
    ticket_id: &str,
) -> Result<NewChange, Error> {
    let mut changes = doc.changes_since(base);
    match (changes.pop(), changes.is_empty()) {
        (Some(change), true) => Ok(NewChange {
            ticket_id: ticket_id.to_owned(),
            part,
            hash: change.hash().to_string(),
            actor_id: change.actor_id().to_hex_string(),
            bytes: change.raw_bytes().to_vec(),
            times: None,
        }),
        _ => Err(Error::Task(
            "a rewrite is one change on top of its base".into(),
        )),
    }
}

/// Removes the files of `shas` that no ticket of the tenant names any more: rows first, files
/// second, as the collector does (`blobs::collect`). Returns how many files went.
fn remove_unnamed_files(
    store: &dyn ServerStore,
    files: &dyn BlobStore,
    tenant: &str,
    shas: &[String],
) -> Result<usize, Error> {
    let mut removed = 0;
    for sha in shas {
        if !store.blob_ref_tickets(tenant, sha)?.is_empty() {
            continue;
        }
        let Some(record) = store.blob(tenant, sha)? else {
            continue;
        };
        for blob in store.delete_unnamed_blobs(&[record], i64::MAX)? {
            files.remove_blob(&blob.tenant_id, &blob.sha256)?;
            removed += 1;
        }
    }
    Ok(removed)
}
