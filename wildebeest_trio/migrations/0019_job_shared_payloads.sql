-- A part of many jobs' payloads stored once: the activity of a fan-out, which thousands of
-- delivery jobs (one per inbox) would otherwise each carry. Rows no job refers to any more
-- are removed by the scheduler.

CREATE TABLE job_shared_payloads (
    id BIGINT PRIMARY KEY,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

ALTER TABLE jobs ADD COLUMN shared_id BIGINT;
CREATE INDEX jobs_shared ON jobs (shared_id) WHERE shared_id IS NOT NULL;
