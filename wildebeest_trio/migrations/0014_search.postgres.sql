-- Full-text search over statuses (PostgreSQL: a tsvector per status with a GIN index).
--
-- Triggers keep the index right for every writer (local posts, inbound federation, edits,
-- deletes), so no code path has to remember it; a deleted row leaves through the foreign
-- key. The indexed text is the content warning plus the plain text of the sanitized HTML
-- (tags dropped, the common entities decoded), with the 'simple' configuration: no
-- stemming and no stop words, since statuses come in every language (and SQLite's FTS5
-- index, the other backend, does not stem either). Boosts carry no text of their own and
-- are not indexed; deleted statuses leave the index.

CREATE TABLE status_search (
    status_id BIGINT PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    document TSVECTOR NOT NULL
);
CREATE INDEX status_search_document ON status_search USING GIN (document);

CREATE FUNCTION wb_search_document(spoiler TEXT, content TEXT) RETURNS TSVECTOR
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('simple',
        coalesce(spoiler, '') || ' ' ||
        replace(replace(replace(replace(replace(replace(replace(
            regexp_replace(coalesce(content, ''), '<[^>]*>', ' ', 'g'),
            '&nbsp;', ' '), '&quot;', '"'), '&#39;', ''''), '&apos;', ''''),
            '&lt;', '<'), '&gt;', '>'), '&amp;', '&'))
$$;

CREATE FUNCTION status_search_sync() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.reblog_of_id IS NULL AND NEW.deleted_at IS NULL THEN
        INSERT INTO status_search (status_id, document)
        VALUES (NEW.id, wb_search_document(NEW.spoiler_text, NEW.content))
        ON CONFLICT (status_id) DO UPDATE SET document = excluded.document;
    ELSIF TG_OP = 'UPDATE' THEN
        DELETE FROM status_search WHERE status_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER status_search_insert AFTER INSERT ON statuses
FOR EACH ROW EXECUTE FUNCTION status_search_sync();
CREATE TRIGGER status_search_update
AFTER UPDATE OF content, spoiler_text, deleted_at, reblog_of_id ON statuses
FOR EACH ROW EXECUTE FUNCTION status_search_sync();

INSERT INTO status_search (status_id, document)
SELECT id, wb_search_document(spoiler_text, content) FROM statuses
WHERE reblog_of_id IS NULL AND deleted_at IS NULL;

-- Account search matches usernames by prefix.
CREATE INDEX accounts_username_prefix ON accounts (lower(username) text_pattern_ops);
