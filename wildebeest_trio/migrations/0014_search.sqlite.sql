-- Full-text search over statuses (SQLite: a contentless FTS5 table keyed by status id).
--
-- Triggers keep the index right for every writer (local posts, inbound federation, edits,
-- deletes), so no code path has to remember it. The indexed text is the content warning
-- plus the plain text of the sanitized HTML, made by `wb_search_text(spoiler, content)`,
-- a function every connection of the store registers (store/sqlite.py): SQLite has no
-- regular expressions to strip tags, and indexing the markup would make words such as
-- "class", "mention" or "target" match nearly every remote post. A connection without
-- that function (the sqlite3 shell) cannot write statuses while these triggers exist.
--
-- Contentless (`content=''`): the words are indexed but the text is not stored twice.
-- Such a table forgets a row through the 'delete' command given the very text that was
-- indexed, which `wb_search_text` recomputes from the old row; so the triggers delete
-- only rows that were indexed (live, not boosts), and a change to that function needs
-- the index rebuilt (drop, re-create, refill as below).
-- Boosts carry no text of their own and are not indexed; deleted statuses leave it.

CREATE VIRTUAL TABLE status_search USING fts5(
    body,
    content = '',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER status_search_insert AFTER INSERT ON statuses
WHEN NEW.reblog_of_id IS NULL AND NEW.deleted_at IS NULL
BEGIN
    INSERT INTO status_search (rowid, body)
    VALUES (NEW.id, wb_search_text(NEW.spoiler_text, NEW.content));
END;

CREATE TRIGGER status_search_update
AFTER UPDATE OF content, spoiler_text, deleted_at, reblog_of_id ON statuses
BEGIN
    INSERT INTO status_search (status_search, rowid, body)
    SELECT 'delete', OLD.id, wb_search_text(OLD.spoiler_text, OLD.content)
    WHERE OLD.reblog_of_id IS NULL AND OLD.deleted_at IS NULL;
    INSERT INTO status_search (rowid, body)
    SELECT NEW.id, wb_search_text(NEW.spoiler_text, NEW.content)
    WHERE NEW.reblog_of_id IS NULL AND NEW.deleted_at IS NULL;
END;

CREATE TRIGGER status_search_delete AFTER DELETE ON statuses
WHEN OLD.reblog_of_id IS NULL AND OLD.deleted_at IS NULL
BEGIN
    INSERT INTO status_search (status_search, rowid, body)
    VALUES ('delete', OLD.id, wb_search_text(OLD.spoiler_text, OLD.content));
END;

INSERT INTO status_search (rowid, body)
SELECT id, wb_search_text(spoiler_text, content) FROM statuses
WHERE reblog_of_id IS NULL AND deleted_at IS NULL;
