"""Rows of imports (Mastodon's bulk imports): each uploaded file and each of its rows, which
`import.run` jobs claim, work through and record a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence

from .base import Connection, fetch_as, fetchrow_as, fetchval_as
from .paging import placeholders
from .rows import ImportRow, ImportRowRow, StatusRow


async def insert_import(
    conn: Connection,
    import_id: int,
    account_id: int,
    kind: str,
    mode: str,
    filename: str,
    rows: Sequence[str],
    now: int,
) -> None:
    """A new import and its rows (the JSON of each row's columns), all waiting."""
    await conn.execute(
        "INSERT INTO imports (id, account_id, type, mode, filename, state, total_rows, "
        "created_at) VALUES ($1, $2, $3, $4, $5, 'running', $6, $7)",
        import_id,
        account_id,
        kind,
        mode,
        filename,
        len(rows),
        now,
    )
    await conn.executemany(
        "INSERT INTO import_rows (import_id, position, data, next_at) VALUES ($1, $2, $3, $4)",
        [(import_id, position, data, now) for position, data in enumerate(rows)],
    )


async def import_by_id(conn: Connection, import_id: int) -> ImportRow | None:
    return await fetchrow_as(conn, ImportRow, "SELECT * FROM imports WHERE id = $1", import_id)


async def imports_of(conn: Connection, account_id: int, limit: int) -> list[ImportRow]:
    """The account's imports, newest first."""
    return await fetch_as(
        conn,
        ImportRow,
        "SELECT * FROM imports WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
        account_id,
        limit,
    )


async def claim_rows(
    conn: Connection, import_id: int, now: int, until: int, limit: int
) -> list[ImportRowRow]:
    """Up to `limit` waiting rows that are due and unclaimed, held until `until`."""
    rows = await fetch_as(
        conn,
        ImportRowRow,
        "SELECT * FROM import_rows WHERE import_id = $1 AND state = 'pending' "
        "AND next_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2) "
        "ORDER BY position LIMIT $3",
        import_id,
        now,
        limit,
    )
    if rows:
        positions = [r["position"] for r in rows]
        await conn.execute(
            f"UPDATE import_rows SET claimed_until = $2 WHERE import_id = $1 "
            f"AND position IN ({placeholders(3, len(positions))})",
            import_id,
            until,
            *positions,
        )
    return rows


async def record_rows(
    conn: Connection,
    import_id: int,
    *,
    done: Sequence[int],
    failed: Sequence[tuple[int, str]],
    retries: Sequence[tuple[int, str, int]],
) -> None:
    """What became of claimed rows: done, failed for good (with the reason), or tried again
    at a time (with the reason so far); the import's counts follow."""
    if done:
        await conn.execute(
            f"UPDATE import_rows SET state = 'done', error = NULL, claimed_until = NULL "
            f"WHERE import_id = $1 AND position IN ({placeholders(2, len(done))})",
            import_id,
            *done,
        )
    if failed:
        await conn.executemany(
            "UPDATE import_rows SET state = 'failed', error = $3, attempts = attempts + 1, "
            "claimed_until = NULL WHERE import_id = $1 AND position = $2",
            [(import_id, position, error) for position, error in failed],
        )
    if retries:
        await conn.executemany(
            "UPDATE import_rows SET error = $3, next_at = $4, attempts = attempts + 1, "
            "claimed_until = NULL WHERE import_id = $1 AND position = $2",
            [(import_id, position, error, at) for position, error, at in retries],
        )
    await conn.execute(
        "UPDATE imports SET done_rows = done_rows + $2, failed_rows = failed_rows + $3 "
        "WHERE id = $1",
        import_id,
        len(done),
        len(failed),
    )


async def next_waiting_at(conn: Connection, import_id: int) -> int | None:
    """When the next waiting row is due (or its claim ends); None when none waits."""
    return await fetchval_as(
        conn,
        int,
        "SELECT MIN(CASE WHEN claimed_until IS NOT NULL AND claimed_until > next_at "
        "THEN claimed_until ELSE next_at END) FROM import_rows "
        "WHERE import_id = $1 AND state = 'pending'",
        import_id,
    )


async def finish_import(conn: Connection, import_id: int, now: int) -> bool:
    """Mark a running import finished; whether this call did."""
    changed = await conn.execute(
        "UPDATE imports SET state = 'finished', finished_at = $2 "
        "WHERE id = $1 AND state = 'running'",
        import_id,
        now,
    )
    return changed > 0


async def rows_in_state(
    conn: Connection, import_id: int, state: str, limit: int
) -> list[ImportRowRow]:
    """An import's rows in one state, in file order."""
    return await fetch_as(
        conn,
        ImportRowRow,
        "SELECT * FROM import_rows WHERE import_id = $1 AND state = $2 ORDER BY position LIMIT $3",
        import_id,
        state,
        limit,
    )


async def row_data(conn: Connection, import_id: int) -> list[str]:
    """The columns (JSON) of every row of an import, in file order."""
    rows = await conn.fetch(
        "SELECT data FROM import_rows WHERE import_id = $1 ORDER BY position", import_id
    )
    return [str(r["data"]) for r in rows]


async def status_by_url(conn: Connection, account_id: int, url: str) -> StatusRow | None:
    """The account's live status whose `url` is this one (an imported post keeps the URL
    it had on its first server)."""
    return await fetchrow_as(
        conn,
        StatusRow,
        "SELECT * FROM statuses WHERE account_id = $1 AND url = $2 AND deleted_at IS NULL LIMIT 1",
        account_id,
        url,
    )
