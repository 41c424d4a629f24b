"""Mastodon's id-cursor pagination (`max_id`, `since_id`, `min_id`, `limit`) as SQL."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from .base import Connection, R, fetch_as


@dataclass(frozen=True)
class Page:
    """Which slice of a newest-first list to read.

    `max_id`: ids below it, newest first. `since_id`: ids above it, still newest first
    (so a gap is possible). `min_id`: the ids immediately above it, read oldest first and
    returned newest first (no gap).
    """

    limit: int
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None


def _in_list(start: int, count: int) -> str:
    return ", ".join(f"${i}" for i in range(start, start + count))


# A page's hydration asks for the same few lists (40 ids from $3) several times a request,
# and building one took 5.6 µs: short ones are kept (at most 1,024 of up to 200 ids).
_KEPT_LISTS_UP_TO = 200
_kept_in_list = functools.lru_cache(maxsize=1024)(_in_list)


def placeholders(start: int, count: int) -> str:
    """`$start, $start+1, ...`: an IN list of `count` parameters."""
    return (_kept_in_list if count <= _KEPT_LISTS_UP_TO else _in_list)(start, count)


def ids_among(
    conn: Connection, column: str, start: int, ids: Sequence[int]
) -> tuple[str, list[int | list[int]]]:
    """`column` among `ids`: the condition (parameters from `$start`) and its arguments.

    On PostgreSQL one array parameter, so the statement's text is the same for any
    number of ids: asyncpg prepares it once, where an IN list of each length is a
    statement of its own (a Parse and Describe round trip, and a slot in the
    connection's statement cache, for every length a caller sends).
    """
    if conn.dialect == "postgres":
        return f"{column} = ANY(${start}::bigint[])", [list(ids)]
    return f"{column} IN ({placeholders(start, len(ids))})", [*ids]


async def found_among(conn: Connection, query: str, values: Collection[str]) -> set[str]:
    """Which of `values` the query finds: `query` selects one text column and ends in
    `IN`, to which the list of values is appended."""
    if not values:
        return set()
    rows = await conn.fetch(f"{query} ({placeholders(1, len(values))})", *values)
    return {next(iter(r.values())) for r in rows}


def page_clause(column: str, page: Page, values: list[Any]) -> tuple[str, str]:
    """The conditions (` AND ...`) and the `ORDER BY ... LIMIT ...` that select one page by
    `column`, appending their arguments to `values`; ascending for `min_id` (the caller
    reverses the rows), else descending."""

    def param(value: int) -> str:
        values.append(value)
        return f"${len(values)}"

    conditions = []
    if page.max_id is not None:
        conditions.append(f"{column} < {param(page.max_id)}")
    if page.since_id is not None:
        conditions.append(f"{column} > {param(page.since_id)}")
    if page.min_id is not None:
        conditions.append(f"{column} > {param(page.min_id)}")
    order = "ASC" if page.min_id is not None else "DESC"
    where = "".join(f" AND {c}" for c in conditions)
    return where, f"ORDER BY {column} {order} LIMIT {param(page.limit)}"


async def fetch_page(
    conn: Connection, row: type[R], sql: str, args: Sequence[Any], column: str, page: Page
) -> list[R]:
    """Run `sql` (a SELECT of `row`s whose WHERE clause is open for `AND ...`) over one
    page by `column`, newest first."""
    values = list(args)
    where, order = page_clause(column, page, values)
    rows = await fetch_as(conn, row, f"{sql}{where} {order}", *values)
    if page.min_id is not None:
        rows.reverse()
    return rows
