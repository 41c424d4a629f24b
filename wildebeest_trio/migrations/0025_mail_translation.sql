-- E-mail notifications and translations.
-- A notification's mail is queued at most once: `mailed_at` is set in the unit that queues
-- it. `last_emailed_at` is when a digest was last mailed to someone away. A status's
-- translations are kept per target language and edition (its last edit, or creation).

ALTER TABLE notifications ADD COLUMN mailed_at BIGINT;
ALTER TABLE users ADD COLUMN last_emailed_at BIGINT;

CREATE TABLE status_translations (
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    edition BIGINT NOT NULL,
    translation TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (status_id, language, edition)
);
CREATE INDEX status_translations_created ON status_translations (created_at);
