"""Queries behind the admin pages: sign-ups, accounts to moderate, queue health.

The admin pages write through the modules of the tables they change (`accounts`,
`users`, `custom_emojis`...): this one only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from .base import ROLE_SQL, Connection, fetch_as, fetchrow_as
from .paging import Page, fetch_page
from .rows import (
    AccountListingRow,
    AdminAccountRow,
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
        "a.statuses_count, a.created_at, " + ROLE_SQL + "u.email, u.approved FROM accounts a "
        "LEFT JOIN users u ON u.account_id = a.id WHERE "
        + " AND ".join(conditions)
        + f" ORDER BY a.id DESC LIMIT ${len(params) - 1} OFFSET ${len(params)}",
        *params,
    )


class IpUseRow(TypedDict):
    """An address and when it was last used."""

    ip: str
    used_at: int


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


# The admin API's accounts ----------------------------------------------------------------------


@dataclass(frozen=True)
class AccountFilter:
    """Mastodon's AccountFilter as `GET /api/v2/admin/accounts` takes it."""

    origin: str = ""  # local, remote
    status: str = ""  # active, pending, disabled, silenced, suspended, sensitized
    staff: bool = False
    roles: tuple[str, ...] = ()
    username: str = ""
    display_name: str = ""
    by_domain: str = ""
    email: str = ""
    ip: str = ""


_ADMIN_ACCOUNT = (
    "SELECT a.*, u.id AS user_id, u.email, "
    + ROLE_SQL
    + "u.approved, u.disabled, u.confirmed_at, u.locale, u.sign_up_reason, u.sign_up_ip "
    "FROM accounts a LEFT JOIN users u ON u.account_id = a.id "
)
_STATUS = {
    "active": "a.suspended_at IS NULL",
    "pending": "u.id IS NOT NULL AND NOT u.approved",
    "disabled": "u.id IS NOT NULL AND u.disabled",
    "silenced": "a.silenced_at IS NOT NULL",
    "suspended": "a.suspended_at IS NOT NULL",
    "sensitized": "a.sensitized_at IS NOT NULL",
}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def admin_accounts(conn: Connection, at: Page, where: AccountFilter) -> list[AdminAccountRow]:
    """Accounts matching `where`, newest first (the instance's own actor never)."""
    conditions = ["a.actor_type <> 'Application'"]
    args: list[Any] = []

    def param(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if where.origin == "local":
        conditions.append("a.domain IS NULL")
    elif where.origin == "remote":
        conditions.append("a.domain IS NOT NULL")
    if where.status in _STATUS:
        conditions.append(_STATUS[where.status])
    if where.staff:
        conditions.append("u.role IN ('moderator', 'admin')")
    if where.roles:
        wanted = [
            f"(u.role = {param('admin' if r == 'owner' else r)} AND u.owner = "
            f"{param(r == 'owner')})"
            for r in where.roles
        ]
        conditions.append("(" + " OR ".join(wanted) + ")")
    if where.username:
        p = param(_escape_like(where.username.lower()) + "%")
        conditions.append(f"lower(a.username) LIKE {p} ESCAPE '\\'")
    if where.display_name:
        p = param("%" + _escape_like(where.display_name.lower()) + "%")
        conditions.append(f"lower(a.display_name) LIKE {p} ESCAPE '\\'")
    if where.by_domain:
        conditions.append(f"lower(a.domain) = {param(where.by_domain.lower())}")
    if where.email:
        p = param(_escape_like(where.email.lower()) + "%")
        conditions.append(f"lower(u.email) LIKE {p} ESCAPE '\\'")
    if where.ip:
        p = param(where.ip)
        conditions.append(
            f"(u.sign_up_ip = {p} OR EXISTS (SELECT 1 FROM web_sessions s "
            f"WHERE s.account_id = a.id AND s.ip = {p}))"
        )
    return await fetch_page(
        conn,
        AdminAccountRow,
        _ADMIN_ACCOUNT + "WHERE " + " AND ".join(conditions),
        args,
        "a.id",
        at,
    )


async def admin_account(conn: Connection, account_id: int) -> AdminAccountRow | None:
    """One account as the admin API shows it."""
    return await fetchrow_as(conn, AdminAccountRow, _ADMIN_ACCOUNT + "WHERE a.id = $1", account_id)


async def session_ips(conn: Connection, account_id: int) -> list[IpUseRow]:
    """The addresses an account's web sessions came from, the latest use first."""
    return await fetch_as(
        conn,
        IpUseRow,
        "SELECT ip, MAX(last_seen_at) AS used_at FROM web_sessions "
        "WHERE account_id = $1 AND ip <> '' GROUP BY ip ORDER BY used_at DESC LIMIT 20",
        account_id,
    )


# The dashboard's dimensions ---------------------------------------------------------------------


class KeyCountRow(TypedDict):
    """A key (a language, a server) and how many rows had it."""

    key: str
    value: int


async def status_languages(
    conn: Connection, first_id: int, last_id: int, limit: int
) -> list[KeyCountRow]:
    """The languages of local statuses with ids in a range (a time range: ids grow with
    time), the most used first."""
    return await fetch_as(
        conn,
        KeyCountRow,
        "SELECT COALESCE(language, '') AS key, COUNT(*) AS value FROM statuses "
        "WHERE id >= $1 AND id < $2 AND local AND deleted_at IS NULL "
        "GROUP BY COALESCE(language, '') ORDER BY value DESC, key LIMIT $3",
        first_id,
        last_id,
        limit,
    )


async def status_servers(
    conn: Connection, first_id: int, last_id: int, limit: int
) -> list[KeyCountRow]:
    """The servers remote statuses with ids in a range came from, the busiest first."""
    return await fetch_as(
        conn,
        KeyCountRow,
        "SELECT a.domain AS key, COUNT(*) AS value FROM statuses s "
        "JOIN accounts a ON a.id = s.account_id "
        "WHERE s.id >= $1 AND s.id < $2 AND a.domain IS NOT NULL "
        "GROUP BY a.domain ORDER BY value DESC, key LIMIT $3",
        first_id,
        last_id,
        limit,
    )


# Mastodon's measures of one hashtag or one remote server: per day, from the rows of the
# period only (statuses by id range: ids grow with time; others by their creation time).
# $1 the tag id or domain, $2 and $3 the period's first and past-the-last day's bounds.
_STATUS_DAY = "s.id / 65536 / 86400000"
TARGET_MEASURES: dict[str, tuple[str, bool]] = {
    # key: (SQL giving day and value, whether its bounds are status ids, not times)
    "tag_accounts": (
        f"SELECT {_STATUS_DAY} AS day, COUNT(DISTINCT s.account_id) AS value "
        "FROM statuses_tags st JOIN statuses s ON s.id = st.status_id "
        "WHERE st.tag_id = $1 AND st.status_id >= $2 AND st.status_id < $3 GROUP BY 1",
        True,
    ),
    "tag_uses": (
        f"SELECT {_STATUS_DAY} AS day, COUNT(*) AS value "
        "FROM statuses_tags st JOIN statuses s ON s.id = st.status_id "
        "WHERE st.tag_id = $1 AND st.status_id >= $2 AND st.status_id < $3 GROUP BY 1",
        True,
    ),
    "tag_servers": (
        f"SELECT {_STATUS_DAY} AS day, COUNT(DISTINCT COALESCE(a.domain, '')) AS value "
        "FROM statuses_tags st JOIN statuses s ON s.id = st.status_id "
        "JOIN accounts a ON a.id = s.account_id "
        "WHERE st.tag_id = $1 AND st.status_id >= $2 AND st.status_id < $3 GROUP BY 1",
        True,
    ),
    "instance_accounts": (
        "SELECT created_at / 86400000 AS day, COUNT(*) AS value FROM accounts "
        "WHERE domain = $1 AND created_at >= $2 AND created_at < $3 GROUP BY 1",
        False,
    ),
    "instance_statuses": (
        f"SELECT {_STATUS_DAY} AS day, COUNT(*) AS value FROM statuses s "
        "JOIN accounts a ON a.id = s.account_id "
        "WHERE a.domain = $1 AND s.id >= $2 AND s.id < $3 GROUP BY 1",
        True,
    ),
    "instance_media_attachments": (
        "SELECT m.created_at / 86400000 AS day, "
        "SUM(COALESCE(m.cached_bytes, m.file_size, 0)) AS value FROM media_attachments m "
        "JOIN accounts a ON a.id = m.account_id "
        "WHERE a.domain = $1 AND m.created_at >= $2 AND m.created_at < $3 GROUP BY 1",
        False,
    ),
    "instance_reports": (
        "SELECT r.created_at / 86400000 AS day, COUNT(*) AS value FROM reports r "
        "JOIN accounts a ON a.id = r.target_account_id "
        "WHERE a.domain = $1 AND r.created_at >= $2 AND r.created_at < $3 GROUP BY 1",
        False,
    ),
    "instance_follows": (
        "SELECT f.created_at / 86400000 AS day, COUNT(*) AS value FROM follows f "
        "JOIN accounts a ON a.id = f.account_id JOIN accounts t ON t.id = f.target_account_id "
        "WHERE a.domain = $1 AND t.domain IS NULL AND f.created_at >= $2 AND f.created_at < $3 "
        "GROUP BY 1",
        False,
    ),
    "instance_followers": (
        "SELECT f.created_at / 86400000 AS day, COUNT(*) AS value FROM follows f "
        "JOIN accounts a ON a.id = f.account_id JOIN accounts t ON t.id = f.target_account_id "
        "WHERE t.domain = $1 AND a.domain IS NULL AND f.created_at >= $2 AND f.created_at < $3 "
        "GROUP BY 1",
        False,
    ),
}


async def target_measure(
    conn: Connection, key: str, target: int | str, first_day: int, last_day: int
) -> dict[int, int]:
    """One of `TARGET_MEASURES` for a tag id or a domain: day -> value, days with any."""
    sql, by_id = TARGET_MEASURES[key]
    start, end = first_day * 86_400_000, (last_day + 1) * 86_400_000
    if by_id:
        start, end = start << 16, end << 16
    rows = await conn.fetch(sql, target, start, end)
    return {int(r["day"]): int(r["value"] or 0) for r in rows}


# Mastodon's dimensions of one hashtag or remote server: the period's statuses by id range.
TARGET_DIMENSIONS: dict[str, str] = {
    "tag_servers": "SELECT COALESCE(a.domain, '') AS key, COUNT(*) AS value "
    "FROM statuses_tags st JOIN statuses s ON s.id = st.status_id "
    "JOIN accounts a ON a.id = s.account_id "
    "WHERE st.tag_id = $1 AND st.status_id >= $2 AND st.status_id < $3 "
    "GROUP BY COALESCE(a.domain, '') ORDER BY value DESC, key LIMIT $4",
    "tag_languages": "SELECT COALESCE(s.language, '') AS key, COUNT(*) AS value "
    "FROM statuses_tags st JOIN statuses s ON s.id = st.status_id "
    "WHERE st.tag_id = $1 AND st.status_id >= $2 AND st.status_id < $3 "
    "GROUP BY COALESCE(s.language, '') ORDER BY value DESC, key LIMIT $4",
    "instance_languages": "SELECT COALESCE(s.language, '') AS key, COUNT(*) AS value "
    "FROM statuses s JOIN accounts a ON a.id = s.account_id "
    "WHERE a.domain = $1 AND s.id >= $2 AND s.id < $3 "
    "GROUP BY COALESCE(s.language, '') ORDER BY value DESC, key LIMIT $4",
    # The server's accounts followed the most (whatever the period, as Mastodon).
    "instance_accounts": "SELECT username AS key, followers_count AS value FROM accounts "
    "WHERE domain = $1 AND CAST($2 AS BIGINT) <= CAST($3 AS BIGINT) "
    "ORDER BY followers_count DESC, username LIMIT $4",
}


async def target_dimension(
    conn: Connection, key: str, target: int | str, first_id: int, last_id: int, limit: int
) -> list[KeyCountRow]:
    """One of `TARGET_DIMENSIONS` for a tag id or a domain, the largest first."""
    return await fetch_as(
        conn, KeyCountRow, TARGET_DIMENSIONS[key], target, first_id, last_id, limit
    )


async def database_bytes(conn: Connection) -> int:
    """The database's size on disk."""
    if conn.dialect == "postgres":
        sql = "SELECT pg_database_size(current_database())"
    else:
        sql = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
    return int(await conn.fetchval(sql) or 0)


async def media_bytes(conn: Connection) -> int:
    """The bytes of media files kept: local uploads, and the cached copies of remote ones."""
    value = await conn.fetchval(
        "SELECT SUM(CASE WHEN remote_url IS NULL THEN COALESCE(file_size, 0) "
        "ELSE COALESCE(cached_bytes, 0) END) FROM media_attachments"
    )
    return int(value or 0)


class CohortRow(TypedDict):
    """Of the users who signed up on `day`, how many were active on `active_day`."""

    day: int
    active_day: int
    value: int


async def cohort_sizes(conn: Connection, first_day: int, last_day: int) -> list[KeyCountRow]:
    """Local users who signed up each day of a range (`key`: the day number)."""
    rows = await conn.fetch(
        "SELECT created_at / 86400000 AS day, COUNT(*) AS value FROM users "
        "WHERE created_at >= $1 AND created_at < $2 GROUP BY created_at / 86400000",
        first_day * 86_400_000,
        (last_day + 1) * 86_400_000,
    )
    return [{"key": str(int(r["day"])), "value": int(r["value"])} for r in rows]


async def cohort_activity(conn: Connection, first_day: int, last_day: int) -> list[CohortRow]:
    """For users who signed up in a range, how many of each day's were active each later
    day (from the daily activity rows, never the statuses)."""
    rows = await conn.fetch(
        "SELECT u.created_at / 86400000 AS day, d.day AS active_day, COUNT(*) AS value "
        "FROM users u JOIN daily_activity d ON d.account_id = u.account_id "
        "WHERE u.created_at >= $1 AND u.created_at < $2 AND d.day >= $3 AND d.day <= $4 "
        "GROUP BY u.created_at / 86400000, d.day",
        first_day * 86_400_000,
        (last_day + 1) * 86_400_000,
        first_day,
        last_day,
    )
    return [
        {"day": int(r["day"]), "active_day": int(r["active_day"]), "value": int(r["value"])}
        for r in rows
    ]


async def cohort_active(
    conn: Connection, signed_up: tuple[int, int], active: tuple[int, int]
) -> int:
    """Users who signed up between two days and were active (once or more) between two
    days, all inclusive."""
    value = await conn.fetchval(
        "SELECT COUNT(DISTINCT d.account_id) FROM users u "
        "JOIN daily_activity d ON d.account_id = u.account_id "
        "WHERE u.created_at >= $1 AND u.created_at < $2 AND d.day >= $3 AND d.day <= $4",
        signed_up[0] * 86_400_000,
        (signed_up[1] + 1) * 86_400_000,
        active[0],
        active[1],
    )
    return int(value or 0)
