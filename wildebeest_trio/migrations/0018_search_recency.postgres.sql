-- Status search on PostgreSQL: an index that finds the newest matches without the others.
--
-- The GIN index of 0014 hands out every status containing a word, in no useful order, so
-- the newest 20 matches of a common word meant fetching and sorting all of them. Now the
-- index also holds, for each status, the slices of time its id falls in, and for phrases,
-- the pairs of neighbouring words; a search asks for the matches within a few slices,
-- newest first (store/search.py, `_NewestFirst`), and reads only their entries.
--
-- No row changes: both are expressions of what a row already holds, indexed, not stored.

-- The buckets of time of a status id: one of each size 2^12, 2^14, ... 2^36 ms (about 4 s
-- up to 2.2 years; an id holds its millisecond above bit 16), the size kept in the bits
-- above 48 so that sizes never share a value. `recency_buckets` in store/search.py
-- computes the same values.
CREATE FUNCTION wb_search_buckets(status_id BIGINT) RETURNS BIGINT[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[
        (12::BIGINT << 48) + (status_id >> 28),
        (14::BIGINT << 48) + (status_id >> 30),
        (16::BIGINT << 48) + (status_id >> 32),
        (18::BIGINT << 48) + (status_id >> 34),
        (20::BIGINT << 48) + (status_id >> 36),
        (22::BIGINT << 48) + (status_id >> 38),
        (24::BIGINT << 48) + (status_id >> 40),
        (26::BIGINT << 48) + (status_id >> 42),
        (28::BIGINT << 48) + (status_id >> 44),
        (30::BIGINT << 48) + (status_id >> 46),
        (32::BIGINT << 48) + (status_id >> 48),
        (34::BIGINT << 48) + (status_id >> 50),
        (36::BIGINT << 48) + (status_id >> 52)
    ]
$$;

-- The pairs of words that stand next to each other in a document, each hashed to 16 bits
-- (hashtextextended: the stable hash of hash partitioning), and -1, which every document
-- has. A phrase's matches have all of the phrase's own pairs, so the index narrows a
-- phrase of common words down to about its matches; whether the words really stand in
-- that order is then tested on each (hashes collide; the index does not know positions).
CREATE FUNCTION wb_search_pairs(document TSVECTOR) RETURNS INT[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH word AS (SELECT lexeme, unnest(positions) AS position FROM unnest(document))
    SELECT array_agg(DISTINCT pair) FROM (
        SELECT -1 AS pair
        UNION ALL
        SELECT (hashtextextended(a.lexeme || ' ' || b.lexeme, 0) & 65535)::INT
        FROM word a JOIN word b ON b.position = a.position + 1
    ) pairs
$$;

-- The pairs every match of a phrase has: its own, or for a phrase of one word (no pairs)
-- the mark every document has.
CREATE FUNCTION wb_search_phrase_pairs(phrase TEXT) RETURNS INT[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN cardinality(pairs) > 1 THEN array_remove(pairs, -1) ELSE pairs END
    FROM wb_search_pairs(to_tsvector('simple', phrase)) AS pairs
$$;

DROP INDEX status_search_document;
CREATE INDEX status_search_document ON status_search
USING GIN (document, wb_search_buckets(status_id), wb_search_pairs(document));
