-- Home feeds: each local account's home timeline written as statuses arrive (Mastodon's
-- fan-out on write), so a home page is one range scan. `services/home_feed.py` says how
-- they are filled, pruned and rebuilt; this is SQLite's half: the entries are kept in
-- primary key order (WITHOUT ROWID), so a page is read from one b-tree.
--
-- One row per feed that has been built or read. `version` moves past `built_version`
-- when a change the writes do not follow makes the feed stale (an unmute, a domain
-- unblocked); `read_at` is the owner's last home read: writes skip a feed unread for a
-- week, and reading it again rebuilds it; `expires_at`, when a timed mute ends;
-- `complete_from`: the feed holds every status it should from this id on (trimming
-- drops older ones), so what a follow merges in starts there.
-- No rows here yet: every existing account's feed is built by its first home read.
CREATE TABLE home_feeds (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    version BIGINT NOT NULL DEFAULT 0,
    built_version BIGINT,
    read_at BIGINT NOT NULL,
    expires_at BIGINT,
    complete_from BIGINT NOT NULL DEFAULT 0
);

-- The statuses of each feed (at most the newest 800 once trimmed); `reblog_of_id` of a
-- boost, for the rule that a boost of what the feed shows near its top stays out.
CREATE TABLE home_feed_entries (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    reblog_of_id BIGINT,
    PRIMARY KEY (account_id, status_id)
) WITHOUT ROWID;
CREATE INDEX home_feed_entries_status ON home_feed_entries (status_id);

-- Replies to an account: following it brings its followed repliers' answers into home.
CREATE INDEX statuses_reply_account ON statuses (in_reply_to_account_id, id)
    WHERE in_reply_to_account_id IS NOT NULL;
