//! [`Brain`]: the three moments the server calls the brain — a new ticket, an update by a
//! person or device, a scheduler tick — each returning [`Decisions`] to write as one
//! server-authored change. Every call is pure: the ticket, the effective times of its history,
//! the routing state and the instant come in; nothing is read or written.

use std::collections::BTreeSet;

use fieldwork_core::model::Status;
use fieldwork_core::ticket::Ticket;

use crate::actions::{self, Locks, Scope};
use crate::classify::{self, Classification};
use crate::config::TenantConfig;
use crate::decisions::{BRAIN_ACTOR, Decisions, Notification, Recipient, RoutingDecision};
use crate::facts::Facts;
use crate::routing::{self, GeoPoint, RouteRequest, RoutingOutcome, RoutingState};
use crate::rules::{self, Occasion, PastTicket, Situation};
use crate::schedule::{self, TimedAction, TimedKind};
use crate::sla::{self, SlaState};
use crate::sla_timeline::{self, SlaTimeline};
use crate::text::TicketText;
use crate::timeline::{EffectiveTimes, Entry, Happening, Timeline};

/// What the server looks up for a call.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Effective times of the ticket's changes (see [`crate::effective_time`]).
    pub times: &'a EffectiveTimes,
    /// Positions, open-ticket counts and round-robin turns.
    pub routing: &'a RoutingState,
    /// The reporter's other tickets created within [`TenantConfig::history_window_ms`] before
    /// this one (empty when no rule needs them).
    pub reporter_history: &'a [PastTicket],
}

/// The service brain of one tenant.
#[derive(Debug, Clone)]
pub struct Brain {
    config: TenantConfig,
}

impl Brain {
    pub fn new(config: TenantConfig) -> Self {
        Brain { config }
    }

    pub fn config(&self) -> &TenantConfig {
        &self.config
    }

    /// The classification of a ticket's text and fields (a dry run).
    pub fn classify(&self, ticket: &Ticket) -> Classification {
        let text = TicketText::new(&ticket.title, &ticket.description);
        classify::classify(self.config.classify_rules(), &Facts::of(ticket), &text)
    }

    /// A ticket the server sees for the first time: classify, run the create triggers, route,
    /// set its SLA, and take whatever is already due (an old offline ticket may be late).
    pub fn on_new_ticket(&self, ticket: &Ticket, ctx: &Context<'_>, now: i64) -> Decisions {
        let mut call = Call::new(self, ticket, ctx, now);
        let classification = self.classify(ticket);
        classification.apply_to(&mut call.facts);
        for (rule, reason) in &classification.matched {
            call.out.event(
                "classified",
                &[("rule", rule.clone()), ("reason", reason.clone())],
            );
        }
        // The team comes before the rules, so they can speak of it (notify its lead, say).
        let request = call.route_request(None);
        if let Some(team) = routing::pick_team(self.config(), &request) {
            call.facts.team = Some(team.name.clone());
        }
        let situation = situation(&call.text, ticket, call.timeline.created, ctx, None);
        let scope = call.scope();
        rules::run_triggers(
            self.config.rules(),
            Occasion::Create,
            &mut call.facts,
            &situation,
            &|rule| call.done.contains(rules::once_key(rule).as_str()),
            &scope,
            &mut call.out,
        );
        let team = call.facts.team.clone();
        call.route_if_waiting(team);
        call.run_due();
        call.finish()
    }

    /// A change by a person or a device (never call it for the brain's own changes): run the
    /// update triggers, route a ticket left without an assignee, recompute the SLA, take what
    /// is due.
    pub fn on_update(
        &self,
        before: &Ticket,
        after: &Ticket,
        ctx: &Context<'_>,
        now: i64,
    ) -> Decisions {
        let mut call = Call::new(self, after, ctx, now);
        let before_facts = Facts::of(before);
        let situation = situation(
            &call.text,
            after,
            call.timeline.created,
            ctx,
            Some(&before_facts),
        );
        let scope = call.scope();
        rules::run_triggers(
            self.config.rules(),
            Occasion::Update,
            &mut call.facts,
            &situation,
            &|rule| call.done.contains(rules::once_key(rule).as_str()),
            &scope,
            &mut call.out,
        );
        let team = call.facts.team.clone();
        call.route_if_waiting(team);
        call.run_due();
        call.finish()
    }

    /// A scheduler tick: what is due now (SLA warnings, breaches, escalations, time rules), the
    /// update triggers their changes set off, and another try at routing a waiting ticket.
    pub fn on_timer(&self, ticket: &Ticket, ctx: &Context<'_>, now: i64) -> Decisions {
        let mut call = Call::new(self, ticket, ctx, now);
        let original = call.facts.clone();
        call.run_due();
        if call.facts != original {
            let situation = situation(
                &call.text,
                ticket,
                call.timeline.created,
                ctx,
                Some(&original),
            );
            let scope = call.scope();
            rules::run_triggers(
                self.config.rules(),
                Occasion::Update,
                &mut call.facts,
                &situation,
                &|rule| call.done.contains(rules::once_key(rule).as_str()),
                &scope,
                &mut call.out,
            );
        }
        let team = call.facts.team.clone();
        call.route_if_waiting(team);
        call.finish()
    }

    /// Everything due at or before `now` and not yet done, in the order it runs.
    pub fn due_at(&self, ticket: &Ticket, times: &EffectiveTimes, now: i64) -> Vec<TimedAction> {
        let mut all = self.pending(ticket, times, now);
        all.retain(|a| a.at <= now);
        all
    }

    /// When the scheduler should look at this ticket next: the earliest pending action, at or
    /// before `now` when something is already due (`None`: nothing pending). A change to the
    /// ticket may move it; the server asks again after each.
    pub fn next_check_at(&self, ticket: &Ticket, times: &EffectiveTimes, now: i64) -> Option<i64> {
        self.pending(ticket, times, now).first().map(|a| a.at)
    }

    /// The ticket's SLA as of now, under the policy its fields select (`None`: no policy).
    pub fn sla(&self, ticket: &Ticket, times: &EffectiveTimes, now: i64) -> Option<SlaState> {
        let timeline = Timeline::of(ticket, times, now);
        self.sla_of(&Facts::of(ticket), &timeline, now)
    }

    /// The ticket's SLA as a timeline of running, paused and closed stretches, as of `now`
    /// (`None` when no policy takes it).
    pub fn sla_timeline(
        &self,
        ticket: &Ticket,
        times: &EffectiveTimes,
        now: i64,
    ) -> Option<SlaTimeline> {
        let timeline = Timeline::of(ticket, times, now);
        let policy = sla::policy_for(self.config.policies(), &Facts::of(ticket))?;
        let calendar = self.config.calendar(&policy.calendar)?;
        let state = sla::compute(policy, calendar, &timeline, now);
        Some(sla_timeline::timeline(calendar, &state, now))
    }

    /// A routing dry run for the ticket as it is.
    pub fn route(&self, ticket: &Ticket, state: &RoutingState, now: i64) -> RoutingOutcome {
        let facts = Facts::of(ticket);
        let skills = classify::required_skills(&facts);
        let request = RouteRequest {
            category: facts.category.as_deref(),
            kind: Some(facts.kind),
            site: ticket.site.as_ref().map(|s| GeoPoint {
                lat: s.lat,
                lon: s.lon,
            }),
            team: facts.team.as_deref(),
            skills,
            exclude: BTreeSet::new(),
        };
        routing::route(&self.config, &request, state, now)
    }

    fn sla_of(&self, facts: &Facts, timeline: &Timeline, now: i64) -> Option<SlaState> {
        let policy = sla::policy_for(self.config.policies(), facts)?;
        let calendar = self.config.calendar(&policy.calendar)?;
        Some(sla::compute(policy, calendar, timeline, now))
    }

    fn pending(&self, ticket: &Ticket, times: &EffectiveTimes, now: i64) -> Vec<TimedAction> {
        let routing = RoutingState::default();
        let ctx = Context {
            times,
            routing: &routing,
            reporter_history: &[],
        };
        Call::new(self, ticket, &ctx, now).pending()
    }
}

fn situation<'s>(
    text: &'s TicketText,
    ticket: &'s Ticket,
    created: i64,
    ctx: &'s Context<'_>,
    before: Option<&'s Facts>,
) -> Situation<'s> {
    Situation {
        before,
        text,
        ticket_id: &ticket.id,
        created,
        history: ctx.reporter_history,
    }
}

/// The working state of one call.
struct Call<'b> {
    brain: &'b Brain,
    ticket: &'b Ticket,
    ctx: &'b Context<'b>,
    now: i64,
    timeline: Timeline,
    text: TicketText,
    locks: Locks,
    /// Keys of one-shot actions already in the history or taken in this call.
    done: BTreeSet<String>,
    facts: Facts,
    out: Decisions,
}

impl<'b> Call<'b> {
    fn new(brain: &'b Brain, ticket: &'b Ticket, ctx: &'b Context<'b>, now: i64) -> Self {
        let timeline = Timeline::of(ticket, ctx.times, now);
        let done = timeline
            .done_keys()
            .into_iter()
            .map(str::to_owned)
            .collect();
        Call {
            brain,
            ticket,
            ctx,
            now,
            locks: timeline.locks(),
            text: TicketText::new(&ticket.title, &ticket.description),
            timeline,
            done,
            facts: Facts::of(ticket),
            out: Decisions::default(),
        }
    }

    fn config(&self) -> &'b TenantConfig {
        &self.brain.config
    }

    fn scope(&self) -> Scope<'b> {
        Scope {
            config: &self.brain.config,
            ticket_id: &self.ticket.id,
            number: self.ticket.number.as_deref(),
            locks: self.locks,
            now: self.now,
        }
    }

    /// Routes the ticket if it has nobody and is waiting for someone (`new`). `team`: a team
    /// chosen on purpose (by a person, a rule or an escalation).
    fn route_if_waiting(&mut self, team: Option<String>) {
        let waiting = self.facts.assignee.is_none() && self.facts.status == Status::New;
        // A tenant without teams does not route.
        if !waiting || self.locks.assignee || self.config().teams().is_empty() {
            return;
        }
        let request = self.route_request(team.as_deref());
        let outcome = routing::route(self.config(), &request, self.ctx.routing, self.now);
        let team = outcome.team.clone();
        match &outcome.chosen {
            Some(user) => {
                self.facts.team.clone_from(&team);
                actions::set_assignee(&mut self.facts, Some(user.clone()));
                self.out.event(
                    "routed",
                    &[
                        ("assignee", user.clone()),
                        ("team", team.clone().unwrap_or_default()),
                        ("reason", outcome.reason.clone()),
                    ],
                );
                self.out.turn = outcome.turn.clone();
            }
            None => {
                if team.is_some() {
                    self.facts.team.clone_from(&team);
                }
                // The same wait is recorded once, not at every retry.
                let key = format!(
                    "queued:{}:{}",
                    team.as_deref().unwrap_or(""),
                    outcome.reason
                );
                if self.done.insert(key.clone()) {
                    self.out.event(
                        "queued",
                        &[
                            ("team", team.clone().unwrap_or_default()),
                            ("reason", outcome.reason.clone()),
                            ("key", key),
                        ],
                    );
                }
            }
        }
        self.out.routing = Some(RoutingDecision {
            team,
            assignee: outcome.chosen,
            reason: outcome.reason,
        });
    }

    /// The ticket as routing sees it now; `team`: a team chosen on purpose.
    fn route_request<'r>(&'r self, team: Option<&'r str>) -> RouteRequest<'r> {
        RouteRequest {
            category: self.facts.category.as_deref(),
            kind: Some(self.facts.kind),
            site: self.ticket.site.as_ref().map(|s| GeoPoint {
                lat: s.lat,
                lon: s.lon,
            }),
            team,
            skills: classify::required_skills(&self.facts),
            exclude: self.timeline.released_by(),
        }
    }

    /// The timeline as it will be after this call's own status change, if any.
    fn timeline_now(&self) -> Timeline {
        let mut timeline = self.timeline.clone();
        if self.facts.status != self.ticket.status {
            timeline.entries.push(Entry {
                at: self.now,
                by: BRAIN_ACTOR.to_owned(),
                what: Happening::Status {
                    from: Some(self.ticket.status),
                    to: self.facts.status,
                },
            });
            timeline.status = self.facts.status;
        }
        timeline
    }

    /// Pending timed actions (any time), in order.
    fn pending(&self) -> Vec<TimedAction> {
        let done: BTreeSet<&str> = self.done.iter().map(String::as_str).collect();
        let timeline = self.timeline_now();
        let mut all = Vec::new();
        if let Some(policy) = sla::policy_for(self.config().policies(), &self.facts)
            && let Some(calendar) = self.config().calendar(&policy.calendar)
        {
            let state = sla::compute(policy, calendar, &timeline, self.now);
            all.extend(schedule::sla_actions(
                policy, calendar, &state, &done, self.now,
            ));
        }
        let situation = situation(
            &self.text,
            self.ticket,
            self.timeline.created,
            self.ctx,
            None,
        );
        all.extend(schedule::time_rule_actions(
            self.config(),
            &timeline,
            &self.facts,
            &situation,
            &done,
        ));
        schedule::sort(&mut all);
        all
    }

    /// Takes every action due now, in order.
    fn run_due(&mut self) {
        let due: Vec<TimedAction> = self
            .pending()
            .into_iter()
            .filter(|a| a.at <= self.now)
            .collect();
        for action in due {
            self.take(&action);
            self.done.insert(action.key);
        }
    }

    fn take(&mut self, action: &TimedAction) {
        let scope = self.scope();
        let key = ("key", action.key.clone());
        let source = action.source.clone();
        match &action.kind {
            TimedKind::SlaWarning { target, due } => {
                self.out.event(
                    "sla_warning",
                    &[
                        ("policy", source.clone()),
                        ("target", target.as_str().to_owned()),
                        ("due", due.to_string()),
                        ("reason", action.reason.clone()),
                        key,
                    ],
                );
                let to = self.facts.assignee.clone().or_else(|| self.team_lead());
                self.tell(to, &source, &action.reason);
            }
            TimedKind::SlaBreach { target, due } => {
                self.out.event(
                    "sla_breach",
                    &[
                        ("policy", source.clone()),
                        ("target", target.as_str().to_owned()),
                        ("due", due.to_string()),
                        ("reason", action.reason.clone()),
                        key,
                    ],
                );
                let lead = self.team_lead();
                self.tell(lead, &source, &action.reason);
            }
            TimedKind::SlaEscalation { target, level } => {
                self.out.event(
                    "sla_escalation",
                    &[
                        ("policy", source.clone()),
                        ("target", target.as_str().to_owned()),
                        ("level", level.to_string()),
                        ("reason", action.reason.clone()),
                        key,
                    ],
                );
                let policy = self.config().policies().iter().find(|p| p.name == source);
                if let Some(level) = policy.and_then(|p| p.escalate.get(level.saturating_sub(1))) {
                    let applied = actions::apply(
                        &level.actions,
                        &source,
                        "sla_escalation",
                        &action.reason,
                        &mut self.facts,
                        &scope,
                        &mut self.out,
                    );
                    if applied.wants_routing {
                        let team = self.facts.team.clone();
                        self.route_if_waiting(team);
                    }
                }
            }
            TimedKind::TimeRule { rule } => {
                self.out.event(
                    "rule_fired",
                    &[
                        ("rule", source.clone()),
                        ("reason", action.reason.clone()),
                        key,
                    ],
                );
                if let Some(rule) = self.config().rules().get(*rule) {
                    let applied = actions::apply(
                        &rule.actions,
                        &source,
                        "rule",
                        &action.reason,
                        &mut self.facts,
                        &scope,
                        &mut self.out,
                    );
                    if applied.wants_routing {
                        let team = self.facts.team.clone();
                        self.route_if_waiting(team);
                    }
                }
            }
        }
    }

    fn team_lead(&self) -> Option<String> {
        self.facts
            .team
            .as_deref()
            .and_then(|t| self.config().team(t))
            .and_then(|t| t.lead.clone())
    }

    fn tell(&mut self, user: Option<String>, source: &str, message: &str) {
        if let Some(user) = user {
            self.out.notifications.push(Notification {
                recipient: Recipient::User(user),
                source: source.to_owned(),
                message: message.to_owned(),
            });
        }
    }

    /// The decisions, with the fields that differ from the ticket and the SLA as of now.
    fn finish(mut self) -> Decisions {
        let original = Facts::of(self.ticket);
        let mut fields = self.facts.changes_since(&original);
        // The status an assignment implies is written by the assignment itself.
        if let Some(assignee) = &fields.assignee {
            let implied = match (assignee, original.status) {
                (Some(_), Status::New) => Some(Status::Assigned),
                (None, Status::Assigned) => Some(Status::New),
                _ => None,
            };
            if fields.status.is_some() && fields.status == implied {
                fields.status = None;
            }
        }
        self.out.fields = fields;
        let timeline = self.timeline_now();
        self.out.sla = self
            .brain
            .sla_of(&self.facts, &timeline, self.now)
            .map(|s| s.fields());
        self.out
    }
}
