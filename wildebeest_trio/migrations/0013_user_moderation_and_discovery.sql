-- What a user decides for themselves: domains they hide (Mastodon's AccountDomainBlock),
-- suggestions they dismissed, and hashtags they feature on their profile.

CREATE TABLE account_domain_blocks (
    id BIGINT PRIMARY KEY,                -- the pagination cursor
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    domain TEXT NOT NULL,                 -- lower-case host, matched exactly as Mastodon does
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, domain)
);

CREATE TABLE suggestion_dismissals (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, target_account_id)
);

CREATE TABLE featured_tags (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, tag_id)
);

-- A custom emoji's still image (Mastodon's `static_url`): the first frame as PNG.
ALTER TABLE custom_emojis ADD COLUMN static_image_key TEXT;
