-- Admin webhooks (Mastodon's `webhooks`): a URL, the events it wants (a JSON array of
-- names), the HMAC secret its deliveries are signed with, and whether it is on.
CREATE TABLE webhooks (
    id BIGINT PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- ActivityPub relays (Mastodon's `relays`): the inbox we follow it at, how (`mastodon`: a
-- Follow of the Public collection; `litepub`: a Follow of the relay's actor), the Follow's
-- id its Accept or Reject names, and the state that answer left (pending, accepted,
-- rejected).
CREATE TABLE relays (
    id BIGINT PRIMARY KEY,
    inbox_url TEXT NOT NULL UNIQUE,
    style TEXT NOT NULL,
    actor_uri TEXT,
    follow_activity_id TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX relays_follow ON relays (follow_activity_id);
