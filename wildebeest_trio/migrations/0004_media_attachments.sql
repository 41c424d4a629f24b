-- Media attachments: uploads, their processed files, and the raw bytes awaiting processing.

CREATE TABLE media_attachments (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id BIGINT,                     -- set when a status is posted with it (no FK: statuses land apart)
    type TEXT NOT NULL,                   -- image, gifv, video, audio, unknown
    processing TEXT NOT NULL,             -- queued, complete, failed
    file_key TEXT,                        -- media store key of the processed original
    preview_key TEXT,                     -- the small preview made from the file
    thumbnail_key TEXT,                   -- a preview the uploader chose (replaces preview_key)
    remote_url TEXT,
    preview_remote_url TEXT,
    description TEXT,
    focus_x DOUBLE PRECISION,
    focus_y DOUBLE PRECISION,
    meta TEXT NOT NULL DEFAULT '{}',      -- JSON: original, small (width, height, size, aspect)
    blurhash TEXT,
    thumbnail_blurhash TEXT,
    file_size BIGINT,
    error TEXT,                           -- why processing failed, shown to the uploader
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX media_attachments_account ON media_attachments (account_id);
CREATE INDEX media_attachments_status ON media_attachments (status_id);
CREATE INDEX media_attachments_unattached ON media_attachments (created_at) WHERE status_id IS NULL;
CREATE INDEX media_attachments_file_key ON media_attachments (file_key);
CREATE INDEX media_attachments_preview_key ON media_attachments (preview_key);
CREATE INDEX media_attachments_thumbnail_key ON media_attachments (thumbnail_key);

-- The bytes of an upload waiting for its processing job; deleted when processed.
-- Kept in the database, not the media store: they commit with the row and its job,
-- are never served (they still carry EXIF and GPS), and reach every worker machine.
CREATE TABLE media_uploads (
    attachment_id BIGINT PRIMARY KEY REFERENCES media_attachments (id) ON DELETE CASCADE,
    data BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
