-- Web Push subscriptions: one per access token, gone with the token.
-- The id is a small sequential integer, not a snowflake: Mastodon serializes it as a JSON
-- number and Tusky and the Android app read it into a 32-bit int.

CREATE TABLE web_push_subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    access_token_id BIGINT NOT NULL UNIQUE REFERENCES oauth_access_tokens (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    key_p256dh TEXT NOT NULL,             -- base64url, unpadded, as the client sent it
    key_auth TEXT NOT NULL,
    standard BOOLEAN NOT NULL DEFAULT FALSE,
    alerts TEXT NOT NULL DEFAULT '{}',    -- JSON object {type: bool}
    policy TEXT NOT NULL DEFAULT 'all' CHECK (policy IN ('all', 'followed', 'follower', 'none')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX web_push_subscriptions_account ON web_push_subscriptions (account_id);
