//! Who may see and change what, per role (the table in `docs/ARCHITECTURE.md`).
//!
//! - rider: tickets they reported; create help requests; notes, photos, location; cancel while
//!   open; rate.
//! - merchant: tickets they reported; create fault reports; notes, screenshots; confirm (close)
//!   or reopen a resolution; cancel while open; rate.
//! - technician: tickets assigned to them, their team's unassigned queue and tickets they
//!   reported; status along the workflow, notes (internal too), parts, checklist, photos, arrival
//!   on site; claim from the queue; release to the queue.
//! - agent, dispatcher, supervisor, admin: every ticket of the tenant, every edit.

use crate::model::{Actor, Role, Status, TicketKind};
use crate::ticket::{Edit, Ticket};

use super::Refusal;

/// The few fields of a ticket that decide who sees it — what a server's ticket index holds, so
/// visibility can be judged without loading the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audience<'a> {
    pub tenant: &'a str,
    pub reporter: &'a str,
    pub assignee: Option<&'a str>,
    pub team: Option<&'a str>,
}

impl<'a> Audience<'a> {
    pub fn of(ticket: &'a Ticket) -> Self {
        Audience {
            tenant: &ticket.tenant,
            reporter: &ticket.reporter.user_id,
            assignee: ticket.assignee.as_deref(),
            team: ticket.team.as_deref(),
        }
    }
}

/// Does `actor` see `ticket` at all?
pub fn can_see(actor: &Actor, ticket: &Ticket) -> bool {
    sees(actor, &Audience::of(ticket))
}

/// [`can_see`] from a ticket's [`Audience`] alone.
pub fn sees(actor: &Actor, ticket: &Audience<'_>) -> bool {
    if actor.tenant != ticket.tenant {
        return false;
    }
    let reporter = ticket.reporter == actor.user_id;
    let assignee = ticket.assignee == Some(actor.user_id.as_str());
    let team_queue =
        ticket.assignee.is_none() && actor.team.is_some() && ticket.team == actor.team.as_deref();
    match actor.role {
        Role::Rider | Role::Merchant => reporter,
        // A technician also keeps sight of tickets they reported themselves (e.g. a fault found
        // on a round), even before anyone assigns them.
        Role::Technician => assignee || team_queue || reporter,
        Role::Agent | Role::Dispatcher | Role::Supervisor | Role::Admin => true,
    }
}

fn is_assignee(actor: &Actor, ticket: &Ticket) -> bool {
    ticket.assignee.as_deref() == Some(actor.user_id.as_str())
}

/// May this role create a ticket of this kind?
pub fn authorize_create(actor: &Actor, kind: TicketKind) -> Result<(), Refusal> {
    let allowed = match actor.role {
        Role::Rider => matches!(kind, TicketKind::HelpRequest | TicketKind::Complaint),
        Role::Merchant => matches!(
            kind,
            TicketKind::FaultReport | TicketKind::Complaint | TicketKind::Inquiry
        ),
        Role::Technician => matches!(kind, TicketKind::Repair | TicketKind::FaultReport),
        Role::Agent | Role::Dispatcher | Role::Supervisor | Role::Admin => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(Refusal::CreateForbidden {
            role: actor.role,
            kind,
        })
    }
}

/// May `actor` make `edit` on `ticket`? Assumes the values and workflow were already checked.
pub fn authorize(actor: &Actor, ticket: &Ticket, edit: &Edit) -> Result<(), Refusal> {
    let refuse = |reason: &'static str| {
        Err(Refusal::Forbidden {
            role: actor.role,
            action: edit.name(),
            reason,
        })
    };
    if actor.role.is_back_office() {
        return Ok(());
    }
    if !can_see(actor, ticket) {
        return refuse("on a ticket they cannot see");
    }
    if let Edit::Attach { .. } = edit {
        return authorize_attach(actor, ticket, refuse);
    }
    // Notes of their own can be taken back by anyone who could write them.
    if let Edit::RedactNote { note_id } = edit {
        return match ticket.note(note_id) {
            Some(note) if note.author == actor.user_id => Ok(()),
            _ => refuse("on someone else's note"),
        };
    }
    match actor.role {
        Role::Rider | Role::Merchant => authorize_reporter(actor.role, ticket, edit, refuse),
        Role::Technician => authorize_technician(actor, ticket, edit, refuse),
        Role::Agent | Role::Dispatcher | Role::Supervisor | Role::Admin => Ok(()),
    }
}

/// May `actor` attach a photo to `ticket` at all? Asked before a photo is processed, with no
/// attachment in hand (`rules::may_attach`), and for every `Edit::Attach`.
pub fn may_attach(actor: &Actor, ticket: &Ticket) -> Result<(), Refusal> {
    let refuse = |reason: &'static str| {
        Err(Refusal::Forbidden {
            role: actor.role,
            action: ATTACH,
            reason,
        })
    };
    if actor.role.is_back_office() {
        return Ok(());
    }
    if !can_see(actor, ticket) {
        return refuse("on a ticket they cannot see");
    }
    authorize_attach(actor, ticket, refuse)
}

/// What a refused attachment is called (`Edit::name` of `Edit::Attach`).
const ATTACH: &str = "attach a photo";

fn authorize_attach(
    actor: &Actor,
    ticket: &Ticket,
    refuse: impl Fn(&'static str) -> Result<(), Refusal>,
) -> Result<(), Refusal> {
    match actor.role {
        // Riders' photos and merchants' screenshots are evidence for their own tickets.
        Role::Rider | Role::Merchant => Ok(()),
        Role::Technician if is_assignee(actor, ticket) => Ok(()),
        Role::Technician => refuse("before claiming the ticket"),
        Role::Agent | Role::Dispatcher | Role::Supervisor | Role::Admin => Ok(()),
    }
}

fn authorize_reporter(
    role: Role,
    ticket: &Ticket,
    edit: &Edit,
    refuse: impl Fn(&'static str) -> Result<(), Refusal>,
) -> Result<(), Refusal> {
    match edit {
        Edit::AddNote {
            internal: false, ..
        } => Ok(()),
        Edit::AddNote { internal: true, .. } => refuse("(internal notes are for staff)"),
        Edit::SetSite { .. } if role == Role::Rider && ticket.is_open() => Ok(()),
        Edit::SetStatus {
            status: Status::Cancelled,
        } => Ok(()),
        Edit::SetStatus {
            status: Status::Closed | Status::Reopened,
        } if role == Role::Merchant => Ok(()),
        Edit::SetStatus { .. } => refuse("(only cancelling is open to reporters)"),
        Edit::Rate { .. } if matches!(ticket.status, Status::Resolved | Status::Closed) => Ok(()),
        Edit::Rate { .. } => refuse("before the ticket is resolved"),
        _ => refuse("on a ticket (staff only)"),
    }
}

fn authorize_technician(
    actor: &Actor,
    ticket: &Ticket,
    edit: &Edit,
    refuse: impl Fn(&'static str) -> Result<(), Refusal>,
) -> Result<(), Refusal> {
    let mine = is_assignee(actor, ticket);
    match edit {
        Edit::Assign {
            assignee: Some(who),
        } if who == &actor.user_id && !mine => Ok(()),
        Edit::Assign { assignee: None } if mine => Ok(()),
        Edit::Assign { .. } => refuse("(only claiming from the queue or releasing to it)"),
        _ if !mine => refuse("before claiming the ticket"),
        Edit::SetStatus {
            status: Status::Closed | Status::Cancelled | Status::Reopened,
        } => refuse("(closing, cancelling and reopening are for the back office)"),
        Edit::SetStatus { .. }
        | Edit::AddNote { .. }
        | Edit::AddPart { .. }
        | Edit::TickChecklist { .. }
        | Edit::RecordArrival { .. } => Ok(()),
        _ => refuse("on a ticket (back office only)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Channel, Priority};
    use crate::rules::check_edit;
    use crate::ticket::{Note, Person, Site};

    fn actor(user: &str, role: Role, team: Option<&str>) -> Actor {
        Actor {
            tenant: "acme".into(),
            user_id: user.into(),
            role,
            name: None,
            team: team.map(str::to_owned),
        }
    }

    fn ticket(status: Status, assignee: Option<&str>) -> Ticket {
        Ticket {
            v: 1,
            id: "t1".into(),
            number: None,
            tenant: "acme".into(),
            kind: TicketKind::HelpRequest,
            channel: Channel::App,
            title: "Help".into(),
            category: None,
            priority: Priority::Normal,
            status,
            description: String::new(),
            reporter: Person {
                user_id: "rider1".into(),
                role: Role::Rider,
                name: None,
            },
            customer: None,
            order_ref: None,
            asset: None,
            site: None,
            assignee: assignee.map(str::to_owned),
            team: Some("north".into()),
            sla: None,
            notes: vec![Note {
                id: "n1".into(),
                author: "rider1".into(),
                role: Role::Rider,
                text: "hi".into(),
                internal: false,
                at: 0,
                redacted: false,
                erased: false,
            }],
            attachments: vec![],
            events: vec![],
            parts_used: vec![],
            checklist: Default::default(),
            csat: None,
            alert: None,
            asset_history: Vec::new(),
            tags: vec![],
            custom: Default::default(),
            created_at: 0,
            conflicts: vec![],
        }
    }

    fn note(internal: bool) -> Edit {
        Edit::AddNote {
            text: "on my way".into(),
            internal,
        }
    }

    fn status(s: Status) -> Edit {
        Edit::SetStatus { status: s }
    }

    #[test]
    fn visibility_follows_the_role_table() {
        let t = ticket(Status::Assigned, Some("tech1"));
        assert!(can_see(&actor("rider1", Role::Rider, None), &t));
        assert!(!can_see(&actor("rider2", Role::Rider, None), &t));
        assert!(can_see(&actor("tech1", Role::Technician, None), &t));
        assert!(!can_see(
            &actor("tech2", Role::Technician, Some("north")),
            &t
        ));
        let queued = ticket(Status::New, None);
        assert!(can_see(
            &actor("tech2", Role::Technician, Some("north")),
            &queued
        ));
        assert!(!can_see(
            &actor("tech3", Role::Technician, Some("south")),
            &queued
        ));
        for role in [Role::Agent, Role::Dispatcher, Role::Supervisor, Role::Admin] {
            assert!(can_see(&actor("x", role, None), &t));
        }
        let mut other = actor("x", Role::Admin, None);
        other.tenant = "globex".into();
        assert!(!can_see(&other, &t));
    }

    #[test]
    fn rider_may_note_cancel_and_locate_but_not_assign_or_resolve() {
        let rider = actor("rider1", Role::Rider, None);
        let t = ticket(Status::Assigned, Some("tech1"));
        assert_eq!(check_edit(&rider, &t, &note(false)), Ok(()));
        assert!(check_edit(&rider, &t, &note(true)).is_err());
        assert_eq!(check_edit(&rider, &t, &status(Status::Cancelled)), Ok(()));
        let site = Site {
            lat: 1.0,
            lon: 2.0,
            accuracy_m: Some(5.0),
            address: None,
        };
        assert_eq!(check_edit(&rider, &t, &Edit::SetSite { site }), Ok(()));
        let assign = Edit::Assign {
            assignee: Some("rider1".into()),
        };
        assert!(matches!(
            check_edit(&rider, &t, &assign),
            Err(Refusal::Forbidden { .. })
        ));
        assert!(
            check_edit(
                &rider,
                &t,
                &Edit::SetPriority {
                    priority: Priority::Urgent
                }
            )
            .is_err()
        );
        let resolving = ticket(Status::InProgress, Some("tech1"));
        assert!(matches!(
            check_edit(&rider, &resolving, &status(Status::Resolved)),
            Err(Refusal::Forbidden { .. })
        ));
        // Someone else's ticket: nothing at all.
        let stranger = actor("rider2", Role::Rider, None);
        assert!(check_edit(&stranger, &t, &note(false)).is_err());
    }

    #[test]
    fn rating_only_after_resolution() {
        let rider = actor("rider1", Role::Rider, None);
        let rate = Edit::Rate {
            score: 5,
            comment: None,
        };
        assert!(check_edit(&rider, &ticket(Status::InProgress, Some("t")), &rate).is_err());
        assert_eq!(
            check_edit(&rider, &ticket(Status::Resolved, Some("t")), &rate),
            Ok(())
        );
    }

    #[test]
    fn merchant_confirms_or_reopens_a_resolution() {
        let merchant = actor("rider1", Role::Merchant, None);
        let t = ticket(Status::Resolved, Some("tech1"));
        assert_eq!(check_edit(&merchant, &t, &status(Status::Closed)), Ok(()));
        assert_eq!(check_edit(&merchant, &t, &status(Status::Reopened)), Ok(()));
        let rider = actor("rider1", Role::Rider, None);
        assert!(check_edit(&rider, &t, &status(Status::Closed)).is_err());
    }

    #[test]
    fn technician_works_their_own_tickets_along_the_workflow() {
        let tech = actor("tech1", Role::Technician, Some("north"));
        let t = ticket(Status::Assigned, Some("tech1"));
        assert_eq!(check_edit(&tech, &t, &status(Status::Accepted)), Ok(()));
        assert_eq!(check_edit(&tech, &t, &note(true)), Ok(()));
        let part = Edit::AddPart {
            sku: "VALVE-2".into(),
            qty: 1,
        };
        assert_eq!(check_edit(&tech, &t, &part), Ok(()));
        let tick = Edit::TickChecklist {
            item: "power off".into(),
            done: true,
        };
        assert_eq!(check_edit(&tech, &t, &tick), Ok(()));
        assert_eq!(
            check_edit(&tech, &t, &Edit::Assign { assignee: None }),
            Ok(())
        );
        assert!(check_edit(&tech, &t, &status(Status::Cancelled)).is_err());
        let other = Edit::Assign {
            assignee: Some("tech2".into()),
        };
        assert!(check_edit(&tech, &t, &other).is_err());
        assert!(
            check_edit(
                &tech,
                &t,
                &Edit::SetPriority {
                    priority: Priority::Low
                }
            )
            .is_err()
        );
        // Workflow still applies: no jumping from assigned to resolved.
        assert!(matches!(
            check_edit(&tech, &t, &status(Status::Resolved)),
            Err(Refusal::Transition { .. })
        ));
    }

    #[test]
    fn technician_claims_from_the_team_queue_only() {
        let queued = ticket(Status::New, None);
        let tech = actor("tech2", Role::Technician, Some("north"));
        let claim = Edit::Assign {
            assignee: Some("tech2".into()),
        };
        assert_eq!(check_edit(&tech, &queued, &claim), Ok(()));
        assert!(check_edit(&tech, &queued, &note(false)).is_err());
        let outsider = actor("tech3", Role::Technician, Some("south"));
        let claim3 = Edit::Assign {
            assignee: Some("tech3".into()),
        };
        assert!(check_edit(&outsider, &queued, &claim3).is_err());
    }

    #[test]
    fn back_office_may_do_everything_the_workflow_allows() {
        let t = ticket(Status::InProgress, Some("tech1"));
        for role in [Role::Agent, Role::Dispatcher, Role::Supervisor, Role::Admin] {
            let a = actor("boss", role, None);
            assert_eq!(check_edit(&a, &t, &status(Status::Resolved)), Ok(()));
            let reassign = Edit::Assign {
                assignee: Some("tech2".into()),
            };
            assert_eq!(check_edit(&a, &t, &reassign), Ok(()));
            assert_eq!(
                check_edit(
                    &a,
                    &t,
                    &Edit::RedactNote {
                        note_id: "n1".into()
                    }
                ),
                Ok(())
            );
            assert!(check_edit(&a, &t, &status(Status::New)).is_err());
        }
    }

    #[test]
    fn only_the_author_redacts_a_note_unless_back_office() {
        let t = ticket(Status::Assigned, Some("tech1"));
        let redact = Edit::RedactNote {
            note_id: "n1".into(),
        };
        assert_eq!(
            check_edit(&actor("rider1", Role::Rider, None), &t, &redact),
            Ok(())
        );
        assert!(check_edit(&actor("tech1", Role::Technician, None), &t, &redact).is_err());
        let missing = Edit::RedactNote {
            note_id: "nope".into(),
        };
        assert_eq!(
            check_edit(&actor("boss", Role::Agent, None), &t, &missing),
            Err(Refusal::UnknownNote)
        );
    }

    #[test]
    fn creation_is_limited_by_role() {
        let rider = actor("r", Role::Rider, None);
        assert_eq!(authorize_create(&rider, TicketKind::HelpRequest), Ok(()));
        assert!(authorize_create(&rider, TicketKind::Repair).is_err());
        let merchant = actor("m", Role::Merchant, None);
        assert_eq!(authorize_create(&merchant, TicketKind::FaultReport), Ok(()));
        assert!(authorize_create(&merchant, TicketKind::Alert).is_err());
        assert_eq!(
            authorize_create(&actor("a", Role::Agent, None), TicketKind::Alert),
            Ok(())
        );
    }

    #[test]
    fn other_tenant_is_refused_for_every_role() {
        let t = ticket(Status::New, None);
        for &role in Role::ALL {
            let mut a = actor("rider1", role, Some("north"));
            a.tenant = "globex".into();
            assert_eq!(check_edit(&a, &t, &note(false)), Err(Refusal::OtherTenant));
        }
    }
}
