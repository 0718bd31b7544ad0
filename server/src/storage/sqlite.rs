//! [`SqliteStore`]: the embedded backend. One file in WAL mode, `synchronous=FULL`, one writer
//! connection behind a mutex and a small pool of read-only connections. The SQL of the blob lane,
//! quotas, devices and positions is in the submodules.

mod blobs;
mod devices;
mod positions;
mod quotas;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use fieldwork_core::model::Role;
use fieldwork_core::ticket::ActorId;
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Row, Transaction, TransactionBehavior, params,
};

use super::schema;
use super::*;

/// Idle read connections kept open; more are opened when many requests read at once.
const IDLE_READERS: usize = 4;

/// The SQLite backend.
#[derive(Debug)]
pub struct SqliteStore {
    path: std::path::PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    server_actor: ActorId,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock dropped its transaction (rolled back): the connection is clean.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Sequence numbers and cursors are u64 on the wire and i64 in SQLite; a cursor beyond any
/// stored seq simply finds nothing.
fn sql_seq(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn seq_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn is_constraint(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::ConstraintViolation)
}

impl SqliteStore {
    /// Opens the database at `path`, creating and migrating it as needed.
    pub fn open(path: &Path) -> Result<Self> {
        let mut writer = schema::open_writer(path)?;
        let server_actor = server_actor(&mut writer)?;
        Ok(SqliteStore {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            server_actor,
        })
    }

    /// Runs `work` in one immediate transaction on the writer and commits it durably.
    fn write<T>(&self, work: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = work(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `work` on a read-only connection from the pool.
    fn with_reader<T>(&self, work: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let pooled = lock(&self.readers).pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => schema::open_reader(&self.path)?,
        };
        let out = work(&mut conn);
        let mut idle = lock(&self.readers);
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        out
    }
}

/// Reads (or makes, once) the actor of server-authored changes.
fn server_actor(conn: &mut Connection) -> Result<ActorId> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('server_actor', ?1)",
        [ActorId::random().to_hex_string()],
    )?;
    let hex: String = tx.query_row(
        "SELECT value FROM meta WHERE key = 'server_actor'",
        [],
        |r| r.get(0),
    )?;
    tx.commit()?;
    ActorId::try_from(hex.as_str()).map_err(|e| Error::Corrupt(format!("server actor: {e}")))
}

const USER_COLUMNS: &str = "u.id, u.tenant_id, u.name, u.role, u.team, u.skills";

/// Reads the six [`USER_COLUMNS`] starting at `at`; a role this build does not know is damage.
fn user_at(row: &Row, at: usize) -> rusqlite::Result<Result<UserRecord>> {
    let role: String = row.get(at + 3)?;
    let role = match role.parse::<Role>() {
        Ok(role) => role,
        Err(e) => return Ok(Err(Error::Corrupt(format!("user role: {e}")))),
    };
    let skills: String = row.get(at + 5)?;
    Ok(Ok(UserRecord {
        id: row.get(at)?,
        tenant_id: row.get(at + 1)?,
        name: row.get(at + 2)?,
        role,
        team: row.get(at + 4)?,
        skills: skills
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    }))
}

struct SqliteRead<'a> {
    tx: &'a Transaction<'a>,
}

impl StoreRead for SqliteRead<'_> {
    fn change_ticket(&self, tenant_id: &str, hash: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .prepare_cached("SELECT ticket_id FROM changes WHERE tenant_id = ?1 AND hash = ?2")?
            .query_row([tenant_id, hash], |r| r.get(0))
            .optional()?)
    }

    fn ticket_head(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<TicketHead>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT tenant_id, last_seq, reporter_id, assignee, team FROM tickets
                 WHERE tenant_id = ?1 AND id = ?2",
            )?
            .query_row([tenant_id, ticket_id], |r| {
                Ok(TicketHead {
                    tenant_id: r.get(0)?,
                    last_seq: seq_of(r.get(1)?),
                    reporter_id: r.get(2)?,
                    assignee: r.get(3)?,
                    team: r.get(4)?,
                })
            })
            .optional()?)
    }

    fn ticket_snapshot(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .tx
            .prepare_cached("SELECT snapshot FROM docs WHERE tenant_id = ?1 AND ticket_id = ?2")?
            .query_row([tenant_id, ticket_id], |r| r.get(0))
            .optional()?)
    }

    fn next_number(&self, tenant_id: &str) -> Result<u64> {
        let next: Option<i64> = self
            .tx
            .prepare_cached("SELECT next_number FROM tenants WHERE id = ?1")?
            .query_row([tenant_id], |r| r.get(0))
            .optional()?;
        next.map(seq_of).ok_or(Error::UnknownTenant)
    }

    fn changes_after(
        &self,
        tenant_id: &str,
        after: u64,
        limit: usize,
        scope: Option<&PullScope<'_>>,
    ) -> Result<Vec<StoredChange>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let row = |r: &rusqlite::Row<'_>| {
            Ok(StoredChange {
                seq: seq_of(r.get(0)?),
                ticket_id: r.get(1)?,
                actor_id: r.get(2)?,
                bytes: r.get(3)?,
            })
        };
        let rows = match scope {
            None => self
                .tx
                .prepare_cached(
                    "SELECT seq, ticket_id, actor_id, bytes FROM changes
                     WHERE tenant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                )?
                .query_map(params![tenant_id, sql_seq(after), limit], row)?
                .collect::<rusqlite::Result<_>>()?,
            Some(scope) => self
                .tx
                .prepare_cached(
                    // Starts from this user's tickets and reads each one's changes by the
                    // (tenant_id, ticket_id, seq) index: the cost follows their tickets, not the tenant's
                    // traffic (checked with EXPLAIN QUERY PLAN).
                    "SELECT c.seq, c.ticket_id, c.actor_id, c.bytes
                     FROM (SELECT id FROM tickets WHERE tenant_id = ?1 AND reporter_id = ?4
                           UNION SELECT id FROM tickets WHERE tenant_id = ?1 AND assignee = ?4
                           UNION SELECT id FROM tickets
                                 WHERE tenant_id = ?1 AND assignee IS NULL AND team = ?5
                           UNION SELECT ticket_id FROM device_tickets WHERE device_id = ?6) AS mine
                     JOIN changes c
                         ON c.tenant_id = ?1 AND c.ticket_id = mine.id AND c.seq > ?2
                     ORDER BY c.seq LIMIT ?3",
                )?
                .query_map(
                    params![
                        tenant_id,
                        sql_seq(after),
                        limit,
                        scope.user_id,
                        scope.team,
                        scope.device_id
                    ],
                    row,
                )?
                .collect::<rusqlite::Result<_>>()?,
        };
        Ok(rows)
    }

    fn holding(&self, device_id: &str, ticket_id: &str) -> Result<Option<Holding>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT covered_seq, evicted, since_cursor FROM device_tickets
                 WHERE device_id = ?1 AND ticket_id = ?2",
            )?
            .query_row([device_id, ticket_id], |r| {
                Ok(Holding {
                    covered_seq: seq_of(r.get(0)?),
                    evicted: r.get(1)?,
                    since_cursor: seq_of(r.get(2)?),
                })
            })
            .optional()?)
    }

    fn max_seq(&self, tenant_id: &str) -> Result<u64> {
        let max: Option<i64> = self
            .tx
            .prepare_cached("SELECT last_seq FROM tenants WHERE id = ?1")?
            .query_row([tenant_id], |r| r.get(0))
            .optional()?;
        Ok(max.map_or(0, seq_of))
    }
}

impl ServerStore for SqliteStore {
    fn server_actor(&self) -> &ActorId {
        &self.server_actor
    }

    fn read(&self, work: &mut dyn FnMut(&dyn StoreRead) -> Result<()>) -> Result<()> {
        self.with_reader(|conn| {
            // A deferred transaction: every read in `work` sees the same committed state.
            let tx = conn.transaction()?;
            work(&SqliteRead { tx: &tx })?;
            tx.commit()?;
            Ok(())
        })
    }

    fn commit_push(&self, commit: &PushCommit) -> Result<Vec<u64>> {
        self.write(|tx| {
            if let Some((from, to)) = commit.numbers {
                let moved = tx
                    .prepare_cached(
                        "UPDATE tenants SET next_number = ?3 WHERE id = ?1 AND next_number = ?2",
                    )?
                    .execute(params![commit.tenant_id, sql_seq(from), sql_seq(to)])?;
                if moved != 1 {
                    return Err(Error::Conflict);
                }
            }
            for ticket in &commit.tickets {
                write_ticket(tx, &commit.tenant_id, ticket)?;
            }
            let mut seqs = Vec::with_capacity(commit.changes.len());
            let mut last: HashMap<&str, i64> = HashMap::new();
            let mut seq: i64 = tx
                .prepare_cached("SELECT last_seq FROM tenants WHERE id = ?1")?
                .query_row([&commit.tenant_id], |r| r.get(0))
                .optional()?
                .ok_or(Error::UnknownTenant)?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO changes (tenant_id, seq, ticket_id, hash, actor_id, bytes, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for change in &commit.changes {
                seq += 1;
                let inserted = insert.execute(params![
                    commit.tenant_id,
                    seq,
                    change.ticket_id,
                    change.hash,
                    change.actor_id,
                    change.bytes,
                    commit.received_at
                ]);
                match inserted {
                    Err(e) if is_constraint(&e) => return Err(Error::Conflict),
                    other => other?,
                };
                last.insert(change.ticket_id.as_str(), seq);
                seqs.push(seq_of(seq));
            }
            tx.prepare_cached("UPDATE tenants SET last_seq = ?2 WHERE id = ?1")?
                .execute(params![commit.tenant_id, seq])?;
            let mut set_last = tx.prepare_cached(
                "UPDATE tickets SET last_seq = ?3 WHERE tenant_id = ?1 AND id = ?2",
            )?;
            for (ticket_id, seq) in last {
                set_last.execute(params![commit.tenant_id, ticket_id, seq])?;
            }
            let mut hold = tx.prepare_cached(
                "INSERT INTO device_tickets (device_id, ticket_id, covered_seq, evicted, since_cursor)
                 VALUES (?1, ?2, 0, 0, 0) ON CONFLICT DO NOTHING",
            )?;
            for ticket_id in &commit.held_by_device {
                hold.execute([&commit.device_id, ticket_id])?;
            }
            blobs::insert_refs(tx, &commit.tenant_id, &commit.blob_refs)?;
            Ok(seqs)
        })
    }

    fn record_holdings(&self, device_id: &str, updates: &[HoldingUpdate]) -> Result<()> {
        self.write(|tx| {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO device_tickets (device_id, ticket_id, covered_seq, evicted, since_cursor)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (device_id, ticket_id) DO UPDATE SET covered_seq = excluded.covered_seq,
                     evicted = excluded.evicted, since_cursor = excluded.since_cursor",
            )?;
            for update in updates {
                let h = update.holding;
                upsert.execute(params![
                    device_id,
                    update.ticket_id,
                    sql_seq(h.covered_seq),
                    h.evicted,
                    sql_seq(h.since_cursor)
                ])?;
            }
            Ok(())
        })
    }

    fn create_tenant(&self, tenant: &TenantRecord, at: i64) -> Result<()> {
        self.write(|tx| {
            let inserted = tx.execute(
                "INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![tenant.id, tenant.name, at],
            );
            match inserted {
                Err(e) if is_constraint(&e) => Err(Error::Duplicate("a tenant with this name")),
                other => Ok(other.map(drop)?),
            }
        })
    }

    fn find_tenant(&self, id_or_name: &str) -> Result<Option<TenantRecord>> {
        self.with_reader(|conn| {
            for sql in [
                "SELECT id, name FROM tenants WHERE id = ?1",
                "SELECT id, name FROM tenants WHERE name = ?1",
            ] {
                let found = conn
                    .prepare_cached(sql)?
                    .query_row([id_or_name], |r| {
                        Ok(TenantRecord {
                            id: r.get(0)?,
                            name: r.get(1)?,
                        })
                    })
                    .optional()?;
                if found.is_some() {
                    return Ok(found);
                }
            }
            Ok(None)
        })
    }

    fn create_user(
        &self,
        user: &UserRecord,
        password_hash: Option<&str>,
        token: Option<&TokenRecord>,
        at: i64,
    ) -> Result<()> {
        self.write(|tx| {
            let tenant: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM tenants WHERE id = ?1",
                    [&user.tenant_id],
                    |r| r.get(0),
                )
                .optional()?;
            if tenant.is_none() {
                return Err(Error::UnknownTenant);
            }
            let inserted = tx.execute(
                "INSERT INTO users (id, tenant_id, name, role, team, skills, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    user.id,
                    user.tenant_id,
                    user.name,
                    user.role.as_str(),
                    user.team,
                    user.skills.join(","),
                    password_hash,
                    at
                ],
            );
            match inserted {
                Err(e) if is_constraint(&e) => {
                    return Err(Error::Duplicate("a user with this name in the tenant"));
                }
                other => other?,
            };
            if let Some(token) = token {
                insert_token(tx, token)?;
            }
            Ok(())
        })
    }

    fn user_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<(UserRecord, Option<String>)>> {
        self.with_reader(|conn| {
            let sql = format!(
                "SELECT {USER_COLUMNS}, u.password_hash FROM users u
                 WHERE u.tenant_id = ?1 AND u.name = ?2"
            );
            let row = conn
                .prepare_cached(&sql)?
                .query_row([tenant_id, name], |r| Ok((user_at(r, 0)?, r.get(6)?)))
                .optional()?;
            row.map(|(user, hash)| Ok((user?, hash))).transpose()
        })
    }

    fn list_users(&self, tenant_id: &str) -> Result<Vec<UserRecord>> {
        self.with_reader(|conn| {
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = ?1 ORDER BY u.name"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([tenant_id], |r| user_at(r, 0))?;
            rows.map(|row| row?).collect()
        })
    }

    fn register_device(
        &self,
        device: &DeviceRecord,
        token: &TokenRecord,
        devices_per_user: u32,
    ) -> Result<DeviceRecord> {
        self.write(|tx| devices::register_device(tx, device, token, devices_per_user))
    }

    fn list_devices(&self, user_id: &str) -> Result<Vec<DeviceInfo>> {
        self.with_reader(|conn| devices::list_devices(conn, user_id))
    }

    fn remove_device(&self, device_id: &str, at: i64) -> Result<DeviceInfo> {
        self.write(|tx| devices::remove_device(tx, device_id, at))
    }

    fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        self.with_reader(|conn| {
            let sql = format!(
                "SELECT t.kind, {USER_COLUMNS}, d.id, d.actor_id, d.name
                 FROM tokens t JOIN users u ON u.id = t.user_id
                 LEFT JOIN devices d ON d.id = t.device_id
                 WHERE t.hash = ?1 AND t.revoked_at IS NULL"
            );
            let row = conn
                .prepare_cached(&sql)?
                .query_row([token_hash], |r| {
                    let kind: String = r.get(0)?;
                    let device_id: Option<String> = r.get(7)?;
                    Ok((kind, user_at(r, 1)?, device_id, r.get(8)?, r.get(9)?))
                })
                .optional()?;
            let Some((kind, user, device_id, actor_id, name)) = row else {
                return Ok(None);
            };
            let user = user?;
            let kind = match kind.as_str() {
                "user" => TokenKind::User,
                "device" => TokenKind::Device,
                other => return Err(Error::Corrupt(format!("token kind {other:?}"))),
            };
            let device = match (device_id, actor_id, name) {
                (Some(id), Some(actor_id), Some(name)) => Some(DeviceRecord {
                    id,
                    user_id: user.id.clone(),
                    tenant_id: user.tenant_id.clone(),
                    actor_id,
                    name,
                }),
                _ => None,
            };
            Ok(Some(Session {
                token_hash: token_hash.to_owned(),
                kind,
                user,
                device,
            }))
        })
    }

    fn revoke_token(&self, token_hash: &str, at: i64) -> Result<bool> {
        self.write(|tx| {
            let revoked = tx.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE hash = ?1 AND revoked_at IS NULL",
                params![token_hash, at],
            )?;
            Ok(revoked == 1)
        })
    }

    fn create_upload(&self, upload: &UploadRecord, limits: &UploadLimits) -> Result<Admission> {
        self.write(|tx| blobs::create_upload(tx, upload, limits))
    }

    fn claim_stored_blob(&self, upload: &UploadRecord) -> Result<Claim> {
        self.write(|tx| blobs::claim_stored_blob(tx, upload))
    }

    fn upload(&self, upload_id: &str) -> Result<Option<UploadRecord>> {
        self.with_reader(|conn| blobs::upload(conn, upload_id))
    }

    fn open_upload(
        &self,
        device_id: &str,
        sha256: &str,
        length: u64,
    ) -> Result<Option<UploadRecord>> {
        self.with_reader(|conn| blobs::open_upload(conn, device_id, sha256, length))
    }

    fn record_patch(&self, patch: &PatchRecord) -> Result<()> {
        self.write(|tx| blobs::record_patch(tx, patch))
    }

    fn uploads_created_before(&self, before: i64, limit: usize) -> Result<Vec<UploadRecord>> {
        self.with_reader(|conn| blobs::uploads_created_before(conn, before, limit))
    }

    fn delete_uploads(&self, upload_ids: &[String]) -> Result<()> {
        self.write(|tx| blobs::delete_uploads(tx, upload_ids))
    }

    fn blob(&self, tenant_id: &str, sha256: &str) -> Result<Option<BlobRecord>> {
        self.with_reader(|conn| blobs::blob(conn, tenant_id, sha256))
    }

    fn blob_ref_tickets(&self, tenant_id: &str, sha256: &str) -> Result<Vec<String>> {
        self.with_reader(|conn| blobs::blob_ref_tickets(conn, tenant_id, sha256))
    }

    fn unnamed_blobs(&self, before: i64, limit: usize) -> Result<Vec<BlobRecord>> {
        self.with_reader(|conn| blobs::unnamed_blobs(conn, before, limit))
    }

    fn delete_unnamed_blobs(&self, blobs: &[BlobRecord], before: i64) -> Result<Vec<BlobRecord>> {
        self.write(|tx| blobs::delete_unnamed_blobs(tx, blobs, before))
    }

    fn tenant_quotas(&self, tenant_id: &str) -> Result<TenantQuotas> {
        self.with_reader(|conn| quotas::tenant_quotas(conn, tenant_id))
    }

    fn set_tenant_quotas(&self, tenant_id: &str, q: &TenantQuotas) -> Result<()> {
        self.write(|tx| quotas::set_tenant_quotas(tx, tenant_id, q))
    }

    fn tenant_usage(&self, tenant_id: &str, open_after: i64) -> Result<TenantUsage> {
        self.with_reader(|conn| quotas::tenant_usage(conn, tenant_id, open_after))
    }

    fn record_position(
        &self,
        position: &PositionRecord,
        min_interval_ms: i64,
    ) -> Result<PositionWrite> {
        self.write(|tx| positions::record_position(tx, position, min_interval_ms))
    }

    fn technician_positions(&self, tenant_id: &str) -> Result<Vec<PositionRecord>> {
        self.with_reader(|conn| positions::technician_positions(conn, tenant_id))
    }
}

fn insert_token(tx: &Transaction, token: &TokenRecord) -> Result<()> {
    tx.execute(
        "INSERT INTO tokens (hash, kind, user_id, device_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            token.hash,
            token.kind.as_str(),
            token.user_id,
            token.device_id,
            token.created_at
        ],
    )?;
    Ok(())
}

/// Writes a touched ticket's index row and document, checking it did not move since it was read.
fn write_ticket(tx: &Transaction, tenant_id: &str, t: &TicketWrite) -> Result<()> {
    match t.expected_last_seq {
        None => {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO tickets (id, tenant_id, number, reporter_id, assignee, team, status, last_seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
                )?
                .execute(params![
                    t.id, tenant_id, t.number, t.reporter_id, t.assignee, t.team, t.status
                ]);
            match inserted {
                Err(e) if is_constraint(&e) => return Err(Error::Conflict),
                other => other?,
            };
            tx.prepare_cached(
                "INSERT INTO docs (tenant_id, ticket_id, snapshot) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![tenant_id, t.id, t.snapshot])?;
        }
        Some(expected) => {
            let updated = tx
                .prepare_cached(
                    "UPDATE tickets SET number = ?3, reporter_id = ?4, assignee = ?5, team = ?6,
                         status = ?7
                     WHERE tenant_id = ?8 AND id = ?1 AND last_seq = ?2",
                )?
                .execute(params![
                    t.id,
                    sql_seq(expected),
                    t.number,
                    t.reporter_id,
                    t.assignee,
                    t.team,
                    t.status,
                    tenant_id
                ])?;
            if updated != 1 {
                return Err(Error::Conflict);
            }
            tx.prepare_cached(
                "UPDATE docs SET snapshot = ?3 WHERE tenant_id = ?1 AND ticket_id = ?2",
            )?
            .execute(params![tenant_id, t.id, t.snapshot])?;
        }
    }
    Ok(())
}
