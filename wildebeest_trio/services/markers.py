"""Read markers: where a user stopped reading their home timeline and notifications."""

from __future__ import annotations

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection
from ..store import markers as marker_rows
from ..store.rows import MarkerRow

TIMELINES = ("home", "notifications")


async def get(rt: Runtime, account_id: int, timelines: list[str]) -> dict[str, MarkerRow]:
    """The caller's markers for the named timelines (all of them when none are named)."""
    wanted = [t for t in timelines if t in TIMELINES] if timelines else list(TIMELINES)
    rows = await rt.store.read(marker_rows.markers_of, account_id)
    return {r["timeline"]: r for r in rows if r["timeline"] in wanted}


async def save(rt: Runtime, account_id: int, positions: dict[str, int]) -> dict[str, MarkerRow]:
    """Move the given markers in one transaction; the markers after the move."""

    async def unit(conn: Connection) -> dict[str, MarkerRow]:
        now = now_ms()
        for timeline, last_read_id in positions.items():
            await marker_rows.save(conn, account_id, timeline, last_read_id, now)
        rows = await marker_rows.markers_of(conn, account_id)
        return {r["timeline"]: r for r in rows if r["timeline"] in positions}

    return await rt.store.write(unit)
