-- Filtered notifications (Mastodon 4.3): a per-account policy decides whether a
-- notification from a stranger is shown, filtered into a request, or dropped; accepting
-- a request lets that sender through from then on.

ALTER TABLE notifications ADD COLUMN filtered BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX notifications_filtered ON notifications (account_id, from_account_id) WHERE filtered;

CREATE TABLE notification_policies (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    -- each one of accept, filter, drop
    for_not_following TEXT NOT NULL DEFAULT 'accept',
    for_not_followers TEXT NOT NULL DEFAULT 'accept',
    for_new_accounts TEXT NOT NULL DEFAULT 'accept',
    for_private_mentions TEXT NOT NULL DEFAULT 'filter',
    for_limited_accounts TEXT NOT NULL DEFAULT 'filter',
    updated_at BIGINT NOT NULL
);

-- One per (recipient, sender) with filtered notifications waiting.
CREATE TABLE notification_requests (
    id BIGINT PRIMARY KEY,                -- the pagination cursor
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    from_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    last_status_id BIGINT REFERENCES statuses (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, from_account_id)
);
CREATE INDEX notification_requests_account ON notification_requests (account_id, id);

-- Senders whose notifications are never filtered for this recipient (accepted requests).
CREATE TABLE notification_permissions (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    from_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, from_account_id)
);
