-- The settings pages: a changed e-mail address waiting for confirmation, and two-factor
-- sign-in with a TOTP app (the secret, when it was enabled, the last time step used so a
-- code cannot be replayed) and single-use recovery codes (stored as SHA-256 hashes).

ALTER TABLE users ADD COLUMN unconfirmed_email TEXT;
ALTER TABLE users ADD COLUMN otp_secret TEXT;
ALTER TABLE users ADD COLUMN otp_enabled_at BIGINT;
ALTER TABLE users ADD COLUMN otp_last_step BIGINT;

CREATE TABLE user_recovery_codes (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX user_recovery_codes_user ON user_recovery_codes (user_id);
