//! Exporting tickets' changes into a [`Bundle`] and importing one, merging: how two devices
//! exchange work with no server, and how tests merge replicas.

use serde::{Deserialize, Serialize};

use super::{Result, StoreError, TicketStore, persist, replay, unverified};
use crate::bundle::{Bundle, BundleError, BundleTicket, ByteBuf, FORMAT};
use crate::rules::Refusal;
use crate::rules::imports::{ImportJudge, ImportRefusal};
use crate::ticket::{Change, Part, Ticket, TicketDocument, decode_change};

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
    /// Staff changes in the bundle that this device did not keep: its user does not read
    /// staff data (`docs/staff-data.md`).
    pub staff_dropped: usize,
    /// Changes of a history the server rewrote to erase personal data, and changes built on
    /// them: left out, so an old bundle does not bring erased content back
    /// (`docs/staff-data.md`, "Erase").
    #[serde(default)]
    pub changes_superseded: usize,
}

impl TicketStore {
    /// Every change of the public documents of ticket `id`, or of every ticket changed after
    /// `since_seq` (all tickets when `None`). The bundle's `until_seq` is the point to pass as
    /// `since_seq` next time. No staff data: a bundle is a file anyone may pick up
    /// (`docs/staff-data.md`); [`Self::export_with_staff`] is for another staff device.
    pub fn export(&self, id: Option<&str>, since_seq: Option<i64>) -> Result<Bundle> {
        self.export_parts(id, since_seq, false)
    }

    /// [`Self::export`] with the tickets' staff documents too, for a staff user handing work to
    /// another staff device with no server in reach. Refused to a user who does not read staff
    /// data (they hold none); a device whose user does not read them drops them on import.
    pub fn export_with_staff(&self, id: Option<&str>, since_seq: Option<i64>) -> Result<Bundle> {
        let identity = self.identity()?;
        if !identity.actor.role.reads_staff_data() {
            return Err(Refusal::Forbidden {
                role: identity.actor.role,
                action: "export",
                reason: "staff data (it is for staff)",
            }
            .into());
        }
        self.export_parts(id, since_seq, true)
    }

    fn export_parts(
        &self,
        id: Option<&str>,
        since_seq: Option<i64>,
        with_staff: bool,
    ) -> Result<Bundle> {
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
            let all_changes = |doc: &mut TicketDocument| -> Vec<ByteBuf> {
                doc.changes_since(&[])
                    .iter()
                    .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
                    .collect()
            };
            for id in ids {
                let mut doc =
                    persist::load_doc(conn, &id, Part::Public)?.ok_or(StoreError::UnknownTicket)?;
                let changes = all_changes(&mut doc);
                let staff = match with_staff {
                    true => persist::load_doc(conn, &id, Part::Staff)?
                        .as_mut()
                        .map(all_changes)
                        .unwrap_or_default(),
                    false => Vec::new(),
                };
                tickets.push(BundleTicket { id, changes, staff });
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
        // Staff data are kept only by a device whose user reads them; anyone else's store never
        // sees them (not even decoded).
        let reads_staff = identity.actor.role.reads_staff_data();
        let decode = |changes: &[ByteBuf]| {
            changes
                .iter()
                .map(|bytes| decode_change(&bytes[..]))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| BundleError::Malformed(format!("a change cannot be read: {e}")))
        };
        let mut decoded = Vec::with_capacity(bundle.tickets.len());
        let mut staff_dropped = 0;
        for ticket in &bundle.tickets {
            let staff = if reads_staff {
                decode(&ticket.staff)?
            } else {
                staff_dropped += ticket.staff.len();
                Vec::new()
            };
            decoded.push((ticket.id.as_str(), decode(&ticket.changes)?, staff));
        }
        let actor_id = Self::actor_id(&identity)?;
        let mut judge = ImportJudge::new(&identity.actor, &identity.actor_id);
        let at = self.clock.now_ms();
        let mut changed = Vec::new();
        let report = self.write(|tx| {
            let mut report = ImportReport {
                staff_dropped,
                ..ImportReport::default()
            };
            let mut refused = Refused::default();
            for (id, changes, staff) in decoded {
                let (changes, staff) = match forgotten(tx, id)? {
                    None => (changes, staff),
                    Some(old) => {
                        let (changes, left_out) = without_old_history(changes, &old);
                        let (staff, staff_left_out) = without_old_history(staff, &old);
                        report.changes_superseded += left_out + staff_left_out;
                        (changes, staff)
                    }
                };
                let existing = persist::load_doc(tx, id, Part::Public)?;
                let is_new = existing.is_none();
                let mut doc = existing
                    .unwrap_or_else(|| TicketDocument::empty(Part::Public, actor_id.clone()));
                let (fresh, known) = replay::causal_order(&mut doc, changes)?;
                report.changes_known += known;
                if fresh.is_empty() {
                    // Nothing new in public; the staff document may still have news.
                    if !staff.is_empty() && !is_new {
                        let public = doc.view()?;
                        let mut staff_import = StaffImport {
                            judge: &mut judge,
                            refused: &mut refused,
                            report: &mut report,
                        };
                        if staff_import.run(tx, id, staff, &mut doc, &public, &actor_id, at)? {
                            let view =
                                persist::load_view(tx, id)?.ok_or(StoreError::UnknownTicket)?;
                            persist::upsert_index(tx, &view, at)?;
                            report.tickets_updated += 1;
                            changed.push(id.to_owned());
                        }
                    }
                    continue;
                }
                report.changes_applied += fresh.len();
                let before = doc.heads();
                let hashes: Vec<_> = fresh.iter().map(Change::hash).collect();
                let mut replay = replay::Replay::new(&mut doc);
                for change in fresh {
                    if let Some(refusal) = replay.step(change, &mut judge, None)? {
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
                if !staff.is_empty() {
                    let mut staff_import = StaffImport {
                        judge: &mut judge,
                        refused: &mut refused,
                        report: &mut report,
                    };
                    staff_import.run(tx, id, staff, &mut doc, &view, &actor_id, at)?;
                }
                // The row shows the ticket as this user reads it, with the staff data it holds.
                let view = match persist::load_doc(tx, id, Part::Staff)? {
                    Some(staff) => view.with_staff(staff.staff_view()?),
                    None => view,
                };
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

/// What importing a bundle's staff changes updates besides the store: the import's judge and
/// its tallies.
struct StaffImport<'a> {
    judge: &'a mut ImportJudge,
    refused: &'a mut Refused,
    report: &'a mut ImportReport,
}

impl StaffImport<'_> {
    /// Imports the staff changes of ticket `id`, whose public document (imported already) is
    /// `public` and reads `public_now`: judged as the server judges them — merged into the
    /// public view at the heads each change names (`ticket::seen_public_heads`; now, when this
    /// device lacks them) — and marked unverified. Returns whether the staff document took
    /// anything new.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        tx: &rusqlite::Transaction,
        id: &str,
        changes: Vec<Change>,
        public: &mut TicketDocument,
        public_now: &Ticket,
        actor_id: &crate::ticket::ActorId,
        at: i64,
    ) -> Result<bool> {
        let mut before = None;
        let mut doc = match persist::load_doc(tx, id, Part::Staff)? {
            Some(mut doc) => {
                before = Some(doc.heads());
                doc
            }
            None => TicketDocument::staff(actor_id.clone()),
        };
        let (fresh, known) = replay::causal_order(&mut doc, changes)?;
        self.report.changes_known += known;
        if fresh.is_empty() {
            return Ok(false);
        }
        self.report.changes_applied += fresh.len();
        let hashes: Vec<_> = fresh.iter().map(Change::hash).collect();
        let refused_before = self.refused.count;
        // The public views the changes were made against, read once per version.
        let mut seen: std::collections::HashMap<Vec<crate::ticket::ChangeHash>, Ticket> =
            std::collections::HashMap::new();
        let mut replay = replay::Replay::new(&mut doc);
        for change in fresh {
            let heads = crate::ticket::seen_public_heads(&change);
            let known = !heads.is_empty() && heads.iter().all(|h| public.has_change(h));
            let view = if known {
                if !seen.contains_key(&heads) {
                    let view = public.fork_at(&heads)?.view()?;
                    seen.insert(heads.clone(), view);
                }
                seen.get(&heads)
            } else {
                None
            };
            if let Some(refusal) =
                replay.step(change, self.judge, Some(view.unwrap_or(public_now)))?
            {
                self.refused.add(&refusal);
            }
        }
        let missing = doc.missing_deps();
        if !missing.is_empty() {
            return Err(StoreError::IncompleteBundle(missing.len()));
        }
        if self.refused.count > refused_before {
            return Ok(false);
        }
        if doc.staff_view().is_err() {
            self.refused.add(&ImportRefusal::Unreadable);
            return Ok(false);
        }
        persist::store_doc(tx, id, &mut doc, before.as_deref())?;
        unverified::mark(tx, id, &hashes, at)?;
        Ok(true)
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

/// The hashes of ticket `id`'s changes this device forgot when the server rewrote the ticket
/// after an erase; `None` when there are none (the common case: nothing to filter).
fn forgotten(
    tx: &rusqlite::Transaction,
    id: &str,
) -> Result<Option<std::collections::HashSet<String>>> {
    let hashes: std::collections::HashSet<String> = tx
        .prepare_cached("SELECT hash FROM forgotten_changes WHERE ticket_id = ?1")?
        .query_map([id], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    Ok((!hashes.is_empty()).then_some(hashes))
}

/// `changes` without those in `old` and those building on them (within the bundle), and how many
/// were left out.
fn without_old_history(
    changes: Vec<Change>,
    old: &std::collections::HashSet<String>,
) -> (Vec<Change>, usize) {
    let mut dropped: std::collections::HashSet<String> = old.clone();
    let mut kept = changes;
    let mut left_out = 0;
    // Until nothing more goes: a change goes when it is old or builds on one that went.
    loop {
        let before = kept.len();
        kept.retain(|change| {
            let goes = dropped.contains(&change.hash().to_string())
                || change
                    .deps()
                    .iter()
                    .any(|d| dropped.contains(&d.to_string()));
            if goes {
                dropped.insert(change.hash().to_string());
            }
            !goes
        });
        left_out += before - kept.len();
        if kept.len() == before {
            return (kept, left_out);
        }
    }
}
