"""Blocked e-mail addresses, by the hash of their canonical form (Mastodon's
CanonicalEmailBlock)."""

from __future__ import annotations

from .base import Connection, fetch_as, fetchrow_as
from .paging import Page, fetch_page
from .rows import CanonicalEmailBlockRow


async def insert(
    conn: Connection, block_id: int, digest: str, reference_account_id: int | None, now: int
) -> CanonicalEmailBlockRow | None:
    """Block a canonical address's hash; None when it was blocked already."""
    done = await conn.fetch(
        "INSERT INTO canonical_email_blocks (id, canonical_email_hash, reference_account_id, "
        "created_at, updated_at) VALUES ($1, $2, $3, $4, $4) "
        "ON CONFLICT (canonical_email_hash) DO NOTHING RETURNING id",
        block_id,
        digest,
        reference_account_id,
        now,
    )
    return await by_id(conn, block_id) if done else None


async def by_id(conn: Connection, block_id: int) -> CanonicalEmailBlockRow | None:
    return await fetchrow_as(
        conn, CanonicalEmailBlockRow, "SELECT * FROM canonical_email_blocks WHERE id = $1", block_id
    )


async def by_hash(conn: Connection, digest: str) -> list[CanonicalEmailBlockRow]:
    return await fetch_as(
        conn,
        CanonicalEmailBlockRow,
        "SELECT * FROM canonical_email_blocks WHERE canonical_email_hash = $1",
        digest,
    )


async def delete(conn: Connection, block_id: int) -> None:
    await conn.execute("DELETE FROM canonical_email_blocks WHERE id = $1", block_id)


async def page(conn: Connection, at: Page) -> list[CanonicalEmailBlockRow]:
    return await fetch_page(
        conn,
        CanonicalEmailBlockRow,
        "SELECT * FROM canonical_email_blocks WHERE TRUE",
        [],
        "id",
        at,
    )
