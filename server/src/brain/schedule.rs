//! When the brain asks about which ticket next: each ticket is scheduled for what comes due
//! (`Brain::next_check_at`: a warning, a breach, an escalation level, a time rule) or, while it
//! waits in a team's queue, for another try at routing; the tick takes what is due.

use std::collections::{BTreeSet, HashMap};

/// Most tickets one tenant's watch list keeps (the oldest seen are dropped first).
pub(super) const MAX_WATCHED: usize = 100_000;

/// How long a ticket waiting in a team's queue waits before it is routed again (someone's load
/// or shift may have changed meanwhile).
pub(super) const QUEUE_RETRY_MS: i64 = 5 * 60 * 1000;

/// The tickets the tick asks about, by when they are due: what `Brain::next_check_at` says (a
/// warning, a breach, an escalation level, a time rule), or a queued ticket's next try.
#[derive(Debug, Default)]
pub(super) struct Schedule {
    due: BTreeSet<(i64, String, String)>,
    at: HashMap<(String, String), i64>,
}

impl Schedule {
    /// Asks about the ticket at `next` (or no more, with `None`).
    pub(super) fn set(&mut self, tenant: &str, id: &str, next: Option<i64>) {
        let key = (tenant.to_owned(), id.to_owned());
        if let Some(at) = self.at.remove(&key) {
            self.due.remove(&(at, key.0.clone(), key.1.clone()));
        }
        if let Some(next) = next {
            self.due.insert((next, key.0.clone(), key.1.clone()));
            self.at.insert(key, next);
            while self.due.len() > MAX_WATCHED {
                // The latest due go first: the soonest are what the brain must not miss.
                if let Some((_, tenant, id)) = self.due.pop_last() {
                    self.at.remove(&(tenant, id));
                }
            }
        }
    }

    /// Takes the tickets due at or before `now`.
    pub(super) fn take_due(&mut self, now: i64) -> Vec<(String, String)> {
        let mut taken = Vec::new();
        while let Some((at, _, _)) = self.due.first() {
            if *at > now {
                break;
            }
            if let Some((_, tenant, id)) = self.due.pop_first() {
                self.at.remove(&(tenant.clone(), id.clone()));
                taken.push((tenant, id));
            }
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_gives_what_is_due_soonest_first_and_each_ticket_once() {
        let mut schedule = Schedule::default();
        schedule.set("acme", "t1", Some(300));
        schedule.set("acme", "t2", Some(100));
        schedule.set("globex", "t1", Some(200));
        schedule.set("acme", "t3", Some(900));
        schedule.set("acme", "t3", None);
        // Moved later: it is due once, at its new time.
        schedule.set("acme", "t2", Some(250));
        assert!(schedule.take_due(99).is_empty());
        let due = schedule.take_due(300);
        assert_eq!(
            due,
            [
                ("globex".to_owned(), "t1".to_owned()),
                ("acme".to_owned(), "t2".to_owned()),
                ("acme".to_owned(), "t1".to_owned())
            ]
        );
        assert!(
            schedule.take_due(10_000).is_empty(),
            "taken off, and t3 was dropped"
        );
        assert!(schedule.at.is_empty());
    }
}
