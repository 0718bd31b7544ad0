//! The brain speaks in login names (`user = "zhou.min"` in the tenant file); tickets store user
//! ids. Each call translates the ticket's people to names on the way in and the decisions' people
//! back to ids on the way out, within the tenant only: an id the tenant does not know stays as it
//! is (it can match no one in the file), and a name the file gives that is no user is never
//! written (a configuration is checked against the tenant's users when applied).

use std::collections::HashMap;

use fieldwork_brain::Decisions;
use fieldwork_brain::decisions::Recipient;
use fieldwork_core::model::Role;
use fieldwork_core::ticket::Ticket;

use crate::storage::UserRecord;

/// A tenant's users by id and by name.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    names: HashMap<String, String>,
    ids: HashMap<String, String>,
    /// Each user's id, name and role, in the store's order.
    users: Vec<(String, String, Role)>,
}

impl Directory {
    pub fn new(users: Vec<UserRecord>) -> Self {
        let mut directory = Directory::default();
        for user in users {
            directory.ids.insert(user.name.clone(), user.id.clone());
            directory.names.insert(user.id.clone(), user.name.clone());
            directory.users.push((user.id, user.name, user.role));
        }
        directory
    }

    /// The name of user `id`, or `id` itself when the tenant has no such user.
    pub fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }

    /// The name of user `id`, if the tenant has such a user.
    pub fn known_name(&self, id: &str) -> Option<&str> {
        self.names.get(id).map(String::as_str)
    }

    /// The ids and names of the tenant's users with `role`.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = (&str, &str)> {
        self.users
            .iter()
            .filter(move |(_, _, r)| *r == role)
            .map(|(id, name, _)| (id.as_str(), name.as_str()))
    }

    /// The id of the user named `name`, if the tenant has one.
    pub fn id(&self, name: &str) -> Option<&str> {
        self.ids.get(name).map(String::as_str)
    }

    /// `ticket` with its people named as the brain knows them: reporter, assignee, the authors
    /// of notes and history entries, and the people history entries name.
    pub fn named(&self, mut ticket: Ticket) -> Ticket {
        let rename = |id: &mut String| *id = self.name(id).to_owned();
        rename(&mut ticket.reporter.user_id);
        if let Some(assignee) = ticket.assignee.as_mut() {
            rename(assignee);
        }
        for note in &mut ticket.notes {
            rename(&mut note.author);
        }
        for event in &mut ticket.events {
            rename(&mut event.by);
            if let Some(assignee) = event.data.get_mut("assignee") {
                rename(assignee);
            }
        }
        ticket
    }

    /// `decisions` with the people they name as user ids. An assignment to a name that is no
    /// user of the tenant is dropped (and logged): nobody is assigned a ticket they cannot see.
    pub fn identified(&self, mut decisions: Decisions) -> Decisions {
        if let Some(Some(name)) = decisions.fields.assignee.clone() {
            match self.id(&name) {
                Some(id) => decisions.fields.assignee = Some(Some(id.to_owned())),
                None => {
                    tracing::warn!(
                        "the brain chose a person the tenant does not have; not assigned"
                    );
                    decisions.fields.assignee = None;
                }
            }
        }
        for event in &mut decisions.events {
            if let Some(assignee) = event.data.get_mut("assignee")
                && let Some(id) = self.ids.get(assignee.as_str())
            {
                *assignee = id.clone();
            }
        }
        for notification in &mut decisions.notifications {
            if let Recipient::User(name) = &mut notification.recipient
                && let Some(id) = self.ids.get(name.as_str())
            {
                *name = id.clone();
            }
        }
        decisions
    }
}
