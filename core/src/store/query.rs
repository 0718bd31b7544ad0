//! Listing tickets from the index: filters, sorts and pages, never loading a document.

use rusqlite::Connection;
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::model::{Priority, Status, TicketKind};

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
    /// Case-insensitive text to find in the title.
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

pub(super) fn list(conn: &Connection, query: &ListQuery) -> Result<Vec<TicketSummary>, StoreError> {
    let mut sql = String::from(
        "SELECT id, number, kind, status, priority, category, title, assignee, updated_at,
                sla_due_key, conflicts, unverified FROM tickets WHERE 1",
    );
    let mut args: Vec<Value> = Vec::new();
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
    if let Some(text) = query
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        // A scan along the sort index: common words fill a page after a few hundred rows.
        filter(
            &mut sql,
            " AND instr(lower(title), lower(?)) > 0",
            text.to_owned().into(),
        );
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
