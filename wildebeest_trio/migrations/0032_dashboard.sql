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
