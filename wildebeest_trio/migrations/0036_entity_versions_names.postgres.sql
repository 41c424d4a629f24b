-- Entities rendered once (migration 0028), what it missed: a status shows the accounts it
-- mentions (username, acct, url) and its tags' display names, which live in other rows.
-- When one of those changes (a remote actor renamed on refresh, a local rename, a tag's
-- display name), every status showing it takes a new version, so no process serves a
-- kept entity with the old name. Only the columns a Mention or Tag shows fire it: an
-- account's counts move all the time and its mentions do not show them.
-- The statuses naming the updated row: those mentioning an account, or carrying a tag.
CREATE FUNCTION wb_entity_version_named() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'accounts' THEN
        UPDATE statuses SET entity_version = entity_version + 1
        WHERE id IN (SELECT status_id FROM mentions WHERE account_id = NEW.id);
    ELSE
        UPDATE statuses SET entity_version = entity_version + 1
        WHERE id IN (SELECT status_id FROM statuses_tags WHERE tag_id = NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER accounts_mentions_entity AFTER UPDATE ON accounts
FOR EACH ROW WHEN (OLD.username IS DISTINCT FROM NEW.username
    OR OLD.domain IS DISTINCT FROM NEW.domain OR OLD.url IS DISTINCT FROM NEW.url
    OR OLD.uri IS DISTINCT FROM NEW.uri)
EXECUTE FUNCTION wb_entity_version_named();
CREATE TRIGGER tags_entity AFTER UPDATE ON tags
FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name
    OR OLD.display_name IS DISTINCT FROM NEW.display_name)
EXECUTE FUNCTION wb_entity_version_named();
