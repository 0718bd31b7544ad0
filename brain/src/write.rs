//! Writing what the brain decided into a ticket's two documents, each as one change by the
//! store's server actor in the name of [`BRAIN_ACTOR`]: the fields and the SLA into the public
//! document, the brain's events (its reasons), internal notes and tags into the staff document
//! (`docs/staff-data.md`: the brain's reasons are staff data). What the server then stores, as it
//! stores ticket numbers; the notifications and webhooks of the decisions are the server's to
//! send.

use fieldwork_core::model::{Actor, Role};
use fieldwork_core::ticket::{ActorId, Change, DocumentError, Edit, Sla, TicketDocument};

use crate::decisions::{BRAIN_ACTOR, Decisions};

/// The changes one [`write`] made (`None` where a document did not change).
#[derive(Debug, Default)]
pub struct Written {
    pub public: Option<Change>,
    pub staff: Option<Change>,
}

/// The author of the brain's writes in `tenant`.
pub fn brain_author(tenant: &str) -> Actor {
    Actor {
        tenant: tenant.to_owned(),
        user_id: BRAIN_ACTOR.to_owned(),
        role: Role::Admin,
        name: Some("Fieldwork brain".to_owned()),
        team: None,
    }
}

/// Writes `decisions` into `public` and `staff` (the ticket's documents; `staff` is its genesis
/// when it has no staff data yet) as at most one change each, by `server_actor` at `now`.
/// `current` is the ticket the decisions were made on (its SLA is compared, not rewritten when
/// it is the same).
pub fn write(
    decisions: &Decisions,
    current: &fieldwork_core::ticket::Ticket,
    public: &mut TicketDocument,
    staff: &mut TicketDocument,
    server_actor: &ActorId,
    tenant: &str,
    now: i64,
) -> Result<Written, DocumentError> {
    let author = brain_author(tenant);
    let fields = &decisions.fields;
    let stored_sla = current.sla.as_ref();
    let sla = decisions
        .sla
        .as_ref()
        .filter(|sla| sla.differs_from(stored_sla) || sla_extras_differ(sla, stored_sla));
    let public_change =
        public.server_batch(server_actor.clone(), &author, None, now, "brain", |batch| {
            if let Some(kind) = fields.kind {
                batch.kind(kind)?;
            }
            if let Some(category) = &fields.category {
                batch.edit(&Edit::SetCategory {
                    category: Some(category.clone()),
                })?;
            }
            if let Some(priority) = fields.priority {
                batch.edit(&Edit::SetPriority { priority })?;
            }
            if let Some(team) = &fields.team {
                batch.edit(&Edit::SetTeam { team: team.clone() })?;
            }
            if let Some(assignee) = &fields.assignee {
                batch.edit(&Edit::Assign {
                    assignee: assignee.clone(),
                })?;
            }
            if let Some(status) = fields.status {
                batch.edit(&Edit::SetStatus { status })?;
            }
            if let Some(sla) = sla {
                batch.sla(&Sla {
                    first_response_due: sla.first_response_due,
                    resolution_due: sla.resolution_due,
                    paused: sla.paused,
                    breaches: sla.breaches.clone(),
                    policy: Some(sla.policy.clone()),
                    update_due: sla.update_due,
                })?;
            }
            Ok(())
        })?;
    let staff_work =
        !fields.add_tags.is_empty() || !decisions.notes.is_empty() || !decisions.events.is_empty();
    if !staff_work {
        return Ok(Written {
            public: public_change,
            staff: None,
        });
    }
    let public_view = public.view()?;
    staff.seen_public(public.heads());
    let staff_change = staff.server_batch(
        server_actor.clone(),
        &author,
        Some(&public_view),
        now,
        "brain",
        |batch| {
            for tag in &fields.add_tags {
                batch.edit(&Edit::AddTag { tag: tag.clone() })?;
            }
            for note in &decisions.notes {
                batch.edit(&Edit::AddNote {
                    text: note.clone(),
                    internal: true,
                })?;
            }
            for event in &decisions.events {
                let data: Vec<(&str, &str)> = event
                    .data
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                batch.event(&event.kind, &data)?;
            }
            Ok(())
        },
    )?;
    Ok(Written {
        public: public_change,
        staff: staff_change,
    })
}

/// Whether the stored SLA lacks the policy or update time the brain computed (what
/// [`crate::SlaFields::differs_from`] does not compare).
fn sla_extras_differ(sla: &crate::SlaFields, stored: Option<&Sla>) -> bool {
    stored.is_none_or(|s| {
        s.policy.as_deref() != Some(sla.policy.as_str()) || s.update_due != sla.update_due
    })
}
