-- Sign-in: authorization codes, web sessions, and profile fields the API edits.

CREATE TABLE oauth_access_grants (
    id BIGINT PRIMARY KEY,
    application_id BIGINT NOT NULL REFERENCES oauth_applications (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL UNIQUE,       -- SHA-256 hex of the one-time code
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    code_challenge TEXT,                  -- PKCE (S256 only)
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE web_sessions (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,      -- SHA-256 hex of the cookie value
    user_agent TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX web_sessions_account ON web_sessions (account_id);

ALTER TABLE accounts ADD COLUMN note_source TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN fields_source TEXT NOT NULL DEFAULT '[]';
ALTER TABLE accounts ADD COLUMN avatar_key TEXT;
ALTER TABLE accounts ADD COLUMN header_key TEXT;

CREATE INDEX oauth_access_tokens_application ON oauth_access_tokens (application_id);
