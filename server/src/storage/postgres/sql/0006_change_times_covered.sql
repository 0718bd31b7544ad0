-- A ticket's change times (`ticket_times`) are read for every refresh of its report facts and
-- every decision of the brain; the index carries them, so a ticket whose pages the visibility
-- map marks all-visible is read from the index alone (the SQLite store's version 33).
DROP INDEX changes_ticket_seq;
CREATE INDEX changes_ticket_seq ON changes(tenant_id, ticket_id, seq)
    INCLUDE (author_id, device_time, effective_at);
