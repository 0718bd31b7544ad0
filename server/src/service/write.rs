//! Storing a judged commit: each touched ticket's index row (and, when its tail of public changes
//! is full, its compacted document), the accepted changes with the tenant's next seqs, the
//! ticket counter, the pushing device's holdings and the blobs the tickets' attachments name —
//! one [`TicketCommit`], one transaction — and then, with the commit on disk, the documents go
//! back to the cache.

use std::collections::HashMap;
use std::sync::Arc;

use fieldwork_core::ticket::{Part, Ticket, compacts};
use fieldwork_protocol::blobs::is_sha256_hex;

use super::Committed;
use super::compaction;
use super::judge::{Judged, Working};
use super::listing::{listing_appended, listing_of, staff_listing_of};
use crate::cache::{CachedDoc, DocCache, HeldView};
use crate::error::Error;
use crate::storage::{BlobRef, TicketCommit, TicketLog, TicketWrite};

/// A judged commit made ready to store: each touched ticket's index row and, when due, its
/// compacted documents are written out (most of a commit's work after judging, done outside the
/// tenant's turn), and the documents wait here to go back to the cache once the commit is on disk.
pub(crate) struct Prepared {
    /// What the store is to write; `None` when nothing is new (every change rejected or held).
    commit: Option<TicketCommit>,
    tickets: HashMap<String, Working>,
    /// Touched tickets' views: packed already when the ticket goes back to the cache without its
    /// document (judged on its tip), so a commit waiting for its turn holds ~20 bytes a note, not
    /// the whole ticket, and the turn does not pack it.
    views: HashMap<String, HeldView>,
    created: Vec<String>,
    outcome: Committed,
}

/// Prepares `judged` for `tenant`; `device_id` is the pushing device, which holds the tickets it
/// created from now on.
pub(crate) fn prepare(
    judged: Judged,
    tenant: &str,
    device_id: Option<&str>,
    now: i64,
) -> Result<Prepared, Error> {
    let Judged {
        mut tickets,
        changes,
        numbers,
        created,
        outcome,
    } = judged;
    let mut writes = Vec::new();
    let mut views = HashMap::new();
    let mut blob_refs = Vec::new();
    for (id, working) in &mut tickets {
        if !working.touched {
            continue;
        }
        let appended = changes
            .iter()
            .filter(|c| c.ticket_id == *id && c.part == Part::Public)
            .count();
        let view = match (working.view.take(), &working.doc) {
            (Some(view), _) => Arc::unwrap_or_clone(view),
            (None, Some(doc)) => doc.view()?,
            (None, None) => return Err(Error::Task("a touched ticket without its view".into())),
        };
        writes.push(TicketWrite {
            id: id.clone(),
            expected_last_seq: working.head,
            number: view.number.clone(),
            reporter_id: view.reporter.user_id.clone(),
            assignee: view.assignee.clone(),
            team: view.team.clone(),
            status: view.status.as_str().to_owned(),
            people: people_of(&view),
            snapshot: snapshot_of(id, working, appended),
            summary: Some(view.summary()),
            staff_snapshot: match (&mut working.staff, working.staff_touched) {
                (Some(staff), true) => Some(staff.save()),
                _ => None,
            },
            staff_people: match (&working.staff, working.staff_touched) {
                (Some(staff), true) => Some(staff_people_of(staff, &view)?),
                _ => None,
            },
            last_effective_at: working.last_effective,
            category: view.category.clone(),
            // A new ticket is created at its creation's effective time (device clocks for the
            // server's own creations).
            created_at: match working.head {
                None => Some(working.last_effective.unwrap_or(view.created_at)),
                Some(_) => None,
            },
            // Judged on its tip, the ticket only has notes appended: their terms follow the
            // ticket's (ADR 0023).
            listing: Some(match (&working.doc, &working.tip, working.head) {
                (None, Some(held), Some(_)) => {
                    listing_appended(&view, held.accepted.len(), held.packed.public_chars())
                }
                _ => listing_of(&view),
            }),
            staff_listing: match (&working.staff, working.staff_touched) {
                (Some(staff), true) => Some(staff_listing_of(&staff.staff_view()?)),
                _ => None,
            },
        });
        blob_refs.extend(attachment_blobs(id, &view));
        let view = match (&working.doc, &mut working.tip) {
            (None, Some(held)) => HeldView::Packed(Arc::new(held.packed.appended(view))),
            _ => HeldView::Loaded(Arc::new(view)),
        };
        views.insert(id.clone(), view);
    }
    let commit = (!changes.is_empty()).then(|| TicketCommit {
        tenant_id: tenant.to_owned(),
        device_id: device_id.map(str::to_owned),
        received_at: now,
        changes,
        tickets: writes,
        numbers,
        held_by_device: created.clone(),
        blob_refs,
    });
    Ok(Prepared {
        commit,
        tickets,
        views,
        created,
        outcome,
    })
}

/// The compacted document a commit writes for `working`, with `appended` public changes of this
/// commit: a new ticket's, and a ticket's whose tail is due ([`compacts`]);
/// `None` lets the changes follow the stored snapshot. A document Automerge cannot save and load
/// back keeps its changes instead
/// ([`fieldwork_core::ticket::TicketDocument::save_proven`]). A ticket judged on its tip alone
/// has no document loaded: its judge read the stored one when the commit's notes fill the tail
/// (`Working::compaction`), and it is loaded, saved and dropped here: the commit waits for its
/// turn without it.
fn snapshot_of(id: &str, working: &mut Working, appended: usize) -> Option<Vec<u8>> {
    let tail = u64::from(working.tail).saturating_add(appended as u64);
    if let (None, Some(stored), Some(held)) =
        (&working.doc, working.compaction.take(), &working.tip)
    {
        return compaction::compact(&stored, &held.accepted);
    }
    let doc = working.doc.as_mut()?;
    if working.head.is_some() && !compacts(doc.changes(), tail, id) {
        return None;
    }
    doc.save_proven()
}

impl Prepared {
    /// What the store is to write, if anything.
    pub(crate) fn commit(&self) -> Option<&TicketCommit> {
        self.commit.as_ref()
    }

    /// Completes the commit once the store wrote it, its changes numbered `seqs` (empty when
    /// [`Self::commit`] was `None`): only now, with the commit on disk, do documents go back to
    /// the cache.
    pub(crate) fn finish(self, seqs: &[u64], cache: &DocCache, tenant: &str) -> Committed {
        let Prepared {
            commit,
            tickets,
            mut views,
            created,
            mut outcome,
        } = self;
        let mut last_seq: HashMap<String, u64> = HashMap::new();
        if let Some(commit) = &commit {
            for (change, seq) in commit.changes.iter().zip(seqs) {
                if !last_seq.contains_key(&change.ticket_id) {
                    outcome.changed.push(change.ticket_id.clone());
                }
                last_seq.insert(change.ticket_id.clone(), *seq);
            }
            outcome.max_seq = seqs.iter().copied().max();
            outcome.created = created;
            outcome.assets = outcome
                .changed
                .iter()
                .filter_map(|id| {
                    let serial = &views.get(id)?.head().asset.as_ref()?.serial;
                    Some((id.clone(), serial.clone()))
                })
                .collect();
            tracing::debug!(tenant, device = ?commit.device_id, stored = seqs.len(), "commit stored");
        }
        for (id, working) in tickets {
            let (seq, view) = match (last_seq.get(&id), working.head, working.view) {
                (Some(seq), _, _) => (*seq, views.remove(&id)),
                (None, Some(head), view) if !working.touched => (head, view.map(HeldView::Loaded)),
                _ => continue,
            };
            match (view, working.doc, working.tip) {
                (Some(HeldView::Loaded(view)), Some(doc), _) => cache.put(
                    tenant,
                    &id,
                    CachedDoc {
                        seq,
                        doc,
                        staff: working.staff,
                        view,
                    },
                ),
                (Some(HeldView::Packed(view)), None, Some(held)) if working.touched => {
                    cache.put_kept(tenant, &id, seq, view, held.tip);
                }
                _ => {}
            }
        }
        outcome
    }
}

/// Stores a prepared commit on its own (not in a group): [`Conflict::Moved`] if a ticket it
/// touches or the counter moved since it was judged.
///
/// [`Conflict::Moved`]: crate::storage::Conflict::Moved
pub(crate) fn store(
    prepared: Prepared,
    log: &dyn TicketLog,
    cache: &DocCache,
    tenant: &str,
) -> Result<Committed, Error> {
    let seqs = match prepared.commit() {
        Some(commit) => log.commit(commit)?,
        None => Vec::new(),
    };
    Ok(prepared.finish(&seqs, cache, tenant))
}

/// Most people kept for one ticket: the reporter and the assignee come first, so they are
/// always named; a ticket naming more (notes by dozens of people, or assignments to made-up ids)
/// shows the rest as short ids. Well under `MAX_PEOPLE_PER_RESPONSE`, so any ticket's names fit
/// in one answer.
pub(crate) const MAX_PEOPLE_PER_TICKET: usize = 100;
/// Longest id kept: user ids are UUIDs (36 characters); anything much longer is nobody's, and
/// would only make the index row heavy for every pull that reads it.
const MAX_PERSON_ID_BYTES: usize = 64;

/// The user ids a ticket names, kept with its index row for the pull to send names for.
pub(super) fn people_of(view: &Ticket) -> Vec<String> {
    view.people()
        .into_iter()
        .filter(|id| id.len() <= MAX_PERSON_ID_BYTES)
        .take(MAX_PEOPLE_PER_TICKET)
        .map(str::to_owned)
        .collect()
}

/// The user ids a ticket's staff document names that its public view does not: internal notes'
/// authors and the staff history's people, bounded like [`people_of`].
fn staff_people_of(
    staff: &fieldwork_core::ticket::TicketDocument,
    public: &Ticket,
) -> Result<Vec<String>, Error> {
    let view = staff.staff_view()?;
    let public = people_of(public);
    let mut seen = std::collections::HashSet::new();
    Ok(view
        .notes
        .iter()
        .map(|n| n.author.as_str())
        .chain(view.events.iter().map(|e| e.by.as_str()))
        .filter(|id| !id.is_empty() && id.len() <= MAX_PERSON_ID_BYTES)
        .filter(|id| !public.iter().any(|p| p == id))
        .filter(|id| seen.insert(*id))
        .take(MAX_PEOPLE_PER_TICKET)
        .map(str::to_owned)
        .collect())
}

/// The blobs a ticket's attachments name (full images and thumbnails), for the blob lane's
/// download check. Names that are not sha256 hex are nobody's blob and are skipped.
pub(super) fn attachment_blobs(ticket_id: &str, view: &Ticket) -> Vec<BlobRef> {
    let mut refs: Vec<BlobRef> = view
        .attachments
        .iter()
        .filter(|a| !a.erased)
        .flat_map(|a| std::iter::once(a.sha256.as_str()).chain(a.thumb.as_deref()))
        .filter(|sha256| is_sha256_hex(sha256))
        .map(|sha256| BlobRef {
            ticket_id: ticket_id.to_owned(),
            sha256: sha256.to_owned(),
        })
        .collect();
    refs.sort();
    refs.dedup();
    refs
}
