-- Version 21: the full-text index no longer deletes in place (`secure-delete` off). With it on,
-- every change to a ticket's text rewrote the index pages of each of its words, and common words'
-- pages span thousands of tickets: the largest cost of a pushed note that grew with the tenant
-- (docs/benchmarks.md, "Back-office API"). A change now leaves a delete marker that hides the old
-- words from every search at once. An erase then merges the whole index into one segment
-- (`optimize`), which drops what the markers hide, and the database's `secure_delete` zeroes the
-- freed pages, so erased words still leave the file.
INSERT INTO ticket_text (ticket_text, rank) VALUES ('secure-delete', 0);
