//! Exporting tickets' changes into a [`Bundle`] and importing one, merging: how two devices
//! exchange work with no server, and how tests merge replicas.

use serde::{Deserialize, Serialize};

use super::{Result, StoreError, TicketStore, persist, replay, unverified};
use crate::bundle::{Bundle, BundleError, BundleTicket, ByteBuf, FORMAT};
use crate::rules::Refusal;
use crate::rules::imports::{ImportJudge, ImportRefusal};
use crate::ticket::{Change, TicketDocument, decode_change};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Tickets this store had never seen.
    pub tickets_new: usize,
    /// Known tickets that received changes.
    pub tickets_updated: usize,
    /// Changes this store did not have before; they show as unverified until the server sends
    /// them back.
    pub changes_applied: usize,
    /// Changes it already had (importing twice is harmless).
    pub changes_known: usize,
}

impl TicketStore {
    /// Every change of ticket `id`, or of every ticket changed after `since_seq` (all tickets
    /// when `None`). The bundle's `until_seq` is the point to pass as `since_seq` next time.
    pub fn export(&self, id: Option<&str>, since_seq: Option<i64>) -> Result<Bundle> {
        let identity = self.identity()?;
        let exported_at = self.clock.now_ms();
        self.read(|conn| {
            let until_seq: i64 = conn.query_row(
                "SELECT COALESCE(MAX(updated_seq), 0) FROM tickets",
                [],
                |r| r.get(0),
            )?;
            let ids: Vec<String> = match id {
                Some(id) => vec![id.to_owned()],
                None => {
                    let mut stmt = conn.prepare(
                        "SELECT id FROM tickets WHERE updated_seq > ?1 ORDER BY updated_seq",
                    )?;
                    stmt.query_map([since_seq.unwrap_or(0)], |r| r.get(0))?
                        .collect::<std::result::Result<_, _>>()?
                }
            };
            let mut tickets = Vec::with_capacity(ids.len());
            for id in ids {
                let mut doc = persist::load_doc(conn, &id)?.ok_or(StoreError::UnknownTicket)?;
                let changes = doc
                    .changes_since(&[])
                    .iter()
                    .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
                    .collect();
                tickets.push(BundleTicket { id, changes });
            }
            Ok(Bundle {
                format: FORMAT,
                tenant: identity.actor.tenant.clone(),
                exported_at,
                until_seq,
                tickets,
            })
        })
    }

    /// Merges a bundle into this store, all or nothing. Imported changes were authored
    /// elsewhere, so they do not enter this device's outbox; each is judged first with the
    /// rules the server applies (`rules::imports`), and the new ones are marked unverified until
    /// the server sends them back. One refused change refuses the whole bundle.
    pub fn import(&self, bundle: &Bundle) -> Result<ImportReport> {
        let identity = self.identity()?;
        if bundle.tenant != identity.actor.tenant {
            return Err(StoreError::WrongTenant);
        }
        replay::check_cost(bundle)?;
        // Decode every change before touching the database, with the same checks the server
        // makes before Automerge parses a pushed change (a bundle is bytes from anyone: a
        // compressed chunk would inflate without bound, run lengths claim any number of
        // operations).
        let mut decoded = Vec::with_capacity(bundle.tickets.len());
        for ticket in &bundle.tickets {
            let changes = ticket
                .changes
                .iter()
                .map(|bytes| decode_change(&bytes[..]))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| BundleError::Malformed(format!("a change cannot be read: {e}")))?;
            decoded.push((ticket.id.as_str(), changes));
        }
        let actor_id = Self::actor_id(&identity)?;
        let mut judge = ImportJudge::new(&identity.actor, &identity.actor_id);
        let at = self.clock.now_ms();
        let mut changed = Vec::new();
        let report = self.write(|tx| {
            let mut report = ImportReport::default();
            let mut refused = Refused::default();
            for (id, changes) in decoded {
                let existing = persist::load_doc(tx, id)?;
                let is_new = existing.is_none();
                let mut doc = existing.unwrap_or_else(|| TicketDocument::empty(actor_id.clone()));
                let (fresh, known) = replay::causal_order(&mut doc, changes)?;
                report.changes_known += known;
                if fresh.is_empty() {
                    continue;
                }
                report.changes_applied += fresh.len();
                let before = doc.heads();
                let hashes: Vec<_> = fresh.iter().map(Change::hash).collect();
                let mut replay = replay::Replay::new(&mut doc);
                for change in fresh {
                    if let Some(refusal) = replay.step(change, &mut judge)? {
                        if refusal == ImportRefusal::Rules(Refusal::OtherTenant) {
                            return Err(StoreError::WrongTenant);
                        }
                        refused.add(&refusal);
                    }
                }
                let missing = doc.missing_deps();
                if !missing.is_empty() {
                    return Err(StoreError::IncompleteBundle(missing.len()));
                }
                if refused.count > 0 {
                    // The import fails below; judging goes on only to count what is refused.
                    continue;
                }
                let Ok(view) = doc.view() else {
                    // Each change read well on its own branch; merged, the ticket does not.
                    refused.add(&ImportRefusal::Unreadable);
                    continue;
                };
                // Another ticket's history merged in shows up as two values for `id` or `tenant`.
                let foreign = view
                    .conflicts
                    .iter()
                    .any(|c| c.field == "id" || c.field == "tenant");
                if view.id != id || foreign {
                    return Err(BundleError::Malformed(
                        "a ticket's changes are filed under another id".into(),
                    )
                    .into());
                }
                if view.tenant != identity.actor.tenant {
                    return Err(StoreError::WrongTenant);
                }
                if is_new {
                    persist::insert_doc(tx, id, &mut doc)?;
                    report.tickets_new += 1;
                } else {
                    persist::append_doc(tx, id, &mut doc, &before)?;
                    report.tickets_updated += 1;
                }
                persist::upsert_index(tx, &view, at)?;
                unverified::mark(tx, id, &hashes, at)?;
                changed.push(id.to_owned());
            }
            if refused.count > 0 {
                return Err(StoreError::ImportRefused {
                    refused: refused.count,
                    of: report.changes_applied,
                    reasons: refused.reasons.join("; "),
                });
            }
            Ok(report)
        })?;
        self.notify(changed, super::ChangeOrigin::Remote);
        Ok(report)
    }

    /// How many changes of ticket `id` came from a bundle and have not been confirmed by the
    /// server yet (0: everything on the ticket is the server's or this device's own).
    pub fn unverified_changes(&self, id: &str) -> Result<u32> {
        self.read(|conn| unverified::count(conn, id))
    }
}

/// The changes an import refused, and the first few distinct reasons.
#[derive(Default)]
struct Refused {
    count: usize,
    reasons: Vec<String>,
}

impl Refused {
    /// Reasons named in the error; the count covers the rest.
    const REASONS_SHOWN: usize = 3;

    fn add(&mut self, refusal: &ImportRefusal) {
        self.count += 1;
        let reason = refusal.to_string();
        if self.reasons.len() < Self::REASONS_SHOWN && !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }
}
