"""The outbox: domain events recorded in the transaction of the action they describe."""

from __future__ import annotations

import json
from typing import Any

from ..ids import IdGenerator, now_ms
from .base import Connection, Row


async def record(
    conn: Connection,
    ids: IdGenerator,
    event: str,
    account_id: int,
    object_id: int | None,
    payload: dict[str, Any] | None = None,
) -> int:
    """Append an event inside the caller's unit (so it commits with the change); its id."""
    event_id = ids.next_id()
    await conn.execute(
        "INSERT INTO outbox (id, event, account_id, object_id, payload, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        event_id,
        event,
        account_id,
        object_id,
        json.dumps(payload or {}, separators=(",", ":")),
        now_ms(),
    )
    return event_id


async def pending(conn: Connection, limit: int = 100) -> list[Row]:
    """Events not yet dispatched, oldest first."""
    return await conn.fetch(
        "SELECT * FROM outbox WHERE dispatched_at IS NULL ORDER BY id LIMIT $1", limit
    )


async def mark_dispatched(conn: Connection, event_ids: list[int], now: int) -> None:
    """Mark events as handed to federation."""
    await conn.executemany(
        "UPDATE outbox SET dispatched_at = $1 WHERE id = $2", [(now, i) for i in event_ids]
    )
