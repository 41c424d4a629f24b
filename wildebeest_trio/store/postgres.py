"""The PostgreSQL backend: asyncpg on its own asyncio thread, one crossing per unit."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import asyncpg
import trio

from .aiobridge import AsyncioThread
from .base import Dialect, IntegrityError, Row, Store, T, Unit
from .effects import Effects


class _NoResetConnection(asyncpg.Connection):  # type: ignore[misc]
    """Skips the pool's reset query: units never leave session state behind.

    (They use no SET, LISTEN, advisory locks or cursors outside a transaction;
    an open transaction is still rolled back by the pool on release.)
    """

    def get_reset_query(self) -> str:
        return ""


class PgConnection:
    """A connection as a unit sees it."""

    dialect: Dialect = "postgres"

    def __init__(
        self, raw: asyncpg.Connection, effects: Effects, allow_list_only: bool = False
    ) -> None:
        self._raw = raw
        self.effects = effects
        self.allow_list_only = allow_list_only

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        try:
            return [dict(r) for r in await self._raw.fetch(sql, *args)]
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc), exc.constraint_name) from exc

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        try:
            row = await self._raw.fetchrow(sql, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc), exc.constraint_name) from exc
        return None if row is None else dict(row)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        try:
            return await self._raw.fetchval(sql, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc), exc.constraint_name) from exc

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            status = await self._raw.execute(sql, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc), exc.constraint_name) from exc
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        try:
            await self._raw.executemany(sql, list(args))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc), exc.constraint_name) from exc

    async def run_script(self, script: str) -> None:
        # Without arguments asyncpg uses the simple protocol, which runs many statements.
        await self._raw.execute(script)


class PostgresStore(Store):
    """PostgreSQL through an asyncpg pool owned by a dedicated asyncio thread."""

    dialect: Dialect = "postgres"

    def __init__(self, url: str, bridge: AsyncioThread, pool: asyncpg.Pool) -> None:
        self.url = url
        self._bridge = bridge
        self._pool = pool

    @classmethod
    async def open(cls, url: str, pool_size: int = 20) -> PostgresStore:
        """Start the asyncio thread and connect the pool."""
        bridge = AsyncioThread()
        try:
            pool = await bridge.call(
                functools.partial(
                    asyncpg.create_pool,
                    url,
                    min_size=min(2, pool_size),
                    max_size=pool_size,
                    connection_class=_NoResetConnection,
                    # JIT compiles any plan whose estimate passes jit_above_cost: a
                    # timeline page that runs in 1 ms but is estimated expensive (a LIMIT
                    # over a filtered backward index scan) cost 1.5 s of compilation.
                    server_settings={"jit": "off"},
                )
            )
        except BaseException:
            bridge.stop()
            raise
        return cls(url, bridge, pool)

    async def _in_transaction(self, unit: Unit[..., T], effects: Effects, args: Any, kw: Any) -> T:
        async with self._pool.acquire() as raw, raw.transaction():
            return await unit(PgConnection(raw, effects, self.allow_list_only), *args, **kw)

    async def _autocommit(self, unit: Unit[..., T], effects: Effects, args: Any, kw: Any) -> T:
        async with self._pool.acquire() as raw:
            return await unit(PgConnection(raw, effects, self.allow_list_only), *args, **kw)

    async def _run_write(self, unit: Unit[..., T], effects: Effects, args: Any, kwargs: Any) -> T:
        return await self._bridge.call(self._in_transaction, unit, effects, args, kwargs)

    async def _run_read(self, unit: Unit[..., T], effects: Effects, args: Any, kwargs: Any) -> T:
        # No BEGIN/COMMIT: two round trips saved per read. Each statement sees the latest
        # committed data (READ COMMITTED), as Mastodon's reads do.
        return await self._bridge.call(self._autocommit, unit, effects, args, kwargs)

    async def listen(
        self,
        channel: str,
        on_message: Callable[[str], None],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Call `on_message(payload)` in the Trio thread for each NOTIFY, until cancelled.

        Uses a dedicated connection (a LISTEN must outlive any one unit of work).
        """
        token = trio.lowlevel.current_trio_token()

        def callback(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            token.run_sync_soon(on_message, payload)

        raw = await self._bridge.call(functools.partial(asyncpg.connect, self.url))
        try:
            await self._bridge.call(raw.add_listener, channel, callback)
            task_status.started()
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await self._bridge.call(raw.close)

    async def aclose(self) -> None:
        try:
            await self._bridge.call(self._pool.close)
        finally:
            self._bridge.stop()
