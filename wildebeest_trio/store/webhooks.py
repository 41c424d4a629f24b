"""Admin webhooks: where events are posted, which events, and the secret that signs them."""

from __future__ import annotations

import json

from .base import Connection, fetch_as, fetchrow_as
from .rows import WebhookRow


async def insert(
    conn: Connection, webhook_id: int, url: str, events: list[str], secret: str, now: int
) -> WebhookRow:
    """A new, enabled webhook; the stored row."""
    await conn.execute(
        "INSERT INTO webhooks (id, url, events, secret, enabled, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, TRUE, $5, $5)",
        webhook_id,
        url,
        json.dumps(events),
        secret,
        now,
    )
    row = await by_id(conn, webhook_id)
    assert row is not None
    return row


async def by_id(conn: Connection, webhook_id: int) -> WebhookRow | None:
    return await fetchrow_as(conn, WebhookRow, "SELECT * FROM webhooks WHERE id = $1", webhook_id)


async def listing(conn: Connection) -> list[WebhookRow]:
    """Every webhook, oldest first (an instance has a handful)."""
    return await fetch_as(conn, WebhookRow, "SELECT * FROM webhooks ORDER BY id")


async def enabled(conn: Connection) -> list[WebhookRow]:
    """The webhooks that are on."""
    return await fetch_as(conn, WebhookRow, "SELECT * FROM webhooks WHERE enabled ORDER BY id")


async def set_enabled(conn: Connection, webhook_id: int, on: bool, now: int) -> None:
    await conn.execute(
        "UPDATE webhooks SET enabled = $2, updated_at = $3 WHERE id = $1", webhook_id, on, now
    )


async def set_secret(conn: Connection, webhook_id: int, secret: str, now: int) -> None:
    await conn.execute(
        "UPDATE webhooks SET secret = $2, updated_at = $3 WHERE id = $1", webhook_id, secret, now
    )


async def delete(conn: Connection, webhook_id: int) -> None:
    await conn.execute("DELETE FROM webhooks WHERE id = $1", webhook_id)
