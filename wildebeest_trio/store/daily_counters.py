"""The dashboard's daily counters and who was active each day.

Kept as things happen (a sign-up, a report, an interaction, a token used), so the
dashboard's measures read one row per day and key and never scan history.
"""

from __future__ import annotations

from .base import Connection, fetch_as
from .rows import DailyCounterRow

DAY_MS = 86_400_000
KEYS = ("new_users", "interactions", "opened_reports", "resolved_reports")


def day_of(ms: int) -> int:
    """Days since 1970-01-01 (UTC) at `ms`."""
    return ms // DAY_MS


async def bump(conn: Connection, key: str, now: int, by: int = 1) -> None:
    """Add `by` to today's counter `key`."""
    await conn.execute(
        "INSERT INTO daily_counters (key, day, value) VALUES ($1, $2, $3) "
        "ON CONFLICT (key, day) DO UPDATE SET value = daily_counters.value + excluded.value",
        key,
        day_of(now),
        by,
    )


async def put(conn: Connection, key: str, now: int, value: int) -> None:
    """Set today's counter `key` to `value` (a sampled level, not a count)."""
    await conn.execute(
        "INSERT INTO daily_counters (key, day, value) VALUES ($1, $2, $3) "
        "ON CONFLICT (key, day) DO UPDATE SET value = excluded.value",
        key,
        day_of(now),
        value,
    )


async def latest(conn: Connection, key: str) -> int | None:
    """The newest day's value of `key`, or None if it was never recorded."""
    value = await conn.fetchval(
        "SELECT value FROM daily_counters WHERE key = $1 ORDER BY day DESC LIMIT 1", key
    )
    return None if value is None else int(value)


async def counters(
    conn: Connection, key: str, first_day: int, last_day: int
) -> list[DailyCounterRow]:
    """The days of `key` with a count between two days (inclusive)."""
    return await fetch_as(
        conn,
        DailyCounterRow,
        "SELECT * FROM daily_counters WHERE key = $1 AND day >= $2 AND day <= $3 ORDER BY day",
        key,
        first_day,
        last_day,
    )


# The gap of a first visit, or of an absence longer than any period the dashboard asks
# about (400 days): such a visit counts in any period it falls in.
NO_GAP = 1000


async def mark_active(conn: Connection, account_id: int, now: int) -> None:
    """Count an account active today (once a day), and after how long away."""
    day = day_of(now)
    added = await conn.execute(
        "INSERT INTO daily_activity (day, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        day,
        account_id,
    )
    if not added:
        return
    previous = await conn.fetchval(
        "SELECT MAX(day) FROM daily_activity WHERE account_id = $1 AND day < $2",
        account_id,
        day,
    )
    gap = NO_GAP if previous is None else min(day - int(previous), NO_GAP)
    await conn.execute(
        "INSERT INTO activity_gaps (day, gap, accounts) VALUES ($1, $2, 1) "
        "ON CONFLICT (day, gap) DO UPDATE SET accounts = activity_gaps.accounts + 1",
        day,
        gap,
    )


async def mark_session_active(conn: Connection, session_id: int, now: int) -> None:
    """Count the account of a web session active today."""
    account_id = await conn.fetchval(
        "SELECT account_id FROM web_sessions WHERE id = $1", session_id
    )
    if account_id is not None:
        await mark_active(conn, int(account_id), now)


async def active_counts(conn: Connection, first_day: int, last_day: int) -> list[DailyCounterRow]:
    """Active accounts per day between two days (inclusive), as counters `active_users`."""
    return await fetch_as(
        conn,
        DailyCounterRow,
        "SELECT 'active_users' AS key, day, CAST(SUM(accounts) AS BIGINT) AS value "
        "FROM activity_gaps WHERE day >= $1 AND day <= $2 GROUP BY day ORDER BY day",
        first_day,
        last_day,
    )


async def distinct_active(conn: Connection, first_day: int, last_day: int) -> int:
    """Accounts active at least once between two days: those of each day who had not been
    active since before the first day (each counted on their first day in the period)."""
    value = await conn.fetchval(
        "SELECT SUM(accounts) FROM activity_gaps WHERE day >= $1 AND day <= $2 AND gap > day - $1",
        first_day,
        last_day,
    )
    return int(value or 0)
