-- A commit that only appends notes to a ticket leaves the terms of those notes, not of the whole
-- ticket: `public_more` follows the ticket's public terms (those waiting in `public`, else those
-- indexed), after a space. A ticket's whole text was written into `public` on every note, and
-- worked out from every note it had (docs/benchmarks.md, "A note's terms, not the ticket's").
-- ADR 0023.
ALTER TABLE ticket_text_waiting ADD COLUMN public_more TEXT;
