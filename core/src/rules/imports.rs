//! Judging changes that arrive in a bundle (`device import`), whose authors nobody vouches for.
//!
//! A bundle is a file from anywhere: a change in it carries no proof of who made it, only what it
//! *claims* — the author and role of a note it adds, the `by` of an event, part, photo or
//! checklist tick it writes, the reporter of a ticket it creates. The importing device takes that
//! claim as far as it can check it, and judges the change with the server's own rules
//! ([`check_creation`], [`check_change`]) against the ticket as the author saw it:
//!
//! - everything one change claims names one user and at most one role;
//! - one Automerge actor is one device, and a device writes for one user: all changes of an actor
//!   in the bundle claim the same user, and a change that names nobody is taken to be by the user
//!   its actor names elsewhere in the bundle;
//! - the device knows its own user for sure: a claim in that user's name must carry their role,
//!   and one user keeps one role throughout the bundle;
//! - a user whose role nothing in the bundle states is judged as the back office (the widest
//!   role), so what is refused is what no role could do; the rest stays unverified on the device
//!   until the server, which knows every author, sends it back;
//! - status, assignment, priority, redaction and rating always leave their entry in the history
//!   (that is how the app writes them): a change that moves them silently is refused;
//! - a change that only gives the ticket its number (once) or its SLA clocks, naming nobody, is
//!   the server's own, and touches nothing else.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::{Actor, Part, Role};
use crate::ticket::{Event, PartUsed, Ticket};

use super::Refusal;
use super::changes::{check_change, check_creation};
use super::roles::can_see;

/// The role a user is judged as when nothing says which role they have: the widest one.
const UNKNOWN_ROLE: Role = Role::Dispatcher;

/// The longest ticket number accepted from a bundle (the server writes `FW-000123`).
const MAX_NUMBER_LEN: usize = 32;

/// Why an imported change was refused. Messages name the rule, never the ticket's contents.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportRefusal {
    #[error("a change names more than one author")]
    InconsistentAuthors,
    #[error("a change writes an entry without the name of its author, which the app always writes")]
    Anonymous,
    #[error("a change names an author with a role other than the one the bundle gives them")]
    InconsistentRole,
    #[error("a change from one device is written in the names of different users")]
    OneDeviceManyUsers,
    #[error("a change claims this device's user with a role they do not have")]
    NotMyRole,
    #[error("a change sets the {0} without the history entry the app always writes with it")]
    Unrecorded(&'static str),
    #[error("a change writes fields only the server writes")]
    ServerField,
    #[error("a change creates a ticket that already exists")]
    SecondCreation,
    #[error("a change leaves the ticket unreadable")]
    Unreadable,
    #[error("a change's author could not see the ticket when making it")]
    NotVisible,
    #[error("{0}")]
    Rules(#[from] Refusal),
}

/// Who a change says it is by, from what it writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claim {
    pub user_id: Option<String>,
    pub role: Option<Role>,
}

/// The judge of one import: the device's own user, and what the bundle has claimed so far.
#[derive(Debug)]
pub struct ImportJudge {
    me: Actor,
    /// Automerge actor (hex) → the user its changes claim.
    actors: HashMap<String, String>,
    /// User → their role, as this device knows it (its own user) or the bundle first states it.
    roles: HashMap<String, Role>,
}

impl ImportJudge {
    /// A judge for a device of `me`, whose own changes carry the actor `my_actor_id` (hex).
    pub fn new(me: &Actor, my_actor_id: &str) -> Self {
        ImportJudge {
            me: me.clone(),
            actors: HashMap::from([(my_actor_id.to_owned(), me.user_id.clone())]),
            roles: HashMap::from([(me.user_id.clone(), me.role)]),
        }
    }

    /// Judges one change by the Automerge actor `change_actor` (hex). `before` is the ticket at
    /// the change's dependencies (`None` for the change that creates it), `after` the ticket with
    /// the change applied on top. Changes must come in causal order; who a change that passes
    /// claims to be is remembered for the changes after it.
    pub fn judge(
        &mut self,
        change_actor: &str,
        part: Part,
        before: Option<&Ticket>,
        after: &Ticket,
    ) -> Result<Claim, ImportRefusal> {
        let added = Added::between(before, after);
        let direct = added.claim()?;
        let device_user = self.actors.get(change_actor).cloned();
        if direct.user_id.is_none()
            && let Some(before) = before
            && server_fields_only(before, after)
        {
            // A device writes for a user; only the server writes a number or SLA clocks.
            if device_user.is_some() {
                return Err(ImportRefusal::ServerField);
            }
            check_server_fields(before, after)?;
            return Ok(Claim::default());
        }
        let user_id = match (direct.user_id, device_user) {
            (Some(claimed), Some(device)) if claimed != device => {
                return Err(ImportRefusal::OneDeviceManyUsers);
            }
            (Some(claimed), _) => Some(claimed),
            (None, device) => device,
        };
        let role = match (
            direct.role,
            user_id.as_ref().and_then(|u| self.roles.get(u)),
        ) {
            (Some(claimed), Some(&known)) if claimed != known => {
                return Err(if user_id.as_deref() == Some(self.me.user_id.as_str()) {
                    ImportRefusal::NotMyRole
                } else {
                    ImportRefusal::InconsistentRole
                });
            }
            (claimed, known) => claimed.or(known.copied()),
        };
        let claim = Claim { user_id, role };
        let actor = self.actor_for(&claim, before.unwrap_or(after));
        match before {
            None => check_creation(&actor, after)?,
            Some(before) => {
                if !actor.role.is_back_office() && !can_see(&actor, before) {
                    return Err(ImportRefusal::NotVisible);
                }
                check_change(&actor, part, before, after)?;
                check_recorded(before, after, &added.events)?;
            }
        }
        if let Some(user) = &claim.user_id {
            self.actors.insert(change_actor.to_owned(), user.clone());
            if let Some(role) = claim.role {
                self.roles.entry(user.clone()).or_insert(role);
            }
        }
        Ok(claim)
    }

    /// The actor the rules judge a claim as. Its team is the device's own for its own user; for
    /// anyone else it cannot be known, so the ticket's team is assumed (the server checks it).
    fn actor_for(&self, claim: &Claim, ticket: &Ticket) -> Actor {
        let user_id = claim.user_id.clone().unwrap_or_default();
        let team = if user_id == self.me.user_id {
            self.me.team.clone()
        } else {
            ticket.team.clone()
        };
        Actor {
            tenant: self.me.tenant.clone(),
            user_id,
            role: claim.role.unwrap_or(UNKNOWN_ROLE),
            name: None,
            team,
        }
    }
}

/// What a change added to a ticket's authored entries.
struct Added<'a> {
    /// (author, role) of each new note.
    notes: Vec<(&'a str, Role)>,
    events: Vec<&'a Event>,
    parts: Vec<&'a PartUsed>,
    /// `by` of each newly filed attachment and each checklist item written.
    other_by: Vec<&'a str>,
    /// The reporter, for the change that creates the ticket.
    reporter: Option<(&'a str, Role)>,
}

impl<'a> Added<'a> {
    fn between(before: Option<&Ticket>, after: &'a Ticket) -> Self {
        let Some(before) = before else {
            return Added {
                notes: after
                    .notes
                    .iter()
                    .map(|n| (n.author.as_str(), n.role))
                    .collect(),
                events: after.events.iter().collect(),
                parts: after.parts_used.iter().collect(),
                other_by: after
                    .attachments
                    .iter()
                    .map(|a| a.by.as_str())
                    .chain(after.checklist.values().map(|c| c.by.as_str()))
                    .collect(),
                reporter: Some((after.reporter.user_id.as_str(), after.reporter.role)),
            };
        };
        let old_notes: BTreeSet<&str> = before.notes.iter().map(|n| n.id.as_str()).collect();
        let old_photos: BTreeSet<&str> = before
            .attachments
            .iter()
            .map(|a| a.sha256.as_str())
            .collect();
        Added {
            notes: after
                .notes
                .iter()
                .filter(|n| !old_notes.contains(n.id.as_str()))
                .map(|n| (n.author.as_str(), n.role))
                .collect(),
            events: grown(&before.events, &after.events),
            parts: grown(&before.parts_used, &after.parts_used),
            other_by: after
                .attachments
                .iter()
                .filter(|a| !old_photos.contains(a.sha256.as_str()))
                .map(|a| a.by.as_str())
                .chain(
                    after
                        .checklist
                        .iter()
                        .filter(|(item, state)| before.checklist.get(*item) != Some(state))
                        .map(|(_, state)| state.by.as_str()),
                )
                .collect(),
            reporter: None,
        }
    }

    /// The one user (and role) everything added names; refused if it names several.
    fn claim(&self) -> Result<Claim, ImportRefusal> {
        let users: BTreeSet<&str> = self
            .reporter
            .iter()
            .map(|(u, _)| *u)
            .chain(self.notes.iter().map(|(u, _)| *u))
            .chain(self.events.iter().map(|e| e.by.as_str()))
            .chain(self.parts.iter().map(|p| p.by.as_str()))
            .chain(self.other_by.iter().copied())
            .collect();
        let roles: BTreeSet<Role> = self
            .reporter
            .iter()
            .map(|(_, r)| *r)
            .chain(self.notes.iter().map(|(_, r)| *r))
            .collect();
        if users.contains("") {
            return Err(ImportRefusal::Anonymous);
        }
        if users.len() > 1 {
            return Err(ImportRefusal::InconsistentAuthors);
        }
        if roles.len() > 1 {
            return Err(ImportRefusal::InconsistentRole);
        }
        Ok(Claim {
            user_id: users.first().map(|u| (*u).to_owned()),
            role: roles.first().copied(),
        })
    }
}

/// The items of `after` beyond those of `before` (as multisets; what was removed is judged by
/// [`check_change`], which refuses it).
fn grown<'a, T: Ord>(before: &[T], after: &'a [T]) -> Vec<&'a T> {
    let mut left: BTreeMap<&T, usize> = BTreeMap::new();
    for item in before {
        *left.entry(item).or_default() += 1;
    }
    after
        .iter()
        .filter(|item| match left.get_mut(*item) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect()
}

/// Whether the change touches only the fields the server writes (number, SLA).
fn server_fields_only(before: &Ticket, after: &Ticket) -> bool {
    if before.number == after.number && before.sla == after.sla {
        return false;
    }
    let mut rest = after.clone();
    rest.number.clone_from(&before.number);
    rest.sla.clone_from(&before.sla);
    rest == *before
}

/// The server numbers a ticket once, in its own form (letters, digits and dashes).
fn check_server_fields(before: &Ticket, after: &Ticket) -> Result<(), ImportRefusal> {
    if before.number.is_some() && before.number != after.number {
        return Err(ImportRefusal::ServerField);
    }
    if let Some(number) = &after.number {
        let well_formed = !number.is_empty()
            && number.len() <= MAX_NUMBER_LEN
            && number
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !well_formed {
            return Err(ImportRefusal::ServerField);
        }
    }
    Ok(())
}

/// The moves the app always records in the history: each must come with its event.
fn check_recorded(before: &Ticket, after: &Ticket, events: &[&Event]) -> Result<(), ImportRefusal> {
    let recorded = |kind: &str, key: &str, value: &str| {
        events
            .iter()
            .any(|e| e.kind == kind && e.data.get(key).map(String::as_str) == Some(value))
    };
    if before.status != after.status && !recorded("status_changed", "to", after.status.as_str()) {
        return Err(ImportRefusal::Unrecorded("status"));
    }
    if before.assignee != after.assignee
        && !recorded(
            "assigned",
            "assignee",
            after.assignee.as_deref().unwrap_or(""),
        )
    {
        return Err(ImportRefusal::Unrecorded("assignee"));
    }
    if before.priority != after.priority
        && !recorded("priority_changed", "to", after.priority.as_str())
    {
        return Err(ImportRefusal::Unrecorded("priority"));
    }
    if let Some(csat) = &after.csat
        && before.csat.as_ref() != Some(csat)
        && !recorded("rated", "score", &csat.score.to_string())
    {
        return Err(ImportRefusal::Unrecorded("rating"));
    }
    let was_redacted: BTreeMap<&str, bool> = before
        .notes
        .iter()
        .map(|n| (n.id.as_str(), n.redacted))
        .collect();
    for note in after.notes.iter().filter(|n| n.redacted) {
        if was_redacted.get(note.id.as_str()) == Some(&false)
            && !recorded("note_redacted", "note_id", &note.id)
        {
            return Err(ImportRefusal::Unrecorded("redaction"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
