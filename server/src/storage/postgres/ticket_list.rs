//! Listings on PostgreSQL: columns of the `tickets` index row, `ticket_tags`, and `ticket_text`,
//! whose generated `tsvector` columns (the `simple` configuration, GIN-indexed) hold the terms the
//! core's `search` makes (words, and CJK characters with their overlapping pairs). A search is a
//! `tsquery` of the same terms the SQLite backend's FTS5 `MATCH` asks for, each term quoted so
//! nothing a user types is query syntax. Lists are keyset-paginated on (sort key, id), with the
//! SQLite backend's `COALESCE` sort keys, so pages and cursors are the same on both.

use tokio_postgres::types::ToSql;

use super::db::{Owned, Pipeline};
use super::{Db, PgStore};
use crate::storage::{
    AssigneeFilter, ListScope, ListedTicket, Result, StaffListing, Terms, TicketList,
    TicketListing, TicketPage, TicketQuery, TicketSort, seq_of, sql_seq, ticket_list,
};
use fieldwork_core::search::{IndexTerm, query_terms};

/// The listing format the columns hold (rows with a lower one are filled in at start).
const LISTING_VERSION: i64 = 2;

/// Writes a ticket's listing (when given) and staff listing (when given) inside the caller's
/// transaction; the index row already exists. Called by the ticket log's rewrite (its commit
/// queues the same statements with its own, [`listing_writes`]).
pub(super) fn write_listing(
    db: &Db,
    tenant_id: &str,
    ticket_id: &str,
    listing: Option<&TicketListing>,
    staff: Option<&StaffListing>,
    updated_at: Option<i64>,
) -> Result<()> {
    let mut writes = Pipeline::default();
    let long = listing_writes(
        &mut writes,
        tenant_id,
        ticket_id,
        listing,
        staff,
        updated_at,
    );
    db.run(writes)?;
    match long {
        Some(text) => write_long_text(db, tenant_id, ticket_id, text),
        None => Ok(()),
    }
}

/// Search text too long to be sure it fits a `tsvector`: (public, staff) terms, each `None` when
/// unchanged.
pub(super) type LongText = (Option<String>, Option<String>);

/// Queues the statements that write a ticket's listing and staff listing (the index row exists
/// by the time they run). Search text that may be too long for a `tsvector` is not queued but
/// returned, for [`write_long_text`] after the queue has run.
pub(super) fn listing_writes(
    writes: &mut Pipeline,
    tenant_id: &str,
    ticket_id: &str,
    listing: Option<&TicketListing>,
    staff: Option<&StaffListing>,
    updated_at: Option<i64>,
) -> Option<LongText> {
    let key = || -> Vec<Owned> {
        vec![
            Box::new(tenant_id.to_owned()),
            Box::new(ticket_id.to_owned()),
        ]
    };
    if let Some(l) = listing {
        let mut params = key();
        params.extend([
            Box::new(LISTING_VERSION) as Owned,
            Box::new(l.kind.clone()),
            Box::new(l.channel.clone()),
            Box::new(l.title.clone()),
            Box::new(i64::from(l.priority)),
            Box::new(l.first_response_due),
            Box::new(l.resolution_due),
            Box::new(l.next_due),
            Box::new(l.sla_paused),
            Box::new(l.breached),
            Box::new(updated_at),
            Box::new(l.asset_serial.clone()),
        ]);
        writes.push(
            "UPDATE tickets SET listing_version = $3, kind = $4, channel = $5, title = $6,
                 priority = $7, first_response_due = $8, resolution_due = $9, next_due = $10,
                 sla_paused = $11, breached = $12, updated_at = COALESCE($13, updated_at),
                 asset_serial = $14
             WHERE tenant_id = $1 AND id = $2",
            params,
        );
    } else if let Some(at) = updated_at {
        let mut params = key();
        params.push(Box::new(at));
        writes.push(
            "UPDATE tickets SET updated_at = $3 WHERE tenant_id = $1 AND id = $2",
            params,
        );
    }
    if let Some(s) = staff {
        writes.push(
            "DELETE FROM ticket_tags WHERE tenant_id = $1 AND ticket_id = $2",
            key(),
        );
        if !s.tags.is_empty() {
            let mut params = key();
            params.push(Box::new(s.tags.clone()));
            writes.push(
                "INSERT INTO ticket_tags (tenant_id, ticket_id, tag)
                 SELECT $1, $2, tag FROM unnest($3::text[]) AS tag
                 ON CONFLICT DO NOTHING",
                params,
            );
        }
    }
    if listing.is_none() && staff.is_none() {
        return None;
    }
    let (public, more) = match listing.map(|l| &l.public_terms) {
        Some(Terms::All(all)) => (Some(all.clone()), None),
        Some(Terms::More(more)) if !more.is_empty() => (None, Some(more.clone())),
        _ => (None, None),
    };
    if let Some(more) = more {
        let mut params = key();
        params.extend([Box::new(more) as Owned, Box::new(ALWAYS_FITS_SQL)]);
        writes.push(TEXT_APPEND, params);
    }
    let staff_text = staff.map(|s| s.staff_terms.clone());
    if public.is_none() && staff_text.is_none() {
        return None;
    }
    let long = |text: &Option<String>| text.as_ref().is_some_and(|t| t.len() > ALWAYS_FITS);
    if long(&public) || long(&staff_text) {
        return Some((public, staff_text));
    }
    let mut params = key();
    params.extend([Box::new(public) as Owned, Box::new(staff_text)]);
    writes.push(TEXT_UPSERT, params);
    None
}

/// Writes search text that may be more than a `tsvector` holds (1 MB of terms and positions),
/// which would fail the commit: the whole of it if it fits, else as much as always fits.
pub(super) fn write_long_text(
    db: &Db,
    tenant_id: &str,
    ticket_id: &str,
    (public, staff_text): LongText,
) -> Result<()> {
    db.savepoint(|db| write_text(db, tenant_id, ticket_id, &public, &staff_text))
        .or_else(|_| {
            let cut = |text: Option<String>| text.map(|t| fitting(&t).to_owned());
            write_text(db, tenant_id, ticket_id, &cut(public), &cut(staff_text))
        })
}

/// How many bytes of index terms a `tsvector` always holds: each term costs at most twice its
/// bytes with the space after it (its characters, padding, and a 2-byte position), against a
/// limit of 1 MB.
const ALWAYS_FITS: usize = 500_000;

/// The longest start of `terms` of at most [`ALWAYS_FITS`] bytes that ends between terms.
fn fitting(terms: &str) -> &str {
    if terms.len() <= ALWAYS_FITS {
        return terms;
    }
    let mut end = ALWAYS_FITS;
    while !terms.is_char_boundary(end) {
        end -= 1;
    }
    let head = &terms[..end];
    head.rfind(' ').map_or(head, |space| &head[..space])
}

/// [`ALWAYS_FITS`] as SQL takes it.
const ALWAYS_FITS_SQL: i64 = ALWAYS_FITS as i64;

/// Appends the terms of a commit's notes ($3) to a ticket's public text (ADR 0023), unless the
/// text would then pass $4 bytes ([`ALWAYS_FITS`]; a `tsvector` holding more could fail the
/// commit): those notes are then left out of search, as the whole text is cut
/// ([`write_long_text`]).
const TEXT_APPEND: &str = "INSERT INTO ticket_text (tenant_id, ticket_id, public, staff)
     VALUES ($1, $2, $3, '')
     ON CONFLICT (tenant_id, ticket_id) DO UPDATE
     SET public = CASE
         WHEN ticket_text.public = '' THEN $3
         WHEN octet_length(ticket_text.public) + 1 + octet_length($3) <= $4::bigint
             THEN ticket_text.public || ' ' || $3
         ELSE ticket_text.public END";

/// Writes a ticket's searchable text; text not given keeps what the row holds (a new row:
/// nothing).
fn write_text(
    db: &Db,
    tenant_id: &str,
    ticket_id: &str,
    public: &Option<String>,
    staff: &Option<String>,
) -> Result<()> {
    db.execute(TEXT_UPSERT, &[&tenant_id, &ticket_id, public, staff])?;
    Ok(())
}

/// Replaces the parts of a ticket's search text that are given ($3 public, $4 staff).
const TEXT_UPSERT: &str = "INSERT INTO ticket_text (tenant_id, ticket_id, public, staff)
     VALUES ($1, $2, COALESCE($3::text, ''), COALESCE($4::text, ''))
     ON CONFLICT (tenant_id, ticket_id) DO UPDATE
     SET public = COALESCE($3::text, ticket_text.public),
         staff = COALESCE($4::text, ticket_text.staff)";

/// The SQL expression a sort orders by (the SQLite backend's, and the `tickets_sort_*` indexes').
fn sort_key(sort: TicketSort) -> &'static str {
    match sort {
        TicketSort::Created => "COALESCE(t.created_at, 0)",
        TicketSort::Updated => "COALESCE(t.updated_at, 0)",
        TicketSort::Priority => "COALESCE(t.priority, 1)",
        TicketSort::Due => "COALESCE(t.next_due, 9223372036854775807)",
    }
}

/// The parameters of a query being built, each named `$n` in its SQL by [`Params::bind`].
#[derive(Default)]
struct Params {
    values: Vec<Box<dyn ToSql + Sync>>,
}

impl Params {
    /// Adds `value`; returns its placeholder.
    fn bind(&mut self, value: impl ToSql + Sync + 'static) -> String {
        self.values.push(Box::new(value));
        format!("${}", self.values.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.values
            .iter()
            .map(|v| v.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// One search term as a `to_tsquery` operand: quoted (a quote doubled, a backslash escaped), so
/// nothing in it is syntax, and a word marked as a prefix. `to_tsquery` runs the quoted text
/// through the same parser `to_tsvector` ran the indexed terms through.
fn tsquery_operand(term: &IndexTerm) -> String {
    let quoted = term.text.replace('\\', "\\\\").replace('\'', "''");
    format!("'{quoted}'{}", if term.prefix { ":*" } else { "" })
}

/// The searchable terms of a query's text, as FTS5's `MATCH` is given them on SQLite
/// (`fieldwork_core::search::match_expression`): `None` without text, empty when the text has
/// nothing searchable.
fn search_terms(q: &TicketQuery) -> Option<Vec<IndexTerm>> {
    let text = q.text.as_deref().filter(|t| !t.trim().is_empty())?;
    Some(query_terms(text))
}

/// The tickets a query reads: with words to find, each joined to its text (one row each).
fn from_of(q: &TicketQuery) -> &'static str {
    match search_terms(q) {
        Some(terms) if !terms.is_empty() => {
            "tickets t JOIN ticket_text x ON x.tenant_id = t.tenant_id AND x.ticket_id = t.id"
        }
        _ => "tickets t",
    }
}

/// The WHERE clause of `q` (without its cursor), its parameters bound in `params`.
fn filters(q: &TicketQuery, params: &mut Params) -> String {
    let mut clauses = vec![format!(
        "t.tenant_id = {}",
        params.bind(q.tenant_id.clone())
    )];
    match &q.scope {
        None | Some(ListScope::All) => {}
        Some(ListScope::Own {
            user_id,
            team,
            technician,
        }) => {
            let user = params.bind(user_id.clone());
            let mut seen = vec![format!("t.reporter_id = {user}")];
            if *technician {
                seen.push(format!("t.assignee = {user}"));
                if let Some(team) = team {
                    let team = params.bind(team.clone());
                    seen.push(format!("(t.assignee IS NULL AND t.team = {team})"));
                }
            }
            clauses.push(format!("({})", seen.join(" OR ")));
        }
    }
    let mut any_of = |column: &str, values: &[String]| {
        if !values.is_empty() {
            clauses.push(format!("{column} = ANY({})", params.bind(values.to_vec())));
        }
    };
    any_of("t.status", &q.statuses);
    any_of("t.category", &q.categories);
    any_of("t.channel", &q.channels);
    any_of("t.kind", &q.kinds);
    if !q.priorities.is_empty() {
        // A ticket without a priority is normal, as the list shows it.
        let values: Vec<i64> = q.priorities.iter().map(|p| i64::from(*p)).collect();
        clauses.push(format!(
            "COALESCE(t.priority, 1) = ANY({})",
            params.bind(values)
        ));
    }
    let mut equal = |column: &str, value: &Option<String>| {
        if let Some(v) = value {
            clauses.push(format!("{column} = {}", params.bind(v.clone())));
        }
    };
    equal("t.team", &q.team);
    equal("t.reporter_id", &q.reporter);
    equal("t.asset_serial", &q.asset);
    if let Some(tag) = &q.tag {
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM ticket_tags g
                     WHERE g.tenant_id = t.tenant_id AND g.ticket_id = t.id AND g.tag = {})",
            params.bind(tag.clone())
        ));
    }
    match &q.assignee {
        Some(AssigneeFilter::User(id)) => {
            clauses.push(format!("t.assignee = {}", params.bind(id.clone())));
        }
        Some(AssigneeFilter::Nobody) => clauses.push("t.assignee IS NULL".to_owned()),
        None => {}
    }
    if let Some(v) = q.breached {
        clauses.push(format!("t.breached = {}", params.bind(v)));
    }
    if let Some(v) = q.paused {
        clauses.push(format!("t.sla_paused = {}", params.bind(v)));
    }
    let mut number = |clause: &str, value: Option<i64>| {
        if let Some(v) = value {
            clauses.push(format!("{clause} {}", params.bind(v)));
        }
    };
    number("t.next_due <", q.due_before);
    number("t.created_at >=", q.created_from);
    number("t.created_at <", q.created_before);
    match search_terms(q) {
        Some(terms) if terms.is_empty() => {
            // Nothing searchable in it (punctuation only): nothing matches.
            clauses.push("FALSE".to_owned());
        }
        Some(terms) => clauses.push(text_clause(&terms, q.search_staff, params)),
        None => {}
    }
    clauses.join(" AND ")
}

/// Text with every one of `terms` (from `x`, the ticket's `ticket_text` row). For reporters, the
/// public text must have all of them. For staff, as FTS5's `{public staff} : (a AND b)` means,
/// each term must be in the public text or in the staff text, not all in the same one.
fn text_clause(terms: &[IndexTerm], staff: bool, params: &mut Params) -> String {
    if !staff {
        let all = terms
            .iter()
            .map(tsquery_operand)
            .collect::<Vec<_>>()
            .join(" & ");
        return format!("x.public_tsv @@ to_tsquery('simple', {})", params.bind(all));
    }
    terms
        .iter()
        .map(|term| {
            let one = params.bind(tsquery_operand(term));
            format!(
                "(x.public_tsv @@ to_tsquery('simple', {one}) \
                 OR x.staff_tsv @@ to_tsquery('simple', {one}))"
            )
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// How many tickets match `q`, counted up to one past its `count_up_to` (so the count also says
/// whether there are more): the SQL and its parameters.
fn count_query(q: &TicketQuery) -> (String, Params) {
    let mut params = Params::default();
    let clause = filters(q, &mut params);
    let from = from_of(q);
    let sql = match q.count_up_to {
        None => format!("SELECT COUNT(*) FROM {from} WHERE {clause}"),
        Some(most) => {
            let limit = params.bind(i64::try_from(most.saturating_add(1)).unwrap_or(i64::MAX));
            format!("SELECT COUNT(*) FROM (SELECT 1 FROM {from} WHERE {clause} LIMIT {limit}) s")
        }
    };
    (sql, params)
}

/// One page of `q`, after its cursor: the SQL and its parameters.
fn page_query(q: &TicketQuery) -> (String, Params) {
    let mut params = Params::default();
    let mut clause = filters(q, &mut params);
    let from = from_of(q);
    let key = sort_key(q.sort);
    let (cmp, order) = if q.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(after) = &q.after {
        let (at, id) = (params.bind(after.key), params.bind(after.id.clone()));
        clause.push_str(&format!(" AND ({key}, t.id) {cmp} ({at}, {id})"));
    }
    let limit = params.bind(ticket_list::page_limit(q.limit));
    let sql = format!(
        "SELECT t.id, t.number, COALESCE(t.title, ''), t.status, t.priority,
                COALESCE(t.kind, ''), COALESCE(t.channel, ''), t.category, t.team,
                t.assignee, t.reporter_id, t.created_at, t.updated_at,
                t.first_response_due, t.resolution_due, t.breached, t.sla_paused,
                ARRAY(SELECT g.tag FROM ticket_tags g
                      WHERE g.tenant_id = t.tenant_id AND g.ticket_id = t.id),
                {key}
         FROM {from} WHERE {clause}
         ORDER BY {key} {order}, t.id {order} LIMIT {limit}"
    );
    (sql, params)
}

/// Reads one row of [`page_query`].
fn listed_ticket(r: &tokio_postgres::Row) -> Result<ListedTicket> {
    let mut tags: Vec<String> = r.try_get(17)?;
    tags.sort();
    Ok(ListedTicket {
        id: r.try_get(0)?,
        number: r.try_get(1)?,
        title: r.try_get(2)?,
        status: r.try_get(3)?,
        priority: ticket_list::listed_priority(r.try_get(4)?),
        kind: r.try_get(5)?,
        channel: r.try_get(6)?,
        category: r.try_get(7)?,
        team: r.try_get(8)?,
        assignee: r.try_get(9)?,
        reporter_id: r.try_get(10)?,
        created_at: r.try_get(11)?,
        updated_at: r.try_get(12)?,
        first_response_due: r.try_get(13)?,
        resolution_due: r.try_get(14)?,
        breached: r.try_get(15)?,
        sla_paused: r.try_get(16)?,
        tags,
        sort_key: r.try_get(18)?,
    })
}

impl TicketList for PgStore {
    fn list_tickets(&self, q: &TicketQuery) -> Result<TicketPage> {
        let (count_sql, count_params) = count_query(q);
        let (page_sql, page_params) = page_query(q);
        // One snapshot: the count and the page agree.
        self.read_snapshot(|db: &Db| {
            let counted: i64 = db.query_one(&count_sql, &count_params.refs())?.try_get(0)?;
            let counted = u64::try_from(counted).unwrap_or(0);
            let tickets = db
                .query(&page_sql, &page_params.refs())?
                .iter()
                .map(listed_ticket)
                .collect::<Result<Vec<_>>>()?;
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
        self.with_reader(|db| {
            db.query(
                "SELECT id FROM tickets
                 WHERE tenant_id = $1 AND last_seq > $2 AND last_seq <= $3
                 ORDER BY last_seq LIMIT $4",
                &[
                    &tenant_id,
                    &sql_seq(after_seq),
                    &sql_seq(up_to),
                    &i64::try_from(limit).unwrap_or(i64::MAX),
                ],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
        })
    }

    fn index_waiting_text(&self, _limit: usize) -> Result<usize> {
        // Every commit writes its text, and PostgreSQL's GIN indexes keep their own pending
        // lists (ADR 0022).
        Ok(0)
    }

    fn unlisted_tickets(&self, limit: usize) -> Result<Vec<(String, String, u64)>> {
        self.with_reader(|db| {
            db.query(
                "SELECT tenant_id, id, last_seq FROM tickets WHERE listing_version < $1
                 ORDER BY tenant_id, id LIMIT $2",
                &[&LISTING_VERSION, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, seq_of(r.try_get(2)?))))
            .collect()
        })
    }

    fn fill_listing(
        &self,
        tenant_id: &str,
        ticket_id: &str,
        last_seq: u64,
        listing: &TicketListing,
        staff: &StaffListing,
    ) -> Result<bool> {
        self.write(|db| {
            // The row stays locked: a commit moving the ticket meanwhile waits, then writes its
            // own listing over this one; one that committed first makes this find nothing.
            let still = db.query_opt(
                "SELECT 1 FROM tickets WHERE tenant_id = $1 AND id = $2 AND last_seq = $3
                 FOR UPDATE",
                &[&tenant_id, &ticket_id, &sql_seq(last_seq)],
            )?;
            if still.is_none() {
                return Ok(false);
            }
            write_listing(db, tenant_id, ticket_id, Some(listing), Some(staff), None)?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::PgOptions;
    use crate::storage::conformance::postgres::TestDatabase;
    use fieldwork_core::search::index_terms;

    /// A store on a new database with one tenant, `t`.
    fn store() -> (PgStore, TestDatabase) {
        let database = TestDatabase::create();
        let store = PgStore::open(&database.url, &PgOptions::default()).expect("opens");
        store
            .write(|db| {
                db.execute(
                    "INSERT INTO tenants (id, name, created_at) VALUES ('t', 't', 0)",
                    &[],
                )?;
                Ok(())
            })
            .expect("tenant");
        (store, database)
    }

    /// A listing of ticket `id` with these public terms.
    fn listing(id: &str, public_terms: Terms) -> TicketListing {
        TicketListing {
            kind: "repair".into(),
            channel: "app".into(),
            title: id.into(),
            priority: 1,
            first_response_due: None,
            resolution_due: None,
            next_due: None,
            sla_paused: false,
            breached: false,
            asset_serial: None,
            public_terms,
        }
    }

    /// Stores ticket `id` with this public and staff text.
    fn ticket(store: &PgStore, id: &str, public: &str, staff: &str) {
        let listing = listing(id, Terms::All(index_terms(public)));
        let staff = StaffListing {
            tags: Vec::new(),
            staff_terms: index_terms(staff),
        };
        store
            .write(|db| {
                db.execute(
                    "INSERT INTO tickets (tenant_id, id, reporter_id, status, last_seq)
                     VALUES ('t', $1, 'r', 'new', 1)",
                    &[&id],
                )?;
                write_listing(db, "t", id, Some(&listing), Some(&staff), Some(5))
            })
            .expect("ticket");
    }

    fn find(store: &PgStore, text: &str, staff: bool) -> Vec<String> {
        let page = store
            .list_tickets(&TicketQuery {
                tenant_id: "t".into(),
                text: Some(text.into()),
                search_staff: staff,
                limit: 50,
                ..TicketQuery::default()
            })
            .unwrap_or_else(|e| panic!("{text:?} fails: {e}"));
        assert_eq!(page.total, page.tickets.len() as u64, "{text:?}");
        page.tickets.into_iter().map(|t| t.id).collect()
    }

    /// Quotes, operators, backslashes and parentheses in a search are never tsquery syntax: the
    /// words in them are found, and nothing else happens (an error would fail the request).
    #[test]
    fn hostile_searches_find_their_words_and_never_fail() {
        let (store, _database) = store();
        ticket(
            &store,
            "a",
            "POS printer jammed\n打印机卡纸了",
            "it's a \\ back'slash",
        );
        ticket(&store, "b", "freezer warm", "compressor noise");
        for (text, found) in [
            ("printer' & !(jam:*) | \\", vec!["a"]),
            ("'\\'", vec![]),
            ("&|!():*", vec![]),
            ("''''", vec![]),
            ("\\\\ \\' print", vec!["a"]),
            ("打印）&（!", vec!["a"]),
            ("<-> <!> jam", vec!["a"]),
            ("freezer:A", vec![]),
            ("freezer:* 'warm'", vec!["b"]),
        ] {
            assert_eq!(find(&store, text, false), found, "{text:?}");
            assert_eq!(find(&store, text, true), found, "{text:?} by staff");
        }
        assert_eq!(find(&store, "slash' it's", true), ["a"]);
        assert!(find(&store, "slash' it's", false).is_empty());
    }

    /// Operands quoted by `tsquery_operand` parse whatever they hold.
    #[test]
    fn any_term_quotes_into_a_valid_tsquery() {
        let (store, _database) = store();
        let hostile = [
            "a'b", "\\", "'", "x\\'y", "&|!():*", "<->", "a b", "'':*", "\\\\'",
        ];
        for text in hostile {
            for prefix in [false, true] {
                let term = IndexTerm {
                    text: text.to_owned(),
                    prefix,
                };
                let operand = tsquery_operand(&term);
                let matched: Option<bool> = store
                    .with_reader(|db| {
                        Ok(db
                            .query_one(
                                "SELECT to_tsvector('simple', $1) @@ to_tsquery('simple', $2)",
                                &[&text, &operand],
                            )?
                            .try_get(0)?)
                    })
                    .unwrap_or_else(|e| panic!("{operand} fails: {e}"));
                assert!(matched.is_some(), "{operand}");
            }
        }
    }

    /// Text with more terms than a `tsvector` holds is stored cut, never failing the commit.
    #[test]
    fn text_too_long_for_a_tsvector_is_cut_not_refused() {
        let (store, _database) = store();
        let cjk = |i: u32| char::from_u32(0x4E00 + i).expect("a CJK character");
        // 120,000 different pairs: well over 1 MB of terms.
        let pairs: String = (0..120_000)
            .map(|i| format!("{}{} ", cjk(i / 300), cjk(i % 300)))
            .collect();
        ticket(&store, "long", &format!("compressor {pairs}"), &pairs);
        assert_eq!(find(&store, "compressor", false), ["long"]);
        let first: String = [cjk(0), cjk(1)].iter().collect();
        assert_eq!(find(&store, &first, true), ["long"]);
        let stored: i32 = store
            .with_reader(|db| {
                Ok(db
                    .query_one(
                        "SELECT octet_length(staff) FROM ticket_text WHERE ticket_id = 'long'",
                        &[],
                    )?
                    .try_get(0)?)
            })
            .expect("stored");
        assert!(stored > 400_000 && stored <= 500_000, "{stored} bytes kept");
        assert!(fitting(&pairs).len() <= ALWAYS_FITS);
        assert!(fitting(&pairs).ends_with(|c: char| c != ' '));
    }

    /// A note's terms follow the ticket's, unless the text would pass what always fits: then
    /// they are left out and the commit stands.
    #[test]
    fn a_notes_terms_follow_the_ticket_until_the_text_would_not_fit() {
        let (store, _database) = store();
        let note = |id: &str, more: &str| {
            let listing = listing(id, Terms::More(more.into()));
            store
                .write(|db| write_listing(db, "t", id, Some(&listing), None, Some(6)))
                .expect("a note's terms");
        };
        ticket(&store, "a", "freezer warm", "");
        note("a", "gas low");
        assert_eq!(find(&store, "freezer gas", false), ["a"]);
        // Just short of what always fits, then a note that would pass it.
        let full = "x".repeat(ALWAYS_FITS - 10);
        ticket(&store, "b", &full, "");
        note("b", "compressor");
        note("b", "gas");
        assert_eq!(find(&store, "gas", false), ["a", "b"]);
        assert!(find(&store, "compressor", false).is_empty());
    }

    /// For staff, each word may be in the public text or in the internal notes; for reporters,
    /// every word must be in the public text.
    #[test]
    fn staff_find_words_across_public_and_internal_text() {
        let (store, _database) = store();
        ticket(&store, "a", "freezer warm", "compressor noise");
        ticket(&store, "b", "compressor noise", "");
        assert_eq!(find(&store, "freezer compressor", true), ["a"]);
        assert!(find(&store, "freezer compressor", false).is_empty());
        assert_eq!(find(&store, "compressor", false), ["b"]);
        assert_eq!(find(&store, "compressor", true), ["a", "b"]);
    }
}
