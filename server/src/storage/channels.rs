//! Intake channels (`docs/channels.md`): a per-tenant credential for one way tickets come in (a
//! web form, a mail system, a call centre, an IoT platform), what each delivery did (so a retried
//! delivery makes nothing twice), and, per asset, the machine alerts folded into its open ticket.

use std::fmt;
use std::str::FromStr;

use super::Result;

/// The way a channel takes tickets in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    Web,
    Email,
    Phone,
    Iot,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 4] = [
        ChannelKind::Web,
        ChannelKind::Email,
        ChannelKind::Phone,
        ChannelKind::Iot,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Web => "web",
            ChannelKind::Email => "email",
            ChannelKind::Phone => "phone",
            ChannelKind::Iot => "iot",
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChannelKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        ChannelKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| "a channel's kind is web, email, phone or iot".to_owned())
    }
}

/// One channel. The token itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRecord {
    pub id: String,
    pub tenant_id: String,
    pub kind: ChannelKind,
    /// What the admin called it ("Shop web form", "Freezer alarms").
    pub name: String,
    /// SHA-256 (hex) of the bearer token.
    pub token_hash: String,
    /// The HMAC-SHA256 key (hex) a signed delivery is checked with, derived from the token.
    pub signing_key: String,
    /// The Automerge actor (hex) its tickets and notes are written with.
    pub actor_id: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A read-only status link of a ticket (the token itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLink {
    pub token_hash: String,
    pub tenant_id: String,
    pub ticket_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What a delivery did: the answer a retry of it gets again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeReceipt {
    pub channel_id: String,
    /// The delivery's idempotency key (a header, a Message-ID, a call id, or a digest of it).
    pub key: String,
    pub tenant_id: String,
    /// The ticket it made or went to; `None` when it was ignored.
    pub ticket_id: Option<String>,
    /// `created`, `noted`, `folded` or `ignored`.
    pub outcome: String,
    pub at: i64,
    /// Its change is stored (a receipt is recorded before the change when the change is a note,
    /// and marked done after it).
    pub done: bool,
}

/// One machine alert, as a channel received it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertIn {
    pub tenant_id: String,
    pub channel_id: String,
    /// The delivery's idempotency key.
    pub key: String,
    /// The asset's serial number.
    pub asset: String,
    pub metric: String,
    pub value: f64,
    pub threshold: f64,
    pub severity: String,
    /// When it happened, by the machine's clock (ms since the epoch).
    pub at: i64,
    /// The machine says the condition cleared.
    pub cleared: bool,
    /// The id the ticket gets if this alert opens one.
    pub new_ticket_id: String,
    /// Server time it arrived.
    pub received_at: i64,
}

/// The alerts folded into one open ticket of an asset.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertFoldRow {
    pub tenant_id: String,
    pub asset: String,
    pub ticket_id: String,
    /// The channel of the latest alert: the ticket's alert map is written in its name.
    pub channel_id: String,
    /// Server time the fold began.
    pub opened_at: i64,
    /// The metric of the alert that opened it; alerts of other metrics count, but their values
    /// are not compared with this one's.
    pub metric: String,
    pub count: i64,
    pub first_at: i64,
    pub last_at: i64,
    pub threshold: f64,
    pub last_value: f64,
    /// Furthest past the threshold, on the side the first alert was.
    pub worst_value: f64,
    pub severity: String,
    pub resolved_at: Option<i64>,
    /// The count the ticket's document last got.
    pub written_count: i64,
}

/// What an alert did.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertOutcome {
    /// The same delivery came before: its receipt.
    Repeat(IntakeReceipt),
    /// The asset had no open ticket: this alert opens `fold.ticket_id` (the caller writes it).
    Opened(AlertFoldRow),
    /// Folded into the asset's open ticket.
    Folded(AlertFoldRow),
    /// The machine said the condition cleared, for the asset's open ticket.
    Cleared(AlertFoldRow),
    /// A clear for an asset with no open ticket: nothing to do.
    Ignored,
}

/// How long a fold whose ticket is not yet in the index counts as open (its first alert is
/// still writing it); after that, the ticket is taken as never made and the next alert opens one.
pub const OPENING_GRACE_MS: i64 = 60_000;

/// Channels, receipts and alert folds. Every method is one transaction.
pub trait Channels {
    /// Stores a new channel. Fails with [`super::Missing::Tenant`] for an unknown tenant.
    fn create_channel(&self, channel: &ChannelRecord) -> Result<()>;
    /// The channel with this id, of any tenant (a signed delivery names it).
    fn channel(&self, id: &str) -> Result<Option<ChannelRecord>>;
    /// The channel whose token has this hash.
    fn channel_by_token(&self, token_hash: &str) -> Result<Option<ChannelRecord>>;
    /// The tenant's channels, oldest first, revoked ones included.
    fn channels(&self, tenant_id: &str) -> Result<Vec<ChannelRecord>>;
    /// Revokes the tenant's channel at `at`; whether it was live.
    fn revoke_channel(&self, tenant_id: &str, id: &str, at: i64) -> Result<bool>;

    /// The receipt of a delivery, if the channel took it before.
    fn intake_receipt(&self, channel_id: &str, key: &str) -> Result<Option<IntakeReceipt>>;
    /// Records `receipt` unless the channel has one for its key already; returns the one that
    /// stands (of two racing deliveries, the first) and whether it is this one.
    fn record_intake(&self, receipt: &IntakeReceipt) -> Result<(IntakeReceipt, bool)>;
    /// Marks the delivery's change stored.
    fn complete_intake(&self, channel_id: &str, key: &str) -> Result<()>;
    /// Takes a receipt not done since before `stale_before` over (its delivery failed half-way):
    /// whether this caller got it (of two retries, one does).
    fn retake_intake(
        &self,
        channel_id: &str,
        key: &str,
        at: i64,
        stale_before: i64,
    ) -> Result<bool>;

    /// Notes that `contact` (a normalized phone number or email address) reported `ticket_id`.
    fn link_contact(&self, tenant_id: &str, contact: &str, ticket_id: &str, at: i64) -> Result<()>;
    /// The newest open ticket `contact` reported through a channel.
    fn open_ticket_of_contact(&self, tenant_id: &str, contact: &str) -> Result<Option<String>>;
    /// Notes that the ticket took the email with this Message-ID.
    fn link_message(
        &self,
        tenant_id: &str,
        message_id: &str,
        ticket_id: &str,
        at: i64,
    ) -> Result<()>;
    /// The ticket that took one of these Message-IDs (the first of them that one took).
    fn ticket_of_messages(&self, tenant_id: &str, message_ids: &[String])
    -> Result<Option<String>>;

    /// Stores a status link. Fails with [`super::Missing::Tenant`] for an unknown tenant.
    fn create_status_link(&self, link: &StatusLink) -> Result<()>;
    /// The status link with this token hash.
    fn status_link(&self, token_hash: &str) -> Result<Option<StatusLink>>;

    /// Takes one alert: folds it into its asset's open ticket (or opens one, or records a clear)
    /// and records its receipt, in one transaction, so counts never double. A ticket is open
    /// while its index row says so, or, before it has one, for [`OPENING_GRACE_MS`]. An asset
    /// with no fold but an open ticket in the index (made by a person) folds into that ticket.
    fn fold_alert(&self, alert: &AlertIn) -> Result<AlertOutcome>;
    /// The fold of a ticket, if alerts went into it.
    fn alert_fold(&self, tenant_id: &str, ticket_id: &str) -> Result<Option<AlertFoldRow>>;
    /// Notes that the ticket's document now shows `count` alerts.
    fn alert_fold_written(&self, tenant_id: &str, ticket_id: &str, count: i64) -> Result<()>;
    /// Folds whose ticket's document shows fewer alerts than taken (after a restart), at most
    /// `limit`.
    fn unwritten_alert_folds(&self, limit: usize) -> Result<Vec<AlertFoldRow>>;
}
