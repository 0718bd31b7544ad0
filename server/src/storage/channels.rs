//! Intake channels (`docs/channels.md`): a per-tenant credential for one way tickets come in (a
//! web form, a mail system, a call centre, an IoT platform), what each delivery did (so a retried
//! delivery makes nothing twice), and, per asset, the machine alerts folded into its open ticket.

use std::fmt;
use std::str::FromStr;

use fieldwork_core::model::Status;

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

impl AlertOutcome {
    /// The fold the alert opened, went into or cleared; `None` for a repeat or an ignored clear.
    pub(crate) fn fold(&self) -> Option<&AlertFoldRow> {
        match self {
            AlertOutcome::Opened(f) | AlertOutcome::Folded(f) | AlertOutcome::Cleared(f) => Some(f),
            AlertOutcome::Repeat(_) | AlertOutcome::Ignored => None,
        }
    }
}

/// Most Message-IDs of one mail [`Channels::ticket_of_messages`] looks up.
pub(crate) const MAX_MESSAGE_IDS: usize = 100;

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

/// Whether a ticket with this status (as its index row has it) is open; a status this build does
/// not know is not.
pub(crate) fn status_is_open(status: &str) -> bool {
    Status::from_str(status).is_ok_and(Status::is_open)
}

/// Whether the fold's ticket is still open at `now`: by its index row's `status` when it has one,
/// or else, before it has one, for [`OPENING_GRACE_MS`] after the fold began.
pub(crate) fn fold_is_open(fold: &AlertFoldRow, status: Option<&str>, now: i64) -> bool {
    match status {
        Some(status) => status_is_open(status),
        None => now.saturating_sub(fold.opened_at) < OPENING_GRACE_MS,
    }
}

/// What alert `a` does to its asset's open fold (`open`; `None` when the asset has none open),
/// with the outcome its receipt records: a clear clears an open fold (`noted`) and is ignored
/// without one (`ignored`); another alert folds into an open fold (`folded`). `None` for an
/// alert that is not a clear, of an asset with no open fold: [`first_alert`] decides it, once
/// the asset's open ticket is looked up.
pub(crate) fn alert_on_fold(
    a: &AlertIn,
    open: Option<AlertFoldRow>,
) -> Option<(AlertOutcome, &'static str)> {
    match (open, a.cleared) {
        (Some(mut fold), true) => {
            fold.resolved_at = Some(a.at);
            fold.channel_id = a.channel_id.clone();
            Some((AlertOutcome::Cleared(fold), "noted"))
        }
        (Some(fold), false) => Some((AlertOutcome::Folded(folded(fold, a)), "folded")),
        (None, true) => Some((AlertOutcome::Ignored, "ignored")),
        (None, false) => None,
    }
}

/// What the first alert `a` of an asset with no open fold does: folds into the open ticket a
/// person made about the asset (`asset_ticket`, the newest) if there is one (`folded`), else
/// opens its own ticket (`created`).
pub(crate) fn first_alert(
    a: &AlertIn,
    asset_ticket: Option<String>,
) -> (AlertOutcome, &'static str) {
    match asset_ticket {
        Some(ticket) => (AlertOutcome::Folded(first_fold(a, &ticket)), "folded"),
        None => (
            AlertOutcome::Opened(first_fold(a, &a.new_ticket_id)),
            "created",
        ),
    }
}

/// The fold a first alert starts on `ticket_id`.
fn first_fold(a: &AlertIn, ticket_id: &str) -> AlertFoldRow {
    AlertFoldRow {
        tenant_id: a.tenant_id.clone(),
        asset: a.asset.clone(),
        ticket_id: ticket_id.to_owned(),
        channel_id: a.channel_id.clone(),
        opened_at: a.received_at,
        metric: a.metric.clone(),
        count: 1,
        first_at: a.at,
        last_at: a.at,
        threshold: a.threshold,
        last_value: a.value,
        worst_value: a.value,
        severity: a.severity.clone(),
        resolved_at: None,
        written_count: 0,
    }
}

/// `fold` with one more alert in it.
fn folded(mut fold: AlertFoldRow, a: &AlertIn) -> AlertFoldRow {
    fold.count += 1;
    fold.channel_id = a.channel_id.clone();
    if a.metric == fold.metric {
        // The side of the threshold the first alert was on is the bad side.
        let above = fold.worst_value >= fold.threshold;
        fold.worst_value = if above {
            fold.worst_value.max(a.value)
        } else {
            fold.worst_value.min(a.value)
        };
        if a.at >= fold.last_at {
            fold.last_value = a.value;
        }
    }
    if a.at >= fold.last_at {
        fold.severity = a.severity.clone();
        fold.resolved_at = None;
    }
    fold.first_at = fold.first_at.min(a.at);
    fold.last_at = fold.last_at.max(a.at);
    fold
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(metric: &str, value: f64, at: i64, cleared: bool) -> AlertIn {
        AlertIn {
            tenant_id: "t".into(),
            channel_id: format!("c{at}"),
            key: format!("k{at}"),
            asset: "A-1".into(),
            metric: metric.into(),
            value,
            threshold: -18.0,
            severity: format!("s{at}"),
            at,
            cleared,
            new_ticket_id: format!("n{at}"),
            received_at: at + 1,
        }
    }

    fn opened(a: &AlertIn) -> AlertFoldRow {
        match first_alert(a, None) {
            (AlertOutcome::Opened(fold), "created") => fold,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_first_alert_opens_a_ticket_or_folds_into_a_persons() {
        let a = alert("temp", -10.0, 100, false);
        assert_eq!(alert_on_fold(&a, None), None);
        let fold = opened(&a);
        assert_eq!((fold.ticket_id.as_str(), fold.count), ("n100", 1));
        assert_eq!(
            (fold.opened_at, fold.first_at, fold.last_at),
            (101, 100, 100)
        );
        assert_eq!((fold.worst_value, fold.written_count), (-10.0, 0));
        let (outcome, name) = first_alert(&a, Some("made".into()));
        assert_eq!(name, "folded");
        assert_eq!(outcome.fold().map(|f| f.ticket_id.as_str()), Some("made"));
    }

    #[test]
    fn alerts_fold_worst_on_the_first_alerts_side_and_latest_by_the_machines_clock() {
        let fold = opened(&alert("temp", -10.0, 100, false));
        // Above the threshold is the bad side here: the worst is the highest.
        let (outcome, name) =
            alert_on_fold(&alert("temp", -5.0, 50, false), Some(fold)).expect("decided");
        assert_eq!(name, "folded");
        let fold = outcome.fold().expect("a fold").clone();
        assert_eq!(
            (fold.count, fold.worst_value, fold.last_value),
            (2, -5.0, -10.0)
        );
        assert_eq!((fold.first_at, fold.last_at), (50, 100));
        assert_eq!(
            (fold.severity.as_str(), fold.channel_id.as_str()),
            ("s100", "c50")
        );
        // Another metric counts, but its value is not compared.
        let (outcome, _) =
            alert_on_fold(&alert("door", 99.0, 200, false), Some(fold)).expect("decided");
        let fold = outcome.fold().expect("a fold").clone();
        assert_eq!(
            (fold.count, fold.worst_value, fold.last_value),
            (3, -5.0, -10.0)
        );
        assert_eq!((fold.severity.as_str(), fold.last_at), ("s200", 200));
    }

    #[test]
    fn a_clear_clears_an_open_fold_and_is_ignored_without_one() {
        let fold = opened(&alert("temp", -10.0, 100, false));
        let (outcome, name) =
            alert_on_fold(&alert("temp", -20.0, 300, true), Some(fold)).expect("decided");
        assert_eq!(name, "noted");
        let AlertOutcome::Cleared(fold) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!((fold.resolved_at, fold.count), (Some(300), 1));
        assert_eq!(
            alert_on_fold(&alert("temp", -20.0, 300, true), None),
            Some((AlertOutcome::Ignored, "ignored"))
        );
        assert_eq!(AlertOutcome::Ignored.fold(), None);
    }

    #[test]
    fn a_fold_is_open_by_its_tickets_status_or_for_a_grace_period_before_it_has_one() {
        let fold = opened(&alert("temp", -10.0, 100, false));
        assert!(fold_is_open(&fold, Some("new"), i64::MAX));
        assert!(!fold_is_open(&fold, Some("closed"), 0));
        assert!(!fold_is_open(&fold, Some("no such status"), 0));
        assert!(fold_is_open(&fold, None, 101 + OPENING_GRACE_MS - 1));
        assert!(!fold_is_open(&fold, None, 101 + OPENING_GRACE_MS));
    }
}
