//! Summaries of documents stored before the server kept them (server migration 30), filled in
//! once from the documents: a new device then lists those tickets from the summary too, instead
//! of loading each one (`docs/adr/0018-list-first-check-later.md`). Every commit since writes
//! its document's summary itself.

use std::collections::HashSet;

use fieldwork_core::ticket::TicketDocument;

use crate::error::Error;
use crate::storage::{ReadWith, ServerStore, SummaryFill};

/// Tickets read per batch.
const FILL_BATCH: usize = 500;

/// Fills in the summaries of documents stored without one, a batch at a time; returns how many.
/// A document that does not read is logged and left without (a device loads it, and refuses it
/// if it must); a ticket that moved meanwhile got its summary from its commit.
pub(crate) fn fill_missing(store: &dyn ServerStore) -> Result<usize, Error> {
    let mut filled = 0;
    let mut skipped = HashSet::new();
    loop {
        let todo: Vec<_> = store
            .unsummarised_tickets(FILL_BATCH + skipped.len())?
            .into_iter()
            .filter(|(tenant, id, _)| !skipped.contains(&(tenant.clone(), id.clone())))
            .collect();
        if todo.is_empty() {
            return Ok(filled);
        }
        let mut fills = Vec::new();
        for (tenant_id, ticket_id, last_seq) in todo {
            let snapshot = store.read_with(|r| r.ticket_snapshot(&tenant_id, &ticket_id))?;
            let summary = snapshot
                .map(|bytes| Ok::<_, Error>(TicketDocument::load(&bytes)?.view()?.summary()))
                .transpose();
            match summary {
                Ok(Some(summary)) => fills.push(SummaryFill {
                    tenant_id,
                    ticket_id,
                    last_seq,
                    summary,
                }),
                Ok(None) => {
                    skipped.insert((tenant_id, ticket_id));
                }
                Err(error) => {
                    tracing::warn!(%error, "a stored ticket could not be summarised; devices load it");
                    skipped.insert((tenant_id, ticket_id));
                }
            }
        }
        let written = store.fill_summaries(&fills)?;
        filled += written;
        if written < fills.len() {
            // Some moved meanwhile (their commits wrote summaries) or were written without one
            // again; whichever still has none is not asked for again.
            let left: HashSet<_> = store
                .unsummarised_tickets(FILL_BATCH + skipped.len() + fills.len())?
                .into_iter()
                .map(|(tenant, id, _)| (tenant, id))
                .collect();
            for fill in fills {
                let key = (fill.tenant_id, fill.ticket_id);
                if left.contains(&key) {
                    skipped.insert(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use fieldwork_core::model::{Role, TicketKind};
    use fieldwork_core::ticket::{ActorId, NewTicket};

    use super::*;
    use crate::storage::SqliteStore;
    use crate::storage::conformance::{change, commit, tenant, ticket};

    #[test]
    fn documents_stored_without_a_summary_get_the_one_their_view_gives() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("s.db")).expect("opens");
        let s: &dyn ServerStore = &store;
        let acme = tenant(s, "acme");
        let reporter = fieldwork_core::Actor {
            tenant: acme.id.clone(),
            user_id: "u1".into(),
            role: Role::Dispatcher,
            name: None,
            team: None,
        };
        let mut docs = Vec::new();
        for (id, title) in [("t1", "Freezer alarm"), ("t2", "Chiller noise")] {
            let new = NewTicket::titled(TicketKind::Repair, title);
            let mut doc =
                TicketDocument::create(id, &reporter, &new, ActorId::random(), 1).expect("doc");
            let mut write = ticket(id, "u1", None);
            write.snapshot = Some(doc.save());
            s.commit(&commit(
                &acme,
                vec![write],
                vec![change(id, &format!("h-{id}"))],
            ))
            .expect("stored, as before summaries");
            docs.push(doc);
        }
        // A third whose document does not read: logged and left, the rest still filled.
        let mut broken = ticket("t3", "u1", None);
        broken.snapshot = Some(b"not a document".to_vec());
        s.commit(&commit(&acme, vec![broken], vec![change("t3", "h-t3")]))
            .expect("stored");
        assert_eq!(s.unsummarised_tickets(10).expect("reads").len(), 3);
        assert_eq!(fill_missing(s).expect("fills"), 2);
        for (id, doc) in ["t1", "t2"].into_iter().zip(&docs) {
            let stored = s
                .read_with(|r| r.ticket_summary(&acme.id, id))
                .expect("reads");
            assert_eq!(stored, Some(doc.view().expect("view").summary()));
        }
        let left: Vec<String> = s
            .unsummarised_tickets(10)
            .expect("reads")
            .into_iter()
            .map(|(_, id, _)| id)
            .collect();
        assert_eq!(left, ["t3"]);
        assert_eq!(fill_missing(s).expect("nothing more"), 0);
    }
}
