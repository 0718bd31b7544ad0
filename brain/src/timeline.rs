//! A ticket's history on the server's clock: every event and note at its effective time, in
//! order — what the SLA clocks, time rules and the "a person decided it" locks are computed from.
//!
//! Device clocks are not trusted. A change made offline is timed by [`effective_time`]: the
//! device's clock corrected by the offset it last measured against the server, clamped between
//! the previous change's effective time and the moment the server received it. So a technician
//! who resolved at 10:00 in a basement and synced at 15:00 is timed at 10:00, and a phone whose
//! clock runs a year ahead cannot date anything after its own sync.

use std::collections::{BTreeMap, BTreeSet};

use fieldwork_core::model::Status;
use fieldwork_core::ticket::Ticket;

use crate::actions::Locks;
use crate::decisions::BRAIN_ACTOR;

/// How far before its arrival the first change of a ticket may be dated: an offline creation
/// is believed back to 30 days, no further.
pub const MAX_BACKDATE_MS: i64 = 30 * 86_400_000;

/// The effective time of a change (ms since the Unix epoch).
///
/// - `device_ms`: the change's time on the device's clock;
/// - `device_offset_ms`: the device's last measured offset, server time minus device time (0 if
///   it never measured one);
/// - `previous_ms`: the effective time of the ticket's previous change, `None` for its first;
/// - `received_ms`: when the server received the change.
///
/// The result is never after `received_ms` and never before `previous_ms` (for a first change,
/// never more than [`MAX_BACKDATE_MS`] before `received_ms`).
pub fn effective_time(
    device_ms: i64,
    device_offset_ms: i64,
    previous_ms: Option<i64>,
    received_ms: i64,
) -> i64 {
    let corrected = device_ms.saturating_add(device_offset_ms);
    let floor = previous_ms
        .unwrap_or_else(|| received_ms.saturating_sub(MAX_BACKDATE_MS))
        .min(received_ms);
    corrected.clamp(floor, received_ms)
}

/// The effective times the server worked out for a ticket's changes, looked up by author and
/// device time (every event and note a change writes carries its change's author and time).
/// Entries the server does not know are read from the device time, clamped into
/// `[creation, now]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EffectiveTimes {
    /// Author → device time → effective time.
    by_author: BTreeMap<String, BTreeMap<i64, i64>>,
}

impl EffectiveTimes {
    /// No corrections: device times clamped into `[creation, now]` (previews and tests).
    pub fn device_clocks() -> Self {
        EffectiveTimes::default()
    }

    /// Records that what `author` wrote at `device_ms` (device clock) happened at
    /// `effective_ms`.
    pub fn insert(&mut self, author: &str, device_ms: i64, effective_ms: i64) {
        self.by_author
            .entry(author.to_owned())
            .or_default()
            .insert(device_ms, effective_ms);
    }

    fn get(&self, author: &str, device_ms: i64) -> Option<i64> {
        self.by_author.get(author)?.get(&device_ms).copied()
    }
}

/// One thing that happened to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happening {
    Status {
        from: Option<Status>,
        to: Status,
    },
    Priority,
    /// `None`: released to the queue.
    Assigned {
        assignee: Option<String>,
    },
    /// A note: `public` if the reporter sees it, `staff` if written by someone working the
    /// ticket (a technician or the back office) other than the reporter.
    Note {
        public: bool,
        staff: bool,
    },
    /// An event the brain wrote; `key` marks a one-shot action as done.
    Brain {
        key: Option<String>,
    },
    Other,
}

/// A happening at its effective time, by its author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: i64,
    pub by: String,
    pub what: Happening,
}

/// A ticket's history in effective-time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// When the ticket was created (effective time).
    pub created: i64,
    pub reporter: String,
    /// The ticket's status now (the document's, which wins over the order of events).
    pub status: Status,
    pub entries: Vec<Entry>,
}

impl Timeline {
    /// The history of `ticket` with the server's effective `times`, as of `now`.
    pub fn of(ticket: &Ticket, times: &EffectiveTimes, now: i64) -> Timeline {
        let reporter = ticket.reporter.user_id.clone();
        let created = times
            .get(&reporter, ticket.created_at)
            .unwrap_or(ticket.created_at)
            .min(now);
        let at = |by: &str, device: i64| -> i64 {
            times
                .get(by, device)
                .unwrap_or_else(|| device.clamp(created, now.max(created)))
        };
        let mut entries: Vec<Entry> = Vec::with_capacity(ticket.events.len() + ticket.notes.len());
        for event in &ticket.events {
            let data = |key: &str| event.data.get(key).map(String::as_str);
            // The brain's own assignments and status moves are read like anyone's (its name
            // marks them); its other events record what it did and carry their keys.
            let what = match event.kind.as_str() {
                "status_changed" => match data("to").and_then(|s| s.parse().ok()) {
                    Some(to) => Happening::Status {
                        from: data("from").and_then(|s| s.parse().ok()),
                        to,
                    },
                    None => Happening::Other,
                },
                "priority_changed" => Happening::Priority,
                "assigned" => Happening::Assigned {
                    assignee: data("assignee")
                        .filter(|a| !a.is_empty())
                        .map(str::to_owned),
                },
                _ if event.by == BRAIN_ACTOR => Happening::Brain {
                    key: data("key").map(str::to_owned),
                },
                _ => Happening::Other,
            };
            entries.push(Entry {
                at: at(&event.by, event.at_device),
                by: event.by.clone(),
                what,
            });
        }
        for note in &ticket.notes {
            let staff = note.author != reporter
                && note.author != BRAIN_ACTOR
                && (note.role.is_back_office()
                    || note.role == fieldwork_core::model::Role::Technician);
            entries.push(Entry {
                at: at(&note.author, note.at),
                by: note.author.clone(),
                what: Happening::Note {
                    public: !note.internal,
                    staff,
                },
            });
        }
        // Stable: what happened at the same instant keeps the document's order.
        entries.sort_by_key(|e| e.at);
        Timeline {
            created,
            reporter,
            status: ticket.status,
            entries,
        }
    }

    /// Whether `by` is someone working the ticket: not the reporter, not the brain.
    fn by_staff(&self, by: &str) -> bool {
        by != self.reporter && by != BRAIN_ACTOR
    }

    /// The ticket's statuses over time: `(from, until, status)` spans covering
    /// `[created, now)`, the last one open-ended (`until` = `None`) in the current status.
    pub fn status_spans(&self) -> Vec<(i64, Option<i64>, Status)> {
        let mut spans = Vec::new();
        let mut start = self.created;
        let mut status = Status::New;
        for entry in &self.entries {
            if let Happening::Status { to, .. } = entry.what
                && to != status
            {
                if entry.at > start {
                    spans.push((start, Some(entry.at), status));
                }
                start = entry.at.max(start);
                status = to;
            }
        }
        // The document's status is the truth for now, whatever order the events arrived in.
        spans.push((start, None, self.status));
        spans
    }

    /// When the ticket entered its current status.
    pub fn entered_current_status(&self) -> i64 {
        self.status_spans()
            .last()
            .map_or(self.created, |(start, _, _)| *start)
    }

    /// The start of the current run of resolved/closed statuses, while the ticket is in one.
    pub fn resolved_since(&self) -> Option<i64> {
        let spans = self.status_spans();
        let mut since = None;
        for (start, _, status) in spans.iter().rev() {
            if matches!(status, Status::Resolved | Status::Closed) {
                since = Some(*start);
            } else {
                break;
            }
        }
        since
    }

    /// The first response: the first public note by staff, or the first move by staff to
    /// `accepted` or further along the workflow (an assignment alone is not a response).
    pub fn first_response(&self) -> Option<i64> {
        self.entries
            .iter()
            .find(|e| self.is_response(e, false))
            .map(|e| e.at)
    }

    /// The last update the reporter could see: a public note by staff or any status change by
    /// staff.
    pub fn last_update(&self) -> Option<i64> {
        self.entries
            .iter()
            .rev()
            .find(|e| self.is_response(e, true))
            .map(|e| e.at)
    }

    /// The times of every update the reporter could see, in order.
    pub fn update_times(&self) -> impl Iterator<Item = i64> + '_ {
        self.entries
            .iter()
            .filter(|e| self.is_response(e, true))
            .map(|e| e.at)
    }

    fn is_response(&self, entry: &Entry, any_status: bool) -> bool {
        match &entry.what {
            Happening::Note { public, staff } => *public && *staff,
            Happening::Status { to, .. } => {
                self.by_staff(&entry.by) && (any_status || counts_as_response(*to))
            }
            _ => false,
        }
    }

    /// Keys of the one-shot actions the brain already took on this ticket.
    pub fn done_keys(&self) -> BTreeSet<&str> {
        self.entries
            .iter()
            .filter_map(|e| match &e.what {
                Happening::Brain { key: Some(key) } => Some(key.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Fields a person decided: the last assignment (to someone) was a person's, or the
    /// priority was last changed by a person.
    pub fn locks(&self) -> Locks {
        let mut locks = Locks::default();
        for entry in &self.entries {
            let by_person = entry.by != BRAIN_ACTOR;
            match &entry.what {
                Happening::Assigned { assignee } => {
                    locks.assignee = by_person && assignee.is_some();
                }
                Happening::Priority => locks.priority = by_person,
                _ => {}
            }
        }
        locks
    }

    /// People who released this ticket back to the queue: routing does not give it back to
    /// them.
    pub fn released_by(&self) -> BTreeSet<&str> {
        let mut holder: Option<&str> = None;
        let mut released = BTreeSet::new();
        for entry in &self.entries {
            if let Happening::Assigned { assignee } = &entry.what {
                if let (None, Some(previous)) = (assignee, holder) {
                    released.insert(previous);
                }
                holder = assignee.as_deref();
            }
        }
        released
    }
}

/// Statuses that answer the reporter: the assignee took the job (or got further).
fn counts_as_response(status: Status) -> bool {
    matches!(
        status,
        Status::Accepted
            | Status::EnRoute
            | Status::OnSite
            | Status::InProgress
            | Status::AwaitingParts
            | Status::AwaitingCustomer
            | Status::Resolved
            | Status::Closed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn an_offline_change_keeps_its_corrected_device_time() {
        // Resolved at 10:00 on a phone 2 minutes slow, synced at 15:00.
        let ten = 10 * 60 * MIN;
        let fifteen = 15 * 60 * MIN;
        let at = effective_time(ten - 2 * MIN, 2 * MIN, Some(9 * 60 * MIN), fifteen);
        assert_eq!(at, ten);
    }

    #[test]
    fn a_clock_in_the_future_cannot_date_past_the_arrival() {
        let received = 1_000 * MIN;
        let year = 365 * 24 * 60 * MIN;
        assert_eq!(
            effective_time(received + year, 0, Some(0), received),
            received
        );
    }

    #[test]
    fn a_clock_in_the_past_cannot_date_before_the_previous_change() {
        let previous = 500 * MIN;
        assert_eq!(effective_time(0, 0, Some(previous), 1_000 * MIN), previous);
        // A first change is believed back 30 days at most.
        let received = 100 * 24 * 60 * MIN;
        assert_eq!(
            effective_time(0, 0, None, received),
            received - MAX_BACKDATE_MS
        );
    }

    #[test]
    fn a_previous_change_after_the_arrival_still_leaves_the_arrival() {
        assert_eq!(effective_time(5, 0, Some(200), 100), 100);
    }
}
