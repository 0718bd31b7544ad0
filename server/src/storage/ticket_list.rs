//! Listing tickets for the back-office API (`docs/api.md`, "Tickets"): each ticket's listing —
//! the fields people filter and sort by, its tags and its searchable text — is written with its
//! index row by every commit ([`TicketWrite::listing`](super::TicketWrite)), and read back a page
//! at a time, filtered, sorted, searched and counted, always within one tenant and one caller's
//! sight.

use super::Result;

/// What a ticket is listed, filtered and found by, from its public document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketListing {
    pub kind: String,
    pub channel: String,
    pub title: String,
    /// 0 low, 1 normal, 2 high, 3 urgent.
    pub priority: u8,
    pub first_response_due: Option<i64>,
    pub resolution_due: Option<i64>,
    /// The sooner of the dues still open (a breached target is not due any more).
    pub next_due: Option<i64>,
    pub sla_paused: bool,
    pub breached: bool,
    /// The serial number of the asset the ticket is about (`Ticket::asset`).
    pub asset_serial: Option<String>,
    /// Title, description and public notes as the search index takes them
    /// (`fieldwork_core::search::index_terms`), worked out where the commit is prepared: the
    /// backend stores them as they are, so the one thread that writes a tenant's commits does
    /// not tokenise a long ticket's text on every note.
    pub public_terms: Terms,
}

/// A ticket's search terms as a commit writes them (ADR 0023).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terms {
    /// The terms of all its text, in place of what the ticket had.
    All(String),
    /// The terms of the notes this commit appended, to follow what the ticket has (after a
    /// space, unless either is empty: see [`Terms::joined`]).
    More(String),
}

impl Terms {
    /// `more` following `terms`, as a backend joins them.
    pub fn joined(terms: &str, more: &str) -> String {
        match (terms.is_empty(), more.is_empty()) {
            (_, true) => terms.to_owned(),
            (true, false) => more.to_owned(),
            (false, false) => format!("{terms} {more}"),
        }
    }
}

/// What only staff find a ticket by, from its staff document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StaffListing {
    pub tags: Vec<String>,
    /// Internal notes as the search index takes them (as [`TicketListing::public_terms`]).
    pub staff_terms: String,
}

/// Whose tickets a caller may list: everything of the tenant, or what `core::rules::sees` gives
/// a reporter or a technician (what they reported, what is assigned to them, and their team's
/// unassigned queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListScope {
    All,
    Own {
        user_id: String,
        team: Option<String>,
        technician: bool,
    },
}

/// The order of a list; ties broken by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketSort {
    #[default]
    Created,
    Updated,
    Priority,
    /// Soonest due first; nothing due last.
    Due,
}

/// Where a page starts: after the ticket with this sort key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub key: i64,
    pub id: String,
}

/// Filter by assignee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    User(String),
    /// Waiting in a queue.
    Nobody,
}

/// One page of a tenant's tickets.
#[derive(Debug, Clone, Default)]
pub struct TicketQuery {
    pub tenant_id: String,
    pub scope: Option<ListScope>,
    pub statuses: Vec<String>,
    pub priorities: Vec<u8>,
    pub categories: Vec<String>,
    pub channels: Vec<String>,
    pub kinds: Vec<String>,
    pub team: Option<String>,
    pub assignee: Option<AssigneeFilter>,
    pub reporter: Option<String>,
    /// Tickets about the asset with this serial number.
    pub asset: Option<String>,
    /// Staff only: the caller may see tags.
    pub tag: Option<String>,
    pub breached: Option<bool>,
    /// Something is due before this time (ms).
    pub due_before: Option<i64>,
    pub paused: Option<bool>,
    pub created_from: Option<i64>,
    pub created_before: Option<i64>,
    /// Words to find, Chinese or English (`fieldwork_core::search`).
    pub text: Option<String>,
    /// Whether `text` may match internal notes (staff only).
    pub search_staff: bool,
    pub sort: TicketSort,
    pub descending: bool,
    pub after: Option<ListCursor>,
    /// 1..=200.
    pub limit: usize,
    /// Count the matches only up to this many (`None`: all of them; `Some(0)` for a caller that
    /// shows no total). Counting reads every match, so a list of most of a big tenant's tickets
    /// would cost more in its count than in its page; the API counts up to [`COUNT_UP_TO`].
    pub count_up_to: Option<u64>,
}

/// How far the API counts a list's matches (as search engines do: past it, "more than").
pub const COUNT_UP_TO: u64 = 10_000;

/// Most tickets one page holds.
const MAX_PAGE: usize = 200;

/// A query's `limit` as the page's `LIMIT`: 1 to [`MAX_PAGE`].
pub(crate) fn page_limit(limit: usize) -> i64 {
    i64::try_from(limit.clamp(1, MAX_PAGE)).unwrap_or(200)
}

/// A page's total from the count of its matches, which is counted up to one past the query's
/// `count_up_to` (so it also says whether there are more): `(total, total_exact)` as
/// [`TicketPage`] has them.
pub(crate) fn page_total(counted: u64, count_up_to: Option<u64>) -> (u64, bool) {
    match count_up_to {
        Some(most) if counted > most => (most, false),
        _ => (counted, true),
    }
}

/// A listed ticket's priority as stored (0 low to 3 urgent); a ticket without one, or with one
/// out of range, is normal (1).
pub(crate) fn listed_priority(value: Option<i64>) -> u8 {
    value.and_then(|v| u8::try_from(v).ok()).unwrap_or(1)
}

/// A ticket as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedTicket {
    pub id: String,
    pub number: Option<String>,
    pub title: String,
    pub status: String,
    pub priority: u8,
    pub kind: String,
    pub channel: String,
    pub category: Option<String>,
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub reporter_id: String,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub first_response_due: Option<i64>,
    pub resolution_due: Option<i64>,
    pub breached: bool,
    pub sla_paused: bool,
    pub tags: Vec<String>,
    /// The value the page is sorted by, for the next cursor.
    pub sort_key: i64,
}

/// A page and how many tickets match in all.
#[derive(Debug, Clone, Default)]
pub struct TicketPage {
    pub tickets: Vec<ListedTicket>,
    /// How many match, counted up to the query's `count_up_to`.
    pub total: u64,
    /// Whether `total` is every match (false: more than `total` match).
    pub total_exact: bool,
}

/// Listing tickets. Every method is one transaction.
pub trait TicketList {
    /// One page of the tickets matching `query`, and the count of all that match (up to
    /// `query.count_up_to`).
    fn list_tickets(&self, query: &TicketQuery) -> Result<TicketPage>;
    /// The ids of the tenant's tickets whose newest change is in `(after_seq, up_to]`, in the
    /// order of that change, at most `limit` (the console's live queue).
    fn changed_tickets(
        &self,
        tenant_id: &str,
        after_seq: u64,
        up_to: u64,
        limit: usize,
    ) -> Result<Vec<String>>;
    /// Indexes for search the text of at most `limit` tickets whose commits left it for later
    /// (SQLite, ADR 0022; a search indexes what waits first); returns how many (0: nothing
    /// waits). A backend that indexes as it commits returns 0.
    fn index_waiting_text(&self, limit: usize) -> Result<usize>;
    /// At most `limit` tickets (tenant, id, last_seq) stored before listings were kept.
    fn unlisted_tickets(&self, limit: usize) -> Result<Vec<(String, String, u64)>>;
    /// Writes the listing of a ticket stored before listings were kept, if it is still at
    /// `last_seq` (false: it moved, and its commit wrote the listing).
    fn fill_listing(
        &self,
        tenant_id: &str,
        ticket_id: &str,
        last_seq: u64,
        listing: &TicketListing,
        staff: &StaffListing,
    ) -> Result<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_holds_one_to_two_hundred_tickets() {
        assert_eq!(page_limit(0), 1);
        assert_eq!(page_limit(50), 50);
        assert_eq!(page_limit(usize::MAX), 200);
    }

    #[test]
    fn a_count_past_its_bound_says_more() {
        assert_eq!(page_total(10, None), (10, true));
        assert_eq!(page_total(10, Some(10)), (10, true));
        assert_eq!(page_total(11, Some(10)), (10, false));
        assert_eq!(page_total(0, Some(0)), (0, true));
    }

    #[test]
    fn a_priority_out_of_range_is_normal() {
        assert_eq!(listed_priority(Some(3)), 3);
        assert_eq!(listed_priority(None), 1);
        assert_eq!(listed_priority(Some(-1)), 1);
        assert_eq!(listed_priority(Some(256)), 1);
    }
}
