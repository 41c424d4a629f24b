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
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Concatenate, Literal, ParamSpec, Protocol, TypeVar

Row = dict[str, Any]
Dialect = Literal["sqlite", "postgres"]
T = TypeVar("T")
P = ParamSpec("P")


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


Unit = Callable[Concatenate[Connection, P], Awaitable[T]]


class Store(abc.ABC):
    """A database: SQLite (embedded) or PostgreSQL."""

    dialect: Dialect
    url: str

    @abc.abstractmethod
    async def read(self, unit: Unit[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read-only unit (on PostgreSQL each statement sees the latest commit)."""

    @abc.abstractmethod
    async def write(self, unit: Unit[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a unit in one transaction: all of it commits, or none of it."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close every connection."""

    async def ping(self) -> bool:
        """Whether the database answers."""
        return await self.read(_select_one) == 1


async def _select_one(conn: Connection) -> Any:
    return await conn.fetchval("SELECT 1")
