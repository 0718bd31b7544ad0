//! Webhook deliveries and secrets in SQLite: `webhook_deliveries`, `webhook_secrets`.

use rusqlite::params;

use super::{SqliteStore, require_tenant, seq_of};
use crate::storage::{
    Attempt, Delivery, DeliveryState, Missing, NewDelivery, Result, StorageError, WebhookLog,
    webhooks,
};

const COLUMNS: &str = "id, tenant_id, url, source, payload, created_at, state, attempts,
    next_attempt_at, last_status, last_error, delivered_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Delivery>> {
    let state: String = r.get(6)?;
    let Some(state) = DeliveryState::parse(&state) else {
        return Ok(Err(StorageError::Corrupt(
            "a webhook delivery in an unknown state".into(),
        )));
    };
    Ok(Ok(Delivery {
        id: seq_of(r.get(0)?),
        tenant_id: r.get(1)?,
        url: r.get(2)?,
        source: r.get(3)?,
        payload: r.get(4)?,
        created_at: r.get(5)?,
        state,
        attempts: u32::try_from(r.get::<_, i64>(7)?).unwrap_or(u32::MAX),
        next_attempt_at: r.get(8)?,
        last_status: r
            .get::<_, Option<i64>>(9)?
            .and_then(|s| u16::try_from(s).ok()),
        last_error: r.get(10)?,
        delivered_at: r.get(11)?,
    }))
}

impl WebhookLog for SqliteStore {
    fn enqueue_deliveries(&self, deliveries: &[NewDelivery]) -> Result<Vec<u64>> {
        self.write(|tx| {
            let mut insert = tx.prepare_cached(
                "INSERT INTO webhook_deliveries (tenant_id, url, source, payload, created_at, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
            )?;
            let mut ids = Vec::with_capacity(deliveries.len());
            for d in deliveries {
                let id: i64 = insert
                    .query_row(
                        params![d.tenant_id, d.url, d.source, d.payload, d.created_at],
                        |r| r.get(0),
                    )
                    .map_err(|e| match e {
                        rusqlite::Error::SqliteFailure(f, _)
                            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                        {
                            StorageError::NotFound(Missing::Tenant)
                        }
                        other => other.into(),
                    })?;
                ids.push(seq_of(id));
            }
            Ok(ids)
        })
    }

    fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<Delivery>> {
        self.with_reader(|conn| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM webhook_deliveries
                     WHERE state = 'pending' AND next_attempt_at <= ?1
                     ORDER BY next_attempt_at, id LIMIT ?2"
                ))?
                .query_map(params![now, limit], row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().collect()
        })
    }

    fn record_attempt(&self, id: u64, attempt: &Attempt) -> Result<()> {
        let (state, next_at, delivered_at) = webhooks::after_attempt(attempt);
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?2,
                     next_attempt_at = ?3, last_status = ?4, last_error = ?5, delivered_at = ?6
                 WHERE id = ?1 AND state = 'pending'",
            )?
            .execute(params![
                i64::try_from(id).unwrap_or(i64::MAX),
                state.as_str(),
                next_at,
                attempt.status,
                attempt.error,
                delivered_at
            ])?;
            Ok(())
        })
    }

    fn deliveries(&self, tenant_id: &str, limit: usize) -> Result<Vec<Delivery>> {
        self.with_reader(|conn| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM webhook_deliveries WHERE tenant_id = ?1
                     ORDER BY id DESC LIMIT ?2"
                ))?
                .query_map(params![tenant_id, limit], row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().collect()
        })
    }

    fn webhook_secret(&self, tenant_id: &str, fresh: &str, at: i64) -> Result<String> {
        self.write(|tx| {
            require_tenant(tx, tenant_id)?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO webhook_secrets (tenant_id, secret, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![tenant_id, fresh, at])?;
            Ok(tx
                .prepare_cached("SELECT secret FROM webhook_secrets WHERE tenant_id = ?1")?
                .query_row([tenant_id], |r| r.get(0))?)
        })
    }

    fn rotate_webhook_secret(&self, tenant_id: &str, secret: &str, at: i64) -> Result<()> {
        self.write(|tx| {
            require_tenant(tx, tenant_id)?;
            tx.prepare_cached(
                "INSERT INTO webhook_secrets (tenant_id, secret, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant_id) DO UPDATE SET secret = excluded.secret,
                     created_at = excluded.created_at",
            )?
            .execute(params![tenant_id, secret, at])?;
            Ok(())
        })
    }
}
