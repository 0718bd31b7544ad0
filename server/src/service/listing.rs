//! A ticket's listing (`storage::TicketListing`, `StaffListing`): what the back-office API lists,
//! filters, sorts and searches it by, read from its views. Pure functions.

use fieldwork_core::model::Status;
use fieldwork_core::search::IndexTerms;
use fieldwork_core::ticket::{Part, StaffView, Ticket, TicketDocument};

use crate::error::Error;
use crate::storage::{ReadWith, ServerStore, StaffListing, TicketListing};

/// Most characters of a ticket's text kept for search (a ticket's notes are bounded anyway).
const MAX_SEARCH_CHARS: usize = 64 * 1024;

/// The search terms of `lines`, one per line, of at most [`MAX_SEARCH_CHARS`] of text.
fn terms<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    let mut terms = IndexTerms::new(MAX_SEARCH_CHARS);
    for line in lines {
        terms.line(line);
    }
    terms.finish()
}

/// The listing of a ticket from its public view.
pub(crate) fn listing_of(view: &Ticket) -> TicketListing {
    let sla = view.sla.as_ref();
    let breached = |target: &str| sla.is_some_and(|s| s.breaches.iter().any(|b| b == target));
    // What is still due: the first response while nobody has taken the ticket on, the
    // resolution while it is open; a target already missed is not due any more.
    let awaiting_response = matches!(view.status, Status::New | Status::Assigned);
    let first = sla
        .and_then(|s| s.first_response_due)
        .filter(|_| awaiting_response && !breached("first_response"));
    let resolution = sla
        .and_then(|s| s.resolution_due)
        .filter(|_| view.status.is_open() && !breached("resolution"));
    let next_due = match (first, resolution) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let notes = view
        .notes
        .iter()
        .filter(|n| !n.internal && !n.redacted && !n.erased)
        .map(|n| n.text.as_str());
    TicketListing {
        kind: view.kind.as_str().to_owned(),
        channel: view.channel.as_str().to_owned(),
        title: view.title.clone(),
        priority: u8::try_from(view.priority.rank()).unwrap_or(1),
        first_response_due: sla.and_then(|s| s.first_response_due),
        resolution_due: sla.and_then(|s| s.resolution_due),
        next_due,
        sla_paused: sla.is_some_and(|s| s.paused),
        breached: sla.is_some_and(|s| !s.breaches.is_empty()),
        asset_serial: view.asset.as_ref().map(|a| a.serial.clone()),
        public_terms: terms(
            [
                view.title.as_str(),
                view.number.as_deref().unwrap_or_default(),
                view.description.as_str(),
                view.order_ref.as_deref().unwrap_or_default(),
            ]
            .into_iter()
            .chain(notes),
        ),
    }
}

/// The staff listing of a ticket from its staff view.
pub(crate) fn staff_listing_of(staff: &StaffView) -> StaffListing {
    let mut tags = staff.tags.clone();
    tags.sort();
    tags.dedup();
    StaffListing {
        tags,
        staff_terms: terms(
            staff
                .notes
                .iter()
                .filter(|n| !n.redacted && !n.erased)
                .map(|n| n.text.as_str()),
        ),
    }
}

/// Tickets read per batch when filling in listings.
const FILL_BATCH: usize = 500;

/// Fills in the listings of tickets stored before listings were kept (server migration 16),
/// from their documents, a batch at a time; returns how many. A ticket whose document does not
/// read is logged and left unlisted (it is listed by its next commit).
pub(crate) fn fill_missing(store: &dyn ServerStore) -> Result<usize, Error> {
    let mut filled = 0;
    let mut skipped = std::collections::HashSet::new();
    loop {
        let batch = store.unlisted_tickets(FILL_BATCH + skipped.len())?;
        let todo: Vec<_> = batch
            .into_iter()
            .filter(|(tenant, id, _)| !skipped.contains(&(tenant.clone(), id.clone())))
            .collect();
        if todo.is_empty() {
            return Ok(filled);
        }
        for (tenant, id, last_seq) in todo {
            let docs = store.read_with(|r| {
                Ok::<_, Error>((
                    r.ticket_snapshot(&tenant, &id)?,
                    r.ticket_staff_snapshot(&tenant, &id)?,
                ))
            })?;
            let listed = (|| {
                let (Some(public), staff) = docs else {
                    return Ok(None);
                };
                let view = TicketDocument::load(&public)?.view()?;
                let staff = match staff {
                    Some(bytes) => staff_listing_of(
                        &TicketDocument::load_part(Part::Staff, &bytes)?.staff_view()?,
                    ),
                    None => StaffListing::default(),
                };
                Ok::<_, Error>(Some((listing_of(&view), staff)))
            })();
            match listed {
                Ok(Some((listing, staff))) => {
                    if store.fill_listing(&tenant, &id, last_seq, &listing, &staff)? {
                        filled += 1;
                    }
                }
                Ok(None) => {
                    skipped.insert((tenant, id));
                }
                Err(error) => {
                    tracing::warn!(%error, "a stored ticket could not be listed; its next change lists it");
                    skipped.insert((tenant, id));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use fieldwork_core::model::{Priority, TicketKind};
    use fieldwork_core::ticket::{NewTicket, Sla, TicketDocument};

    use super::*;

    fn ticket() -> Ticket {
        let actor = fieldwork_core::Actor {
            tenant: "t".into(),
            user_id: "u".into(),
            role: fieldwork_core::Role::Dispatcher,
            name: None,
            team: None,
        };
        let new = NewTicket {
            description: "冰柜不制冷".into(),
            ..NewTicket::titled(TicketKind::Repair, "Freezer warm")
        };
        let doc = TicketDocument::create(
            "id",
            &actor,
            &new,
            fieldwork_core::ticket::ActorId::random(),
            1,
        )
        .expect("creates");
        doc.view().expect("view")
    }

    #[test]
    fn what_is_still_due_is_the_sooner_target_not_yet_missed() {
        let mut view = ticket();
        view.priority = Priority::Urgent;
        view.sla = Some(Sla {
            first_response_due: Some(100),
            resolution_due: Some(500),
            paused: false,
            breaches: vec![],
            policy: None,
            update_due: None,
        });
        let listing = listing_of(&view);
        assert_eq!(
            (listing.next_due, listing.priority, listing.breached),
            (Some(100), 3, false)
        );
        view.sla.as_mut().expect("sla").breaches = vec!["first_response".into()];
        assert_eq!(listing_of(&view).next_due, Some(500));
        assert!(listing_of(&view).breached);
        view.status = Status::Resolved;
        assert_eq!(listing_of(&view).next_due, None);
        // As the search index takes them: words lowercased, CJK characters and their pairs.
        assert!(
            listing.public_terms.contains("冰柜 柜 柜不")
                && listing.public_terms.contains("freezer")
        );
    }
}
