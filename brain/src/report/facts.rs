//! What the reports count about one ticket ([`TicketFacts`]), read from its history on the
//! server's clock: when it was created, first answered and resolved, the spans it was open, how
//! often it came back, who held it, its SLA and its rating. Kept per ticket by the server, so a
//! month's report over many tickets reads rows instead of documents.

use std::collections::BTreeSet;

use fieldwork_core::model::Status;
use fieldwork_core::ticket::Ticket;
use serde::{Deserialize, Serialize};

use crate::sla::SlaState;
use crate::timeline::{Happening, Timeline};

/// One ticket as the reports see it. Times are effective times (ms since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketFacts {
    pub created_at: i64,
    pub category: Option<String>,
    pub channel: String,
    pub team: Option<String>,
    /// The current assignee's user id.
    pub assignee: Option<String>,
    pub status: Status,
    /// The first response (`Timeline::first_response`: a public note by staff, or staff moving
    /// it to `accepted` or further).
    pub first_response_at: Option<i64>,
    /// When the current run of `resolved`/`closed` began; `None` while it is open or cancelled.
    pub resolved_at: Option<i64>,
    /// The spans the ticket spent in an open status (`Status::is_open`), `until` = `None` for
    /// one still running. A ticket counts in the backlog at an instant inside one.
    pub open_spans: Vec<(i64, Option<i64>)>,
    /// Times it went from `resolved`/`closed` back to an open status.
    pub reopens: u32,
    /// Different people it was ever assigned to.
    pub assignees: u32,
    /// The SLA policy it falls under, and business minutes (on the policy's calendar, pauses
    /// deducted) to its first response and its resolution.
    pub sla_policy: Option<String>,
    pub first_response_business_min: Option<i64>,
    pub resolution_business_min: Option<i64>,
    /// A target of its policy was missed (first response, update or resolution).
    pub breached: bool,
    /// The reporter's rating, 1–5.
    pub csat_score: Option<u8>,
}

impl TicketFacts {
    /// The facts of `ticket` with its `timeline`, and its SLA as of now when a policy takes it.
    pub fn of(ticket: &Ticket, timeline: &Timeline, sla: Option<&SlaState>) -> TicketFacts {
        let spans = timeline.status_spans();
        let open_spans = merged_open_spans(&spans);
        let reopens = spans
            .windows(2)
            .filter(|w| is_done(w[0].2) && w[1].2.is_open())
            .count();
        let assignees: BTreeSet<&str> = timeline
            .entries
            .iter()
            .filter_map(|e| match &e.what {
                Happening::Assigned { assignee } => assignee.as_deref(),
                _ => None,
            })
            .chain(ticket.assignee.as_deref())
            .collect();
        let resolved_at = timeline.resolved_since();
        TicketFacts {
            created_at: timeline.created,
            category: ticket.category.clone(),
            channel: ticket.channel.as_str().to_owned(),
            team: ticket.team.clone(),
            assignee: ticket.assignee.clone(),
            status: ticket.status,
            first_response_at: timeline.first_response(),
            resolved_at,
            open_spans,
            reopens: u32::try_from(reopens).unwrap_or(u32::MAX),
            assignees: u32::try_from(assignees.len()).unwrap_or(u32::MAX),
            sla_policy: sla.map(|s| s.policy.clone()),
            first_response_business_min: sla.and_then(|s| s.first_response.taken_min),
            resolution_business_min: sla
                .and_then(|s| s.resolution.taken_min)
                .filter(|_| resolved_at.is_some()),
            breached: ticket.sla.as_ref().is_some_and(|s| !s.breaches.is_empty())
                || sla.is_some_and(|s| s.clocks().any(|c| c.breached) || s.past_update_breach),
            csat_score: ticket
                .csat
                .as_ref()
                .and_then(|c| u8::try_from(c.score).ok())
                .filter(|s| (1..=5).contains(s)),
        }
    }

    /// When the ticket last stopped being open (resolved, closed or cancelled), `None` while it
    /// is open: a ticket that ended before a report's range counts in none of it.
    pub fn ended_at(&self) -> Option<i64> {
        match self.open_spans.last() {
            Some((_, None)) => None,
            Some((_, Some(until))) => Some(*until),
            None => Some(self.created_at),
        }
    }

    /// Whether the ticket was open at `at`.
    pub fn open_at(&self, at: i64) -> bool {
        self.open_spans
            .iter()
            .any(|(from, until)| *from <= at && until.is_none_or(|u| at < u))
    }
}

fn is_done(status: Status) -> bool {
    matches!(status, Status::Resolved | Status::Closed)
}

/// The open spans of `spans`, neighbours joined (moving between two open statuses is one span).
fn merged_open_spans(spans: &[(i64, Option<i64>, Status)]) -> Vec<(i64, Option<i64>)> {
    let mut open: Vec<(i64, Option<i64>)> = Vec::new();
    for (from, until, status) in spans {
        if !status.is_open() {
            continue;
        }
        match open.last_mut() {
            Some((_, last_until)) if *last_until == Some(*from) => *last_until = *until,
            _ => open.push((*from, *until)),
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Entry;

    const MIN: i64 = 60_000;

    fn timeline(statuses: &[(i64, Status)], status: Status) -> Timeline {
        Timeline {
            created: 0,
            reporter: "rider".into(),
            status,
            entries: statuses
                .iter()
                .map(|(at, to)| Entry {
                    at: *at,
                    by: "tech".into(),
                    what: Happening::Status {
                        from: None,
                        to: *to,
                    },
                })
                .collect(),
        }
    }

    #[test]
    fn a_reopened_ticket_was_open_twice_and_resolved_at_its_last_resolution() {
        let t = timeline(
            &[
                (10 * MIN, Status::Accepted),
                (20 * MIN, Status::Resolved),
                (30 * MIN, Status::InProgress),
                (40 * MIN, Status::Resolved),
            ],
            Status::Resolved,
        );
        let spans = merged_open_spans(&t.status_spans());
        assert_eq!(spans, vec![(0, Some(20 * MIN)), (30 * MIN, Some(40 * MIN))]);
        assert_eq!(t.resolved_since(), Some(40 * MIN));
        assert_eq!(t.first_response(), Some(10 * MIN));
    }
}
