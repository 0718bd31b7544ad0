//! The vocabulary of a ticket: kinds, channels, priorities, statuses and roles, each spelled on the
//! wire and in the ticket document exactly as in `docs/ARCHITECTURE.md` (snake_case strings), and
//! [`Actor`], the person an edit is judged for.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value that could not be parsed into one of the closed vocabularies below.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{value}'; expected one of: {expected}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// Declares a closed string vocabulary with `as_str`, `FromStr`, `Display` and serde support, so
/// each spelling lives in exactly one place.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $text)] $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling used in documents, the database and the CLI.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        what: $what,
                        value: s.chars().take(40).collect(),
                        expected: concat!($($text, " "),+),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// What a ticket is about; decides who may create it.
    TicketKind, "ticket kind" {
        HelpRequest => "help_request",
        Repair => "repair",
        FaultReport => "fault_report",
        Complaint => "complaint",
        Inquiry => "inquiry",
        Alert => "alert",
    }
);

string_enum!(
    /// Where a ticket came in.
    Channel, "channel" {
        App => "app",
        Web => "web",
        Email => "email",
        Phone => "phone",
        Iot => "iot",
        Api => "api",
    }
);

string_enum!(
    /// How urgent a ticket is; ordered from least to most urgent.
    Priority, "priority" {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

impl Priority {
    /// A number that sorts the way people expect (urgent first when descending).
    pub fn rank(self) -> i64 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }
    }
}

string_enum!(
    /// Where a ticket stands in the workflow (which status may follow which is the core's
    /// `rules::workflow`).
    Status, "status" {
        New => "new",
        Assigned => "assigned",
        Accepted => "accepted",
        EnRoute => "en_route",
        OnSite => "on_site",
        InProgress => "in_progress",
        AwaitingParts => "awaiting_parts",
        AwaitingCustomer => "awaiting_customer",
        Resolved => "resolved",
        Closed => "closed",
        Cancelled => "cancelled",
        Reopened => "reopened",
    }
);

impl Status {
    /// Work is still going on: not resolved, closed or cancelled.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed | Status::Cancelled)
    }

    /// Waiting on someone else: the SLA resolution clock stops.
    pub fn pauses_sla(self) -> bool {
        matches!(self, Status::AwaitingParts | Status::AwaitingCustomer)
    }
}

string_enum!(
    /// What a user is allowed to see and do inside their tenant.
    Role, "role" {
        Rider => "rider",
        Merchant => "merchant",
        Technician => "technician",
        Agent => "agent",
        Dispatcher => "dispatcher",
        Supervisor => "supervisor",
        Admin => "admin",
    }
);

impl Role {
    /// Back-office roles see and edit every ticket of their tenant.
    pub fn is_back_office(self) -> bool {
        matches!(
            self,
            Role::Agent | Role::Dispatcher | Role::Supervisor | Role::Admin
        )
    }

    /// The kind of ticket this role creates when it does not say otherwise.
    pub fn default_kind(self) -> TicketKind {
        match self {
            Role::Rider => TicketKind::HelpRequest,
            Role::Merchant => TicketKind::FaultReport,
            _ => TicketKind::Repair,
        }
    }
}

string_enum!(
    /// Which of a ticket's two documents something belongs to (`docs/staff-data.md`): the
    /// public one everyone who sees the ticket holds, or the staff companion that only staff
    /// who see the ticket hold (internal notes, tags, staff history).
    Part, "document part" {
        Public => "public",
        Staff => "staff",
    }
);

impl Part {
    /// For serde's `skip_serializing_if`: the public part is the default and left out.
    pub fn is_public(&self) -> bool {
        *self == Part::Public
    }
}

// `string_enum!` derives the vocabulary's traits; `Default` is only this one's.
#[allow(clippy::derivable_impls)]
impl Default for Part {
    fn default() -> Self {
        Part::Public
    }
}

impl Role {
    /// Roles that read staff data (the staff companion document) of the tickets they see:
    /// technicians and the back office; riders and merchants never
    /// (`docs/staff-data.md`, "Who reads staff data").
    pub fn reads_staff_data(self) -> bool {
        self == Role::Technician || self.is_back_office()
    }
}

/// The person acting on a device: whose rules apply to an edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub tenant: String,
    pub user_id: String,
    pub role: Role,
    pub name: Option<String>,
    pub team: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vocabulary_round_trips_through_its_spelling() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(*s));
            assert_eq!(serde_json::to_string(s).ok(), Some(format!("\"{s}\"")));
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(*r));
        }
        for k in TicketKind::ALL {
            assert_eq!(k.as_str().parse::<TicketKind>(), Ok(*k));
        }
    }

    #[test]
    fn unknown_spelling_names_the_choices() {
        let err = "shouting".parse::<Priority>().unwrap_err();
        assert!(err.to_string().contains("low normal high urgent"), "{err}");
    }

    #[test]
    fn priority_ranks_sort_urgent_highest() {
        let mut all = Priority::ALL.to_vec();
        all.sort_by_key(|p| p.rank());
        assert_eq!(all, Priority::ALL);
    }
}

/// Personal data erased from a ticket for good (`docs/staff-data.md`, "Erase"). It names what
/// was erased, never the content: the audit log and the wire carry it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Erasure {
    /// A note's text (public or internal): the note stays, `erased`, with no text.
    Note { note_id: String },
    /// A photo: its entry stays, `erased`, with no thumbnail, time or place; its file goes.
    Photo { sha256: String },
    /// The customer's name and phone.
    Contact,
}

impl Erasure {
    /// The kind, as the audit log and the CLI name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Erasure::Note { .. } => "note",
            Erasure::Photo { .. } => "photo",
            Erasure::Contact => "contact",
        }
    }

    /// What it names within its kind (a note id, a photo's sha256; nothing for the contact).
    pub fn target(&self) -> Option<&str> {
        match self {
            Erasure::Note { note_id } => Some(note_id),
            Erasure::Photo { sha256 } => Some(sha256),
            Erasure::Contact => None,
        }
    }

    /// The erasure of `kind` naming `target` (the inverse of [`Self::kind`] and [`Self::target`]).
    pub fn from_parts(kind: &str, target: Option<&str>) -> Result<Erasure, UnknownValue> {
        match (kind, target) {
            ("note", Some(id)) => Ok(Erasure::Note {
                note_id: id.to_owned(),
            }),
            ("photo", Some(sha)) => Ok(Erasure::Photo {
                sha256: sha.to_owned(),
            }),
            ("contact", None) => Ok(Erasure::Contact),
            _ => Err(UnknownValue {
                what: "erasure",
                value: kind.to_owned(),
                expected: "note ID, photo SHA256, contact",
            }),
        }
    }
}
