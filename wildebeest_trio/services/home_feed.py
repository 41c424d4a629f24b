"""Home feeds: each local account's home timeline, written when statuses and relationships
change rather than searched at every read (Mastodon's FeedManager, on the database).

What a feed holds is what `statuses.home_sql` says belongs in the home timeline, its
newest 800, less the boosts of a status the feed shows near its top. It is kept so by the
one write path of each change, inside the unit that makes the change:

- a new status, local or from the inbox, joins the feeds it belongs in (`status_added`);
  an edit or a late-linked reply is checked again (`status_changed`); a deleted status or
  an undone boost leaves them, another boost of the same status taking an undone boost's
  place (`status_removed`);
- a follow, a follow showing boosts again, an account leaving an exclusive list merge that
  account's statuses in (`accounts_shown`); an unfollow, a block, a mute, hidden boosts,
  an account joining an exclusive list prune them (`accounts_hidden`); likewise a followed
  or unfollowed hashtag and a blocked domain;
- what cannot be followed row by row (an unblock or an unmute, which bring back boosts of
  the account's statuses by anyone followed; a domain unblocked; follows ended with a
  deleted account) marks the feed stale (`feeds_stale`), as does the end of a timed mute.

A home page reads the feed (one range scan). A feed never built (a new account, or any
account after the upgrade that brought feeds) is built by that first read. A stale feed,
or the feed of someone back after a week away (writes skip those, as Mastodon skips
inactive users, and upkeep empties their feeds), is read from the statuses themselves
while a job rebuilds it, so every answer is the same as from a current feed. Upkeep trims
the feeds that grew to their newest 800.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import trio

from ..ids import ms_to_min_id, now_ms
from ..jobs import JobKind, JobRegistry, RetryLater
from ..runtime import Runtime
from ..store import Connection, RowView
from ..store import home_feeds as feed_rows
from ..store import statuses as status_rows
from ..store.paging import Page
from ..store.statuses import PageRow, StatusKeyRow

log = logging.getLogger(__name__)

REBUILD = JobKind("home_feed.rebuild", max_attempts=10)
# A read refreshes its feed's read time at most this often (a write per read is too many).
TOUCH_MS = 86_400_000
# How long a rebuild waits for the writes that skipped its feed to end before retrying.
SETTLE_SECONDS = 5.0
SETTLE_POLL = 0.02
# Upkeep: how often feeds are trimmed, and how many feeds of people away are emptied a run.
TRIM_SECONDS = 60.0
CLEAR_BATCH = 200
# Above this many accounts at once, a change marks the feed stale instead.
MANY_ACCOUNTS = 20


# Statuses ---------------------------------------------------------------------------------------


async def status_added(conn: Connection, status: RowView) -> None:
    """Inside the unit writing a new status (or boost): it joins the feeds it belongs in."""
    await feed_rows.add_status(conn, status["id"], status["account_id"], now_ms())


async def status_changed(conn: Connection, status: RowView) -> None:
    """Inside the unit that changed a status's mentions, hashtags or thread: the feeds it
    belongs in are looked at again."""
    await feed_rows.refresh_status(conn, status["id"], status["account_id"], now_ms())


async def status_removed(
    conn: Connection, status: RowView, *, original_going: bool = False
) -> None:
    """Inside the unit deleting a status or undoing a boost: it leaves every feed. An undone
    boost gives its place to another boost of the same status, unless that status is being
    deleted too (`original_going`)."""
    await feed_rows.remove_status(conn, status, now_ms(), replace=not original_going)


async def statuses_purged(conn: Connection, account_id: int) -> None:
    """Inside the unit deleting all of an account's statuses at once (the account is
    deleted): they leave every feed."""
    await feed_rows.statuses_purged(conn, account_id)


# Relationships ------------------------------------------------------------------------------------


async def _current(
    conn: Connection, owners: Sequence[int], now: int
) -> dict[int, feed_rows.FeedState]:
    """Lock the feeds of `owners` (local ones have feeds) and keep the current ones: a stale
    or absent feed is rebuilt whole before it is read, so changing it is wasted work."""
    found = await feed_rows.lock(conn, owners, now)
    return {owner: state for owner, state in found.items() if state.current}


async def hold(conn: Connection, owners: Sequence[int]) -> None:
    """Inside a unit about to change several feeds one by one (a block changes both
    accounts'): lock them all now, in order, so two such units never wait on each other."""
    await feed_rows.lock(conn, owners, now_ms())


async def accounts_shown(conn: Connection, owner: int, account_ids: Sequence[int]) -> None:
    """Inside the unit making more of these accounts' statuses belong in the owner's home
    (a follow, boosts shown again, an exclusive list left): merge them in, with the
    replies of followed accounts to them (Mastodon's MergeWorker)."""
    if len(account_ids) > MANY_ACCOUNTS:
        await feeds_stale(conn, [owner])
        return
    now = now_ms()
    for feed, state in (await _current(conn, [owner], now)).items():
        await feed_rows.merge(
            conn, feed, now, state.complete_from, accounts=account_ids, replies_to=account_ids
        )


async def accounts_hidden(
    conn: Connection, owners: Sequence[int], account_ids: Sequence[int]
) -> None:
    """Inside the unit making fewer of these accounts' statuses belong in the owners' homes
    (an unfollow, a block, a mute, boosts hidden, an exclusive list joined): prune them,
    with boosts of them and replies to them (Mastodon's UnmergeWorker, clear_from_home)."""
    if len(account_ids) > MANY_ACCOUNTS:
        await feeds_stale(conn, owners)
        return
    now = now_ms()
    for feed in await _current(conn, owners, now):
        await feed_rows.prune(conn, feed, now, accounts=account_ids)


async def muted_until(conn: Connection, owner: int, target_id: int, expires_at: int | None) -> None:
    """Inside the unit muting an account (until `expires_at`, or for good): its statuses
    leave the feed, which goes stale when the mute ends."""
    await accounts_hidden(conn, [owner], [target_id])
    if expires_at is not None:
        await feed_rows.stale_from(conn, owner, expires_at)


async def tag_follow_changed(conn: Connection, owner: int, tag_id: int, following: bool) -> None:
    """Inside the unit following (or unfollowing) a hashtag: its statuses join (or leave)."""
    now = now_ms()
    for feed, state in (await _current(conn, [owner], now)).items():
        if following:
            await feed_rows.merge(conn, feed, now, state.complete_from, tags=[tag_id])
        else:
            await feed_rows.prune(conn, feed, now, tag_id=tag_id)


async def domain_hidden(conn: Connection, owner: int) -> None:
    """Inside the unit blocking a domain for the owner: its accounts' statuses (and boosts
    of them) leave the feed."""
    now = now_ms()
    for feed in await _current(conn, [owner], now):
        await feed_rows.prune(conn, feed, now)


async def follows_ended(conn: Connection, pairs: Sequence[tuple[int, int]]) -> None:
    """Inside the unit ending an account's follows in bulk (the account is deleted): the
    feeds of its local followers are rebuilt (its statuses went with it; replies to it by
    others they follow go too)."""
    await feeds_stale(conn, [follower for follower, _ in pairs])


async def feeds_stale(conn: Connection, owners: Sequence[int]) -> None:
    """Inside a unit whose change the feeds cannot follow row by row (an unblock, an
    unmute, a domain unblocked, follows ended in bulk): they are rebuilt before use."""
    await feed_rows.invalidate(conn, owners)


# Reading ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """A home page as read in a read unit: its rows (None if the feed was never built and
    must be built first) and what the feed needs once the page is answered."""

    rows: Sequence[PageRow] | None
    rebuild: bool = False
    touch: bool = False


async def read(conn: Connection, viewer_id: int, page: Page, now: int) -> Reading:
    """Inside a read unit: a page of the viewer's home, from the feed when it is current,
    else from the statuses themselves (the same answer, only slower)."""
    found = await feed_rows.page(conn, viewer_id, page, now)
    if found is not None:
        return Reading(found.rows, touch=found.read_at < now - TOUCH_MS)
    state = await feed_rows.state(conn, viewer_id, now)
    if not state.exists:
        return Reading(None)
    return Reading(await status_rows.home_page(conn, viewer_id, page, now), rebuild=True)


async def build(conn: Connection, viewer_id: int, page: Page, now: int) -> list[StatusKeyRow]:
    """Inside a write unit: build a feed that was never built, then read its page. Writes
    never skipped a feed with no row yet, so nothing needs waiting for."""
    await feed_rows.rebuild(conn, viewer_id, now)
    found = await feed_rows.page(conn, viewer_id, page, now)
    assert found is not None
    return found.rows


async def after_read(rt: Runtime, viewer_id: int, reading: Reading) -> None:
    """What a home read leaves to do: ask for the rebuild of a stale feed (writes reach it
    again from now on), or note that its owner still reads it."""
    now = now_ms()
    if reading.rebuild:

        async def unit(conn: Connection) -> None:
            await feed_rows.revive(conn, viewer_id, now)
            await REBUILD.enqueue(
                conn, rt.ids, {"account_id": viewer_id}, dedupe_key=f"home_feed:{viewer_id}"
            )

        await rt.store.write(unit)
    elif reading.touch:
        await rt.store.write(feed_rows.touch, viewer_id, now)


async def rebuild_feed(rt: Runtime, payload: dict[str, Any]) -> None:
    """The `home_feed.rebuild` job: rebuild a stale feed from the statuses.

    On PostgreSQL a status written while the feed's owner was away may still be committing,
    its write having skipped the feed: the rebuild first waits until every transaction that
    was writing when it started has ended, so it reads all of them."""
    account_id = int(payload["account_id"])
    horizon = await rt.store.read(feed_rows.write_horizon)
    for _ in range(int(SETTLE_SECONDS / SETTLE_POLL)):
        if await rt.store.read(feed_rows.settled, horizon):
            break
        await trio.sleep(SETTLE_POLL)
    else:
        raise RetryLater(1.0, "writes from before the rebuild are still running")
    await rt.store.write(feed_rows.rebuild, account_id, now_ms())


def register(registry: JobRegistry) -> None:
    """Bind the feed job kinds to their handlers."""
    registry.register(REBUILD, rebuild_feed)


# Upkeep -------------------------------------------------------------------------------------------


async def trim_feeds(rt: Runtime) -> int:
    """Keep each feed that grew lately to its newest 800 (writes add without trimming, so
    a status reaches many feeds cheaply); how many feeds were looked at."""
    since = ms_to_min_id(now_ms() - int(2 * TRIM_SECONDS * 1000))
    owners = await rt.store.read(feed_rows.filled_since, since)

    async def unit(conn: Connection, batch: list[int]) -> None:
        for owner in batch:
            await feed_rows.trim(conn, owner)

    for start in range(0, len(owners), CLEAR_BATCH):
        await rt.store.write(unit, owners[start : start + CLEAR_BATCH])
    return len(owners)


async def clear_away(rt: Runtime) -> int:
    """Empty the feeds of people away a week (Mastodon's feed cleanup); how many."""
    cleared = 0
    while True:
        done = await rt.store.write(feed_rows.clear_away, now_ms(), CLEAR_BATCH)
        cleared += done
        if done < CLEAR_BATCH:
            return cleared
