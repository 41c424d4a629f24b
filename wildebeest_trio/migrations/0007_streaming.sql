-- Stream events too large for a PostgreSQL NOTIFY payload travel through this table.

CREATE TABLE stream_payloads (
    id BIGINT PRIMARY KEY,
    channel TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX stream_payloads_created ON stream_payloads (created_at);
