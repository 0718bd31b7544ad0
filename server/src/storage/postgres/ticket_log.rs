//! The ticket log on PostgreSQL: `changes` numbered per tenant by `tenants.last_seq`, `tickets`
//! and `docs`, the ticket counter (`tenants.next_number`), `forgotten_changes`, `erasures` and
//! `device_tickets`.
//!
//! Seq order is commit order within a tenant (docs/adr/0009-storage-seam-and-commit-order.md): a
//! commit (`commit.rs`) takes its seqs by updating its tenant's row, which stays locked until
//! COMMIT (a `NO KEY UPDATE` lock, which still lets other transactions insert rows that reference
//! the tenant), so the next commit of that tenant takes its seqs only once this one is visible. Commits of different tenants run in
//! parallel. Reads run in one `REPEATABLE READ` snapshot, where a tenant's `last_seq` and its
//! changes always agree.

use fieldwork_core::ticket::{ActorId, Part};
use fieldwork_protocol::sync::SnapshotSummary;
use tokio_postgres::Row;

use super::commit::{
    commit_group_at_once, commit_in, commit_in_group, insert_change, lock_tenant, lock_tenants,
    write_ticket,
};
use super::db::{Db, Pipeline};
use super::{PgStore, blobs};
use crate::storage::ticket_log::Written;
use crate::storage::{
    ChangeTimes, ErasureRecord, Holding, HoldingUpdate, Missing, PullScope, ReportedTicket, Result,
    StorageError, StoreRead, StoredChange, SummaryFill, TicketCommit, TicketHead, TicketLog,
    TicketRewrite, seq_of, sql_seq, ticket_log,
};

/// The reads of [`TicketLog::read`], inside its snapshot transaction.
#[derive(Debug)]
struct PgRead<'a> {
    db: &'a Db,
}

/// A row count or limit as PostgreSQL's BIGINT.
pub(super) fn sql_count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The changes after `$2` (at most `$3`) of the tickets that may concern user `$4` of tenant `$1`
/// (team `$5`, device `$6`): the tickets they reported, are assigned, their team's queue, and
/// what the device holds. It starts from those tickets and takes at most `$3` seqs of each by
/// the `changes_ticket_seq` index (the index alone holds them), keeps the lowest `$3` of all,
/// and only then reads those changes' bytes by primary key: its cost follows the user's tickets,
/// never the size of the tenant or its traffic (`docs/benchmarks.md`, "Back-office API").
const SCOPED_CHANGES_AFTER: &str = "SELECT c.seq, c.ticket_id, c.actor_id, c.bytes, c.part
     FROM changes c
     WHERE c.tenant_id = $1 AND c.seq = ANY(ARRAY(
         SELECT s.seq
         FROM (SELECT id FROM tickets WHERE tenant_id = $1 AND reporter_id = $4
               UNION SELECT id FROM tickets WHERE tenant_id = $1 AND assignee = $4
               UNION SELECT id FROM tickets
                    WHERE tenant_id = $1 AND assignee IS NULL AND team = $5
               UNION SELECT ticket_id FROM device_tickets WHERE device_id = $6) AS mine
         CROSS JOIN LATERAL (
             SELECT seq FROM changes
             WHERE tenant_id = $1 AND ticket_id = mine.id AND seq > $2
             ORDER BY seq LIMIT $3) AS s
         ORDER BY s.seq LIMIT $3))
     ORDER BY c.seq";

/// The first column of `row`, if there is a row.
pub(super) fn first<T: for<'r> tokio_postgres::types::FromSql<'r>>(
    row: Option<Row>,
) -> Result<Option<T>> {
    row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
}

impl StoreRead for PgRead<'_> {
    fn change_ticket(&self, tenant_id: &str, hash: &str) -> Result<Option<String>> {
        first(self.db.query_opt(
            "SELECT ticket_id FROM changes WHERE tenant_id = $1 AND hash = $2",
            &[&tenant_id, &hash],
        )?)
    }

    fn forgotten_change(&self, tenant_id: &str, hash: &str) -> Result<Option<String>> {
        first(self.db.query_opt(
            "SELECT ticket_id FROM forgotten_changes WHERE tenant_id = $1 AND hash = $2",
            &[&tenant_id, &hash],
        )?)
    }

    fn reported_since(
        &self,
        tenant_id: &str,
        reporter_id: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<ReportedTicket>> {
        let rows = self.db.query(
            "SELECT id, category, created_at FROM tickets
             WHERE tenant_id = $1 AND reporter_id = $2 AND created_at >= $3
             ORDER BY created_at, id LIMIT $4",
            &[&tenant_id, &reporter_id, &since, &sql_count(limit)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(ReportedTicket {
                    id: r.try_get(0)?,
                    category: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                })
            })
            .collect()
    }

    fn ticket_times(&self, tenant_id: &str, ticket_id: &str) -> Result<Vec<ChangeTimes>> {
        let rows = self.db.query(
            "SELECT author_id, device_time, effective_at FROM changes
             WHERE tenant_id = $1 AND ticket_id = $2 AND effective_at IS NOT NULL
             ORDER BY seq",
            &[&tenant_id, &ticket_id],
        )?;
        rows.iter()
            .map(|r| {
                Ok(ChangeTimes {
                    author_id: r.try_get(0)?,
                    device_time: r.try_get(1)?,
                    effective_at: r.try_get(2)?,
                })
            })
            .collect()
    }

    fn erasures(&self, tenant_id: &str, ticket_id: &str) -> Result<Vec<ErasureRecord>> {
        let rows = self.db.query(
            "SELECT ticket_id, seq, kind, target, erased_by, reference, erased_at FROM erasures
             WHERE tenant_id = $1 AND ticket_id = $2 ORDER BY id",
            &[&tenant_id, &ticket_id],
        )?;
        rows.iter().map(erasure_row).collect()
    }

    fn ticket_head(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<TicketHead>> {
        let Some(r) = self.db.query_opt(
            "SELECT tenant_id, last_seq, reporter_id, assignee, team, people, people_seq,
                 rewritten_seq, last_effective_at, staff_people, tail
             FROM tickets WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &ticket_id],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(TicketHead {
            tenant_id: r.try_get(0)?,
            last_seq: seq_of(r.try_get(1)?),
            reporter_id: r.try_get(2)?,
            assignee: r.try_get(3)?,
            team: r.try_get(4)?,
            people: ticket_log::people_of(r.try_get(5)?)?,
            people_seq: seq_of(r.try_get(6)?),
            rewritten_seq: seq_of(r.try_get(7)?),
            last_effective_at: r.try_get(8)?,
            staff_people: ticket_log::people_of(r.try_get(9)?)?,
            tail: u32::try_from(r.try_get::<_, i64>(10)?).unwrap_or(u32::MAX),
        }))
    }

    fn live_tickets(&self, tenant_id: &str, limit: usize) -> Result<Vec<String>> {
        let rows = self.db.query(
            "SELECT id FROM tickets
             WHERE tenant_id = $1 AND status NOT IN ('closed', 'cancelled')
             ORDER BY last_seq DESC LIMIT $2",
            &[&tenant_id, &sql_count(limit)],
        )?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    fn open_load(&self, tenant_id: &str) -> Result<Vec<(String, u32)>> {
        let rows = self.db.query(
            "SELECT assignee, COUNT(*) FROM tickets
             WHERE tenant_id = $1 AND assignee IS NOT NULL
                 AND status NOT IN ('resolved', 'closed', 'cancelled')
             GROUP BY assignee ORDER BY assignee",
            &[&tenant_id],
        )?;
        rows.iter()
            .map(|r| {
                let count: i64 = r.try_get(1)?;
                Ok((r.try_get(0)?, u32::try_from(count).unwrap_or(u32::MAX)))
            })
            .collect()
    }

    fn ticket_by_number(&self, tenant_id: &str, number: &str) -> Result<Option<String>> {
        first(self.db.query_opt(
            // A number is unique within a tenant; LIMIT keeps a damaged table from failing here.
            "SELECT id FROM tickets WHERE tenant_id = $1 AND number = $2 LIMIT 1",
            &[&tenant_id, &number],
        )?)
    }

    fn ticket_snapshot(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<Vec<u8>>> {
        // The snapshot first (as seq 0), then its tail in seq order: the ticket's public changes
        // after it, all read in one statement's snapshot.
        let rows = self.db.query(
            "SELECT bytes FROM (
                 SELECT 0::BIGINT AS seq, snapshot AS bytes FROM docs
                 WHERE tenant_id = $1 AND ticket_id = $2
                 UNION ALL
                 SELECT c.seq, c.bytes FROM changes c JOIN docs d
                     ON d.tenant_id = c.tenant_id AND d.ticket_id = c.ticket_id
                 WHERE c.tenant_id = $1 AND c.ticket_id = $2 AND c.seq > d.snapshot_seq
                     AND c.part = 'public'
             ) parts ORDER BY seq",
            &[&tenant_id, &ticket_id],
        )?;
        let mut rows = rows.iter();
        let Some(first) = rows.next() else {
            return Ok(None);
        };
        let mut document: Vec<u8> = first.try_get(0)?;
        for row in rows {
            document.extend_from_slice(row.try_get::<_, &[u8]>(0)?);
        }
        Ok(Some(document))
    }

    fn ticket_summary(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<SnapshotSummary>> {
        let bytes: Option<Option<Vec<u8>>> = first(self.db.query_opt(
            "SELECT summary FROM docs WHERE tenant_id = $1 AND ticket_id = $2",
            &[&tenant_id, &ticket_id],
        )?)?;
        // One that does not decode (written by a newer version, say) is as good as none: the
        // device loads the document instead.
        Ok(bytes
            .flatten()
            .and_then(|b| fieldwork_protocol::sync::decode(&b).ok()))
    }

    fn ticket_staff_snapshot(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<Vec<u8>>> {
        let bytes: Option<Option<Vec<u8>>> = first(self.db.query_opt(
            "SELECT staff_snapshot FROM docs WHERE tenant_id = $1 AND ticket_id = $2",
            &[&tenant_id, &ticket_id],
        )?)?;
        Ok(bytes.flatten())
    }

    fn next_number(&self, tenant_id: &str) -> Result<u64> {
        let next: Option<i64> = first(self.db.query_opt(
            "SELECT next_number FROM tenants WHERE id = $1",
            &[&tenant_id],
        )?)?;
        next.map(seq_of).ok_or(Missing::Tenant.into())
    }

    fn changes_after(
        &self,
        tenant_id: &str,
        after: u64,
        limit: usize,
        scope: Option<&PullScope<'_>>,
    ) -> Result<Vec<StoredChange>> {
        let (after, limit) = (sql_seq(after), sql_count(limit));
        let rows = match scope {
            None => self.db.query(
                "SELECT seq, ticket_id, actor_id, bytes, part FROM changes
                 WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[&tenant_id, &after, &limit],
            )?,
            Some(scope) => self.db.query(
                SCOPED_CHANGES_AFTER,
                &[
                    &tenant_id,
                    &after,
                    &limit,
                    &scope.user_id,
                    &scope.team,
                    &scope.device_id,
                ],
            )?,
        };
        rows.iter()
            .map(|r| {
                Ok(StoredChange {
                    seq: seq_of(r.try_get(0)?),
                    ticket_id: r.try_get(1)?,
                    actor_id: r.try_get(2)?,
                    bytes: r.try_get(3)?,
                    part: part_of(r.try_get(4)?)?,
                })
            })
            .collect()
    }

    fn holding(&self, device_id: &str, ticket_id: &str) -> Result<Option<Holding>> {
        let Some(r) = self.db.query_opt(
            "SELECT covered_seq, evicted, since_cursor FROM device_tickets
             WHERE device_id = $1 AND ticket_id = $2",
            &[&device_id, &ticket_id],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(Holding {
            covered_seq: seq_of(r.try_get(0)?),
            evicted: r.try_get(1)?,
            since_cursor: seq_of(r.try_get(2)?),
        }))
    }

    fn max_seq(&self, tenant_id: &str) -> Result<u64> {
        let max: Option<i64> = first(
            self.db
                .query_opt("SELECT last_seq FROM tenants WHERE id = $1", &[&tenant_id])?,
        )?;
        Ok(max.map_or(0, seq_of))
    }

    fn articles_changed_since(
        &self,
        tenant_id: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<crate::storage::Article>> {
        super::knowledge::changed_since(self.db, tenant_id, since, limit)
    }
}

impl TicketLog for PgStore {
    fn server_actor(&self) -> &ActorId {
        &self.server_actor
    }

    fn read(&self, work: &mut dyn FnMut(&dyn StoreRead) -> Result<()>) -> Result<()> {
        self.read_snapshot(|db| work(&PgRead { db }))
    }

    fn commit(&self, commit: &TicketCommit) -> Result<Vec<u64>> {
        self.write(|db| commit_in(db, commit))
    }

    fn commit_group(&self, commits: &[&TicketCommit]) -> Result<Vec<Result<Vec<u64>>>> {
        match commits {
            [] => return Ok(Vec::new()),
            // Alone, a commit needs neither the group's locks nor a savepoint (three round
            // trips fewer, under the tenant's lock): its transaction is its own.
            [commit] => return Ok(vec![self.commit(commit)]),
            _ => {}
        }
        // First the whole group in one round trip; if any commit of it is refused, nothing of
        // that try is kept, and the group goes a commit at a time, each in its own savepoint.
        match self.write(|db| commit_group_at_once(db, commits)) {
            Ok(stored) => return Ok(stored.into_iter().map(Ok).collect()),
            Err(error) => {
                tracing::debug!(%error, "a group's one-trip try was refused; a commit at a time");
            }
        }
        self.write(|db| {
            // Every tenant the group writes is locked up front; their `last_seq`s are kept here
            // from then on, as the group's commits take seqs.
            let mut last = lock_tenants(db, commits)?;
            let mut stored = Vec::with_capacity(commits.len());
            for commit in commits {
                let Some(before) = last.get(&commit.tenant_id).copied() else {
                    stored.push(Err(Missing::Tenant.into()));
                    continue;
                };
                // A commit that fails is undone alone; the transaction goes on (or the group
                // fails whole when it cannot).
                let outcome = commit_in_group(db, commit, before)?;
                if outcome.is_ok() {
                    last.insert(
                        commit.tenant_id.clone(),
                        before + sql_count(commit.changes.len()),
                    );
                }
                stored.push(outcome);
            }
            Ok(stored)
        })
    }

    fn rewrite(&self, rewrite: &TicketRewrite) -> Result<u64> {
        let tenant = rewrite.tenant_id.as_str();
        let ticket = &rewrite.ticket;
        let expected = ticket_log::rewrite_base(rewrite)?;
        self.write(|db| {
            let mut seq = lock_tenant(db, tenant)?;
            let current: Option<i64> = first(db.query_opt(
                "SELECT last_seq FROM tickets WHERE tenant_id = $1 AND id = $2",
                &[&tenant, &ticket.id],
            )?)?;
            ticket_log::check_rewrite_base(current, expected)?;
            // The old history goes; only its hashes stay.
            db.execute(
                "INSERT INTO forgotten_changes (tenant_id, hash, ticket_id)
                 SELECT tenant_id, hash, ticket_id FROM changes
                 WHERE tenant_id = $1 AND ticket_id = $2
                 ON CONFLICT DO NOTHING",
                &[&tenant, &ticket.id],
            )?;
            db.execute(
                "DELETE FROM changes WHERE tenant_id = $1 AND ticket_id = $2",
                &[&tenant, &ticket.id],
            )?;
            let written = Written {
                ticket,
                last_seq: seq + sql_count(rewrite.changes.len()),
                appended: 0,
            };
            let mut writes = Pipeline::default();
            write_ticket(&mut writes, tenant, &written)?;
            db.run(writes)?;
            // The search text is a plain table here (no full-text segments to merge, as SQLite
            // needs): the listing write replaces it, and `scrub` vacuums the old row versions.
            super::ticket_list::write_listing(
                db,
                tenant,
                &ticket.id,
                ticket.listing.as_ref(),
                ticket.staff_listing.as_ref(),
                Some(rewrite.at),
            )?;
            let mut writes = Pipeline::default();
            for change in &rewrite.changes {
                seq += 1;
                insert_change(&mut writes, tenant, seq, change, rewrite.at);
            }
            db.run(writes)?;
            db.execute(
                "UPDATE tenants SET last_seq = $2 WHERE id = $1",
                &[&tenant, &seq],
            )?;
            db.execute(
                "UPDATE tickets SET last_seq = $3, rewritten_seq = $3
                 WHERE tenant_id = $1 AND id = $2",
                &[&tenant, &ticket.id, &seq],
            )?;
            blobs::remove_refs(db, tenant, &ticket.id, &rewrite.unnamed_blobs)?;
            for erasure in &rewrite.erased {
                db.execute(
                    "INSERT INTO erasures (tenant_id, ticket_id, seq, kind, target, erased_by,
                         reference, erased_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[
                        &tenant,
                        &ticket.id,
                        &seq,
                        &erasure.kind(),
                        &erasure.target(),
                        &rewrite.by,
                        &rewrite.reference,
                        &rewrite.at,
                    ],
                )?;
            }
            Ok(seq_of(seq))
        })
    }

    fn erasure_log(&self, tenant_id: &str, limit: usize) -> Result<Vec<ErasureRecord>> {
        self.with_reader(|db| {
            let rows = db.query(
                "SELECT ticket_id, seq, kind, target, erased_by, reference, erased_at
                 FROM erasures WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2",
                &[&tenant_id, &sql_count(limit)],
            )?;
            rows.iter().map(erasure_row).collect()
        })
    }

    /// Vacuums the tables a rewrite leaves old content in (`changes`, `docs`, `tickets` and the
    /// listing's `ticket_text` and `ticket_tags`, each with its TOAST table and indexes).
    ///
    /// What it guarantees: the dead row versions a rewrite left (deleted changes, replaced
    /// documents, old search text) that no open transaction can still see are removed from the
    /// tables and their indexes; no query can reach them and their space is reused by later
    /// writes. What it does not: it does not overwrite the freed bytes in the data files (they
    /// stay until reused), it leaves row versions an older snapshot still sees (a long read or a
    /// replica's feedback holds them back), and it cannot reach the write-ahead log, WAL
    /// archives, replicas or backups, which keep the content until the operator's retention
    /// ages them out. `VACUUM FULL` would rewrite the files but locks the tables against every
    /// read and write meanwhile, so it is left to the operator.
    fn scrub(&self) -> Result<()> {
        // VACUUM cannot run inside a transaction: one statement on an autocommit connection.
        self.with_reader(|db| {
            db.batch("VACUUM changes, docs, tickets, ticket_text, ticket_tags")?;
            Ok(())
        })
    }

    fn record_holdings(&self, device_id: &str, updates: &[HoldingUpdate]) -> Result<()> {
        self.write(|db| {
            for update in updates {
                let h = update.holding;
                db.execute(
                    "INSERT INTO device_tickets (device_id, ticket_id, covered_seq, evicted,
                         since_cursor)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (device_id, ticket_id) DO UPDATE SET
                         covered_seq = excluded.covered_seq, evicted = excluded.evicted,
                         since_cursor = excluded.since_cursor",
                    &[
                        &device_id,
                        &update.ticket_id,
                        &sql_seq(h.covered_seq),
                        &h.evicted,
                        &sql_seq(h.since_cursor),
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn unsummarised_tickets(&self, limit: usize) -> Result<Vec<(String, String, u64)>> {
        self.with_reader(|db| {
            // `docs_unsummarised` holds exactly these rows.
            let rows = db.query(
                "SELECT d.tenant_id, d.ticket_id, t.last_seq FROM docs d
                 JOIN tickets t ON t.tenant_id = d.tenant_id AND t.id = d.ticket_id
                 WHERE d.summary IS NULL ORDER BY d.tenant_id, d.ticket_id LIMIT $1",
                &[&sql_count(limit)],
            )?;
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, seq_of(r.try_get(2)?))))
                .collect()
        })
    }

    fn fill_summaries(&self, fills: &[SummaryFill]) -> Result<usize> {
        // In one order (as the index rows sort), so two fills never wait on each other in turn.
        let mut fills: Vec<&SummaryFill> = fills.iter().collect();
        fills.sort_by(|a, b| (&a.tenant_id, &a.ticket_id).cmp(&(&b.tenant_id, &b.ticket_id)));
        self.write(|db| {
            let mut written = 0;
            for fill in fills {
                // The ticket's row is held still (a commit moving it waits, and one that moved
                // it first is seen) while its document gets the summary.
                let still = db.query_opt(
                    "SELECT 1 FROM tickets WHERE tenant_id = $1 AND id = $2 AND last_seq = $3
                     FOR SHARE",
                    &[&fill.tenant_id, &fill.ticket_id, &sql_seq(fill.last_seq)],
                )?;
                if still.is_none() {
                    continue;
                }
                written += db.execute(
                    "UPDATE docs SET summary = $3
                     WHERE tenant_id = $1 AND ticket_id = $2 AND summary IS NULL",
                    &[
                        &fill.tenant_id,
                        &fill.ticket_id,
                        &fieldwork_protocol::sync::encode(&fill.summary),
                    ],
                )?;
            }
            Ok(usize::try_from(written).unwrap_or(usize::MAX))
        })
    }
}

/// One row of `erasures` (ticket_id, seq, kind, target, erased_by, reference, erased_at); a kind
/// this version does not know is corruption.
fn erasure_row(r: &Row) -> Result<ErasureRecord> {
    let kind: String = r.try_get(2)?;
    let target: Option<String> = r.try_get(3)?;
    let erasure = ticket_log::erasure_of(&kind, target.as_deref())?;
    Ok(ErasureRecord {
        ticket_id: r.try_get(0)?,
        seq: seq_of(r.try_get(1)?),
        erasure,
        by: r.try_get(4)?,
        reference: r.try_get(5)?,
        at: r.try_get(6)?,
    })
}

/// The part a `changes` row names (the schema allows only the two).
fn part_of(text: &str) -> Result<Part> {
    text.parse()
        .map_err(|_| StorageError::Corrupt(format!("a change names an unknown part {text:?}")))
}
