-- Quote posts (Mastodon 4.5, FEP-044f).
--
-- `quote_approval_policy` is Mastodon's: the automatic-approval flags shifted left 16 bits,
-- or'ed with the manual-approval flags (1 unsupported policy, 2 public, 4 followers,
-- 8 following); 0 lets only the author quote. `quotes_count` counts accepted quotes.
ALTER TABLE statuses ADD COLUMN quote_approval_policy INTEGER NOT NULL DEFAULT 0;
ALTER TABLE statuses ADD COLUMN quotes_count INTEGER NOT NULL DEFAULT 0;

-- One quote per quoting status. `quoted_status_id` is NULL until the quoted post is known
-- here (`quoted_uri` names it meanwhile). `state`: pending, accepted, rejected, revoked.
-- `legacy`: named by `quoteUrl`, `quoteUri` or `_misskey_quote` only (shown once accepted).
-- `activity_uri`: the QuoteRequest's id; `approval_uri`: the remote QuoteAuthorization
-- stamp (a local quoted post's stamp is served at the quoted author's
-- `/quote_authorizations/<id>`).
CREATE TABLE quotes (
    id BIGINT PRIMARY KEY,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    quoted_status_id BIGINT REFERENCES statuses (id) ON DELETE SET NULL,
    quoted_account_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    quoted_uri TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    legacy BOOLEAN NOT NULL DEFAULT FALSE,
    activity_uri TEXT,
    approval_uri TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX quotes_status ON quotes (status_id);
CREATE INDEX quotes_quoted ON quotes (quoted_status_id, id);
CREATE INDEX quotes_account ON quotes (account_id);
CREATE INDEX quotes_activity_uri ON quotes (activity_uri);
CREATE INDEX quotes_approval_uri ON quotes (approval_uri);
