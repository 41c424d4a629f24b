"""Timeline read markers."""

from __future__ import annotations

from .base import Connection, fetch_as
from .rows import MarkerRow


async def markers_of(conn: Connection, account_id: int) -> list[MarkerRow]:
    """Every marker an account has set."""
    return await fetch_as(
        conn, MarkerRow, "SELECT * FROM markers WHERE account_id = $1", account_id
    )


async def save(
    conn: Connection, account_id: int, timeline: str, last_read_id: int, now: int
) -> None:
    """Move a marker (its version counts the moves)."""
    await conn.execute(
        "INSERT INTO markers (account_id, timeline, last_read_id, version, updated_at) "
        "VALUES ($1, $2, $3, 0, $4) ON CONFLICT (account_id, timeline) DO UPDATE SET "
        "last_read_id = excluded.last_read_id, version = markers.version + 1, "
        "updated_at = excluded.updated_at",
        account_id,
        timeline,
        last_read_id,
        now,
    )
