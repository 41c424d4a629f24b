-- Tables several layers share: notifications (written by local actions and inbound
-- federation), reports (the API, inbound Flags, the admin pages), instance-level domain
-- blocks (the inbox, delivery, the admin pages) and custom emoji (formatting, federation,
-- the admin pages).

CREATE TABLE notifications (
    id BIGINT PRIMARY KEY,                -- the pagination cursor
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,   -- the recipient
    from_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    type TEXT NOT NULL,                   -- mention, status, reblog, follow, follow_request,
                                          -- favourite, poll, update, admin.sign_up, admin.report
    status_id BIGINT REFERENCES statuses (id) ON DELETE CASCADE,
    report_id BIGINT,                     -- admin.report (no FK: reports are created beside)
    group_key TEXT NOT NULL,              -- v2 grouping; `ungrouped-<id>` when not groupable
    created_at BIGINT NOT NULL
);
CREATE INDEX notifications_account ON notifications (account_id, id);
CREATE INDEX notifications_group ON notifications (account_id, group_key, id);
CREATE INDEX notifications_status ON notifications (status_id);
CREATE INDEX notifications_from ON notifications (from_account_id);

CREATE TABLE reports (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,   -- the reporter
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_ids TEXT NOT NULL DEFAULT '[]',        -- JSON list of status ids
    rule_ids TEXT NOT NULL DEFAULT '[]',          -- JSON list of instance rule ids
    category TEXT NOT NULL DEFAULT 'other',       -- spam, legal, violation, other
    comment TEXT NOT NULL DEFAULT '',
    forwarded BOOLEAN NOT NULL DEFAULT FALSE,
    uri TEXT UNIQUE,                      -- the Flag activity's id (ours or a remote one)
    action_taken_at BIGINT,               -- resolved
    action_taken_by_account_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX reports_open ON reports (id) WHERE action_taken_at IS NULL;
CREATE INDEX reports_target ON reports (target_account_id);

-- Instance-level moderation of whole domains (Mastodon's DomainBlock).
CREATE TABLE domain_blocks (
    id BIGINT PRIMARY KEY,
    domain TEXT NOT NULL UNIQUE,          -- lower-case host
    severity TEXT NOT NULL DEFAULT 'silence' CHECK (severity IN ('silence', 'suspend', 'noop')),
    reject_media BOOLEAN NOT NULL DEFAULT FALSE,
    reject_reports BOOLEAN NOT NULL DEFAULT FALSE,
    private_comment TEXT NOT NULL DEFAULT '',
    public_comment TEXT NOT NULL DEFAULT '',
    obfuscate BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE custom_emojis (
    id BIGINT PRIMARY KEY,
    shortcode TEXT NOT NULL,
    domain TEXT,                          -- NULL for local emoji
    uri TEXT,                             -- the remote Emoji object's id
    image_key TEXT,                       -- media store key (local, or the cached remote file)
    image_remote_url TEXT,
    content_type TEXT,
    category TEXT,
    visible_in_picker BOOLEAN NOT NULL DEFAULT TRUE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX custom_emojis_local ON custom_emojis (shortcode) WHERE domain IS NULL;
CREATE UNIQUE INDEX custom_emojis_remote ON custom_emojis (shortcode, domain) WHERE domain IS NOT NULL;

-- Announcements from the admins (the API, the CLI and the admin pages).
CREATE TABLE announcements (
    id BIGINT PRIMARY KEY,
    text TEXT NOT NULL,                   -- as the admin wrote it
    content TEXT NOT NULL,                -- HTML rendered from text
    starts_at BIGINT,
    ends_at BIGINT,
    all_day BOOLEAN NOT NULL DEFAULT FALSE,
    published_at BIGINT,                  -- NULL: a draft
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE announcement_dismissals (
    announcement_id BIGINT NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (announcement_id, account_id)
);

CREATE TABLE announcement_reactions (
    id BIGINT PRIMARY KEY,
    announcement_id BIGINT NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,                   -- a Unicode emoji or a custom emoji's shortcode
    custom_emoji_id BIGINT REFERENCES custom_emojis (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    UNIQUE (announcement_id, account_id, name)
);
