-- Remote media cached on first view, and file cleanup that checks every table naming a file.

-- When a remote attachment's files were fetched into the cache (NULL: a local upload, or
-- not cached), and how many bytes the cached files take (for the cache-size bound).
ALTER TABLE media_attachments ADD COLUMN cached_at BIGINT;
ALTER TABLE media_attachments ADD COLUMN cached_bytes BIGINT;
CREATE INDEX media_attachments_cached ON media_attachments (cached_at) WHERE cached_at IS NOT NULL;

-- Remote avatars, headers and emoji cached the same way: their key columns hold the copy,
-- with when it was made and from which remote URL (a copy of an older URL is stale).
ALTER TABLE accounts ADD COLUMN avatar_cached_at BIGINT;
ALTER TABLE accounts ADD COLUMN avatar_cached_url TEXT;
ALTER TABLE accounts ADD COLUMN header_cached_at BIGINT;
ALTER TABLE accounts ADD COLUMN header_cached_url TEXT;
ALTER TABLE custom_emojis ADD COLUMN image_cached_at BIGINT;
ALTER TABLE custom_emojis ADD COLUMN image_cached_url TEXT;
CREATE INDEX accounts_avatar_cached ON accounts (avatar_cached_at) WHERE avatar_cached_at IS NOT NULL;
CREATE INDEX accounts_header_cached ON accounts (header_cached_at) WHERE header_cached_at IS NOT NULL;
CREATE INDEX custom_emojis_image_cached ON custom_emojis (image_cached_at) WHERE image_cached_at IS NOT NULL;

-- A file is deleted only when no row names it: these make that check an index lookup.
CREATE INDEX accounts_avatar_key ON accounts (avatar_key);
CREATE INDEX accounts_header_key ON accounts (header_key);
CREATE INDEX custom_emojis_image_key ON custom_emojis (image_key);
