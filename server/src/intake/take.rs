//! Taking a parsed delivery (web form, email, phone) exactly once: the receipt is recorded first
//! with the ticket it goes to (a new ticket's id is chosen then), the change is written, and the
//! receipt marked done. A retry of a delivery whose receipt is done gets the first answer; one
//! whose first try is still at work is asked to come back (`409`, `Retry-After`); one whose first
//! try failed, or stopped half-way ([`STALE_MS`] ago), does the work again — a new ticket under
//! the same id (never a second ticket), a note once more (at least once rather than lost).

use axum::http::StatusCode;
use fieldwork_core::ticket::{Edit, NewAttachment, NewTicket};

use super::{Delivered, write};
use crate::api::error::{ApiError, ErrorCode};
use crate::error::Error;
use crate::state::{AppState, blocking};
use crate::storage::{ChannelRecord, IntakeReceipt};

/// How long an unfinished delivery counts as still at work.
const STALE_MS: i64 = 30_000;

/// What a delivery asks for.
#[derive(Debug, Clone)]
pub(super) enum Action {
    /// A new ticket, with photos attached.
    Create {
        new: Box<NewTicket>,
        photos: Vec<NewAttachment>,
    },
    /// A public note on an existing ticket of the channel's tenant, with photos attached.
    Note {
        ticket_id: String,
        text: String,
        photos: Vec<NewAttachment>,
    },
    /// Nothing (an auto-reply, a bounce): recorded so a retry is answered the same.
    Ignore,
}

/// A parsed delivery.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub action: Action,
    /// Who reported (a normalized phone number or email address): linked to the ticket, so
    /// their next delivery finds it.
    pub contact: Option<String>,
    /// Email Message-IDs the ticket takes, so replies to them thread onto it.
    pub messages: Vec<String>,
}

impl Plan {
    fn outcome(&self) -> &'static str {
        match self.action {
            Action::Create { .. } => "created",
            Action::Note { .. } => "noted",
            Action::Ignore => "ignored",
        }
    }
}

/// Takes `plan` for the delivery with `key`, once; answers what it did.
pub(super) async fn take(
    state: &AppState,
    channel: &ChannelRecord,
    key: String,
    plan: Plan,
) -> Result<(StatusCode, Delivered), ApiError> {
    let now = state.now_ms();
    let ticket_id = match &plan.action {
        Action::Create { .. } => Some(uuid::Uuid::now_v7().to_string()),
        Action::Note { ticket_id, .. } => Some(ticket_id.clone()),
        Action::Ignore => None,
    };
    let ours = IntakeReceipt {
        channel_id: channel.id.clone(),
        key: key.clone(),
        tenant_id: channel.tenant_id.clone(),
        ticket_id,
        outcome: plan.outcome().to_owned(),
        at: now,
        done: matches!(plan.action, Action::Ignore),
    };
    let store = state.store();
    let (standing, first) = blocking(move || Ok(store.record_intake(&ours)?)).await?;
    if first {
        attempt(state, channel, &standing, &plan).await?;
    } else if !standing.done {
        let (store, c, k) = (state.store(), channel.id.clone(), key.clone());
        let retaken =
            blocking(move || Ok(store.retake_intake(&c, &k, now, now - STALE_MS)?)).await?;
        if !retaken {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "this delivery is still being taken; send it again in a few seconds",
            )
            .retry_after(5));
        }
        // The first try stopped half-way: do its work (under its ticket id) if this try plans
        // the same kind of work. If it plans another (the ticket a note was for closed
        // meanwhile), the first try's plan cannot be rebuilt: the receipt is closed as it stands,
        // so retries stop, and the server says so in its log.
        if standing.outcome == plan.outcome() {
            attempt(state, channel, &standing, &plan).await?;
        } else {
            tracing::warn!(
                outcome = %standing.outcome,
                "a delivery that stopped half-way was retried as another kind of work; its receipt is closed as it stands"
            );
            let (store, c, k) = (state.store(), channel.id.clone(), key.clone());
            blocking(move || Ok(store.complete_intake(&c, &k)?)).await?;
        }
    }
    let number = match &standing.ticket_id {
        Some(id) => write::number_of(state, &channel.tenant_id, id)
            .await?
            .flatten(),
        None => None,
    };
    let status = if first && standing.outcome == "created" {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Delivered {
            ticket_id: standing.ticket_id.clone(),
            number,
            outcome: standing.outcome.clone(),
            repeated: !first,
        },
    ))
}

/// [`work`], or, when it fails, the receipt handed back at once so the sender's retry does it.
async fn attempt(
    state: &AppState,
    channel: &ChannelRecord,
    receipt: &IntakeReceipt,
    plan: &Plan,
) -> Result<(), ApiError> {
    let failed = match work(state, channel, receipt, plan).await {
        Ok(()) => return Ok(()),
        Err(error) => error,
    };
    let (store, c, k) = (
        state.store(),
        receipt.channel_id.clone(),
        receipt.key.clone(),
    );
    let released = blocking(move || Ok(store.retake_intake(&c, &k, 0, i64::MAX)?)).await;
    if let Err(error) = released {
        tracing::warn!(%error, "a failed delivery's receipt could not be handed back; its retry waits");
    }
    Err(failed)
}

/// Writes what `plan` asks for, under the receipt's ticket id, and marks the receipt done.
async fn work(
    state: &AppState,
    channel: &ChannelRecord,
    receipt: &IntakeReceipt,
    plan: &Plan,
) -> Result<(), ApiError> {
    let Some(ticket_id) = &receipt.ticket_id else {
        return Ok(());
    };
    match &plan.action {
        Action::Create { new, photos } => {
            write::create(state, channel, ticket_id, new, |batch| {
                attach(batch, photos)
            })
            .await?;
        }
        Action::Note { text, photos, .. } => {
            let text = text.clone();
            let found = write::edit(state, channel, ticket_id, move |_, batch| {
                batch.edit(&Edit::AddNote {
                    text,
                    internal: false,
                })?;
                attach(batch, photos)
            })
            .await?;
            if !found {
                return Err(Error::Intake("the ticket a note was for is gone".into()).into());
            }
        }
        Action::Ignore => return Ok(()),
    }
    let (store, tenant, id, at) = (
        state.store(),
        channel.tenant_id.clone(),
        ticket_id.clone(),
        state.now_ms(),
    );
    let (contact, messages) = (plan.contact.clone(), plan.messages.clone());
    let (c, k) = (receipt.channel_id.clone(), receipt.key.clone());
    blocking(move || {
        if let Some(contact) = contact {
            store.link_contact(&tenant, &contact, &id, at)?;
        }
        for message in messages.iter().take(MAX_LINKED_MESSAGES) {
            store.link_message(&tenant, message, &id, at)?;
        }
        store.complete_intake(&c, &k)?;
        Ok::<_, Error>(())
    })
    .await?;
    Ok(())
}

/// Files `photos` on the ticket the batch writes.
fn attach(
    batch: &mut fieldwork_core::ticket::ServerBatch<'_>,
    photos: &[NewAttachment],
) -> Result<(), fieldwork_core::ticket::DocumentError> {
    for photo in photos {
        batch.edit(&Edit::Attach {
            attachment: photo.clone(),
        })?;
    }
    Ok(())
}

/// Most Message-IDs one delivery links to its ticket.
const MAX_LINKED_MESSAGES: usize = 20;
