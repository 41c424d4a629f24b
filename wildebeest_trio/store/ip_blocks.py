"""Address ranges refused at sign-up, login or any use (Mastodon's IpBlock)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Connection, fetch_as, fetchrow_as
from .paging import Page, fetch_page
from .rows import IpBlockRow


async def insert(conn: Connection, block: Mapping[str, Any]) -> IpBlockRow | None:
    """Store a block; None when that range is blocked already."""
    done = await conn.fetch(
        "INSERT INTO ip_blocks (id, ip, severity, comment, expires_at, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (ip) DO NOTHING RETURNING id",
        block["id"],
        block["ip"],
        block["severity"],
        block["comment"],
        block["expires_at"],
        block["now"],
    )
    return await by_id(conn, block["id"]) if done else None


async def update(conn: Connection, block: Mapping[str, Any]) -> None:
    await conn.execute(
        "UPDATE ip_blocks SET ip = $1, severity = $2, comment = $3, expires_at = $4, "
        "updated_at = $5 WHERE id = $6",
        block["ip"],
        block["severity"],
        block["comment"],
        block["expires_at"],
        block["now"],
        block["id"],
    )


async def by_id(conn: Connection, block_id: int) -> IpBlockRow | None:
    return await fetchrow_as(conn, IpBlockRow, "SELECT * FROM ip_blocks WHERE id = $1", block_id)


async def delete(conn: Connection, block_id: int) -> None:
    await conn.execute("DELETE FROM ip_blocks WHERE id = $1", block_id)


async def page(conn: Connection, at: Page) -> list[IpBlockRow]:
    return await fetch_page(conn, IpBlockRow, "SELECT * FROM ip_blocks WHERE TRUE", [], "id", at)


async def live(conn: Connection, now: int) -> list[IpBlockRow]:
    """Every block that has not expired (few: an instance keeps tens, not millions)."""
    return await fetch_as(
        conn,
        IpBlockRow,
        "SELECT * FROM ip_blocks WHERE expires_at IS NULL OR expires_at > $1 LIMIT 100000",
        now,
    )
