"""Publishers of links (Mastodon's PreviewCardProvider) and their trends review."""

from __future__ import annotations

from collections.abc import Iterable

from .base import Connection, fetch_as, fetchrow_as
from .paging import found_among
from .rows import PreviewCardProviderRow


async def ensure(conn: Connection, ids: Iterable[int], domains: Iterable[str], now: int) -> None:
    """A row for each of these domains (each paired with a fresh id), kept if there is one."""
    for provider_id, domain in zip(ids, domains, strict=False):
        await conn.execute(
            "INSERT INTO preview_card_providers (id, domain, requested_review_at, created_at, "
            "updated_at) VALUES ($1, $2, $3, $3, $3) ON CONFLICT (domain) DO NOTHING",
            provider_id,
            domain,
            now,
        )


async def listing(conn: Connection, limit: int, offset: int) -> list[PreviewCardProviderRow]:
    """Publishers waiting for review first, then by domain."""
    return await fetch_as(
        conn,
        PreviewCardProviderRow,
        "SELECT * FROM preview_card_providers "
        "ORDER BY CASE WHEN trendable IS NULL THEN 0 ELSE 1 END, domain LIMIT $1 OFFSET $2",
        limit,
        offset,
    )


async def review(
    conn: Connection, provider_id: int, trendable: bool, now: int
) -> PreviewCardProviderRow | None:
    """Approve or reject a publisher; the row after, None if there is none."""
    await conn.execute(
        "UPDATE preview_card_providers SET trendable = $1, reviewed_at = $2, updated_at = $2 "
        "WHERE id = $3",
        trendable,
        now,
        provider_id,
    )
    return await fetchrow_as(
        conn,
        PreviewCardProviderRow,
        "SELECT * FROM preview_card_providers WHERE id = $1",
        provider_id,
    )


async def approved_among(conn: Connection, domains: Iterable[str]) -> set[str]:
    """Which of these publishers an admin approved."""
    return await found_among(
        conn,
        "SELECT domain FROM preview_card_providers WHERE trendable AND domain IN",
        sorted(set(domains)),
    )
