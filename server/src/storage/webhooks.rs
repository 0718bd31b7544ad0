//! Webhook deliveries (`docs/brain.md`, "Webhooks"): each POST the brain asks for is queued here
//! before its decision is stored, so a receiver that is down loses nothing. Every attempt is
//! recorded (the delivery log), and each tenant has the secret its deliveries are signed with.

use serde::Serialize;

use super::Result;

/// A delivery to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub tenant_id: String,
    pub url: String,
    /// The rule or policy that asked for it.
    pub source: String,
    /// The JSON body.
    pub payload: String,
    /// Server time; the first attempt is due then.
    pub created_at: i64,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Attempts ran out; nothing more is tried.
    GaveUp,
}

impl DeliveryState {
    /// As stored (`webhook_deliveries.state`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::GaveUp => "gave_up",
        }
    }

    /// A stored state ([`Self::as_str`]); `None` for one this build does not know.
    pub(crate) fn parse(text: &str) -> Option<DeliveryState> {
        match text {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "gave_up" => Some(DeliveryState::GaveUp),
            _ => None,
        }
    }
}

/// A queued delivery and how its attempts went (a row of the delivery log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub id: u64,
    pub tenant_id: String,
    pub url: String,
    pub source: String,
    pub payload: String,
    pub created_at: i64,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: i64,
    /// The HTTP status of the last attempt, if one answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed (a connection error, a timeout), never the receiver's body.
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// What now: delivered, another attempt at a time, or no more.
    pub next: AttemptNext,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptNext {
    Delivered,
    RetryAt(i64),
    GiveUp,
}

/// What recording `attempt` makes of its delivery: its state, when it is next due, and when it
/// was delivered (set only by a delivery).
pub(crate) fn after_attempt(attempt: &Attempt) -> (DeliveryState, i64, Option<i64>) {
    match attempt.next {
        AttemptNext::Delivered => (DeliveryState::Delivered, attempt.at, Some(attempt.at)),
        AttemptNext::RetryAt(at) => (DeliveryState::Pending, at, None),
        AttemptNext::GiveUp => (DeliveryState::GaveUp, attempt.at, None),
    }
}

/// Webhook deliveries and secrets. Every method is one transaction.
pub trait WebhookLog {
    /// Queues deliveries; returns their ids, in order.
    fn enqueue_deliveries(&self, deliveries: &[NewDelivery]) -> Result<Vec<u64>>;
    /// At most `limit` pending deliveries due at or before `now` (any tenant), oldest due first.
    fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<Delivery>>;
    /// Records one attempt of delivery `id`.
    fn record_attempt(&self, id: u64, attempt: &Attempt) -> Result<()>;
    /// The tenant's delivery log, newest first.
    fn deliveries(&self, tenant_id: &str, limit: usize) -> Result<Vec<Delivery>>;
    /// The tenant's signing secret; made (from `fresh`) and kept the first time it is asked for.
    fn webhook_secret(&self, tenant_id: &str, fresh: &str, at: i64) -> Result<String>;
    /// Replaces the tenant's signing secret.
    fn rotate_webhook_secret(&self, tenant_id: &str, secret: &str, at: i64) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_as_stored() {
        for state in [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::GaveUp,
        ] {
            assert_eq!(DeliveryState::parse(state.as_str()), Some(state));
            // As the API shows it too.
            let shown = serde_json::to_string(&state).expect("serialises");
            assert_eq!(shown, format!("\"{}\"", state.as_str()));
        }
        assert_eq!(DeliveryState::parse("sent"), None);
    }

    #[test]
    fn an_attempt_moves_its_delivery_on() {
        let attempt = |next| Attempt {
            at: 10,
            status: None,
            error: None,
            next,
        };
        assert_eq!(
            after_attempt(&attempt(AttemptNext::Delivered)),
            (DeliveryState::Delivered, 10, Some(10))
        );
        assert_eq!(
            after_attempt(&attempt(AttemptNext::RetryAt(70))),
            (DeliveryState::Pending, 70, None)
        );
        assert_eq!(
            after_attempt(&attempt(AttemptNext::GiveUp)),
            (DeliveryState::GaveUp, 10, None)
        );
    }
}
