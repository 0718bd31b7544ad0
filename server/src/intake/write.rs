//! Writing what a channel delivered: a new ticket, or a change to one, as Automerge changes made
//! with the channel's own actor and stored through `Tickets::commit(Author::Channel, …)`. The
//! reporter of a channel's ticket is the channel (`channel:ID`, named as the admin named it; the
//! customer, when the delivery names one, is the ticket's `customer`).

use fieldwork_core::model::{Actor, Role};
use fieldwork_core::ticket::{ActorId, NewTicket, Part, ServerBatch, TicketDocument};

use crate::api::error::{ApiError, ErrorCode};
use crate::error::Error;
use crate::service::{Author, ProposedChange};
use crate::state::{AppState, blocking};
use crate::storage::{ChannelRecord, ReadWith};

/// What the user id of a channel's reporter and note author starts with.
pub const CHANNEL_AUTHOR_PREFIX: &str = "channel:";

/// The author of a channel's changes, and the actor they are made with.
fn author(channel: &ChannelRecord) -> Result<(Author, ActorId), Error> {
    let actor = ActorId::from(
        hex::decode(&channel.actor_id)
            .map_err(|_| Error::Intake("a channel's actor is not hex".into()))?,
    );
    let author = Author::Channel {
        channel_id: channel.id.clone(),
        actor: actor.clone(),
    };
    Ok((author, actor))
}

/// The person a channel's tickets and notes name.
pub(super) fn reporter(channel: &ChannelRecord) -> Actor {
    Actor {
        tenant: channel.tenant_id.clone(),
        user_id: format!("{CHANNEL_AUTHOR_PREFIX}{}", channel.id),
        role: Role::Merchant,
        name: Some(channel.name.clone()),
        team: None,
    }
}

/// The ticket's number, if the ticket is stored.
pub(super) async fn number_of(
    state: &AppState,
    tenant: &str,
    ticket_id: &str,
) -> Result<Option<Option<String>>, Error> {
    Ok(load(state, tenant, ticket_id)
        .await?
        .map(|doc| doc.view().ok().and_then(|t| t.number)))
}

/// The stored public document of a ticket.
pub(super) async fn load(
    state: &AppState,
    tenant: &str,
    ticket_id: &str,
) -> Result<Option<TicketDocument>, Error> {
    let (store, tenant, id) = (state.store(), tenant.to_owned(), ticket_id.to_owned());
    let bytes = blocking(move || Ok(store.read_with(|r| r.ticket_snapshot(&tenant, &id))?)).await?;
    bytes
        .map(|b| TicketDocument::load(&b).map_err(Error::from))
        .transpose()
}

/// Creates ticket `ticket_id` from `new` in the channel's name, with `more` written into it in
/// a second change (an alert's fold), and answers its number. A ticket that exists already (a
/// retried delivery racing its first try) is answered as it stands.
pub(super) async fn create(
    state: &AppState,
    channel: &ChannelRecord,
    ticket_id: &str,
    new: &NewTicket,
    more: impl FnOnce(&mut ServerBatch<'_>) -> Result<(), fieldwork_core::ticket::DocumentError>,
) -> Result<Option<String>, ApiError> {
    if let Some(number) = number_of(state, &channel.tenant_id, ticket_id).await? {
        return Ok(number);
    }
    let (author, actor) = author(channel)?;
    let who = reporter(channel);
    let now = state.now_ms();
    let mut doc = TicketDocument::create(ticket_id, &who, new, actor.clone(), now)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    doc.server_batch(actor, &who, None, now, "intake", more)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let changes = doc
        .changes_since(&[])
        .into_iter()
        .map(|c| ProposedChange::public(ticket_id, c.raw_bytes().to_vec()))
        .collect();
    let committed = state
        .tickets()
        .commit(author, &channel.tenant_id, changes)
        .await?;
    if let Some(rejection) = committed.rejected.first() {
        // Made meanwhile by the same delivery's other try: its ticket is the answer.
        if let Some(number) = number_of(state, &channel.tenant_id, ticket_id).await? {
            return Ok(number);
        }
        return Err(ApiError::new(ErrorCode::Refused, rejection.message.clone()));
    }
    Ok(number_of(state, &channel.tenant_id, ticket_id)
        .await?
        .flatten())
}

/// Writes `write` into the stored ticket as one change in the channel's name; `false` if the
/// ticket is not stored (yet). Nothing is stored when `write` changes nothing.
pub(super) async fn edit(
    state: &AppState,
    channel: &ChannelRecord,
    ticket_id: &str,
    write: impl FnOnce(
        &fieldwork_core::ticket::Ticket,
        &mut ServerBatch<'_>,
    ) -> Result<(), fieldwork_core::ticket::DocumentError>,
) -> Result<bool, Error> {
    let Some(mut doc) = load(state, &channel.tenant_id, ticket_id).await? else {
        return Ok(false);
    };
    let (author, actor) = author(channel)?;
    let who = reporter(channel);
    let current = doc.view()?;
    let Some(change) = doc.server_batch(actor, &who, None, state.now_ms(), "intake", |batch| {
        write(&current, batch)
    })?
    else {
        return Ok(true);
    };
    let committed = state
        .tickets()
        .commit(
            author,
            &channel.tenant_id,
            vec![ProposedChange {
                ticket_id: ticket_id.to_owned(),
                part: Part::Public,
                bytes: change.raw_bytes().to_vec(),
            }],
        )
        .await?;
    if let Some(rejection) = committed.rejected.first() {
        return Err(Error::Intake(format!(
            "the store refused a channel's change: {}",
            rejection.message
        )));
    }
    Ok(true)
}
