"""The store interface: units of work run against one connection, on either backend.

A *unit* is an `async def unit(conn, *args)` that talks only to `conn`. The
store runs a whole unit in one crossing to wherever the database lives (a
worker thread for SQLite, the asyncio thread that owns the asyncpg pool for
PostgreSQL), so a request pays for one thread hop, not one per query. Units
must await nothing but their connection: awaiting Trio or asyncio machinery
inside a unit is refused (`StoreMisuse`). SQL is written once with `$1`-style
placeholders; each backend translates what it must.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, Concatenate, Literal, ParamSpec, Protocol, TypeVar, cast

import trio

from .. import metrics, tracing
from .effects import Effects

#: A row as the connection returns it; the store's functions say which TypedDict of
#: `store.rows` it is (`fetch_as`, `fetchrow_as`, `rows_as`).
Row = dict[str, Any]
#: Any row, read only: a TypedDict of `store.rows` or a plain `Row`. Functions that only
#: read a row take this, so callers may pass whichever they hold.
RowView = Mapping[str, Any]
Dialect = Literal["sqlite", "postgres"]
T = TypeVar("T")
P = ParamSpec("P")
#: A TypedDict of `store.rows`: the columns a query selects.
R = TypeVar("R", bound=Mapping[str, object])


class StoreError(Exception):
    """A database problem the caller cannot fix by changing its input."""


class StoreMisuse(StoreError):
    """A unit of work did something units must not do."""


class IntegrityError(StoreError):
    """A constraint (unique, foreign key, check) refused the change."""

    def __init__(self, message: str, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint


class Connection(Protocol):
    """What a unit of work may call."""

    dialect: Dialect
    #: What must happen once this unit commits (see `store.effects`).
    effects: Effects
    #: Limited federation: only allowed domains federate (`domain_blocks.is_suspended`).
    allow_list_only: bool

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """All rows of a query, as dicts."""
        ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """The first row, or None."""
        ...

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row, or None."""
        ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        """Run a statement once per argument tuple."""
        ...

    async def run_script(self, script: str) -> None:
        """Run several statements, without arguments, inside the unit's transaction."""
        ...


Unit = Callable[Concatenate[Connection, P], Coroutine[Any, Any, T]]


# The one place rows are declared to be of a TypedDict: a cast, so free at run time. The
# TypedDicts are kept true to the schema by tests/test_store_types.py.


def rows_as(row: type[R], rows: list[Row]) -> list[R]:
    """`rows`, declared to be `row`s (the TypedDict of the columns their query selects)."""
    return cast("list[R]", rows)


def row_as(row: type[R], found: Row) -> R:
    """`found`, declared to be a `row` (the TypedDict of the columns its query selects)."""
    return cast("R", found)


async def fetch_as(conn: Connection, row: type[R], sql: str, *args: Any) -> list[R]:
    """All rows of a query, as `row`s."""
    return rows_as(row, await conn.fetch(sql, *args))


async def fetchrow_as(conn: Connection, row: type[R], sql: str, *args: Any) -> R | None:
    """The first row of a query as a `row`, or None."""
    found = await conn.fetchrow(sql, *args)
    return None if found is None else row_as(row, found)


async def fetchval_as(conn: Connection, kind: type[T], sql: str, *args: Any) -> T | None:
    """The first column of the first row, declared to be a `kind` (or NULL), or None."""
    return cast("T | None", await conn.fetchval(sql, *args))


AfterCommit = Callable[[Effects], Awaitable[None]]
# A committed unit's effects get this long to run; the change itself is already safe.
AFTER_COMMIT_LIMIT = 30.0


class Store(abc.ABC):
    """A database: SQLite (embedded) or PostgreSQL.

    `after_commit`, set by whoever assembles the server, runs a committed unit's
    effects; without it (a bare store, as migrations use) effects are dropped.
    """

    dialect: Dialect
    url: str
    after_commit: AfterCommit | None = None
    #: Set from the configuration (`limited_federation`); every connection carries it.
    allow_list_only: bool = False

    async def read(self, unit: Unit[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read-only unit (on PostgreSQL each statement sees the latest commit)."""
        effects = Effects()
        started = time.perf_counter()
        with tracing.unit_span("db.read", unit):
            result = await self._run_read(unit, effects, args, kwargs)
        metrics.db_unit("read", time.perf_counter() - started)
        if effects:
            raise StoreMisuse(f"a read unit recorded effects: {list(effects)!r}")
        return result

    async def write(self, unit: Unit[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a unit in one transaction: all of it commits, or none of it.

        The effects it recorded run after the commit, before this returns, even if the
        caller is cancelled meanwhile; a rolled-back unit's effects never run.
        """
        effects = Effects()
        started = time.perf_counter()
        with tracing.unit_span("db.write", unit):
            result = await self._run_write(unit, effects, args, kwargs)
        metrics.db_unit("write", time.perf_counter() - started)
        if effects and self.after_commit is not None:
            with trio.CancelScope(shield=True), trio.move_on_after(AFTER_COMMIT_LIMIT):
                await self.after_commit(effects)
        return result

    @abc.abstractmethod
    async def _run_read(self, unit: Unit[..., T], effects: Effects, args: Any, kwargs: Any) -> T:
        """Run a unit outside a transaction, its connection carrying `effects`."""

    @abc.abstractmethod
    async def _run_write(self, unit: Unit[..., T], effects: Effects, args: Any, kwargs: Any) -> T:
        """Run a unit in one transaction, its connection carrying `effects`."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close every connection."""

    async def ping(self) -> bool:
        """Whether the database answers."""
        return await self.read(_select_one) == 1


async def _select_one(conn: Connection) -> int | None:
    return await fetchval_as(conn, int, "SELECT 1")


# A user's effective role in a SELECT list over `users u`: the owner holds the stored role
# `admin` and the `owner` flag (see migration 0026).
ROLE_SQL = "CASE WHEN u.owner THEN 'owner' ELSE u.role END AS role, "
