"""Home feeds: the statuses of each local account's home timeline, written as they arrive.

What belongs in a feed is `statuses.home_sql`, the condition the home timeline was once
computed from at every read; the functions here keep `home_feed_entries` equal to it:
they add a new status to every feed it belongs in, remove a deleted one, prune what a
changed relationship takes away, merge what it brings, and rebuild a feed whole. Two
rules of Mastodon's FeedManager come on top: a feed keeps its newest `MAX_ENTRIES`, and a
boost of a status the feed already shows near its top (`REBLOG_FALLOFF` entries) stays
out. A page is then a range scan of one feed (`page`); `home_feeds` says whether the feed
may be read (see `page`) and `services/home_feed.py` when each of these runs.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from .base import Connection, Row, RowView, fetch_as, fetchrow_as
from .paging import Page, page_clause, placeholders
from .rows import HomeFeedRow
from .statuses import KEYS_SQL, LIVE, StatusKeyRow, home_sql

# Mastodon's FeedManager::MAX_ITEMS: how many statuses a home feed keeps.
MAX_ENTRIES = 800
# Mastodon's REBLOG_FALLOFF: a boost is not added while the status it boosts, or another
# boost of it, is among this many newest entries of the feed.
REBLOG_FALLOFF = 40
# Mastodon's ACTIVE_DURATION: writes skip the feed of someone away this long.
AWAY_MS = 7 * 86_400_000


def _boost_rule(owner: str) -> str:
    """The condition that status `s` is not a boost (or boosted original) already shown
    among the newest `REBLOG_FALLOFF` entries of `owner`'s feed."""
    return (
        "NOT EXISTS (SELECT 1 FROM (SELECT t.status_id, t.reblog_of_id FROM home_feed_entries t "
        f"WHERE t.account_id = {owner} ORDER BY t.status_id DESC LIMIT {REBLOG_FALLOFF}) recent "
        "WHERE recent.reblog_of_id = COALESCE(s.reblog_of_id, s.id) "
        "OR recent.status_id = s.reblog_of_id)"
    )


def shown_after_boost_rule(candidates: Iterable[tuple[int, int | None]]) -> list[int]:
    """The ids a feed shows of `(status_id, reblog_of_id)` pairs added oldest first, as
    `_boost_rule` decides each against those shown before it."""
    shown: list[tuple[int, int | None]] = []
    for status_id, reblog_of_id in candidates:
        key = status_id if reblog_of_id is None else reblog_of_id
        if any(
            r == key or (reblog_of_id is not None and s == reblog_of_id)
            for s, r in shown[-REBLOG_FALLOFF:]
        ):
            continue
        shown.append((status_id, reblog_of_id))
    return [s for s, _ in shown]


# The state of a feed ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedState:
    """What `home_feeds` says of one feed at `now`."""

    exists: bool
    current: bool  # built, not invalidated since, owner not away, no mute ended since
    away: bool
    read_at: int | None
    complete_from: int


def _state(row: HomeFeedRow | None, now: int) -> FeedState:
    if row is None:
        return FeedState(False, False, False, None, 0)
    away = row["read_at"] < now - AWAY_MS
    expired = row["expires_at"] is not None and row["expires_at"] <= now
    current = row["built_version"] == row["version"] and not away and not expired
    return FeedState(True, current, away, row["read_at"], row["complete_from"])


async def state(conn: Connection, owner: int, now: int) -> FeedState:
    """A feed's state (unlocked: for reading)."""
    row = await fetchrow_as(
        conn, HomeFeedRow, "SELECT * FROM home_feeds WHERE account_id = $1", owner
    )
    return _state(row, now)


async def lock(conn: Connection, owners: Sequence[int], now: int) -> dict[int, FeedState]:
    """The states of some feeds, each locked until the unit ends (in id order, so two units
    locking the same feeds never wait on each other in a circle). A rebuild holds its feed's
    lock throughout, so a change to a feed locked first sees the rebuilt entries, and a
    rebuild waiting on a change reads the relationships it left."""
    found: dict[int, FeedState] = {}
    for owner in sorted(set(owners)):
        sql = "SELECT * FROM home_feeds WHERE account_id = $1"
        if conn.dialect == "postgres":
            sql += " FOR UPDATE"  # SQLite's writer holds the whole database already
        found[owner] = _state(await fetchrow_as(conn, HomeFeedRow, sql, owner), now)
    return found


async def invalidate(conn: Connection, owners: Sequence[int]) -> None:
    """Mark feeds stale: they are read from the statuses until rebuilt."""
    for owner in sorted(set(owners)):
        await conn.execute(
            "UPDATE home_feeds SET version = version + 1 WHERE account_id = $1", owner
        )


async def stale_from(conn: Connection, owner: int, at: int) -> None:
    """The feed stops being current at `at` (when a timed mute ends) if not before."""
    await conn.execute(
        "UPDATE home_feeds SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > $2 "
        "THEN $2 ELSE expires_at END WHERE account_id = $1",
        owner,
        at,
    )


async def touch(conn: Connection, owner: int, now: int) -> None:
    """The owner read the feed at `now`."""
    await conn.execute("UPDATE home_feeds SET read_at = $2 WHERE account_id = $1", owner, now)


async def revive(conn: Connection, owner: int, now: int) -> None:
    """The owner is reading again: writes reach the feed from now on, and a feed they were
    away from (whose writes were skipped) is marked stale until rebuilt."""
    await conn.execute(
        "UPDATE home_feeds SET version = version + CASE WHEN read_at < $3 THEN 1 ELSE 0 END, "
        "read_at = $2 WHERE account_id = $1",
        owner,
        now,
        now - AWAY_MS,
    )


# Reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedPage:
    """A page of a current feed (its statuses' rows) and when its owner last read it."""

    rows: list[StatusKeyRow]
    read_at: int


async def page(conn: Connection, owner: int, page: Page, now: int) -> FeedPage | None:
    """A page of the owner's feed, newest first; None if the feed is not current."""
    values: list[Any] = [owner, now - AWAY_MS, now]
    where, order = page_clause("h.status_id", page, values)
    entries = (
        "FROM home_feeds f JOIN home_feed_entries h ON h.account_id = f.account_id{statuses} "
        "WHERE f.account_id = $1 AND f.built_version = f.version AND f.read_at >= $2 "
        f"AND (f.expires_at IS NULL OR f.expires_at > $3){where} {order}"
    )
    if conn.dialect == "sqlite":
        # SQLite looks each entry's status up by id as it walks the feed's key: one
        # statement (and no list of 40 ids) where PostgreSQL needs the two below. The
        # LEFT JOIN keeps the page the feed's entries, minus statuses deleted since.
        joined = await conn.fetch(
            f"SELECT h.status_id AS wb_entry, f.read_at AS wb_read_at, {KEYS_SQL} "
            + entries.format(statuses=f" LEFT JOIN statuses s ON s.id = h.status_id AND {LIVE}"),
            *values,
        )
        if joined:
            read_at = joined[0]["wb_read_at"]
            rows = [_keys(r) for r in joined if r["id"] is not None]
            rows.sort(key=lambda r: r["id"], reverse=True)
            return FeedPage(rows, read_at)
        found = []
    else:
        # A range scan of the feed's key, which also checks the feed's state; then its
        # statuses by id (one statement joining both lets PostgreSQL merge-join the page
        # with a backward scan of every newer status).
        found = await conn.fetch(
            "SELECT h.status_id, f.read_at " + entries.format(statuses=""), *values
        )
    if not found:
        state_now = await state(conn, owner, now)  # an empty page, or no page to read
        if not state_now.current or state_now.read_at is None:
            return None
        return FeedPage([], state_now.read_at)
    ids = [r["status_id"] for r in found]
    by_id = {
        r["id"]: r
        for r in await fetch_as(
            conn,
            StatusKeyRow,
            # Keys and versions only: `hydrate` reads whole rows of what it has not kept.
            f"SELECT {KEYS_SQL} FROM statuses s "
            f"WHERE s.id IN ({placeholders(1, len(ids))}) AND {LIVE}",
            *ids,
        )
    }
    ids.sort(reverse=True)
    return FeedPage([by_id[i] for i in ids if i in by_id], found[0]["read_at"])


def _keys(row: Row) -> StatusKeyRow:
    """A status's keys off a row of the joined page (without the entry's own columns)."""
    del row["wb_entry"], row["wb_read_at"]
    return cast("StatusKeyRow", row)


async def statuses_purged(conn: Connection, account_id: int) -> None:
    """An account's statuses were all deleted at once: they leave every feed."""
    await conn.execute(
        "DELETE FROM home_feed_entries WHERE status_id IN "
        "(SELECT id FROM statuses WHERE account_id = $1)",
        account_id,
    )


# Writing statuses ----------------------------------------------------------------------------

# Who may have a status in their feed: its author, the author's followers and the followers
# of its hashtags ($1 the status, $2 its author); local accounts only.
_OWNERS = (
    "SELECT CAST($2 AS BIGINT) AS owner "
    "UNION SELECT f.account_id FROM follows f WHERE f.target_account_id = $2 "
    "UNION SELECT tf.account_id FROM statuses_tags st JOIN tag_follows tf "
    "ON tf.tag_id = st.tag_id WHERE st.status_id = $1"
)


async def add_status(conn: Connection, status_id: int, author_id: int, now: int) -> None:
    """Add a new status to every feed it belongs in, but those whose owners are away."""
    await conn.execute(
        "INSERT INTO home_feed_entries (account_id, status_id, reblog_of_id) "
        f"SELECT o.owner, s.id, s.reblog_of_id FROM statuses s, ({_OWNERS}) o "
        "JOIN users u ON u.account_id = o.owner "
        f"WHERE s.id = $1 AND {LIVE} AND NOT EXISTS (SELECT 1 FROM home_feeds hf "
        "WHERE hf.account_id = o.owner AND hf.read_at < $3) "
        f"AND {home_sql('o.owner', '$4')} AND {_boost_rule('o.owner')} "
        "ON CONFLICT DO NOTHING",
        status_id,
        author_id,
        now - AWAY_MS,
        now,
    )


async def refresh_status(conn: Connection, status_id: int, author_id: int, now: int) -> None:
    """A status's mentions, hashtags or thread changed: it leaves the feeds it no longer
    belongs in and joins those it now does."""
    await conn.execute(
        "DELETE FROM home_feed_entries WHERE status_id = $1 AND account_id IN "
        "(SELECT h.account_id FROM home_feed_entries h JOIN statuses s ON s.id = h.status_id "
        f"WHERE h.status_id = $1 AND NOT ({home_sql('h.account_id', '$2')}))",
        status_id,
        now,
    )
    await add_status(conn, status_id, author_id, now)


async def remove_status(conn: Connection, status: RowView, now: int, *, replace: bool) -> None:
    """A status leaves every feed. Where it was a boost standing for the status it boosts
    and `replace` is set, the oldest later boost of that status the feed would have shown
    takes its place (Mastodon keeps such boosts aside for this)."""
    boosted = status["reblog_of_id"]
    if boosted is not None and replace:
        await conn.execute(
            "INSERT INTO home_feed_entries (account_id, status_id, reblog_of_id) "
            "SELECT owner, replacement, $2 FROM (SELECT h.account_id AS owner, "
            "(SELECT MIN(s.id) FROM statuses s WHERE s.reblog_of_id = $2 AND s.id > $1 "
            f"AND {LIVE} AND {home_sql('h.account_id', '$3')}) AS replacement "
            "FROM home_feed_entries h WHERE h.status_id = $1 AND NOT EXISTS (SELECT 1 "
            "FROM home_feed_entries x WHERE x.account_id = h.account_id AND x.status_id <> $1 "
            "AND (x.status_id = $2 OR x.reblog_of_id = $2))) found "
            "WHERE replacement IS NOT NULL ON CONFLICT DO NOTHING",
            status["id"],
            boosted,
            now,
        )
    await conn.execute("DELETE FROM home_feed_entries WHERE status_id = $1", status["id"])


# Relationships ---------------------------------------------------------------------------------


def _touching(accounts: Sequence[int], start: int) -> str:
    """The condition that status `s` is by, replies to, or boosts a status by one of
    `accounts` (parameters from `$start`)."""
    ids = placeholders(start, len(accounts))
    return (
        f"(s.account_id IN ({ids}) OR s.in_reply_to_account_id IN ({ids}) OR EXISTS "
        f"(SELECT 1 FROM statuses bo WHERE bo.id = s.reblog_of_id AND bo.account_id IN ({ids})))"
    )


async def prune(
    conn: Connection,
    owner: int,
    now: int,
    *,
    accounts: Sequence[int] | None = None,
    tag_id: int | None = None,
) -> None:
    """Remove from a feed what no longer belongs in it: of the statuses touching `accounts`
    (see `_touching`), or those tagged `tag_id`, or all of them."""
    args: list[Any] = [owner, now]
    scope = ""
    if accounts:
        scope = f" AND {_touching(accounts, 3)}"
        args += accounts
    elif tag_id is not None:
        scope = (
            " AND EXISTS (SELECT 1 FROM statuses_tags pt WHERE pt.status_id = s.id "
            "AND pt.tag_id = $3)"
        )
        args.append(tag_id)
    await conn.execute(
        "DELETE FROM home_feed_entries WHERE account_id = $1 AND status_id IN (SELECT s.id "
        "FROM home_feed_entries h JOIN statuses s ON s.id = h.status_id WHERE h.account_id = $1"
        f"{scope} AND (s.deleted_at IS NOT NULL OR NOT ({home_sql('$1', '$2')})))",
        *args,
    )


# Where a feed's statuses come from: accounts' statuses (its owner's and followed
# accounts'), replies to accounts, statuses with hashtags ($3 the lowest id wanted, the
# accounts' or tags' ids from $4).
_SOURCES = {
    "accounts": "FROM statuses s WHERE s.account_id IN ({keys}) AND s.id >= $3",
    "replies": "FROM statuses s WHERE s.in_reply_to_account_id IN ({keys}) AND s.id >= $3",
    "tags": (
        "FROM statuses_tags st JOIN statuses s ON s.id = st.status_id "
        "WHERE st.tag_id IN ({keys}) AND st.status_id >= $3"
    ),
}
# How many accounts one query reads (a rebuild reads a thousand followed in ten).
SOURCE_CHUNK = 100


def _sources(**keys: Sequence[int]) -> list[tuple[str, list[int]]]:
    """The queries of each kind of source (`accounts`, `replies`, `tags`) with its keys, in
    chunks, in the order given."""
    found = []
    for kind, values in keys.items():
        for start in range(0, len(values), SOURCE_CHUNK):
            chunk = list(values[start : start + SOURCE_CHUNK])
            found.append((_SOURCES[kind].format(keys=placeholders(4, len(chunk))), chunk))
    return found


def _candidates_sql(source: str, columns: str) -> str:
    """The newest `MAX_ENTRIES` statuses of a source that belong in feed $1 ($2 now)."""
    return (
        f"SELECT {columns} {source} AND {LIVE} AND {home_sql('$1', '$2')} "
        f"ORDER BY s.id DESC LIMIT {MAX_ENTRIES}"
    )


async def merge(
    conn: Connection,
    owner: int,
    now: int,
    complete_from: int,
    *,
    accounts: Sequence[int] = (),
    replies_to: Sequence[int] = (),
    tags: Sequence[int] = (),
) -> None:
    """Add to a feed what now belongs in it from the statuses of `accounts`, the replies to
    `replies_to` and the statuses tagged `tags`, from `complete_from` on; then trim it."""
    sources = _sources(accounts=accounts, replies=replies_to, tags=tags)
    columns = "CAST($1 AS BIGINT), s.id, s.reblog_of_id"
    for source, keys in sources:
        await conn.execute(
            "INSERT INTO home_feed_entries (account_id, status_id, reblog_of_id) "
            f"SELECT * FROM ({_candidates_sql(source, columns)}) c WHERE TRUE "
            "ON CONFLICT DO NOTHING",
            owner,
            now,
            complete_from,
            *keys,
        )
    if sources:
        await trim(conn, owner)


async def trim(conn: Connection, owner: int) -> None:
    """Keep a feed's newest `MAX_ENTRIES` (what goes is older than it is complete from)."""
    cut = await conn.fetchval(
        "SELECT status_id FROM home_feed_entries WHERE account_id = $1 "
        f"ORDER BY status_id DESC LIMIT 1 OFFSET {MAX_ENTRIES - 1}",
        owner,
    )
    if cut is None:
        return
    await conn.execute(
        "DELETE FROM home_feed_entries WHERE account_id = $1 AND status_id < $2", owner, cut
    )
    await conn.execute(
        "UPDATE home_feeds SET complete_from = CASE WHEN complete_from < $2 THEN $2 "
        "ELSE complete_from END WHERE account_id = $1",
        owner,
        cut,
    )


# Rebuilding -------------------------------------------------------------------------------------


async def _candidates(conn: Connection, owner: int, now: int) -> tuple[list[tuple[int, Any]], int]:
    """The newest `MAX_ENTRIES` statuses that belong in a feed, oldest first, and the id
    from which that list is complete (0: all of them). Read source by source, as
    Mastodon's populate_home: the owner's statuses, the followed accounts' (the most
    recently active first, so the bar rises fast, `SOURCE_CHUNK` at a time) and the
    followed hashtags'; a source reads only above the bar the best so far set, so the
    work stays bounded."""
    followed = await conn.fetch(
        "SELECT f.target_account_id AS id FROM follows f JOIN accounts a "
        "ON a.id = f.target_account_id WHERE f.account_id = $1 "
        "ORDER BY a.last_status_at DESC NULLS LAST",
        owner,
    )
    tags = await conn.fetch("SELECT tag_id AS id FROM tag_follows WHERE account_id = $1", owner)
    sources = _sources(accounts=[owner, *(r["id"] for r in followed)], tags=[r["id"] for r in tags])
    best: list[tuple[int, Any]] = []  # a min-heap of the newest found
    seen: set[int] = set()
    for source, keys in sources:
        bar = best[0][0] if len(best) >= MAX_ENTRIES else 0
        for row in await conn.fetch(
            _candidates_sql(source, "s.id, s.reblog_of_id"), owner, now, bar, *keys
        ):
            if row["id"] in seen:
                continue  # a status with two followed hashtags, or by a followed account
            seen.add(row["id"])
            item = (row["id"], row["reblog_of_id"])
            if len(best) < MAX_ENTRIES:
                heapq.heappush(best, item)
            elif item[0] > best[0][0]:
                heapq.heapreplace(best, item)
    complete_from = best[0][0] if len(best) >= MAX_ENTRIES else 0
    return sorted(best), complete_from


async def rebuild(conn: Connection, owner: int, now: int) -> None:
    """Build a feed from the statuses (`home_sql`), marking it current and read at `now`."""
    await conn.execute(
        "INSERT INTO home_feeds (account_id, read_at) VALUES ($1, $2) "
        "ON CONFLICT (account_id) DO NOTHING",
        owner,
        now,
    )
    await lock(conn, [owner], now)
    await conn.execute("DELETE FROM home_feed_entries WHERE account_id = $1", owner)
    candidates, complete_from = await _candidates(conn, owner, now)
    by_id = dict(candidates)
    # Statuses a concurrent write added meanwhile stay (ON CONFLICT): they belong too.
    await conn.executemany(
        "INSERT INTO home_feed_entries (account_id, status_id, reblog_of_id) "
        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [(owner, i, by_id[i]) for i in shown_after_boost_rule(candidates)],
    )
    ends = await conn.fetchval(
        "SELECT MIN(expires_at) FROM mutes WHERE account_id = $1 AND expires_at > $2",
        owner,
        now,
    )
    await conn.execute(
        "UPDATE home_feeds SET built_version = version, read_at = $2, expires_at = $3, "
        "complete_from = $4 WHERE account_id = $1",
        owner,
        now,
        ends,
        complete_from,
    )


# Upkeep -------------------------------------------------------------------------------------------


async def filled_since(conn: Connection, since_id: int) -> list[int]:
    """The feeds that got a status with an id from `since_id` on (to trim)."""
    rows = await conn.fetch(
        "SELECT DISTINCT account_id FROM home_feed_entries WHERE status_id >= $1 "
        "ORDER BY account_id",
        since_id,
    )
    return [r["account_id"] for r in rows]


async def clear_away(conn: Connection, now: int, limit: int) -> int:
    """Empty up to `limit` feeds whose owners are away (writes skip them; reading one again
    rebuilds it); how many."""
    owners = [
        r["account_id"]
        for r in await conn.fetch(
            "SELECT account_id FROM home_feeds WHERE read_at < $1 AND built_version IS NOT NULL "
            "ORDER BY account_id LIMIT $2",
            now - AWAY_MS,
            limit,
        )
    ]
    for owner in owners:
        await conn.execute("DELETE FROM home_feed_entries WHERE account_id = $1", owner)
        await conn.execute(
            "UPDATE home_feeds SET built_version = NULL, complete_from = 0 WHERE account_id = $1",
            owner,
        )
    return len(owners)


async def write_horizon(conn: Connection) -> int | None:
    """PostgreSQL: the id the next writing transaction gets (see `settled`); None on
    SQLite, whose single writer leaves nothing in flight."""
    if conn.dialect != "postgres":
        return None
    return int(await conn.fetchval("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"))


async def settled(conn: Connection, horizon: int | None) -> bool:
    """Whether every transaction that was writing before `horizon` was taken has ended: then
    a status whose write skipped a feed (its owner away) is visible to a rebuild."""
    if horizon is None:
        return True
    return bool(
        await conn.fetchval(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint >= $1", horizon
        )
    )
