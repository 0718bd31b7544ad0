//! Delivering webhooks (`docs/brain.md`, "Webhooks"). The brain queues each POST its decisions
//! ask for (`WebhookLog`) before it stores the decision, so a delivery is never lost to a crash
//! or to a receiver that is down. This task sends what is due: a JSON body, signed with the
//! tenant's secret, retried with backoff until a receiver answers 2xx or a day has passed, every
//! attempt recorded. Receivers that are down never block anything else: pushes do not wait for
//! deliveries, and one slow receiver only delays the deliveries behind it in one round.
//!
//! The signature: `Fieldwork-Signature: sha256=HEX`, the HMAC-SHA256 with the tenant's secret
//! of `TIMESTAMP.BODY`, where `TIMESTAMP` is the `Fieldwork-Timestamp` header (milliseconds since
//! the Unix epoch). A receiver recomputes it, compares in constant time, and refuses old
//! timestamps (a replay). `Fieldwork-Delivery` is the delivery's id: the same id may come twice
//! (at least once), so a receiver keeps the ids it handled.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::state::{AppState, blocking};
use crate::storage::{Attempt, AttemptNext, Delivery};
use crate::tasks::StopToken;

pub const SIGNATURE_HEADER: &str = "fieldwork-signature";
pub const TIMESTAMP_HEADER: &str = "fieldwork-timestamp";
pub const DELIVERY_HEADER: &str = "fieldwork-delivery";

/// How often the task looks for due deliveries.
const POLL: Duration = Duration::from_secs(1);
/// Deliveries sent per round.
const BATCH: usize = 32;
/// How long one receiver may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait between two attempts.
const MAX_BACKOFF_MS: i64 = 60 * 60 * 1000;
/// After this long without a 2xx, a delivery is given up (and stays in the log).
pub const GIVE_UP_AFTER_MS: i64 = 24 * 60 * 60 * 1000;
/// The first retry waits this long by default; each next one twice as long.
pub const DEFAULT_RETRY_MS: i64 = 10_000;

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// The `Fieldwork-Signature` value of a delivery: `sha256=` and the hex HMAC of
/// `TIMESTAMP.BODY`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = timestamp.to_string().into_bytes();
    message.push(b'.');
    message.extend_from_slice(body);
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), &message))
    )
}

/// When to try again after `attempts` failed attempts, or `None` to give up.
fn next_attempt(delivery: &Delivery, attempts: u32, now: i64, base_ms: i64) -> Option<i64> {
    if now.saturating_sub(delivery.created_at) >= GIVE_UP_AFTER_MS {
        return None;
    }
    let exponent = attempts.saturating_sub(1).min(20);
    let wait = base_ms
        .saturating_mul(1_i64 << exponent)
        .min(MAX_BACKOFF_MS);
    Some(now.saturating_add(wait))
}

/// A new secret for a tenant: 32 random bytes, hex.
pub fn new_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The client deliveries go out with, built once: a timeout, no redirects (a receiver that moved
/// says so in the log; following it could lead anywhere).
fn client() -> Result<&'static reqwest::Client, Error> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("fieldwork-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Task(format!("the webhook client cannot be built: {e}")))?;
    Ok(CLIENT.get_or_init(|| client))
}

/// Sends one delivery; returns the receiver's status, or why there was none.
async fn send(
    client: &reqwest::Client,
    delivery: &Delivery,
    secret: &str,
    now: i64,
) -> Result<u16, String> {
    let body = delivery.payload.clone().into_bytes();
    let answer = client
        .post(&delivery.url)
        .header("content-type", "application/json")
        .header(DELIVERY_HEADER, delivery.id.to_string())
        .header(TIMESTAMP_HEADER, now.to_string())
        .header(SIGNATURE_HEADER, signature(secret, now, &body))
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "the receiver did not answer in time".to_owned()
            } else if e.is_connect() {
                "the receiver could not be reached".to_owned()
            } else {
                "the request failed".to_owned()
            }
        })?;
    Ok(answer.status().as_u16())
}

/// Sends every delivery due now, one round ([`BATCH`] at most); returns how many were sent
/// successfully. What the task does every second (tests and tools call it directly).
pub async fn deliver_due(state: &AppState) -> Result<usize, Error> {
    let (store, now) = (state.store(), state.now_ms());
    let due = blocking(move || Ok::<_, Error>(store.due_deliveries(now, BATCH)?)).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let client = client()?;
    let base = state.webhook_retry_ms();
    let mut delivered = 0;
    // Each tenant's secret, read once per round.
    let mut secrets: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for delivery in due {
        let secret = match secrets.get(&delivery.tenant_id) {
            Some(secret) => secret.clone(),
            None => {
                let (store, tenant) = (state.store(), delivery.tenant_id.clone());
                let secret = blocking(move || {
                    Ok::<_, Error>(store.webhook_secret(&tenant, &new_secret(), now)?)
                })
                .await?;
                secrets.insert(delivery.tenant_id.clone(), secret.clone());
                secret
            }
        };
        let now = state.now_ms();
        let outcome = send(client, &delivery, &secret, now).await;
        let attempts = delivery.attempts + 1;
        let (status, error) = match &outcome {
            Ok(status) => (Some(*status), None),
            Err(why) => (None, Some(why.clone())),
        };
        let next = match outcome {
            Ok(status) if (200..300).contains(&status) => {
                delivered += 1;
                AttemptNext::Delivered
            }
            _ => match next_attempt(&delivery, attempts, now, base) {
                Some(at) => AttemptNext::RetryAt(at),
                None => AttemptNext::GiveUp,
            },
        };
        if next == AttemptNext::GiveUp {
            tracing::warn!(tenant = %delivery.tenant_id, delivery = delivery.id, "a webhook delivery was given up after a day of attempts");
        }
        let store = state.store();
        let id = delivery.id;
        let attempt = Attempt {
            at: now,
            status,
            error,
            next,
        };
        blocking(move || Ok::<_, Error>(store.record_attempt(id, &attempt)?)).await?;
    }
    Ok(delivered)
}

/// The delivery task: a round every second until the server stops.
pub(crate) async fn run(state: AppState, mut stop: StopToken) {
    let mut rounds = tokio::time::interval(POLL);
    rounds.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = rounds.tick() => {
                if let Err(error) = deliver_due(&state).await {
                    tracing::warn!(%error, "a webhook round failed; the next one tries again");
                }
            }
            () = stop.stopped() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn retries_back_off_and_stop_after_a_day() {
        let delivery = Delivery {
            id: 1,
            tenant_id: "t".into(),
            url: "http://x".into(),
            source: "r".into(),
            payload: "{}".into(),
            created_at: 0,
            state: crate::storage::DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: 0,
            last_status: None,
            last_error: None,
            delivered_at: None,
        };
        assert_eq!(next_attempt(&delivery, 1, 100, 10_000), Some(10_100));
        assert_eq!(next_attempt(&delivery, 3, 100, 10_000), Some(40_100));
        assert_eq!(
            next_attempt(&delivery, 30, 100, 10_000),
            Some(100 + MAX_BACKOFF_MS)
        );
        assert_eq!(next_attempt(&delivery, 2, GIVE_UP_AFTER_MS, 10_000), None);
    }
}
