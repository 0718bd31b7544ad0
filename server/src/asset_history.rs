//! A machine's history on its new ticket (`docs/channels.md`, "Assets"): when a ticket about an
//! asset is made — by a phone, the API or a channel — the server writes the machine's earlier
//! tickets (number, title, status, when, the parts they used; newest first, at most
//! [`MAX_ENTRIES`]) into the ticket's staff document. Technicians and the back office read it,
//! offline too, with the ticket; reporters never receive it (staff data, ADR 0010).
//!
//! A background task listens to the notices of commits that created tickets; [`write_now`] does
//! the same for one ticket on demand (tests, tools). Written once per ticket: a ticket whose
//! staff document has a history already is left alone.

use std::collections::BTreeMap;

use fieldwork_brain::write::brain_author;
use fieldwork_core::ticket::{AssetHistoryEntry, Part, Ticket, TicketDocument};
use tokio::sync::broadcast::error::RecvError;

use crate::error::Error;
use crate::service::{Author, ProposedChange};
use crate::state::{AppState, blocking};
use crate::storage::{ReadWith, TicketQuery};
use crate::tasks::StopToken;

/// Earlier tickets written on a new one.
pub const MAX_ENTRIES: usize = 20;

/// The parts a ticket used, summed by SKU: `2 × FAN-12, 1 × SEAL-3`.
fn parts_line(ticket: &Ticket) -> String {
    let mut by_sku: BTreeMap<&str, i64> = BTreeMap::new();
    for part in &ticket.parts_used {
        *by_sku.entry(part.sku.as_str()).or_default() += part.qty;
    }
    by_sku
        .iter()
        .map(|(sku, qty)| format!("{qty} × {sku}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What to write on the ticket: its documents, and the earlier tickets about its machine.
struct Plan {
    public: TicketDocument,
    staff: TicketDocument,
    entries: Vec<AssetHistoryEntry>,
}

/// Reads the ticket and the machine's earlier tickets; `None` when there is nothing to write
/// (no asset, no earlier ticket, or a history written already).
fn plan(state: &AppState, tenant: &str, ticket_id: &str) -> Result<Option<Plan>, Error> {
    let store = state.store();
    let Some(bytes) = store.read_with(|r| r.ticket_snapshot(tenant, ticket_id))? else {
        return Ok(None);
    };
    let public = TicketDocument::load(&bytes)?;
    let view = public.view()?;
    let Some(serial) = view.asset.as_ref().map(|a| a.serial.clone()) else {
        return Ok(None);
    };
    let staff = match store.read_with(|r| r.ticket_staff_snapshot(tenant, ticket_id))? {
        Some(bytes) => TicketDocument::load_part(Part::Staff, &bytes)?,
        None => TicketDocument::staff(store.server_actor().clone()),
    };
    if !staff.staff_view()?.asset_history.is_empty() {
        return Ok(None);
    }
    let page = store.list_tickets(&TicketQuery {
        tenant_id: tenant.to_owned(),
        asset: Some(serial),
        descending: true,
        limit: MAX_ENTRIES + 1,
        ..TicketQuery::default()
    })?;
    let mut entries = Vec::new();
    for listed in page.tickets.into_iter().filter(|t| t.id != ticket_id) {
        let Some(bytes) = store.read_with(|r| r.ticket_snapshot(tenant, &listed.id))? else {
            continue;
        };
        let earlier = TicketDocument::load(&bytes)?.view()?;
        entries.push(AssetHistoryEntry {
            ticket_id: listed.id,
            number: earlier.number.clone(),
            title: earlier.title.clone(),
            status: earlier.status.as_str().to_owned(),
            created_at: earlier.created_at,
            parts: parts_line(&earlier),
        });
        if entries.len() == MAX_ENTRIES {
            break;
        }
    }
    if entries.is_empty() {
        return Ok(None);
    }
    Ok(Some(Plan {
        public,
        staff,
        entries,
    }))
}

/// Writes the machine's history into ticket `ticket_id`'s staff document, if it is about an
/// asset with earlier tickets and has none yet.
pub async fn write_now(state: &AppState, tenant: &str, ticket_id: &str) -> Result<(), Error> {
    let (s, t, id) = (state.clone(), tenant.to_owned(), ticket_id.to_owned());
    let Some(Plan {
        mut public,
        mut staff,
        entries,
    }) = blocking(move || plan(&s, &t, &id)).await?
    else {
        return Ok(());
    };
    let server_actor = state.store().server_actor().clone();
    let public_view = public.view()?;
    staff.seen_public(public.heads());
    let change = staff.server_batch(
        server_actor,
        &brain_author(tenant),
        Some(&public_view),
        state.now_ms(),
        "asset history",
        |batch| batch.asset_history(&entries),
    )?;
    let Some(change) = change else {
        return Ok(());
    };
    let committed = state
        .tickets()
        .commit(
            Author::Server,
            tenant,
            vec![ProposedChange {
                ticket_id: ticket_id.to_owned(),
                part: Part::Staff,
                bytes: change.raw_bytes().to_vec(),
            }],
        )
        .await?;
    if let Some(rejection) = committed.rejected.first() {
        return Err(Error::Intake(format!(
            "the store refused a ticket's asset history: {}",
            rejection.message
        )));
    }
    Ok(())
}

/// Writes the history of every ticket a commit created, until the server stops.
pub(crate) async fn run(state: AppState, mut stop: StopToken) {
    let mut notices = state.tickets().subscribe();
    loop {
        let notice = tokio::select! {
            _ = stop.stopped() => return,
            notice = notices.recv() => notice,
        };
        match notice {
            Ok(notice) => {
                for id in &notice.created {
                    if let Err(error) = write_now(&state, &notice.tenant, id).await {
                        tracing::warn!(%error, "a ticket's asset history could not be written");
                    }
                }
            }
            // Missed ones go without a history; the machine's tickets stay listed by the API.
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "asset histories fell behind the notices; some new tickets go without one"
                );
            }
            Err(RecvError::Closed) => return,
        }
    }
}
