//! Classification of a new ticket from any channel, before routing: keyword (Chinese and
//! English) and regex rules over the title and description set the category, priority, kind,
//! tags and the skills the work needs.
//!
//! Every matching rule applies, in file order; for a single-valued field the first rule that sets
//! it wins, tags and skills add up. What the reporter chose stands: a category is only filled in
//! when the ticket has none, and a priority is only ever raised.

use fieldwork_core::model::{Channel, Priority, TicketKind};
use regex::Regex;
use serde::Serialize;

use crate::facts::Facts;
use crate::text::{Keyword, TicketText};

/// The tag prefix that carries a skill the ticket needs (`skill:pos`), so routing reads it back
/// from the stored ticket later (after an escalation, a release).
pub const SKILL_TAG_PREFIX: &str = "skill:";

/// One `[[classify]]` entry, checked.
#[derive(Debug, Clone)]
pub struct ClassifyRule {
    pub name: String,
    /// At least one of these (if any are given).
    pub any: Vec<Keyword>,
    /// Every one of these.
    pub all: Vec<Keyword>,
    /// Matched against the title and description as written.
    pub regex: Option<Regex>,
    /// Only tickets from these channels / of these kinds (empty: all).
    pub channels: Vec<Channel>,
    pub kinds: Vec<TicketKind>,
    pub set: ClassifySet,
}

/// What a classification rule sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassifySet {
    pub category: Option<String>,
    pub priority: Option<Priority>,
    pub kind: Option<TicketKind>,
    pub tags: Vec<String>,
    pub skills: Vec<String>,
}

/// The outcome: what to set, and which rules matched and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub category: Option<String>,
    pub priority: Option<Priority>,
    pub kind: Option<TicketKind>,
    pub tags: Vec<String>,
    pub skills: Vec<String>,
    /// `(rule, reason)` for every rule that matched.
    pub matched: Vec<(String, String)>,
}

impl ClassifyRule {
    /// `Some(reason)` when the rule matches.
    fn matches(&self, facts: &Facts, text: &TicketText) -> Option<String> {
        if !self.channels.is_empty() && !self.channels.contains(&facts.channel) {
            return None;
        }
        if !self.kinds.is_empty() && !self.kinds.contains(&facts.kind) {
            return None;
        }
        let mut reasons = Vec::new();
        if !self.all.is_empty() {
            if !text.has_all(&self.all) {
                return None;
            }
            let words: Vec<&str> = self.all.iter().map(Keyword::as_str).collect();
            reasons.push(format!("keywords {}", words.join(", ")));
        }
        if !self.any.is_empty() {
            let found = text.find_any(&self.any)?;
            reasons.push(format!("keyword {}", found.as_str()));
        }
        if let Some(regex) = &self.regex {
            if !regex.is_match(text.raw()) {
                return None;
            }
            reasons.push(format!("pattern {}", regex.as_str()));
        }
        Some(reasons.join("; "))
    }
}

/// Runs every rule over a ticket with these fields and text.
pub fn classify(rules: &[ClassifyRule], facts: &Facts, text: &TicketText) -> Classification {
    let mut out = Classification::default();
    for rule in rules {
        let Some(reason) = rule.matches(facts, text) else {
            continue;
        };
        let set = &rule.set;
        if out.category.is_none() {
            out.category.clone_from(&set.category);
        }
        out.priority = out.priority.or(set.priority);
        out.kind = out.kind.or(set.kind);
        for tag in &set.tags {
            if !out.tags.contains(tag) {
                out.tags.push(tag.clone());
            }
        }
        for skill in &set.skills {
            if !out.skills.contains(skill) {
                out.skills.push(skill.clone());
            }
        }
        out.matched.push((rule.name.clone(), reason));
    }
    out
}

impl Classification {
    /// Applies the outcome to `facts`: a category only where there is none, a priority only
    /// upwards, the kind, tags, and skills as `skill:` tags.
    pub fn apply_to(&self, facts: &mut Facts) {
        if facts.category.is_none() {
            facts.category.clone_from(&self.category);
        }
        if let Some(priority) = self.priority.filter(|p| p.rank() > facts.priority.rank()) {
            facts.priority = priority;
        }
        if let Some(kind) = self.kind {
            facts.kind = kind;
        }
        facts.tags.extend(self.tags.iter().cloned());
        facts
            .tags
            .extend(self.skills.iter().map(|s| format!("{SKILL_TAG_PREFIX}{s}")));
    }
}

/// The skills a ticket needs, from its `skill:` tags.
pub fn required_skills(facts: &Facts) -> Vec<String> {
    facts
        .tags
        .iter()
        .filter_map(|t| t.strip_prefix(SKILL_TAG_PREFIX))
        .map(str::to_owned)
        .collect()
}
