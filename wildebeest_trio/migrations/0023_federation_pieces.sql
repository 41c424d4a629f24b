-- Federation pieces Mastodon 4.4 relies on.
--
-- `replies_fetched_at`: when a remote status's replies collection was last crawled (a
-- person opened its thread), so the crawl runs at most once per interval, as Mastodon's
-- `fetched_replies_at`.
ALTER TABLE statuses ADD COLUMN replies_fetched_at BIGINT;
