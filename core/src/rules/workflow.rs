//! The status workflow, as a table: which status may follow which.
//!
//! `new → assigned → accepted → en_route → on_site → in_progress ⇄ awaiting_parts /
//! awaiting_customer → resolved → closed`, `cancelled` from any open state, `reopened` from
//! resolved or closed. Assignment moves a ticket into `assigned` and releasing it moves it back to
//! `new`; those two moves happen through [`Edit::Assign`](crate::ticket::Edit::Assign) only.

use crate::model::Status;

use super::Refusal;

/// The statuses a ticket may move to by a status change from `from`.
pub fn next_statuses(from: Status) -> &'static [Status] {
    use Status::*;
    match from {
        New => &[Cancelled],
        Assigned => &[Accepted, Cancelled],
        // Remote help (by phone) goes straight to work; a technician nearby may skip en_route.
        Accepted => &[EnRoute, OnSite, InProgress, Cancelled],
        EnRoute => &[OnSite, Cancelled],
        OnSite => &[InProgress, Cancelled],
        InProgress => &[AwaitingParts, AwaitingCustomer, Resolved, Cancelled],
        AwaitingParts => &[InProgress, Cancelled],
        AwaitingCustomer => &[InProgress, Resolved, Cancelled],
        Resolved => &[Closed, Reopened],
        Closed => &[Reopened],
        Reopened => &[InProgress, Cancelled],
        Cancelled => &[],
    }
}

/// Checks a status change against the workflow table.
pub fn check_transition(from: Status, to: Status) -> Result<(), Refusal> {
    if next_statuses(from).contains(&to) {
        return Ok(());
    }
    let hint = match to {
        Status::Assigned => " (assign someone to the ticket instead)",
        Status::New => " (release the ticket to the queue instead)",
        _ => "",
    };
    let allowed: Vec<&str> = next_statuses(from).iter().map(|s| s.as_str()).collect();
    Err(Refusal::Transition {
        from,
        to,
        allowed: if allowed.is_empty() {
            "none".to_owned()
        } else {
            allowed.join(", ")
        },
        hint,
    })
}

/// The status a ticket takes when it is assigned (`Some`) or released (`None`), or a refusal when
/// the ticket is finished and must be reopened first.
pub fn status_after_assignment(from: Status, assignee: Option<&str>) -> Result<Status, Refusal> {
    if !from.is_open() {
        return Err(Refusal::Finished { status: from });
    }
    Ok(if assignee.is_some() {
        Status::Assigned
    } else {
        Status::New
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    /// The full table, written out the long way so a change to the workflow is a visible diff here.
    const ALLOWED: &[(Status, Status)] = &[
        (New, Cancelled),
        (Assigned, Accepted),
        (Assigned, Cancelled),
        (Accepted, EnRoute),
        (Accepted, OnSite),
        (Accepted, InProgress),
        (Accepted, Cancelled),
        (EnRoute, OnSite),
        (EnRoute, Cancelled),
        (OnSite, InProgress),
        (OnSite, Cancelled),
        (InProgress, AwaitingParts),
        (InProgress, AwaitingCustomer),
        (InProgress, Resolved),
        (InProgress, Cancelled),
        (AwaitingParts, InProgress),
        (AwaitingParts, Cancelled),
        (AwaitingCustomer, InProgress),
        (AwaitingCustomer, Resolved),
        (AwaitingCustomer, Cancelled),
        (Resolved, Closed),
        (Resolved, Reopened),
        (Closed, Reopened),
        (Reopened, InProgress),
        (Reopened, Cancelled),
    ];

    #[test]
    fn every_pair_of_statuses_is_allowed_or_refused_exactly_as_the_table_says() {
        for &from in Status::ALL {
            for &to in Status::ALL {
                let expected = ALLOWED.contains(&(from, to));
                assert_eq!(
                    check_transition(from, to).is_ok(),
                    expected,
                    "{from} -> {to} should be {}",
                    if expected { "allowed" } else { "refused" }
                );
            }
        }
    }

    #[test]
    fn cancelled_only_from_open_states_and_reopened_only_from_finished_ones() {
        for &s in Status::ALL {
            assert_eq!(
                check_transition(s, Cancelled).is_ok(),
                s.is_open() && s != Cancelled
            );
            assert_eq!(
                check_transition(s, Reopened).is_ok(),
                matches!(s, Resolved | Closed)
            );
        }
    }

    #[test]
    fn refusal_names_what_is_allowed_next() {
        let msg = check_transition(New, Resolved).unwrap_err().to_string();
        assert!(
            msg.contains("new") && msg.contains("resolved") && msg.contains("cancelled"),
            "{msg}"
        );
        let msg = check_transition(New, Assigned).unwrap_err().to_string();
        assert!(msg.contains("assign someone"), "{msg}");
    }

    #[test]
    fn assignment_moves_open_tickets_and_refuses_finished_ones() {
        assert_eq!(status_after_assignment(New, Some("u")), Ok(Assigned));
        assert_eq!(status_after_assignment(InProgress, Some("u")), Ok(Assigned));
        assert_eq!(status_after_assignment(Accepted, None), Ok(New));
        assert_eq!(status_after_assignment(Reopened, Some("u")), Ok(Assigned));
        for s in [Resolved, Closed, Cancelled] {
            assert!(status_after_assignment(s, Some("u")).is_err());
        }
    }

    #[test]
    fn only_awaiting_states_pause_the_sla_clock() {
        let paused: Vec<Status> = Status::ALL
            .iter()
            .copied()
            .filter(|s| s.pauses_sla())
            .collect();
        assert_eq!(paused, vec![AwaitingParts, AwaitingCustomer]);
    }
}
