-- What the admin dashboard draws and nothing else records: deliveries per remote domain and
-- day (kept as long as the longest period the dashboard shows), and the job queue's depth
-- sampled by the scheduler (kept a day).

CREATE TABLE delivery_counts (
    day BIGINT NOT NULL,                  -- days since 1970-01-01, UTC
    domain TEXT NOT NULL,
    delivered BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, domain)
);

CREATE TABLE job_queue_samples (
    at BIGINT PRIMARY KEY,                -- ms since the epoch
    pending BIGINT NOT NULL,
    retrying BIGINT NOT NULL,
    running BIGINT NOT NULL,
    parked BIGINT NOT NULL
);

-- Who was active, counted so that the dashboard's "active users" over a period reads a few
-- rows per day instead of every activity row: for each day, how many accounts came back
-- after how many days away (`gap`; 1000 for a first visit or a longer absence). The accounts
-- active in days F..L are then those of each day d whose gap reaches back before F.
CREATE TABLE activity_gaps (
    day BIGINT NOT NULL,
    gap BIGINT NOT NULL,
    accounts BIGINT NOT NULL,
    PRIMARY KEY (day, gap)
);

CREATE INDEX daily_activity_by_account ON daily_activity (account_id, day);

INSERT INTO activity_gaps (day, gap, accounts)
SELECT day, gap, COUNT(*) FROM (
    SELECT day, CASE WHEN previous IS NULL OR day - previous > 1000 THEN 1000
                     ELSE day - previous END AS gap
    FROM (
        SELECT day, LAG(day) OVER (PARTITION BY account_id ORDER BY day) AS previous
        FROM daily_activity
    ) AS visits
) AS gaps
GROUP BY day, gap;

-- Publishers of links (Mastodon's PreviewCardProvider): an approved publisher's links trend
-- without each being reviewed; a rejected one's only when approved one by one.
CREATE TABLE preview_card_providers (
    id BIGINT PRIMARY KEY,
    domain TEXT NOT NULL,
    trendable BOOLEAN,                    -- NULL: not reviewed yet
    reviewed_at BIGINT,
    requested_review_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX preview_card_providers_domain ON preview_card_providers (domain);
