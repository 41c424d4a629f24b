-- Security keys and passkeys (WebAuthn) as a second sign-in factor beside the TOTP app, as
-- Mastodon's webauthn_credentials: each named by its owner, its public key and the counter it
-- last reported (a key that reports a lower one may have been cloned).
CREATE TABLE webauthn_credentials (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    nickname TEXT NOT NULL,
    credential_id TEXT NOT NULL,        -- base64url, as the browser reports it
    public_key TEXT NOT NULL,           -- COSE key, base64url
    sign_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE UNIQUE INDEX webauthn_credentials_external ON webauthn_credentials (credential_id);
CREATE UNIQUE INDEX webauthn_credentials_nickname ON webauthn_credentials (user_id, nickname);
