-- A commit leaves its tickets' search terms here, one row a ticket (NULL: that column is
-- unchanged), and the writer moves them into the full-text index `ticket_text` a batch at a time
-- (`search_text::index_waiting`): in the background every few seconds, and before every search.
-- The index took a ticket's whole text apart, old and new, on every note, inside the commit
-- that every push waited for (docs/benchmarks.md, "Search text indexed after the commit"); a
-- ticket noted many times between two batches is now taken apart once. ADR 0022.
CREATE TABLE ticket_text_waiting (
    -- The order tickets were first left in (a new row numbers past every row there is), so a
    -- search indexes exactly what waited when it began.
    turn       INTEGER PRIMARY KEY,
    -- The ticket's row in `ticket_text` (`tickets.text_rowid`).
    text_rowid INTEGER NOT NULL UNIQUE,
    public     TEXT,
    staff      TEXT
);
