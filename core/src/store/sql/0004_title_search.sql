-- Version 4: a full-text index of ticket titles, kept off the write path.
--
-- `title_search` holds each ticket's title as search terms (`crate::search::index_terms`: words,
-- and CJK characters with their bigrams, so 空调 matches), under the rowid of the ticket's index
-- row. Writes never touch it: the index catches up, oldest first, from the index rows whose
-- `updated_seq` is past `meta.title_search_seq`, when a search runs or the store is compacted;
-- rows not yet caught up are scanned, so a search never misses a ticket (store/search_index.rs).
CREATE VIRTUAL TABLE title_search USING fts5(terms, tokenize = 'unicode61 remove_diacritics 2');
-- How many titles hold each term: a search estimates from it whether its terms are rare (take the
-- index's candidates) or common (scan along the sort order), in a few b-tree lookups.
CREATE VIRTUAL TABLE title_search_terms USING fts5vocab(title_search, row);
