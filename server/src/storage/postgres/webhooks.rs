//! Webhook deliveries and secrets on PostgreSQL: `webhook_deliveries`, `webhook_secrets`.

use tokio_postgres::Row;

use super::db::Db;
use super::{PgStore, require_tenant};
use crate::storage::{
    Attempt, Delivery, DeliveryState, NewDelivery, Result, StorageError, WebhookLog, seq_of,
    webhooks,
};

const COLUMNS: &str = "id, tenant_id, url, source, payload, created_at, state, attempts,
    next_attempt_at, last_status, last_error, delivered_at";

fn delivery_at(r: &Row) -> Result<Delivery> {
    let state: String = r.try_get(6)?;
    let Some(state) = DeliveryState::parse(&state) else {
        return Err(StorageError::Corrupt(
            "a webhook delivery in an unknown state".into(),
        ));
    };
    Ok(Delivery {
        id: seq_of(r.try_get(0)?),
        tenant_id: r.try_get(1)?,
        url: r.try_get(2)?,
        source: r.try_get(3)?,
        payload: r.try_get(4)?,
        created_at: r.try_get(5)?,
        state,
        attempts: u32::try_from(r.try_get::<_, i64>(7)?).unwrap_or(u32::MAX),
        next_attempt_at: r.try_get(8)?,
        last_status: r
            .try_get::<_, Option<i64>>(9)?
            .and_then(|s| u16::try_from(s).ok()),
        last_error: r.try_get(10)?,
        delivered_at: r.try_get(11)?,
    })
}

/// Queues each delivery after checking its tenant exists ([`crate::storage::Missing::Tenant`]
/// otherwise, nothing queued), so no constraint error is needed to tell.
fn enqueue_deliveries(db: &Db, deliveries: &[NewDelivery]) -> Result<Vec<u64>> {
    let mut checked: Option<&str> = None;
    let mut ids = Vec::with_capacity(deliveries.len());
    for d in deliveries {
        if checked != Some(d.tenant_id.as_str()) {
            require_tenant(db, &d.tenant_id)?;
            checked = Some(&d.tenant_id);
        }
        let id: i64 = db
            .query_one(
                "INSERT INTO webhook_deliveries (tenant_id, url, source, payload, created_at,
                     next_attempt_at)
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                &[&d.tenant_id, &d.url, &d.source, &d.payload, &d.created_at],
            )?
            .try_get(0)?;
        ids.push(seq_of(id));
    }
    Ok(ids)
}

/// The due deliveries, taken with `FOR UPDATE SKIP LOCKED` in a short write transaction.
///
/// Several replicas run the delivery loop. The trait's contract is a read (the loop then POSTs
/// and records each attempt in later transactions), so no row lock can be held across the POST,
/// and two replicas polling a second apart may both pick a delivery and send it twice: the
/// delivery is at least once by design (`Fieldwork-Delivery` lets a receiver drop the repeat),
/// and [`WebhookLog::record_attempt`] only changes a delivery still pending, so a delivered one
/// stays delivered. What `SKIP LOCKED` does give: rows another transaction holds right now — a
/// replica recording an attempt, or picking the same rows at the same instant — are left out
/// instead of waited for or picked twice. Exclusive picking across the POST would need a lease
/// the trait does not have (a picker that moves `next_attempt_at` on as it picks).
fn due_deliveries(db: &Db, now: i64, limit: usize) -> Result<Vec<Delivery>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let sql = format!(
        "SELECT {COLUMNS} FROM webhook_deliveries
         WHERE state = 'pending' AND next_attempt_at <= $1
         ORDER BY next_attempt_at, id LIMIT $2
         FOR UPDATE SKIP LOCKED"
    );
    db.query(&sql, &[&now, &limit])?
        .iter()
        .map(delivery_at)
        .collect()
}

/// Records one attempt; a delivery no longer pending (delivered or given up, by this replica or
/// another) is left as it is.
fn record_attempt(db: &Db, id: u64, attempt: &Attempt) -> Result<()> {
    let (state, next_at, delivered_at) = webhooks::after_attempt(attempt);
    db.execute(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, state = $2,
             next_attempt_at = $3, last_status = $4, last_error = $5, delivered_at = $6
         WHERE id = $1 AND state = 'pending'",
        &[
            &i64::try_from(id).unwrap_or(i64::MAX),
            &state.as_str(),
            &next_at,
            &attempt.status.map(i64::from),
            &attempt.error,
            &delivered_at,
        ],
    )?;
    Ok(())
}

fn deliveries(db: &Db, tenant_id: &str, limit: usize) -> Result<Vec<Delivery>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let sql = format!(
        "SELECT {COLUMNS} FROM webhook_deliveries WHERE tenant_id = $1
         ORDER BY id DESC LIMIT $2"
    );
    db.query(&sql, &[&tenant_id, &limit])?
        .iter()
        .map(delivery_at)
        .collect()
}

/// Keeps `fresh` unless the tenant has a secret; a parallel first call waits for the other's
/// insert and then reads the secret it kept.
fn webhook_secret(db: &Db, tenant_id: &str, fresh: &str, at: i64) -> Result<String> {
    require_tenant(db, tenant_id)?;
    db.execute(
        "INSERT INTO webhook_secrets (tenant_id, secret, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id) DO NOTHING",
        &[&tenant_id, &fresh, &at],
    )?;
    Ok(db
        .query_one(
            "SELECT secret FROM webhook_secrets WHERE tenant_id = $1",
            &[&tenant_id],
        )?
        .try_get(0)?)
}

fn rotate_webhook_secret(db: &Db, tenant_id: &str, secret: &str, at: i64) -> Result<()> {
    require_tenant(db, tenant_id)?;
    db.execute(
        "INSERT INTO webhook_secrets (tenant_id, secret, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id) DO UPDATE SET secret = excluded.secret,
             created_at = excluded.created_at",
        &[&tenant_id, &secret, &at],
    )?;
    Ok(())
}

impl WebhookLog for PgStore {
    fn enqueue_deliveries(&self, deliveries: &[NewDelivery]) -> Result<Vec<u64>> {
        self.write(|db| enqueue_deliveries(db, deliveries))
    }

    fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<Delivery>> {
        self.write(|db| due_deliveries(db, now, limit))
    }

    fn record_attempt(&self, id: u64, attempt: &Attempt) -> Result<()> {
        self.write(|db| record_attempt(db, id, attempt))
    }

    fn deliveries(&self, tenant_id: &str, limit: usize) -> Result<Vec<Delivery>> {
        self.with_reader(|db| deliveries(db, tenant_id, limit))
    }

    fn webhook_secret(&self, tenant_id: &str, fresh: &str, at: i64) -> Result<String> {
        self.write(|db| webhook_secret(db, tenant_id, fresh, at))
    }

    fn rotate_webhook_secret(&self, tenant_id: &str, secret: &str, at: i64) -> Result<()> {
        self.write(|db| rotate_webhook_secret(db, tenant_id, secret, at))
    }
}
