"""Scheduled statuses: what to post and when, and the uploads they will attach."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .base import Connection, Row, row_as
from .paging import Page, fetch_page, placeholders
from .rows import ScheduledStatusRow


def _decoded(row: Row) -> ScheduledStatusRow:
    row["params"] = json.loads(row["params"])
    return row_as(ScheduledStatusRow, row)


async def insert(conn: Connection, row: Mapping[str, Any], media_ids: list[int]) -> None:
    """Record a scheduled status (`row`: id, account_id, scheduled_at, params,
    application_id, idempotency_key, created_at) and reserve its uploads."""
    await conn.execute(
        "INSERT INTO scheduled_statuses (id, account_id, scheduled_at, params, application_id, "
        "idempotency_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        row["id"],
        row["account_id"],
        row["scheduled_at"],
        json.dumps(row["params"], separators=(",", ":"), ensure_ascii=False),
        row["application_id"],
        row.get("idempotency_key"),
        row["created_at"],
    )
    await conn.executemany(
        "INSERT INTO scheduled_status_media (scheduled_status_id, media_attachment_id, position) "
        "VALUES ($1, $2, $3)",
        [(row["id"], media_id, i) for i, media_id in enumerate(media_ids)],
    )


async def by_id(conn: Connection, scheduled_id: int) -> ScheduledStatusRow | None:
    """One scheduled status."""
    row = await conn.fetchrow("SELECT * FROM scheduled_statuses WHERE id = $1", scheduled_id)
    return None if row is None else _decoded(row)


async def by_idempotency_key(
    conn: Connection, account_id: int, key: str
) -> ScheduledStatusRow | None:
    """The scheduled status an account created with an Idempotency-Key, if still pending."""
    row = await conn.fetchrow(
        "SELECT * FROM scheduled_statuses WHERE account_id = $1 AND idempotency_key = $2",
        account_id,
        key,
    )
    return None if row is None else _decoded(row)


async def forget_idempotency_key(conn: Connection, scheduled_id: int) -> None:
    """Free a key whose hour is over, so the client may use it again."""
    await conn.execute(
        "UPDATE scheduled_statuses SET idempotency_key = NULL WHERE id = $1", scheduled_id
    )


async def page_of(conn: Connection, account_id: int, page: Page) -> list[ScheduledStatusRow]:
    """An account's scheduled statuses, newest first by id."""
    rows = await fetch_page(
        conn,
        Row,
        "SELECT * FROM scheduled_statuses ss WHERE ss.account_id = $1",
        [account_id],
        "ss.id",
        page,
    )
    return [_decoded(r) for r in rows]


async def media_of(conn: Connection, scheduled_ids: list[int]) -> dict[int, list[int]]:
    """The reserved upload ids of several scheduled statuses, in their order."""
    if not scheduled_ids:
        return {}
    rows = await conn.fetch(
        "SELECT scheduled_status_id, media_attachment_id FROM scheduled_status_media "
        f"WHERE scheduled_status_id IN ({placeholders(1, len(scheduled_ids))}) "
        "ORDER BY position",
        *scheduled_ids,
    )
    found: dict[int, list[int]] = {}
    for r in rows:
        found.setdefault(r["scheduled_status_id"], []).append(r["media_attachment_id"])
    return found


async def reserved_elsewhere(conn: Connection, media_ids: list[int]) -> bool:
    """Whether any of the uploads is already reserved by a scheduled status."""
    if not media_ids:
        return False
    found = await conn.fetchval(
        "SELECT COUNT(*) FROM scheduled_status_media "
        f"WHERE media_attachment_id IN ({placeholders(1, len(media_ids))})",
        *media_ids,
    )
    return int(found) > 0


async def pending_count(conn: Connection, account_id: int) -> int:
    """How many statuses an account has scheduled."""
    return int(
        await conn.fetchval(
            "SELECT COUNT(*) FROM scheduled_statuses WHERE account_id = $1", account_id
        )
    )


async def count_between(
    conn: Connection, account_id: int, start: int, end: int, excluding: int | None = None
) -> int:
    """How many of an account's scheduled statuses fall in `[start, end)` (one day)."""
    return int(
        await conn.fetchval(
            "SELECT COUNT(*) FROM scheduled_statuses WHERE account_id = $1 "
            "AND scheduled_at >= $2 AND scheduled_at < $3 AND id <> $4",
            account_id,
            start,
            end,
            excluding or 0,
        )
    )


async def reschedule(conn: Connection, scheduled_id: int, scheduled_at: int) -> None:
    """Move a scheduled status to another time."""
    await conn.execute(
        "UPDATE scheduled_statuses SET scheduled_at = $1 WHERE id = $2",
        scheduled_at,
        scheduled_id,
    )


async def delete(conn: Connection, scheduled_id: int) -> bool:
    """Remove a scheduled status; False if it was already gone (published or deleted)."""
    await conn.execute(
        "DELETE FROM scheduled_status_media WHERE scheduled_status_id = $1", scheduled_id
    )
    changed = await conn.execute("DELETE FROM scheduled_statuses WHERE id = $1", scheduled_id)
    return changed == 1
