"""Weekly activity: who signed in each week, and the week's counts of local statuses and
sign-ups, for `GET /api/v1/instance/activity`."""

from __future__ import annotations

from .base import Connection

DAY_MS = 24 * 3600 * 1000
WEEK_MS = 7 * DAY_MS
# 1970-01-05, the first Monday after the epoch: weeks start on Mondays, 00:00 UTC.
MONDAY_MS = 4 * DAY_MS
# Weeks of sign-ins kept: the twelve the API reports and the one before.
KEPT_WEEKS = 13


def week_start(ms: int) -> int:
    """The Monday 00:00 UTC that starts the week holding `ms`."""
    return (ms - MONDAY_MS) // WEEK_MS * WEEK_MS + MONDAY_MS


async def record_login(conn: Connection, account_id: int, now: int) -> None:
    """Count a person as active this week (once), and forget weeks past those kept."""
    week = week_start(now)
    await conn.execute(
        "INSERT INTO weekly_logins (week_start, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        week,
        account_id,
    )
    await conn.execute(
        "DELETE FROM weekly_logins WHERE week_start < $1", week - KEPT_WEEKS * WEEK_MS
    )


async def _per_week(conn: Connection, sql: str, since: int) -> dict[int, int]:
    rows = await conn.fetch(sql, since, MONDAY_MS, WEEK_MS)
    return {int(r["week"]) * WEEK_MS + MONDAY_MS: int(r["n"]) for r in rows}


async def weekly_counts(
    conn: Connection, since: int, first_status_id: int
) -> dict[str, dict[int, int]]:
    """Per week start from `since` (a week start): local statuses, people active, sign-ups.

    `first_status_id` is the lowest id a status made at `since` can have (ids grow with
    time), so the count reads a range of the primary key."""
    statuses = await conn.fetch(
        "SELECT (created_at - $2) / $3 AS week, COUNT(*) AS n FROM statuses "
        "WHERE id >= $4 AND created_at >= $1 AND local AND reblog_of_id IS NULL "
        "GROUP BY 1",
        since,
        MONDAY_MS,
        WEEK_MS,
        first_status_id,
    )
    return {
        "statuses": {int(r["week"]) * WEEK_MS + MONDAY_MS: int(r["n"]) for r in statuses},
        "logins": await _per_week(
            conn,
            "SELECT (week_start - $2) / $3 AS week, COUNT(*) AS n FROM weekly_logins "
            "WHERE week_start >= $1 GROUP BY 1",
            since,
        ),
        "registrations": await _per_week(
            conn,
            "SELECT (created_at - $2) / $3 AS week, COUNT(*) AS n FROM users "
            "WHERE created_at >= $1 GROUP BY 1",
            since,
        ),
    }
