"""The terms of service, one row per version and the date it takes effect."""

from __future__ import annotations

from .base import Connection, fetch_as, fetchrow_as
from .effects import INSTANCE_FACTS_CHANGED
from .rows import TermsOfServiceRow

_COLUMNS = (
    "id, effective_date, content, changelog, created_at, updated_at, notification_sent_at, "
    "notified_through"
)


async def all_versions(conn: Connection) -> list[TermsOfServiceRow]:
    """Every version, the latest effective date first."""
    return await fetch_as(
        conn,
        TermsOfServiceRow,
        f"SELECT {_COLUMNS} FROM terms_of_service ORDER BY effective_date DESC",
    )


async def by_date(conn: Connection, effective_date: str) -> TermsOfServiceRow | None:
    """The version that takes effect on `effective_date` (YYYY-MM-DD)."""
    return await fetchrow_as(
        conn,
        TermsOfServiceRow,
        f"SELECT {_COLUMNS} FROM terms_of_service WHERE effective_date = $1",
        effective_date,
    )


async def put_version(
    conn: Connection,
    *,
    version_id: int,
    effective_date: str,
    content: str,
    changelog: str,
    now: int,
) -> None:
    """Add the version for a date, or replace what that date's version says."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    await conn.execute(
        "INSERT INTO terms_of_service "
        "(id, effective_date, content, changelog, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $5) "
        "ON CONFLICT (effective_date) DO UPDATE SET content = excluded.content, "
        "changelog = excluded.changelog, updated_at = excluded.updated_at",
        version_id,
        effective_date,
        content,
        changelog,
        now,
    )


async def delete_version(conn: Connection, effective_date: str) -> bool:
    """Remove a version; whether there was one."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    changed = await conn.execute(
        "DELETE FROM terms_of_service WHERE effective_date = $1", effective_date
    )
    return bool(changed == 1)


async def mark_notified(conn: Connection, effective_date: str, now: int) -> bool:
    """Record that users were told about a version; false if it is unknown or they were
    told already (one notice per version, as Mastodon's `notification_sent_at`)."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    changed = await conn.execute(
        "UPDATE terms_of_service SET notification_sent_at = $2 "
        "WHERE effective_date = $1 AND notification_sent_at IS NULL",
        effective_date,
        now,
    )
    return bool(changed == 1)


async def advance_notified(conn: Connection, effective_date: str, through: int) -> None:
    """Note the last user told about a version (the notice job's cursor)."""
    await conn.execute(
        "UPDATE terms_of_service SET notified_through = $2 WHERE effective_date = $1",
        effective_date,
        through,
    )
