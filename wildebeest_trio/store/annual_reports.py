"""Annual reports ("Wrapstodon"): the `annual_reports` table, written only here, and the
yearly figures a report is computed from."""

from __future__ import annotations

from .base import Connection, fetch_as, fetchrow_as, fetchval_as
from .rows import AnnualReportRow, NameCountRow

_COLUMNS = "id, account_id, year, state, schema_version, data, viewed_at, created_at, updated_at"
# An account's own statuses of a year (Mastodon's `report_statuses`: boosts included,
# deleted ones not).
_OWN = "s.account_id = $1 AND s.created_at >= $2 AND s.created_at < $3 AND s.deleted_at IS NULL"


async def of_account(conn: Connection, account_id: int) -> list[AnnualReportRow]:
    """An account's reports, the latest year first."""
    return await fetch_as(
        conn,
        AnnualReportRow,
        f"SELECT {_COLUMNS} FROM annual_reports WHERE account_id = $1 ORDER BY year DESC",
        account_id,
    )


async def by_year(conn: Connection, account_id: int, year: int) -> AnnualReportRow | None:
    """An account's report of a year, if it was asked for."""
    return await fetchrow_as(
        conn,
        AnnualReportRow,
        f"SELECT {_COLUMNS} FROM annual_reports WHERE account_id = $1 AND year = $2",
        account_id,
        year,
    )


async def start(
    conn: Connection, report_id: int, account_id: int, year: int, schema: int, now: int
) -> bool:
    """Note that a report is being generated; false if one exists already."""
    added = await conn.fetch(
        "INSERT INTO annual_reports "
        "(id, account_id, year, state, schema_version, created_at, updated_at) "
        "VALUES ($1, $2, $3, 'generating', $4, $5, $5) "
        "ON CONFLICT (account_id, year) DO NOTHING RETURNING id",
        report_id,
        account_id,
        year,
        schema,
        now,
    )
    return bool(added)


async def finish(conn: Connection, account_id: int, year: int, data: str, now: int) -> None:
    """Store a generated report's data: it is available."""
    await conn.execute(
        "UPDATE annual_reports SET state = 'available', data = $3, updated_at = $4 "
        "WHERE account_id = $1 AND year = $2",
        account_id,
        year,
        data,
        now,
    )


async def mark_viewed(conn: Connection, account_id: int, year: int, now: int) -> bool:
    """The owner saw the report; whether there is one."""
    changed = await conn.execute(
        "UPDATE annual_reports SET viewed_at = COALESCE(viewed_at, $3) "
        "WHERE account_id = $1 AND year = $2 AND state = 'available'",
        account_id,
        year,
        now,
    )
    return bool(changed == 1)


def _monthly(column: str, bounds: list[int], first: int) -> str:
    """Twelve `SUM(CASE ...)` columns m1..m12 counting rows per month; month n's bounds are
    parameters `first + n - 1` and `first + n`."""
    return ", ".join(
        f"COALESCE(SUM(CASE WHEN {column} >= ${first + n} AND {column} < ${first + n + 1} "
        f"THEN 1 ELSE 0 END), 0) AS m{n + 1}"
        for n in range(len(bounds) - 1)
    )


async def _per_month(
    conn: Connection, sql_from: str, account_id: int, bounds: list[int]
) -> list[int]:
    found = await conn.fetchrow(
        f"SELECT {_monthly('x.created_at', bounds, 2)} FROM {sql_from}", account_id, *bounds
    )
    return [int(found[f"m{n + 1}"] or 0) if found else 0 for n in range(len(bounds) - 1)]


async def statuses_per_month(conn: Connection, account_id: int, bounds: list[int]) -> list[int]:
    """The account's statuses (boosts included) in each month between the 13 `bounds`."""
    return await _per_month(
        conn,
        "statuses x WHERE x.account_id = $1 AND x.deleted_at IS NULL "
        f"AND x.created_at >= $2 AND x.created_at < ${len(bounds) + 1}",
        account_id,
        bounds,
    )


async def follows_per_month(
    conn: Connection, account_id: int, bounds: list[int], *, followers: bool
) -> list[int]:
    """Follows the account made (or, with `followers`, received) in each month."""
    side = "target_account_id" if followers else "account_id"
    return await _per_month(
        conn,
        f"follows x WHERE x.{side} = $1 "
        f"AND x.created_at >= $2 AND x.created_at < ${len(bounds) + 1}",
        account_id,
        bounds,
    )


async def kind_counts(conn: Connection, account_id: int, start: int, end: int) -> dict[str, int]:
    """The year's statuses by kind: `standalone` (neither reply nor boost), `replies` (to
    others), `reblogs` and `polls` (Mastodon's Archetype counts)."""
    found = await conn.fetchrow(
        "SELECT "
        "COALESCE(SUM(CASE WHEN s.reblog_of_id IS NULL AND s.in_reply_to_id IS NULL "
        "THEN 1 ELSE 0 END), 0) AS standalone, "
        "COALESCE(SUM(CASE WHEN s.in_reply_to_id IS NOT NULL AND "
        "(s.in_reply_to_account_id IS NULL OR s.in_reply_to_account_id <> $1) "
        "THEN 1 ELSE 0 END), 0) AS replies, "
        "COALESCE(SUM(CASE WHEN s.reblog_of_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS reblogs, "
        "COALESCE(SUM(CASE WHEN s.poll_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS polls "
        f"FROM statuses s WHERE {_OWN}",
        account_id,
        start,
        end,
    )
    keys = ("standalone", "replies", "reblogs", "polls")
    return {k: int(found[k] or 0) if found else 0 for k in keys}


async def top_status(
    conn: Connection, account_id: int, start: int, end: int, column: str, excluding: list[int]
) -> int | None:
    """The year's public status with the most `column` (reblogs_count, favourites_count,
    replies_count), leaving out `excluding`; Mastodon's TopStatuses."""
    assert column in ("reblogs_count", "favourites_count", "replies_count")
    skip = "".join(f" AND s.id <> ${4 + n}" for n in range(len(excluding)))
    found = await fetchval_as(
        conn,
        int,
        f"SELECT s.id FROM statuses s WHERE {_OWN} AND s.visibility = 'public' "
        f"AND s.reblog_of_id IS NULL{skip} ORDER BY s.{column} DESC, s.id DESC LIMIT 1",
        account_id,
        start,
        end,
        *excluding,
    )
    return None if found is None else int(found)


async def top_tags(
    conn: Connection, account_id: int, start: int, end: int, minimum: int, limit: int
) -> list[NameCountRow]:
    """The tags of the year's statuses used more than `minimum` times, most used first."""
    return await fetch_as(
        conn,
        NameCountRow,
        "SELECT t.display_name AS name, COUNT(*) AS uses FROM statuses s "
        "JOIN statuses_tags st ON st.status_id = s.id JOIN tags t ON t.id = st.tag_id "
        f"WHERE {_OWN} GROUP BY t.id, t.display_name HAVING COUNT(*) > $4 "
        "ORDER BY COUNT(*) DESC, t.display_name LIMIT $5",
        account_id,
        start,
        end,
        minimum,
        limit,
    )
