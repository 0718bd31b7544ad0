-- Version 13: the people a ticket's staff document names and its public document does not (the
-- authors of internal notes, the staff history), kept beside `people` so a pull names them to
-- staff only (docs/staff-data.md). NULL until a commit changes the staff document.

ALTER TABLE tickets ADD COLUMN staff_people TEXT;
