//! Writing commits on PostgreSQL: the tenant's row locked and its seqs taken in one statement,
//! then every write of the commit sent as one pipeline ([`Pipeline`]), alone or as one of a group
//! in its own savepoint. Round trips are what a tenant's commits queue behind (each holds the
//! tenant's lock for all of its own), so a commit makes as few as it can (`docs/benchmarks.md`,
//! "Beyond one machine").

use super::blobs;
use super::db::{Db, Pipeline, is_unique_violation};
use super::ticket_list::{self, LongText};
use super::ticket_log::{first, sql_count};
use crate::storage::ticket_log::Written;
use crate::storage::{
    Conflict, Missing, NewChange, Result, StorageError, TicketCommit, seq_of, sql_seq, ticket_log,
};

/// Locks the tenant's row until the transaction ends and returns its `last_seq`
/// ([`Missing::Tenant`] for an unknown tenant). `NO KEY UPDATE` conflicts with itself (commits
/// of the tenant queue here) but not with the key-share locks of inserts that reference it.
pub(super) fn lock_tenant(db: &Db, tenant_id: &str) -> Result<i64> {
    let seq: Option<i64> = first(db.query_opt(
        "SELECT last_seq FROM tenants WHERE id = $1 FOR NO KEY UPDATE",
        &[&tenant_id],
    )?)?;
    seq.ok_or(Missing::Tenant.into())
}

/// Writes one commit in the caller's open transaction, holding the tenant's row lock from its
/// start to the transaction's end, so no other commit of the tenant takes a seq in between.
///
/// Round trips are what a tenant's commits queue behind (each holds the tenant's lock for all of
/// them), so the commit takes the lock and its seqs in one statement, and sends the index rows,
/// documents, changes, holdings and listings together ([`Pipeline`]).
pub(super) fn commit_in(db: &Db, commit: &TicketCommit) -> Result<Vec<u64>> {
    let count = sql_count(commit.changes.len());
    let before: Option<i64> = first(db.query_opt(
        "UPDATE tenants SET last_seq = last_seq + $2 WHERE id = $1 RETURNING last_seq - $2",
        &[&commit.tenant_id, &count],
    )?)?;
    let before = before.ok_or(StorageError::from(Missing::Tenant))?;
    let mut writes = Pipeline::default();
    let (seqs, long) = commit_writes(&mut writes, commit, before)?;
    db.run(writes)?;
    finish_commit(db, commit, long)?;
    Ok(seqs)
}

/// A queued commit: the seqs its changes get, and the search text too long to queue (by ticket).
type Queued<'c> = (Vec<u64>, Vec<(&'c str, LongText)>);

/// Queues what `commit` writes, its changes numbered after `before` (the tenant's `last_seq`,
/// its row locked by the caller); returns the seqs and the search text too long to queue.
fn commit_writes<'c>(
    writes: &mut Pipeline,
    commit: &'c TicketCommit,
    before: i64,
) -> Result<Queued<'c>> {
    let tenant = commit.tenant_id.as_str();
    if let Some((from, to)) = commit.numbers {
        writes.push_checked(
            "UPDATE tenants SET next_number = $3 WHERE id = $1 AND next_number = $2",
            vec![
                Box::new(tenant.to_owned()),
                Box::new(sql_seq(from)),
                Box::new(sql_seq(to)),
            ],
            1,
            moved,
            StorageError::from,
        );
    }
    // Each ticket's seq after this commit: its last change's, numbered in order below.
    let written = ticket_log::written_last_seqs(commit, before);
    for ticket in &written {
        write_ticket(writes, tenant, ticket)?;
    }
    let mut seqs = Vec::with_capacity(commit.changes.len());
    for (seq, change) in (before + 1..).zip(&commit.changes) {
        insert_change(writes, tenant, seq, change, commit.received_at);
        seqs.push(seq_of(seq));
    }
    if let Some(device_id) = &commit.device_id {
        for ticket_id in &commit.held_by_device {
            writes.push(
                "INSERT INTO device_tickets (device_id, ticket_id, covered_seq, evicted,
                     since_cursor)
                 VALUES ($1, $2, 0, FALSE, 0) ON CONFLICT DO NOTHING",
                vec![Box::new(device_id.clone()), Box::new(ticket_id.clone())],
            );
        }
    }
    let mut long = Vec::new();
    for Written { ticket, .. } in &written {
        let text = ticket_list::listing_writes(
            writes,
            tenant,
            &ticket.id,
            ticket.listing.as_ref(),
            ticket.staff_listing.as_ref(),
            Some(commit.received_at),
        );
        long.extend(text.map(|text| (ticket.id.as_str(), text)));
    }
    Ok((seqs, long))
}

/// What a commit writes after its queue ran: search text too long to queue, and the blobs its
/// tickets name.
fn finish_commit(db: &Db, commit: &TicketCommit, long: Vec<(&str, LongText)>) -> Result<()> {
    let tenant = commit.tenant_id.as_str();
    for (ticket_id, text) in long {
        ticket_list::write_long_text(db, tenant, ticket_id, text)?;
    }
    blobs::insert_refs(db, tenant, &commit.blob_refs)
}

/// One commit of a group, in its own savepoint, its tenant's row locked by the group and its
/// `last_seq` (`before`) kept by the group: the savepoint, the seqs and every write go in one
/// round trip. The commit's own outcome inside; `Err` outside when the group's transaction
/// cannot go on (the savepoint could not be rolled back: a lost connection).
pub(super) fn commit_in_group(
    db: &Db,
    commit: &TicketCommit,
    before: i64,
) -> Result<Result<Vec<u64>>> {
    let mut writes = Pipeline::default();
    writes.push("SAVEPOINT fw", Vec::new());
    queue_last_seq(&mut writes, commit, before);
    // Nothing is sent until the queue runs: a commit refused while queued needs no rollback.
    let (seqs, long) = match commit_writes(&mut writes, commit, before) {
        Ok(queued) => queued,
        Err(error) => return Ok(Err(error)),
    };
    // Released apart, after the answers are checked: a statement that touched no row is no
    // error to PostgreSQL, so a release in the same trip would keep what the check refuses.
    let written = db
        .run(writes)
        .and_then(|()| finish_commit(db, commit, long))
        .map(|()| seqs);
    match written {
        Ok(seqs) => {
            db.batch("RELEASE SAVEPOINT fw")?;
            Ok(Ok(seqs))
        }
        Err(error) => {
            // The transaction must still be usable: otherwise (a lost connection) the whole
            // group fails here, rather than a COMMIT of an aborted transaction storing nothing.
            db.batch("ROLLBACK TO SAVEPOINT fw; RELEASE SAVEPOINT fw")?;
            Ok(Err(error))
        }
    }
}

/// Locks every tenant `commits` write, in id order (two groups that share tenants queue instead
/// of deadlocking on each other), and returns their `last_seq`s.
pub(super) fn lock_tenants(
    db: &Db,
    commits: &[&TicketCommit],
) -> Result<std::collections::HashMap<String, i64>> {
    let mut tenants: Vec<&str> = commits.iter().map(|c| c.tenant_id.as_str()).collect();
    tenants.sort_unstable();
    tenants.dedup();
    let mut last = std::collections::HashMap::new();
    for row in db.query(
        "SELECT id, last_seq FROM tenants WHERE id = ANY($1) ORDER BY id
         FOR NO KEY UPDATE",
        &[&tenants],
    )? {
        last.insert(row.try_get(0)?, row.try_get(1)?);
    }
    Ok(last)
}

/// A whole group in one round trip, in the caller's transaction: every commit's seqs and writes
/// sent as one pipeline, without savepoints. All or nothing: if any commit is refused (a ticket
/// moved, a write touched other rows than it must), the error is returned, the caller rolls the
/// transaction back, and the group goes again a commit at a time ([`commit_in_group`]), where a
/// refusal undoes only its own commit. Commits are refused rarely, and a commit in its own
/// savepoint costs two round trips more under the tenants' locks, which every other commit of
/// those tenants waits behind (`docs/benchmarks.md`, "Beyond one machine").
pub(super) fn commit_group_at_once(db: &Db, commits: &[&TicketCommit]) -> Result<Vec<Vec<u64>>> {
    let mut last = lock_tenants(db, commits)?;
    let mut writes = Pipeline::default();
    let mut queued = Vec::with_capacity(commits.len());
    for commit in commits {
        let before = *last.get(&commit.tenant_id).ok_or(Missing::Tenant)?;
        let after = queue_last_seq(&mut writes, commit, before);
        queued.push(commit_writes(&mut writes, commit, before)?);
        last.insert(commit.tenant_id.clone(), after);
    }
    db.run(writes)?;
    let mut stored = Vec::with_capacity(commits.len());
    for (commit, (seqs, long)) in commits.iter().zip(queued) {
        finish_commit(db, commit, long)?;
        stored.push(seqs);
    }
    Ok(stored)
}

/// Queues moving the tenant's `last_seq` from `before` (the group keeps it, its row locked) past
/// `commit`'s changes; returns the new `last_seq`.
fn queue_last_seq(writes: &mut Pipeline, commit: &TicketCommit, before: i64) -> i64 {
    let after = before + sql_count(commit.changes.len());
    writes.push_checked(
        "UPDATE tenants SET last_seq = $2 WHERE id = $1",
        vec![Box::new(commit.tenant_id.clone()), Box::new(after)],
        1,
        || Missing::Tenant.into(),
        StorageError::from,
    );
    after
}

/// The answer when a row expected unchanged had moved.
fn moved() -> StorageError {
    Conflict::Moved.into()
}

/// A constraint the write broke (a taken key, a missing ticket) means the ticket moved, as on
/// SQLite; any other error stays what it is. The caller's transaction (or savepoint) is rolled
/// back with the error.
fn moved_on_constraint(error: tokio_postgres::Error) -> StorageError {
    let foreign_key = error.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION);
    if foreign_key || is_unique_violation(&error) {
        Conflict::Moved.into()
    } else {
        error.into()
    }
}

/// Stores one change under `seq` (with `writes`); a change stored already (same hash) is a
/// ticket that moved.
pub(super) fn insert_change(
    writes: &mut Pipeline,
    tenant_id: &str,
    seq: i64,
    change: &NewChange,
    received_at: i64,
) {
    let times = change.times.as_ref();
    writes.push_checked(
        "INSERT INTO changes (tenant_id, seq, ticket_id, hash, actor_id, bytes, received_at,
             part, author_id, device_time, effective_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT DO NOTHING",
        vec![
            Box::new(tenant_id.to_owned()),
            Box::new(seq),
            Box::new(change.ticket_id.clone()),
            Box::new(change.hash.clone()),
            Box::new(change.actor_id.clone()),
            Box::new(change.bytes.clone()),
            Box::new(received_at),
            Box::new(change.part.as_str()),
            Box::new(times.map(|t| t.author_id.clone())),
            Box::new(times.map(|t| t.device_time)),
            Box::new(times.map(|t| t.effective_at)),
        ],
        1,
        moved,
        moved_on_constraint,
    );
}

/// Writes a touched ticket's index row and document, with `writes`; the row must not have moved
/// since it was read (else [`Conflict::Moved`]).
pub(super) fn write_ticket(
    writes: &mut Pipeline,
    tenant_id: &str,
    written: &Written,
) -> Result<()> {
    let t = written.ticket;
    let new_last = written.last_seq;
    let (people, staff_people) = ticket_log::people_text(t)?;
    let summary = t.summary.as_ref().map(fieldwork_protocol::sync::encode);
    match t.expected_last_seq {
        None => writes.push_checked(
            "INSERT INTO tickets (id, tenant_id, number, reporter_id, assignee, team, status,
                 last_seq, people, people_seq, last_effective_at, category, created_at,
                 staff_people, tail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8, $10, $11, $12, $13, $14)
             ON CONFLICT (tenant_id, id) DO NOTHING",
            vec![
                Box::new(t.id.clone()),
                Box::new(tenant_id.to_owned()),
                Box::new(t.number.clone()),
                Box::new(t.reporter_id.clone()),
                Box::new(t.assignee.clone()),
                Box::new(t.team.clone()),
                Box::new(t.status.clone()),
                Box::new(new_last),
                Box::new(people),
                Box::new(t.last_effective_at),
                Box::new(t.category.clone()),
                Box::new(t.created_at),
                Box::new(staff_people),
                Box::new(written.new_tail()),
            ],
            1,
            moved,
            moved_on_constraint,
        ),
        Some(expected) => writes.push_checked(
            // The right-hand `people` and `staff_people` are the stored ones.
            "UPDATE tickets SET number = $3, reporter_id = $4, assignee = $5, team = $6,
                 status = $7, people = $9, last_seq = $10,
                 people_seq = CASE WHEN people IS NOT DISTINCT FROM $9
                     AND ($14::TEXT IS NULL OR staff_people IS NOT DISTINCT FROM $14::TEXT)
                     THEN people_seq ELSE $10 END,
                 last_effective_at = COALESCE($11, last_effective_at),
                 category = $12, created_at = COALESCE(created_at, $13),
                 staff_people = COALESCE($14::TEXT, staff_people),
                 tail = CASE WHEN $15 THEN 0 ELSE tail + $16 END
             WHERE tenant_id = $8 AND id = $1 AND last_seq = $2",
            vec![
                Box::new(t.id.clone()),
                Box::new(sql_seq(expected)),
                Box::new(t.number.clone()),
                Box::new(t.reporter_id.clone()),
                Box::new(t.assignee.clone()),
                Box::new(t.team.clone()),
                Box::new(t.status.clone()),
                Box::new(tenant_id.to_owned()),
                Box::new(people),
                Box::new(new_last),
                Box::new(t.last_effective_at),
                Box::new(t.category.clone()),
                Box::new(t.created_at),
                Box::new(staff_people),
                Box::new(t.snapshot.is_some()),
                Box::new(written.appended),
            ],
            1,
            moved,
            StorageError::from,
        ),
    }
    // The documents, with the summary read from the public one. The public snapshot moves to
    // the ticket's new seq when the commit compacts it; a staff document is written only by
    // commits that changed it.
    match &t.snapshot {
        Some(snapshot) => writes.push(
            "INSERT INTO docs (tenant_id, ticket_id, snapshot, snapshot_seq, staff_snapshot, summary)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET snapshot = excluded.snapshot,
                 snapshot_seq = excluded.snapshot_seq,
                 staff_snapshot = COALESCE(excluded.staff_snapshot, docs.staff_snapshot),
                 summary = excluded.summary",
            vec![
                Box::new(tenant_id.to_owned()),
                Box::new(t.id.clone()),
                Box::new(snapshot.clone()),
                Box::new(new_last),
                Box::new(t.staff_snapshot.clone()),
                Box::new(summary),
            ],
        ),
        None => writes.push(
            "INSERT INTO docs (tenant_id, ticket_id, snapshot, snapshot_seq, staff_snapshot, summary)
             VALUES ($1, $2, ''::BYTEA, 0, $3, $4)
             ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET
                 staff_snapshot = COALESCE(excluded.staff_snapshot, docs.staff_snapshot),
                 summary = excluded.summary",
            vec![
                Box::new(tenant_id.to_owned()),
                Box::new(t.id.clone()),
                Box::new(t.staff_snapshot.clone()),
                Box::new(summary),
            ],
        ),
    }
    Ok(())
}
