//! Pull: the tenant's changes after the device's cursor, in seq order, each decided by the user's
//! visibility now and by whether the device holds the ticket (`docs/sync-protocol.md`, "Pull").
//!
//! What a device holds is recorded per response, tagged with the cursor the response carried.
//! The device moves its cursor only after it durably applied a response, so until it comes back
//! with a cursor at least that high, the response may have been lost and the state before it
//! still counts: a lost snapshot is sent again, and so is a lost eviction.

use std::collections::{HashMap, HashSet};

use fieldwork_core::Actor;
use fieldwork_core::rules::sees;
use fieldwork_core::ticket::Part;
use fieldwork_protocol::sync::{ByteBuf, MAX_PEOPLE_PER_RESPONSE, PersonName, PullItem};

use crate::error::Error;
use crate::storage::{
    Accounts, DeviceRecord, Holding, HoldingUpdate, PullScope, StorageError, StoreRead,
    StoredChange, TicketLog, UserRecord,
};

/// Changes read from the store at a time.
const PAGE: usize = 512;
/// Most stored changes one pull walks, so a device far behind cannot make one request walk the
/// whole history; it gets `more` and comes back.
const MAX_WALK: usize = 20_000;
/// What one name adds to an answer beyond its id, for the byte budget (a name, a role, keys).
const PERSON_WIRE_BYTES: usize = 48;

/// What the device asked for.
#[derive(Debug, Clone)]
pub(crate) struct PullRequest {
    pub cursor: u64,
    pub budget: usize,
    /// Tickets to send whole first (those of rejected changes).
    pub refresh: Vec<String>,
    /// Tickets created by the push of this same request.
    pub created: Vec<String>,
}

/// What to send.
#[derive(Debug, Default)]
pub(crate) struct PullOutcome {
    pub items: Vec<PullItem>,
    pub cursor: u64,
    pub more: bool,
    /// The ids of the people on the tickets of these items that the device may not know yet
    /// (each once, at most `MAX_PEOPLE_PER_RESPONSE`), to be named by [`names`].
    pub people: Vec<String>,
}

/// One ticket as this response sees it.
#[derive(Debug, Clone, Copy)]
struct TicketState {
    visible: bool,
    /// `Some(covered_seq)` while the device holds the ticket.
    held: Option<u64>,
    last_seq: u64,
    /// The seq of the commit that last changed who the ticket names.
    people_seq: u64,
    /// The seq of the ticket's last rewrite after an erase (0: never rewritten).
    rewritten_seq: u64,
}

/// The device holds a ticket per its recorded state, or per the state before it if the device
/// has not yet confirmed (by its cursor) the response that made it.
fn held(row: Option<Holding>, cursor: u64) -> Option<u64> {
    let row = row?;
    let confirmed = row.since_cursor <= cursor;
    match (row.evicted, confirmed) {
        (false, true) => Some(row.covered_seq),
        (true, false) => Some(row.covered_seq),
        // An unconfirmed snapshot: send it again. A confirmed eviction: gone.
        _ => None,
    }
}

struct Walk<'a> {
    created: &'a [String],
    reader: &'a dyn StoreRead,
    actor: Actor,
    /// Whether the user reads staff data (`Role::reads_staff_data`): only then do the ticket's
    /// staff changes and staff document go out.
    reads_staff: bool,
    device: &'a DeviceRecord,
    cursor: u64,
    budget: usize,
    used: usize,
    items: Vec<PullItem>,
    tickets: HashMap<String, TicketState>,
    /// New holding states, by ticket, as (covered_seq, evicted).
    holdings: HashMap<String, (u64, bool)>,
    /// Who each ticket read names (from its index row).
    ticket_people: HashMap<String, Vec<String>>,
    /// Whom the answer names so far, in order, and the same as a set.
    people: Vec<String>,
    named: HashSet<String>,
}

impl Walk<'_> {
    /// The state of ticket `id`, read once per response; `None` if the store lacks it.
    fn state(&mut self, id: &str) -> Result<Option<TicketState>, Error> {
        if let Some(state) = self.tickets.get(id) {
            return Ok(Some(*state));
        }
        let Some(head) = self.reader.ticket_head(&self.actor.tenant, id)? else {
            return Ok(None);
        };
        // Judged on the index row, written with the document: no document is loaded to decide.
        let visible = sees(&self.actor, &head.audience());
        // A device at cursor 0 is new or starts over (reinstalled, store lost): whatever was
        // recorded for it before, it holds only what it created in this very request.
        let held = if self.cursor == 0 && !self.created.iter().any(|c| c == id) {
            None
        } else {
            held(self.reader.holding(&self.device.id, id)?, self.cursor)
        };
        let state = TicketState {
            visible,
            held,
            last_seq: head.last_seq,
            people_seq: head.people_seq,
            rewritten_seq: head.rewritten_seq,
        };
        // A ticket no commit has listed the people of yet (stored before the store kept them)
        // names at least its reporter and assignee.
        let mut people: Vec<String> = if head.people.is_empty() {
            std::iter::once(head.reporter_id)
                .chain(head.assignee)
                .collect()
        } else {
            head.people
        };
        // Whoever only the staff document names is named to staff only.
        if self.reads_staff {
            people.extend(head.staff_people);
        }
        self.ticket_people.insert(id.to_owned(), people);
        self.tickets.insert(id.to_owned(), state);
        Ok(Some(state))
    }

    /// Nothing is in the answer yet: the next thing goes in whatever its size.
    fn is_empty(&self) -> bool {
        self.items.is_empty() && self.people.is_empty()
    }

    /// The people of ticket `id` the answer does not name yet, and what they add to its size.
    fn new_people(&self, id: &str) -> (Vec<String>, usize) {
        let fresh: Vec<String> = self
            .ticket_people
            .get(id)
            .into_iter()
            .flatten()
            .filter(|p| !self.named.contains(*p))
            .cloned()
            .collect();
        let bytes = fresh.iter().map(|p| p.len() + PERSON_WIRE_BYTES).sum();
        (fresh, bytes)
    }

    /// Whether the device should get the names of ticket `id` with what this answer sends of
    /// it: always with a snapshot; with changes only when the people changed after its cursor
    /// (it got the earlier names with the snapshot or changes before).
    fn names_due(&self, id: &str, whole: bool) -> bool {
        whole
            || self
                .tickets
                .get(id)
                .is_some_and(|state| state.people_seq > self.cursor)
    }

    /// Adds `people` to the answer, up to the bound (only a forced item can meet it).
    fn name(&mut self, people: Vec<String>, bytes: usize) {
        for person in people {
            if self.people.len() == MAX_PEOPLE_PER_RESPONSE {
                break;
            }
            self.named.insert(person.clone());
            self.people.push(person);
        }
        self.used += bytes;
    }

    /// Whether `people` more names and `bytes` more bytes still fit the answer.
    fn fits(&self, people: usize, bytes: usize) -> bool {
        self.people.len() + people <= MAX_PEOPLE_PER_RESPONSE && self.used + bytes <= self.budget
    }

    fn set(&mut self, id: &str, held: Option<u64>) {
        if let Some(state) = self.tickets.get_mut(id) {
            let before = state.held;
            state.held = held;
            let row = match held {
                Some(covered) => (covered, false),
                None => (before.unwrap_or(0), true),
            };
            self.holdings.insert(id.to_owned(), row);
        }
    }

    /// Adds `item`, with the names it brings, if both fit the budget and the bound on names
    /// (or it is the first); false when the answer is full.
    fn add(&mut self, item: PullItem, forced: bool) -> bool {
        let id = item.ticket_id();
        let whole = matches!(item, PullItem::Snapshot { .. });
        let (people, people_bytes) = match item {
            PullItem::Evict { .. } => (Vec::new(), 0),
            _ if self.names_due(id, whole) => self.new_people(id),
            _ => (Vec::new(), 0),
        };
        let size = item.wire_bytes() + people_bytes;
        if !forced && !self.is_empty() && !self.fits(people.len(), size) {
            return false;
        }
        self.name(people, people_bytes);
        self.used += size - people_bytes;
        self.items.push(item);
        true
    }

    /// Adds the names of ticket `id` with no item: the device made the change itself, and
    /// still needs the names it brings (the technician it assigned). False when they do not
    /// fit this answer.
    fn add_names(&mut self, id: &str) -> bool {
        if !self.names_due(id, false) {
            return true;
        }
        let (people, bytes) = self.new_people(id);
        if people.is_empty() {
            return true;
        }
        if !self.is_empty() && !self.fits(people.len(), bytes) {
            return false;
        }
        self.name(people, bytes);
        true
    }

    fn snapshot(&mut self, id: &str, state: TicketState, forced: bool) -> Result<bool, Error> {
        let doc = self
            .reader
            .ticket_snapshot(&self.actor.tenant, id)?
            .ok_or_else(|| StorageError::Corrupt("a ticket without its document".into()))?;
        let staff = if self.reads_staff {
            self.reader
                .ticket_staff_snapshot(&self.actor.tenant, id)?
                .map(ByteBuf::from)
        } else {
            None
        };
        // A rewritten ticket says what was erased, so a device holding it from before the
        // rewrite replaces its copy and drops unsent work on erased content.
        let erased = if state.rewritten_seq > 0 {
            self.reader
                .erasures(&self.actor.tenant, id)?
                .into_iter()
                .map(|record| record.erasure)
                .collect()
        } else {
            Vec::new()
        };
        let item = PullItem::Snapshot {
            ticket_id: id.to_owned(),
            doc: ByteBuf::from(doc),
            staff,
            erased,
            summary: self
                .reader
                .ticket_summary(&self.actor.tenant, id)?
                .map(Box::new),
        };
        let added = self.add(item, forced);
        if added {
            self.set(id, Some(state.last_seq));
        }
        Ok(added)
    }

    fn evict(&mut self, id: &str, forced: bool) -> bool {
        let added = self.add(
            PullItem::Evict {
                ticket_id: id.to_owned(),
            },
            forced,
        );
        if added {
            self.set(id, None);
        }
        added
    }

    /// Sends a rejected change's ticket back whole, or evicts it if this user may not have it.
    fn refresh(&mut self, id: &str) -> Result<(), Error> {
        match self.state(id)? {
            Some(state) if state.visible => {
                self.snapshot(id, state, true)?;
            }
            _ => {
                self.evict(id, true);
            }
        }
        Ok(())
    }

    /// Handles one stored change; false when the budget is spent before it.
    fn step(&mut self, change: StoredChange) -> Result<bool, Error> {
        let id = change.ticket_id.as_str();
        let Some(state) = self.state(id)? else {
            return Ok(true);
        };
        match (state.visible, state.held) {
            // The device holds a history of the ticket that an erase rewrote: it gets the rewrite.
            (true, Some(covered)) if state.rewritten_seq > covered.max(self.cursor) => {
                self.snapshot(id, state, false)
            }
            (true, Some(covered)) => {
                if change.seq <= covered || (change.part == Part::Staff && !self.reads_staff) {
                    return Ok(true);
                }
                if change.actor_id == self.device.actor_id {
                    return Ok(self.add_names(id));
                }
                let bytes = ByteBuf::from(change.bytes);
                if let Some(PullItem::Changes {
                    ticket_id,
                    part,
                    changes,
                }) = self.items.last_mut()
                    && ticket_id == id
                    && *part == change.part
                {
                    let size = bytes.len() + 3;
                    if self.used + size > self.budget {
                        return Ok(false);
                    }
                    self.used += size;
                    changes.push(bytes);
                    return Ok(true);
                }
                let item = PullItem::Changes {
                    ticket_id: id.to_owned(),
                    part: change.part,
                    changes: vec![bytes],
                };
                Ok(self.add(item, false))
            }
            (true, None) => self.snapshot(id, state, false),
            (false, Some(_)) => Ok(self.evict(id, false)),
            (false, None) => Ok(true),
        }
    }

    /// Walks the changes after the cursor; returns the new cursor and whether more wait.
    fn walk(&mut self) -> Result<(u64, bool), Error> {
        let mut after = self.cursor;
        let mut walked = 0;
        // The back office sees every ticket; anyone else only walks changes of tickets that may
        // concern them (each still judged exactly in `step`).
        let (user_id, team, device) = (
            self.actor.user_id.clone(),
            self.actor.team.clone(),
            self.device,
        );
        let scope = (!self.actor.role.is_back_office()).then(|| PullScope {
            user_id: &user_id,
            team: team.as_deref(),
            device_id: &device.id,
        });
        let scope = scope.as_ref();
        loop {
            let page = self
                .reader
                .changes_after(&self.actor.tenant, after, PAGE, scope)?;
            if page.is_empty() {
                break;
            }
            for change in page {
                if walked == MAX_WALK {
                    return Ok((after, true));
                }
                let seq = change.seq;
                if !self.step(change)? {
                    return Ok((after, true));
                }
                walked += 1;
                after = seq;
            }
        }
        // Everything up to the newest stored change was walked or concerns someone else (this
        // read sees one consistent state).
        Ok((self.reader.max_seq(&self.actor.tenant)?, false))
    }
}

/// What the device gets after `request.cursor`, read in `reader`'s snapshot, and the holdings
/// to [`record`] once the read is over.
pub(crate) fn read(
    reader: &dyn StoreRead,
    user: &UserRecord,
    device: &DeviceRecord,
    request: &PullRequest,
) -> Result<(PullOutcome, Vec<HoldingUpdate>), Error> {
    // Cursors only ever come from this tenant's answers, which never pass its highest seq.
    // One beyond it is a device from before a restore or a renumbering: it starts over.
    let cursor = if request.cursor > reader.max_seq(&user.tenant_id)? {
        0
    } else {
        request.cursor
    };
    let mut walk = Walk {
        created: &request.created,
        reader,
        actor: user.actor(),
        reads_staff: user.role.reads_staff_data(),
        device,
        cursor,
        budget: request.budget,
        used: 0,
        items: Vec::new(),
        tickets: HashMap::new(),
        holdings: HashMap::new(),
        ticket_people: HashMap::new(),
        people: Vec::new(),
        named: HashSet::new(),
    };
    for id in &request.refresh {
        walk.refresh(id)?;
    }
    let (cursor, more) = walk.walk()?;
    let holdings: Vec<HoldingUpdate> = walk
        .holdings
        .into_iter()
        .map(|(ticket_id, (covered_seq, evicted))| HoldingUpdate {
            ticket_id,
            holding: Holding {
                covered_seq,
                evicted,
                since_cursor: cursor,
            },
        })
        .collect();
    let outcome = PullOutcome {
        items: walk.items,
        cursor,
        more,
        people: walk.people,
    };
    Ok((outcome, holdings))
}

/// Records what the device now holds ([`read`] said).
pub(crate) fn record(
    log: &dyn TicketLog,
    device: &DeviceRecord,
    holdings: &[HoldingUpdate],
) -> Result<(), Error> {
    if !holdings.is_empty() {
        log.record_holdings(&device.id, holdings)?;
    }
    Ok(())
}

/// The names and roles of `ids` among the users of `tenant_id`; ids of anyone else (another
/// tenant's user, a made-up id in a document) are left out. Names and roles only: an answer
/// carries no contact details.
pub(crate) fn names(
    accounts: &dyn Accounts,
    tenant_id: &str,
    ids: &[String],
) -> Result<Vec<PersonName>, Error> {
    Ok(accounts
        .users_by_ids(tenant_id, ids)?
        .into_iter()
        .map(|user| PersonName {
            user_id: user.id,
            name: user.name,
            role: user.role,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(covered_seq: u64, evicted: bool, since_cursor: u64) -> Option<Holding> {
        Some(Holding {
            covered_seq,
            evicted,
            since_cursor,
        })
    }

    #[test]
    fn a_state_counts_only_once_the_device_confirms_it_by_its_cursor() {
        assert_eq!(held(None, 5), None);
        assert_eq!(held(row(7, false, 5), 5), Some(7), "snapshot confirmed");
        assert_eq!(
            held(row(7, false, 9), 5),
            None,
            "snapshot maybe lost: resend"
        );
        assert_eq!(held(row(7, true, 5), 5), None, "eviction confirmed");
        assert_eq!(
            held(row(7, true, 9), 5),
            Some(7),
            "eviction maybe lost: still held"
        );
    }
}
