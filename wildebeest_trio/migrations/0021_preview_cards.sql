-- Preview cards of linked pages (Mastodon's preview_cards): one per canonical URL, shared by
-- every status that links to it, refreshed after two weeks.
CREATE TABLE preview_cards (
    id BIGINT PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL DEFAULT 'link',             -- link, photo, video or rich
    link_type TEXT NOT NULL DEFAULT 'unknown',     -- article or unknown
    author_name TEXT NOT NULL DEFAULT '',
    author_url TEXT NOT NULL DEFAULT '',
    -- The fediverse account a `fediverse:creator` tag named and that accepts the attribution.
    author_account_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    provider_name TEXT NOT NULL DEFAULT '',
    provider_url TEXT NOT NULL DEFAULT '',
    html TEXT NOT NULL DEFAULT '',                  -- a sanitized iframe, for video and rich cards
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    image_remote_url TEXT,
    image_key TEXT,                                 -- the stored (downscaled) copy of the image
    image_description TEXT NOT NULL DEFAULT '',
    embed_url TEXT NOT NULL DEFAULT '',
    blurhash TEXT,
    published_at BIGINT,
    language TEXT,
    -- An admin's review for trends: NULL not reviewed, TRUE approved, FALSE rejected.
    trendable BOOLEAN,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX preview_cards_image_key ON preview_cards (image_key);

-- Each URL as statuses link to it: the card it led to (after redirects), when it was last
-- fetched, and who is fetching it now, so that a URL shared by many statuses is fetched once.
CREATE TABLE preview_card_links (
    url TEXT PRIMARY KEY,
    preview_card_id BIGINT REFERENCES preview_cards (id) ON DELETE SET NULL,
    fetched_at BIGINT,        -- the last fetch that finished, with a card or without
    claimed_until BIGINT      -- a worker fetches it until then
);

-- The card each status shows, and the link of the status it came from.
CREATE TABLE preview_cards_statuses (
    status_id BIGINT PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    preview_card_id BIGINT NOT NULL REFERENCES preview_cards (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX preview_cards_statuses_card ON preview_cards_statuses (preview_card_id, status_id);

-- Accounts' `attribution_domains` (Mastodon 4.3): the sites allowed to name them as the
-- author of a page (`fediverse:creator`). A JSON list of host names; NULL: none.
ALTER TABLE accounts ADD COLUMN attribution_domains TEXT;
