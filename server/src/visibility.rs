//! Whether a user may see a stored ticket: its view, read through the document cache, judged by
//! `core::rules::can_see` (the rule devices apply too). Used by the pull and by the blob lane.

use std::sync::Arc;

use fieldwork_core::Actor;
use fieldwork_core::rules::can_see;
use fieldwork_core::ticket::{Ticket, TicketDocument};

use crate::cache::{CachedDoc, DocCache};
use crate::error::Error;
use crate::storage::StoreRead;

/// The view of ticket `id` of `tenant` as stored at `seq`, loaded into the cache if it was not
/// there; `None` if the store has no document for it. A damaged document is [`Error::Document`].
pub(crate) fn view_at(
    cache: &DocCache,
    reader: &dyn StoreRead,
    tenant: &str,
    id: &str,
    seq: u64,
) -> Result<Option<Arc<Ticket>>, Error> {
    if let Some(view) = cache.view(tenant, id, seq) {
        return Ok(Some(view));
    }
    let Some(snapshot) = reader.ticket_snapshot(tenant, id)? else {
        return Ok(None);
    };
    let doc = TicketDocument::load(&snapshot)?;
    let view = Arc::new(doc.view()?);
    cache.put(
        tenant,
        id,
        CachedDoc {
            seq,
            doc,
            staff: None,
            view: view.clone(),
        },
    );
    Ok(Some(view))
}

/// What the store says about a ticket, from one user's point of view.
#[derive(Debug)]
pub(crate) enum Sight {
    /// No ticket with this id is stored in the user's tenant (another tenant's ids are unknown).
    Absent,
    /// It is stored, and this user may not see it (or it is unreadable).
    Hidden,
    Visible(Arc<Ticket>),
}

/// Whether `actor` may see ticket `id` as stored now.
pub(crate) fn sight(
    cache: &DocCache,
    reader: &dyn StoreRead,
    actor: &Actor,
    id: &str,
) -> Result<Sight, Error> {
    let Some(head) = reader.ticket_head(&actor.tenant, id)? else {
        return Ok(Sight::Absent);
    };
    match view_at(cache, reader, &actor.tenant, id, head.last_seq) {
        Ok(Some(view)) if can_see(actor, &view) => Ok(Sight::Visible(view)),
        Ok(_) => Ok(Sight::Hidden),
        Err(Error::Document(error)) => {
            tracing::error!(ticket = id, %error, "stored ticket document is unreadable");
            Ok(Sight::Hidden)
        }
        Err(other) => Err(other),
    }
}
