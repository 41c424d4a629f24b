"""Cross-process stream events: NOTIFY on PostgreSQL, with large payloads parked in a table."""

from __future__ import annotations

from .base import Connection, Row

NOTIFY_CHANNEL = "wildebeest_stream"


async def notify(conn: Connection, message: str) -> None:
    """Send a message to every listening process (PostgreSQL only; delivered on commit)."""
    await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, message)


async def park_payload(
    conn: Connection, payload_id: int, channel: str, event: str, payload: str, now: int
) -> None:
    await conn.execute(
        "INSERT INTO stream_payloads (id, channel, event, payload, created_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        payload_id,
        channel,
        event,
        payload,
        now,
    )


async def parked_payload(conn: Connection, payload_id: int) -> Row | None:
    return await conn.fetchrow(
        "SELECT channel, event, payload FROM stream_payloads WHERE id = $1", payload_id
    )


async def purge_payloads(conn: Connection, before: int) -> int:
    return await conn.execute("DELETE FROM stream_payloads WHERE created_at < $1", before)
