-- Inbound federation: activity ids already accepted (a replay is processed once), and
-- tombstones of deleted remote statuses (a late or replayed Create does not bring one back).

CREATE TABLE inbox_activities (
    uri TEXT PRIMARY KEY,                 -- the activity's id (or a digest of an id-less body)
    actor_uri TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX inbox_activities_received ON inbox_activities (received_at);

CREATE TABLE status_tombstones (
    uri TEXT PRIMARY KEY,                 -- the deleted object's id
    account_id BIGINT,                    -- its author (no FK: the account may go too)
    created_at BIGINT NOT NULL
);
CREATE INDEX status_tombstones_created ON status_tombstones (created_at);

-- Inbound Likes and Announces are undone by their activity id; remote statuses are found by uri.
CREATE INDEX favourites_uri ON favourites (uri);
CREATE INDEX follows_uri ON follows (uri);
CREATE INDEX follow_requests_uri ON follow_requests (uri);
