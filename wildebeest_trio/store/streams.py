"""Cross-process stream events: NOTIFY on PostgreSQL, with large payloads parked in a table."""

from __future__ import annotations

from .base import Connection, fetchrow_as
from .rows import AudienceStatusRow, ParkedPayloadRow, StatusAudience

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


async def parked_payload(conn: Connection, payload_id: int) -> ParkedPayloadRow | None:
    return await fetchrow_as(
        conn,
        ParkedPayloadRow,
        "SELECT channel, event, payload FROM stream_payloads WHERE id = $1",
        payload_id,
    )


async def purge_payloads(conn: Connection, before: int) -> int:
    return await conn.execute("DELETE FROM stream_payloads WHERE created_at < $1", before)


async def status_audience(conn: Connection, status_id: int) -> StatusAudience | None:
    """Who a status reaches live: its author's local followers, mentioned local accounts,
    its hashtags, its visibility, and whether it is local."""
    status = await fetchrow_as(
        conn,
        AudienceStatusRow,
        "SELECT id, account_id, visibility, local, reblog_of_id FROM statuses WHERE id = $1",
        status_id,
    )
    if status is None:
        return None
    followers = await conn.fetch(
        "SELECT f.account_id FROM follows f JOIN accounts a ON a.id = f.account_id "
        "WHERE f.target_account_id = $1 AND a.domain IS NULL",
        status["account_id"],
    )
    proper = status["reblog_of_id"] or status["id"]
    mentioned = await conn.fetch(
        "SELECT m.account_id FROM mentions m JOIN accounts a ON a.id = m.account_id "
        "WHERE m.status_id = $1 AND a.domain IS NULL",
        proper,
    )
    tags = await conn.fetch(
        "SELECT t.name FROM statuses_tags st JOIN tags t ON t.id = st.tag_id "
        "WHERE st.status_id = $1",
        proper,
    )
    media = await conn.fetchval(
        "SELECT 1 FROM media_attachments WHERE status_id = $1 LIMIT 1", proper
    )
    return {
        "status": status,
        "followers": [r["account_id"] for r in followers],
        "mentioned": [r["account_id"] for r in mentioned],
        "tags": [r["name"] for r in tags],
        "with_media": media is not None,
    }
