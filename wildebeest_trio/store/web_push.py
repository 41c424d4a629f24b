"""Web Push subscriptions: one per access token, read only while the token is live."""

from __future__ import annotations

import json

from .base import Connection, Row, fetchval_as, row_as
from .rows import WebPushSubscriptionRow

_COLUMNS = (
    "s.id, s.access_token_id, s.account_id, s.endpoint, s.key_p256dh, s.key_auth, "
    "s.standard, s.alerts, s.policy, s.created_at, s.updated_at"
)
# A revoked token keeps its row (revocation sets `revoked_at`), so the cascade does not fire:
# every read joins the token and ignores subscriptions of revoked ones.
_LIVE = (
    "FROM web_push_subscriptions s JOIN oauth_access_tokens t ON t.id = s.access_token_id "
    "WHERE t.revoked_at IS NULL"
)


def _decoded(row: Row) -> WebPushSubscriptionRow:
    row["standard"] = bool(row["standard"])
    row["alerts"] = json.loads(row["alerts"]) if row["alerts"] else {}
    return row_as(WebPushSubscriptionRow, row)


async def replace_for_token(
    conn: Connection,
    *,
    access_token_id: int,
    account_id: int,
    endpoint: str,
    key_p256dh: str,
    key_auth: str,
    standard: bool,
    alerts: dict[str, bool],
    policy: str,
    now: int,
) -> WebPushSubscriptionRow:
    """Delete the token's subscription, if any, and store a new one; the new row."""
    await conn.execute(
        "DELETE FROM web_push_subscriptions WHERE access_token_id = $1", access_token_id
    )
    new_id = await fetchval_as(
        conn,
        int,
        "INSERT INTO web_push_subscriptions (access_token_id, account_id, endpoint, key_p256dh, "
        "key_auth, standard, alerts, policy, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        access_token_id,
        account_id,
        endpoint,
        key_p256dh,
        key_auth,
        standard,
        json.dumps(alerts, separators=(",", ":")),
        policy,
        now,
    )
    assert new_id is not None
    row = await by_id(conn, new_id)
    assert row is not None
    return row


async def for_token(conn: Connection, access_token_id: int) -> WebPushSubscriptionRow | None:
    """The subscription of a live token, or None."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} {_LIVE} AND s.access_token_id = $1", access_token_id
    )
    return None if row is None else _decoded(row)


async def by_id(conn: Connection, subscription_id: int) -> WebPushSubscriptionRow | None:
    """A subscription whose token is still live, or None."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} {_LIVE} AND s.id = $1", subscription_id)
    return None if row is None else _decoded(row)


async def for_account(conn: Connection, account_id: int) -> list[WebPushSubscriptionRow]:
    """Every live subscription of an account (one per signed-in app)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} {_LIVE} AND s.account_id = $1 ORDER BY s.id", account_id
    )
    return [_decoded(r) for r in rows]


async def update_data(
    conn: Connection, access_token_id: int, *, alerts: dict[str, bool], policy: str, now: int
) -> bool:
    """Change a token's alerts and policy; False when it has no subscription."""
    changed = await conn.execute(
        "UPDATE web_push_subscriptions SET alerts = $1, policy = $2, updated_at = $3 "
        "WHERE access_token_id = $4",
        json.dumps(alerts, separators=(",", ":")),
        policy,
        now,
        access_token_id,
    )
    return changed > 0


async def delete_for_token(conn: Connection, access_token_id: int) -> bool:
    """Remove a token's subscription; whether there was one."""
    changed = await conn.execute(
        "DELETE FROM web_push_subscriptions WHERE access_token_id = $1", access_token_id
    )
    return changed > 0


async def delete(conn: Connection, subscription_id: int) -> bool:
    """Remove a subscription (the push service said it is gone, or its token was revoked)."""
    changed = await conn.execute(
        "DELETE FROM web_push_subscriptions WHERE id = $1", subscription_id
    )
    return changed > 0


async def token_revoked(conn: Connection, subscription_id: int) -> bool:
    """Whether a stored subscription belongs to a revoked token (it should then go)."""
    found = await conn.fetchval(
        "SELECT 1 FROM web_push_subscriptions s JOIN oauth_access_tokens t "
        "ON t.id = s.access_token_id WHERE s.id = $1 AND t.revoked_at IS NOT NULL",
        subscription_id,
    )
    return found is not None


async def locale_of(conn: Connection, account_id: int) -> str | None:
    """A local user's interface language."""
    value = await conn.fetchval("SELECT locale FROM users WHERE account_id = $1", account_id)
    return str(value) if value else None
