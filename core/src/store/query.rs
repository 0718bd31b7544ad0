//! Listing tickets from the index: filters, sorts and pages, never loading a document.

use rusqlite::Connection;
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use super::{StoreError, search_index};
use crate::model::{Priority, Status, TicketKind};
use crate::search::{match_expression, query_terms};

/// How a list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    /// Most recently changed first.
    #[default]
    Updated,
    /// Soonest SLA deadline first; tickets without one last.
    SlaDue,
    /// Most urgent first, then most recently changed.
    Priority,
}

/// Which tickets to list. Empty filters match everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    /// `Some("")` lists unassigned tickets.
    pub assignee: Option<String>,
    pub category: Option<String>,
    /// Words (or their beginnings, any case) and Chinese text to find in the title
    /// (`crate::search::matches`).
    pub text: Option<String>,
    pub sort: SortBy,
    pub limit: u32,
    pub offset: u32,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            status: None,
            priority: None,
            assignee: None,
            category: None,
            text: None,
            sort: SortBy::Updated,
            limit: 50,
            offset: 0,
        }
    }
}

/// The most a single page may hold.
pub const MAX_PAGE: u32 = 500;

/// One row of a list: what a list screen shows, straight from the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketSummary {
    pub id: String,
    pub number: Option<String>,
    pub kind: TicketKind,
    pub status: Status,
    pub priority: Priority,
    pub category: Option<String>,
    pub title: String,
    pub assignee: Option<String>,
    pub updated_at: i64,
    pub sla_due: Option<i64>,
    pub conflicts: i64,
    /// Changes from a bundle the server has not confirmed yet (see
    /// [`TicketStore::unverified_changes`](super::TicketStore::unverified_changes)).
    pub unverified_changes: u32,
}

/// Below how many index matches a title search takes the index's candidates rather than scanning
/// along the sort order. A scan for a page of `page_end` rows reads about `page_end × total /
/// matches` rows, the candidates path `matches` rows: the two cost the same at
/// `sqrt(page_end × total)` (about 2,200 for a page of 50 over 100,000 tickets).
fn rare_threshold(conn: &Connection, page_end: u64) -> Result<usize, StoreError> {
    // The largest rowid estimates the row count in one index lookup (count(*) reads them all).
    let total: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(rowid), 0) FROM tickets")?
        .query_row([], |r| r.get(0))?;
    let total = u64::try_from(total).unwrap_or(0);
    let balance = ((page_end.saturating_mul(total)) as f64).sqrt() as usize;
    Ok(balance.clamp(100, 5_000))
}

/// Whether a search for `text` is cheaper from the index's candidates than by a scan.
fn rare_term(conn: &Connection, query: &ListQuery, text: &str) -> Result<bool, StoreError> {
    let page_end = u64::from(query.limit.clamp(1, MAX_PAGE)) + u64::from(query.offset);
    let rare_below = rare_threshold(conn, page_end)?;
    Ok(search_index::estimate_matches(conn, &query_terms(text), rare_below)? < rare_below)
}

pub(super) fn list(conn: &Connection, query: &ListQuery) -> Result<Vec<TicketSummary>, StoreError> {
    let mut sql = String::from(
        "SELECT id, number, kind, status, priority, category, title, assignee, updated_at,
                sla_due_key, conflicts, unverified FROM ",
    );
    let mut args: Vec<Value> = Vec::new();
    let search = query
        .text
        .as_deref()
        .and_then(|text| match_expression(text).map(|expression| (text.to_owned(), expression)));
    match &search {
        Some((text, expression)) if rare_term(conn, query, text)? => {
            // A rare term: start from the full-text index's candidates and the rows it has not
            // caught up with (CROSS JOIN keeps that order), then sort the few found. A common
            // term scans along the sort index instead and stops after a page. (`DISTINCT` over
            // `UNION ALL`, not `UNION`: SQLite merges a `UNION` in rowid order, which turns the
            // second half into a scan of the whole table.)
            sql.push_str(
                "(SELECT DISTINCT candidate FROM
                    (SELECT rowid AS candidate FROM title_search WHERE title_search MATCH ?
                     UNION ALL SELECT rowid FROM tickets WHERE updated_seq > ?)) AS found
                 CROSS JOIN tickets ON tickets.rowid = found.candidate WHERE 1",
            );
            args.push(expression.clone().into());
            args.push(search_index::indexed_up_to(conn)?.into());
        }
        _ => sql.push_str("tickets WHERE 1"),
    }
    let mut filter = |sql: &mut String, clause: &str, value: Value| {
        sql.push_str(clause);
        args.push(value);
    };
    // Filters that have an index matching the sort use it; the others are written `+column` so
    // SQLite walks the sort's index and stops after one page instead of sorting every match.
    let by_updated = query.sort == SortBy::Updated;
    if let Some(status) = query.status {
        let clause = if by_updated {
            " AND status = ?"
        } else {
            " AND +status = ?"
        };
        filter(&mut sql, clause, status.as_str().to_owned().into());
    }
    if let Some(priority) = query.priority {
        let clause = if query.sort == SortBy::SlaDue {
            " AND +priority_rank = ?"
        } else {
            " AND priority_rank = ?"
        };
        filter(&mut sql, clause, priority.rank().into());
    }
    match query.assignee.as_deref() {
        Some("") => sql.push_str(" AND assignee IS NULL"),
        Some(who) => filter(&mut sql, " AND assignee = ?", who.to_owned().into()),
        None => {}
    }
    if let Some(category) = &query.category {
        filter(&mut sql, " AND +category = ?", category.clone().into());
    }
    if let Some((text, _)) = search {
        // Whichever way the rows were found, this decides what a search means.
        filter(&mut sql, " AND title_matches(title, ?)", text.into());
    }
    sql.push_str(match query.sort {
        SortBy::Updated => " ORDER BY updated_at DESC, id DESC",
        SortBy::SlaDue => " ORDER BY sla_due_key ASC, updated_at DESC",
        SortBy::Priority => " ORDER BY priority_rank DESC, updated_at DESC",
    });
    sql.push_str(" LIMIT ? OFFSET ?");
    args.push(i64::from(query.limit.clamp(1, MAX_PAGE)).into());
    args.push(i64::from(query.offset).into());

    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |row| {
        let parse = |i: usize| -> rusqlite::Result<String> { row.get(i) };
        let bad = |i: usize, e: crate::model::UnknownValue| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        };
        let sla: i64 = row.get(9)?;
        Ok(TicketSummary {
            id: row.get(0)?,
            number: row.get(1)?,
            kind: parse(2)?.parse().map_err(|e| bad(2, e))?,
            status: parse(3)?.parse().map_err(|e| bad(3, e))?,
            priority: parse(4)?.parse().map_err(|e| bad(4, e))?,
            category: row.get(5)?,
            title: row.get(6)?,
            assignee: row.get(7)?,
            updated_at: row.get(8)?,
            sla_due: (sla != i64::MAX).then_some(sla),
            conflicts: row.get(10)?,
            unverified_changes: row.get(11)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
