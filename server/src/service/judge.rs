//! Judging a commit's changes in order, as each author saw the ticket, against one read snapshot
//! and the document cache — nothing of the HTTP state: [`Judge::new`] takes the reader, the
//! cache, the clock's `now`, the server's actor and who is writing. A person's or a device's
//! change goes through `core::rules::judge` (the rules every device applies too); a change the
//! server wrote itself goes through [`super::trusted`]. Accepted changes and the server's
//! follow-ups (a ticket's number on first sight) collect in a [`Judged`], stored by
//! [`super::write`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use fieldwork_core::Actor;
use fieldwork_core::rules::judge::{self, Refused};
use fieldwork_core::ticket::limits::MAX_PUSH_OPS;
use fieldwork_core::ticket::{
    ActorId, Change, ChangeHash, DocumentError, Part, Ticket, TicketDocument,
};
use fieldwork_protocol::sync::{RejectCode, Rejection};

pub(crate) use on_tip::OnTip;

use super::{Committed, ProposedChange, trusted};
use crate::cache::{DocCache, Kept};
use crate::error::Error;
use crate::storage::{ChangeTimes, NewChange, StorageError, StoreRead, TicketHead};

mod on_tip;

/// Longest ticket id accepted; the app makes 36-character UUIDs.
const MAX_TICKET_ID: usize = 64;

/// Who is writing, as the judgement needs it.
#[derive(Debug, Clone)]
pub(crate) struct Judging {
    /// The rules' view of the author; `None` for the server itself, which no role rule binds.
    pub rules: Option<Actor>,
    /// The Automerge actor every change must carry (lowercase hex).
    pub change_actor: String,
    /// Why a change by another actor is refused.
    pub foreign: &'static str,
    /// The person whose changes these are (`None` for the server's own), and the clock offset
    /// their device last measured: each change is timed by them (`ChangeTimes`).
    pub person: Option<String>,
    pub clock_offset_ms: i64,
}

/// A ticket the commit works on.
pub(crate) struct Working {
    /// The public document; `None` while the ticket is judged on its tip alone (`tip`): it is
    /// loaded when a change needs it.
    pub doc: Option<TicketDocument>,
    /// The ticket's tip while its document is not loaded, with what was accepted on it.
    pub tip: Option<OnTip>,
    /// The staff document, once a change to it needed it (its genesis if the ticket has no
    /// staff data yet).
    pub staff: Option<TicketDocument>,
    /// The ticket's public view as it stands: the cached view of an untouched document (to put
    /// back as it was), or the view after this commit's changes. While the ticket is judged on its
    /// tip, its kept view without the notes' texts (`cache::PackedView`), which nothing judged on
    /// the document reads.
    pub view: Option<Arc<Ticket>>,
    /// The `last_seq` read from the store; `None` for a ticket first seen in this commit.
    pub head: Option<u64>,
    /// The public changes stored after the ticket's snapshot, as read
    /// ([`crate::storage::TicketHead::tail`]).
    pub tail: u32,
    pub touched: bool,
    /// A change to the staff document was accepted: it is stored with the commit.
    pub staff_touched: bool,
    /// The effective time of the ticket's newest timed change, as stored and then as this
    /// commit moves it.
    pub last_effective: Option<i64>,
    /// The stored public document of a ticket judged on its tip whose notes fill its stored
    /// tail, as read: loaded only to be compacted with them (`compaction::compact`).
    pub compaction: Option<Vec<u8>>,
}

impl Working {
    /// A stored ticket as read, untouched.
    fn stored(head: &TicketHead, doc: Option<TicketDocument>, view: Option<Arc<Ticket>>) -> Self {
        Working {
            doc,
            tip: None,
            staff: None,
            view,
            head: Some(head.last_seq),
            tail: head.tail,
            touched: false,
            staff_touched: false,
            last_effective: head.last_effective_at,
            compaction: None,
        }
    }
}

/// The judged commit, ready to be stored.
pub(crate) struct Judged {
    pub tickets: HashMap<String, Working>,
    pub changes: Vec<NewChange>,
    /// The tenant's ticket counter as read, and as it will be.
    pub numbers: Option<(u64, u64)>,
    pub created: Vec<String>,
    pub outcome: Committed,
}

/// What the store says about a ticket id in this tenant (another tenant's ids are unknown here).
enum Presence {
    Absent,
    Loaded,
    /// Stored beyond the ticket limits (before the server had them): it takes no more changes.
    OverLimit,
}

pub(crate) struct Judge<'a> {
    cache: &'a DocCache,
    reader: &'a dyn StoreRead,
    tenant: &'a str,
    author: &'a Judging,
    server_actor: &'a ActorId,
    now: i64,
    tickets: HashMap<String, Working>,
    over_limit: HashSet<String>,
    /// New changes accepted in this commit.
    seen: HashSet<ChangeHash>,
    /// Changes of this commit refused as built on a rewritten history: what builds on them is too.
    rewritten: HashSet<ChangeHash>,
    changes: Vec<NewChange>,
    numbers: Option<(u64, u64)>,
    created: Vec<String>,
    outcome: Committed,
    /// What judging this commit has cost so far, against [`MAX_PUSH_OPS`].
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

impl<'a> Judge<'a> {
    pub fn new(
        cache: &'a DocCache,
        reader: &'a dyn StoreRead,
        tenant: &'a str,
        author: &'a Judging,
        server_actor: &'a ActorId,
        now: i64,
    ) -> Self {
        Judge {
            cache,
            reader,
            tenant,
            author,
            server_actor,
            now,
            tickets: HashMap::new(),
            over_limit: HashSet::new(),
            seen: HashSet::new(),
            rewritten: HashSet::new(),
            changes: Vec::new(),
            numbers: None,
            created: Vec::new(),
            outcome: Committed::default(),
            spent: 0,
        }
    }

    /// Judges `changes` in order until the per-commit budget is spent; past it the rest stay
    /// unanswered (a device sends them again next round).
    pub fn run(mut self, changes: Vec<ProposedChange>) -> Result<Judged, Error> {
        for change in changes {
            if self.spent >= MAX_PUSH_OPS {
                tracing::debug!(spent = self.spent, "commit budget spent; the rest wait");
                break;
            }
            self.one(change)?;
        }
        self.compactions()?;
        Ok(Judged {
            tickets: self.tickets,
            changes: self.changes,
            numbers: self.numbers,
            created: self.created,
            outcome: self.outcome,
        })
    }

    /// Loads a ticket of this tenant into the working set.
    fn load(&mut self, id: &str) -> Result<Presence, Error> {
        if self.tickets.contains_key(id) {
            return Ok(Presence::Loaded);
        }
        if self.over_limit.contains(id) {
            return Ok(Presence::OverLimit);
        }
        let Some(head) = self.reader.ticket_head(self.tenant, id)? else {
            return Ok(Presence::Absent);
        };
        let working = match self.cache.take(self.tenant, id, head.last_seq) {
            Some(cached) => Working {
                staff: cached.staff,
                ..Working::stored(&head, Some(cached.doc), Some(cached.view))
            },
            None => match self.cache.kept(self.tenant, id, head.last_seq) {
                // Kept with its tip: a note is judged without loading the document (and the
                // document is loaded after, should the notes fill the tail: `compactions`).
                Some(Kept {
                    view,
                    tip: Some(tip),
                    packed,
                    ..
                }) => Working {
                    tip: Some(OnTip {
                        tip,
                        packed,
                        accepted: Vec::new(),
                    }),
                    ..Working::stored(&head, None, Some(view))
                },
                _ => {
                    let Some(doc) = self.stored_document(id)? else {
                        return Ok(Presence::OverLimit);
                    };
                    // A kept view has no notes' texts, and a change judged on the document is
                    // judged against the whole ticket: its view is read from the document.
                    Working::stored(&head, Some(doc), None)
                }
            },
        };
        self.tickets.insert(id.to_owned(), working);
        Ok(Presence::Loaded)
    }

    /// Ticket `id`'s public document as stored; `None` (and the ticket marked) when it is stored
    /// beyond the ticket limits.
    fn stored_document(&mut self, id: &str) -> Result<Option<TicketDocument>, Error> {
        let snapshot = self
            .reader
            .ticket_snapshot(self.tenant, id)?
            .ok_or_else(|| StorageError::Corrupt("a ticket without its document".into()))?;
        let doc = match TicketDocument::load(&snapshot) {
            Ok(doc) => doc,
            Err(DocumentError::Limit(limit)) => {
                tracing::warn!(%limit, "a stored ticket is beyond the limits; its changes are refused");
                self.over_limit.insert(id.to_owned());
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        // Loading costs the document's size: a commit to a large ticket spends its budget.
        self.spent = self
            .spent
            .saturating_add(usize::try_from(doc.ops()).unwrap_or(usize::MAX));
        Ok(Some(doc))
    }

    /// Loads the staff document of a ticket already in the working set (its genesis when the
    /// ticket has no staff data yet).
    fn load_staff(&mut self, id: &str) -> Result<(), Error> {
        let loaded = self
            .tickets
            .get(id)
            .is_some_and(|working| working.staff.is_some());
        if loaded {
            return Ok(());
        }
        let stored = match self.tickets.get(id).and_then(|w| w.head) {
            Some(_) => self.reader.ticket_staff_snapshot(self.tenant, id)?,
            None => None,
        };
        let staff = match stored {
            Some(snapshot) => TicketDocument::load_part(Part::Staff, &snapshot)?,
            None => TicketDocument::staff(self.server_actor.clone()),
        };
        self.spent = self
            .spent
            .saturating_add(usize::try_from(staff.ops()).unwrap_or(usize::MAX));
        if let Some(working) = self.tickets.get_mut(id) {
            working.staff = Some(staff);
        }
        Ok(())
    }

    /// Judges one change and, if accepted, adds it to the working set.
    fn one(&mut self, proposed: ProposedChange) -> Result<(), Error> {
        let ticket_id = proposed.ticket_id;
        let verdict = self.judge(&ticket_id, proposed.part, proposed.bytes)?;
        match verdict {
            Ok(hash) => self.outcome.accepted.push(hash),
            Err(mut rejection) => {
                let user = self.author.rules.as_ref().map(|a| a.user_id.as_str());
                tracing::warn!(
                    tenant = %self.tenant,
                    user = user.unwrap_or("server"),
                    code = ?rejection.code,
                    "change rejected"
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

    /// Steps 1-11 of the spec. `Ok(Err(_))` is a rejection; `Err(_)` a server fault.
    fn judge(
        &mut self,
        ticket_id: &str,
        part: Part,
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
        if change.actor_id().to_hex_string() != self.author.change_actor {
            return Ok(Err(reject(
                RejectCode::ForeignActor,
                hex,
                self.author.foreign,
            )));
        }
        if self.seen.contains(&hash) {
            return Ok(Ok(hex));
        }
        // A change the server holds, or held until an erase rewrote its ticket (its content,
        // minus what was erased, is in the rewrite): taken already.
        let stored = match self.reader.change_ticket(self.tenant, &hex)? {
            Some(stored) => Some(stored),
            None => self.reader.forgotten_change(self.tenant, &hex)?,
        };
        if let Some(stored) = stored {
            return Ok(if stored != ticket_id {
                Err(malformed(
                    &hex,
                    "the change is filed under the wrong ticket",
                ))
            } else {
                Ok(hex)
            });
        }
        let judged = match (part, self.load(ticket_id)?) {
            (_, Presence::OverLimit) => Err(reject(
                RejectCode::TooLarge,
                hex.clone(),
                "the ticket on the server is beyond the ticket limits and takes no more changes; start a follow-up ticket",
            )),
            (Part::Public, Presence::Absent) => self.create(ticket_id, &change, &hex)?,
            (Part::Staff, Presence::Absent) => Err(reject(
                RejectCode::MissingDependencies,
                hex.clone(),
                "the ticket is not on the server yet; send the change that creates it first",
            )),
            (Part::Public, Presence::Loaded) => self.edit(ticket_id, &change, &hex)?,
            (Part::Staff, Presence::Loaded) => self.staff_edit(ticket_id, &change, &hex)?,
        };
        let judged = match judged {
            Err(rejection) if rejection.code == RejectCode::MissingDependencies => {
                self.rewritten(&change, &hex)?.map_or(Err(rejection), Err)
            }
            other => other,
        };
        if matches!(&judged, Err(r) if r.code == RejectCode::Rewritten) {
            self.rewritten.insert(hash);
        }
        Ok(match judged {
            Ok(numbering) => {
                self.seen.insert(hash);
                let times = self.times(ticket_id, &change);
                self.changes.push(NewChange {
                    ticket_id: ticket_id.to_owned(),
                    part,
                    hash: hex.clone(),
                    actor_id: self.author.change_actor.clone(),
                    bytes: change.raw_bytes().to_vec(),
                    times,
                });
                self.changes.extend(numbering);
                Ok(hex)
            }
            Err(rejection) => Err(rejection),
        })
    }

    /// When an accepted change by a person happened (`docs/brain.md`, "Time of offline edits"):
    /// its device time corrected by the device's offset, clamped between the ticket's previous
    /// timed change and now; the ticket's newest effective time moves with it.
    fn times(&mut self, ticket_id: &str, change: &Change) -> Option<ChangeTimes> {
        let author_id = self.author.person.clone()?;
        let working = self.tickets.get_mut(ticket_id)?;
        let device_time = change.timestamp();
        let effective_at = fieldwork_brain::effective_time(
            device_time,
            self.author.clock_offset_ms,
            working.last_effective,
            self.now,
        );
        working.last_effective = Some(effective_at);
        Some(ChangeTimes {
            author_id,
            device_time,
            effective_at,
        })
    }

    /// The rejection of a change that builds on a history an erase rewrote, if it does: one of
    /// its dependencies is a forgotten change, or a change of this commit refused for that.
    fn rewritten(&self, change: &Change, hash: &str) -> Result<Option<Rejection>, Error> {
        for dep in change.deps() {
            if self.rewritten.contains(dep)
                || self
                    .reader
                    .forgotten_change(self.tenant, &dep.to_string())?
                    .is_some()
            {
                return Ok(Some(reject(
                    RejectCode::Rewritten,
                    hash.to_owned(),
                    "the ticket's history was rewritten to erase personal data; the device carries this change over to the new history",
                )));
            }
        }
        Ok(None)
    }

    /// A change that creates a ticket; on acceptance, returns the server's numbering change.
    fn create(
        &mut self,
        ticket_id: &str,
        change: &Change,
        hash: &str,
    ) -> Result<Result<Option<NewChange>, Rejection>, Error> {
        self.spent = self.spent.saturating_add(change.len().max(1));
        let server_actor = self.server_actor.clone();
        // The view of the creation goes stale with the number below; the commit reads it again.
        let created = match &self.author.rules {
            Some(actor) => judge::judge_creation(actor, ticket_id, change, server_actor.clone()),
            None => trusted::server_creation(ticket_id, change, server_actor.clone()),
        };
        let (mut doc, _) = match created {
            Ok(judged) => judged,
            Err(refusal) => return Ok(Err(refused(hash, refusal))),
        };
        let n = match self.numbers {
            Some((_, next)) => next,
            None => self.reader.next_number(self.tenant)?,
        };
        self.numbers = Some((self.numbers.map_or(n, |(from, _)| from), n + 1));
        let numbering = doc
            .set_number(&ticket_number(n), server_actor.clone(), self.now)?
            .map(|numbered| NewChange {
                ticket_id: ticket_id.to_owned(),
                part: Part::Public,
                hash: numbered.hash().to_string(),
                actor_id: server_actor.to_hex_string(),
                bytes: numbered.raw_bytes().to_vec(),
                times: None,
            });
        self.tickets.insert(
            ticket_id.to_owned(),
            Working {
                doc: Some(doc),
                tip: None,
                staff: None,
                view: None,
                head: None,
                tail: 0,
                touched: true,
                staff_touched: false,
                last_effective: None,
                compaction: None,
            },
        );
        self.created.push(ticket_id.to_owned());
        Ok(Ok(numbering))
    }

    /// A change to a ticket the server has: judged as its author saw the ticket and by its effect
    /// on the ticket as it now stands (`rules::judge::judge_edit`), or applied as the server's own.
    fn edit(
        &mut self,
        ticket_id: &str,
        change: &Change,
        hash: &str,
    ) -> Result<Result<Option<NewChange>, Rejection>, Error> {
        if let Some(verdict) = self.on_tip(ticket_id, change) {
            // A note accepted on the tip has no follow-up change of the server's.
            return Ok(verdict
                .map(|()| None)
                .map_err(|refusal| refused(hash, refusal)));
        }
        self.load_document(ticket_id)?;
        let working = self
            .tickets
            .get_mut(ticket_id)
            .ok_or_else(|| Error::Task("a loaded ticket left the working set".into()))?;
        let doc = document(working)?;
        self.spent = self.spent.saturating_add(judge::judging_cost(doc, change));
        let Some(actor) = &self.author.rules else {
            return Ok(match trusted::server_edit(doc, change) {
                Ok(view) => {
                    working.touched = true;
                    working.view = view.map(Arc::new);
                    Ok(None)
                }
                Err(refusal) => Err(refused(hash, refusal)),
            });
        };
        let current = match current_view(working, hash) {
            Ok(view) => view,
            Err(rejection) => return Ok(Err(rejection)),
        };
        if working.touched {
            // This commit changed the ticket already: a refusal must leave those changes in
            // place, so the change is tried on a copy.
            return Ok(
                match judge::judge_edit(actor, document(working)?, &current, change) {
                    Ok(merged) => {
                        working.view = Some(Arc::new(merged));
                        Ok(None)
                    }
                    Err(refusal) => {
                        working.view = Some(current);
                        Err(refused(hash, refusal))
                    }
                },
            );
        }
        // The ticket is as stored: the change is tried on the document itself, and a refusal
        // drops it with the working ticket — a later change of this commit reads it again.
        let Some(mut working) = self.tickets.remove(ticket_id) else {
            return Err(Error::Task("a loaded ticket left the working set".into()));
        };
        let doc = working.doc.take().ok_or_else(no_document)?;
        Ok(
            match judge::judge_edit_owned(actor, doc, &current, change) {
                Ok((doc, merged)) => {
                    working.doc = Some(doc);
                    working.touched = true;
                    working.view = Some(Arc::new(merged));
                    self.tickets.insert(ticket_id.to_owned(), working);
                    Ok(None)
                }
                Err(refusal) => Err(refused(hash, refusal)),
            },
        )
    }

    /// A change to the staff document of a ticket the server has: judged like [`Self::edit`],
    /// merged into the ticket's public view as it now stands
    /// (`rules::judge::judge_staff_edit`), or applied as the server's own.
    fn staff_edit(
        &mut self,
        ticket_id: &str,
        change: &Change,
        hash: &str,
    ) -> Result<Result<Option<NewChange>, Rejection>, Error> {
        self.load_document(ticket_id)?;
        self.load_staff(ticket_id)?;
        let working = self
            .tickets
            .get_mut(ticket_id)
            .ok_or_else(|| Error::Task("a loaded ticket left the working set".into()))?;
        let public = match current_view(working, hash) {
            Ok(view) => view,
            Err(rejection) => return Ok(Err(rejection)),
        };
        working.view = Some(public.clone());
        let Some(mut staff) = working.staff.take() else {
            return Err(Error::Task(
                "a loaded staff document left the working set".into(),
            ));
        };
        self.spent = self
            .spent
            .saturating_add(judge::judging_cost(&mut staff, change));
        let verdict = match &self.author.rules {
            Some(actor) if working.staff_touched => {
                // Changed in this commit already: tried on a copy, as in `edit`.
                let verdict =
                    judge::judge_staff_edit(actor, &mut staff, document(working)?, &public, change);
                working.staff = Some(staff);
                verdict.map(|_| ())
            }
            // As stored: tried on the document itself; a refusal drops it, and a later change
            // of this commit reads it again.
            Some(actor) => {
                judge::judge_staff_edit_owned(actor, staff, document(working)?, &public, change)
                    .map(|(judged, _)| working.staff = Some(judged))
            }
            None => {
                let verdict = trusted::server_edit(&mut staff, change).map(|_| ());
                working.staff = Some(staff);
                verdict
            }
        };
        Ok(match verdict {
            Ok(()) => {
                working.touched = true;
                working.staff_touched = true;
                Ok(None)
            }
            Err(refusal) => Err(refused(hash, refusal)),
        })
    }
}

/// A working ticket's public document, once [`Judge::load_document`] loaded it.
fn document(working: &mut Working) -> Result<&mut TicketDocument, Error> {
    working.doc.as_mut().ok_or_else(no_document)
}

fn no_document() -> Error {
    Error::Task("a working ticket's document was not loaded".into())
}

/// The public view of a working ticket as it stands: the cached one, or read from its document
/// (a rejection when the stored ticket cannot be read).
fn current_view(working: &mut Working, hash: &str) -> Result<Arc<Ticket>, Rejection> {
    match &working.view {
        Some(view) => Ok(view.clone()),
        None => match working
            .doc
            .as_ref()
            .ok_or_else(no_document)
            .and_then(|doc| Ok(doc.view()?))
        {
            Ok(view) => Ok(Arc::new(view)),
            Err(e) => {
                tracing::warn!(error = %e, "a stored ticket cannot be read; its changes are refused");
                Err(reject(
                    RejectCode::Malformed,
                    hash.to_owned(),
                    "the ticket on the server cannot be read; ask the back office",
                ))
            }
        },
    }
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
