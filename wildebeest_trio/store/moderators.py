"""Who moderates: the local accounts whose users hold the admin or moderator role."""

from __future__ import annotations

from .base import Connection, fetch_as
from .rows import StatusRow
from .statuses import visible_sql


async def staff_account_ids(conn: Connection) -> list[int]:
    """Accounts of enabled local admins and moderators (they are told about reports)."""
    rows = await conn.fetch(
        "SELECT u.account_id FROM users u JOIN accounts a ON a.id = u.account_id "
        "WHERE u.role IN ('admin', 'moderator') AND NOT u.disabled AND a.suspended_at IS NULL "
        "ORDER BY u.account_id"
    )
    return [r["account_id"] for r in rows]


async def statuses_of_account(
    conn: Connection, account_id: int, status_ids: list[int], viewer_id: int
) -> set[int]:
    """Which of `status_ids` the account wrote and the viewer (a reporter) may see, deleted
    ones included, as reports keep them."""
    if not status_ids:
        return set()
    marks = ", ".join(f"${i + 3}" for i in range(len(status_ids)))
    rows = await conn.fetch(
        f"SELECT s.id FROM statuses s WHERE s.account_id = $1 AND {visible_sql('s', '$2')} "
        f"AND s.id IN ({marks})",
        account_id,
        viewer_id,
        *status_ids,
    )
    return {r["id"] for r in rows}


async def status_uris(conn: Connection, status_ids: list[int]) -> list[str]:
    """The ActivityPub ids of statuses, in the given order."""
    if not status_ids:
        return []
    marks = ", ".join(f"${i + 1}" for i in range(len(status_ids)))
    rows = await conn.fetch(f"SELECT id, uri FROM statuses WHERE id IN ({marks})", *status_ids)
    by_id = {r["id"]: r["uri"] for r in rows}
    return [by_id[i] for i in status_ids if i in by_id]


async def statuses_by_ids(conn: Connection, status_ids: list[int]) -> list[StatusRow]:
    """Statuses by id, deleted ones included (a report keeps what it was about)."""
    if not status_ids:
        return []
    marks = ", ".join(f"${i + 1}" for i in range(len(status_ids)))
    return await fetch_as(
        conn, StatusRow, f"SELECT * FROM statuses WHERE id IN ({marks})", *status_ids
    )
