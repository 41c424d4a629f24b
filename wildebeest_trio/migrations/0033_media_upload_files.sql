-- Raw uploads of POST /api/v2/media wait for their processing job as files in the media
-- store's private side (streamed there, never whole in memory), named here; `data` stays
-- for the rows queued before, and is empty for new ones.
ALTER TABLE media_uploads ADD COLUMN file_key TEXT;
