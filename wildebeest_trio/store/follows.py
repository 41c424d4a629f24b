"""The social graph between two accounts: follows, follow requests, blocks, mutes, notes
and endorsements, and the follower counters.

These tables are written from here only (the domain logic is services/follows.py), so
the counters are recounted wherever a follow comes or goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import accounts
from .base import Connection, fetch_as, fetchrow_as
from .paging import Page, fetch_page, placeholders
from .rows import (
    AccountPageRow,
    AccountRow,
    BlockAndMuteFacts,
    BlockerRow,
    BlockRow,
    FollowFacts,
    FollowRequestRow,
    FollowRow,
    MutedAccountPageRow,
    MuteRow,
    NoteTextRow,
)


async def follow_row(conn: Connection, account_id: int, target_id: int) -> FollowRow | None:
    """The follow from `account_id` to `target_id`, if any."""
    return await fetchrow_as(
        conn,
        FollowRow,
        "SELECT * FROM follows WHERE account_id = $1 AND target_account_id = $2",
        account_id,
        target_id,
    )


async def request_row(conn: Connection, account_id: int, target_id: int) -> FollowRequestRow | None:
    """The pending follow request from `account_id` to `target_id`, if any."""
    return await fetchrow_as(
        conn,
        FollowRequestRow,
        "SELECT * FROM follow_requests WHERE account_id = $1 AND target_account_id = $2",
        account_id,
        target_id,
    )


async def insert_follow(conn: Connection, follow: Mapping[str, Any]) -> None:
    """Add a follow and count it on both accounts."""
    await conn.execute(
        "INSERT INTO follows (id, account_id, target_account_id, uri, show_reblogs, notify, "
        "languages, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        follow["id"],
        follow["account_id"],
        follow["target_account_id"],
        follow.get("uri"),
        follow["show_reblogs"],
        follow["notify"],
        follow.get("languages"),
        follow["created_at"],
    )
    await accounts.recount_follows(conn, (follow["account_id"], follow["target_account_id"]))


_TABLES = ("follows", "follow_requests")


def _table(table: str) -> str:
    if table not in _TABLES:
        raise ValueError(table)
    return table


async def update_follow_options(
    conn: Connection,
    table: str,
    row_id: int,
    show_reblogs: bool,
    notify: bool,
    languages: str | None,
) -> None:
    """Change what an existing follow (`follows`) or request (`follow_requests`) will show:
    boosts, notifications, languages."""
    await conn.execute(
        f"UPDATE {_table(table)} SET show_reblogs = $1, notify = $2, languages = $3 WHERE id = $4",
        show_reblogs,
        notify,
        languages,
        row_id,
    )


async def follow_by_uri(conn: Connection, table: str, uri: str) -> FollowRow | None:
    """A follow (`follows`) or follow request (`follow_requests`) by its activity id."""
    return await fetchrow_as(conn, FollowRow, f"SELECT * FROM {_table(table)} WHERE uri = $1", uri)


async def set_follow_uri(conn: Connection, row_id: int, uri: str) -> None:
    """Name a follow or follow request by the id of its Follow activity: the one we send
    for a local account's (so the remote Accept or Reject can be matched to it), or a
    remote follower's latest (which a later Undo names)."""
    for table in _TABLES:
        await conn.execute(f"UPDATE {table} SET uri = $1 WHERE id = $2", uri, row_id)


async def delete_follow(conn: Connection, account_id: int, target_id: int) -> FollowRow | None:
    """Remove a follow (recounting both accounts); the removed row, or None."""
    row = await follow_row(conn, account_id, target_id)
    if row is None:
        return None
    await conn.execute("DELETE FROM follows WHERE id = $1", row["id"])
    await accounts.recount_follows(conn, (account_id, target_id))
    return row


async def delete_all_of(conn: Connection, account_id: int) -> list[tuple[int, int]]:
    """End every follow and follow request from or to an account that is going away,
    recounting every account concerned; the (follower, followed) pairs that were follows."""
    pairs = [
        (r["account_id"], r["target_account_id"])
        for r in await conn.fetch(
            "SELECT account_id, target_account_id FROM follows "
            "WHERE account_id = $1 OR target_account_id = $1",
            account_id,
        )
    ]
    await conn.execute(
        "DELETE FROM follows WHERE account_id = $1 OR target_account_id = $1", account_id
    )
    await conn.execute(
        "DELETE FROM follow_requests WHERE account_id = $1 OR target_account_id = $1",
        account_id,
    )
    await accounts.recount_follows(conn, sorted({i for pair in pairs for i in pair} | {account_id}))
    return pairs


async def local_followers(conn: Connection, account_id: int) -> list[FollowRow]:
    """The follows of the local accounts following this one, oldest first."""
    return await fetch_as(
        conn,
        FollowRow,
        "SELECT f.* FROM follows f JOIN accounts a ON a.id = f.account_id "
        "WHERE f.target_account_id = $1 AND a.domain IS NULL ORDER BY f.id",
        account_id,
    )


async def insert_request(conn: Connection, request: Mapping[str, Any]) -> None:
    """Ask to follow a locked account (`request` holds the follow columns)."""
    await conn.execute(
        "INSERT INTO follow_requests (id, account_id, target_account_id, uri, show_reblogs, "
        "notify, languages, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        request["id"],
        request["account_id"],
        request["target_account_id"],
        request.get("uri"),
        request["show_reblogs"],
        request["notify"],
        request.get("languages"),
        request["created_at"],
    )


async def delete_request(
    conn: Connection, account_id: int, target_id: int
) -> FollowRequestRow | None:
    """Withdraw, accept or reject a follow request; the removed row, or None."""
    row = await request_row(conn, account_id, target_id)
    if row is not None:
        await conn.execute("DELETE FROM follow_requests WHERE id = $1", row["id"])
    return row


async def relationship_facts(
    conn: Connection, viewer_id: int, target_ids: list[int]
) -> FollowFacts:
    """Follows and requests between the viewer and each target, both ways."""
    if not target_ids:
        return {"following": {}, "followed_by": {}, "requested": {}, "requested_by": {}}
    ids = placeholders(2, len(target_ids))
    # Requests are read before follows: each statement sees what was committed when it
    # began (READ COMMITTED), and an accepted request becomes a follow in one commit; read
    # the other way round, an Accept committing between the two reads hid both (a list
    # import then refused a member it had just asked to follow).
    requested = await fetch_as(
        conn,
        FollowRequestRow,
        f"SELECT * FROM follow_requests WHERE account_id = $1 AND target_account_id IN ({ids})",
        viewer_id,
        *target_ids,
    )
    requested_by = await fetch_as(
        conn,
        FollowRequestRow,
        f"SELECT * FROM follow_requests WHERE target_account_id = $1 AND account_id IN ({ids})",
        viewer_id,
        *target_ids,
    )
    following = await fetch_as(
        conn,
        FollowRow,
        f"SELECT * FROM follows WHERE account_id = $1 AND target_account_id IN ({ids})",
        viewer_id,
        *target_ids,
    )
    followed_by = await fetch_as(
        conn,
        FollowRow,
        f"SELECT * FROM follows WHERE target_account_id = $1 AND account_id IN ({ids})",
        viewer_id,
        *target_ids,
    )
    return {
        "following": {r["target_account_id"]: r for r in following},
        "followed_by": {r["account_id"]: r for r in followed_by},
        "requested": {r["target_account_id"]: r for r in requested},
        "requested_by": {r["account_id"]: r for r in requested_by},
    }


async def accounts_by_ids(conn: Connection, account_ids: list[int]) -> list[AccountRow]:
    """The accounts among `account_ids` that exist (any order)."""
    if not account_ids:
        return []
    return await fetch_as(
        conn,
        AccountRow,
        f"SELECT * FROM accounts WHERE id IN ({placeholders(1, len(account_ids))})",
        *account_ids,
    )


async def followers_page(conn: Connection, account_id: int, page: Page) -> list[AccountPageRow]:
    """Accounts following `account_id`, newest follow first (cursor: `page_id`)."""
    sql = (
        "SELECT a.*, f.id AS page_id FROM follows f JOIN accounts a ON a.id = f.account_id "
        "WHERE f.target_account_id = $1 AND a.suspended_at IS NULL"
    )
    return await fetch_page(conn, AccountPageRow, sql, [account_id], "f.id", page)


async def following_page(conn: Connection, account_id: int, page: Page) -> list[AccountPageRow]:
    """Accounts `account_id` follows, newest follow first (cursor: `page_id`)."""
    sql = (
        "SELECT a.*, f.id AS page_id FROM follows f JOIN accounts a ON a.id = f.target_account_id "
        "WHERE f.account_id = $1 AND a.suspended_at IS NULL"
    )
    return await fetch_page(conn, AccountPageRow, sql, [account_id], "f.id", page)


async def requests_page(conn: Connection, target_id: int, page: Page) -> list[AccountPageRow]:
    """Accounts asking to follow `target_id` (cursor: `page_id`)."""
    sql = (
        "SELECT a.*, r.id AS page_id FROM follow_requests r JOIN accounts a "
        "ON a.id = r.account_id WHERE r.target_account_id = $1 AND a.suspended_at IS NULL"
    )
    return await fetch_page(conn, AccountPageRow, sql, [target_id], "r.id", page)


async def pending_request_count(conn: Connection, target_id: int) -> int:
    """How many accounts ask to follow `target_id` (verify_credentials' count)."""
    return int(
        await conn.fetchval(
            "SELECT COUNT(*) FROM follow_requests WHERE target_account_id = $1", target_id
        )
    )


# Blocks and mutes --------------------------------------------------------------------------------


async def insert_block(
    conn: Connection,
    block_id: int,
    account_id: int,
    target_id: int,
    now: int,
    uri: str | None = None,
) -> bool:
    """Block an account (a remote account's block named by its activity's `uri`); False
    if it already was."""
    changed = await conn.execute(
        "INSERT INTO blocks (id, account_id, target_account_id, uri, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, target_account_id) DO NOTHING",
        block_id,
        account_id,
        target_id,
        uri,
        now,
    )
    return changed == 1


async def delete_block(conn: Connection, account_id: int, target_id: int) -> BlockRow | None:
    """Lift a block; the removed row, or None."""
    row = await fetchrow_as(
        conn,
        BlockRow,
        "SELECT * FROM blocks WHERE account_id = $1 AND target_account_id = $2",
        account_id,
        target_id,
    )
    if row is not None:
        await conn.execute("DELETE FROM blocks WHERE id = $1", row["id"])
    return row


async def is_follower(conn: Connection, follower_id: int, target_id: int) -> bool:
    """Whether `follower_id` follows `target_id`."""
    found = await conn.fetchval(
        "SELECT 1 FROM follows WHERE account_id = $1 AND target_account_id = $2",
        follower_id,
        target_id,
    )
    return found is not None


async def blocked_either_way(conn: Connection, a: int, b: int) -> bool:
    """Whether either account blocks the other."""
    found = await conn.fetchval(
        "SELECT 1 FROM blocks WHERE (account_id = $1 AND target_account_id = $2) "
        "OR (account_id = $2 AND target_account_id = $1)",
        a,
        b,
    )
    return found is not None


async def upsert_mute(
    conn: Connection,
    mute_id: int,
    account_id: int,
    target_id: int,
    hide_notifications: bool,
    expires_at: int | None,
    now: int,
) -> None:
    """Mute an account, or change an existing mute's settings."""
    await conn.execute(
        "INSERT INTO mutes (id, account_id, target_account_id, hide_notifications, expires_at, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, target_account_id) "
        "DO UPDATE SET hide_notifications = excluded.hide_notifications, "
        "expires_at = excluded.expires_at",
        mute_id,
        account_id,
        target_id,
        hide_notifications,
        expires_at,
        now,
    )


async def delete_mute(conn: Connection, account_id: int, target_id: int) -> bool:
    """Unmute an account; whether it was muted."""
    changed = await conn.execute(
        "DELETE FROM mutes WHERE account_id = $1 AND target_account_id = $2",
        account_id,
        target_id,
    )
    return changed > 0


async def block_and_mute_facts(
    conn: Connection, viewer_id: int, target_ids: list[int], now: int
) -> BlockAndMuteFacts:
    """Blocks both ways and the viewer's live mutes, per target."""
    if not target_ids:
        return {"blocking": {}, "blocked_by": {}, "muting": {}}
    ids = placeholders(2, len(target_ids))
    blocking = await fetch_as(
        conn,
        BlockRow,
        f"SELECT * FROM blocks WHERE account_id = $1 AND target_account_id IN ({ids})",
        viewer_id,
        *target_ids,
    )
    blocked_by = await fetch_as(
        conn,
        BlockRow,
        f"SELECT * FROM blocks WHERE target_account_id = $1 AND account_id IN ({ids})",
        viewer_id,
        *target_ids,
    )
    muting = await fetch_as(
        conn,
        MuteRow,
        f"SELECT * FROM mutes WHERE account_id = $1 AND target_account_id IN ({ids}) "
        f"AND (expires_at IS NULL OR expires_at > ${len(target_ids) + 2})",
        viewer_id,
        *target_ids,
        now,
    )
    return {
        "blocking": {r["target_account_id"]: r for r in blocking},
        "blocked_by": {r["account_id"]: r for r in blocked_by},
        "muting": {r["target_account_id"]: r for r in muting},
    }


async def local_blockers_and_muters(conn: Connection, target_id: int, now: int) -> list[BlockerRow]:
    """The local accounts that block or (live) mute an account: `account_id`, `kind`
    (`block` or `mute`) and, for a mute, `hide_notifications`."""
    return await fetch_as(
        conn,
        BlockerRow,
        "SELECT b.account_id, 'block' AS kind, FALSE AS hide_notifications FROM blocks b "
        "JOIN accounts a ON a.id = b.account_id WHERE b.target_account_id = $1 "
        "AND a.domain IS NULL UNION ALL "
        "SELECT m.account_id, 'mute', m.hide_notifications FROM mutes m "
        "JOIN accounts a ON a.id = m.account_id WHERE m.target_account_id = $1 "
        "AND a.domain IS NULL AND (m.expires_at IS NULL OR m.expires_at > $2) "
        "ORDER BY kind, account_id",
        target_id,
        now,
    )


async def blocks_page(conn: Connection, account_id: int, page: Page) -> list[AccountPageRow]:
    """Accounts the account blocks, newest block first (cursor: `page_id`)."""
    sql = (
        "SELECT a.*, b.id AS page_id FROM blocks b JOIN accounts a ON a.id = b.target_account_id "
        "WHERE b.account_id = $1"
    )
    return await fetch_page(conn, AccountPageRow, sql, [account_id], "b.id", page)


async def mutes_page(
    conn: Connection, account_id: int, page: Page, now: int
) -> list[MutedAccountPageRow]:
    """Accounts the account mutes (live mutes), newest first (cursor: `page_id`), with the
    mute's `mute_expires_at`."""
    sql = (
        "SELECT a.*, m.id AS page_id, m.expires_at AS mute_expires_at FROM mutes m "
        "JOIN accounts a ON a.id = m.target_account_id WHERE m.account_id = $1 "
        "AND (m.expires_at IS NULL OR m.expires_at > $2)"
    )
    return await fetch_page(conn, MutedAccountPageRow, sql, [account_id, now], "m.id", page)


# Notes and familiar followers ---------------------------------------------------------------------


async def set_note(
    conn: Connection, account_id: int, target_id: int, comment: str, now: int
) -> None:
    """Write (or, with an empty comment, erase) the account's private note on a target."""
    if not comment:
        await conn.execute(
            "DELETE FROM account_notes WHERE account_id = $1 AND target_account_id = $2",
            account_id,
            target_id,
        )
        return
    await conn.execute(
        "INSERT INTO account_notes (account_id, target_account_id, comment, updated_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, target_account_id) DO UPDATE SET "
        "comment = excluded.comment, updated_at = excluded.updated_at",
        account_id,
        target_id,
        comment,
        now,
    )


async def notes_on(conn: Connection, account_id: int, target_ids: list[int]) -> dict[int, str]:
    """The account's notes on each target that has one."""
    if not target_ids:
        return {}
    rows = await conn.fetch(
        "SELECT target_account_id, comment FROM account_notes WHERE account_id = $1 "
        f"AND target_account_id IN ({placeholders(2, len(target_ids))})",
        account_id,
        *target_ids,
    )
    return {r["target_account_id"]: r["comment"] for r in rows}


async def local_notes_about(conn: Connection, target_id: int) -> list[NoteTextRow]:
    """The notes local accounts wrote on an account (`account_id`, `comment`)."""
    return await fetch_as(
        conn,
        NoteTextRow,
        "SELECT n.account_id, n.comment FROM account_notes n JOIN accounts a "
        "ON a.id = n.account_id WHERE n.target_account_id = $1 AND a.domain IS NULL "
        "ORDER BY n.account_id",
        target_id,
    )


async def familiar_followers(conn: Connection, viewer_id: int, target_id: int) -> list[AccountRow]:
    """Accounts the viewer follows that follow the target (at most 80)."""
    return await fetch_as(
        conn,
        AccountRow,
        "SELECT a.* FROM follows f JOIN accounts a ON a.id = f.account_id "
        "WHERE f.target_account_id = $1 AND a.suspended_at IS NULL AND f.account_id IN "
        "(SELECT mine.target_account_id FROM follows mine WHERE mine.account_id = $2) "
        "ORDER BY f.id DESC LIMIT 80",
        target_id,
        viewer_id,
    )


# Endorsements ------------------------------------------------------------------------------------


async def endorse(conn: Connection, pin_id: int, account_id: int, target_id: int, now: int) -> None:
    """Feature an account on one's profile (again is harmless)."""
    await conn.execute(
        "INSERT INTO account_pins (id, account_id, target_account_id, created_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, target_account_id) DO NOTHING",
        pin_id,
        account_id,
        target_id,
        now,
    )


async def unendorse(conn: Connection, account_id: int, target_id: int) -> None:
    """Stop featuring an account."""
    await conn.execute(
        "DELETE FROM account_pins WHERE account_id = $1 AND target_account_id = $2",
        account_id,
        target_id,
    )


async def endorsed_ids(conn: Connection, account_id: int, target_ids: list[int]) -> set[int]:
    """Which targets the account features."""
    if not target_ids:
        return set()
    rows = await conn.fetch(
        "SELECT target_account_id FROM account_pins WHERE account_id = $1 "
        f"AND target_account_id IN ({placeholders(2, len(target_ids))})",
        account_id,
        *target_ids,
    )
    return {r["target_account_id"] for r in rows}


async def endorsements_page(conn: Connection, account_id: int, page: Page) -> list[AccountPageRow]:
    """The accounts an account features, newest first (cursor: `page_id`)."""
    sql = (
        "SELECT a.*, p.id AS page_id FROM account_pins p JOIN accounts a "
        "ON a.id = p.target_account_id WHERE p.account_id = $1 AND a.suspended_at IS NULL"
    )
    return await fetch_page(conn, AccountPageRow, sql, [account_id], "p.id", page)


# Follower URIs (followers synchronization) ----------------------------------------------------


async def follower_uris_of(conn: Connection, account_id: int, *, local: bool) -> list[str]:
    """The actor URIs of an account's local (or remote) followers, in no order."""
    rows = await conn.fetch(
        "SELECT a.uri FROM follows f JOIN accounts a ON a.id = f.account_id "
        f"WHERE f.target_account_id = $1 AND a.domain IS {'' if local else 'NOT '}NULL",
        account_id,
    )
    return [str(r["uri"]) for r in rows]


async def follower_uris_under(conn: Connection, account_id: int, prefix: str) -> list[str]:
    """The actor URIs of an account's followers on one origin (`scheme://host[:port]`, as
    Mastodon matches it: the URI is the prefix or starts with it and a `/`)."""
    rows = await conn.fetch(
        "SELECT a.uri FROM follows f JOIN accounts a ON a.id = f.account_id "
        "WHERE f.target_account_id = $1 AND (a.uri = $2 OR substr(a.uri, 1, $3) = $4) "
        "ORDER BY f.id",
        account_id,
        prefix,
        len(prefix) + 1,
        f"{prefix}/",
    )
    return [str(r["uri"]) for r in rows]
