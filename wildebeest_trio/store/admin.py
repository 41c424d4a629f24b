"""SQL behind the admin pages: sign-ups, account standing, emoji, announcements, queue health."""

from __future__ import annotations

from typing import Any

from .base import Connection, Row
from .effects import INSTANCE_FACTS_CHANGED


async def pending_sign_ups(conn: Connection, limit: int = 200) -> list[Row]:
    """Users waiting for approval, oldest first, with their account's name."""
    return await conn.fetch(
        "SELECT u.id AS user_id, u.email, u.sign_up_reason, u.confirmed_at, u.created_at, "
        "a.id AS account_id, a.username FROM users u JOIN accounts a ON a.id = u.account_id "
        "WHERE NOT u.approved AND NOT u.disabled ORDER BY u.id LIMIT $1",
        limit,
    )


async def pending_user(conn: Connection, user_id: int) -> Row | None:
    return await conn.fetchrow(
        "SELECT u.*, a.username FROM users u JOIN accounts a ON a.id = u.account_id "
        "WHERE u.id = $1 AND NOT u.approved",
        user_id,
    )


async def delete_account_row(conn: Connection, account_id: int) -> None:
    """Remove an account and everything hanging off it (a refused sign-up)."""
    await conn.execute("DELETE FROM accounts WHERE id = $1", account_id)


async def accounts_listing(
    conn: Connection, *, query: str, origin: str, status: str, limit: int, offset: int
) -> list[Row]:
    """Accounts for moderation, newest first, filtered by name, origin and standing."""
    conditions = ["a.actor_type <> 'Application'"]
    params: list[Any] = []
    if query:
        params.append(f"%{query.lower()}%")
        n = len(params)
        conditions.append(f"(lower(a.username) LIKE ${n} OR lower(a.domain) LIKE ${n})")
    if origin == "local":
        conditions.append("a.domain IS NULL")
    elif origin == "remote":
        conditions.append("a.domain IS NOT NULL")
    if status == "suspended":
        conditions.append("a.suspended_at IS NOT NULL")
    elif status == "silenced":
        conditions.append("a.silenced_at IS NOT NULL")
    params.extend([limit, offset])
    return await conn.fetch(
        "SELECT a.id, a.username, a.domain, a.display_name, a.suspended_at, a.silenced_at, "
        "a.statuses_count, a.created_at, u.role, u.email, u.approved FROM accounts a "
        "LEFT JOIN users u ON u.account_id = a.id WHERE "
        + " AND ".join(conditions)
        + f" ORDER BY a.id DESC LIMIT ${len(params) - 1} OFFSET ${len(params)}",
        *params,
    )


async def set_account_flag(
    conn: Connection, account_id: int, column: str, value: int | None, now: int
) -> bool:
    """Set `suspended_at` or `silenced_at` (a time, or NULL to lift it); whether it changed."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    if column not in ("suspended_at", "silenced_at"):
        raise ValueError(column)
    if value is None:
        changed = await conn.execute(
            f"UPDATE accounts SET {column} = NULL, updated_at = $1 "
            f"WHERE id = $2 AND {column} IS NOT NULL",
            now,
            account_id,
        )
    else:
        changed = await conn.execute(
            f"UPDATE accounts SET {column} = $1, updated_at = $2 "
            f"WHERE id = $3 AND {column} IS NULL",
            value,
            now,
            account_id,
        )
    return bool(changed)


async def revoke_access(conn: Connection, account_id: int, now: int) -> None:
    """End every web session and token of an account."""
    await conn.execute(
        "UPDATE web_sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        now,
        account_id,
    )
    await conn.execute(
        "UPDATE oauth_access_tokens SET revoked_at = $1 WHERE account_id = $2 "
        "AND revoked_at IS NULL",
        now,
        account_id,
    )


async def reports_with_names(conn: Connection, *, resolved: bool, limit: int = 100) -> list[Row]:
    """Reports with the reporter's and the target's acct parts."""
    condition = "IS NOT NULL" if resolved else "IS NULL"
    return await conn.fetch(
        "SELECT r.*, ra.username AS reporter_username, ra.domain AS reporter_domain, "
        "ta.username AS target_username, ta.domain AS target_domain, "
        "ta.suspended_at AS target_suspended_at, ta.silenced_at AS target_silenced_at "
        "FROM reports r JOIN accounts ra ON ra.id = r.account_id "
        "JOIN accounts ta ON ta.id = r.target_account_id "
        f"WHERE r.action_taken_at {condition} ORDER BY r.id DESC LIMIT $1",
        limit,
    )


async def domain_blocks(conn: Connection) -> list[Row]:
    return await conn.fetch("SELECT * FROM domain_blocks ORDER BY domain")


# Custom emoji ---------------------------------------------------------------------------------


async def set_emoji_disabled(conn: Connection, emoji_id: int, disabled: bool, now: int) -> bool:
    changed = await conn.execute(
        "UPDATE custom_emojis SET disabled = $1, updated_at = $2 WHERE id = $3 AND domain IS NULL",
        disabled,
        now,
        emoji_id,
    )
    return bool(changed)


# Queue health ---------------------------------------------------------------------------------


async def jobs_by_kind(conn: Connection, now: int) -> list[Row]:
    """Per job kind: pending (never tried), retrying, running and parked counts."""
    rows = await conn.fetch(
        "SELECT kind, "
        "COUNT(*) FILTER (WHERE state = 'pending' AND attempts = 0) AS pending, "
        "COUNT(*) FILTER (WHERE state = 'pending' AND attempts > 0) AS retrying, "
        "COUNT(*) FILTER (WHERE state = 'running' AND lease_until > $1) AS running, "
        "COUNT(*) FILTER (WHERE state = 'parked') AS parked "
        "FROM jobs GROUP BY kind ORDER BY kind",
        now,
    )
    return [{k: (v if k == "kind" else int(v or 0)) for k, v in r.items()} for r in rows]


async def parked_jobs(conn: Connection, limit: int = 100) -> list[Row]:
    return await conn.fetch(
        "SELECT id, kind, attempts, last_error, updated_at FROM jobs WHERE state = 'parked' "
        "ORDER BY id DESC LIMIT $1",
        limit,
    )


async def unavailable_domains(conn: Connection) -> list[Row]:
    return await conn.fetch("SELECT domain, since FROM unavailable_domains ORDER BY domain")
