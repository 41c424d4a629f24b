-- Imports of Mastodon's CSV files (Mastodon's bulk_imports): one per uploaded file, worked
-- through by `import.run` jobs a batch of rows at a time.
CREATE TABLE imports (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    type TEXT NOT NULL,                 -- following, blocking, muting, domain_blocking, bookmarks, lists
    mode TEXT NOT NULL,                 -- merge or overwrite
    filename TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,                -- running or finished
    total_rows INTEGER NOT NULL,
    done_rows INTEGER NOT NULL DEFAULT 0,
    failed_rows INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX imports_account ON imports (account_id, id);

-- Each row of an import's file: its columns (JSON), what became of it, and when it is tried
-- again after a failure that may pass (a server away, a busy peer).
CREATE TABLE import_rows (
    import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    data TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',   -- pending, done or failed
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,                              -- why it failed (the last reason while retried)
    next_at BIGINT NOT NULL,                 -- not tried before then
    claimed_until BIGINT,                    -- a worker holds it until then
    PRIMARY KEY (import_id, position)
);
CREATE INDEX import_rows_waiting ON import_rows (import_id, state, next_at);

-- Archives of an account (Mastodon's backups): a zip in Mastodon's takeout format, built by
-- an `archive.build` job, kept seven days.
CREATE TABLE account_archives (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state TEXT NOT NULL,                -- building, ready or failed
    file_key TEXT,                      -- where the zip is stored, once ready
    size BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    ready_at BIGINT,
    expires_at BIGINT
);
CREATE INDEX account_archives_account ON account_archives (account_id, id);

-- When an account last moved away: Mastodon lets an account move once every 30 days.
ALTER TABLE accounts ADD COLUMN moved_at BIGINT;
