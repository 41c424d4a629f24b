"""Statuses: rows, their mentions and tags, interactions, edits, and timeline queries.

Visibility is decided here in SQL (`visible_sql`) so that every list (timelines,
threads, account pages, favourites) applies the same rule as a single lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict, cast

from ..formatting import emoji_shortcodes
from ..ids import now_ms
from . import custom_emojis as emoji_rows
from . import daily_counters
from . import filters as filter_rows
from . import media as media_rows
from . import polls as poll_rows
from . import quotes as quote_rows
from . import tags as tag_rows
from .base import Connection, R, fetch_as, fetchrow_as, fetchval_as
from .entities import AccountEntry, EntityCache, StatusEntry, status_changed
from .filters import FilterMatch
from .paging import Page, fetch_page, placeholders
from .rows import (
    AccountPageRow,
    AccountRow,
    ApplicationNameRow,
    CustomEmojiRow,
    IdRow,
    ListRow,
    MediaAttachmentRow,
    MentionedAccountRow,
    PollRow,
    QuoteRow,
    StatusCardRow,
    StatusEditRow,
    StatusPageRow,
    StatusRow,
    StatusTagNameRow,
)

LIVE = "s.deleted_at IS NULL"


def visible_sql(alias: str, viewer_param: str | None) -> str:
    """The SQL condition under which the viewer (a `$n` parameter, or None for anonymous)
    may see a status: public and unlisted to everyone; private to the author, followers and
    mentioned accounts; direct to the author and mentioned accounts; nothing to an account
    the author blocks."""
    if viewer_param is None:
        return f"{alias}.visibility IN ('public', 'unlisted')"
    v = viewer_param
    return (
        f"(({alias}.visibility IN ('public', 'unlisted') OR {alias}.account_id = {v} "
        f"OR ({alias}.visibility = 'private' AND EXISTS (SELECT 1 FROM follows vf "
        f"WHERE vf.account_id = {v} AND vf.target_account_id = {alias}.account_id)) "
        f"OR EXISTS (SELECT 1 FROM mentions vm WHERE vm.status_id = {alias}.id "
        f"AND vm.account_id = {v})) "
        f"AND NOT EXISTS (SELECT 1 FROM blocks vb WHERE vb.account_id = {alias}.account_id "
        f"AND vb.target_account_id = {v}))"
    )


def hidden_accounts_sql(viewer_param: str, now_param: str) -> str:
    """A subquery of the accounts whose statuses stay out of the viewer's timelines: those
    the viewer blocks or mutes (until the mute expires), those blocking the viewer, and
    those on a domain the viewer blocks."""
    v, now = viewer_param, now_param
    return (
        f"SELECT hb.target_account_id FROM blocks hb WHERE hb.account_id = {v} "
        f"UNION ALL SELECT hb2.account_id FROM blocks hb2 WHERE hb2.target_account_id = {v} "
        f"UNION ALL SELECT hm.target_account_id FROM mutes hm WHERE hm.account_id = {v} "
        f"AND (hm.expires_at IS NULL OR hm.expires_at > {now}) "
        # Accounts on a domain the viewer blocks (user-level domain blocks).
        f"UNION ALL SELECT hda.id FROM account_domain_blocks hdb JOIN accounts hda "
        f"ON hda.domain = hdb.domain WHERE hdb.account_id = {v}"
    )


def unhidden_sql(alias: str, viewer_param: str, now_param: str) -> str:
    """The condition that neither a status's author nor the author of what it boosts is
    hidden from the viewer."""
    hidden = hidden_accounts_sql(viewer_param, now_param)
    return (
        f"{alias}.account_id NOT IN ({hidden}) AND ({alias}.reblog_of_id IS NULL OR NOT EXISTS "
        f"(SELECT 1 FROM statuses hr WHERE hr.id = {alias}.reblog_of_id "
        f"AND hr.account_id IN ({hidden})))"
    )


async def hidden_account_ids(conn: Connection, viewer_id: int, now: int) -> set[int]:
    """The ids `hidden_accounts_sql` names, for filtering in Python (threads)."""
    rows = await fetch_as(
        conn,
        IdRow,
        f"SELECT target_account_id AS id FROM ({hidden_accounts_sql('$1', '$2')}) h",
        viewer_id,
        now,
    )
    return {r["id"] for r in rows}


# Rows -----------------------------------------------------------------------------------------

_STATUS_COLUMNS = (
    "id",
    "uri",
    "url",
    "account_id",
    "local",
    "in_reply_to_id",
    "in_reply_to_account_id",
    "reblog_of_id",
    "text",
    "content",
    "spoiler_text",
    "sensitive",
    "visibility",
    "language",
    "application_id",
    "conversation_id",
    "created_at",
    "updated_at",
    "quote_approval_policy",
)


# Columns a row may leave out (a boost is never quoted by others).
_STATUS_DEFAULTS: dict[str, Any] = {"quote_approval_policy": 0}


async def insert_status(conn: Connection, row: Mapping[str, Any]) -> None:
    """Insert a status row (`row` holds the columns above, the defaulted ones optional)."""
    values = {**_STATUS_DEFAULTS, **row}
    await conn.execute(
        f"INSERT INTO statuses ({', '.join(_STATUS_COLUMNS)}) "
        f"VALUES ({placeholders(1, len(_STATUS_COLUMNS))})",
        *(values[c] for c in _STATUS_COLUMNS),
    )
    if values.get("reblog_of_id") is not None or values.get("in_reply_to_id") is not None:
        # Replies and boosts are interactions on the dashboard (with favourites).
        await daily_counters.bump(conn, "interactions", values["created_at"])


async def status_by_id(conn: Connection, status_id: int) -> StatusRow | None:
    """A live (not deleted) status, visible or not."""
    return await fetchrow_as(
        conn, StatusRow, f"SELECT s.* FROM statuses s WHERE s.id = $1 AND {LIVE}", status_id
    )


async def visible_status(
    conn: Connection, status_id: int, viewer_id: int | None
) -> StatusRow | None:
    """A live status if the viewer may see it."""
    if viewer_id is None:
        return await fetchrow_as(
            conn,
            StatusRow,
            f"SELECT s.* FROM statuses s WHERE s.id = $1 AND {LIVE} AND {visible_sql('s', None)}",
            status_id,
        )
    return await fetchrow_as(
        conn,
        StatusRow,
        f"SELECT s.* FROM statuses s WHERE s.id = $1 AND {LIVE} AND {visible_sql('s', '$2')}",
        status_id,
        viewer_id,
    )


async def visible_statuses(
    conn: Connection, status_ids: list[int], viewer_id: int | None
) -> list[StatusRow]:
    """The live statuses among `status_ids` the viewer may see (any order)."""
    return await _visible_among(conn, StatusRow, "s.*", status_ids, viewer_id)


async def visible_status_keys(
    conn: Connection, status_ids: list[int], viewer_id: int | None
) -> list[StatusKeyRow]:
    """`visible_statuses` read with `KEYS_SQL`: what `hydrate` finds kept rows by."""
    return await _visible_among(conn, StatusKeyRow, KEYS_SQL, status_ids, viewer_id)


async def _visible_among(
    conn: Connection, row: type[R], columns: str, status_ids: list[int], viewer_id: int | None
) -> list[R]:
    if not status_ids:
        return []
    args: list[Any] = list(status_ids)
    viewer = None
    if viewer_id is not None:
        args.append(viewer_id)
        viewer = f"${len(args)}"
    return await fetch_as(
        conn,
        row,
        f"SELECT {columns} FROM statuses s WHERE s.id IN ({placeholders(1, len(status_ids))}) "
        f"AND {LIVE} AND {visible_sql('s', viewer)}",
        *args,
    )


async def live_reblog(conn: Connection, account_id: int, status_id: int) -> StatusRow | None:
    """The account's live boost of a status, if any."""
    return await fetchrow_as(
        conn,
        StatusRow,
        f"SELECT s.* FROM statuses s WHERE s.reblog_of_id = $1 AND s.account_id = $2 AND {LIVE}",
        status_id,
        account_id,
    )


async def live_reblogs_of(conn: Connection, status_id: int) -> list[StatusRow]:
    """Every live boost of a status."""
    return await fetch_as(
        conn,
        StatusRow,
        f"SELECT s.* FROM statuses s WHERE s.reblog_of_id = $1 AND {LIVE}",
        status_id,
    )


async def mark_deleted(conn: Connection, status_id: int, now: int) -> None:
    """Soft-delete a status (the row stays for federation's Delete and for replies)."""
    await conn.execute(
        "UPDATE statuses SET deleted_at = $1, updated_at = $1 WHERE id = $2", now, status_id
    )
    status_changed(conn, status_id)


async def mark_all_deleted(conn: Connection, account_id: int, now: int) -> None:
    """Soft-delete every live status of an account (its deletion)."""
    await conn.execute(
        "UPDATE statuses SET deleted_at = $1, updated_at = $1 "
        "WHERE account_id = $2 AND deleted_at IS NULL",
        now,
        account_id,
    )


async def set_poll(conn: Connection, status_id: int, poll_id: int | None) -> None:
    """Name the poll a status carries (None: it has none any more)."""
    await conn.execute("UPDATE statuses SET poll_id = $1 WHERE id = $2", poll_id, status_id)
    status_changed(conn, status_id)


async def link_reply(conn: Connection, reply: StatusRow, parent: StatusRow) -> bool:
    """Thread a stored reply under a parent that arrived after it; whether it was not
    threaded yet."""
    threaded = await conn.execute(
        "UPDATE statuses SET in_reply_to_id = $1, in_reply_to_account_id = $2, "
        "conversation_id = $3 WHERE id = $4 AND in_reply_to_id IS NULL",
        parent["id"],
        parent["account_id"],
        parent["conversation_id"] or parent["id"],
        reply["id"],
    )
    status_changed(conn, reply["id"])
    return threaded > 0


async def update_content(
    conn: Connection,
    status_id: int,
    *,
    text: str,
    content: str,
    spoiler_text: str,
    sensitive: bool,
    language: str | None,
    now: int,
) -> None:
    """Replace a status's text after an edit."""
    await conn.execute(
        "UPDATE statuses SET text = $1, content = $2, spoiler_text = $3, sensitive = $4, "
        "language = $5, edited_at = $6, updated_at = $6 WHERE id = $7",
        text,
        content,
        spoiler_text,
        sensitive,
        language,
        now,
        status_id,
    )
    status_changed(conn, status_id)


_COUNTERS = frozenset({"replies_count", "reblogs_count", "favourites_count"})


async def add_to_count(conn: Connection, status_id: int, counter: str, delta: int) -> None:
    """Change one of a status's counters (never below zero)."""
    if counter not in _COUNTERS:
        raise ValueError(f"not a status counter: {counter}")
    await conn.execute(
        f"UPDATE statuses SET {counter} = CASE WHEN {counter} + $1 < 0 THEN 0 "
        f"ELSE {counter} + $1 END WHERE id = $2",
        delta,
        status_id,
    )
    status_changed(conn, status_id)


# Mentions and tags ------------------------------------------------------------------------------


async def replace_mentions(
    conn: Connection, status_id: int, rows: list[tuple[int, int]], now: int
) -> None:
    """Set the accounts a status mentions: `(mention_id, account_id)` pairs."""
    await conn.execute("DELETE FROM mentions WHERE status_id = $1", status_id)
    await conn.executemany(
        "INSERT INTO mentions (id, status_id, account_id, created_at) VALUES ($1, $2, $3, $4)",
        [(mention_id, status_id, account_id, now) for mention_id, account_id in rows],
    )


async def replace_tags(
    conn: Connection, status_id: int, names: list[tuple[int, str]], now: int
) -> None:
    """Set a status's hashtags: `(new_tag_id, display_name)` pairs; tags are made on first use."""
    await conn.execute("DELETE FROM statuses_tags WHERE status_id = $1", status_id)
    for new_id, display in names:
        tag_id = (await tag_rows.ensure_tag(conn, new_id, display, now, used=True))["id"]
        await conn.execute(
            "INSERT INTO statuses_tags (status_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            status_id,
            tag_id,
        )


# Interactions -----------------------------------------------------------------------------------


async def insert_favourite(
    conn: Connection,
    favourite_id: int,
    account_id: int,
    status_id: int,
    now: int,
    uri: str | None = None,
) -> bool:
    """Favourite a status (`uri`: a remote account's Like); False if it already was."""
    changed = await conn.execute(
        "INSERT INTO favourites (id, account_id, status_id, uri, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, status_id) DO NOTHING",
        favourite_id,
        account_id,
        status_id,
        uri,
        now,
    )
    if changed == 1:
        await daily_counters.bump(conn, "interactions", now)
    return changed == 1


async def delete_favourite(conn: Connection, account_id: int, status_id: int) -> bool:
    """Unfavourite; False if it was not favourited."""
    return await _unmark(conn, "favourites", account_id, status_id)


#: The tables that mark a status for one account (one row per account and status).
MarkTable = Literal["favourites", "bookmarks", "status_pins"]


async def _mark(
    conn: Connection, table: MarkTable, mark_id: int, account_id: int, status_id: int, now: int
) -> bool:
    changed = await conn.execute(
        f"INSERT INTO {table} (id, account_id, status_id, created_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (account_id, status_id) DO NOTHING",
        mark_id,
        account_id,
        status_id,
        now,
    )
    return changed == 1


async def _unmark(conn: Connection, table: MarkTable, account_id: int, status_id: int) -> bool:
    changed = await conn.execute(
        f"DELETE FROM {table} WHERE account_id = $1 AND status_id = $2", account_id, status_id
    )
    return changed > 0


async def insert_bookmark(
    conn: Connection, bookmark_id: int, account_id: int, status_id: int, now: int
) -> bool:
    """Bookmark a status; False if it already was."""
    return await _mark(conn, "bookmarks", bookmark_id, account_id, status_id, now)


async def delete_bookmark(conn: Connection, account_id: int, status_id: int) -> bool:
    """Remove a bookmark; False if there was none."""
    return await _unmark(conn, "bookmarks", account_id, status_id)


async def insert_pin(
    conn: Connection, pin_id: int, account_id: int, status_id: int, now: int
) -> bool:
    """Pin a status on its author's profile; False if it already was."""
    return await _mark(conn, "status_pins", pin_id, account_id, status_id, now)


async def pinned_of(conn: Connection, account_id: int) -> list[int]:
    """The ids of the statuses an account pinned."""
    rows = await conn.fetch("SELECT status_id FROM status_pins WHERE account_id = $1", account_id)
    return [int(r["status_id"]) for r in rows]


async def delete_pin(conn: Connection, account_id: int, status_id: int) -> bool:
    """Unpin a status; False if it was not pinned."""
    return await _unmark(conn, "status_pins", account_id, status_id)


async def mute_conversation(
    conn: Connection, mute_id: int, account_id: int, conversation_id: int, now: int
) -> None:
    """Mute a conversation for an account (again is harmless)."""
    await conn.execute(
        "INSERT INTO conversation_mutes (id, account_id, conversation_id, created_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, conversation_id) DO NOTHING",
        mute_id,
        account_id,
        conversation_id,
        now,
    )


async def unmute_conversation(conn: Connection, account_id: int, conversation_id: int) -> None:
    """Unmute a conversation."""
    await conn.execute(
        "DELETE FROM conversation_mutes WHERE account_id = $1 AND conversation_id = $2",
        account_id,
        conversation_id,
    )


async def pin_count(conn: Connection, account_id: int) -> int:
    """How many live statuses an account has pinned."""
    return int(
        await conn.fetchval(
            "SELECT COUNT(*) FROM status_pins p JOIN statuses s ON s.id = p.status_id "
            f"WHERE p.account_id = $1 AND {LIVE}",
            account_id,
        )
    )


# Idempotency and edits ----------------------------------------------------------------------------


async def idempotent_status_id(
    conn: Connection, account_id: int, key: str, not_before: int
) -> int | None:
    """The status an Idempotency-Key created since `not_before`, if any."""
    return await fetchval_as(
        conn,
        int,
        "SELECT status_id FROM idempotency_keys WHERE account_id = $1 AND key = $2 "
        "AND created_at >= $3",
        account_id,
        key,
        not_before,
    )


async def remember_idempotency_key(
    conn: Connection, account_id: int, key: str, status_id: int, now: int, not_before: int
) -> bool:
    """Record which status a key created; False if another transaction holds the key
    (a live use since `not_before`), in which case the caller must roll back. An expired
    use of the key is replaced."""
    changed = await conn.execute(
        "INSERT INTO idempotency_keys (account_id, key, status_id, created_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, key) DO UPDATE SET "
        "status_id = excluded.status_id, created_at = excluded.created_at "
        "WHERE idempotency_keys.created_at < $5",
        account_id,
        key,
        status_id,
        now,
        not_before,
    )
    return changed == 1


async def forget_idempotency_keys(conn: Connection, before: int) -> int:
    """Drop keys older than `before` (the scheduler's cleanup)."""
    return await conn.execute("DELETE FROM idempotency_keys WHERE created_at < $1", before)


async def insert_edit(conn: Connection, edit: Mapping[str, Any]) -> None:
    """Record one version of a status (`edit` holds the status_edits columns)."""
    await conn.execute(
        "INSERT INTO status_edits (id, status_id, account_id, text, content, spoiler_text, "
        "sensitive, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        edit["id"],
        edit["status_id"],
        edit["account_id"],
        edit["text"],
        edit["content"],
        edit["spoiler_text"],
        edit["sensitive"],
        edit["created_at"],
    )


async def edits_of(conn: Connection, status_id: int) -> list[StatusEditRow]:
    """A status's versions, oldest first."""
    return await fetch_as(
        conn,
        StatusEditRow,
        "SELECT * FROM status_edits WHERE status_id = $1 ORDER BY id",
        status_id,
    )


# Hydration: everything the Status entity needs, for a batch, in one unit ------------------------


@dataclass
class StatusBundle:
    """Statuses in display order plus what their entities refer to, seen by one viewer."""

    order: list[int]
    statuses: dict[int, StatusRow] = field(default_factory=dict)
    accounts: dict[int, AccountRow] = field(default_factory=dict)
    mentions: dict[int, list[MentionedAccountRow]] = field(default_factory=dict)
    tags: dict[int, list[StatusTagNameRow]] = field(default_factory=dict)
    media: dict[int, list[MediaAttachmentRow]] = field(default_factory=dict)
    applications: dict[int, ApplicationNameRow] = field(default_factory=dict)
    favourited: set[int] = field(default_factory=set)
    reblogged: set[int] = field(default_factory=set)
    bookmarked: set[int] = field(default_factory=set)
    pinned: set[int] = field(default_factory=set)
    muted_conversations: set[int] = field(default_factory=set)
    emojis: dict[int, list[CustomEmojiRow]] = field(default_factory=dict)  # per status
    viewer_id: int | None = None
    cursors: dict[int, int] = field(default_factory=dict)  # pagination id per status
    polls: dict[int, PollRow] = field(default_factory=dict)  # by poll id (statuses.poll_id)
    own_votes: dict[int, list[int]] = field(default_factory=dict)  # the viewer's, by poll id
    filtered: dict[int, list[FilterMatch]] = field(default_factory=dict)  # viewer's filters
    cards: dict[int, StatusCardRow] = field(default_factory=dict)  # preview card per status
    quotes: dict[int, QuoteRow] = field(default_factory=dict)  # the quote each status makes
    # Quoted statuses that exist but the viewer may not see.
    quoted_hidden: set[int] = field(default_factory=set)
    # Statuses quoted by quoted statuses (named only, so not hydrated).
    shallow_quoted: dict[int, StatusRow] = field(default_factory=dict)
    # Why the viewer would rather not see a quoted author: blocked_account, blocked_domain
    # or muted_account (the Quote entity's state), by account id.
    quote_filters: dict[int, str] = field(default_factory=dict)
    # Of the bundle's authors, those the viewer follows and those following the viewer.
    following: set[int] = field(default_factory=set)
    followed_by: set[int] = field(default_factory=set)
    # The kept or newly kept parts of statuses (the entity cache's), by status id.
    entries: dict[int, StatusEntry] = field(default_factory=dict)
    account_entries: dict[int, AccountEntry] = field(default_factory=dict)


async def _by_ids(conn: Connection, row: type[R], sql: str, ids: list[int], *extra: Any) -> list[R]:
    if not ids:
        return []
    n = len(extra)
    return await fetch_as(conn, row, sql.format(ids=placeholders(n + 1, len(ids))), *extra, *ids)


class _VersionRow(TypedDict):
    id: int
    status_version: int
    account_id: int
    account_version: int
    emoji_epoch: int


# What a page's SELECT of `statuses s` may add for `hydrate`, which then reads no versions
# of its own for those rows (it takes the columns off the rows). Subqueries in the select
# list run for the page's rows only, after its LIMIT: the page's plan does not change.
VERSIONS_SQL = (
    "(SELECT a.entity_version FROM accounts a WHERE a.id = s.account_id) "
    "AS wb_account_version, (SELECT e.version FROM entity_epochs e "
    "WHERE e.name = 'custom_emojis') AS wb_emoji_epoch"
)


# What a timeline's page reads of each status: its key and the versions `hydrate` checks
# kept entities by. A warm page finds (nearly) all its statuses kept, so reading their
# whole rows (the content above all) only to find them current was a third of its store
# time; `hydrate` takes a kept status's row from the cache, and reads whole rows only for
# those it lacks, in one statement.
KEYS_SQL = f"s.id, s.entity_version, s.account_id, s.reblog_of_id, {VERSIONS_SQL}"


class StatusKeyRow(TypedDict):
    """A status as a page reads it with `KEYS_SQL`: what finds its kept entity."""

    id: int
    entity_version: int
    account_id: int
    reblog_of_id: int | None
    wb_account_version: int
    wb_emoji_epoch: int


# A page's rows, as `hydrate` takes them: whole, or only their keys (`KEYS_SQL`).
PageRow = StatusRow | StatusKeyRow


def _key_only(row: Mapping[str, Any]) -> bool:
    """Whether a page's row was read with `KEYS_SQL` (a whole row has its `uri`)."""
    return "uri" not in row


def _carried_versions(rows: Sequence[PageRow]) -> list[_VersionRow]:
    """The versions rows read with `VERSIONS_SQL` carry, taken off them."""
    carried: list[_VersionRow] = []
    for r in rows:
        extra: Any = r
        if "wb_account_version" in extra:
            carried.append(
                {
                    "id": r["id"],
                    "status_version": r["entity_version"],
                    "account_id": r["account_id"],
                    "account_version": extra.pop("wb_account_version"),
                    "emoji_epoch": extra.pop("wb_emoji_epoch"),
                }
            )
    return carried


async def hydrate(
    conn: Connection,
    rows: Sequence[PageRow],
    viewer_id: int | None,
    cache: EntityCache | None = None,
) -> StatusBundle:
    """Load the accounts, boosted statuses, mentions, tags and viewer flags of `rows`
    (a row with a `page_id`, from a list paged by another table, keeps it as its cursor;
    a row read with `KEYS_SQL` is replaced by its kept row, or read whole here).

    With a `cache` (read units only: what a write unit reads may yet roll back), the
    parts of statuses and authors that no viewer changes come from it while the
    database's versions say they are current (one query reads those): a page whose
    statuses are all kept is hydrated in that query and one of the viewer's bits."""
    carried = _carried_versions(rows)
    bundle = StatusBundle(order=[r["id"] for r in rows], viewer_id=viewer_id)
    for r in rows:
        # A key-only row stands in until it is replaced below, before anything reads it.
        bundle.statuses[r["id"]] = cast("StatusRow", r)
        page_id = r.get("page_id")  # a StatusPageRow's
        if isinstance(page_id, int):
            bundle.cursors[r["id"]] = page_id
    inner_ids = [r["reblog_of_id"] for r in rows if r["reblog_of_id"] is not None]
    missing = [i for i in dict.fromkeys(inner_ids) if i not in bundle.statuses]
    epoch = -1
    kept: set[int] = set()
    if cache is not None and bundle.statuses:
        known = {v["id"] for v in carried}
        asked = [i for i in [*bundle.statuses, *missing] if i not in known]
        versions = carried + await _by_ids(
            conn,
            _VersionRow,
            "SELECT s.id, s.entity_version AS status_version, s.account_id, "
            "a.entity_version AS account_version, (SELECT e.version FROM entity_epochs e "
            "WHERE e.name = 'custom_emojis') AS emoji_epoch FROM statuses s "
            "JOIN accounts a ON a.id = s.account_id WHERE s.id IN ({ids})",
            asked,
        )
        if versions:
            epoch = versions[-1]["emoji_epoch"]
        found = cache.statuses.get_many(((v["id"], v["status_version"]) for v in versions), epoch)
        for entry in found:
            if entry is not None:
                _fill(bundle, entry)
                kept.add(entry.row["id"])
        # Each author once (a page shows a few authors many times).
        author_versions = {v["account_id"]: v["account_version"] for v in versions}
        for author in cache.accounts.get_many(author_versions.items(), epoch):
            if author is not None:
                bundle.accounts[author.row["id"]] = author.row
                bundle.account_entries[author.row["id"]] = author
        missing = [i for i in missing if i not in kept]
    keys_only = [i for i in bundle.order if _key_only(bundle.statuses[i])]
    for r in await _by_ids(
        conn, StatusRow, "SELECT * FROM statuses WHERE id IN ({ids})", keys_only + missing
    ):
        bundle.statuses[r["id"]] = r
    if keys_only:
        # Gone since the page's statement (PostgreSQL reads each statement afresh).
        gone = {i for i in keys_only if _key_only(bundle.statuses[i])}
        if gone:
            bundle.order = [i for i in bundle.order if i not in gone]
            for i in gone:
                del bundle.statuses[i]
    if len(kept) < len(bundle.statuses) or any(i in bundle.quotes for i in kept):
        await _quotes(conn, bundle, viewer_id)
    loaded = [i for i in bundle.statuses if i not in kept]
    authors = await _load(conn, bundle, loaded)
    await _viewer_bits(conn, bundle, viewer_id)
    if cache is not None and epoch >= 0:
        for i in loaded:
            # A row read without its version (a narrower SELECT) is not kept.
            if (i in bundle.order or i in inner_ids) and "entity_version" in bundle.statuses[i]:
                cache.statuses.put(i, _status_entry(bundle, i, epoch))
        for account in authors:
            texts = emoji_rows.account_texts(account)
            entry_key = (account["entity_version"], _epoch_if_used(texts, epoch))
            author_entry = AccountEntry(key=entry_key, row=account)
            bundle.account_entries[account["id"]] = author_entry
            cache.accounts.put(account["id"], author_entry)
    return bundle


def _epoch_if_used(texts: Iterable[str | None], epoch: int) -> int:
    """The emoji epoch where the texts name a shortcode (an emoji added or changed could
    show there), else -1 (none could)."""
    return epoch if any(emoji_shortcodes(t) for t in texts) else -1


def _fill(bundle: StatusBundle, entry: StatusEntry) -> None:
    """Put a kept status's parts in the bundle (its row only if the page did not read it)."""
    i = entry.row["id"]
    found = bundle.statuses.get(i)
    if found is None or _key_only(found):
        bundle.statuses[i] = entry.row
    bundle.entries[i] = entry
    if entry.mentions:
        bundle.mentions[i] = entry.mentions
    if entry.tags:
        bundle.tags[i] = entry.tags
    if entry.media:
        bundle.media[i] = entry.media
    if entry.emojis:
        bundle.emojis[i] = entry.emojis
    if entry.card is not None:
        bundle.cards[i] = entry.card
    if entry.poll is not None:
        bundle.polls[entry.poll["id"]] = entry.poll
    if entry.quote is not None:
        bundle.quotes[i] = entry.quote
    if entry.application is not None:
        bundle.applications[entry.application["id"]] = entry.application


def _status_entry(bundle: StatusBundle, status_id: int, epoch: int) -> StatusEntry:
    """What the bundle loaded of one status, keyed by the version it was loaded at."""
    row = bundle.statuses[status_id]
    app_id = row["application_id"]
    entry = StatusEntry(
        key=(row["entity_version"], _epoch_if_used((row["content"], row["spoiler_text"]), epoch)),
        row=row,
        mentions=bundle.mentions.get(status_id, []),
        tags=bundle.tags.get(status_id, []),
        media=bundle.media.get(status_id, []),
        emojis=bundle.emojis.get(status_id, []),
        card=bundle.cards.get(status_id),
        poll=bundle.polls.get(row["poll_id"] or 0),
        quote=bundle.quotes.get(status_id),
        application=bundle.applications.get(app_id) if app_id else None,
    )
    bundle.entries[status_id] = entry
    return entry


async def _load(conn: Connection, bundle: StatusBundle, status_ids: list[int]) -> list[AccountRow]:
    """The viewer-independent parts of these statuses of the bundle, and the authors of
    the bundle's statuses it lacks (returned)."""
    statuses = {i: bundle.statuses[i] for i in status_ids}
    wanted = {r["account_id"] for r in bundle.statuses.values()}
    # A card's author is read with the page's authors, never kept with the status: its
    # Account entity (counts, names) moves without the status's version.
    wanted.update(c["author_account_id"] for c in bundle.cards.values() if c["author_account_id"])
    wanted -= set(bundle.account_entries)
    authors = await _by_ids(
        conn, AccountRow, "SELECT * FROM accounts WHERE id IN ({ids})", list(wanted)
    )
    bundle.accounts.update((a["id"], a) for a in authors)
    if not statuses and not authors:
        return authors
    # The emoji lookup sets `emojis` on every account it is given: kept ones go as copies
    # (needed only for their domain), so what other requests share is never written.
    accounts = {i: a if i in wanted else a.copy() for i, a in bundle.accounts.items()}
    bundle.emojis.update(await emoji_rows.for_statuses(conn, statuses, accounts))
    for m in await _by_ids(
        conn,
        MentionedAccountRow,
        "SELECT m.status_id, a.id, a.username, a.domain, a.url, a.uri FROM mentions m "
        "JOIN accounts a ON a.id = m.account_id WHERE m.status_id IN ({ids}) ORDER BY m.id",
        status_ids,
    ):
        bundle.mentions.setdefault(m["status_id"], []).append(m)
    for t in await _by_ids(
        conn,
        StatusTagNameRow,
        "SELECT st.status_id, t.name, t.display_name FROM statuses_tags st "
        "JOIN tags t ON t.id = st.tag_id WHERE st.status_id IN ({ids}) ORDER BY t.name",
        status_ids,
    ):
        bundle.tags.setdefault(t["status_id"], []).append(t)
    for media in await media_rows.of_statuses(conn, status_ids):
        if media["status_id"] is not None:
            bundle.media.setdefault(media["status_id"], []).append(media)
    await _cards(conn, bundle, status_ids)
    app_ids = list({r["application_id"] for r in statuses.values() if r["application_id"]})
    for app in await _by_ids(
        conn,
        ApplicationNameRow,
        "SELECT id, name, website FROM oauth_applications WHERE id IN ({ids})",
        app_ids,
    ):
        bundle.applications[app["id"]] = app
    poll_ids = list({r["poll_id"] for r in statuses.values() if r["poll_id"]})
    if poll_ids:
        bundle.polls.update((p["id"], p) for p in await poll_rows.polls_by_ids(conn, poll_ids))
    return authors


class _ViewerRow(TypedDict):
    kind: str  # favourited, bookmarked, pinned, reblogged, muted, vote, following,
    # followed_by or filters
    id: int
    extra: int  # a vote's choice, the number of filters
    ord: int  # a vote's id: a poll's choices in the order they were made


async def _viewer_bits(conn: Connection, bundle: StatusBundle, viewer_id: int | None) -> None:
    """What the viewer did to the bundle's statuses and their authors, in one round trip:
    favourites, bookmarks, pins and boosts; conversation mutes; poll votes; follows both
    ways; and whether the viewer has filters (matched here when there are)."""
    if viewer_id is None or not bundle.statuses:
        return
    status_ids = list(bundle.statuses)
    conversations = list(
        {r["conversation_id"] for r in bundle.statuses.values() if r["conversation_id"]}
    )
    poll_ids = list({r["poll_id"] for r in bundle.statuses.values() if r["poll_id"]})
    account_ids = list({r["account_id"] for r in bundle.statuses.values()})
    now = now_ms()
    args: list[Any] = [viewer_id, now]

    def marks(ids: list[int]) -> str:
        args.extend(ids)
        return placeholders(len(args) - len(ids) + 1, len(ids))

    parts = [
        "SELECT 'filters' AS kind, 0 AS id, COUNT(*) AS extra, 0 AS ord FROM custom_filters "
        "WHERE account_id = $1 AND (expires_at IS NULL OR expires_at > $2)"
    ]
    ids = marks(status_ids)
    parts += [
        f"SELECT 'favourited', status_id, 0, 0 FROM favourites WHERE account_id = $1 "
        f"AND status_id IN ({ids})",
        f"SELECT 'bookmarked', status_id, 0, 0 FROM bookmarks WHERE account_id = $1 "
        f"AND status_id IN ({ids})",
        f"SELECT 'reblogged', reblog_of_id, 0, 0 FROM statuses WHERE account_id = $1 "
        f"AND deleted_at IS NULL AND reblog_of_id IN ({ids})",
    ]
    # Only the viewer's own statuses show `pinned` (a page of others' asks nothing).
    own = [i for i, r in bundle.statuses.items() if r["account_id"] == viewer_id]
    if own:
        parts.append(
            "SELECT 'pinned', status_id, 0, 0 FROM status_pins WHERE account_id = $1 "
            f"AND status_id IN ({marks(own)})"
        )
    if conversations:
        parts.append(
            "SELECT 'muted', conversation_id, 0, 0 FROM conversation_mutes WHERE account_id = $1 "
            f"AND conversation_id IN ({marks(conversations)})"
        )
    if poll_ids:
        # The vote's id orders a poll's choices as they were made.
        parts.append(
            "SELECT 'vote', poll_id, choice, id FROM poll_votes WHERE account_id = $1 "
            f"AND poll_id IN ({marks(poll_ids)})"
        )
    accounts = marks(account_ids)
    parts += [
        "SELECT 'following', target_account_id, 0, 0 FROM follows WHERE account_id = $1 "
        f"AND target_account_id IN ({accounts})",
        "SELECT 'followed_by', account_id, 0, 0 FROM follows WHERE target_account_id = $1 "
        f"AND account_id IN ({accounts})",
    ]
    filters = 0
    rows = await fetch_as(conn, _ViewerRow, " UNION ALL ".join(parts), *args)
    for row in sorted(rows, key=lambda r: r["ord"]):
        kind = row["kind"]
        if kind == "filters":
            filters = row["extra"]
        elif kind == "muted":
            bundle.muted_conversations.add(row["id"])
        elif kind == "vote":
            bundle.own_votes.setdefault(row["id"], []).append(int(row["extra"]))
        else:  # a set of the bundle's named by the kind
            getattr(bundle, kind).add(row["id"])
    if filters:
        active = await filter_rows.active_set(conn, viewer_id, now)
        if active is not None:
            bundle.filtered = active.match_statuses(
                bundle.statuses, bundle.media, bundle.polls, viewer_id
            )


async def _cards(conn: Connection, bundle: StatusBundle, status_ids: list[int]) -> None:
    """The preview card each status shows, and the accounts named as their authors."""
    for card in await _by_ids(
        conn,
        StatusCardRow,
        "SELECT pcs.status_id, pc.* FROM preview_cards_statuses pcs "
        "JOIN preview_cards pc ON pc.id = pcs.preview_card_id WHERE pcs.status_id IN ({ids})",
        status_ids,
    ):
        bundle.cards[card["status_id"]] = card
    authors = {c["author_account_id"] for c in bundle.cards.values() if c["author_account_id"]}
    missing = [i for i in authors if i not in bundle.accounts]
    for account in await _by_ids(
        conn, AccountRow, "SELECT * FROM accounts WHERE id IN ({ids})", missing
    ):
        bundle.accounts[account["id"]] = account


async def _quotes(conn: Connection, bundle: StatusBundle, viewer_id: int | None) -> None:
    """The quotes the bundle's statuses make, and what showing them needs: the quoted
    statuses the viewer may see (added to the bundle), the quotes those make in turn and
    the posts these name (only named, so not hydrated: `shallow_quoted`), which quoted
    posts exist but are hidden from the viewer, and why the viewer would rather not see an
    author."""
    quotes = await quote_rows.of_statuses(conn, list(bundle.statuses))
    seen: dict[int, StatusRow] = {}
    for depth in (1, 2):
        for quote in quotes:
            bundle.quotes[quote["status_id"]] = quote
        wanted = {q["quoted_status_id"] for q in quotes if q["quoted_status_id"] is not None}
        wanted -= set(bundle.statuses) | set(seen)
        if not wanted:
            break
        ids = list(wanted)
        visible = {r["id"]: r for r in await visible_statuses(conn, ids, viewer_id)}
        for row in await quote_rows.statuses_by_ids(conn, ids):
            if row["id"] in visible:
                seen[row["id"]] = row
                if depth == 1:
                    bundle.statuses[row["id"]] = row
                else:
                    bundle.shallow_quoted[row["id"]] = row
            elif row["deleted_at"] is None:
                bundle.quoted_hidden.add(row["id"])
        quotes = await quote_rows.of_statuses(conn, list(visible)) if depth == 1 else []
    if viewer_id is not None and seen:
        authors = list({r["account_id"] for r in seen.values()})
        bundle.quote_filters = await quote_rows.viewer_filters(conn, viewer_id, authors, now_ms())


# Lists ------------------------------------------------------------------------------------------


# `only_media`: statuses with an attachment of their own (a boost has none).
WITH_MEDIA = "EXISTS (SELECT 1 FROM media_attachments ma WHERE ma.status_id = s.id)"


def home_sql(viewer: str, now: str) -> str:
    """The condition under which status `s` belongs in a home timeline (`viewer` and `now`
    are `$n` parameters or column expressions): the viewer's own statuses and boosts, those
    of followed accounts (boosts only where the follow shows them; replies only to people
    the viewer follows, to the viewer, or to the author's own thread; direct ones only if
    mentioned; none from members of the viewer's exclusive lists), and public statuses
    with a hashtag the viewer follows; never from hidden (blocked, muted) accounts. Home
    feeds are filled, pruned and rebuilt by this very condition."""
    v = viewer
    # The unary `+` keeps SQLite from collecting every status of every followed account
    # through statuses_account and sorting them when walking the primary key backwards
    # finds a page at once (70 ms against 0.5 ms at 100,000 statuses, 300 of 1,000
    # accounts followed); the uncorrelated IN subqueries are hashed or listed once.
    return (
        f"(+s.account_id = {v} OR ("
        f"+s.account_id IN (SELECT f.target_account_id FROM follows f WHERE f.account_id = {v}) "
        # Members of the viewer's exclusive lists are read in those lists only.
        "AND s.account_id NOT IN (SELECT xa.account_id FROM list_accounts xa JOIN lists xl "
        f"ON xl.id = xa.list_id WHERE xl.account_id = {v} AND xl.exclusive) "
        "AND (s.reblog_of_id IS NULL OR s.account_id NOT IN (SELECT nr.target_account_id "
        f"FROM follows nr WHERE nr.account_id = {v} AND NOT nr.show_reblogs)) "
        "AND (s.visibility <> 'direct' OR EXISTS (SELECT 1 FROM mentions m "
        f"WHERE m.status_id = s.id AND m.account_id = {v})) "
        "AND (s.in_reply_to_account_id IS NULL OR s.in_reply_to_account_id = s.account_id "
        f"OR s.in_reply_to_account_id = {v} OR s.in_reply_to_account_id IN "
        f"(SELECT f2.target_account_id FROM follows f2 WHERE f2.account_id = {v}))) "
        # Public statuses carrying a hashtag the viewer follows.
        "OR (s.visibility = 'public' AND s.reblog_of_id IS NULL AND EXISTS (SELECT 1 "
        "FROM statuses_tags ht JOIN tag_follows tf ON tf.tag_id = ht.tag_id "
        f"WHERE ht.status_id = s.id AND tf.account_id = {v}))) "
        f"AND {unhidden_sql('s', v, now)}"
    )


async def home_page(conn: Connection, viewer_id: int, page: Page, now: int) -> list[StatusRow]:
    """The home timeline computed from the statuses themselves (`home_sql`): what a home
    feed holds, read while the feed is being rebuilt."""
    # Walks the primary key backwards and tests each status; following only a few quiet
    # accounts is the slow case of this plan, which the home feeds avoid.
    sql = f"SELECT s.* FROM statuses s WHERE {LIVE} AND {home_sql('$1', '$2')}"
    return await fetch_page(conn, StatusRow, sql, [viewer_id, now], "s.id", page)


async def public_page(
    conn: Connection,
    page: Page,
    *,
    local: bool,
    remote: bool,
    viewer_id: int | None = None,
    now: int = 0,
    only_media: bool = False,
) -> list[StatusKeyRow]:
    """The public timeline: public statuses that are not boosts nor replies to others
    (minus the accounts hidden from the viewer)."""
    args: list[Any] = []
    # The unary `+` keeps SQLite from reading every original status through
    # statuses_reblog and sorting them (1.4 s against 1 ms at 100,000 statuses): walking
    # the public index backwards finds a page at once.
    sql = (
        f"SELECT {KEYS_SQL} FROM statuses s WHERE {LIVE} AND s.visibility = 'public' "
        "AND +s.reblog_of_id IS NULL "
        "AND (s.in_reply_to_id IS NULL OR s.in_reply_to_account_id = s.account_id)"
    )
    if local:
        sql += " AND s.local"
    elif remote:
        sql += " AND NOT s.local"
    if only_media:
        sql += f" AND {WITH_MEDIA}"
    if viewer_id is not None:
        args += [viewer_id, now]
        sql += f" AND {unhidden_sql('s', '$1', '$2')}"
    return await fetch_page(conn, StatusKeyRow, sql, args, "s.id", page)


async def account_page(
    conn: Connection,
    account_id: int,
    viewer_id: int | None,
    page: Page,
    *,
    exclude_replies: bool,
    exclude_reblogs: bool,
    pinned: bool,
    exclude_direct: bool = False,
    tagged: str | None = None,
    only_media: bool = False,
) -> list[StatusKeyRow]:
    """An account's statuses as the viewer may see them."""
    args: list[Any] = [account_id]
    viewer = None
    if viewer_id is not None:
        args.append(viewer_id)
        viewer = "$2"
    sql = (
        f"SELECT {KEYS_SQL} FROM statuses s WHERE s.account_id = $1 AND {LIVE} AND "
        + visible_sql("s", viewer)
    )
    if exclude_replies:
        sql += " AND (s.in_reply_to_id IS NULL OR s.in_reply_to_account_id = s.account_id)"
    if exclude_reblogs:
        sql += " AND s.reblog_of_id IS NULL"
    if exclude_direct:
        sql += " AND s.visibility <> 'direct'"
    if only_media:
        sql += f" AND {WITH_MEDIA}"
    if tagged:
        args.append(tagged.lower())
        sql += (
            " AND EXISTS (SELECT 1 FROM statuses_tags st JOIN tags t ON t.id = st.tag_id "
            f"WHERE st.status_id = s.id AND t.name = ${len(args)})"
        )
    if pinned:
        sql += (
            " AND EXISTS (SELECT 1 FROM status_pins p WHERE p.status_id = s.id "
            "AND p.account_id = s.account_id)"
        )
    return await fetch_page(conn, StatusKeyRow, sql, args, "s.id", page)


async def favourites_page(conn: Connection, account_id: int, page: Page) -> list[StatusPageRow]:
    """The statuses an account favourited, newest favourite first (cursor: `page_id`)."""
    sql = (
        "SELECT s.*, x.id AS page_id FROM favourites x JOIN statuses s ON s.id = x.status_id "
        f"WHERE x.account_id = $1 AND {LIVE} AND {visible_sql('s', '$1')}"
    )
    return await fetch_page(conn, StatusPageRow, sql, [account_id], "x.id", page)


async def bookmarks_page(conn: Connection, account_id: int, page: Page) -> list[StatusPageRow]:
    """The statuses an account bookmarked, newest bookmark first (cursor: `page_id`)."""
    sql = (
        "SELECT s.*, x.id AS page_id FROM bookmarks x JOIN statuses s ON s.id = x.status_id "
        f"WHERE x.account_id = $1 AND {LIVE} AND {visible_sql('s', '$1')}"
    )
    return await fetch_page(conn, StatusPageRow, sql, [account_id], "x.id", page)


async def favourited_by_page(conn: Connection, status_id: int, page: Page) -> list[AccountPageRow]:
    """Accounts that favourited a status (cursor: `page_id`, the favourite's id)."""
    sql = (
        "SELECT a.*, x.id AS page_id FROM favourites x JOIN accounts a ON a.id = x.account_id "
        "WHERE x.status_id = $1 AND a.suspended_at IS NULL"
    )
    return await fetch_page(conn, AccountPageRow, sql, [status_id], "x.id", page)


async def reblogged_by_page(
    conn: Connection, status_id: int, viewer_id: int | None, page: Page
) -> list[AccountPageRow]:
    """Accounts whose boost of a status the viewer may see (a followers-only boost only
    to the booster's followers); cursor: `page_id`, the boost's id."""
    args: list[Any] = [status_id]
    viewer = None
    if viewer_id is not None:
        args.append(viewer_id)
        viewer = "$2"
    sql = (
        "SELECT a.*, s.id AS page_id FROM statuses s JOIN accounts a ON a.id = s.account_id "
        f"WHERE s.reblog_of_id = $1 AND {LIVE} AND a.suspended_at IS NULL "
        f"AND {visible_sql('s', viewer)}"
    )
    return await fetch_page(conn, AccountPageRow, sql, args, "s.id", page)


async def quoting_page(
    conn: Connection,
    quoted_status_id: int,
    viewer_id: int,
    state: str,
    page: Page,
    now: int,
) -> list[StatusPageRow]:
    """Live statuses quoting a status in `state`, that the viewer may see and has not
    hidden (blocked, muted), newest quote first (cursor: `page_id`, the quote's id)."""
    sql = (
        "SELECT s.*, q.id AS page_id FROM quotes q JOIN statuses s ON s.id = q.status_id "
        f"WHERE q.quoted_status_id = $1 AND q.state = $2 AND {LIVE} "
        f"AND {visible_sql('s', '$3')} AND {unhidden_sql('s', '$3', '$4')}"
    )
    return await fetch_page(
        conn, StatusPageRow, sql, [quoted_status_id, state, viewer_id, now], "q.id", page
    )


class ThreadKeyRow(StatusKeyRow):
    """A status of a thread as `thread_keys` reads it: its keys (`KEYS_SQL`), where it
    hangs, whether it is deleted, whether the viewer may see it, and where it stands: 0
    the status itself, 1 the status it replies to, 2 the one above..., -1 a reply below."""

    in_reply_to_id: int | None
    wb_deleted: int
    wb_visible: int
    wb_depth: int


async def thread_keys(
    conn: Connection,
    status_id: int,
    viewer_id: int | None,
    up_to: int = 40,
    down_to: int = 4096,
) -> list[ThreadKeyRow]:
    """A status, the statuses it replies to up the thread (`up_to` of them) and every reply
    below it at any depth (the first `down_to` by id), in one statement, in no order;
    deleted and unseen ones included, flagged, so a walk sees where the chain breaks and
    what hangs below them."""
    viewer = None if viewer_id is None else "$4"
    columns = (
        f"{KEYS_SQL}, s.in_reply_to_id, "
        f"CASE WHEN {LIVE} THEN 0 ELSE 1 END AS wb_deleted, "
        f"CASE WHEN {LIVE} AND {visible_sql('s', viewer)} THEN 1 ELSE 0 END AS wb_visible"
    )
    return await fetch_as(
        conn,
        ThreadKeyRow,
        "WITH RECURSIVE up(id, depth) AS ("
        " SELECT in_reply_to_id, 1 FROM statuses WHERE id = $1 AND in_reply_to_id IS NOT NULL"
        " UNION ALL SELECT s.in_reply_to_id, up.depth + 1 FROM statuses s JOIN up ON s.id = up.id"
        " WHERE s.in_reply_to_id IS NOT NULL AND up.depth < $2), "
        "down(id, depth) AS ("
        " SELECT id, 1 FROM statuses WHERE in_reply_to_id = $1"
        " UNION ALL SELECT s.id, down.depth + 1 FROM statuses s JOIN down"
        " ON s.in_reply_to_id = down.id WHERE down.depth < 256), "
        "below(id) AS (SELECT id FROM down ORDER BY id LIMIT $3) "
        f"SELECT {columns}, 0 AS wb_depth FROM statuses s WHERE s.id = $1 "
        f"UNION ALL SELECT {columns}, up.depth FROM up JOIN statuses s ON s.id = up.id "
        f"UNION ALL SELECT {columns}, -1 FROM below JOIN statuses s ON s.id = below.id",
        status_id,
        up_to,
        down_to,
        *(() if viewer_id is None else (viewer_id,)),
    )


async def tag_page(
    conn: Connection,
    page: Page,
    *,
    any_of: list[str],
    all_of: list[str],
    none_of: list[str],
    local: bool,
    remote: bool,
    viewer_id: int | None = None,
    now: int = 0,
    only_media: bool = False,
) -> list[StatusKeyRow]:
    """Public statuses with any of `any_of`, all of `all_of` and none of `none_of` (tag
    names, lower-cased), as Mastodon's hashtag timeline."""
    if not any_of:
        return []  # no tag at all (a blank name): nothing is tagged with it
    args: list[Any] = [] if viewer_id is None else [viewer_id, now]

    def names(values: list[str]) -> str:
        start = len(args) + 1
        args.extend(values)
        return placeholders(start, len(values))

    tagged = (
        "SELECT 1 FROM statuses_tags st JOIN tags t ON t.id = st.tag_id "
        "WHERE st.status_id = s.id AND t.name IN ({})"
    )
    sql = (
        f"SELECT {KEYS_SQL} FROM statuses s WHERE {LIVE} AND s.visibility = 'public' "
        f"AND +s.reblog_of_id IS NULL AND EXISTS ({tagged.format(names(any_of))})"
    )
    for name in all_of:
        sql += f" AND EXISTS ({tagged.format(names([name]))})"
    if none_of:
        sql += f" AND NOT EXISTS ({tagged.format(names(none_of))})"
    if local:
        sql += " AND s.local"
    elif remote:
        sql += " AND NOT s.local"
    if only_media:
        sql += f" AND {WITH_MEDIA}"
    if viewer_id is not None:
        sql += f" AND {unhidden_sql('s', '$1', '$2')}"
    return await fetch_page(conn, StatusKeyRow, sql, args, "s.id", page)


def _list_sql(policy: str, list_param: str, viewer_param: str, now_param: str) -> str:
    """The condition under which a status `s` shows on a list (the `$n` parameters name the
    list, its owner and now): a member's status or boost the owner may see (never a direct
    one), with replies as the list's `replies_policy` says."""
    sql = (
        f"{LIVE} AND +s.account_id IN "
        f"(SELECT la.account_id FROM list_accounts la WHERE la.list_id = {list_param}) "
        f"AND s.visibility <> 'direct' AND {visible_sql('s', viewer_param)} "
        f"AND {unhidden_sql('s', viewer_param, now_param)}"
    )
    own_thread = "s.in_reply_to_id IS NULL OR s.in_reply_to_account_id = s.account_id"
    if policy == "none":
        return sql + f" AND ({own_thread})"
    if policy == "list":
        return sql + (
            f" AND ({own_thread} OR s.in_reply_to_account_id IN "
            f"(SELECT lr.account_id FROM list_accounts lr WHERE lr.list_id = {list_param}))"
        )
    # followed
    return sql + (
        f" AND ({own_thread} OR s.in_reply_to_account_id = {viewer_param} "
        "OR s.in_reply_to_account_id IN "
        f"(SELECT fr.target_account_id FROM follows fr WHERE fr.account_id = {viewer_param}))"
    )


async def list_page(
    conn: Connection, list_row: ListRow, viewer_id: int, page: Page, now: int
) -> list[StatusRow]:
    """A list's timeline: its members' statuses and boosts the viewer may see (never
    direct ones), with replies as the list's `replies_policy` says."""
    sql = "SELECT s.* FROM statuses s WHERE " + _list_sql(
        list_row["replies_policy"], "$1", "$2", "$3"
    )
    return await fetch_page(conn, StatusRow, sql, [list_row["id"], viewer_id, now], "s.id", page)


# A status reaches live at most this many lists (those of its author's most recent members).
MAX_LIVE_LISTS = 1000


async def lists_showing(conn: Connection, status_id: int, author_id: int, now: int) -> list[int]:
    """The ids of the local people's lists a status shows on (for their live streams)."""
    lists = await conn.fetch(
        "SELECT l.id, l.account_id, l.replies_policy FROM list_accounts la "
        "JOIN lists l ON l.id = la.list_id WHERE la.account_id = $1 "
        "ORDER BY l.id DESC LIMIT $2",
        author_id,
        MAX_LIVE_LISTS,
    )
    shown = []
    for row in lists:
        sql = "SELECT 1 FROM statuses s WHERE s.id = $4 AND " + _list_sql(
            row["replies_policy"], "$1", "$2", "$3"
        )
        if await conn.fetchval(sql, row["id"], row["account_id"], now, status_id) is not None:
            shown.append(int(row["id"]))
    return shown


async def trending_page(
    conn: Connection,
    since: int,
    limit: int,
    offset: int,
    viewer_id: int | None,
    now: int,
    *,
    rejected_too: bool = False,
) -> list[StatusRow]:
    """Public statuses since `since` that people interacted with, most engaging first
    (boosts weigh double; replies count too), minus accounts hidden from the viewer and
    statuses an admin rejected (unless `rejected_too`: the admins' review list)."""
    args: list[Any] = [since, limit, offset]
    sql = (
        f"SELECT s.* FROM statuses s WHERE {LIVE} AND s.visibility = 'public' "
        "AND s.reblog_of_id IS NULL AND s.created_at >= $1 "
        "AND s.favourites_count + s.reblogs_count + s.replies_count > 0"
    )
    if not rejected_too:
        sql += " AND (s.trendable IS NULL OR s.trendable)"
    if viewer_id is not None:
        args += [viewer_id, now]
        sql += f" AND {unhidden_sql('s', '$4', '$5')}"
    sql += (
        " ORDER BY s.favourites_count + 2 * s.reblogs_count + s.replies_count DESC, s.id DESC "
        "LIMIT $2 OFFSET $3"
    )
    return await fetch_as(conn, StatusRow, sql, *args)


async def add_to_quotes_count(conn: Connection, status_id: int, delta: int) -> None:
    """Change a status's count of accepted quotes (never below zero)."""
    await conn.execute(
        "UPDATE statuses SET quotes_count = CASE WHEN quotes_count + $1 < 0 THEN 0 "
        "ELSE quotes_count + $1 END WHERE id = $2",
        delta,
        status_id,
    )
    status_changed(conn, status_id)


async def set_quote_policy(conn: Connection, status_id: int, policy: int, now: int) -> None:
    """Change who may quote a status."""
    await conn.execute(
        "UPDATE statuses SET quote_approval_policy = $1, updated_at = $2 WHERE id = $3",
        policy,
        now,
        status_id,
    )
    status_changed(conn, status_id)


async def claim_replies_fetch(conn: Connection, status_id: int, now: int, since: int) -> bool:
    """Mark a remote status's replies as being crawled now, unless they were crawled after
    `since`; whether this caller is the one to crawl them."""
    found = await conn.fetchval(
        "UPDATE statuses SET replies_fetched_at = $1 WHERE id = $2 AND NOT local "
        "AND deleted_at IS NULL AND (replies_fetched_at IS NULL OR replies_fetched_at < $3) "
        "RETURNING id",
        now,
        status_id,
        since,
    )
    return found is not None


async def set_trendable(conn: Connection, status_id: int, trendable: bool) -> bool:
    """An admin's review of a status for trends; whether the status exists."""
    done = await conn.fetch(
        "UPDATE statuses SET trendable = $1 WHERE id = $2 RETURNING id", trendable, status_id
    )
    return bool(done)
