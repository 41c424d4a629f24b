"""Translations of statuses, kept per target language and edition.

Every write to `status_translations` is here.
"""

from __future__ import annotations

from .base import Connection, fetchval_as

__all__ = ["Connection"]


async def cached(conn: Connection, status_id: int, language: str, edition: int) -> str | None:
    """The stored Translation entity (JSON) of this edition into `language`, if any."""
    return await fetchval_as(
        conn,
        str,
        "SELECT translation FROM status_translations "
        "WHERE status_id = $1 AND language = $2 AND edition = $3",
        status_id,
        language,
        edition,
    )


async def keep(
    conn: Connection, status_id: int, language: str, edition: int, translation: str, now: int
) -> None:
    """Store a translation (a concurrent request's copy of the same one wins quietly)."""
    await conn.execute(
        "INSERT INTO status_translations (status_id, language, edition, translation, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (status_id, language, edition) DO NOTHING",
        status_id,
        language,
        edition,
        translation,
        now,
    )


async def forget_before(conn: Connection, before: int) -> int:
    """Drop translations made before `before` (older editions and stale copies); how many."""
    return await conn.execute("DELETE FROM status_translations WHERE created_at < $1", before)
