//! Channels, intake receipts and alert folds in SQLite: `channels`, `intake_receipts`,
//! `alert_folds` (migration 25).

use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{SqliteStore, require_tenant};
use crate::storage::{
    AlertFoldRow, AlertIn, AlertOutcome, ChannelKind, ChannelRecord, Channels, IntakeReceipt,
    Result, StatusLink, StorageError, channels,
};

const CHANNEL_COLUMNS: &str =
    "id, tenant_id, kind, name, token_hash, signing_key, actor_id, created_at, revoked_at";

fn channel_of(r: &Row<'_>) -> rusqlite::Result<ChannelRecord> {
    let kind: String = r.get(2)?;
    Ok(ChannelRecord {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        kind: ChannelKind::from_str(&kind).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, e.into())
        })?,
        name: r.get(3)?,
        token_hash: r.get(4)?,
        signing_key: r.get(5)?,
        actor_id: r.get(6)?,
        created_at: r.get(7)?,
        revoked_at: r.get(8)?,
    })
}

const FOLD_COLUMNS: &str = "tenant_id, asset, ticket_id, channel_id, opened_at, metric, count, first_at, \
     last_at, threshold, last_value, worst_value, severity, resolved_at, written_count";

fn fold_of(r: &Row<'_>) -> rusqlite::Result<AlertFoldRow> {
    Ok(AlertFoldRow {
        tenant_id: r.get(0)?,
        asset: r.get(1)?,
        ticket_id: r.get(2)?,
        channel_id: r.get(3)?,
        opened_at: r.get(4)?,
        metric: r.get(5)?,
        count: r.get(6)?,
        first_at: r.get(7)?,
        last_at: r.get(8)?,
        threshold: r.get(9)?,
        last_value: r.get(10)?,
        worst_value: r.get(11)?,
        severity: r.get(12)?,
        resolved_at: r.get(13)?,
        written_count: r.get(14)?,
    })
}

fn receipt(conn: &Connection, channel_id: &str, key: &str) -> Result<Option<IntakeReceipt>> {
    Ok(conn
        .prepare_cached(
            "SELECT tenant_id, ticket_id, outcome, at, done FROM intake_receipts
             WHERE channel_id = ?1 AND key = ?2",
        )?
        .query_row(params![channel_id, key], |r| {
            Ok(IntakeReceipt {
                channel_id: channel_id.to_owned(),
                key: key.to_owned(),
                tenant_id: r.get(0)?,
                ticket_id: r.get(1)?,
                outcome: r.get(2)?,
                at: r.get(3)?,
                done: r.get(4)?,
            })
        })
        .optional()?)
}

fn insert_receipt(conn: &Connection, r: &IntakeReceipt) -> Result<bool> {
    let inserted = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO intake_receipts
                 (channel_id, key, tenant_id, ticket_id, outcome, at, done)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            r.channel_id,
            r.key,
            r.tenant_id,
            r.ticket_id,
            r.outcome,
            r.at,
            r.done
        ])?;
    Ok(inserted == 1)
}

/// Whether the fold's ticket is still open: by its index row, or, before it has one, for the
/// grace period after the fold began.
fn fold_is_open(conn: &Connection, fold: &AlertFoldRow, now: i64) -> Result<bool> {
    let status: Option<String> = conn
        .prepare_cached("SELECT status FROM tickets WHERE tenant_id = ?1 AND id = ?2")?
        .query_row(params![fold.tenant_id, fold.ticket_id], |r| r.get(0))
        .optional()?;
    Ok(channels::fold_is_open(fold, status.as_deref(), now))
}

/// The first ticket `sql` (selecting id and status, with the tenant and one key as parameters)
/// lists that is open.
fn first_open(conn: &Connection, sql: &str, tenant: &str, key: &str) -> Result<Option<String>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![tenant, key], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (id, status) = row?;
        if channels::status_is_open(&status) {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// An open ticket about the asset that a person made (the newest), to fold a first alert into.
fn open_ticket_of_asset(conn: &Connection, tenant: &str, asset: &str) -> Result<Option<String>> {
    first_open(
        conn,
        "SELECT id, status FROM tickets WHERE tenant_id = ?1 AND asset_serial = ?2
         ORDER BY id DESC LIMIT 50",
        tenant,
        asset,
    )
}

fn save_fold(conn: &Connection, f: &AlertFoldRow) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO alert_folds ({FOLD_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
    ))?
    .execute(params![
        f.tenant_id,
        f.asset,
        f.ticket_id,
        f.channel_id,
        f.opened_at,
        f.metric,
        f.count,
        f.first_at,
        f.last_at,
        f.threshold,
        f.last_value,
        f.worst_value,
        f.severity,
        f.resolved_at,
        f.written_count
    ])?;
    Ok(())
}

impl SqliteStore {
    /// The channel whose unique `column` (`id`, `token_hash`) is `value`.
    fn channel_where(&self, column: &'static str, value: &str) -> Result<Option<ChannelRecord>> {
        self.with_reader(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {CHANNEL_COLUMNS} FROM channels WHERE {column} = ?1"
                ))?
                .query_row([value], channel_of)
                .optional()?)
        })
    }
}

impl Channels for SqliteStore {
    fn create_channel(&self, c: &ChannelRecord) -> Result<()> {
        self.write(|tx| {
            require_tenant(tx, &c.tenant_id)?;
            tx.prepare_cached(&format!(
                "INSERT INTO channels ({CHANNEL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))?
            .execute(params![
                c.id,
                c.tenant_id,
                c.kind.as_str(),
                c.name,
                c.token_hash,
                c.signing_key,
                c.actor_id,
                c.created_at,
                c.revoked_at
            ])?;
            Ok(())
        })
    }

    fn channel(&self, id: &str) -> Result<Option<ChannelRecord>> {
        self.channel_where("id", id)
    }

    fn channel_by_token(&self, token_hash: &str) -> Result<Option<ChannelRecord>> {
        self.channel_where("token_hash", token_hash)
    }

    fn channels(&self, tenant_id: &str) -> Result<Vec<ChannelRecord>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {CHANNEL_COLUMNS} FROM channels WHERE tenant_id = ?1
                 ORDER BY created_at, id"
            ))?;
            let rows = stmt.query_map([tenant_id], channel_of)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn revoke_channel(&self, tenant_id: &str, id: &str, at: i64) -> Result<bool> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE channels SET revoked_at = ?3
                     WHERE tenant_id = ?1 AND id = ?2 AND revoked_at IS NULL",
                )?
                .execute(params![tenant_id, id, at])?;
            Ok(changed == 1)
        })
    }

    fn intake_receipt(&self, channel_id: &str, key: &str) -> Result<Option<IntakeReceipt>> {
        self.with_reader(|conn| receipt(conn, channel_id, key))
    }

    fn record_intake(&self, r: &IntakeReceipt) -> Result<(IntakeReceipt, bool)> {
        self.write(|tx| {
            if insert_receipt(tx, r)? {
                return Ok((r.clone(), true));
            }
            let standing = receipt(tx, &r.channel_id, &r.key)?.ok_or_else(|| {
                StorageError::Corrupt("an intake receipt vanished inside its transaction".into())
            })?;
            Ok((standing, false))
        })
    }

    fn complete_intake(&self, channel_id: &str, key: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE intake_receipts SET done = 1 WHERE channel_id = ?1 AND key = ?2",
            )?
            .execute(params![channel_id, key])?;
            Ok(())
        })
    }

    fn retake_intake(
        &self,
        channel_id: &str,
        key: &str,
        at: i64,
        stale_before: i64,
    ) -> Result<bool> {
        self.write(|tx| {
            let taken = tx
                .prepare_cached(
                    "UPDATE intake_receipts SET at = ?3
                     WHERE channel_id = ?1 AND key = ?2 AND done = 0 AND at < ?4",
                )?
                .execute(params![channel_id, key, at, stale_before])?;
            Ok(taken == 1)
        })
    }

    fn link_contact(&self, tenant_id: &str, contact: &str, ticket_id: &str, at: i64) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO intake_contacts (tenant_id, contact, ticket_id, at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![tenant_id, contact, ticket_id, at])?;
            Ok(())
        })
    }

    fn open_ticket_of_contact(&self, tenant_id: &str, contact: &str) -> Result<Option<String>> {
        self.with_reader(|conn| {
            first_open(
                conn,
                "SELECT t.id, t.status FROM intake_contacts c
                 JOIN tickets t ON t.tenant_id = c.tenant_id AND t.id = c.ticket_id
                 WHERE c.tenant_id = ?1 AND c.contact = ?2
                 ORDER BY c.at DESC LIMIT 50",
                tenant_id,
                contact,
            )
        })
    }

    fn link_message(
        &self,
        tenant_id: &str,
        message_id: &str,
        ticket_id: &str,
        at: i64,
    ) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO intake_messages (tenant_id, message_id, ticket_id, at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![tenant_id, message_id, ticket_id, at])?;
            Ok(())
        })
    }

    fn ticket_of_messages(
        &self,
        tenant_id: &str,
        message_ids: &[String],
    ) -> Result<Option<String>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT ticket_id FROM intake_messages WHERE tenant_id = ?1 AND message_id = ?2",
            )?;
            for id in message_ids.iter().take(channels::MAX_MESSAGE_IDS) {
                if let Some(ticket) = stmt
                    .query_row(params![tenant_id, id], |r| r.get::<_, String>(0))
                    .optional()?
                {
                    return Ok(Some(ticket));
                }
            }
            Ok(None)
        })
    }

    fn create_status_link(&self, link: &StatusLink) -> Result<()> {
        self.write(|tx| {
            require_tenant(tx, &link.tenant_id)?;
            tx.prepare_cached(
                "INSERT INTO status_links (token_hash, tenant_id, ticket_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                link.token_hash,
                link.tenant_id,
                link.ticket_id,
                link.created_at,
                link.expires_at
            ])?;
            Ok(())
        })
    }

    fn status_link(&self, token_hash: &str) -> Result<Option<StatusLink>> {
        self.with_reader(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT tenant_id, ticket_id, created_at, expires_at FROM status_links
                     WHERE token_hash = ?1",
                )?
                .query_row([token_hash], |r| {
                    Ok(StatusLink {
                        token_hash: token_hash.to_owned(),
                        tenant_id: r.get(0)?,
                        ticket_id: r.get(1)?,
                        created_at: r.get(2)?,
                        expires_at: r.get(3)?,
                    })
                })
                .optional()?)
        })
    }

    fn fold_alert(&self, a: &AlertIn) -> Result<AlertOutcome> {
        self.write(|tx| {
            if let Some(before) = receipt(tx, &a.channel_id, &a.key)? {
                return Ok(AlertOutcome::Repeat(before));
            }
            let fold = tx
                .prepare_cached(&format!(
                    "SELECT {FOLD_COLUMNS} FROM alert_folds WHERE tenant_id = ?1 AND asset = ?2"
                ))?
                .query_row(params![a.tenant_id, a.asset], fold_of)
                .optional()?;
            let open = match fold {
                Some(fold) if fold_is_open(tx, &fold, a.received_at)? => Some(fold),
                _ => None,
            };
            let (outcome, name) = match channels::alert_on_fold(a, open) {
                Some(decided) => decided,
                None => channels::first_alert(a, open_ticket_of_asset(tx, &a.tenant_id, &a.asset)?),
            };
            let ticket_id = match outcome.fold() {
                Some(f) => {
                    save_fold(tx, f)?;
                    Some(f.ticket_id.clone())
                }
                None => None,
            };
            insert_receipt(
                tx,
                &IntakeReceipt {
                    channel_id: a.channel_id.clone(),
                    key: a.key.clone(),
                    tenant_id: a.tenant_id.clone(),
                    ticket_id,
                    outcome: name.to_owned(),
                    at: a.received_at,
                    done: true,
                },
            )?;
            Ok(outcome)
        })
    }

    fn alert_fold(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<AlertFoldRow>> {
        self.with_reader(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {FOLD_COLUMNS} FROM alert_folds WHERE tenant_id = ?1 AND ticket_id = ?2
                     ORDER BY opened_at DESC LIMIT 1"
                ))?
                .query_row(params![tenant_id, ticket_id], fold_of)
                .optional()?)
        })
    }

    fn alert_fold_written(&self, tenant_id: &str, ticket_id: &str, count: i64) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE alert_folds SET written_count = MAX(written_count, ?3)
                 WHERE tenant_id = ?1 AND ticket_id = ?2",
            )?
            .execute(params![tenant_id, ticket_id, count])?;
            Ok(())
        })
    }

    fn unwritten_alert_folds(&self, limit: usize) -> Result<Vec<AlertFoldRow>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {FOLD_COLUMNS} FROM alert_folds WHERE written_count < count LIMIT ?1"
            ))?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt.query_map([limit], fold_of)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
