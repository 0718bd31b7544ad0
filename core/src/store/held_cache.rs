//! The documents of the few tickets this device worked on last, kept loaded with their views,
//! so an edit, a look at the ticket and the sync's changes to it do not load and read the whole
//! ticket from SQLite again each time (loading and reading were half of an edit's CPU:
//! `docs/benchmarks.md`, "The device's side of a round").
//!
//! An entry is only handed out while the heads the store holds for the ticket's documents (the
//! `docs.heads` column, written in the same transaction as the documents) are the entry's heads:
//! equal heads are the same history, so the entry is the stored document whichever connection
//! asks and whatever another connection wrote meanwhile. A write that fails after an entry was
//! put back leaves heads the store does not hold, and the entry is never handed out.

use std::sync::Mutex;

use rusqlite::{Connection, params};

use super::StoreError;
use super::persist::{self, Held};
use crate::ticket::Ticket;

/// Tickets kept: a technician works on a handful at a time.
const CAPACITY: usize = 8;

/// A document whose saved history is above this is not kept (memory on a phone; loading it is
/// rare next to working on it).
const MAX_KEPT_HISTORY: usize = 1024 * 1024;

struct Entry {
    id: String,
    heads: Heads,
    held: Held,
    view: Ticket,
}

/// The last tickets worked on, most recent last.
#[derive(Default)]
pub(super) struct HeldCache {
    entries: Mutex<Vec<Entry>>,
}

impl std::fmt::Debug for HeldCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldCache")
            .field("tickets", &self.lock().len())
            .finish()
    }
}

/// The heads the store holds for a ticket's documents (`None`: no such document).
#[derive(PartialEq)]
struct Heads {
    public: Option<Vec<u8>>,
    staff: Option<Vec<u8>>,
}

/// The heads the store holds for ticket `id`'s documents.
fn stored_heads(conn: &Connection, id: &str) -> Result<Heads, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT part, heads FROM docs WHERE ticket_id = ?1")?;
    let mut rows = stmt.query(params![id])?;
    let mut heads = Heads {
        public: None,
        staff: None,
    };
    while let Some(row) = rows.next()? {
        let stored: Vec<u8> = row.get(1)?;
        match row.get::<_, String>(0)?.as_str() {
            "staff" => heads.staff = Some(stored),
            _ => heads.public = Some(stored),
        }
    }
    Ok(heads)
}

impl HeldCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        // Every change leaves the list whole, so a poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes ticket `id` out if its entry still is what `conn` reads; a stale entry is dropped.
    fn take_valid(&self, conn: &Connection, id: &str) -> Result<Option<Entry>, StoreError> {
        let Some(entry) = ({
            let mut entries = self.lock();
            let at = entries.iter().position(|e| e.id == id);
            at.map(|i| entries.remove(i))
        }) else {
            return Ok(None);
        };
        let valid = stored_heads(conn, id)? == entry.heads;
        Ok(valid.then_some(entry))
    }

    /// Ticket `id`'s documents and view as `conn` reads them, taken out of the cache for a
    /// writer to [`Self::put`] back; loaded when not cached. `None` if the store does not have
    /// the ticket.
    pub fn take(&self, conn: &Connection, id: &str) -> Result<Option<(Held, Ticket)>, StoreError> {
        if let Some(entry) = self.take_valid(conn, id)? {
            return Ok(Some((entry.held, entry.view)));
        }
        let Some(held) = persist::load_held(conn, id)? else {
            return Ok(None);
        };
        let view = held.view()?;
        Ok(Some((held, view)))
    }

    /// Ticket `id`'s view as `conn` reads it, from the cache or loaded (and then kept); `None`
    /// if the store does not have the ticket.
    pub fn view(&self, conn: &Connection, id: &str) -> Result<Option<Ticket>, StoreError> {
        if let Some(entry) = self.take_valid(conn, id)? {
            let view = entry.view.clone();
            self.keep(entry);
            return Ok(Some(view));
        }
        let Some(held) = persist::load_held(conn, id)? else {
            return Ok(None);
        };
        let view = held.view()?;
        self.put(id, held, view.clone());
        Ok(Some(view))
    }

    /// Keeps ticket `id`'s documents, as just stored, with their view; the least recently used
    /// ticket leaves beyond [`CAPACITY`].
    pub fn put(&self, id: &str, mut held: Held, view: Ticket) {
        if held.public.history_bytes() > MAX_KEPT_HISTORY {
            return;
        }
        let public_heads = persist::encode_heads(&held.public.heads());
        // A staff document with no change yet is not stored: it has no heads to compare.
        let staff = match &mut held.staff {
            Some(staff) => match staff.heads() {
                heads if heads.is_empty() => return,
                heads => Some(persist::encode_heads(&heads)),
            },
            None => None,
        };
        if public_heads.is_empty() {
            return;
        }
        self.keep(Entry {
            id: id.to_owned(),
            heads: Heads {
                public: Some(public_heads),
                staff,
            },
            held,
            view,
        });
    }

    /// Keeps `entry` as the most recently used; the least recently used ticket leaves beyond
    /// [`CAPACITY`].
    fn keep(&self, entry: Entry) {
        let mut entries = self.lock();
        entries.retain(|e| e.id != entry.id);
        entries.push(entry);
        if entries.len() > CAPACITY {
            entries.remove(0);
        }
    }

    /// Drops ticket `id` (it left the device).
    pub fn forget(&self, id: &str) {
        self.lock().retain(|e| e.id != id);
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Role, TicketKind};
    use crate::store::TicketStore;
    use crate::store::testkit::{Device, device};
    use crate::ticket::{Edit, NewTicket};

    fn note(text: &str) -> Edit {
        Edit::AddNote {
            text: text.to_owned(),
            internal: false,
        }
    }

    /// A technician's store with one ticket that has one note, `first`.
    fn technician_with_a_note(first: &str) -> (Device, String) {
        let d = device("tech1", Role::Agent);
        let t = d
            .store
            .create(NewTicket::titled(TicketKind::Repair, "Fridge warm"))
            .expect("creates");
        d.store.edit(&t.id, &[note(first)]).expect("edits");
        (d, t.id)
    }

    fn notes(store: &TicketStore, id: &str) -> Vec<String> {
        let view = store.ticket(id).expect("reads");
        view.notes.into_iter().map(|n| n.text).collect()
    }

    #[test]
    fn a_kept_ticket_is_never_handed_out_after_another_connection_wrote_it() {
        let (d, id) = technician_with_a_note("first");
        // Another store on the same file (its own connections and cache) writes the ticket.
        let other = TicketStore::open(&d.dir.path().join("store.db")).expect("opens");
        other.edit(&id, &[note("second")]).expect("edits");
        // The first store's kept copy is behind the file: it reads and builds on the file's.
        assert_eq!(notes(&d.store, &id), ["first", "second"]);
        d.store.edit(&id, &[note("third")]).expect("edits");
        assert_eq!(notes(&other, &id), ["first", "second", "third"]);
        assert_eq!(
            d.store.outbox_len().expect("outbox"),
            4,
            "create and three notes"
        );
    }

    #[test]
    fn an_edit_that_fails_leaves_nothing_of_itself_in_the_kept_copy() {
        let (d, id) = technician_with_a_note("kept");
        // The first edit applies to the document, the second is refused: all or nothing.
        let refused = d.store.edit(&id, &[note("lost"), note("  ")]);
        assert!(refused.is_err());
        assert_eq!(notes(&d.store, &id), ["kept"]);
        let after = d.store.edit(&id, &[note("next")]).expect("edits");
        let texts: Vec<_> = after.notes.iter().map(|n| n.text.as_str()).collect();
        assert_eq!(texts, ["kept", "next"]);
    }
}
