-- Statuses and the social graph: mentions, hashtags, favourites, bookmarks, pins, edit
-- history, idempotency keys, follow requests, and the outbox of domain events that the
-- federation layer consumes (written in the same transaction as the action it records).

-- A thread: the id of the status that started it (replies inherit their parent's), so a
-- conversation can be muted and, later, listed.
ALTER TABLE statuses ADD COLUMN conversation_id BIGINT;
CREATE INDEX statuses_conversation ON statuses (conversation_id);

CREATE TABLE conversation_mutes (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, conversation_id)
);

-- Direct-message threads as each local participant sees them (/api/v1/conversations):
-- one row per account, conversation and set of other participants.
CREATE TABLE account_conversations (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL,
    participant_ids TEXT NOT NULL,        -- JSON: the other accounts' ids, sorted
    last_status_id BIGINT NOT NULL,       -- the pagination cursor
    unread BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (account_id, conversation_id, participant_ids)
);
CREATE INDEX account_conversations_recent ON account_conversations (account_id, last_status_id);

CREATE TABLE mentions (
    id BIGINT PRIMARY KEY,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    UNIQUE (status_id, account_id)
);
-- "statuses that mention me": direct and private visibility checks, notifications.
CREATE INDEX mentions_account ON mentions (account_id, status_id);

CREATE TABLE tags (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,                   -- lower-cased, the key
    display_name TEXT NOT NULL,           -- as first written
    created_at BIGINT NOT NULL,
    last_status_at BIGINT
);
CREATE UNIQUE INDEX tags_name ON tags (name);

CREATE TABLE statuses_tags (
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (status_id, tag_id)
);
CREATE INDEX statuses_tags_tag ON statuses_tags (tag_id, status_id);

-- Followed hashtags: their public statuses join the follower's home timeline.
CREATE TABLE tag_follows (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, tag_id)
);

CREATE TABLE favourites (
    id BIGINT PRIMARY KEY,                -- the pagination cursor of /api/v1/favourites
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    uri TEXT,                             -- the Like activity's id (remote likes)
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, status_id)
);
CREATE INDEX favourites_status ON favourites (status_id, id);
CREATE INDEX favourites_account ON favourites (account_id, id);

CREATE TABLE bookmarks (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, status_id)
);
CREATE INDEX bookmarks_account ON bookmarks (account_id, id);

CREATE TABLE status_pins (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, status_id)
);

-- One row per version of an edited status, oldest first (the original is written on
-- the first edit), as Mastodon's status_edits.
CREATE TABLE status_edits (
    id BIGINT PRIMARY KEY,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    content TEXT NOT NULL,
    spoiler_text TEXT NOT NULL DEFAULT '',
    sensitive BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX status_edits_status ON status_edits (status_id, id);

-- `Idempotency-Key` of POST /api/v1/statuses: per account, honoured for an hour.
CREATE TABLE idempotency_keys (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE follow_requests (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uri TEXT,
    show_reblogs BOOLEAN NOT NULL DEFAULT TRUE,
    notify BOOLEAN NOT NULL DEFAULT FALSE,
    languages TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, target_account_id)
);
CREATE INDEX follow_requests_target ON follow_requests (target_account_id, id);

CREATE TABLE blocks (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uri TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, target_account_id)
);
CREATE INDEX blocks_target ON blocks (target_account_id);

CREATE TABLE mutes (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hide_notifications BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at BIGINT,                    -- NULL: until unmuted
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, target_account_id)
);

-- Private notes on other accounts (the relationship's `note`).
CREATE TABLE account_notes (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    comment TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, target_account_id)
);

-- Accounts featured on a profile (endorsements; the relationship's `endorsed`).
CREATE TABLE account_pins (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, target_account_id)
);

-- Lists of followed accounts, each a timeline of its own; an exclusive list's members
-- leave the home timeline.
CREATE TABLE lists (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    replies_policy TEXT NOT NULL DEFAULT 'list' CHECK (replies_policy IN ('followed', 'list', 'none')),
    exclusive BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX lists_account ON lists (account_id, id);

CREATE TABLE list_accounts (
    id BIGINT PRIMARY KEY,                -- the pagination cursor of a list's members
    list_id BIGINT NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    UNIQUE (list_id, account_id)
);
CREATE INDEX list_accounts_account ON list_accounts (account_id);

-- Where a user stopped reading a timeline (/api/v1/markers), shared between their apps.
CREATE TABLE markers (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    timeline TEXT NOT NULL CHECK (timeline IN ('home', 'notifications')),
    last_read_id BIGINT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, timeline)
);

-- Domain events, in commit order per writer; the federation layer turns them into
-- activities and marks them dispatched. Nothing an action does is lost to federation if
-- the process dies right after the commit.
CREATE TABLE outbox (
    id BIGINT PRIMARY KEY,
    event TEXT NOT NULL,                  -- e.g. status.created, favourite.deleted
    account_id BIGINT NOT NULL,           -- the actor (no foreign key: survives deletion)
    object_id BIGINT,                     -- the status, follow... the event is about
    payload TEXT NOT NULL DEFAULT '{}',   -- JSON: what a consumer needs once the row is gone
    created_at BIGINT NOT NULL,
    dispatched_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE dispatched_at IS NULL;

-- Timelines: a follower's home reads followed accounts' statuses by id; the public
-- timelines read local or all public statuses newest first; threads read replies.
CREATE INDEX follows_account ON follows (account_id, target_account_id);
CREATE INDEX statuses_local_public ON statuses (id)
    WHERE visibility = 'public' AND deleted_at IS NULL AND local;
-- One live boost per account and status, even when two requests race.
CREATE UNIQUE INDEX statuses_one_live_reblog ON statuses (reblog_of_id, account_id)
    WHERE reblog_of_id IS NOT NULL AND deleted_at IS NULL;
