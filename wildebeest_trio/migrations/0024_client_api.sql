-- Who was active each week (signed in, or used an app's token), for the logins of
-- GET /api/v1/instance/activity: one row per person per week, the last 13 weeks kept.
CREATE TABLE weekly_logins (
    week_start BIGINT NOT NULL,    -- the Monday 00:00 UTC the week starts, in ms
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (week_start, account_id)
);
CREATE INDEX weekly_logins_account ON weekly_logins (account_id);

-- Versions of the terms of service (Mastodon 4.4): each takes effect on its date; the one in
-- effect is the latest whose date has come.
CREATE TABLE terms_of_service (
    id BIGINT PRIMARY KEY,
    effective_date TEXT NOT NULL UNIQUE,   -- YYYY-MM-DD
    content TEXT NOT NULL,                 -- HTML
    changelog TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
