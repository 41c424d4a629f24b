"""Turns of the periodic upkeep, taken once per interval by one of the processes sharing the
database."""

from __future__ import annotations

from typing import NamedTuple

from .base import Connection, fetchval_as


class Turn(NamedTuple):
    """Whether this process took the task's turn, and when the next one falls due."""

    taken: bool
    due_at: int


async def take_turn(conn: Connection, name: str, now: int, next_due: int) -> Turn:
    """Take the task's turn if it is due at `now` (or never ran), moving it to `next_due`."""
    taken = await fetchval_as(
        conn,
        int,
        "INSERT INTO scheduled_runs (name, due_at) VALUES ($1, $2) "
        "ON CONFLICT (name) DO UPDATE SET due_at = excluded.due_at "
        "WHERE scheduled_runs.due_at <= $3 RETURNING due_at",
        name,
        next_due,
        now,
    )
    if taken is not None:
        return Turn(True, next_due)
    due_at = await fetchval_as(conn, int, "SELECT due_at FROM scheduled_runs WHERE name = $1", name)
    return Turn(False, int(due_at or 0))
