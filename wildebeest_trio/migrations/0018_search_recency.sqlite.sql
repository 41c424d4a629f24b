-- Status search on SQLite: the FTS5 index merged into one segment.
--
-- FTS5 already hands out matches newest first (ORDER BY rowid DESC is the index's own
-- order), so nothing changes in what it holds (that is PostgreSQL's half of 0018). But
-- the index that 0014 filled in one go for the existing statuses is left in many
-- segments, and every search walks each of them: merged, a search costs about two thirds
-- (measured at 1,000,000 statuses, bench/search.py). FTS5 keeps merging the segments
-- that new statuses add (its automerge).
INSERT INTO status_search (status_search) VALUES ('optimize');
