"""Polls and votes: rows, tallies, and what the Status entity needs of them.

Options and tallies are JSON lists in TEXT columns (one representation on both backends);
rows come back with them decoded. A status names its poll in `statuses.poll_id`
(`statuses.set_poll`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .base import Connection, Row, row_as
from .paging import placeholders
from .rows import PollRow


def _decoded(row: Row) -> PollRow:
    row["options"] = json.loads(row["options"])
    row["cached_tallies"] = json.loads(row["cached_tallies"])
    row["multiple"] = bool(row["multiple"])
    row["hide_totals"] = bool(row["hide_totals"])
    return row_as(PollRow, row)


def _json(values: list[Any]) -> str:
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False)


async def insert_poll(conn: Connection, poll: Mapping[str, Any]) -> None:
    """Create a poll (`poll` holds the columns)."""
    await conn.execute(
        "INSERT INTO polls (id, account_id, status_id, options, cached_tallies, multiple, "
        "hide_totals, votes_count, voters_count, expires_at, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        poll["id"],
        poll["account_id"],
        poll["status_id"],
        _json(poll["options"]),
        _json(poll.get("cached_tallies") or [0] * len(poll["options"])),
        bool(poll["multiple"]),
        bool(poll["hide_totals"]),
        int(poll.get("votes_count", 0)),
        poll.get("voters_count", 0),
        poll["expires_at"],
        poll["created_at"],
    )


async def poll_by_id(conn: Connection, poll_id: int, *, for_update: bool = False) -> PollRow | None:
    """A poll; `for_update` locks its row until the unit ends (PostgreSQL), so concurrent
    votes update the tallies one after the other."""
    sql = "SELECT * FROM polls WHERE id = $1"
    if for_update and conn.dialect == "postgres":
        sql += " FOR UPDATE"
    row = await conn.fetchrow(sql, poll_id)
    return None if row is None else _decoded(row)


async def poll_of_status(conn: Connection, status_id: int) -> PollRow | None:
    """The poll a status carries, if any."""
    row = await conn.fetchrow("SELECT * FROM polls WHERE status_id = $1", status_id)
    return None if row is None else _decoded(row)


async def polls_by_ids(conn: Connection, poll_ids: list[int]) -> list[PollRow]:
    """Several polls, decoded (any order)."""
    if not poll_ids:
        return []
    rows = await conn.fetch(
        f"SELECT * FROM polls WHERE id IN ({placeholders(1, len(poll_ids))})", *poll_ids
    )
    return [_decoded(r) for r in rows]


async def own_votes(conn: Connection, account_id: int, poll_ids: list[int]) -> dict[int, list[int]]:
    """The choices an account made in each of `poll_ids` it voted in."""
    if not poll_ids:
        return {}
    rows = await conn.fetch(
        "SELECT poll_id, choice FROM poll_votes WHERE account_id = $1 "
        f"AND poll_id IN ({placeholders(2, len(poll_ids))}) ORDER BY id",
        account_id,
        *poll_ids,
    )
    votes: dict[int, list[int]] = {}
    for r in rows:
        votes.setdefault(r["poll_id"], []).append(int(r["choice"]))
    return votes


async def insert_votes(
    conn: Connection, poll_id: int, account_id: int, votes: list[tuple[int, int]], now: int
) -> None:
    """Record an account's choices: `(vote_id, choice)` pairs."""
    await conn.executemany(
        "INSERT INTO poll_votes (id, poll_id, account_id, choice, created_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        [(vote_id, poll_id, account_id, choice, now) for vote_id, choice in votes],
    )


async def set_tallies(
    conn: Connection,
    poll_id: int,
    tallies: list[int],
    votes_count: int,
    voters_count: int | None,
    now: int,
) -> None:
    """Replace a poll's counts."""
    await conn.execute(
        "UPDATE polls SET cached_tallies = $1, votes_count = $2, voters_count = $3, "
        "updated_at = $4 WHERE id = $5",
        _json(tallies),
        votes_count,
        voters_count,
        now,
        poll_id,
    )


async def update_poll(
    conn: Connection,
    poll_id: int,
    *,
    options: list[str],
    multiple: bool,
    hide_totals: bool,
    expires_at: int | None,
    reset_votes: bool,
    now: int,
) -> None:
    """Change a poll after its status was edited; `reset_votes` drops every vote, as
    Mastodon does when the options or the kind of poll changed."""
    await conn.execute(
        "UPDATE polls SET options = $1, multiple = $2, hide_totals = $3, expires_at = $4, "
        "ended_at = NULL, updated_at = $5 WHERE id = $6",
        _json(options),
        multiple,
        hide_totals,
        expires_at,
        now,
        poll_id,
    )
    if reset_votes:
        await conn.execute("DELETE FROM poll_votes WHERE poll_id = $1", poll_id)
        await set_tallies(conn, poll_id, [0] * len(options), 0, 0, now)


async def delete_poll(conn: Connection, poll_id: int) -> None:
    """Remove a poll (its votes go with it)."""
    await conn.execute("DELETE FROM polls WHERE id = $1", poll_id)


async def mark_ended(conn: Connection, poll_id: int, now: int) -> bool:
    """Record that a poll's end was handled; False if it already was (or is not due)."""
    changed = await conn.execute(
        "UPDATE polls SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL "
        "AND expires_at IS NOT NULL AND expires_at <= $1",
        now,
        poll_id,
    )
    return changed == 1


async def local_voter_ids(conn: Connection, poll_id: int) -> list[int]:
    """The local accounts that voted in a poll."""
    rows = await conn.fetch(
        "SELECT DISTINCT v.account_id FROM poll_votes v JOIN accounts a ON a.id = v.account_id "
        "WHERE v.poll_id = $1 AND a.domain IS NULL ORDER BY v.account_id",
        poll_id,
    )
    return [r["account_id"] for r in rows]


async def ended_unhandled(conn: Connection, now: int, limit: int) -> list[int]:
    """Polls past their end whose end was not handled yet (a safety net for lost jobs)."""
    rows = await conn.fetch(
        "SELECT id FROM polls WHERE ended_at IS NULL AND expires_at IS NOT NULL "
        "AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        now,
        limit,
    )
    return [r["id"] for r in rows]
