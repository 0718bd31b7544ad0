//! Automation rules: triggers on create and update, and time rules the scheduler checks.
//!
//! Triggers run in file order. When one fires and changes the ticket, evaluation starts again
//! from the first rule, so an earlier rule can react to a later one's change; but each rule fires
//! at most once per call, so a chain always ends — within as many passes as there are rules —
//! and a set of rules that would undo each other forever stops after each has fired once. The
//! brain's own changes are not fed back as a new update (the server does not call
//! [`crate::Brain::on_update`] for them): the chain above already saw them.

use fieldwork_core::model::Priority;
use serde::Serialize;

use crate::actions::{self, Actions, Scope};
use crate::decisions::Decisions;
use crate::facts::{Facts, Field};
use crate::text::{Keyword, TicketText};

/// One `[[rules]]` entry, checked.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub on_create: bool,
    pub on_update: bool,
    /// A time rule: checked by the scheduler, fires once per anchor (see [`After`]).
    pub after: Option<After>,
    /// At most once per ticket.
    pub once: bool,
    pub all: Vec<Condition>,
    pub any: Vec<Condition>,
    pub actions: Actions,
}

/// When a time rule is due: `minutes` after its anchor, on a calendar's business time or in
/// wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub since: Since,
    pub minutes: i64,
    pub calendar: Option<String>,
}

/// The instant a time rule counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Since {
    /// The ticket's creation.
    Created,
    /// The moment the ticket entered its current status.
    StatusEntered,
    /// The last resolution, while the ticket is resolved or closed.
    Resolved,
}

impl Since {
    pub(crate) fn parse(text: &str) -> Option<Since> {
        Some(match text {
            "created" => Since::Created,
            "status_entered" => Since::StatusEntered,
            "resolved" => Since::Resolved,
            _ => return None,
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Since::Created => "created",
            Since::StatusEntered => "status_entered",
            Since::Resolved => "resolved",
        }
    }
}

/// One condition of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Field {
        field: Field,
        test: FieldTest,
    },
    /// The field differs from before the update (on create: from nothing).
    Changed {
        field: Field,
        from: Option<String>,
        to: Option<String>,
    },
    /// Keywords in the title or description.
    Keywords {
        keywords: Vec<Keyword>,
        all: bool,
    },
    /// The reporter opened at least `at_least` tickets (this one included) within the window
    /// before this ticket's creation, of the same category if `same_category`.
    ReporterReports {
        at_least: u32,
        within_ms: i64,
        same_category: bool,
    },
}

/// A test on a field's value (configuration spelling).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldTest {
    Is(String),
    IsNot(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    /// Priority at least this urgent.
    AtLeast(Priority),
    Present(bool),
    /// Tags: the tag is on the ticket.
    Has(String),
}

/// Another ticket by the same reporter, for [`Condition::ReporterReports`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PastTicket {
    pub id: String,
    pub category: Option<String>,
    /// When it was created (server time).
    pub created: i64,
}

/// What conditions are judged against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Situation<'a> {
    /// The ticket's fields before the update; `None` on create.
    pub before: Option<&'a Facts>,
    pub text: &'a TicketText,
    pub ticket_id: &'a str,
    pub created: i64,
    pub history: &'a [PastTicket],
}

impl Rule {
    /// Whether the rule's conditions hold, with the reason (the conditions that matched).
    pub(crate) fn matches(&self, facts: &Facts, situation: &Situation<'_>) -> Option<String> {
        let mut reasons = Vec::new();
        for condition in &self.all {
            reasons.push(condition.holds(facts, situation)?);
        }
        if !self.any.is_empty() {
            let first = self.any.iter().find_map(|c| c.holds(facts, situation))?;
            reasons.push(first);
        }
        if reasons.is_empty() {
            reasons.push("always".to_owned());
        }
        Some(reasons.join("; "))
    }
}

impl Condition {
    /// `Some(reason)` when the condition holds.
    fn holds(&self, facts: &Facts, situation: &Situation<'_>) -> Option<String> {
        match self {
            Condition::Field { field, test } => field_test(*field, test, facts),
            Condition::Changed { field, from, to } => {
                let old = situation
                    .before
                    .map_or_else(Vec::new, |b| values(*field, b));
                let new = values(*field, facts);
                if old == new {
                    return None;
                }
                let in_list = |wanted: &Option<String>, list: &[String]| {
                    wanted.as_ref().is_none_or(|w| list.contains(w))
                };
                if !in_list(from, &old) || !in_list(to, &new) {
                    return None;
                }
                Some(match to {
                    Some(to) => format!("{} changed to {to}", field.as_str()),
                    None => format!("{} changed", field.as_str()),
                })
            }
            Condition::Keywords { keywords, all } => {
                let text = situation.text;
                // The condition's address identifies it for the length of the call.
                let key = std::ptr::from_ref(self) as usize;
                text.remember(key, || {
                    if *all {
                        text.has_all(keywords)
                            .then(|| format!("keywords {}", join_keywords(keywords)))
                    } else {
                        text.find_any(keywords)
                            .map(|k| format!("keyword {}", k.as_str()))
                    }
                })
            }
            Condition::ReporterReports {
                at_least,
                within_ms,
                same_category,
            } => {
                let since = situation.created.saturating_sub(*within_ms);
                let others = situation
                    .history
                    .iter()
                    .filter(|t| t.id != situation.ticket_id)
                    .filter(|t| t.created >= since && t.created <= situation.created)
                    .filter(|t| !*same_category || t.category == facts.category)
                    .count();
                let count = others.saturating_add(1);
                (count >= *at_least as usize).then(|| {
                    let hours = within_ms / 3_600_000;
                    match (&facts.category, same_category) {
                        (Some(category), true) => {
                            format!(
                                "{count} reports of {category} by the reporter within {hours} h"
                            )
                        }
                        _ => format!("{count} reports by the reporter within {hours} h"),
                    }
                })
            }
        }
    }
}

fn values(field: Field, facts: &Facts) -> Vec<String> {
    match field {
        Field::Tags => facts.tags.iter().cloned().collect(),
        _ => facts.value(field).map(str::to_owned).into_iter().collect(),
    }
}

fn field_test(field: Field, test: &FieldTest, facts: &Facts) -> Option<String> {
    let name = field.as_str();
    let value = facts.value(field);
    match test {
        FieldTest::Is(wanted) => {
            (value == Some(wanted.as_str())).then(|| format!("{name} is {wanted}"))
        }
        FieldTest::IsNot(unwanted) => {
            (value != Some(unwanted.as_str())).then(|| format!("{name} is not {unwanted}"))
        }
        FieldTest::In(list) => value
            .filter(|v| list.iter().any(|w| w == v))
            .map(|v| format!("{name} is {v}")),
        FieldTest::NotIn(list) => (!value.is_some_and(|v| list.iter().any(|w| w == v)))
            .then(|| format!("{name} is not one of {}", list.join(", "))),
        FieldTest::AtLeast(priority) => (facts.priority.rank() >= priority.rank())
            .then(|| format!("priority at least {priority}")),
        FieldTest::Present(present) => {
            let has = if field == Field::Tags {
                !facts.tags.is_empty()
            } else {
                value.is_some()
            };
            (has == *present).then(|| {
                if *present {
                    format!("{name} set")
                } else {
                    format!("no {name}")
                }
            })
        }
        FieldTest::Has(tag) => facts.tags.contains(tag).then(|| format!("tag {tag}")),
    }
}

fn join_keywords(keywords: &[Keyword]) -> String {
    keywords
        .iter()
        .map(Keyword::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which triggers to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Occasion {
    Create,
    Update,
}

/// Runs the triggers for `occasion` over `facts` (changed in place), in order, each rule at
/// most once, restarting from the first after every change. Rules that must fire once per
/// ticket and already did (`fired_once`) are skipped. Returns whether the ticket went to a team
/// queue and should be routed.
pub(crate) fn run_triggers(
    rules: &[Rule],
    occasion: Occasion,
    facts: &mut Facts,
    situation: &Situation<'_>,
    fired_once: &dyn Fn(&str) -> bool,
    scope: &Scope<'_>,
    out: &mut Decisions,
) -> bool {
    let mut fired = vec![false; rules.len()];
    let mut wants_routing = false;
    let mut i = 0;
    while i < rules.len() {
        let rule = &rules[i];
        let listens = match occasion {
            Occasion::Create => rule.on_create,
            Occasion::Update => rule.on_update,
        };
        if fired[i] || !listens || (rule.once && fired_once(&rule.name)) {
            i += 1;
            continue;
        }
        let Some(reason) = rule.matches(facts, situation) else {
            i += 1;
            continue;
        };
        fired[i] = true;
        let applied = actions::apply(
            &rule.actions,
            &rule.name,
            "rule",
            &reason,
            facts,
            scope,
            out,
        );
        let mut data = vec![("rule", rule.name.clone()), ("reason", reason)];
        if rule.once {
            data.push(("key", once_key(&rule.name)));
        }
        out.event("rule_fired", &data);
        wants_routing |= applied.wants_routing;
        // A change may make an earlier rule match: look again from the top.
        i = if applied.changed { 0 } else { i + 1 };
    }
    wants_routing
}

/// The key recording that a `once` rule fired on a ticket.
pub(crate) fn once_key(rule: &str) -> String {
    format!("rule:{rule}")
}

/// The key recording that a time rule fired for one anchor.
pub(crate) fn time_key(rule: &str, anchor: i64) -> String {
    format!("rule:{rule}:{anchor}")
}
