"""Queries behind the admin pages: sign-ups, accounts to moderate, queue health.

The admin pages write through the modules of the tables they change (`accounts`,
`users`, `custom_emojis`...): this one only reads.
"""

from __future__ import annotations

from typing import Any

from .base import Connection, fetch_as, fetchrow_as
from .rows import (
    AccountListingRow,
    JobKindCountsRow,
    ParkedJobRow,
    SignUpRow,
    UserWithUsernameRow,
)


async def pending_sign_ups(conn: Connection, limit: int = 200) -> list[SignUpRow]:
    """Users waiting for approval, oldest first, with their account's name."""
    return await fetch_as(
        conn,
        SignUpRow,
        "SELECT u.id AS user_id, u.email, u.sign_up_reason, u.confirmed_at, u.created_at, "
        "a.id AS account_id, a.username FROM users u JOIN accounts a ON a.id = u.account_id "
        "WHERE NOT u.approved AND NOT u.disabled ORDER BY u.id LIMIT $1",
        limit,
    )


async def pending_user(conn: Connection, user_id: int) -> UserWithUsernameRow | None:
    return await fetchrow_as(
        conn,
        UserWithUsernameRow,
        "SELECT u.*, a.username FROM users u JOIN accounts a ON a.id = u.account_id "
        "WHERE u.id = $1 AND NOT u.approved",
        user_id,
    )


async def accounts_listing(
    conn: Connection, *, query: str, origin: str, status: str, limit: int, offset: int
) -> list[AccountListingRow]:
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
    return await fetch_as(
        conn,
        AccountListingRow,
        "SELECT a.id, a.username, a.domain, a.display_name, a.suspended_at, a.silenced_at, "
        "a.statuses_count, a.created_at, u.role, u.email, u.approved FROM accounts a "
        "LEFT JOIN users u ON u.account_id = a.id WHERE "
        + " AND ".join(conditions)
        + f" ORDER BY a.id DESC LIMIT ${len(params) - 1} OFFSET ${len(params)}",
        *params,
    )


# Queue health ---------------------------------------------------------------------------------


async def jobs_by_kind(conn: Connection, now: int) -> list[JobKindCountsRow]:
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
    return [
        {
            "kind": r["kind"],
            "pending": int(r["pending"] or 0),
            "retrying": int(r["retrying"] or 0),
            "running": int(r["running"] or 0),
            "parked": int(r["parked"] or 0),
        }
        for r in rows
    ]


async def parked_jobs(conn: Connection, limit: int = 100) -> list[ParkedJobRow]:
    return await fetch_as(
        conn,
        ParkedJobRow,
        "SELECT id, kind, attempts, last_error, updated_at FROM jobs WHERE state = 'parked' "
        "ORDER BY id DESC LIMIT $1",
        limit,
    )
