//! What rules look at and change: the fields of a ticket as plain values, and the actions that
//! set them. A rule chain works on a copy of these, so the ticket itself is never touched.

use std::collections::BTreeSet;

use fieldwork_core::model::{Channel, Priority, Role, Status, TicketKind};
use fieldwork_core::ticket::Ticket;
use serde::Serialize;

/// The rule-visible fields of a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub status: Status,
    pub priority: Priority,
    pub kind: TicketKind,
    pub channel: Channel,
    pub category: Option<String>,
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub tags: BTreeSet<String>,
    pub reporter: String,
    pub reporter_role: Role,
}

impl Facts {
    /// The fields of `ticket` as they are.
    pub fn of(ticket: &Ticket) -> Self {
        Facts {
            status: ticket.status,
            priority: ticket.priority,
            kind: ticket.kind,
            channel: ticket.channel,
            category: ticket.category.clone(),
            team: ticket.team.clone(),
            assignee: ticket.assignee.clone(),
            tags: ticket.tags.iter().cloned().collect(),
            reporter: ticket.reporter.user_id.clone(),
            reporter_role: ticket.reporter.role,
        }
    }

    /// The value of a single-valued field, in its configuration spelling.
    pub fn value(&self, field: Field) -> Option<&str> {
        match field {
            Field::Status => Some(self.status.as_str()),
            Field::Priority => Some(self.priority.as_str()),
            Field::Kind => Some(self.kind.as_str()),
            Field::Channel => Some(self.channel.as_str()),
            Field::Category => self.category.as_deref(),
            Field::Team => self.team.as_deref(),
            Field::Assignee => self.assignee.as_deref(),
            Field::ReporterRole => Some(self.reporter_role.as_str()),
            Field::Tags => None,
        }
    }

    /// What differs from `earlier`, as field changes (tags: those added).
    pub fn changes_since(&self, earlier: &Facts) -> FieldChanges {
        let differs = |a: &Option<String>, b: &Option<String>| (a != b).then(|| a.clone());
        FieldChanges {
            status: (self.status != earlier.status).then_some(self.status),
            priority: (self.priority != earlier.priority).then_some(self.priority),
            kind: (self.kind != earlier.kind).then_some(self.kind),
            category: differs(&self.category, &earlier.category).flatten(),
            team: differs(&self.team, &earlier.team),
            assignee: differs(&self.assignee, &earlier.assignee),
            add_tags: self.tags.difference(&earlier.tags).cloned().collect(),
        }
    }
}

/// A field rules can test or see change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Status,
    Priority,
    Kind,
    Channel,
    Category,
    Team,
    Assignee,
    Tags,
    ReporterRole,
}

impl Field {
    /// Every field, for messages.
    pub const NAMES: &'static str =
        "status, priority, kind, channel, category, team, assignee, tags, reporter_role";

    /// The field of a configuration name.
    pub fn parse(name: &str) -> Option<Field> {
        Some(match name {
            "status" => Field::Status,
            "priority" => Field::Priority,
            "kind" => Field::Kind,
            "channel" => Field::Channel,
            "category" => Field::Category,
            "team" => Field::Team,
            "assignee" => Field::Assignee,
            "tags" => Field::Tags,
            "reporter_role" => Field::ReporterRole,
            _ => return None,
        })
    }

    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Status => "status",
            Field::Priority => "priority",
            Field::Kind => "kind",
            Field::Channel => "channel",
            Field::Category => "category",
            Field::Team => "team",
            Field::Assignee => "assignee",
            Field::Tags => "tags",
            Field::ReporterRole => "reporter_role",
        }
    }
}

/// Field values the brain sets on a ticket: only what differs from the ticket it was given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FieldChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<TicketKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `Some(None)` clears the team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<Option<String>>,
    /// `Some(None)` releases the ticket to its team's queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Option<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add_tags: Vec<String>,
}

impl FieldChanges {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == FieldChanges::default()
    }
}

/// A priority one step more urgent (urgent stays urgent).
pub fn raised(priority: Priority) -> Priority {
    match priority {
        Priority::Low => Priority::Normal,
        Priority::Normal => Priority::High,
        Priority::High | Priority::Urgent => Priority::Urgent,
    }
}
