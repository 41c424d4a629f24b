-- The size of the thumbnail an uploader chose (JSON: width, height, size, aspect): it is
-- what `meta.small` describes, as on Mastodon, rather than the first frame of a video.
-- NULL where there is no chosen thumbnail, or for thumbnails stored before this column.

ALTER TABLE media_attachments ADD COLUMN thumbnail_meta TEXT;
