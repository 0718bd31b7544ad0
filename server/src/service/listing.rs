//! A ticket's listing (`storage::TicketListing`, `StaffListing`): what the back-office API lists,
//! filters, sorts and searches it by, read from its views. Pure functions.

use fieldwork_core::model::Status;
use fieldwork_core::search::IndexTerms;
use fieldwork_core::ticket::{Note, Part, StaffView, Ticket, TicketDocument};

use crate::error::Error;
use crate::storage::{ReadWith, ServerStore, StaffListing, Terms, TicketListing};

/// Most characters of a ticket's text kept for search (a ticket's notes are bounded anyway):
/// title, number, description, order reference and notes, in that order, each line's end
/// counting as one.
const MAX_SEARCH_CHARS: usize = 64 * 1024;

/// The search terms of `lines`, one per line, of at most `limit` characters of text.
fn terms<'a>(lines: impl Iterator<Item = &'a str>, limit: usize) -> String {
    let mut terms = IndexTerms::new(limit);
    for line in lines {
        terms.line(line);
    }
    terms.finish()
}

/// The notes of `notes` everyone's search finds.
fn readable(notes: &[Note]) -> impl Iterator<Item = &str> {
    notes
        .iter()
        .filter(|n| n.text_public())
        .map(|n| n.text.as_str())
}

/// The lines of a ticket's public text before its notes.
fn head_lines(view: &Ticket) -> [&str; 4] {
    [
        view.title.as_str(),
        view.number.as_deref().unwrap_or_default(),
        view.description.as_str(),
        view.order_ref.as_deref().unwrap_or_default(),
    ]
}

/// The terms of a ticket's whole public text, of at most `limit` characters.
fn public_terms(view: &Ticket, limit: usize) -> String {
    terms(
        head_lines(view).into_iter().chain(readable(&view.notes)),
        limit,
    )
}

/// The terms of a ticket's last `appended` notes, as [`public_terms`] would end with them: they
/// take what is left of `limit` after the text before them, of which the notes' is
/// `notes_before` characters ([`crate::cache::PackedView::public_chars`]: the view a note is judged on has no
/// older texts). So the terms of the ticket without those notes, [`Terms::joined`] with these,
/// are the ticket's terms (`tests`).
fn appended_terms(view: &Ticket, appended: usize, notes_before: usize, limit: usize) -> String {
    let new = &view.notes[view.notes.len().saturating_sub(appended)..];
    let used = lines_chars(head_lines(view).into_iter()).saturating_add(notes_before);
    terms(readable(new), limit.saturating_sub(used))
}

/// The characters of `lines` as [`terms`] counts them against its limit: each line's end counts
/// one.
fn lines_chars<'a>(lines: impl Iterator<Item = &'a str>) -> usize {
    lines.map(|line| line.chars().count() + 1).sum()
}

/// The listing of a ticket from its public view.
pub(crate) fn listing_of(view: &Ticket) -> TicketListing {
    listing_with(view, Terms::All(public_terms(view, MAX_SEARCH_CHARS)))
}

/// The listing of a ticket whose view has changed since its last listing only by its last
/// `appended` notes (a commit judged on its tip), the notes before them counting `notes_before`
/// characters of public text: their terms follow what the ticket has, so a note costs its own
/// text and not the ticket's (ADR 0023).
pub(crate) fn listing_appended(
    view: &Ticket,
    appended: usize,
    notes_before: usize,
) -> TicketListing {
    listing_with(
        view,
        Terms::More(appended_terms(
            view,
            appended,
            notes_before,
            MAX_SEARCH_CHARS,
        )),
    )
}

fn listing_with(view: &Ticket, public_terms: Terms) -> TicketListing {
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
        public_terms,
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
            MAX_SEARCH_CHARS,
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
    use crate::cache::PackedView;

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
        let Terms::All(terms) = &listing.public_terms else {
            panic!("a listing of the whole ticket has all its terms");
        };
        assert!(terms.contains("冰柜 柜 柜不") && terms.contains("freezer"));
    }

    fn note(text: String, hidden: u8) -> Note {
        Note {
            id: "n".into(),
            author: "u".into(),
            role: fieldwork_core::Role::Technician,
            text,
            internal: hidden == 1,
            at: 0,
            redacted: hidden == 2,
            erased: hidden == 3,
        }
    }

    proptest::proptest! {
        /// What a commit of appended notes writes, joined to the terms the ticket had, is the
        /// terms of the whole ticket — below the limit and across it, CJK pairs and hidden
        /// notes included.
        #[test]
        fn a_tickets_terms_and_its_appended_notes_terms_joined_are_its_whole_terms(
            title in "[a-z 冰柜]{0,12}",
            notes in proptest::collection::vec(("[a-zA-Z0-9 .冰柜不制冷]{0,20}", 0u8..6), 0..12),
            appended in 0usize..5,
            limit in 0usize..160,
        ) {
            let mut view = ticket();
            view.title = title;
            view.notes = notes.into_iter().map(|(text, hidden)| note(text, hidden)).collect();
            let whole = public_terms(&view, limit);
            let mut before = view.clone();
            before.notes.truncate(view.notes.len().saturating_sub(appended));
            // As a commit judged on the tip holds the ticket: the notes before from its kept
            // view, without their texts.
            let kept = PackedView::pack(before.clone());
            let mut judged = kept.unpack().expect("reads back");
            judged.notes.extend_from_slice(&view.notes[before.notes.len()..]);
            let more = appended_terms(&judged, appended, kept.public_chars(), limit);
            proptest::prop_assert_eq!(Terms::joined(&public_terms(&before, limit), &more), whole);
        }
    }

    #[test]
    fn a_commit_of_notes_lists_only_their_terms_to_follow() {
        let mut view = ticket();
        view.notes = vec![
            note("compressor swapped".into(), 0),
            note("secret".into(), 1),
        ];
        let before = PackedView::pack(view.clone()).public_chars();
        assert_eq!(
            before,
            "compressor swapped".len() + 1,
            "the secret note is not counted"
        );
        view.notes.push(note("Gas refilled".into(), 0));
        let listing = listing_appended(&view, 2, before);
        assert_eq!(listing.public_terms, Terms::More("gas refilled".into()));
        assert_eq!(listing.title, listing_of(&view).title);
    }
}
