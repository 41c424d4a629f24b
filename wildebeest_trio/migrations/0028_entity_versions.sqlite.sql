-- Entities rendered once: a process keeps the Status and Account entities it built, and
-- serves one again only while the versions it was built at are still the database's.
-- `entity_version` moves in the same transaction as every change to what an entity
-- shows (the row itself, its mentions, tags, media, card, poll and quote); the triggers
-- move it, so no write, in any process, can forget to. `entity_epochs`: versions of what
-- many entities share (custom emoji, matched by shortcode in their text). SQLite's half:
-- its triggers cannot change NEW, so they update the row again (recursive triggers are
-- off, and the WHEN clause stops a second round all the same).
ALTER TABLE statuses ADD COLUMN entity_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN entity_version BIGINT NOT NULL DEFAULT 0;

CREATE TABLE entity_epochs (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO entity_epochs (name, version) VALUES ('custom_emojis', 0);

CREATE TRIGGER statuses_entity_version AFTER UPDATE ON statuses
WHEN NEW.entity_version = OLD.entity_version
BEGIN
    UPDATE statuses SET entity_version = OLD.entity_version + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER accounts_entity_version AFTER UPDATE ON accounts
WHEN NEW.entity_version = OLD.entity_version
BEGIN
    UPDATE accounts SET entity_version = OLD.entity_version + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER mentions_entity_insert AFTER INSERT ON mentions
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id = NEW.status_id;
END;
CREATE TRIGGER mentions_entity_delete AFTER DELETE ON mentions
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id = OLD.status_id;
END;

CREATE TRIGGER statuses_tags_entity_insert AFTER INSERT ON statuses_tags
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id = NEW.status_id;
END;
CREATE TRIGGER statuses_tags_entity_delete AFTER DELETE ON statuses_tags
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id = OLD.status_id;
END;

CREATE TRIGGER media_entity_insert AFTER INSERT ON media_attachments
WHEN NEW.status_id IS NOT NULL
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id = NEW.status_id;
END;
CREATE TRIGGER media_entity_update AFTER UPDATE ON media_attachments
WHEN NEW.status_id IS NOT NULL OR OLD.status_id IS NOT NULL
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1
    WHERE id IN (NEW.status_id, OLD.status_id);
END;
CREATE TRIGGER media_entity_delete AFTER DELETE ON media_attachments
WHEN OLD.status_id IS NOT NULL
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id = OLD.status_id;
END;

CREATE TRIGGER card_links_entity_insert AFTER INSERT ON preview_cards_statuses
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id = NEW.status_id;
END;
CREATE TRIGGER card_links_entity_update AFTER UPDATE ON preview_cards_statuses
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1
    WHERE id IN (NEW.status_id, OLD.status_id);
END;
CREATE TRIGGER card_links_entity_delete AFTER DELETE ON preview_cards_statuses
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id = OLD.status_id;
END;
CREATE TRIGGER cards_entity_update AFTER UPDATE ON preview_cards
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id IN
        (SELECT status_id FROM preview_cards_statuses WHERE preview_card_id = NEW.id);
END;

CREATE TRIGGER polls_entity_insert AFTER INSERT ON polls
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id = NEW.status_id;
END;
CREATE TRIGGER polls_entity_update AFTER UPDATE ON polls
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id = NEW.status_id;
END;

CREATE TRIGGER quotes_entity_insert AFTER INSERT ON quotes
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id = NEW.status_id;
END;
CREATE TRIGGER quotes_entity_update AFTER UPDATE ON quotes
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id = NEW.status_id;
END;
CREATE TRIGGER quotes_entity_delete AFTER DELETE ON quotes
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id = OLD.status_id;
END;

CREATE TRIGGER custom_emojis_entity_insert AFTER INSERT ON custom_emojis
BEGIN
    UPDATE entity_epochs SET version = version + 1 WHERE name = 'custom_emojis';
END;
-- Only a change an entity shows: a remote emoji seen again on every note is refreshed
-- with the same image (its `updated_at` alone moves).
CREATE TRIGGER custom_emojis_entity_update AFTER UPDATE ON custom_emojis
WHEN OLD.shortcode IS NOT NEW.shortcode OR OLD.domain IS NOT NEW.domain
    OR OLD.image_key IS NOT NEW.image_key OR OLD.static_image_key IS NOT NEW.static_image_key
    OR OLD.image_remote_url IS NOT NEW.image_remote_url OR OLD.category IS NOT NEW.category
    OR OLD.visible_in_picker IS NOT NEW.visible_in_picker OR OLD.disabled IS NOT NEW.disabled
BEGIN
    UPDATE entity_epochs SET version = version + 1 WHERE name = 'custom_emojis';
END;
CREATE TRIGGER custom_emojis_entity_delete AFTER DELETE ON custom_emojis
BEGIN
    UPDATE entity_epochs SET version = version + 1 WHERE name = 'custom_emojis';
END;
