"""Inbound federation: seen activity ids, tombstones, and the lookups handlers need."""

from __future__ import annotations

from .base import Connection, fetch_as, fetchrow_as
from .paging import placeholders
from .rows import AccountRow, FavouriteRow, StatusRow


async def remember_activities(
    conn: Connection, activities: list[tuple[str, str]], now: int
) -> set[str]:
    """Record accepted activity ids, (id, actor URI) each, in one statement; the ids that
    were new (the others had been accepted already: replays)."""
    if not activities:
        return set()
    rows = ", ".join(f"(${2 * i + 2}, ${2 * i + 3}, $1)" for i in range(len(activities)))
    new = await conn.fetch(
        f"INSERT INTO inbox_activities (uri, actor_uri, received_at) VALUES {rows} "
        "ON CONFLICT (uri) DO NOTHING RETURNING uri",
        now,
        *(value for activity in activities for value in activity),
    )
    return {row["uri"] for row in new}


async def activity_seen(conn: Connection, uri: str) -> bool:
    """Whether an activity id was already accepted."""
    return await conn.fetchval("SELECT 1 FROM inbox_activities WHERE uri = $1", uri) is not None


async def forget_activities(conn: Connection, before: int) -> int:
    """Drop seen ids older than `before` (senders stop retrying long before)."""
    return await conn.execute("DELETE FROM inbox_activities WHERE received_at < $1", before)


async def add_tombstone(conn: Connection, uri: str, account_id: int | None, now: int) -> None:
    """Remember that a remote object was deleted."""
    await conn.execute(
        "INSERT INTO status_tombstones (uri, account_id, created_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (uri) DO NOTHING",
        uri,
        account_id,
        now,
    )


async def is_tombstoned(conn: Connection, uri: str) -> bool:
    """Whether a remote object was deleted here."""
    return await conn.fetchval("SELECT 1 FROM status_tombstones WHERE uri = $1", uri) is not None


async def account_by_uri(conn: Connection, uri: str) -> AccountRow | None:
    """Any account (local or remote) by actor URI."""
    return await fetchrow_as(conn, AccountRow, "SELECT * FROM accounts WHERE uri = $1", uri)


async def accounts_by_uris(conn: Connection, uris: list[str]) -> list[AccountRow]:
    """The known accounts among actor URIs (local ones, and remote ones not suspended)."""
    if not uris:
        return []
    return await fetch_as(
        conn,
        AccountRow,
        f"SELECT * FROM accounts WHERE uri IN ({placeholders(1, len(uris))})",
        *uris,
    )


async def status_by_uri(conn: Connection, uri: str) -> StatusRow | None:
    """A live status by its ActivityPub id."""
    return await fetchrow_as(
        conn, StatusRow, "SELECT * FROM statuses WHERE uri = $1 AND deleted_at IS NULL", uri
    )


async def any_status_by_uri(conn: Connection, uri: str) -> StatusRow | None:
    """A status by its ActivityPub id, deleted or not."""
    return await fetchrow_as(conn, StatusRow, "SELECT * FROM statuses WHERE uri = $1", uri)


async def has_local_follower(conn: Connection, account_id: int) -> bool:
    """Whether any local account follows this one."""
    found = await conn.fetchval(
        "SELECT 1 FROM follows f JOIN accounts a ON a.id = f.account_id "
        "WHERE f.target_account_id = $1 AND a.domain IS NULL LIMIT 1",
        account_id,
    )
    return found is not None


async def favourite_of(conn: Connection, account_id: int, status_id: int) -> FavouriteRow | None:
    """The account's favourite of a status, if any."""
    return await fetchrow_as(
        conn,
        FavouriteRow,
        "SELECT * FROM favourites WHERE account_id = $1 AND status_id = $2",
        account_id,
        status_id,
    )


async def favourite_by_uri(conn: Connection, account_id: int, uri: str) -> FavouriteRow | None:
    """An account's favourite by its Like activity's id."""
    return await fetchrow_as(
        conn,
        FavouriteRow,
        "SELECT * FROM favourites WHERE uri = $1 AND account_id = $2",
        uri,
        account_id,
    )


async def live_statuses_of(conn: Connection, account_id: int, limit: int) -> list[StatusRow]:
    """Up to `limit` live statuses of an account, boosts after originals."""
    return await fetch_as(
        conn,
        StatusRow,
        "SELECT * FROM statuses WHERE account_id = $1 AND deleted_at IS NULL "
        "ORDER BY reblog_of_id IS NOT NULL, id LIMIT $2",
        account_id,
        limit,
    )


async def favourites_of(conn: Connection, account_id: int) -> list[FavouriteRow]:
    """Every favourite an account made."""
    return await fetch_as(
        conn, FavouriteRow, "SELECT * FROM favourites WHERE account_id = $1", account_id
    )
