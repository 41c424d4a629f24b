-- Entities rendered once: a process keeps the Status and Account entities it built, and
-- serves one again only while the versions it was built at are still the database's.
-- `entity_version` moves in the same transaction as every change to what an entity
-- shows (the row itself, its mentions, tags, media, card, poll and quote); the triggers
-- move it, so no write, in any process, can forget to. `entity_epochs`: versions of what
-- many entities share (custom emoji, matched by shortcode in their text).
ALTER TABLE statuses ADD COLUMN entity_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN entity_version BIGINT NOT NULL DEFAULT 0;

CREATE TABLE entity_epochs (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO entity_epochs (name, version) VALUES ('custom_emojis', 0);

-- The row's own change: one more version, unless the statement set it itself.
CREATE FUNCTION wb_entity_version_own() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.entity_version = OLD.entity_version THEN
        NEW.entity_version := OLD.entity_version + 1;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER statuses_entity_version BEFORE UPDATE ON statuses
FOR EACH ROW EXECUTE FUNCTION wb_entity_version_own();
CREATE TRIGGER accounts_entity_version BEFORE UPDATE ON accounts
FOR EACH ROW EXECUTE FUNCTION wb_entity_version_own();

-- A part of a status changed (a row with `status_id`): the status's version moves.
CREATE FUNCTION wb_entity_version_part() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' AND NEW.status_id IS NOT NULL THEN
        UPDATE statuses SET entity_version = entity_version + 1 WHERE id = NEW.status_id;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.status_id IS NOT NULL
        AND (TG_OP = 'DELETE' OR OLD.status_id IS DISTINCT FROM NEW.status_id) THEN
        UPDATE statuses SET entity_version = entity_version + 1 WHERE id = OLD.status_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER mentions_entity AFTER INSERT OR DELETE ON mentions
FOR EACH ROW EXECUTE FUNCTION wb_entity_version_part();
CREATE TRIGGER statuses_tags_entity AFTER INSERT OR DELETE ON statuses_tags
FOR EACH ROW EXECUTE FUNCTION wb_entity_version_part();
CREATE TRIGGER media_entity AFTER INSERT OR UPDATE OR DELETE ON media_attachments
FOR EACH ROW EXECUTE FUNCTION wb_entity_version_part();
CREATE TRIGGER card_links_entity AFTER INSERT OR UPDATE OR DELETE ON preview_cards_statuses
FOR EACH ROW EXECUTE FUNCTION wb_entity_version_part();
CREATE TRIGGER polls_entity AFTER INSERT OR UPDATE ON polls
FOR EACH ROW EXECUTE FUNCTION wb_entity_version_part();
CREATE TRIGGER quotes_entity AFTER INSERT OR UPDATE OR DELETE ON quotes
FOR EACH ROW EXECUTE FUNCTION wb_entity_version_part();

-- A card refetched: every status showing it.
CREATE FUNCTION wb_entity_version_card() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1 WHERE id IN
        (SELECT status_id FROM preview_cards_statuses WHERE preview_card_id = NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER cards_entity AFTER UPDATE ON preview_cards
FOR EACH ROW EXECUTE FUNCTION wb_entity_version_card();

CREATE FUNCTION wb_entity_epoch_emojis() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE entity_epochs SET version = version + 1 WHERE name = 'custom_emojis';
    RETURN NULL;
END
$$;
CREATE TRIGGER custom_emojis_entity AFTER INSERT OR DELETE ON custom_emojis
FOR EACH ROW EXECUTE FUNCTION wb_entity_epoch_emojis();
-- Only a change an entity shows: a remote emoji seen again on every note is refreshed
-- with the same image (its `updated_at` alone moves), and the epoch's row stays unlocked.
CREATE TRIGGER custom_emojis_entity_update AFTER UPDATE ON custom_emojis
FOR EACH ROW WHEN (OLD.shortcode IS DISTINCT FROM NEW.shortcode
    OR OLD.domain IS DISTINCT FROM NEW.domain OR OLD.image_key IS DISTINCT FROM NEW.image_key
    OR OLD.static_image_key IS DISTINCT FROM NEW.static_image_key
    OR OLD.image_remote_url IS DISTINCT FROM NEW.image_remote_url
    OR OLD.category IS DISTINCT FROM NEW.category
    OR OLD.visible_in_picker IS DISTINCT FROM NEW.visible_in_picker
    OR OLD.disabled IS DISTINCT FROM NEW.disabled)
EXECUTE FUNCTION wb_entity_epoch_emojis();
