//! The title search index (`title_search`, FTS5), kept off the write path: a help request or an
//! edit writes only its index row, which bumps `updated_seq`; the search index catches up from
//! the rows past its mark when someone searches (or the store is compacted). Rows not caught up
//! yet are few and are scanned, and every candidate is confirmed against the title itself, so a
//! search is exact whatever state the index is in: the index only narrows where to look.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::StoreError;
use crate::search::{IndexTerm, index_terms};

type Result<T> = std::result::Result<T, StoreError>;

/// Index rows caught up per write transaction: a first search after a large sync indexes the
/// rest in later searches (found by the scan meanwhile), never in one long lock of the writer.
pub(super) const CATCH_UP_BATCH: usize = 5_000;

const MARK_KEY: &str = "title_search_seq";

/// The `updated_seq` up to which `title_search` is current.
pub(super) fn indexed_up_to(conn: &Connection) -> Result<i64> {
    let mark: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([MARK_KEY], |r| r.get(0))
        .optional()?;
    Ok(mark.and_then(|m| m.parse().ok()).unwrap_or(0))
}

fn set_mark(tx: &Transaction, seq: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![MARK_KEY, seq.to_string()])?;
    Ok(())
}

/// Whether index rows wait to be indexed (one index lookup).
pub(super) fn behind(conn: &Connection) -> Result<bool> {
    let newest: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(updated_seq), 0) FROM tickets")?
        .query_row([], |r| r.get(0))?;
    Ok(newest > indexed_up_to(conn)?)
}

/// Indexes at most `batch` rows past the mark, oldest first, and moves the mark past them.
/// Returns how many were indexed.
pub(super) fn catch_up(tx: &Transaction, batch: usize) -> Result<usize> {
    let mark = indexed_up_to(tx)?;
    let rows: Vec<(i64, i64, String)> = tx
        .prepare_cached(
            "SELECT rowid, updated_seq, title FROM tickets WHERE updated_seq > ?1
             ORDER BY updated_seq LIMIT ?2",
        )?
        .query_map(
            params![mark, i64::try_from(batch).unwrap_or(i64::MAX)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?
        .collect::<std::result::Result<_, _>>()?;
    let Some(&(_, newest, _)) = rows.last() else {
        return Ok(0);
    };
    let mut delete = tx.prepare_cached("DELETE FROM title_search WHERE rowid = ?1")?;
    let mut insert =
        tx.prepare_cached("INSERT INTO title_search (rowid, terms) VALUES (?1, ?2)")?;
    for (rowid, _, title) in &rows {
        delete.execute([rowid])?;
        insert.execute(params![rowid, index_terms(title)])?;
    }
    set_mark(tx, newest)?;
    Ok(rows.len())
}

/// Drops a removed ticket's entry. `updated_seq` is the highest in the table plus one, so once
/// the newest row is gone the next write may reuse its number: the mark steps back to the
/// newest row left, so that write is not taken for indexed.
pub(super) fn forget(tx: &Transaction, rowid: i64) -> Result<()> {
    tx.prepare_cached("DELETE FROM title_search WHERE rowid = ?1")?
        .execute([rowid])?;
    let newest: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(updated_seq), 0) FROM tickets")?
        .query_row([], |r| r.get(0))?;
    if indexed_up_to(tx)? > newest {
        set_mark(tx, newest)?;
    }
    Ok(())
}

/// Most distinct index terms one query word may stand for before it counts as common (a short
/// prefix such as `s` stands for thousands).
const MAX_PREFIX_TERMS: i64 = 64;

/// An upper bound on how many indexed titles have every one of `terms` (the fewest titles any
/// one term is in), counting no further than `cap`; read from the term counts, not the titles.
pub(super) fn estimate_matches(
    conn: &Connection,
    terms: &[IndexTerm],
    cap: usize,
) -> Result<usize> {
    let mut fewest = cap;
    for term in terms {
        let counts: Vec<i64> = if term.prefix {
            // Every term that starts with the word: from the word up to the word followed by the
            // highest character (terms compare as UTF-8 bytes, in code point order).
            conn.prepare_cached(
                "SELECT doc FROM title_search_terms WHERE term >= ?1 AND term < ?2 LIMIT ?3",
            )?
            .query_map(
                params![
                    term.text,
                    format!("{}{}", term.text, char::MAX),
                    MAX_PREFIX_TERMS
                ],
                |r| r.get(0),
            )?
            .collect::<std::result::Result<_, _>>()?
        } else {
            conn.prepare_cached("SELECT doc FROM title_search_terms WHERE term = ?1")?
                .query_map([&term.text], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?
        };
        if i64::try_from(counts.len()).unwrap_or(i64::MAX) >= MAX_PREFIX_TERMS {
            continue;
        }
        let titles = counts
            .iter()
            .map(|&n| usize::try_from(n).unwrap_or(0))
            .sum();
        fewest = fewest.min(titles);
    }
    Ok(fewest)
}
