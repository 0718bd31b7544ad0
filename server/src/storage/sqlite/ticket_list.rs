//! Listings in SQLite: columns of the `tickets` index row, `ticket_tags`, and the FTS5 table
//! `ticket_text` (terms as the core's `search` makes them: words, and CJK characters with their
//! overlapping pairs). Lists are keyset-paginated
//! on (sort key, id).

use rusqlite::types::Value as Sql;
use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};

use super::{SqliteStore, seq_of, sql_seq};
use crate::storage::{
    AssigneeFilter, ListScope, ListedTicket, Result, StaffListing, TicketList, TicketListing,
    TicketPage, TicketQuery, TicketSort, ticket_list,
};
use fieldwork_core::search::match_expression;

/// The listing format the columns hold (rows with a lower one are filled in at start).
const LISTING_VERSION: i64 = 2;

/// Writes a ticket's listing (when given) and staff listing (when given) in `tx`, its search
/// terms left for the writer to index (`search_text`); the index row already exists.
pub(super) fn write_listing(
    tx: &Transaction,
    tenant_id: &str,
    ticket_id: &str,
    listing: Option<&TicketListing>,
    staff: Option<&StaffListing>,
    updated_at: Option<i64>,
) -> Result<()> {
    if let Some(l) = listing {
        tx.prepare_cached(
            "UPDATE tickets SET listing_version = ?3, kind = ?4, channel = ?5, title = ?6,
                 first_response_due = ?7, resolution_due = ?8, sla_paused = ?9, breached = ?10,
                 updated_at = COALESCE(?11, updated_at)
             WHERE tenant_id = ?1 AND id = ?2",
        )?
        .execute(params![
            tenant_id,
            ticket_id,
            LISTING_VERSION,
            l.kind,
            l.channel,
            l.title,
            l.first_response_due,
            l.resolution_due,
            l.sla_paused,
            l.breached,
            updated_at
        ])?;
        // The indexed ones only when one moves (SQLite rewrites an index's entry for every
        // column an UPDATE names, changed or not).
        tx.prepare_cached(
            "UPDATE tickets SET priority = ?3, next_due = ?4, asset_serial = ?5
             WHERE tenant_id = ?1 AND id = ?2
               AND (priority IS NOT ?3 OR next_due IS NOT ?4 OR asset_serial IS NOT ?5)",
        )?
        .execute(params![
            tenant_id,
            ticket_id,
            l.priority,
            l.next_due,
            l.asset_serial
        ])?;
    } else if let Some(at) = updated_at {
        tx.prepare_cached("UPDATE tickets SET updated_at = ?3 WHERE tenant_id = ?1 AND id = ?2")?
            .execute(params![tenant_id, ticket_id, at])?;
    }
    if let Some(s) = staff {
        tx.prepare_cached("DELETE FROM ticket_tags WHERE tenant_id = ?1 AND ticket_id = ?2")?
            .execute([tenant_id, ticket_id])?;
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO ticket_tags (tenant_id, ticket_id, tag) VALUES (?1, ?2, ?3)",
        )?;
        for tag in &s.tags {
            insert.execute([tenant_id, ticket_id, tag])?;
        }
    }
    if listing.is_none() && staff.is_none() {
        return Ok(());
    }
    super::search_text::leave(
        tx,
        tenant_id,
        ticket_id,
        listing.map(|l| &l.public_terms),
        staff.map(|s| s.staff_terms.as_str()),
    )
}

/// The SQL expression a sort orders by.
fn sort_key(sort: TicketSort) -> &'static str {
    match sort {
        TicketSort::Created => "COALESCE(t.created_at, 0)",
        TicketSort::Updated => "COALESCE(t.updated_at, 0)",
        TicketSort::Priority => "COALESCE(t.priority, 1)",
        TicketSort::Due => "COALESCE(t.next_due, 9223372036854775807)",
    }
}

/// How a page is planned (SQLite without statistics, as on a new server; the tests below check
/// the plans with the SQLite this build links). The count comes first, and says how narrow the
/// list is:
/// - A broad list walks the index on its sort's exact expression (`tickets_sort_*`, server
///   migration 23) and stops after its page, testing each ticket against the filters. Found
///   often, 50 matches come after a few hundred tickets.
/// - A narrow list (at most [`NARROW`] matches) starts from its most selective filter's index
///   (a person's, a team's, a category's, marked with `likelihood`; or the full-text index's
///   matches) and sorts what it found. Walking the sort index for rare matches would read the
///   whole tenant: 50–85 ms at 100,000 tickets (`docs/benchmarks.md`, "Back-office API", fix 7).
const NARROW: u64 = 2_000;
const FEW: f64 = 0.01;
const SOME: f64 = 0.05;

/// Which way a list is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Along the sort's index, filtering.
    Broad,
    /// From the most selective filter's index, then sorted.
    Narrow,
}

/// How many tickets match `q`, counted up to one past its `count_up_to` (so the count also says
/// whether there are more): the SQL and its arguments.
fn count_query(q: &TicketQuery) -> (String, Vec<Sql>) {
    // Counting reads every match it counts: from the filters' indexes.
    let (clause, mut args) = filters(q, Reading::Narrow);
    let from = from_of(q, Reading::Narrow);
    match q.count_up_to {
        None => (format!("SELECT COUNT(*) FROM {from} WHERE {clause}"), args),
        Some(most) => {
            // At least NARROW + 1, which the plan's choice needs.
            let most = most.max(NARROW);
            args.push(Sql::Integer(i64::try_from(most + 1).unwrap_or(i64::MAX)));
            (
                format!("SELECT COUNT(*) FROM (SELECT 1 FROM {from} WHERE {clause} LIMIT ?)"),
                args,
            )
        }
    }
}

/// One page of `q`, after its cursor: the SQL and its arguments.
fn page_query(q: &TicketQuery, reading: Reading) -> (String, Vec<Sql>) {
    let (mut clause, mut args) = filters(q, reading);
    let from = from_of(q, reading);
    let key = sort_key(q.sort);
    let (cmp, order) = if q.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(after) = &q.after {
        clause.push_str(&format!(" AND ({key}, t.id) {cmp} (?, ?)"));
        args.push(Sql::Integer(after.key));
        args.push(Sql::Text(after.id.clone()));
    }
    args.push(Sql::Integer(ticket_list::page_limit(q.limit)));
    let sql = format!(
        "SELECT t.id, t.number, COALESCE(t.title, ''), t.status, t.priority,
                COALESCE(t.kind, ''), COALESCE(t.channel, ''), t.category, t.team,
                t.assignee, t.reporter_id, t.created_at, t.updated_at,
                t.first_response_due, t.resolution_due, t.breached, t.sla_paused,
                (SELECT group_concat(g.tag, char(10)) FROM ticket_tags g
                  WHERE g.tenant_id = t.tenant_id AND g.ticket_id = t.id),
                {key}
         FROM {from} WHERE {clause}
         ORDER BY {key} {order}, t.id {order} LIMIT ?"
    );
    (sql, args)
}

/// The tickets a query reads. A narrow one with words to find reads the full-text index's
/// matches first, each joined to its ticket (`CROSS JOIN` keeps that order); a broad one walks
/// the tickets and probes the matches (`filters`).
fn from_of(q: &TicketQuery, reading: Reading) -> &'static str {
    let words = q.text.as_deref().and_then(match_expression).is_some();
    if words && reading == Reading::Narrow {
        "ticket_text x CROSS JOIN tickets t ON t.text_rowid = x.rowid"
    } else {
        "tickets t"
    }
}

/// `clause`, marked as keeping about `share` of the tenant's tickets when the list is narrow.
fn selective(clause: &str, share: f64, reading: Reading) -> String {
    match reading {
        Reading::Narrow => format!("likelihood({clause}, {share})"),
        Reading::Broad => clause.to_owned(),
    }
}

/// `column IN (?, ?, …)` for a list of values.
fn any_of(column: &str, values: &[Sql], args: &mut Vec<Sql>) -> String {
    let marks = vec!["?"; values.len()].join(", ");
    args.extend(values.iter().cloned());
    format!("{column} IN ({marks})")
}

/// The WHERE clause of `query` (without its cursor) and its arguments.
fn filters(q: &TicketQuery, reading: Reading) -> (String, Vec<Sql>) {
    let mut clauses = vec!["t.tenant_id = ?".to_owned()];
    let mut args = vec![Sql::Text(q.tenant_id.clone())];
    match &q.scope {
        None | Some(ListScope::All) => {}
        Some(ListScope::Own {
            user_id,
            team,
            technician,
        }) => {
            let mut seen = vec!["t.reporter_id = ?".to_owned()];
            args.push(Sql::Text(user_id.clone()));
            if *technician {
                seen.push("t.assignee = ?".to_owned());
                args.push(Sql::Text(user_id.clone()));
                if let Some(team) = team {
                    seen.push("(t.assignee IS NULL AND t.team = ?)".to_owned());
                    args.push(Sql::Text(team.clone()));
                }
            }
            clauses.push(selective(&format!("({})", seen.join(" OR ")), FEW, reading));
        }
    }
    let text = |v: &[String]| v.iter().cloned().map(Sql::Text).collect::<Vec<_>>();
    if !q.statuses.is_empty() {
        clauses.push(any_of("t.status", &text(&q.statuses), &mut args));
    }
    if !q.priorities.is_empty() {
        let values: Vec<Sql> = q
            .priorities
            .iter()
            .map(|p| Sql::Integer(i64::from(*p)))
            .collect();
        // The expression the priority sort's index holds (a ticket without one is normal, as
        // the list shows it): a narrow count reads that index alone; a broad page must walk its
        // sort's index instead (`+` keeps the term off any index).
        let column = match reading {
            Reading::Narrow => "COALESCE(t.priority, 1)",
            Reading::Broad => "+COALESCE(t.priority, 1)",
        };
        clauses.push(any_of(column, &values, &mut args));
    }
    if !q.categories.is_empty() {
        let any = any_of("t.category", &text(&q.categories), &mut args);
        clauses.push(selective(&any, SOME, reading));
    }
    if !q.channels.is_empty() {
        clauses.push(any_of("t.channel", &text(&q.channels), &mut args));
    }
    if !q.kinds.is_empty() {
        clauses.push(any_of("t.kind", &text(&q.kinds), &mut args));
    }
    let mut equal = |clause: &str, value: &Option<String>| {
        if let Some(v) = value {
            clauses.push(clause.to_owned());
            args.push(Sql::Text(v.clone()));
        }
    };
    equal(&selective("t.team = ?", SOME, reading), &q.team);
    equal(&selective("t.reporter_id = ?", FEW, reading), &q.reporter);
    equal(&selective("t.asset_serial = ?", FEW, reading), &q.asset);
    equal(
        "EXISTS (SELECT 1 FROM ticket_tags g WHERE g.tenant_id = t.tenant_id AND g.ticket_id = t.id AND g.tag = ?)",
        &q.tag,
    );
    match &q.assignee {
        Some(AssigneeFilter::User(id)) => {
            clauses.push(selective("t.assignee = ?", FEW, reading));
            args.push(Sql::Text(id.clone()));
        }
        Some(AssigneeFilter::Nobody) => clauses.push("t.assignee IS NULL".to_owned()),
        None => {}
    }
    let mut number = |clause: &str, value: Option<i64>| {
        if let Some(v) = value {
            clauses.push(clause.to_owned());
            args.push(Sql::Integer(v));
        }
    };
    number("t.breached = ?", q.breached.map(i64::from));
    number("t.sla_paused = ?", q.paused.map(i64::from));
    number("t.next_due < ?", q.due_before);
    number("t.created_at >= ?", q.created_from);
    number("t.created_at < ?", q.created_before);
    if let Some(found) = q.text.as_deref().and_then(match_expression) {
        let columns = if q.search_staff {
            "{public staff}"
        } else {
            "{public}"
        };
        clauses.push(match reading {
            // The full-text index is read first (`from_of`).
            Reading::Narrow => "x.ticket_text MATCH ?".to_owned(),
            Reading::Broad => {
                "t.text_rowid IN (SELECT rowid FROM ticket_text WHERE ticket_text MATCH ?)"
                    .to_owned()
            }
        });
        args.push(Sql::Text(format!("{columns} : ({found})")));
    } else if q.text.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        // Nothing searchable in it (punctuation only): nothing matches.
        clauses.push("0".to_owned());
    }
    (clauses.join(" AND "), args)
}

/// Tickets indexed per transaction when a search catches the index up: the writer is let go
/// between batches, so commits are not held up by a long catch-up.
const INDEX_BATCH: usize = 64;

impl SqliteStore {
    /// Indexes every ticket whose terms were waiting when this began (`search_text`), a batch
    /// a transaction.
    fn index_all_waiting_text(&self) -> Result<()> {
        let Some(last) = self.with_reader(|conn| super::search_text::last_turn(conn))? else {
            return Ok(());
        };
        while self.write(|tx| super::search_text::index_waiting(tx, INDEX_BATCH, last))?
            == INDEX_BATCH
        {}
        Ok(())
    }
}

impl TicketList for SqliteStore {
    fn list_tickets(&self, q: &TicketQuery) -> Result<TicketPage> {
        if q.text.as_deref().and_then(match_expression).is_some() {
            // What was committed before the search is found by it.
            self.index_all_waiting_text()?;
        }
        let (count_sql, args) = count_query(q);
        self.with_reader(|conn| {
            let tx = conn.transaction()?;
            let counted: i64 =
                tx.query_row(&count_sql, params_from_iter(args.iter()), |r| r.get(0))?;
            let counted = u64::try_from(counted).unwrap_or(0);
            let reading = if counted <= NARROW {
                Reading::Narrow
            } else {
                Reading::Broad
            };
            let (sql, page_args) = page_query(q, reading);
            let tickets = tx
                .prepare(&sql)?
                .query_map(params_from_iter(page_args.iter()), |r| {
                    let tags: Option<String> = r.get(17)?;
                    let mut tags: Vec<String> = tags
                        .map(|t| t.split('\n').map(str::to_owned).collect())
                        .unwrap_or_default();
                    tags.sort();
                    Ok(ListedTicket {
                        id: r.get(0)?,
                        number: r.get(1)?,
                        title: r.get(2)?,
                        status: r.get(3)?,
                        priority: ticket_list::listed_priority(r.get(4)?),
                        kind: r.get(5)?,
                        channel: r.get(6)?,
                        category: r.get(7)?,
                        team: r.get(8)?,
                        assignee: r.get(9)?,
                        reporter_id: r.get(10)?,
                        created_at: r.get(11)?,
                        updated_at: r.get(12)?,
                        first_response_due: r.get(13)?,
                        resolution_due: r.get(14)?,
                        breached: r.get(15)?,
                        sla_paused: r.get(16)?,
                        tags,
                        sort_key: r.get(18)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let (total, total_exact) = ticket_list::page_total(counted, q.count_up_to);
            Ok(TicketPage {
                tickets,
                total,
                total_exact,
            })
        })
    }

    fn changed_tickets(
        &self,
        tenant_id: &str,
        after_seq: u64,
        up_to: u64,
        limit: usize,
    ) -> Result<Vec<String>> {
        self.with_reader(|conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT id FROM tickets INDEXED BY tickets_by_last_seq
                     WHERE tenant_id = ?1 AND last_seq > ?2 AND last_seq <= ?3
                     ORDER BY last_seq LIMIT ?4",
                )?
                .query_map(
                    params![
                        tenant_id,
                        sql_seq(after_seq),
                        sql_seq(up_to),
                        i64::try_from(limit).unwrap_or(i64::MAX)
                    ],
                    |r| r.get(0),
                )?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(rows)
        })
    }

    fn unlisted_tickets(&self, limit: usize) -> Result<Vec<(String, String, u64)>> {
        self.with_reader(|conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT tenant_id, id, last_seq FROM tickets WHERE listing_version < ?1
                     ORDER BY tenant_id, id LIMIT ?2",
                )?
                .query_map(
                    params![LISTING_VERSION, i64::try_from(limit).unwrap_or(i64::MAX)],
                    |r| Ok((r.get(0)?, r.get(1)?, seq_of(r.get(2)?))),
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn index_waiting_text(&self, limit: usize) -> Result<usize> {
        self.write(|tx| super::search_text::index_waiting(tx, limit, i64::MAX))
    }

    fn fill_listing(
        &self,
        tenant_id: &str,
        ticket_id: &str,
        last_seq: u64,
        listing: &TicketListing,
        staff: &StaffListing,
    ) -> Result<bool> {
        self.write(|tx| {
            let still: Option<i64> = tx
                .prepare_cached(
                    "SELECT 1 FROM tickets WHERE tenant_id = ?1 AND id = ?2 AND last_seq = ?3",
                )?
                .query_row(params![tenant_id, ticket_id, sql_seq(last_seq)], |r| {
                    r.get(0)
                })
                .optional()?;
            if still.is_none() {
                return Ok(false);
            }
            write_listing(tx, tenant_id, ticket_id, Some(listing), Some(staff), None)?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan SQLite picks for `q`'s page (or count) on a fresh schema, one step a line.
    fn plan((sql, args): (String, Vec<Sql>)) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = super::super::schema::open_writer(&dir.path().join("plan.db")).expect("db");
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("the query prepares");
        let steps: Vec<String> = stmt
            .query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(3))
            .expect("plan runs")
            .collect::<rusqlite::Result<_>>()
            .expect("plan rows");
        steps.join("\n")
    }

    fn query() -> TicketQuery {
        TicketQuery {
            tenant_id: "t".into(),
            limit: 50,
            ..TicketQuery::default()
        }
    }

    #[test]
    fn a_broad_page_walks_its_sorts_index_and_stops() {
        for (sort, index) in [
            (TicketSort::Created, "tickets_sort_created"),
            (TicketSort::Updated, "tickets_sort_updated"),
            (TicketSort::Priority, "tickets_sort_priority"),
            (TicketSort::Due, "tickets_sort_due"),
        ] {
            let q = TicketQuery {
                statuses: vec!["new".into(), "assigned".into()],
                priorities: vec![2],
                breached: Some(false),
                assignee: Some(AssigneeFilter::Nobody),
                sort,
                descending: true,
                ..query()
            };
            let steps = plan(page_query(&q, Reading::Broad));
            assert!(
                steps.contains(&format!("USING INDEX {index}")),
                "{sort:?}:\n{steps}"
            );
            assert!(
                !steps.contains("TEMP B-TREE FOR ORDER BY"),
                "{sort:?}:\n{steps}"
            );
        }
    }

    #[test]
    fn a_narrow_page_starts_from_its_filters_index() {
        let person = || Some("u1".to_owned());
        for (q, index) in [
            (
                TicketQuery {
                    assignee: Some(AssigneeFilter::User("u1".into())),
                    ..query()
                },
                "tickets_assignee",
            ),
            (
                TicketQuery {
                    reporter: person(),
                    ..query()
                },
                "tickets_by_reporter",
            ),
            (
                TicketQuery {
                    categories: vec!["printer".into()],
                    priorities: vec![2],
                    ..query()
                },
                "tickets_category",
            ),
            (
                TicketQuery {
                    team: Some("north".into()),
                    ..query()
                },
                "tickets_team",
            ),
            (
                TicketQuery {
                    text: Some("compressor".into()),
                    sort: TicketSort::Updated,
                    ..query()
                },
                "tickets_text_rowid",
            ),
        ] {
            let steps = plan(page_query(&q, Reading::Narrow));
            assert!(steps.contains(index), "{index} unused:\n{steps}");
            // The same list when broad walks the sort's index, filters and all.
            let broad = plan(page_query(&q, Reading::Broad));
            assert!(broad.contains("USING INDEX tickets_sort_"), "{broad}");
            assert!(!broad.contains("TEMP B-TREE FOR ORDER BY"), "{broad}");
        }
    }
}

#[cfg(test)]
mod reading_tests {
    use super::*;

    /// Both ways of reading a list find the same page, in the same order.
    #[test]
    fn a_broad_and_a_narrow_reading_find_the_same_pages() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = super::super::schema::open_writer(&dir.path().join("lists.db")).expect("db");
        conn.execute(
            "INSERT INTO tenants (id, name, created_at) VALUES ('t', 't', 0)",
            [],
        )
        .expect("tenant");
        for i in 0..120_i64 {
            let words = if i % 3 == 0 {
                "compressor noise"
            } else {
                "door jammed"
            };
            conn.execute(
                "INSERT INTO ticket_text (rowid, public, staff) VALUES (?1, ?2, '')",
                params![i + 1, words],
            )
            .expect("text");
            conn.execute(
                "INSERT INTO tickets (tenant_id, id, reporter_id, assignee, team, status, last_seq,
                     category, created_at, updated_at, priority, next_due, text_rowid)
                 VALUES ('t', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    format!("k{i:03}"),
                    format!("r{}", i % 4),
                    (i % 5 != 0).then(|| format!("u{}", i % 3)),
                    ["north", "south"][usize::try_from(i % 2).expect("small")],
                    ["new", "assigned", "resolved"][usize::try_from(i % 3).expect("small")],
                    i + 1,
                    ["printer", "freezer", "till", "door"][usize::try_from(i % 4).expect("small")],
                    1_000 + (i * 7919) % 120,
                    2_000 + (i * 104_729) % 120,
                    i % 4,
                    (i % 6 != 0).then_some(5_000 + (i * 31) % 50),
                    i + 1,
                ],
            )
            .expect("ticket");
        }
        let page = |q: &TicketQuery, reading: Reading| -> Vec<String> {
            let (sql, args) = page_query(q, reading);
            conn.prepare(&sql)
                .expect("prepares")
                .query_map(params_from_iter(args.iter()), |r| r.get(0))
                .expect("runs")
                .collect::<rusqlite::Result<_>>()
                .expect("rows")
        };
        let base = TicketQuery {
            tenant_id: "t".into(),
            limit: 7,
            ..TicketQuery::default()
        };
        let queries = [
            TicketQuery {
                statuses: vec!["new".into(), "assigned".into()],
                ..base.clone()
            },
            TicketQuery {
                categories: vec!["printer".into()],
                sort: TicketSort::Updated,
                descending: true,
                ..base.clone()
            },
            TicketQuery {
                assignee: Some(AssigneeFilter::User("u1".into())),
                sort: TicketSort::Priority,
                descending: true,
                ..base.clone()
            },
            TicketQuery {
                text: Some("compressor".into()),
                sort: TicketSort::Due,
                ..base.clone()
            },
            TicketQuery {
                team: Some("north".into()),
                reporter: Some("r2".into()),
                after: Some(crate::storage::ListCursor {
                    key: 1_050,
                    id: "k010".into(),
                }),
                ..base.clone()
            },
        ];
        for q in &queries {
            let narrow = page(q, Reading::Narrow);
            assert!(!narrow.is_empty(), "{q:?} finds something");
            assert_eq!(page(q, Reading::Broad), narrow, "{q:?}");
        }
    }
}
