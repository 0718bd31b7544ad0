//! A machine's history on its new ticket (`docs/channels.md`, "Assets"): when a ticket about an
//! asset is made — by a phone, the API or a channel — the server writes the machine's earlier
//! tickets (number, title, status, when, the parts they used; newest first, at most
//! [`MAX_ENTRIES`]) into the ticket's staff document. Technicians and the back office read it,
//! offline too, with the ticket; reporters never receive it (staff data, ADR 0010).
//!
//! A background task listens to the notices of commits: for a ticket a commit created it writes
//! the history ([`write_now`] does the same for one ticket on demand: tests, tools); a ticket
//! whose staff document has a history already is left alone. For a ticket about an asset that
//! changed, it brings up to date the entry for it on the machine's other open tickets
//! ([`follow`]): its status, title, number and parts as they are now. An entry that did not
//! change is not written again, so one update never sets off another.

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

/// A ticket as another ticket's history shows it.
fn entry_of(ticket_id: String, ticket: &Ticket) -> AssetHistoryEntry {
    AssetHistoryEntry {
        ticket_id,
        number: ticket.number.clone(),
        title: ticket.title.clone(),
        status: ticket.status.as_str().to_owned(),
        created_at: ticket.created_at,
        parts: parts_line(ticket),
    }
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
        count_up_to: Some(0),
        ..TicketQuery::default()
    })?;
    let mut entries = Vec::new();
    for listed in page.tickets.into_iter().filter(|t| t.id != ticket_id) {
        let Some(bytes) = store.read_with(|r| r.ticket_snapshot(tenant, &listed.id))? else {
            continue;
        };
        let earlier = TicketDocument::load(&bytes)?.view()?;
        entries.push(entry_of(listed.id, &earlier));
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
    match blocking(move || plan(&s, &t, &id)).await? {
        Some(plan) => write(state, tenant, ticket_id, plan).await,
        None => Ok(()),
    }
}

/// Commits `plan`'s entries as the ticket's asset history, in the server's name.
async fn write(state: &AppState, tenant: &str, ticket_id: &str, plan: Plan) -> Result<(), Error> {
    let Plan {
        mut public,
        mut staff,
        entries,
    } = plan;
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

/// The machine's open tickets to look at when one of its tickets changes.
const MAX_FOLLOWERS: usize = 50;

/// The open tickets about `serial` whose history shows ticket `changed` as it no longer is, each
/// with its new entries.
fn stale(
    state: &AppState,
    tenant: &str,
    changed: &str,
    serial: &str,
) -> Result<Vec<(String, Plan)>, Error> {
    let store = state.store();
    let Some(bytes) = store.read_with(|r| r.ticket_snapshot(tenant, changed))? else {
        return Ok(Vec::new());
    };
    let now = entry_of(changed.to_owned(), &TicketDocument::load(&bytes)?.view()?);
    let page = store.list_tickets(&TicketQuery {
        tenant_id: tenant.to_owned(),
        asset: Some(serial.to_owned()),
        descending: true,
        limit: MAX_FOLLOWERS,
        count_up_to: Some(0),
        ..TicketQuery::default()
    })?;
    let mut out = Vec::new();
    for listed in page.tickets {
        let open = !matches!(listed.status.as_str(), "resolved" | "closed" | "cancelled");
        if listed.id == changed || !open {
            continue;
        }
        let Some(staff_bytes) = store.read_with(|r| r.ticket_staff_snapshot(tenant, &listed.id))?
        else {
            continue;
        };
        let staff = TicketDocument::load_part(Part::Staff, &staff_bytes)?;
        let mut entries = staff.staff_view()?.asset_history;
        let Some(entry) = entries.iter_mut().find(|e| e.ticket_id == changed) else {
            continue;
        };
        if *entry == now {
            continue;
        }
        *entry = now.clone();
        let Some(public) = store.read_with(|r| r.ticket_snapshot(tenant, &listed.id))? else {
            continue;
        };
        let public = TicketDocument::load(&public)?;
        out.push((
            listed.id,
            Plan {
                public,
                staff,
                entries,
            },
        ));
    }
    Ok(out)
}

/// Brings the entry for ticket `changed` up to date on the other open tickets about its machine.
pub async fn follow(
    state: &AppState,
    tenant: &str,
    changed: &str,
    serial: &str,
) -> Result<(), Error> {
    let (s, t, c, a) = (
        state.clone(),
        tenant.to_owned(),
        changed.to_owned(),
        serial.to_owned(),
    );
    for (ticket_id, plan) in blocking(move || stale(&s, &t, &c, &a)).await? {
        write(state, tenant, &ticket_id, plan).await?;
    }
    Ok(())
}

/// Writes the history of every ticket a commit created, and follows the changes of tickets about
/// an asset, until the server stops.
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
                for (id, serial) in &notice.assets {
                    if notice.created.contains(id) {
                        continue;
                    }
                    if let Err(error) = follow(&state, &notice.tenant, id, serial).await {
                        tracing::warn!(%error, "an asset history could not follow a ticket");
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
