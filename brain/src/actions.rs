//! The actions rules and escalation levels take — set fields, assign, tag, add an internal note,
//! notify, call a webhook — applied to a copy of the ticket's fields. A field a person decided
//! (a manual assignment, a priority set by hand) is never changed back; the action is reported as
//! skipped instead.

use fieldwork_core::model::{Priority, Role, Status};
use serde_json::json;

use crate::config::TenantConfig;
use crate::decisions::{Decisions, Notification, Recipient, Skipped, WebhookCall};
use crate::facts::{Facts, raised};

/// What a rule or an escalation level does. Every part is optional; at least one is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actions {
    pub priority: Option<Priority>,
    /// One step more urgent than now.
    pub raise_priority: bool,
    pub status: Option<Status>,
    pub category: Option<String>,
    /// Move to this team's queue (releasing the assignee); routing then picks someone there.
    pub team: Option<String>,
    /// Assign to this person (who must be in `[[technicians]]`).
    pub assign: Option<String>,
    pub add_tags: Vec<String>,
    /// An internal note (staff only).
    pub note: Option<String>,
    pub notify: Vec<NotifyTarget>,
    /// The text of notifications and webhooks; the rule's name and reason if absent.
    pub message: Option<String>,
    pub webhook: Option<String>,
}

impl Actions {
    /// Whether the actions do nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == Actions::default()
    }
}

/// Who a notification goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyTarget {
    /// `user:NAME`
    User(String),
    /// `role:ROLE` — everyone with the role.
    Role(Role),
    /// `team_lead` — the `lead` of the ticket's team.
    TeamLead,
    /// `team` — every member of the ticket's team.
    Team,
    /// `assignee`
    Assignee,
}

impl NotifyTarget {
    /// Reads `user:NAME`, `role:ROLE`, `team_lead`, `team` or `assignee`.
    pub fn parse(text: &str) -> Result<NotifyTarget, String> {
        if let Some(name) = text.strip_prefix("user:") {
            if name.trim().is_empty() {
                return Err("`user:` needs a login name after it".to_owned());
            }
            return Ok(NotifyTarget::User(name.trim().to_owned()));
        }
        if let Some(role) = text.strip_prefix("role:") {
            return role
                .trim()
                .parse::<Role>()
                .map(NotifyTarget::Role)
                .map_err(|e| e.to_string());
        }
        match text {
            "team_lead" => Ok(NotifyTarget::TeamLead),
            "team" => Ok(NotifyTarget::Team),
            "assignee" => Ok(NotifyTarget::Assignee),
            _ => Err(format!(
                "unknown recipient '{}'; use user:NAME, role:ROLE, team_lead, team or assignee",
                text.chars().take(40).collect::<String>()
            )),
        }
    }
}

/// Fields a person decided, which the brain leaves alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Locks {
    /// The last assignment was made by a person.
    pub assignee: bool,
    /// The priority was last changed by a person after creation.
    pub priority: bool,
}

/// The ticket and settings an action runs against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub config: &'a TenantConfig,
    pub ticket_id: &'a str,
    pub number: Option<&'a str>,
    pub locks: Locks,
    pub now: i64,
}

/// What running a set of actions did to the fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Some field changed.
    pub changed: bool,
    /// The ticket went to a team's queue and should be routed there.
    pub wants_routing: bool,
}

/// Runs `actions` for `source` (a rule or policy name): fields on `facts`, messages and notes
/// into `out`. `event` names the occasion in webhook payloads (`rule`, `sla_escalation`, …).
pub(crate) fn apply(
    actions: &Actions,
    source: &str,
    event: &str,
    reason: &str,
    facts: &mut Facts,
    scope: &Scope<'_>,
    out: &mut Decisions,
) -> Applied {
    let before = facts.clone();
    let mut applied = Applied::default();
    let skip = |what: &str, out: &mut Decisions| {
        out.skipped.push(Skipped {
            source: source.to_owned(),
            reason: format!("{what}: a person decided it"),
        });
    };
    let new_priority = match (actions.priority, actions.raise_priority) {
        (Some(p), _) => Some(p),
        (None, true) => Some(raised(facts.priority)),
        (None, false) => None,
    };
    if let Some(priority) = new_priority.filter(|p| *p != facts.priority) {
        if scope.locks.priority {
            skip("priority kept", out);
        } else {
            facts.priority = priority;
        }
    }
    if let Some(category) = &actions.category {
        facts.category = Some(category.clone());
    }
    for tag in &actions.add_tags {
        facts.tags.insert(tag.clone());
    }
    if let Some(team) = &actions.team {
        if scope.locks.assignee && facts.assignee.is_some() {
            skip("assignment kept", out);
        } else if facts.team.as_deref() != Some(team) || facts.assignee.is_some() {
            facts.team = Some(team.clone());
            set_assignee(facts, None);
            applied.wants_routing = true;
        }
    }
    if let Some(user) = &actions.assign {
        if scope.locks.assignee {
            skip("assignment kept", out);
        } else if facts.assignee.as_deref() != Some(user) {
            if let Some(tech) = scope.config.technician(user) {
                facts.team = Some(tech.team.clone());
            }
            set_assignee(facts, Some(user.clone()));
            applied.wants_routing = false;
        }
    }
    if let Some(status) = actions.status {
        facts.status = status;
    }
    if let Some(note) = &actions.note {
        out.notes.push(note.clone());
    }
    let message = actions
        .message
        .clone()
        .unwrap_or_else(|| format!("{source}: {reason}"));
    for target in &actions.notify {
        for recipient in recipients(target, facts, scope.config) {
            out.notifications.push(Notification {
                recipient,
                source: source.to_owned(),
                message: message.clone(),
            });
        }
    }
    if let Some(url) = &actions.webhook {
        out.webhooks.push(WebhookCall {
            url: url.clone(),
            source: source.to_owned(),
            payload: json!({
                "event": event,
                "source": source,
                "reason": reason,
                "message": message,
                "at": scope.now,
                "ticket": {
                    "id": scope.ticket_id,
                    "number": scope.number,
                    "status": facts.status.as_str(),
                    "priority": facts.priority.as_str(),
                    "category": facts.category,
                    "team": facts.team,
                    "assignee": facts.assignee,
                },
            }),
        });
    }
    applied.changed = *facts != before;
    applied
}

/// Sets the assignee and moves the status the way an assignment does in the workflow
/// (`new` ⇄ `assigned`), so later conditions see what the ticket will show.
pub(crate) fn set_assignee(facts: &mut Facts, assignee: Option<String>) {
    match (&assignee, facts.status) {
        (Some(_), Status::New) => facts.status = Status::Assigned,
        (None, Status::Assigned) => facts.status = Status::New,
        _ => {}
    }
    facts.assignee = assignee;
}

fn recipients(target: &NotifyTarget, facts: &Facts, config: &TenantConfig) -> Vec<Recipient> {
    match target {
        NotifyTarget::User(user) => vec![Recipient::User(user.clone())],
        NotifyTarget::Role(role) => vec![Recipient::Role(*role)],
        NotifyTarget::Assignee => facts
            .assignee
            .iter()
            .map(|a| Recipient::User(a.clone()))
            .collect(),
        NotifyTarget::TeamLead => facts
            .team
            .as_deref()
            .and_then(|team| config.team(team))
            .and_then(|team| team.lead.clone())
            .map(Recipient::User)
            .into_iter()
            .collect(),
        NotifyTarget::Team => match facts.team.as_deref() {
            Some(team) => config
                .technicians()
                .iter()
                .filter(|t| t.team == team)
                .map(|t| Recipient::User(t.user.clone()))
                .collect(),
            None => Vec::new(),
        },
    }
}
