-- Delivery bookkeeping: which days a domain failed, and domains given up on until heard from.

CREATE TABLE delivery_failures (
    domain TEXT NOT NULL,
    day TEXT NOT NULL,                    -- UTC date, YYYYMMDD
    PRIMARY KEY (domain, day)
);

CREATE TABLE unavailable_domains (
    domain TEXT PRIMARY KEY,
    since BIGINT NOT NULL
);
