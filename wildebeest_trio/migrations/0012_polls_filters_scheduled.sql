-- Polls and their votes, keyword filters (Mastodon's v2 filters), and statuses scheduled
-- for later.

-- The poll a status carries, if any (the hydration of timelines skips the polls query when
-- no status of a page has one).
ALTER TABLE statuses ADD COLUMN poll_id BIGINT;

CREATE TABLE polls (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,   -- the author
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    options TEXT NOT NULL,                -- JSON list of option titles
    cached_tallies TEXT NOT NULL,         -- JSON list of vote counts, one per option
    multiple BOOLEAN NOT NULL DEFAULT FALSE,
    hide_totals BOOLEAN NOT NULL DEFAULT FALSE,
    votes_count BIGINT NOT NULL DEFAULT 0,
    voters_count BIGINT,                  -- NULL when a remote server does not say
    expires_at BIGINT,                    -- NULL: never ends (remote polls only)
    ended_at BIGINT,                      -- when the end was handled (voters notified)
    last_fetched_at BIGINT,               -- remote polls: when the tallies were refreshed
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX polls_status ON polls (status_id);
-- The scheduler's safety net: polls past their end not yet handled.
CREATE INDEX polls_unended ON polls (expires_at) WHERE ended_at IS NULL;

CREATE TABLE poll_votes (
    id BIGINT PRIMARY KEY,
    poll_id BIGINT NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    choice INTEGER NOT NULL,              -- index into the poll's options
    uri TEXT,                             -- the Note activity's id for votes federated in
    created_at BIGINT NOT NULL,
    UNIQUE (poll_id, account_id, choice)
);
CREATE INDEX poll_votes_account ON poll_votes (account_id, poll_id);

CREATE TABLE custom_filters (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    context TEXT NOT NULL,                -- JSON list: home, notifications, public, thread, account
    action TEXT NOT NULL DEFAULT 'warn' CHECK (action IN ('warn', 'hide', 'blur')),
    expires_at BIGINT,                    -- NULL: never
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX custom_filters_account ON custom_filters (account_id, id);

CREATE TABLE custom_filter_keywords (
    id BIGINT PRIMARY KEY,
    filter_id BIGINT NOT NULL REFERENCES custom_filters (id) ON DELETE CASCADE,
    keyword TEXT NOT NULL,
    whole_word BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX custom_filter_keywords_filter ON custom_filter_keywords (filter_id, id);

CREATE TABLE custom_filter_statuses (
    id BIGINT PRIMARY KEY,
    filter_id BIGINT NOT NULL REFERENCES custom_filters (id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    UNIQUE (filter_id, status_id)
);

CREATE TABLE scheduled_statuses (
    id BIGINT PRIMARY KEY,                -- the pagination cursor
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    scheduled_at BIGINT NOT NULL,
    params TEXT NOT NULL,                 -- JSON: what POST /api/v1/statuses was given
    application_id BIGINT,
    idempotency_key TEXT,                 -- a repeated POST with it returns this one (1 h)
    created_at BIGINT NOT NULL
);
CREATE INDEX scheduled_statuses_account ON scheduled_statuses (account_id, scheduled_at);
CREATE UNIQUE INDEX scheduled_statuses_idempotency ON scheduled_statuses (account_id, idempotency_key);

-- The uploads a scheduled status will attach when it is published (kept from the
-- cleanup of unattached media meanwhile).
CREATE TABLE scheduled_status_media (
    scheduled_status_id BIGINT NOT NULL REFERENCES scheduled_statuses (id) ON DELETE CASCADE,
    media_attachment_id BIGINT NOT NULL REFERENCES media_attachments (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (scheduled_status_id, media_attachment_id)
);
CREATE INDEX scheduled_status_media_attachment ON scheduled_status_media (media_attachment_id);
