-- Version 2: search in ticket titles with a trigram index, so Chinese text matches too.

CREATE VIRTUAL TABLE tickets_title_fts USING fts5(
    title,
    content = 'tickets',
    content_rowid = 'rowid',
    tokenize = 'trigram'
);

CREATE TRIGGER tickets_title_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_title_fts(rowid, title) VALUES (new.rowid, new.title);
END;

CREATE TRIGGER tickets_title_fts_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_title_fts(tickets_title_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
END;

CREATE TRIGGER tickets_title_fts_update AFTER UPDATE OF title ON tickets BEGIN
    INSERT INTO tickets_title_fts(tickets_title_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
    INSERT INTO tickets_title_fts(rowid, title) VALUES (new.rowid, new.title);
END;

-- Tickets stored before this version.
INSERT INTO tickets_title_fts(tickets_title_fts) VALUES ('rebuild');
