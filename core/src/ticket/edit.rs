//! The typed operations that change a ticket. Each is checked by [`crate::rules`] and then
//! written by [`super::TicketDocument::apply`] as one Automerge change.

use serde::{Deserialize, Serialize};

use crate::location::LocationFix;
use crate::model::{Channel, Part, Priority, Status, TicketKind};
use crate::ticket::view::{Asset, Customer, Site, Ticket};

/// What a new ticket starts with. The id, reporter and times come from the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTicket {
    pub kind: TicketKind,
    pub channel: Channel,
    pub title: String,
    pub category: Option<String>,
    pub priority: Priority,
    pub description: String,
    pub order_ref: Option<String>,
    pub customer: Option<Customer>,
    pub asset: Option<Asset>,
    pub site: Option<Site>,
    /// A first note written in the same change as the ticket (the help request's "what happened").
    pub note: Option<String>,
}

impl NewTicket {
    /// A ticket of `kind` with just a title; everything else default.
    pub fn titled(kind: TicketKind, title: impl Into<String>) -> Self {
        NewTicket {
            kind,
            channel: Channel::App,
            title: title.into(),
            category: None,
            priority: Priority::Normal,
            description: String::new(),
            order_ref: None,
            customer: None,
            asset: None,
            site: None,
            note: None,
        }
    }

    /// The one-button help request: high priority, the rider's order and position if known.
    pub fn help_request(
        order_ref: Option<String>,
        fix: Option<LocationFix>,
        note: Option<String>,
    ) -> Self {
        let title = match &order_ref {
            Some(order) => format!("Help needed with order {order}"),
            None => "Help needed".to_owned(),
        };
        NewTicket {
            priority: Priority::High,
            category: Some("rider_help".to_owned()),
            order_ref,
            site: fix.map(Site::from),
            note,
            ..NewTicket::titled(TicketKind::HelpRequest, title)
        }
    }
}

impl From<LocationFix> for Site {
    fn from(fix: LocationFix) -> Self {
        Site {
            lat: fix.lat,
            lon: fix.lon,
            accuracy_m: fix.accuracy_m,
            address: None,
        }
    }
}

/// The event type recorded when a technician's fix falls inside the site's radius.
pub const ARRIVED_ON_SITE: &str = "arrived_on_site";

/// A photo or screenshot to file on a ticket: what the pipeline produced. Who attached it and
/// when come from the store, like every other edit's author.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAttachment {
    /// sha256 (hex) of the stored JPEG.
    pub sha256: String,
    /// sha256 (hex) of its thumbnail.
    pub thumb: Option<String>,
    pub mime: String,
    /// A file's name (files that are not photos, which only the server files); `None` for a
    /// photo.
    #[serde(default)]
    pub name: Option<String>,
    pub bytes: i64,
    pub width: i64,
    pub height: i64,
    pub captured_at: Option<i64>,
    pub location: Option<LocationFix>,
}

/// One change to an existing ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Edit {
    SetTitle {
        title: String,
    },
    SetCategory {
        category: Option<String>,
    },
    SetPriority {
        priority: Priority,
    },
    SetDescription {
        description: String,
    },
    SetOrderRef {
        order_ref: Option<String>,
    },
    SetCustomer {
        customer: Option<Customer>,
    },
    SetStatus {
        status: Status,
    },
    /// Assign to a user (`Some`) or release back to the queue (`None`).
    Assign {
        assignee: Option<String>,
    },
    SetTeam {
        team: Option<String>,
    },
    AddNote {
        text: String,
        internal: bool,
    },
    RedactNote {
        note_id: String,
    },
    AddPart {
        sku: String,
        qty: i64,
    },
    TickChecklist {
        item: String,
        done: bool,
    },
    SetSite {
        site: Site,
    },
    AddTag {
        tag: String,
    },
    RemoveTag {
        tag: String,
    },
    Rate {
        score: i64,
        comment: Option<String>,
    },
    /// File a photo or screenshot (its files are stored by the store in the same transaction).
    Attach {
        attachment: NewAttachment,
    },
    /// The technician's fix fell inside the site's radius: an `arrived_on_site` event.
    RecordArrival {
        /// Distance from the site, whole metres.
        distance_m: i64,
    },
}

impl Edit {
    /// Which of the ticket's documents the edit is written to: internal notes (and redacting
    /// one) and tags go to the staff document, everything else to the public one. `ticket` is
    /// the ticket the edit is made on (a redaction follows its note).
    pub fn part(&self, ticket: &Ticket) -> Part {
        match self {
            Edit::AddNote { internal: true, .. } | Edit::AddTag { .. } | Edit::RemoveTag { .. } => {
                Part::Staff
            }
            Edit::RedactNote { note_id } if ticket.note(note_id).is_some_and(|n| n.internal) => {
                Part::Staff
            }
            _ => Part::Public,
        }
    }

    /// A short name for messages and the change log (never carries user text).
    pub fn name(&self) -> &'static str {
        match self {
            Edit::SetTitle { .. } => "set title",
            Edit::SetCategory { .. } => "set category",
            Edit::SetPriority { .. } => "set priority",
            Edit::SetDescription { .. } => "set description",
            Edit::SetOrderRef { .. } => "set order reference",
            Edit::SetCustomer { .. } => "set customer",
            Edit::SetStatus { .. } => "change status",
            Edit::Assign { assignee: Some(_) } => "assign",
            Edit::Assign { assignee: None } => "release to queue",
            Edit::SetTeam { .. } => "set team",
            Edit::AddNote {
                internal: false, ..
            } => "add note",
            Edit::AddNote { internal: true, .. } => "add internal note",
            Edit::RedactNote { .. } => "redact note",
            Edit::AddPart { .. } => "add part",
            Edit::TickChecklist { .. } => "tick checklist item",
            Edit::SetSite { .. } => "set site location",
            Edit::AddTag { .. } => "add tag",
            Edit::RemoveTag { .. } => "remove tag",
            Edit::Rate { .. } => "rate the service",
            Edit::Attach { .. } => "attach a photo",
            Edit::RecordArrival { .. } => "record arrival on site",
        }
    }
}
