"""Rows of account archives (Mastodon's backups): asked for, built by a job, kept a week."""

from __future__ import annotations

from .base import Connection, fetch_as, fetchrow_as
from .rows import AccountArchiveRow


async def insert(conn: Connection, archive_id: int, account_id: int, now: int) -> None:
    """A new archive, to be built."""
    await conn.execute(
        "INSERT INTO account_archives (id, account_id, state, created_at) "
        "VALUES ($1, $2, 'building', $3)",
        archive_id,
        account_id,
        now,
    )


async def archive_by_id(conn: Connection, archive_id: int) -> AccountArchiveRow | None:
    return await fetchrow_as(
        conn, AccountArchiveRow, "SELECT * FROM account_archives WHERE id = $1", archive_id
    )


async def archives_of(conn: Connection, account_id: int) -> list[AccountArchiveRow]:
    """The account's archives, newest first."""
    return await fetch_as(
        conn,
        AccountArchiveRow,
        "SELECT * FROM account_archives WHERE account_id = $1 ORDER BY id DESC LIMIT 20",
        account_id,
    )


async def latest_since(conn: Connection, account_id: int, since: int) -> AccountArchiveRow | None:
    """The account's newest archive asked for since `since` (failed ones do not count)."""
    return await fetchrow_as(
        conn,
        AccountArchiveRow,
        "SELECT * FROM account_archives WHERE account_id = $1 AND created_at >= $2 "
        "AND state <> 'failed' ORDER BY id DESC LIMIT 1",
        account_id,
        since,
    )


async def mark_ready(
    conn: Connection, archive_id: int, file_key: str, size: int, now: int, expires_at: int
) -> bool:
    """A built archive; whether it was still being built."""
    changed = await conn.execute(
        "UPDATE account_archives SET state = 'ready', file_key = $2, size = $3, ready_at = $4, "
        "expires_at = $5 WHERE id = $1 AND state = 'building'",
        archive_id,
        file_key,
        size,
        now,
        expires_at,
    )
    return changed > 0


async def mark_failed(conn: Connection, archive_id: int) -> None:
    await conn.execute(
        "UPDATE account_archives SET state = 'failed' WHERE id = $1 AND state = 'building'",
        archive_id,
    )


async def expired(conn: Connection, now: int, before: int) -> list[AccountArchiveRow]:
    """Archives past their time (ready ones) or asked for before `before` (any)."""
    return await fetch_as(
        conn,
        AccountArchiveRow,
        "SELECT * FROM account_archives WHERE expires_at < $1 OR created_at < $2 LIMIT 500",
        now,
        before,
    )


async def delete(conn: Connection, archive_id: int) -> None:
    await conn.execute("DELETE FROM account_archives WHERE id = $1", archive_id)
