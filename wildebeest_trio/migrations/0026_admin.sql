-- Mastodon's admin API and the blocks that act at sign-up, login and API use.

-- The Owner role: a user whose stored role is 'admin' and who owns the instance (the
-- role's CHECK cannot change on SQLite without rebuilding the table).
ALTER TABLE users ADD COLUMN owner BOOLEAN NOT NULL DEFAULT FALSE;
-- Admins so far held every power: they stay owners (Mastodon's Owner, id 3, permission
-- `administrator`); admins named from now on are Mastodon's Admin.
UPDATE users SET owner = TRUE WHERE role = 'admin';
ALTER TABLE users ADD COLUMN sign_up_ip TEXT;
ALTER TABLE accounts ADD COLUMN sensitized_at BIGINT;
ALTER TABLE reports ADD COLUMN assigned_account_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL;

-- Every moderation action (Mastodon's Admin::ActionLog).
CREATE TABLE admin_action_logs (
    id BIGINT PRIMARY KEY,
    account_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,   -- who acted
    action TEXT NOT NULL,                 -- suspend, resolve, create, destroy...
    target_type TEXT NOT NULL,            -- Account, Report, DomainBlock, IpBlock...
    target_id BIGINT,
    human_identifier TEXT NOT NULL DEFAULT '',   -- what the target was called then
    created_at BIGINT NOT NULL
);
CREATE INDEX admin_action_logs_account ON admin_action_logs (account_id, id);

-- Warnings and strikes an account action leaves (Mastodon's AccountWarning).
CREATE TABLE account_warnings (
    id BIGINT PRIMARY KEY,
    account_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,   -- the moderator
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    action TEXT NOT NULL,                 -- none, disable, sensitive, silence, suspend
    text TEXT NOT NULL DEFAULT '',
    report_id BIGINT REFERENCES reports (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX account_warnings_target ON account_warnings (target_account_id, id);

-- Limited federation's allow-list.
CREATE TABLE domain_allows (
    id BIGINT PRIMARY KEY,
    domain TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Sign-ups refused by e-mail domain (and by the domain of its MX hosts).
CREATE TABLE email_domain_blocks (
    id BIGINT PRIMARY KEY,
    domain TEXT NOT NULL UNIQUE,
    parent_id BIGINT REFERENCES email_domain_blocks (id) ON DELETE CASCADE,
    allow_with_approval BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE ip_blocks (
    id BIGINT PRIMARY KEY,
    ip TEXT NOT NULL UNIQUE,              -- a network in CIDR form, e.g. 192.0.2.0/24
    severity TEXT NOT NULL CHECK (severity IN ('sign_up_requires_approval', 'sign_up_block', 'no_access')),
    comment TEXT NOT NULL DEFAULT '',
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE canonical_email_blocks (
    id BIGINT PRIMARY KEY,
    canonical_email_hash TEXT NOT NULL UNIQUE,   -- SHA-256 hex of the canonical address
    reference_account_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The dashboard's daily counters (new users, interactions, reports opened and resolved):
-- a view reads one row per day and key, never the history behind it.
CREATE TABLE daily_counters (
    key TEXT NOT NULL,
    day BIGINT NOT NULL,                  -- days since 1970-01-01, UTC
    value BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key, day)
);

-- Who was active on which day (at most one row per user and day): active users and the
-- retention cohorts.
CREATE TABLE daily_activity (
    day BIGINT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (day, account_id)
);

-- Admins' review of trending statuses and tags: NULL not reviewed (may trend), TRUE
-- approved, FALSE rejected (never trends). Links have theirs since 0021.
ALTER TABLE statuses ADD COLUMN trendable BOOLEAN;
ALTER TABLE tags ADD COLUMN trendable BOOLEAN;
