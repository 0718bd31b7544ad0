//! Push: each pushed change judged in order as its author saw the ticket, and the accepted ones
//! stored with the server's follow-ups (ticket numbers) and the blobs the tickets' attachments
//! name in one transaction (`docs/sync-protocol.md`, "Push").

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use fieldwork_core::Actor;
use fieldwork_core::rules::judge::{self, Refused};
use fieldwork_core::ticket::limits::MAX_PUSH_OPS;
use fieldwork_core::ticket::{Change, ChangeHash, DocumentError, Ticket, TicketDocument};
use fieldwork_protocol::blobs::is_sha256_hex;
use fieldwork_protocol::sync::{PushChange, RejectCode, Rejection};

use crate::cache::CachedDoc;
use crate::error::Error;
use crate::state::Shared;
use crate::storage::{
    BlobRef, DeviceRecord, NewChange, PushCommit, StoreRead, TicketWrite, UserRecord,
};

/// Longest ticket id accepted; the app makes 36-character UUIDs.
const MAX_TICKET_ID: usize = 64;

/// What a push did.
#[derive(Debug, Default)]
pub(crate) struct PushOutcome {
    /// Hashes the server now holds, new or not.
    pub accepted: Vec<String>,
    pub rejected: Vec<Rejection>,
    /// Tickets of rejected changes, once each, to be sent back whole.
    pub refresh: Vec<String>,
    /// Tickets this push created (the device holds them).
    pub created: Vec<String>,
    /// The highest seq stored, if anything was.
    pub stored_up_to: Option<u64>,
}

/// A ticket the push works on.
struct Working {
    doc: TicketDocument,
    /// The cached view of an untouched document, to put back as it was.
    view: Option<Arc<Ticket>>,
    /// The `last_seq` read from the store; `None` for a ticket first seen in this push.
    head: Option<u64>,
    touched: bool,
}

/// What the store says about a ticket id in this tenant (another tenant's ids are unknown here).
enum Presence {
    Absent,
    Loaded,
    /// Stored beyond the ticket limits (before the server had them): it takes no more changes.
    OverLimit,
}

struct Judge<'a> {
    shared: &'a Shared,
    reader: &'a dyn StoreRead,
    actor: Actor,
    device_actor: &'a str,
    now: i64,
    tickets: HashMap<String, Working>,
    over_limit: HashSet<String>,
    /// New changes accepted in this push.
    seen: HashSet<ChangeHash>,
    changes: Vec<NewChange>,
    /// The tenant's ticket counter as read, and as it will be.
    numbers: Option<(u64, u64)>,
    created: Vec<String>,
    outcome: PushOutcome,
    /// What judging this push has cost so far, against [`MAX_PUSH_OPS`].
    spent: usize,
}

fn reject(code: RejectCode, hash: String, message: impl Into<String>) -> Rejection {
    Rejection {
        hash,
        ticket_id: String::new(),
        code,
        message: message.into(),
    }
}

fn refused(hash: &str, refused: Refused) -> Rejection {
    reject(refused.code, hash.to_owned(), refused.message)
}

fn malformed(hash: &str, message: &str) -> Rejection {
    reject(RejectCode::Malformed, hash.to_owned(), message)
}

fn valid_ticket_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_TICKET_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The human number of the `n`th ticket of a tenant.
fn ticket_number(n: u64) -> String {
    format!("FW-{n:06}")
}

impl Judge<'_> {
    /// Loads a ticket of this tenant into the working set.
    fn load(&mut self, id: &str) -> Result<Presence, Error> {
        if self.tickets.contains_key(id) {
            return Ok(Presence::Loaded);
        }
        if self.over_limit.contains(id) {
            return Ok(Presence::OverLimit);
        }
        let tenant = self.actor.tenant.as_str();
        let Some(head) = self.reader.ticket_head(tenant, id)? else {
            return Ok(Presence::Absent);
        };
        let working = match self.shared.cache.take(tenant, id, head.last_seq) {
            Some(cached) => Working {
                doc: cached.doc,
                view: Some(cached.view),
                head: Some(head.last_seq),
                touched: false,
            },
            None => {
                let snapshot = self
                    .reader
                    .ticket_snapshot(tenant, id)?
                    .ok_or_else(|| Error::Corrupt("a ticket without its document".into()))?;
                let doc = match TicketDocument::load(&snapshot) {
                    Ok(doc) => doc,
                    Err(DocumentError::Limit(limit)) => {
                        tracing::warn!(%limit, "a stored ticket is beyond the limits; its changes are refused");
                        self.over_limit.insert(id.to_owned());
                        return Ok(Presence::OverLimit);
                    }
                    Err(e) => return Err(e.into()),
                };
                // Loading costs the document's size: a push to a large ticket spends its budget.
                self.spent = self
                    .spent
                    .saturating_add(usize::try_from(doc.ops()).unwrap_or(usize::MAX));
                Working {
                    doc,
                    view: None,
                    head: Some(head.last_seq),
                    touched: false,
                }
            }
        };
        self.tickets.insert(id.to_owned(), working);
        Ok(Presence::Loaded)
    }

    /// Judges one change and, if accepted, adds it to the working set.
    fn one(&mut self, pushed: PushChange) -> Result<(), Error> {
        let ticket_id = pushed.ticket_id;
        let verdict = self.judge(&ticket_id, pushed.change.into_vec())?;
        match verdict {
            Ok(hash) => self.outcome.accepted.push(hash),
            Err(mut rejection) => {
                tracing::warn!(
                    tenant = %self.actor.tenant,
                    user = %self.actor.user_id,
                    code = ?rejection.code,
                    "pushed change rejected"
                );
                if !self.outcome.refresh.contains(&ticket_id) {
                    self.outcome.refresh.push(ticket_id.clone());
                }
                rejection.ticket_id = ticket_id;
                self.outcome.rejected.push(rejection);
            }
        }
        Ok(())
    }

    /// Steps 1-7 of the spec. `Ok(Err(_))` is a rejection; `Err(_)` a server fault.
    fn judge(
        &mut self,
        ticket_id: &str,
        bytes: Vec<u8>,
    ) -> Result<Result<String, Rejection>, Error> {
        if !valid_ticket_id(ticket_id) {
            return Ok(Err(malformed("", "the ticket id is not one the app makes")));
        }
        // Checked before Automerge parses it; undecodable bytes have no hash to report.
        let change = match judge::decode_change(&bytes) {
            Ok(change) => change,
            Err(refusal) => {
                self.spent = self.spent.saturating_add(1);
                return Ok(Err(refused("", refusal)));
            }
        };
        let hash = change.hash();
        let hex = hash.to_string();
        if change.actor_id().to_hex_string() != self.device_actor {
            return Ok(Err(reject(
                RejectCode::ForeignActor,
                hex,
                "the change was made by another device; a device sends only its own changes",
            )));
        }
        if self.seen.contains(&hash) {
            return Ok(Ok(hex));
        }
        if let Some(stored) = self.reader.change_ticket(&self.actor.tenant, &hex)? {
            return Ok(if stored != ticket_id {
                Err(malformed(
                    &hex,
                    "the change is filed under the wrong ticket",
                ))
            } else {
                Ok(hex)
            });
        }
        let judged = match self.load(ticket_id)? {
            Presence::OverLimit => Err(reject(
                RejectCode::TooLarge,
                hex.clone(),
                "the ticket on the server is beyond the ticket limits and takes no more changes; start a follow-up ticket",
            )),
            Presence::Absent => self.create(ticket_id, &change, &hex)?,
            Presence::Loaded => self.edit(ticket_id, &change, &hex)?,
        };
        Ok(match judged {
            Ok(numbering) => {
                self.seen.insert(hash);
                self.changes.push(NewChange {
                    ticket_id: ticket_id.to_owned(),
                    hash: hex.clone(),
                    actor_id: self.device_actor.to_owned(),
                    bytes: change.raw_bytes().to_vec(),
                });
                self.changes.extend(numbering);
                Ok(hex)
            }
            Err(rejection) => Err(rejection),
        })
    }

    /// A change that creates a ticket; on acceptance, returns the server's numbering change.
    fn create(
        &mut self,
        ticket_id: &str,
        change: &Change,
        hash: &str,
    ) -> Result<Result<Option<NewChange>, Rejection>, Error> {
        self.spent = self.spent.saturating_add(change.len().max(1));
        let server_actor = self.shared.store.server_actor().clone();
        // The view of the creation goes stale with the number below; the commit reads it again.
        let (mut doc, _) =
            match judge::judge_creation(&self.actor, ticket_id, change, server_actor.clone()) {
                Ok(judged) => judged,
                Err(refusal) => return Ok(Err(refused(hash, refusal))),
            };
        let n = match self.numbers {
            Some((_, next)) => next,
            None => self.reader.next_number(&self.actor.tenant)?,
        };
        self.numbers = Some((self.numbers.map_or(n, |(from, _)| from), n + 1));
        let numbering = doc
            .set_number(&ticket_number(n), server_actor.clone(), self.now)?
            .map(|numbered| NewChange {
                ticket_id: ticket_id.to_owned(),
                hash: numbered.hash().to_string(),
                actor_id: server_actor.to_hex_string(),
                bytes: numbered.raw_bytes().to_vec(),
            });
        self.tickets.insert(
            ticket_id.to_owned(),
            Working {
                doc,
                view: None,
                head: None,
                touched: true,
            },
        );
        self.created.push(ticket_id.to_owned());
        Ok(Ok(numbering))
    }

    /// A change to a ticket the server has: judged as its author saw the ticket and by its effect
    /// on the ticket as it now stands (`rules::judge::judge_edit`).
    fn edit(
        &mut self,
        ticket_id: &str,
        change: &Change,
        hash: &str,
    ) -> Result<Result<Option<NewChange>, Rejection>, Error> {
        let actor = &self.actor;
        let working = self
            .tickets
            .get_mut(ticket_id)
            .ok_or_else(|| Error::Task("a loaded ticket left the working set".into()))?;
        self.spent = self
            .spent
            .saturating_add(judge::judging_cost(&mut working.doc, change));
        let current = match &working.view {
            Some(view) => view.clone(),
            None => match working.doc.view() {
                Ok(view) => Arc::new(view),
                Err(e) => {
                    tracing::warn!(error = %e, "a stored ticket cannot be read; its changes are refused");
                    return Ok(Err(reject(
                        RejectCode::Malformed,
                        hash.to_owned(),
                        "the ticket on the server cannot be read; ask the back office",
                    )));
                }
            },
        };
        match judge::judge_edit(actor, &mut working.doc, &current, change) {
            Ok(merged) => {
                working.touched = true;
                working.view = Some(Arc::new(merged));
                Ok(Ok(None))
            }
            Err(refusal) => {
                working.view = Some(current);
                Ok(Err(refused(hash, refusal)))
            }
        }
    }
}

/// Judges `changes` in order and stores the accepted ones. Callers hold the tenant's push turn.
pub(crate) fn push(
    shared: &Shared,
    user: &UserRecord,
    device: &DeviceRecord,
    changes: Vec<PushChange>,
    now: i64,
) -> Result<PushOutcome, Error> {
    let judge = shared.store.read_with(|reader| {
        let mut judge = Judge {
            shared,
            reader,
            actor: user.actor(),
            device_actor: &device.actor_id,
            now,
            tickets: HashMap::new(),
            over_limit: HashSet::new(),
            seen: HashSet::new(),
            changes: Vec::new(),
            numbers: None,
            created: Vec::new(),
            outcome: PushOutcome::default(),
            spent: 0,
        };
        for change in changes {
            // Past the budget the rest stay unanswered; the device sends them next round.
            if judge.spent >= MAX_PUSH_OPS {
                tracing::debug!(spent = judge.spent, "push budget spent; the rest wait");
                break;
            }
            judge.one(change)?;
        }
        Ok(Stored {
            tickets: judge.tickets,
            changes: judge.changes,
            numbers: judge.numbers,
            created: judge.created,
            outcome: judge.outcome,
        })
    })?;
    judge.commit(shared, user, device, now)
}

/// The judged push, ready to be stored.
struct Stored {
    tickets: HashMap<String, Working>,
    changes: Vec<NewChange>,
    numbers: Option<(u64, u64)>,
    created: Vec<String>,
    outcome: PushOutcome,
}

impl Stored {
    fn commit(
        self,
        shared: &Shared,
        user: &UserRecord,
        device: &DeviceRecord,
        now: i64,
    ) -> Result<PushOutcome, Error> {
        let Stored {
            mut tickets,
            changes,
            numbers,
            created,
            mut outcome,
        } = self;
        let mut writes = Vec::new();
        let mut views = HashMap::new();
        let mut blob_refs = Vec::new();
        for (id, working) in &mut tickets {
            if !working.touched {
                continue;
            }
            let view = match working.view.take() {
                Some(view) => Arc::unwrap_or_clone(view),
                None => working.doc.view()?,
            };
            writes.push(TicketWrite {
                id: id.clone(),
                expected_last_seq: working.head,
                number: view.number.clone(),
                reporter_id: view.reporter.user_id.clone(),
                assignee: view.assignee.clone(),
                team: view.team.clone(),
                status: view.status.as_str().to_owned(),
                snapshot: working.doc.save(),
            });
            blob_refs.extend(attachment_blobs(id, &view));
            views.insert(id.clone(), Arc::new(view));
        }
        let mut last_seq: HashMap<String, u64> = HashMap::new();
        if !changes.is_empty() {
            let commit = PushCommit {
                tenant_id: user.tenant_id.clone(),
                device_id: device.id.clone(),
                received_at: now,
                changes,
                tickets: writes,
                numbers,
                held_by_device: created.clone(),
                blob_refs,
            };
            let seqs = shared.store.commit_push(&commit)?;
            for (change, seq) in commit.changes.iter().zip(&seqs) {
                last_seq.insert(change.ticket_id.clone(), *seq);
            }
            outcome.stored_up_to = seqs.iter().copied().max();
            outcome.created = created;
            tracing::debug!(
                tenant = %user.tenant_id,
                device = %device.id,
                stored = seqs.len(),
                "push stored"
            );
        }
        // Only now, with the push on disk, do documents go back to the cache.
        for (id, working) in tickets {
            let (seq, view) = match (last_seq.get(&id), working.head, working.view) {
                (Some(seq), _, _) => (*seq, views.remove(&id)),
                (None, Some(head), view) if !working.touched => (head, view),
                _ => continue,
            };
            if let Some(view) = view {
                shared.cache.put(
                    &user.tenant_id,
                    &id,
                    CachedDoc {
                        seq,
                        doc: working.doc,
                        view,
                    },
                );
            }
        }
        Ok(outcome)
    }
}

/// The blobs a ticket's attachments name (full images and thumbnails), for the blob lane's
/// download check. Names that are not sha256 hex are nobody's blob and are skipped.
fn attachment_blobs(ticket_id: &str, view: &Ticket) -> Vec<BlobRef> {
    let mut refs: Vec<BlobRef> = view
        .attachments
        .iter()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_ticket_ids_look_as_documented() {
        assert_eq!(ticket_number(123), "FW-000123");
        assert_eq!(ticket_number(1_234_567), "FW-1234567");
        assert!(valid_ticket_id("01a2060f-9315-71b0-ae38-1f1ae6836433"));
        assert!(
            !valid_ticket_id("") && !valid_ticket_id("a/b") && !valid_ticket_id(&"a".repeat(65))
        );
    }

    #[test]
    fn other_tenant_refusals_read_as_not_visible() {
        use fieldwork_core::rules::Refusal;
        assert_eq!(
            refused("h", Refusal::OtherTenant.into()).code,
            RejectCode::NotVisible
        );
        assert_eq!(
            refused("h", Refusal::UnknownNote.into()).code,
            RejectCode::Forbidden
        );
    }
}
