-- Version 6: the names of the people on this device's tickets, as the server last sent them with
-- a pull (and the device's own user, from the login), so screens show names instead of ids.
-- Names and roles only, never contact details; one tenant per store, so keyed by user id alone.
CREATE TABLE people (
    user_id TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    role    TEXT NOT NULL
) WITHOUT ROWID;
