//! Tickets' search text in SQLite. The full-text index `ticket_text` (FTS5) holds one row a
//! ticket, its `public` and `staff` terms as the core's `search` makes them; FTS5 takes a row's
//! old text apart to drop it and its new text to add it, all of it, on every update. So a commit
//! does not touch the index: it leaves the ticket's newest terms in `ticket_text_waiting`
//! ([`leave`]), and the writer moves what is waiting into the index a batch at a time
//! ([`index_waiting`]) — every few seconds in the background, and before every search, so a
//! search always finds what was committed before it. An erasure indexes its ticket at once
//! ([`index_ticket`]): the erased words leave the file with it. ADR 0022.
//!
//! A commit that only appended notes leaves just their terms, to follow the ticket's
//! (`public_more`, [`Terms::More`]): a note costs its own text, not the ticket's. ADR 0023.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Result;
use crate::storage::Terms;

/// Leaves a ticket's terms to be indexed (`None`: that column is unchanged), over whatever of
/// it was waiting already: all its public terms replace what waited, more follow it. A ticket
/// without a row in the index gets an empty one first.
pub(super) fn leave(
    tx: &Transaction,
    tenant_id: &str,
    ticket_id: &str,
    public: Option<&Terms>,
    staff: Option<&str>,
) -> Result<()> {
    let (public, more) = match public {
        Some(Terms::All(all)) => (Some(all.as_str()), None),
        Some(Terms::More(more)) if !more.is_empty() => (None, Some(more.as_str())),
        _ => (None, None),
    };
    if public.is_none() && more.is_none() && staff.is_none() {
        return Ok(());
    }
    let rowid = match text_rowid(tx, tenant_id, ticket_id)? {
        Some(rowid) => rowid,
        None => {
            tx.prepare_cached("INSERT INTO ticket_text (public, staff) VALUES ('', '')")?
                .execute([])?;
            let rowid = tx.last_insert_rowid();
            tx.prepare_cached(
                "UPDATE tickets SET text_rowid = ?3 WHERE tenant_id = ?1 AND id = ?2",
            )?
            .execute(params![tenant_id, ticket_id, rowid])?;
            rowid
        }
    };
    tx.prepare_cached(
        "INSERT INTO ticket_text_waiting (text_rowid, public, staff, public_more)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (text_rowid) DO UPDATE
         SET public = COALESCE(excluded.public, public), staff = COALESCE(excluded.staff, staff),
             public_more = CASE
                 WHEN excluded.public IS NOT NULL THEN NULL
                 WHEN public_more IS NULL THEN excluded.public_more
                 WHEN excluded.public_more IS NULL THEN public_more
                 ELSE public_more || ' ' || excluded.public_more END",
    )?
    .execute(params![rowid, public, staff, more])?;
    Ok(())
}

/// The SQL expression of public terms `base` with the terms `more` following them (either may
/// be NULL or empty), as [`Terms::joined`] joins them.
pub(crate) fn joined(base: &str, more: &str) -> String {
    format!(
        "CASE WHEN {more} IS NULL OR {more} = '' THEN {base}
              WHEN {base} IS NULL OR {base} = '' THEN {more}
              ELSE {base} || ' ' || {more} END"
    )
}

/// Moves the waiting terms of at most `limit` tickets into the index, those left first first,
/// none left after turn `up_to`; returns how many.
pub(super) fn index_waiting(tx: &Transaction, limit: usize, up_to: i64) -> Result<usize> {
    let waiting: Vec<Waiting> = tx
        .prepare_cached(
            "SELECT text_rowid, public, staff, public_more FROM ticket_text_waiting
             WHERE turn <= ?2 ORDER BY turn LIMIT ?1",
        )?
        .query_map(
            params![i64::try_from(limit).unwrap_or(i64::MAX), up_to],
            |r| {
                Ok(Waiting {
                    rowid: r.get(0)?,
                    public: r.get(1)?,
                    staff: r.get(2)?,
                    more: r.get(3)?,
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    for row in &waiting {
        index(tx, row)?;
    }
    Ok(waiting.len())
}

/// Moves the waiting terms of one ticket into the index, if any wait.
pub(super) fn index_ticket(tx: &Transaction, tenant_id: &str, ticket_id: &str) -> Result<()> {
    let Some(rowid) = text_rowid(tx, tenant_id, ticket_id)? else {
        return Ok(());
    };
    let waiting = tx
        .prepare_cached(
            "SELECT public, staff, public_more FROM ticket_text_waiting WHERE text_rowid = ?1",
        )?
        .query_row([rowid], |r| {
            Ok(Waiting {
                rowid,
                public: r.get(0)?,
                staff: r.get(1)?,
                more: r.get(2)?,
            })
        })
        .optional()?;
    match waiting {
        Some(row) => index(tx, &row),
        None => Ok(()),
    }
}

/// The turn of the ticket left last of those waiting (None: nothing waits).
pub(super) fn last_turn(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT max(turn) FROM ticket_text_waiting")?
        .query_row([], |r| r.get(0))?)
}

/// A ticket's terms waiting to be indexed.
struct Waiting {
    rowid: i64,
    public: Option<String>,
    staff: Option<String>,
    /// Terms to follow the public ones.
    more: Option<String>,
}

fn index(tx: &Transaction, row: &Waiting) -> Result<()> {
    tx.prepare_cached(&format!(
        "UPDATE ticket_text SET public = {}, staff = COALESCE(?3, staff) WHERE rowid = ?1",
        joined("COALESCE(?2, public)", "?4")
    ))?
    .execute(params![row.rowid, row.public, row.staff, row.more])?;
    // Under secure_delete the row's text is zeroed in the file as it goes.
    tx.prepare_cached("DELETE FROM ticket_text_waiting WHERE text_rowid = ?1")?
        .execute([row.rowid])?;
    Ok(())
}

fn text_rowid(tx: &Transaction, tenant_id: &str, ticket_id: &str) -> Result<Option<i64>> {
    Ok(tx
        .prepare_cached("SELECT text_rowid FROM tickets WHERE tenant_id = ?1 AND id = ?2")?
        .query_row([tenant_id, ticket_id], |r| r.get(0))
        .optional()?
        .flatten())
}

#[cfg(test)]
mod tests {
    use rusqlite::TransactionBehavior;

    use super::*;
    use crate::storage::conformance::ticket_list::listing;
    use crate::storage::conformance::{change, commit, tenant, ticket};
    use crate::storage::{ServerStore, StaffListing, TicketRewrite};

    fn all(terms: &str) -> Terms {
        Terms::All(terms.into())
    }

    fn more(terms: &str) -> Terms {
        Terms::More(terms.into())
    }

    fn indexed(conn: &Connection, rowid: i64) -> String {
        conn.query_row(
            "SELECT public FROM ticket_text WHERE rowid = ?1",
            [rowid],
            |r| r.get(0),
        )
        .expect("an index row")
    }

    /// A database with tenant `t` and its tickets `a`, `b` and `c`, none with text yet.
    fn three_tickets(dir: &tempfile::TempDir) -> Connection {
        let conn = super::super::schema::open_writer(&dir.path().join("text.db")).expect("db");
        conn.execute(
            "INSERT INTO tenants (id, name, created_at) VALUES ('t', 't', 0)",
            [],
        )
        .expect("tenant");
        for id in ["a", "b", "c"] {
            conn.execute(
                "INSERT INTO tickets (tenant_id, id, reporter_id, status, last_seq)
                 VALUES ('t', ?1, 'r', 'new', 1)",
                [id],
            )
            .expect("ticket");
        }
        conn
    }

    #[test]
    fn appended_terms_follow_the_tickets_waiting_or_indexed_and_all_terms_replace_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut conn = three_tickets(&dir);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("tx");
        let rowid = |tx: &Transaction, id: &str| text_rowid(tx, "t", id).expect("read");
        let staff = |tx: &Transaction, rowid: i64| -> String {
            tx.query_row(
                "SELECT staff FROM ticket_text WHERE rowid = ?1",
                [rowid],
                |r| r.get(0),
            )
            .expect("an index row")
        };
        // Nothing to add leaves nothing waiting, and no index row.
        leave(&tx, "t", "a", Some(&more("")), None).expect("left");
        assert_eq!(
            (last_turn(&tx).expect("turn"), rowid(&tx, "a")),
            (None, None)
        );
        // a: indexed, then two notes' terms follow it, and staff text beside them.
        leave(&tx, "t", "a", Some(&all("fridge warm")), None).expect("left");
        index_waiting(&tx, 64, i64::MAX).expect("indexed");
        leave(&tx, "t", "a", Some(&more("gas low")), None).expect("left");
        leave(&tx, "t", "a", None, Some("fraud")).expect("left");
        leave(&tx, "t", "a", Some(&more("refilled")), None).expect("left");
        // b: all its terms wait, and a note's follow them.
        leave(&tx, "t", "b", Some(&all("printer")), None).expect("left");
        leave(&tx, "t", "b", Some(&more("jammed")), None).expect("left");
        // c: a note's terms on a ticket without text, then all its terms replace them.
        leave(&tx, "t", "c", Some(&more("first")), None).expect("left");
        leave(&tx, "t", "c", Some(&all("title")), None).expect("left");
        assert_eq!(index_waiting(&tx, 64, i64::MAX).expect("indexed"), 3);
        let [a, b, c] = ["a", "b", "c"].map(|id| rowid(&tx, id).expect("a row"));
        assert_eq!(indexed(&tx, a), "fridge warm gas low refilled");
        assert_eq!(staff(&tx, a), "fraud");
        assert_eq!(indexed(&tx, b), "printer jammed");
        assert_eq!(indexed(&tx, c), "title");
        // A note's terms on a ticket whose text is empty take no leading space.
        leave(&tx, "t", "c", Some(&all("")), None).expect("left");
        leave(&tx, "t", "c", Some(&more("second")), None).expect("left");
        index_ticket(&tx, "t", "c").expect("indexed");
        assert_eq!(indexed(&tx, c), "second");
    }

    #[test]
    fn a_search_indexes_what_waited_when_it_began_whatever_is_left_meanwhile() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut conn = three_tickets(&dir);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("tx");
        leave(&tx, "t", "a", Some(&all("first")), None).expect("left");
        leave(&tx, "t", "b", Some(&all("second")), Some("staff")).expect("left");
        let last = last_turn(&tx).expect("turn").expect("something waits");
        // Left after the search began: a new ticket, and newer text of one that waited.
        leave(&tx, "t", "c", Some(&all("third")), None).expect("left");
        leave(&tx, "t", "a", Some(&all("newer")), None).expect("left");
        assert_eq!(index_waiting(&tx, 64, last).expect("indexed"), 2);
        let rowid = |id: &str| text_rowid(&tx, "t", id).expect("read").expect("a row");
        assert_eq!(indexed(&tx, rowid("a")), "newer", "its newest text");
        assert_eq!(indexed(&tx, rowid("b")), "second");
        assert_eq!(indexed(&tx, rowid("c")), "", "left later: not yet");
        assert_eq!(index_waiting(&tx, 64, last).expect("indexed"), 0);
        assert_eq!(index_waiting(&tx, 64, i64::MAX).expect("indexed"), 1);
        assert_eq!(indexed(&tx, rowid("c")), "third");
        assert_eq!(last_turn(&tx).expect("turn"), None, "nothing waits");
    }

    #[test]
    fn words_an_erasure_takes_out_leave_the_file_indexed_or_waiting() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("erase.db");
        let store = crate::storage::SqliteStore::open(&path).expect("store");
        let s: &dyn ServerStore = &store;
        let acme = tenant(s, "acme");
        let word = "zanzibarcode";
        let listing = |text: &str| listing("Freezer", 1, None, text);
        let in_file = || {
            s.scrub().expect("the log is emptied into the file");
            let bytes = std::fs::read(&path).expect("the file");
            bytes.windows(word.len()).any(|w| w == word.as_bytes())
        };
        // The word indexed, then newer text with it waiting.
        let mut noted = ticket("t1", "r", None);
        noted.listing = Some(listing(&format!("call {word}")));
        let seq = s
            .commit(&commit(&acme, vec![noted], vec![change("t1", "h1")]))
            .expect("committed")[0];
        assert_eq!(s.index_waiting_text(64).expect("indexed"), 1);
        let mut again = ticket("t1", "r", Some(seq));
        again.listing = Some(listing(&format!("call {word} again")));
        let seq = s
            .commit(&commit(&acme, vec![again], vec![change("t1", "h2")]))
            .expect("committed")[0];
        assert!(in_file(), "the text is in the file");
        let mut rewritten = ticket("t1", "r", Some(seq));
        rewritten.snapshot = Some(b"rewritten".to_vec());
        rewritten.listing = Some(listing("call"));
        rewritten.staff_listing = Some(StaffListing::default());
        s.rewrite(&TicketRewrite {
            tenant_id: acme.id.clone(),
            at: 2,
            ticket: rewritten,
            changes: vec![change("t1", "r1")],
            unnamed_blobs: Vec::new(),
            erased: vec![fieldwork_core::model::Erasure::Contact],
            by: "privacy.officer".into(),
            reference: None,
        })
        .expect("rewritten");
        assert!(!in_file(), "neither waiting nor indexed");
    }
}
