//! SLA clocks: the first matching policy gives a ticket its first-response, update and
//! resolution targets in business minutes on the policy's calendar, counted from the ticket's
//! creation over its whole history (so a late offline change or a new priority recomputes
//! everything), with the time spent in a pause status deducted.
//!
//! What counts (docs/brain.md):
//! - **first response**: the first public note by someone working the ticket (not the reporter),
//!   or the first move by them to `accepted` or further along the workflow. Being assigned, by a
//!   person or by the brain, is not a response.
//! - **update**: after the first response, each public staff note or status change by staff
//!   starts a new update clock.
//! - **resolution**: the ticket entering `resolved` (or `closed`). A reopened ticket's clock
//!   runs on; the time it spent resolved does not count. `cancelled` stops every clock.

use fieldwork_core::model::{Channel, Priority, Status, TicketKind};
use serde::Serialize;

use crate::actions::Actions;
use crate::calendar::{BusinessCalendar, MINUTE_MS, Pauses};
use crate::decisions::SlaFields;
use crate::facts::Facts;
use crate::timeline::Timeline;

/// One `[[sla_policies]]` entry, checked.
#[derive(Debug, Clone)]
pub struct SlaPolicy {
    pub name: String,
    pub calendar: String,
    pub matcher: PolicyMatch,
    pub first_response_minutes: i64,
    pub update_minutes: Option<i64>,
    pub resolution_minutes: i64,
    /// Warn this many business minutes before a target is due; 0 = no warning.
    pub warn_before_minutes: i64,
    pub pause_statuses: Vec<Status>,
    /// In order of `after_minutes`.
    pub escalate: Vec<EscalationLevel>,
}

/// Which tickets a policy takes: every list that is not empty must contain the ticket's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyMatch {
    pub priority: Vec<Priority>,
    pub category: Vec<String>,
    pub channel: Vec<Channel>,
    pub kind: Vec<TicketKind>,
}

impl PolicyMatch {
    /// Whether a ticket with these fields falls under the policy.
    pub fn matches(&self, facts: &Facts) -> bool {
        self.matches_fields(
            facts.priority,
            facts.category.as_deref(),
            facts.channel,
            facts.kind,
        )
    }

    /// [`Self::matches`] on the four fields a policy looks at.
    pub fn matches_fields(
        &self,
        priority: Priority,
        category: Option<&str>,
        channel: Channel,
        kind: TicketKind,
    ) -> bool {
        (self.priority.is_empty() || self.priority.contains(&priority))
            && (self.category.is_empty()
                || category.is_some_and(|c| self.category.iter().any(|p| p == c)))
            && (self.channel.is_empty() || self.channel.contains(&channel))
            && (self.kind.is_empty() || self.kind.contains(&kind))
    }
}

/// One escalation level: `after_minutes` business minutes past a breach of one of `targets`.
#[derive(Debug, Clone)]
pub struct EscalationLevel {
    pub after_minutes: i64,
    pub targets: Vec<Target>,
    pub actions: Actions,
}

/// What an SLA clock measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    FirstResponse,
    Update,
    Resolution,
}

impl Target {
    pub const ALL: [Target; 3] = [Target::FirstResponse, Target::Update, Target::Resolution];

    pub fn as_str(self) -> &'static str {
        match self {
            Target::FirstResponse => "first_response",
            Target::Update => "update",
            Target::Resolution => "resolution",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// One clock of a ticket as of now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clock {
    pub target: Target,
    /// Where the clock counts from: the creation, or for updates the last update.
    pub anchor: i64,
    pub target_minutes: i64,
    /// `None` when the target does not fit in the calendar's horizon.
    pub due: Option<i64>,
    /// When the target was met (first response, resolution).
    pub met_at: Option<i64>,
    /// Business minutes taken to meet it, and the target minus that (negative: late).
    pub taken_min: Option<i64>,
    pub diff_min: Option<i64>,
    /// The clock no longer runs without having been met (the ticket was cancelled).
    pub stopped: bool,
    /// Missed: met after its due time, or still running past it.
    pub breached: bool,
}

impl Clock {
    /// Whether the clock still counts towards its due time.
    pub fn running(&self) -> bool {
        self.met_at.is_none() && !self.stopped
    }
}

/// A ticket's SLA as of now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaState {
    pub policy: String,
    /// The ticket is in a pause status: due times are as if it resumed now.
    pub paused: bool,
    pub first_response: Clock,
    /// Present when the policy has `update_minutes`.
    pub update: Option<Clock>,
    pub resolution: Clock,
    /// Update targets missed earlier in the history (between two past updates).
    pub past_update_breach: bool,
    /// The pauses the clocks deduct (an open pause runs until now).
    #[serde(skip)]
    pub pauses: Pauses,
    /// The pauses of the resolution clock: the above plus the time spent resolved before a
    /// reopen.
    #[serde(skip)]
    pub resolution_pauses: Pauses,
}

impl SlaState {
    /// The clocks, first response first.
    pub fn clocks(&self) -> impl Iterator<Item = &Clock> {
        std::iter::once(&self.first_response)
            .chain(self.update.iter())
            .chain(std::iter::once(&self.resolution))
    }

    /// The `sla` fields for the ticket.
    pub fn fields(&self) -> SlaFields {
        let mut breaches: Vec<String> = self
            .clocks()
            .filter(|c| c.breached)
            .map(|c| c.target.as_str().to_owned())
            .collect();
        if self.past_update_breach && !breaches.iter().any(|b| b == "update") {
            breaches.push(Target::Update.as_str().to_owned());
        }
        breaches.sort();
        SlaFields {
            policy: self.policy.clone(),
            first_response_due: self.first_response.due,
            update_due: self
                .update
                .as_ref()
                .filter(|c| c.running())
                .and_then(|c| c.due),
            resolution_due: self.resolution.due,
            paused: self.paused,
            breaches,
        }
    }
}

/// The first policy that takes a ticket with these fields.
pub fn policy_for<'p>(policies: &'p [SlaPolicy], facts: &Facts) -> Option<&'p SlaPolicy> {
    policies.iter().find(|p| p.matcher.matches(facts))
}

/// The clocks of a ticket with `timeline` under `policy` on `calendar`, as of `now`.
pub fn compute(
    policy: &SlaPolicy,
    calendar: &BusinessCalendar,
    timeline: &Timeline,
    now: i64,
) -> SlaState {
    let spans = timeline.status_spans();
    // An open span (the current status) runs until now.
    let end = |until: Option<i64>| until.unwrap_or(now);
    let pauses = Pauses::new(
        spans
            .iter()
            .filter(|(_, _, s)| policy.pause_statuses.contains(s))
            .map(|(from, until, _)| (*from, end(*until))),
    );
    // Time spent resolved (or cancelled) before the ticket came back does not count.
    let stopped_before_reopen = Pauses::new(
        spans
            .iter()
            .filter(|(_, until, s)| until.is_some() && !s.is_open())
            .map(|(from, until, _)| (*from, end(*until))),
    );
    let resolution_pauses = pauses.union(&stopped_before_reopen);
    let paused = policy.pause_statuses.contains(&timeline.status);
    let cancelled = timeline.status == Status::Cancelled;
    let created = timeline.created;

    let clock =
        |target: Target, anchor: i64, minutes: i64, met_at: Option<i64>, pauses: &Pauses| {
            let due = calendar.add_business_minutes(anchor, minutes, pauses);
            let taken_min = met_at.map(|m| calendar.business_minutes_between(anchor, m, pauses));
            let stopped = met_at.is_none() && cancelled;
            let breached = match (due, met_at) {
                (Some(due), Some(met)) => met > due,
                (Some(due), None) => !stopped && now > due,
                (None, _) => false,
            };
            Clock {
                target,
                anchor,
                target_minutes: minutes,
                due,
                met_at,
                taken_min,
                diff_min: taken_min.map(|t| minutes - t),
                stopped,
                breached,
            }
        };

    let first_response = clock(
        Target::FirstResponse,
        created,
        policy.first_response_minutes,
        timeline.first_response(),
        &pauses,
    );
    let resolution = clock(
        Target::Resolution,
        created,
        policy.resolution_minutes,
        timeline.resolved_since(),
        &resolution_pauses,
    );
    let mut past_update_breach = false;
    let update = policy.update_minutes.and_then(|minutes| {
        first_response.met_at?;
        past_update_breach = missed_between_updates(timeline, calendar, minutes, &pauses);
        let anchor = timeline.last_update()?;
        let open = timeline.status.is_open();
        let mut update = clock(Target::Update, anchor, minutes, None, &pauses);
        if !open {
            update.stopped = true;
            update.breached = false;
        }
        Some(update)
    });
    SlaState {
        policy: policy.name.clone(),
        paused,
        first_response,
        update,
        resolution,
        past_update_breach,
        pauses,
        resolution_pauses,
    }
}

/// What `fieldwork config sla-preview` shows: a ticket with these fields created at `created`,
/// with `pauses` and perhaps a first response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaPreview {
    pub policy: String,
    pub first_response_due: Option<i64>,
    pub resolution_due: Option<i64>,
    /// Business minutes the first response took, when one is given.
    pub first_response_in_min: Option<i64>,
    /// Target minus taken: negative when late.
    pub first_response_diff_min: Option<i64>,
}

/// The fields a policy is chosen by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyQuery<'a> {
    pub priority: Priority,
    pub category: Option<&'a str>,
    pub channel: Channel,
    pub kind: TicketKind,
}

/// The due times a ticket with these fields would get (`None`: no policy matches). Pauses are
/// deducted from every clock, as statuses in `pause_statuses` are.
pub fn preview(
    config: &crate::config::TenantConfig,
    query: PolicyQuery<'_>,
    created: i64,
    pauses: &Pauses,
    first_response: Option<i64>,
) -> Option<SlaPreview> {
    let policy = config.policies().iter().find(|p| {
        p.matcher
            .matches_fields(query.priority, query.category, query.channel, query.kind)
    })?;
    let calendar = config.calendar(&policy.calendar)?;
    let taken = first_response.map(|at| calendar.business_minutes_between(created, at, pauses));
    Some(SlaPreview {
        policy: policy.name.clone(),
        first_response_due: calendar.add_business_minutes(
            created,
            policy.first_response_minutes,
            pauses,
        ),
        resolution_due: calendar.add_business_minutes(created, policy.resolution_minutes, pauses),
        first_response_in_min: taken,
        first_response_diff_min: taken.map(|t| policy.first_response_minutes - t),
    })
}

/// Whether two consecutive updates in the history were further apart than the target.
fn missed_between_updates(
    timeline: &Timeline,
    calendar: &BusinessCalendar,
    minutes: i64,
    pauses: &Pauses,
) -> bool {
    let Some(first) = timeline.first_response() else {
        return false;
    };
    let limit = minutes * MINUTE_MS;
    let mut previous = first;
    for at in timeline.update_times().filter(|at| *at > first) {
        if calendar.business_ms_between(previous, at, pauses) > limit {
            return true;
        }
        previous = at;
    }
    false
}
