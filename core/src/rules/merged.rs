//! Judging a change by its effect on the ticket everyone reads: the merged ticket before the change
//! (`current`) against the merged ticket with it (`merged`). [`super::changes::check_change`]
//! judges the change as its author saw the ticket; that alone let a change built on an old version
//! (a rider's cancel from when the ticket was `new`) win over a ticket closed since. So every
//! guarded field whose winning value the change alters must make a move the author's role may
//! make from the value everyone sees now. Work records (notes, parts, checklist, photos, arrivals)
//! are not judged again here: a technician's offline note survives a reassignment made meanwhile.

use crate::model::Actor;
use crate::ticket::{Edit, Ticket};

use super::changes::{apply_to_view, check_fixed_fields, check_status_event, guarded_edits};
use super::{Refusal, roles, values, workflow};

/// Checks the effect of a change on the merged ticket: `current` is what everyone reads before it,
/// `merged` what they read after.
pub fn check_merged(actor: &Actor, current: &Ticket, merged: &Ticket) -> Result<(), Refusal> {
    check_fixed_fields(actor, current, merged)?;
    values::check_counts(current, merged)?;
    check_status_event(current, merged)?;
    let mut view = current.clone();
    for edit in guarded_edits(current, merged)? {
        values::check_edit(&edit)?;
        match &edit {
            Edit::SetStatus { status } => check_status_move(view.status, *status)?,
            Edit::Assign { assignee } => {
                workflow::status_after_assignment(view.status, assignee.as_deref())?;
            }
            _ => {}
        }
        roles::authorize(actor, &view, &edit)?;
        apply_to_view(&mut view, &edit);
    }
    Ok(())
}

/// A status the change makes win must be a workflow move from the status everyone sees now, with
/// one allowance: between two open statuses, a concurrent move (two devices moving the job along
/// at once, each legally from what it saw) is kept, and shows as a conflict. Finishing, cancelling
/// and reopening — the moves that end or revive the work — must be legal from the current status.
fn check_status_move(from: crate::model::Status, to: crate::model::Status) -> Result<(), Refusal> {
    match workflow::check_transition(from, to) {
        Ok(()) => Ok(()),
        Err(_) if from.is_open() && to.is_open() => Ok(()),
        Err(refusal) => Err(refusal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Role, Status};
    use crate::ticket::{ActorId, NewTicket, TicketDocument};

    fn actor(user: &str, role: Role) -> Actor {
        Actor {
            tenant: "acme".into(),
            user_id: user.into(),
            role,
            name: None,
            team: Some("north".into()),
        }
    }

    fn apply(doc: &mut TicketDocument, by: &Actor, edit: Edit) {
        let view = doc.view().expect("view");
        doc.apply(&view, &edit, by, 2).expect("applies");
    }

    fn closed_ticket() -> Ticket {
        let rider = actor("r1", Role::Rider);
        let ops = actor("d1", Role::Dispatcher);
        let new = NewTicket::help_request(None, None, Some("fell".into()));
        let mut doc =
            TicketDocument::create("t1", &rider, &new, ActorId::random(), 1).expect("doc");
        apply(
            &mut doc,
            &ops,
            Edit::Assign {
                assignee: Some("t9".into()),
            },
        );
        for status in [
            Status::Accepted,
            Status::InProgress,
            Status::Resolved,
            Status::Closed,
        ] {
            apply(&mut doc, &ops, Edit::SetStatus { status });
        }
        doc.view().expect("view")
    }

    /// `ticket` with `status` winning and, if `event`, the status event a device writes.
    fn moved(ticket: &Ticket, by: &str, status: Status, event: bool) -> Ticket {
        let mut after = ticket.clone();
        after.status = status;
        if event {
            after.events.push(crate::ticket::Event {
                kind: "status_changed".into(),
                by: by.into(),
                at_device: 3,
                data: [("from", "new"), ("to", status.as_str())]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            });
        }
        after
    }

    #[test]
    fn a_stale_cancel_that_wins_over_a_closed_ticket_is_refused() {
        let rider = actor("r1", Role::Rider);
        let closed = closed_ticket();
        let merged = moved(&closed, "r1", Status::Cancelled, true);
        assert!(matches!(
            check_merged(&rider, &closed, &merged),
            Err(Refusal::Transition {
                from: Status::Closed,
                to: Status::Cancelled,
                ..
            })
        ));
        // Without the event the workflow writes, any status move is refused.
        let silent = moved(&closed, "r1", Status::Reopened, false);
        let ops = actor("d1", Role::Dispatcher);
        assert!(matches!(
            check_merged(&ops, &closed, &silent),
            Err(Refusal::Invalid {
                field: "status",
                ..
            })
        ));
        // The same move with its event is the dispatcher's to make.
        let reopened = moved(&closed, "d1", Status::Reopened, true);
        assert_eq!(check_merged(&ops, &closed, &reopened), Ok(()));
        // A change that leaves the winner alone (it lost the conflict) moves nothing guarded.
        assert_eq!(check_merged(&rider, &closed, &closed), Ok(()));
    }

    #[test]
    fn guarded_fields_are_judged_on_the_ticket_as_it_now_stands() {
        let tech = actor("t9", Role::Technician);
        let mut current = closed_ticket();
        current.status = Status::InProgress;
        // Reassigned meanwhile: the technician's status move no longer is theirs to make.
        current.assignee = Some("t2".into());
        let merged = moved(&current, "t9", Status::AwaitingParts, true);
        assert!(matches!(
            check_merged(&tech, &current, &merged),
            Err(Refusal::Forbidden { .. })
        ));
        current.assignee = Some("t9".into());
        let merged = moved(&current, "t9", Status::AwaitingParts, true);
        assert_eq!(check_merged(&tech, &current, &merged), Ok(()));
        // A rider's stale priority change would be staff-only on the current ticket too.
        let mut bumped = current.clone();
        bumped.priority = crate::model::Priority::Urgent;
        assert!(check_merged(&actor("r1", Role::Rider), &current, &bumped).is_err());
    }

    #[test]
    fn concurrent_moves_between_open_statuses_are_kept_and_finishing_ones_are_judged() {
        assert_eq!(check_status_move(Status::OnSite, Status::EnRoute), Ok(()));
        assert_eq!(
            check_status_move(Status::InProgress, Status::Accepted),
            Ok(())
        );
        assert!(check_status_move(Status::Closed, Status::Cancelled).is_err());
        assert!(check_status_move(Status::AwaitingParts, Status::Resolved).is_err());
        assert!(check_status_move(Status::Resolved, Status::InProgress).is_err());
        assert_eq!(check_status_move(Status::Resolved, Status::Closed), Ok(()));
    }
}
