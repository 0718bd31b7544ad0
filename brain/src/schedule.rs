//! What is due at a given instant: SLA warnings, breaches and escalation levels, and time rules.
//! Each has a key; the brain writes it into the event that records the action, and never
//! returns an action whose key the ticket's history already holds — so the scheduler may ask as
//! often as it likes, and a missed run catches up in order.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::calendar::BusinessCalendar;
use crate::config::TenantConfig;
use crate::facts::Facts;
use crate::rules::{Since, Situation, time_key};
use crate::sla::{Clock, SlaPolicy, SlaState, Target};
use crate::timeline::Timeline;

/// One thing due at `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimedAction {
    pub at: i64,
    /// Marks the action as done once recorded.
    pub key: String,
    pub kind: TimedKind,
    /// The policy or rule.
    pub source: String,
    pub reason: String,
}

/// What kind of timed action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimedKind {
    /// `warn_before_minutes` before a target is due.
    SlaWarning { target: Target, due: i64 },
    /// A target missed.
    SlaBreach { target: Target, due: i64 },
    /// Level `level` (1-based) of the policy's `escalate` list.
    SlaEscalation { target: Target, level: usize },
    /// A time rule, by its index in the configuration's rules.
    TimeRule { rule: usize },
}

impl TimedKind {
    /// Order among actions due at the same instant: warnings, breaches, levels, rules.
    fn rank(&self) -> (u8, usize) {
        match self {
            TimedKind::SlaWarning { .. } => (0, 0),
            TimedKind::SlaBreach { .. } => (1, 0),
            TimedKind::SlaEscalation { level, .. } => (2, *level),
            TimedKind::TimeRule { rule } => (3, *rule),
        }
    }
}

/// Sorts actions into the order they run.
pub(crate) fn sort(actions: &mut [TimedAction]) {
    actions.sort_by(|a, b| a.at.cmp(&b.at).then(a.kind.rank().cmp(&b.kind.rank())));
}

/// The SLA actions of a ticket not yet done, whenever they are due. A paused ticket's future
/// times are left out: they move for as long as the pause lasts.
pub(crate) fn sla_actions(
    policy: &SlaPolicy,
    calendar: &BusinessCalendar,
    sla: &SlaState,
    done: &BTreeSet<&str>,
    now: i64,
) -> Vec<TimedAction> {
    let mut out = Vec::new();
    for clock in sla.clocks() {
        let Some(due) = clock.due else {
            continue;
        };
        let pauses = if clock.target == Target::Resolution {
            &sla.resolution_pauses
        } else {
            &sla.pauses
        };
        let key = |what: &str| {
            format!(
                "sla:{}:{}:{}:{what}",
                policy.name,
                clock.target.as_str(),
                clock.anchor
            )
        };
        let mut push = |at: i64, key: String, kind: TimedKind, reason: String| {
            let in_future_while_paused = sla.paused && at > now;
            if !done.contains(key.as_str()) && !in_future_while_paused {
                out.push(TimedAction {
                    at,
                    key,
                    kind,
                    source: policy.name.clone(),
                    reason,
                });
            }
        };
        if clock.met_at.is_some() {
            // Met late: the breach is still recorded (once).
            if clock.breached {
                push(
                    due,
                    key("breach"),
                    breach(clock.target, due),
                    late_reason(clock),
                );
            }
            continue;
        }
        if !clock.running() {
            continue;
        }
        let warn = policy.warn_before_minutes;
        if warn > 0 && warn < clock.target_minutes {
            let lead = clock.target_minutes - warn;
            if let Some(at) = calendar.add_business_minutes(clock.anchor, lead, pauses) {
                let reason = format!(
                    "{} due at {} ({warn} business minutes left)",
                    clock.target.as_str(),
                    iso(due)
                );
                push(
                    at,
                    key("warn"),
                    TimedKind::SlaWarning {
                        target: clock.target,
                        due,
                    },
                    reason,
                );
            }
        }
        let reason = format!("{} was due at {}", clock.target.as_str(), iso(due));
        push(due, key("breach"), breach(clock.target, due), reason);
        for (i, level) in policy.escalate.iter().enumerate() {
            if !level.targets.contains(&clock.target) {
                continue;
            }
            let minutes = clock.target_minutes.saturating_add(level.after_minutes);
            let Some(at) = calendar.add_business_minutes(clock.anchor, minutes, pauses) else {
                continue;
            };
            let reason = format!(
                "level {}: {} {} business minutes past due ({})",
                i + 1,
                clock.target.as_str(),
                level.after_minutes,
                iso(due)
            );
            push(
                at,
                key(&format!("level{}", i + 1)),
                TimedKind::SlaEscalation {
                    target: clock.target,
                    level: i + 1,
                },
                reason,
            );
        }
    }
    out
}

fn breach(target: Target, due: i64) -> TimedKind {
    TimedKind::SlaBreach { target, due }
}

fn late_reason(clock: &Clock) -> String {
    match clock.diff_min {
        Some(diff) => format!(
            "{} met {} business minutes late",
            clock.target.as_str(),
            diff.saturating_neg()
        ),
        None => format!("{} met late", clock.target.as_str()),
    }
}

/// The time rules of a ticket not yet done whose conditions hold now, whenever they are due.
pub(crate) fn time_rule_actions(
    config: &TenantConfig,
    timeline: &Timeline,
    facts: &Facts,
    situation: &Situation<'_>,
    done: &BTreeSet<&str>,
) -> Vec<TimedAction> {
    let mut out = Vec::new();
    for (i, rule) in config.rules().iter().enumerate() {
        let Some(after) = &rule.after else {
            continue;
        };
        let anchor = match after.since {
            Since::Created => Some(timeline.created),
            Since::StatusEntered => Some(timeline.entered_current_status()),
            Since::Resolved => timeline.resolved_since(),
        };
        let Some(anchor) = anchor else {
            continue;
        };
        let key = time_key(&rule.name, anchor);
        if done.contains(key.as_str()) {
            continue;
        }
        let at = match after.calendar.as_deref().and_then(|c| config.calendar(c)) {
            Some(calendar) => calendar.add_business_minutes(
                anchor,
                after.minutes,
                &crate::calendar::Pauses::none(),
            ),
            None => anchor.checked_add(after.minutes.saturating_mul(60_000)),
        };
        let Some(at) = at else {
            continue;
        };
        let Some(conditions) = rule.matches(facts, situation) else {
            continue;
        };
        out.push(TimedAction {
            at,
            key,
            kind: TimedKind::TimeRule { rule: i },
            source: rule.name.clone(),
            reason: format!(
                "{} minutes since {}; {conditions}",
                after.minutes,
                after.since.as_str().replace('_', " ")
            ),
        });
    }
    out
}

/// An instant as RFC 3339 UTC (`…Z`).
pub fn iso(ms: i64) -> String {
    crate::instant::format(ms)
}
