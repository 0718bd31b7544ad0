//! Channels, intake receipts, contacts, message links, status links and alert folds on
//! PostgreSQL: `channels`, `intake_receipts`, `intake_contacts`, `intake_messages`,
//! `status_links`, `alert_folds` (`sql/0004_channels.sql`).
//!
//! Several servers may take the same delivery at once: a receipt is claimed with
//! `INSERT ... ON CONFLICT DO NOTHING`, which waits for a racing claimer and lets exactly one win.
//! Alerts of one asset fold one at a time: the fold row is locked (`FOR UPDATE`), or, when the
//! asset has none yet, inserted only if still absent (else read again, locked).

use std::str::FromStr;

use tokio_postgres::Row;

use super::db::Db;
use super::{PgStore, require_tenant};
use crate::storage::{
    AlertFoldRow, AlertIn, AlertOutcome, ChannelKind, ChannelRecord, Channels, IntakeReceipt,
    Result, StatusLink, StorageError, channels,
};

const CHANNEL_COLUMNS: &str =
    "id, tenant_id, kind, name, token_hash, signing_key, actor_id, created_at, revoked_at";

/// How many times an alert tries to start its asset's fold when racing alerts keep starting it.
const FOLD_ATTEMPTS: usize = 4;

fn channel_of(r: &Row) -> Result<ChannelRecord> {
    let kind: String = r.try_get(2)?;
    Ok(ChannelRecord {
        id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        kind: ChannelKind::from_str(&kind)
            .map_err(|_| StorageError::Corrupt(format!("a channel's kind is '{kind}'")))?,
        name: r.try_get(3)?,
        token_hash: r.try_get(4)?,
        signing_key: r.try_get(5)?,
        actor_id: r.try_get(6)?,
        created_at: r.try_get(7)?,
        revoked_at: r.try_get(8)?,
    })
}

const FOLD_COLUMNS: &str = "tenant_id, asset, ticket_id, channel_id, opened_at, metric, count, first_at, \
     last_at, threshold, last_value, worst_value, severity, resolved_at, written_count";

fn fold_of(r: &Row) -> Result<AlertFoldRow> {
    Ok(AlertFoldRow {
        tenant_id: r.try_get(0)?,
        asset: r.try_get(1)?,
        ticket_id: r.try_get(2)?,
        channel_id: r.try_get(3)?,
        opened_at: r.try_get(4)?,
        metric: r.try_get(5)?,
        count: r.try_get(6)?,
        first_at: r.try_get(7)?,
        last_at: r.try_get(8)?,
        threshold: r.try_get(9)?,
        last_value: r.try_get(10)?,
        worst_value: r.try_get(11)?,
        severity: r.try_get(12)?,
        resolved_at: r.try_get(13)?,
        written_count: r.try_get(14)?,
    })
}

fn receipt(db: &Db, channel_id: &str, key: &str) -> Result<Option<IntakeReceipt>> {
    let Some(r) = db.query_opt(
        "SELECT tenant_id, ticket_id, outcome, at, done FROM intake_receipts
         WHERE channel_id = $1 AND key = $2",
        &[&channel_id, &key],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(IntakeReceipt {
        channel_id: channel_id.to_owned(),
        key: key.to_owned(),
        tenant_id: r.try_get(0)?,
        ticket_id: r.try_get(1)?,
        outcome: r.try_get(2)?,
        at: r.try_get(3)?,
        done: r.try_get(4)?,
    }))
}

/// Records `r` unless its channel has a receipt for its key; whether it did. A receipt another
/// transaction is recording meanwhile is waited for: of two, exactly one records.
fn insert_receipt(db: &Db, r: &IntakeReceipt) -> Result<bool> {
    let inserted = db.query_opt(
        "INSERT INTO intake_receipts (channel_id, key, tenant_id, ticket_id, outcome, at, done)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (channel_id, key) DO NOTHING
         RETURNING 1",
        &[
            &r.channel_id,
            &r.key,
            &r.tenant_id,
            &r.ticket_id,
            &r.outcome,
            &r.at,
            &r.done,
        ],
    )?;
    Ok(inserted.is_some())
}

/// The receipt that stands for `channel_id`/`key` after [`insert_receipt`] recorded nothing.
fn standing_receipt(db: &Db, channel_id: &str, key: &str) -> Result<IntakeReceipt> {
    receipt(db, channel_id, key)?.ok_or_else(|| {
        StorageError::Corrupt("an intake receipt vanished inside its transaction".into())
    })
}

/// Whether the fold's ticket is still open: by its index row, or, before it has one, for the
/// grace period after the fold began.
fn fold_is_open(db: &Db, fold: &AlertFoldRow, now: i64) -> Result<bool> {
    let status = db.query_opt(
        "SELECT status FROM tickets WHERE tenant_id = $1 AND id = $2",
        &[&fold.tenant_id, &fold.ticket_id],
    )?;
    let status: Option<String> = status.map(|row| row.try_get(0)).transpose()?;
    Ok(channels::fold_is_open(fold, status.as_deref(), now))
}

/// The first of `rows` (id, status) that is open.
fn first_open(rows: &[Row]) -> Result<Option<String>> {
    for row in rows {
        let status: String = row.try_get(1)?;
        if channels::status_is_open(&status) {
            return Ok(Some(row.try_get(0)?));
        }
    }
    Ok(None)
}

/// An open ticket about the asset that a person made (the newest), to fold a first alert into.
fn open_ticket_of_asset(db: &Db, tenant: &str, asset: &str) -> Result<Option<String>> {
    let rows = db.query(
        "SELECT id, status FROM tickets WHERE tenant_id = $1 AND asset_serial = $2
         ORDER BY id DESC LIMIT 50",
        &[&tenant, &asset],
    )?;
    first_open(&rows)
}

/// The asset's fold, locked until the transaction ends.
fn lock_fold(db: &Db, tenant: &str, asset: &str) -> Result<Option<AlertFoldRow>> {
    db.query_opt(
        &format!(
            "SELECT {FOLD_COLUMNS} FROM alert_folds WHERE tenant_id = $1 AND asset = $2
             FOR UPDATE"
        ),
        &[&tenant, &asset],
    )?
    .as_ref()
    .map(fold_of)
    .transpose()
}

/// Stores `f` over its asset's fold, which the caller holds locked.
fn replace_fold(db: &Db, f: &AlertFoldRow) -> Result<()> {
    db.execute(
        "UPDATE alert_folds SET ticket_id = $3, channel_id = $4, opened_at = $5, metric = $6,
             count = $7, first_at = $8, last_at = $9, threshold = $10, last_value = $11,
             worst_value = $12, severity = $13, resolved_at = $14, written_count = $15
         WHERE tenant_id = $1 AND asset = $2",
        &[
            &f.tenant_id,
            &f.asset,
            &f.ticket_id,
            &f.channel_id,
            &f.opened_at,
            &f.metric,
            &f.count,
            &f.first_at,
            &f.last_at,
            &f.threshold,
            &f.last_value,
            &f.worst_value,
            &f.severity,
            &f.resolved_at,
            &f.written_count,
        ],
    )?;
    Ok(())
}

/// Stores `f` as its asset's first fold unless another alert stored one meanwhile (waited
/// for); whether it did.
fn insert_fold(db: &Db, f: &AlertFoldRow) -> Result<bool> {
    let inserted = db.query_opt(
        &format!(
            "INSERT INTO alert_folds ({FOLD_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT (tenant_id, asset) DO NOTHING
             RETURNING 1"
        ),
        &[
            &f.tenant_id,
            &f.asset,
            &f.ticket_id,
            &f.channel_id,
            &f.opened_at,
            &f.metric,
            &f.count,
            &f.first_at,
            &f.last_at,
            &f.threshold,
            &f.last_value,
            &f.worst_value,
            &f.severity,
            &f.resolved_at,
            &f.written_count,
        ],
    )?;
    Ok(inserted.is_some())
}

/// What alert `a` does to its asset's fold (as it stands, `None` if there is none), and the
/// outcome its receipt records.
fn decide(
    db: &Db,
    a: &AlertIn,
    fold: Option<AlertFoldRow>,
) -> Result<(AlertOutcome, &'static str)> {
    let open = match fold {
        Some(fold) if fold_is_open(db, &fold, a.received_at)? => Some(fold),
        _ => None,
    };
    Ok(match channels::alert_on_fold(a, open) {
        Some(decided) => decided,
        None => channels::first_alert(a, open_ticket_of_asset(db, &a.tenant_id, &a.asset)?),
    })
}

/// Folds `a` into its asset's fold, whose receipt the caller holds: decides on the fold as it
/// stands, locked, and stores the result. An asset with no fold gets one unless a racing alert
/// started it first; then the alert is decided again on that one.
fn fold_into_asset(db: &Db, a: &AlertIn) -> Result<(AlertOutcome, &'static str)> {
    for _ in 0..FOLD_ATTEMPTS {
        let fold = lock_fold(db, &a.tenant_id, &a.asset)?;
        let existed = fold.is_some();
        let (outcome, name) = decide(db, a, fold)?;
        let stored = match outcome.fold() {
            Some(f) if existed => {
                replace_fold(db, f)?;
                true
            }
            Some(f) => insert_fold(db, f)?,
            None => true,
        };
        if stored {
            return Ok((outcome, name));
        }
    }
    Err(StorageError::backend(
        "an asset's alert fold kept changing under this alert; retry",
    ))
}

impl PgStore {
    /// The channel whose unique `column` (`id`, `token_hash`) is `value`.
    fn channel_where(&self, column: &'static str, value: &str) -> Result<Option<ChannelRecord>> {
        self.with_reader(|db| {
            db.query_opt(
                &format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE {column} = $1"),
                &[&value],
            )?
            .as_ref()
            .map(channel_of)
            .transpose()
        })
    }
}

impl Channels for PgStore {
    fn create_channel(&self, c: &ChannelRecord) -> Result<()> {
        self.write(|db| {
            require_tenant(db, &c.tenant_id)?;
            db.execute(
                &format!(
                    "INSERT INTO channels ({CHANNEL_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ),
                &[
                    &c.id,
                    &c.tenant_id,
                    &c.kind.as_str(),
                    &c.name,
                    &c.token_hash,
                    &c.signing_key,
                    &c.actor_id,
                    &c.created_at,
                    &c.revoked_at,
                ],
            )?;
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
        self.with_reader(|db| {
            db.query(
                &format!(
                    "SELECT {CHANNEL_COLUMNS} FROM channels WHERE tenant_id = $1
                     ORDER BY created_at, id"
                ),
                &[&tenant_id],
            )?
            .iter()
            .map(channel_of)
            .collect()
        })
    }

    fn revoke_channel(&self, tenant_id: &str, id: &str, at: i64) -> Result<bool> {
        self.write(|db| {
            let changed = db.execute(
                "UPDATE channels SET revoked_at = $3
                 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
                &[&tenant_id, &id, &at],
            )?;
            Ok(changed == 1)
        })
    }

    fn intake_receipt(&self, channel_id: &str, key: &str) -> Result<Option<IntakeReceipt>> {
        self.with_reader(|db| receipt(db, channel_id, key))
    }

    fn record_intake(&self, r: &IntakeReceipt) -> Result<(IntakeReceipt, bool)> {
        self.write(|db| {
            if insert_receipt(db, r)? {
                return Ok((r.clone(), true));
            }
            Ok((standing_receipt(db, &r.channel_id, &r.key)?, false))
        })
    }

    fn complete_intake(&self, channel_id: &str, key: &str) -> Result<()> {
        self.write(|db| {
            db.execute(
                "UPDATE intake_receipts SET done = TRUE WHERE channel_id = $1 AND key = $2",
                &[&channel_id, &key],
            )?;
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
        // Of two racing retakes, the second waits for the first's row lock and then finds the
        // receipt no longer stale.
        self.write(|db| {
            let taken = db.execute(
                "UPDATE intake_receipts SET at = $3
                 WHERE channel_id = $1 AND key = $2 AND NOT done AND at < $4",
                &[&channel_id, &key, &at, &stale_before],
            )?;
            Ok(taken == 1)
        })
    }

    fn link_contact(&self, tenant_id: &str, contact: &str, ticket_id: &str, at: i64) -> Result<()> {
        self.write(|db| {
            db.execute(
                "INSERT INTO intake_contacts (tenant_id, contact, ticket_id, at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tenant_id, contact, ticket_id) DO NOTHING",
                &[&tenant_id, &contact, &ticket_id, &at],
            )?;
            Ok(())
        })
    }

    fn open_ticket_of_contact(&self, tenant_id: &str, contact: &str) -> Result<Option<String>> {
        self.with_reader(|db| {
            let rows = db.query(
                "SELECT t.id, t.status FROM intake_contacts c
                 JOIN tickets t ON t.tenant_id = c.tenant_id AND t.id = c.ticket_id
                 WHERE c.tenant_id = $1 AND c.contact = $2
                 ORDER BY c.at DESC LIMIT 50",
                &[&tenant_id, &contact],
            )?;
            first_open(&rows)
        })
    }

    fn link_message(
        &self,
        tenant_id: &str,
        message_id: &str,
        ticket_id: &str,
        at: i64,
    ) -> Result<()> {
        self.write(|db| {
            db.execute(
                "INSERT INTO intake_messages (tenant_id, message_id, ticket_id, at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tenant_id, message_id) DO NOTHING",
                &[&tenant_id, &message_id, &ticket_id, &at],
            )?;
            Ok(())
        })
    }

    fn ticket_of_messages(
        &self,
        tenant_id: &str,
        message_ids: &[String],
    ) -> Result<Option<String>> {
        let ids: Vec<&str> = message_ids
            .iter()
            .take(channels::MAX_MESSAGE_IDS)
            .map(String::as_str)
            .collect();
        if ids.is_empty() {
            return Ok(None);
        }
        let rows = self.with_reader(|db| {
            Ok(db.query(
                "SELECT message_id, ticket_id FROM intake_messages
                 WHERE tenant_id = $1 AND message_id = ANY($2)",
                &[&tenant_id, &ids],
            )?)
        })?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            found.push((row.try_get::<_, String>(0)?, row.try_get::<_, String>(1)?));
        }
        // The first of the ids asked about that a ticket took.
        Ok(ids.iter().find_map(|id| {
            found
                .iter()
                .find(|(message_id, _)| message_id == id)
                .map(|(_, ticket)| ticket.clone())
        }))
    }

    fn create_status_link(&self, link: &StatusLink) -> Result<()> {
        self.write(|db| {
            require_tenant(db, &link.tenant_id)?;
            db.execute(
                "INSERT INTO status_links (token_hash, tenant_id, ticket_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &link.token_hash,
                    &link.tenant_id,
                    &link.ticket_id,
                    &link.created_at,
                    &link.expires_at,
                ],
            )?;
            Ok(())
        })
    }

    fn status_link(&self, token_hash: &str) -> Result<Option<StatusLink>> {
        self.with_reader(|db| {
            let Some(r) = db.query_opt(
                "SELECT tenant_id, ticket_id, created_at, expires_at FROM status_links
                 WHERE token_hash = $1",
                &[&token_hash],
            )?
            else {
                return Ok(None);
            };
            Ok(Some(StatusLink {
                token_hash: token_hash.to_owned(),
                tenant_id: r.try_get(0)?,
                ticket_id: r.try_get(1)?,
                created_at: r.try_get(2)?,
                expires_at: r.try_get(3)?,
            }))
        })
    }

    /// Claims the delivery's receipt first (a racing delivery of the same key waits, then finds
    /// it and repeats), then folds under the asset's fold lock, then fills the receipt in.
    fn fold_alert(&self, a: &AlertIn) -> Result<AlertOutcome> {
        self.write(|db| {
            let claim = IntakeReceipt {
                channel_id: a.channel_id.clone(),
                key: a.key.clone(),
                tenant_id: a.tenant_id.clone(),
                ticket_id: None,
                outcome: "ignored".to_owned(),
                at: a.received_at,
                done: true,
            };
            if !insert_receipt(db, &claim)? {
                return Ok(AlertOutcome::Repeat(standing_receipt(
                    db,
                    &a.channel_id,
                    &a.key,
                )?));
            }
            let (outcome, name) = fold_into_asset(db, a)?;
            let ticket_id = outcome.fold().map(|f| f.ticket_id.as_str());
            db.execute(
                "UPDATE intake_receipts SET ticket_id = $3, outcome = $4
                 WHERE channel_id = $1 AND key = $2",
                &[&a.channel_id, &a.key, &ticket_id, &name],
            )?;
            Ok(outcome)
        })
    }

    fn alert_fold(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<AlertFoldRow>> {
        self.with_reader(|db| {
            db.query_opt(
                &format!(
                    "SELECT {FOLD_COLUMNS} FROM alert_folds WHERE tenant_id = $1 AND ticket_id = $2
                     ORDER BY opened_at DESC LIMIT 1"
                ),
                &[&tenant_id, &ticket_id],
            )?
            .as_ref()
            .map(fold_of)
            .transpose()
        })
    }

    fn alert_fold_written(&self, tenant_id: &str, ticket_id: &str, count: i64) -> Result<()> {
        self.write(|db| {
            db.execute(
                "UPDATE alert_folds SET written_count = GREATEST(written_count, $3)
                 WHERE tenant_id = $1 AND ticket_id = $2",
                &[&tenant_id, &ticket_id, &count],
            )?;
            Ok(())
        })
    }

    fn unwritten_alert_folds(&self, limit: usize) -> Result<Vec<AlertFoldRow>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_reader(|db| {
            db.query(
                &format!(
                    "SELECT {FOLD_COLUMNS} FROM alert_folds WHERE written_count < count LIMIT $1"
                ),
                &[&limit],
            )?
            .iter()
            .map(fold_of)
            .collect()
        })
    }
}
