//! What the brain decides, as plain values the server turns into one server-authored Automerge
//! change (fields, notes, events, SLA) plus the messages it sends (notifications, webhooks).

use std::collections::BTreeMap;

use fieldwork_core::model::Role;
use fieldwork_core::ticket::Sla;
use serde::Serialize;

use crate::facts::FieldChanges;
use crate::routing::TurnTaken;

/// The author name of every event the brain writes. The brain recognises its own past events
/// (what it already warned about, which time rules already fired) by this name, so no user may
/// have it as their id; a pushed change cannot claim it, because devices write only in their own
/// user's name (`core::rules::changes`).
pub const BRAIN_ACTOR: &str = "fieldwork:brain";

/// Everything one call of the brain decided.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Decisions {
    /// Fields to set, only where they differ from the ticket as given.
    #[serde(skip_serializing_if = "FieldChanges::is_empty")]
    pub fields: FieldChanges,
    /// The routing outcome when the brain routed the ticket: the assignment (also in `fields`)
    /// or the reason it waits in a team's queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing: Option<RoutingDecision>,
    /// The ticket's SLA as computed now (`None`: no policy matches).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaFields>,
    /// Internal notes to add, authored by [`BRAIN_ACTOR`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Events to append to the ticket's history, authored by [`BRAIN_ACTOR`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<BrainEvent>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<Notification>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<WebhookCall>,
    /// A ticket given to someone: record it in the round-robin turns before the next routing
    /// ([`crate::RoundRobinState::record`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn: Option<TurnTaken>,
    /// Actions the brain chose not to take, and why (a person decided otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

impl Decisions {
    /// Whether the ticket document needs a change (fields, notes or events). The SLA is left
    /// out: compare it with [`SlaFields::differs_from`].
    pub fn changes_ticket(&self) -> bool {
        !self.fields.is_empty() || !self.notes.is_empty() || !self.events.is_empty()
    }

    pub(crate) fn event(&mut self, kind: &str, data: &[(&str, String)]) {
        self.events.push(BrainEvent {
            kind: kind.to_owned(),
            data: data
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        });
    }
}

/// The routing part of a decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoutingDecision {
    pub team: Option<String>,
    /// The person chosen, or `None`: the ticket waits in `team`'s queue.
    pub assignee: Option<String>,
    /// Why, for the event: "nearest 2.8 km, skills pos, load 1/3" or why nobody was eligible.
    pub reason: String,
}

/// One entry for the ticket's `events`, authored by [`BRAIN_ACTOR`]. `data` always says which
/// rule or policy acted (`rule` or `policy`) and why (`reason`); one-shot actions carry a `key`
/// that keeps them from running twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrainEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub data: BTreeMap<String, String>,
}

/// The `sla` the ticket should carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaFields {
    pub policy: String,
    pub first_response_due: Option<i64>,
    pub update_due: Option<i64>,
    pub resolution_due: Option<i64>,
    pub paused: bool,
    /// Targets missed, from the whole history (`first_response`, `update`, `resolution`).
    pub breaches: Vec<String>,
}

impl SlaFields {
    /// Whether the ticket's stored `sla` says something else (on the fields it has today).
    pub fn differs_from(&self, stored: Option<&Sla>) -> bool {
        match stored {
            None => true,
            Some(sla) => {
                sla.first_response_due != self.first_response_due
                    || sla.resolution_due != self.resolution_due
                    || sla.paused != self.paused
                    || sla.breaches != self.breaches
            }
        }
    }
}

/// Someone to tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "to", content = "name", rename_all = "snake_case")]
pub enum Recipient {
    User(String),
    /// Everyone with this role in the tenant.
    Role(Role),
}

/// A message for a person or a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub recipient: Recipient,
    /// The rule or policy that sent it.
    pub source: String,
    pub message: String,
}

/// A webhook to POST (signing, retries and the delivery log are the server's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookCall {
    pub url: String,
    /// The rule or policy that called it.
    pub source: String,
    /// The JSON body: the event, the source, the ticket's id, number and routing fields (never
    /// the reporter's personal data or the ticket's text).
    pub payload: serde_json::Value,
}

/// An action not taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub source: String,
    pub reason: String,
}
