-- Collections (Mastodon 4.6): curated lists of accounts an account recommends following,
-- federated as FeaturedCollection objects.
CREATE TABLE collections (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    language TEXT,
    sensitive BOOLEAN NOT NULL DEFAULT FALSE,
    discoverable BOOLEAN NOT NULL DEFAULT TRUE,
    tag_id BIGINT REFERENCES tags (id) ON DELETE SET NULL,
    local BOOLEAN NOT NULL,
    uri TEXT,                           -- remote ones: their ActivityPub id
    url TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX collections_account ON collections (account_id, created_at);
CREATE UNIQUE INDEX collections_uri ON collections (uri);

-- An account in a collection: `pending` until a remote account approves, `accepted`,
-- `rejected`, or `revoked` by the featured account itself.
CREATE TABLE collection_items (
    id BIGINT PRIMARY KEY,
    collection_id BIGINT NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    account_id BIGINT REFERENCES accounts (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    position INTEGER NOT NULL,
    uri TEXT,                           -- a remote collection's item: its id
    approval_uri TEXT,                  -- a remote account's FeatureAuthorization stamp
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (collection_id, account_id)
);
CREATE INDEX collection_items_account ON collection_items (account_id, state);

-- Annual reports ("Wrapstodon", Mastodon 4.3+): one per account and year, computed by the
-- `annual_report.generate` job and kept as Mastodon's JSON data.
CREATE TABLE annual_reports (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    year INTEGER NOT NULL,
    state TEXT NOT NULL,                -- generating or available
    schema_version INTEGER NOT NULL,
    data TEXT,                          -- JSON, once available
    viewed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, year)
);

-- When admins told the users about a version of the terms of service (Mastodon's
-- `notification_sent_at`): set once; the `terms.notify` job mails the users in id order and
-- keeps the last user mailed, so a job run again mails nobody twice.
ALTER TABLE terms_of_service ADD COLUMN notification_sent_at BIGINT;
ALTER TABLE terms_of_service ADD COLUMN notified_through BIGINT NOT NULL DEFAULT 0;
