-- Entities rendered once (migration 0028), what it missed: a status shows the accounts it
-- mentions (username, acct, url) and its tags' display names, which live in other rows.
-- When one of those changes (a remote actor renamed on refresh, a local rename, a tag's
-- display name), every status showing it takes a new version, so no process serves a
-- kept entity with the old name. Only the columns a Mention or Tag shows fire it: an
-- account's counts move all the time and its mentions do not show them.
CREATE TRIGGER accounts_mentions_entity AFTER UPDATE ON accounts
WHEN OLD.username IS NOT NEW.username OR OLD.domain IS NOT NEW.domain
    OR OLD.url IS NOT NEW.url OR OLD.uri IS NOT NEW.uri
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1
    WHERE id IN (SELECT status_id FROM mentions WHERE account_id = NEW.id);
END;

CREATE TRIGGER tags_entity AFTER UPDATE ON tags
WHEN OLD.name IS NOT NEW.name OR OLD.display_name IS NOT NEW.display_name
BEGIN
    UPDATE statuses SET entity_version = entity_version + 1
    WHERE id IN (SELECT status_id FROM statuses_tags WHERE tag_id = NEW.id);
END;
