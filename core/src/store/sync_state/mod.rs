//! What the store keeps for sync: the server session, the cursor and clock offset, the outbox as
//! the server sees it, quarantined changes, and applying a server response in one transaction.

use std::collections::{BTreeSet, HashSet};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::{Result, StoreError, TicketStore, persist, unverified};
use crate::ticket::limits::MAX_TICKET_BYTES;
use crate::ticket::{
    Change, DocumentError, EncodedError, Part, StaffView, TicketDocument, decode_change,
};
use decode::{Decoded, load_all};
use fieldwork_protocol::sync::{
    ByteBuf, PullItem, PushChange, RejectCode, SnapshotSummary, SyncResponse,
};

pub use check::{CHECK_BATCH, CheckReport};

/// The server this device is logged in to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerLogin {
    pub server: String,
    pub device_id: String,
    /// The device token (a credential: the platform layer should keep the store file private).
    pub token: String,
}

/// Where sync stands, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncMeta {
    pub cursor: u64,
    /// Server time minus device time, in milliseconds, from the last response.
    pub clock_offset_ms: i64,
    pub last_success: Option<i64>,
    pub last_error: Option<String>,
    /// How far the device's knowledge base goes (`fieldwork_protocol::knowledge::KbDelta`); 0
    /// asks for all of it again, which replaces what the device holds.
    #[serde(default)]
    pub kb_cursor: u64,
}

/// A change the server refused, kept for the user to see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedChange {
    pub hash: String,
    pub ticket_id: String,
    pub code: String,
    pub message: String,
    pub rejected_at: i64,
}

/// What applying one response did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedRound {
    pub acknowledged: usize,
    pub quarantined: usize,
    pub tickets_changed: usize,
    pub tickets_evicted: usize,
    /// A ticket rewritten on the server after an erase replaced this device's copy.
    #[serde(default)]
    pub replaced: bool,
    /// Knowledge-base articles stored (new or a newer version), and ones held and dropped.
    #[serde(default)]
    pub articles_stored: usize,
    #[serde(default)]
    pub articles_removed: usize,
}

const SESSION: &str = "session";
const META: &str = "meta";

fn get_json<T: serde::de::DeserializeOwned>(conn: &Connection, key: &str) -> Result<Option<T>> {
    let raw: Option<String> = conn
        .prepare_cached("SELECT value FROM sync_meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    raw.map(|r| {
        serde_json::from_str(&r).map_err(|e| StoreError::Identity(format!("sync state: {e}")))
    })
    .transpose()
}

fn put_json<T: Serialize>(tx: &Transaction, key: &str, value: &T) -> Result<()> {
    let json = serde_json::to_string(value).map_err(|e| StoreError::Identity(e.to_string()))?;
    tx.prepare_cached("INSERT INTO sync_meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value")?
        .execute(params![key, json])?;
    Ok(())
}

impl TicketStore {
    /// The server session, if this device is logged in.
    pub fn session(&self) -> Result<Option<ServerLogin>> {
        self.read(|conn| get_json(conn, SESSION))
    }

    /// Remembers the server session (after a login). The knowledge base is asked for whole
    /// again: who reads what may have changed since the last login (a new team).
    pub fn set_session(&self, session: &ServerLogin) -> Result<()> {
        self.write(|tx| {
            let mut meta: SyncMeta = get_json(tx, META)?.unwrap_or_default();
            meta.kb_cursor = 0;
            put_json(tx, META, &meta)?;
            put_json(tx, SESSION, session)
        })
    }

    /// Forgets the session (logout); tickets and pending changes stay.
    pub fn clear_session(&self) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM sync_meta WHERE key = ?1", [SESSION])?;
            Ok(())
        })
    }

    /// Cursor, clock offset, last success and last error.
    pub fn sync_meta(&self) -> Result<SyncMeta> {
        Ok(self.read(|conn| get_json(conn, META))?.unwrap_or_default())
    }

    /// Records a failed sync attempt (the message must carry no personal data).
    pub fn record_sync_error(&self, message: &str) -> Result<()> {
        self.write(|tx| {
            let mut meta: SyncMeta = get_json(tx, META)?.unwrap_or_default();
            meta.last_error = Some(message.to_owned());
            put_json(tx, META, &meta)
        })
    }

    /// The oldest `limit` changes waiting for the server, oldest first.
    pub fn outbox_batch(&self, limit: usize) -> Result<Vec<PushChange>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT ticket_id, part, change FROM outbox ORDER BY seq LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], |r| {
                Ok(PushChange {
                    ticket_id: r.get(0)?,
                    part: part_of(&r.get::<_, String>(1)?),
                    change: ByteBuf::from(r.get::<_, Vec<u8>>(2)?),
                })
            })?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })
    }

    /// Changes the server refused, newest first.
    pub fn quarantine(&self) -> Result<Vec<QuarantinedChange>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT hash, ticket_id, code, message, rejected_at FROM quarantine ORDER BY rejected_at DESC, hash",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(QuarantinedChange {
                    hash: r.get(0)?,
                    ticket_id: r.get(1)?,
                    code: r.get(2)?,
                    message: r.get(3)?,
                    rejected_at: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })
    }

    /// Applies a server response durably, in one transaction: acknowledged changes leave the
    /// outbox, refused ones move to quarantine and their tickets are reset to the server's
    /// version, pulled items are merged, evictions done, and the cursor moves — or, if anything
    /// fails, none of it happens and the next round starts from the same point. Only the new
    /// tickets it brings with a summary go ahead, in transactions of their own
    /// ([`Self::list_new_tickets`]): when the rest fails, they stay listed, and the same answer
    /// coming again merges them.
    pub fn apply_sync_response(
        &self,
        response: &SyncResponse,
        received_at: i64,
    ) -> Result<AppliedRound> {
        let at = self.clock.now_ms();
        let mut changed = BTreeSet::new();
        // A new ticket whose snapshot comes with a summary is listed by it and checked later
        // (`check.rs`), a few hundred per transaction ahead of the one that moves the cursor, so
        // a help request made meanwhile waits for one of those, not for the whole answer.
        let listed = self.list_new_tickets(response, at)?;
        for &i in &listed {
            changed.insert(response.items[i].ticket_id().to_owned());
        }
        // Loading the other snapshots is most of their cost; it is done on every core, outside
        // the write lock, so the transaction only merges and writes.
        let mut decoded = load_all(
            response
                .items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item {
                    PullItem::Snapshot {
                        ticket_id,
                        doc,
                        staff,
                        ..
                    } if !listed.contains(&i) => Some((
                        ticket_id.as_str(),
                        doc.as_slice(),
                        staff.as_ref().map(|s| s.as_slice()),
                    )),
                    _ => None,
                })
                .collect(),
        );
        let tenant = self.identity()?.actor.tenant;
        let round = self.write_behind(|tx| {
            let mut round = AppliedRound::default();
            let mut replaced = false;
            // The outbox has no index on `hash` (one less page to write per edit); the changes
            // answered are the oldest ones sent, so one ordered read maps their hashes to rows.
            let answered = response.accepted.len() + response.rejected.len();
            let rows = outbox_rows_by_hash(tx, answered + fieldwork_protocol::sync::MAX_CHANGES_PER_REQUEST)?;
            for hash in &response.accepted {
                if let Some(seq) = rows.get(hash) {
                    round.acknowledged += tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?.execute([seq])?;
                }
            }
            // Changes imported from bundles are confirmed as the server sends them back.
            let watch = unverified::any(tx)?;
            let mut reset = BTreeSet::new();
            for rejection in &response.rejected {
                if rejection.code == RejectCode::Rewritten {
                    // Built on a history an erase rewrote: it stays queued, and the rewrite in
                    // this same answer carries it over (`replace`).
                    continue;
                }
                reset.insert(rejection.ticket_id.clone());
                let Some(seq) = rows.get(&rejection.hash) else { continue };
                let moved = tx
                    .prepare_cached(
                        "INSERT OR REPLACE INTO quarantine (hash, ticket_id, part, change, code, message, rejected_at)
                         SELECT hash, ticket_id, part, change, ?2, ?3, ?4 FROM outbox WHERE seq = ?1",
                    )?
                    .execute(params![
                        seq,
                        serde_json::to_value(rejection.code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                        rejection.message,
                        at
                    ])?;
                tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?.execute([seq])?;
                round.quarantined += moved;
            }
            for (i, item) in response.items.iter().enumerate() {
                if listed.contains(&i) {
                    continue;
                }
                let id = item.ticket_id();
                let applied = match item {
                    PullItem::Changes { changes, part, .. } => {
                        check::settle_now(tx, &tenant, id, at)?;
                        self.apply_remote_changes(tx, id, *part, changes, watch, at)
                    }
                    PullItem::Snapshot { doc, staff, erased, .. } => match check::settle_now(tx, &tenant, id, at)
                        .and_then(|()| decoded.remove(id).unwrap_or_else(|| Decoded::load(doc, staff.as_ref().map(|s| s.as_slice()))))
                    {
                        Ok(mut server) => {
                            if !erased.is_empty() && self.replace_after_erase(tx, id, &mut server, erased, at)? {
                                replaced = true;
                                Ok(true)
                            } else {
                                let confirmed = watch && confirm_snapshot(tx, id, &mut server, reset.contains(id))?;
                                self.apply_snapshot(tx, id, doc, server, reset.contains(id), at)
                                    .map(|touched| touched || confirmed)
                            }
                        }
                        Err(e) => Err(e),
                    }
                    PullItem::Evict { .. } => {
                        tx.prepare_cached("INSERT OR IGNORE INTO pending_evictions (ticket_id) VALUES (?1)")?
                            .execute([id])?;
                        Ok(false)
                    }
                };
                let touched = match applied {
                    Ok(touched) => touched,
                    // What the server sent is beyond the ticket limits (a ticket stored before the
                    // server had them): nothing of it is stored, the rest of the answer goes on.
                    Err(StoreError::Document(DocumentError::Limit(limit))) => {
                        tracing::warn!(ticket = id, %limit, "a pulled ticket is beyond the limits and was not stored");
                        false
                    }
                    Err(e) => return Err(e),
                };
                if touched {
                    changed.insert(id.to_owned());
                }
            }
            super::people::record(tx, &response.people)?;
            let evicted = evict_settled(tx, &mut changed)?;
            for id in &evicted {
                self.held.forget(id);
            }
            round.tickets_evicted = evicted.len();
            round.tickets_changed = changed.len();
            round.replaced = replaced;
            let mut meta: SyncMeta = get_json(tx, META)?.unwrap_or_default();
            if let Some(kb) = &response.kb {
                if meta.kb_cursor == 0 {
                    // Asked for whole: what was held before goes (it may no longer be this
                    // user's to read).
                    super::knowledge::clear(tx)?;
                }
                (round.articles_stored, round.articles_removed) =
                    super::knowledge::apply(tx, kb)?;
                meta.kb_cursor = kb.cursor;
            }
            meta.cursor = response.cursor;
            meta.clock_offset_ms = response.server_time - received_at;
            meta.last_success = Some(at);
            meta.last_error = None;
            put_json(tx, META, &meta)?;
            Ok(round)
        });
        let round = match round {
            Ok(round) => round,
            Err(e) => {
                // The tickets listed ahead are on the device whatever became of the rest.
                if !listed.is_empty() {
                    let ahead = listed
                        .iter()
                        .map(|&i| response.items[i].ticket_id().to_owned());
                    self.notify(ahead.collect(), super::ChangeOrigin::Remote);
                }
                return Err(e);
            }
        };
        if round.replaced {
            // Erased photos' files go with the old copy (nothing names them any more).
            self.collect_garbage()?;
        }
        if round.tickets_evicted > 0 || round.replaced {
            // Evicted tickets and replaced copies leave no bytes in the WAL either (the database
            // zeroes them itself).
            self.scrub()?;
        }
        self.notify(changed.into_iter().collect(), super::ChangeOrigin::Remote);
        Ok(round)
    }

    /// Lists the new tickets of `response` that come with a summary ([`listable`]), in
    /// transactions of [`LIST_BATCH`], and returns their positions among its items. If the
    /// transaction that moves the cursor never commits, the same answer comes again and merges
    /// them.
    fn list_new_tickets(&self, response: &SyncResponse, at: i64) -> Result<HashSet<usize>> {
        let listable = self.read(|conn| listable(conn, response))?;
        let mut listed = HashSet::new();
        for batch in listable.chunks(LIST_BATCH) {
            self.write_behind(|tx| {
                if unverified::any(tx)? {
                    // Imported changes came in meanwhile: the answer's transaction confirms them.
                    return Ok(());
                }
                for &i in batch {
                    let PullItem::Snapshot {
                        ticket_id,
                        doc,
                        staff,
                        summary: Some(summary),
                        ..
                    } = &response.items[i]
                    else {
                        continue;
                    };
                    if persist::holds(tx, ticket_id, Part::Public)? {
                        continue;
                    }
                    self.list_unloaded(
                        tx,
                        ticket_id,
                        doc,
                        staff.as_ref().map(|s| s.as_slice()),
                        summary,
                        at,
                    )?;
                    listed.insert(i);
                }
                Ok(())
            })?;
        }
        Ok(listed)
    }

    /// Stores a new ticket's documents as they came, unloaded, and lists it by the server's
    /// `summary` until it is checked against them (`check.rs`).
    fn list_unloaded(
        &self,
        tx: &Transaction,
        id: &str,
        doc: &[u8],
        staff: Option<&[u8]>,
        summary: &SnapshotSummary,
        at: i64,
    ) -> Result<()> {
        persist::insert_doc_bytes(tx, id, Part::Public, doc, &[])?;
        match staff {
            Some(_) if !self.identity()?.actor.role.reads_staff_data() => {
                // The server sends staff data only to roles that read it; none is kept here.
                tracing::warn!(
                    ticket = id,
                    "a staff document sent to a device that does not read them was dropped"
                );
            }
            Some(staff) => persist::insert_doc_bytes(tx, id, Part::Staff, staff, &[])?,
            None => {}
        }
        persist::write_row(tx, id, summary, at)?;
        persist::set_unchecked(tx, id, true)?;
        super::blobs::register_files(tx, id, &summary.files, at)
    }

    fn apply_remote_changes(
        &self,
        tx: &Transaction,
        id: &str,
        part: Part,
        changes: &[ByteBuf],
        watch: bool,
        at: i64,
    ) -> Result<bool> {
        if part == Part::Staff && !self.identity()?.actor.role.reads_staff_data() {
            // The server sends staff data only to roles that read it; none is ever kept here.
            tracing::warn!(
                ticket = id,
                "staff changes sent to a device that does not read them were dropped"
            );
            return Ok(false);
        }
        let Some((mut held, view)) = self.held.take(tx, id)? else {
            // The server believes we hold this ticket but we do not (e.g. removed by hand): the
            // changes alone cannot rebuild it; a later snapshot will.
            tracing::warn!(
                ticket = id,
                "changes for a ticket this device does not hold were skipped"
            );
            return Ok(false);
        };
        let before = match part {
            Part::Public => Some(held.public.heads()),
            Part::Staff => held.staff.as_mut().map(|doc| doc.heads()),
        };
        let changes = decode_changes(changes)?;
        let hashes: Vec<_> = changes.iter().map(Change::hash).collect();
        let confirmed = watch && unverified::confirm(tx, id, &hashes)?;
        let actor = TicketStore::actor_id(&self.identity()?)?;
        let doc = held.part_mut(part, &actor);
        doc.apply_changes(changes)?;
        if before.as_deref() == Some(&doc.heads()[..]) {
            // Nothing new (the device's own changes coming back): the ticket is as stored.
            self.held.put(id, held, view);
            return Ok(confirmed);
        }
        persist::store_doc(tx, id, doc, before.as_deref())?;
        let view = held.view()?;
        persist::upsert_index(tx, &view, at)?;
        self.held.put(id, held, view);
        Ok(true)
    }

    fn apply_snapshot(
        &self,
        tx: &Transaction,
        id: &str,
        bytes: &[u8],
        decoded: Decoded,
        reset: bool,
        at: i64,
    ) -> Result<bool> {
        let Decoded {
            doc: mut server,
            staff,
            view,
        } = decoded;
        let identity = self.identity()?;
        if view.id != id || view.tenant != identity.actor.tenant {
            return Err(StoreError::Bundle(crate::bundle::BundleError::Malformed(
                "the server sent a snapshot filed under another ticket or tenant".into(),
            )));
        }
        let staff_view = match staff {
            Some(_) if !identity.actor.role.reads_staff_data() => {
                // The server sends staff data only to roles that read it; none is kept here.
                tracing::warn!(
                    ticket = id,
                    "a staff document sent to a device that does not read them was dropped"
                );
                None
            }
            Some(staff) => Some(self.apply_staff_snapshot(tx, id, staff, reset)?),
            // The server holds no staff data for the ticket: after a refusal, the device's staff
            // document is its genesis plus what is still queued (the refused change must not
            // stay, or every later staff change would build on it and wait forever).
            None if reset && persist::load_doc(tx, id, Part::Staff)?.is_some() => {
                let genesis = TicketDocument::staff(TicketStore::actor_id(&identity)?);
                Some(self.apply_staff_snapshot(tx, id, genesis, true)?)
            }
            None => None,
        };
        let staff_changed = staff_view.is_some();
        let existing = persist::load_doc(tx, id, Part::Public)?;
        let public = match existing {
            // The server refused one of our changes: take its version, then re-apply what we
            // still have queued for this ticket (changes it did not refuse).
            Some(_) if reset => {
                let pending = pending_changes(tx, id, Part::Public)?;
                server.apply_changes(pending)?;
                persist::replace_doc(tx, id, &mut server)?;
                server.view()?
            }
            Some(mut local) => {
                let before = local.heads();
                local.merge(&mut server)?;
                if local.heads() == before && !staff_changed {
                    return Ok(false);
                }
                persist::append_doc(tx, id, &mut local, &before)?;
                local.view()?
            }
            // The snapshot's own bytes are already a compact save: store them as they came.
            None => {
                persist::insert_doc_bytes(tx, id, Part::Public, bytes, &server.heads())?;
                view
            }
        };
        let staff_view = match staff_view {
            Some(staff) => Some(staff),
            None => persist::load_doc(tx, id, Part::Staff)?
                .map(|doc| doc.staff_view())
                .transpose()?,
        };
        let view = match staff_view {
            Some(staff) => public.with_staff(staff),
            None => public,
        };
        persist::upsert_index(tx, &view, at)?;
        Ok(true)
    }

    /// Takes the server's staff document of ticket `id` as [`Self::apply_snapshot`] takes the
    /// public one: in place of the device's (plus its queued staff changes) after a refusal,
    /// merged into it otherwise. Returns what the device now holds of it.
    fn apply_staff_snapshot(
        &self,
        tx: &Transaction,
        id: &str,
        mut server: TicketDocument,
        reset: bool,
    ) -> Result<StaffView> {
        match persist::load_doc(tx, id, Part::Staff)? {
            Some(mut local) if !reset => {
                let before = local.heads();
                local.merge(&mut server)?;
                persist::append_doc(tx, id, &mut local, &before)?;
                Ok(local.staff_view()?)
            }
            _ => {
                server.apply_changes(pending_changes(tx, id, Part::Staff)?)?;
                persist::replace_doc(tx, id, &mut server)?;
                Ok(server.staff_view()?)
            }
        }
    }
}

/// The part an outbox or quarantine row names (the schema allows only the two).
fn part_of(text: &str) -> Part {
    text.parse().unwrap_or_default()
}

/// What a pulled snapshot of a ticket says about its imported changes: those it holds are
/// confirmed; when it resets the ticket (the server refused one of this device's changes), it
/// replaces them all, dropping the ones the server never took. Returns whether the mark changed.
fn confirm_snapshot(tx: &Transaction, id: &str, server: &mut Decoded, reset: bool) -> Result<bool> {
    if reset {
        return unverified::clear(tx, id);
    }
    let public = unverified::confirm_held(tx, id, &mut server.doc)?;
    let staff = match &mut server.staff {
        Some(staff) => unverified::confirm_held(tx, id, staff)?,
        None => false,
    };
    Ok(public || staff)
}

/// New tickets listed per transaction ([`TicketStore::list_new_tickets`]): about 3 ms of work
/// each on this machine, which is what a help request made meanwhile may wait.
const LIST_BATCH: usize = 250;

/// The positions of the snapshots of `response` that bring a ticket new to this device with a
/// summary to list it by: the first of each ticket, not one of this device's refused changes'
/// tickets, not a rewrite after an erase, within the size a document may have, and only while no
/// imported change waits for the server to confirm it (confirming loads the document anyway).
fn listable(conn: &Connection, response: &SyncResponse) -> Result<Vec<usize>> {
    if unverified::any(conn)? {
        return Ok(Vec::new());
    }
    let refused: HashSet<&str> = response
        .rejected
        .iter()
        .map(|r| r.ticket_id.as_str())
        .collect();
    let mut seen = HashSet::new();
    let mut listable = Vec::new();
    for (i, item) in response.items.iter().enumerate() {
        if let PullItem::Snapshot {
            ticket_id,
            doc,
            staff,
            erased,
            summary: Some(_),
        } = item
            && seen.insert(ticket_id.as_str())
            && erased.is_empty()
            && doc.len() <= MAX_TICKET_BYTES
            && staff.as_ref().is_none_or(|s| s.len() <= MAX_TICKET_BYTES)
            && !refused.contains(ticket_id.as_str())
            && !persist::holds(conn, ticket_id, Part::Public)?
        {
            listable.push(i);
        }
    }
    Ok(listable)
}

/// Decodes changes within the change limits, checked before Automerge parses them.
fn decode_changes(changes: &[ByteBuf]) -> Result<Vec<Change>> {
    changes
        .iter()
        .map(|c| match decode_change(c) {
            Ok(change) => Ok(change),
            Err(EncodedError::Limit(limit)) => Err(DocumentError::Limit(limit).into()),
            Err(e) => Err(StoreError::Bundle(crate::bundle::BundleError::Malformed(
                format!("a pulled change cannot be read: {e}"),
            ))),
        })
        .collect()
}

/// The oldest `limit` outbox rows, by hash.
fn outbox_rows_by_hash(
    tx: &Transaction,
    limit: usize,
) -> Result<std::collections::HashMap<String, i64>> {
    let mut stmt = tx.prepare_cached("SELECT hash, seq FROM outbox ORDER BY seq LIMIT ?1")?;
    let rows = stmt.query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// This device's queued changes of one document of a ticket, oldest first.
fn pending_changes(tx: &Transaction, id: &str, part: Part) -> Result<Vec<Change>> {
    let mut stmt = tx.prepare_cached(
        "SELECT change FROM outbox WHERE ticket_id = ?1 AND part = ?2 ORDER BY seq",
    )?;
    let bytes: Vec<Vec<u8>> = stmt
        .query_map(params![id, part.as_str()], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    let bufs: Vec<ByteBuf> = bytes.into_iter().map(ByteBuf::from).collect();
    decode_changes(&bufs)
}

/// Removes evicted tickets that have nothing left to send; returns their ids.
fn evict_settled(tx: &Transaction, changed: &mut BTreeSet<String>) -> Result<Vec<String>> {
    let ids: Vec<String> = tx
        .prepare_cached(
            "SELECT ticket_id FROM pending_evictions
             WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.ticket_id = pending_evictions.ticket_id)",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    for id in &ids {
        persist::delete_ticket(tx, id)?;
        tx.prepare_cached("DELETE FROM pending_evictions WHERE ticket_id = ?1")?
            .execute([id])?;
        changed.insert(id.clone());
    }
    Ok(ids)
}

mod check;
#[cfg(test)]
mod check_tests;
mod decode;
mod replace;
#[cfg(test)]
mod tests;
