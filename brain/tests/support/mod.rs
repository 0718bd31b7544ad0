//! Tickets made by hand for the brain's tests: a builder that records events and notes the way
//! the core writes them, and applies the brain's decisions back as the server would.

#![allow(dead_code)]

use std::collections::BTreeMap;

use fieldwork_brain::{BRAIN_ACTOR, Decisions};
use fieldwork_core::model::{Channel, Priority, Role, Status, TicketKind};
use fieldwork_core::ticket::{Event, Note, Person, Site, Ticket};
use jiff::Timestamp;

/// Milliseconds of an RFC 3339 instant.
pub fn ms(rfc3339: &str) -> i64 {
    rfc3339
        .parse::<Timestamp>()
        .expect("test instants are RFC 3339")
        .as_millisecond()
}

/// RFC 3339 UTC of milliseconds.
pub fn iso(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .expect("test instants are in range")
        .to_string()
}

pub fn iso_opt(ms: Option<i64>) -> Option<String> {
    ms.map(iso)
}

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;

/// Builds a ticket and its history.
pub struct TicketBuilder {
    pub ticket: Ticket,
}

impl TicketBuilder {
    /// A new ticket reported by `reporter` (a rider unless changed) at `created`.
    pub fn new(id: &str, kind: TicketKind, created: &str) -> Self {
        let at = ms(created);
        let reporter = "rider.1";
        let mut data = BTreeMap::new();
        data.insert("kind".to_owned(), kind.as_str().to_owned());
        TicketBuilder {
            ticket: Ticket {
                v: 1,
                id: id.to_owned(),
                number: None,
                tenant: "acme".to_owned(),
                kind,
                channel: Channel::App,
                title: String::new(),
                category: None,
                priority: Priority::Normal,
                status: Status::New,
                description: String::new(),
                reporter: Person {
                    user_id: reporter.to_owned(),
                    role: Role::Rider,
                    name: None,
                },
                customer: None,
                order_ref: None,
                asset: None,
                site: None,
                assignee: None,
                team: None,
                sla: None,
                notes: Vec::new(),
                attachments: Vec::new(),
                events: vec![Event {
                    kind: "created".to_owned(),
                    by: reporter.to_owned(),
                    at_device: at,
                    data,
                }],
                parts_used: Vec::new(),
                checklist: BTreeMap::new(),
                csat: None,
                alert: None,
                asset_history: Vec::new(),
                tags: Vec::new(),
                custom: BTreeMap::new(),
                created_at: at,
                conflicts: Vec::new(),
            },
        }
    }

    pub fn reporter(mut self, user: &str, role: Role) -> Self {
        self.ticket.reporter.user_id = user.to_owned();
        self.ticket.reporter.role = role;
        self.ticket.events[0].by = user.to_owned();
        self
    }

    pub fn title(mut self, title: &str) -> Self {
        self.ticket.title = title.to_owned();
        self
    }

    pub fn description(mut self, text: &str) -> Self {
        self.ticket.description = text.to_owned();
        self
    }

    pub fn category(mut self, category: &str) -> Self {
        self.ticket.category = Some(category.to_owned());
        self
    }

    pub fn priority_at_creation(mut self, priority: Priority) -> Self {
        self.ticket.priority = priority;
        self
    }

    pub fn channel(mut self, channel: Channel) -> Self {
        self.ticket.channel = channel;
        self
    }

    pub fn site(mut self, lat: f64, lon: f64) -> Self {
        self.ticket.site = Some(Site {
            lat,
            lon,
            accuracy_m: Some(10.0),
            address: None,
        });
        self
    }

    pub fn team(mut self, team: &str) -> Self {
        self.ticket.team = Some(team.to_owned());
        self
    }

    fn event(&mut self, kind: &str, by: &str, at: i64, data: &[(&str, &str)]) {
        self.ticket.events.push(Event {
            kind: kind.to_owned(),
            by: by.to_owned(),
            at_device: at,
            data: data
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        });
    }

    /// A status change by `by` at `at` (device time).
    pub fn status(mut self, by: &str, at: &str, to: Status) -> Self {
        self.status_ms(by, ms(at), to);
        self
    }

    pub fn status_ms(&mut self, by: &str, at: i64, to: Status) {
        let from = self.ticket.status;
        self.event(
            "status_changed",
            by,
            at,
            &[("from", from.as_str()), ("to", to.as_str())],
        );
        self.ticket.status = to;
    }

    /// An assignment (as `Edit::Assign` writes it, with the status move it implies).
    pub fn assign(mut self, by: &str, at: &str, who: Option<&str>) -> Self {
        let at = ms(at);
        self.event("assigned", by, at, &[("assignee", who.unwrap_or(""))]);
        self.ticket.assignee = who.map(str::to_owned);
        match (who, self.ticket.status) {
            (Some(_), Status::New) => self.status_ms(by, at, Status::Assigned),
            (None, Status::Assigned) => self.status_ms(by, at, Status::New),
            _ => {}
        }
        self
    }

    pub fn priority(mut self, by: &str, at: &str, to: Priority) -> Self {
        let from = self.ticket.priority;
        self.event(
            "priority_changed",
            by,
            ms(at),
            &[("from", from.as_str()), ("to", to.as_str())],
        );
        self.ticket.priority = to;
        self
    }

    /// A note by `author` with `role`; `internal` notes are staff-only.
    pub fn note(mut self, author: &str, role: Role, at: &str, internal: bool) -> Self {
        let id = format!("n{}", self.ticket.notes.len() + 1);
        self.ticket.notes.push(Note {
            id,
            author: author.to_owned(),
            role,
            text: "on it".to_owned(),
            internal,
            at: ms(at),
            redacted: false,
            erased: false,
        });
        self
    }

    pub fn build(self) -> Ticket {
        self.ticket
    }
}

/// Writes the brain's decisions into the ticket as the server would: one change by
/// [`BRAIN_ACTOR`] with the events `Edit`s record (assignment, status, priority), its notes and
/// its own events.
pub fn apply(ticket: &mut Ticket, decisions: &Decisions, now: i64) {
    let fields = decisions.fields.clone();
    let mut builder = TicketBuilder {
        ticket: ticket.clone(),
    };
    let by = BRAIN_ACTOR;
    if let Some(priority) = fields.priority {
        let from = builder.ticket.priority;
        builder.event(
            "priority_changed",
            by,
            now,
            &[("from", from.as_str()), ("to", priority.as_str())],
        );
        builder.ticket.priority = priority;
    }
    if let Some(category) = &fields.category {
        builder.ticket.category = Some(category.clone());
    }
    if let Some(kind) = fields.kind {
        builder.ticket.kind = kind;
    }
    if let Some(team) = &fields.team {
        builder.ticket.team.clone_from(team);
    }
    if let Some(assignee) = &fields.assignee {
        builder.event(
            "assigned",
            by,
            now,
            &[("assignee", assignee.as_deref().unwrap_or(""))],
        );
        builder.ticket.assignee.clone_from(assignee);
        match (assignee, builder.ticket.status) {
            (Some(_), Status::New) => builder.status_ms(by, now, Status::Assigned),
            (None, Status::Assigned) => builder.status_ms(by, now, Status::New),
            _ => {}
        }
    }
    if let Some(status) = fields.status {
        builder.status_ms(by, now, status);
    }
    for tag in &fields.add_tags {
        if !builder.ticket.tags.contains(tag) {
            builder.ticket.tags.push(tag.clone());
        }
    }
    for (i, text) in decisions.notes.iter().enumerate() {
        builder.ticket.notes.push(Note {
            id: format!("brain-{now}-{i}"),
            author: BRAIN_ACTOR.to_owned(),
            role: Role::Admin,
            text: text.clone(),
            internal: true,
            at: now,
            redacted: false,
            erased: false,
        });
    }
    for event in &decisions.events {
        builder.ticket.events.push(Event {
            kind: event.kind.clone(),
            by: BRAIN_ACTOR.to_owned(),
            at_device: now,
            data: event.data.clone(),
        });
    }
    *ticket = builder.ticket;
}

/// The types of the events in decisions, in order.
pub fn event_types(decisions: &Decisions) -> Vec<&str> {
    decisions.events.iter().map(|e| e.kind.as_str()).collect()
}
