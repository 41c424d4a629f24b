"""The PostgreSQL backend: asyncpg on its own asyncio thread, one crossing per unit."""

from __future__ import annotations

import asyncio
import collections
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import asyncpg
import trio

from .aiobridge import AsyncioThread
from .base import Dialect, IntegrityError, Row, Store, T, Unit
from .effects import Effects

# Applied to every connection. JIT compiles any plan whose estimate passes
# jit_above_cost: a timeline page that runs in 1 ms but is estimated expensive (a LIMIT
# over a filtered backward index scan) cost 1.5 s of compilation.
SERVER_SETTINGS = {"jit": "off"}
# How long a connection handed back mid-query may take to have its query cancelled
# before it is closed instead.
RECOVER_LIMIT = 10.0


class _Pool:
    """The connections units run on; every method runs on the asyncio thread.

    asyncpg's own pool cost about 20 µs of that thread's CPU per acquire and release (a
    queue, a proxy object per acquire, a reset and an inactivity timer per release), a
    tenth of a `SELECT 1` round trip, which one Trio task waits for in full. Units need
    less: a connection handed back idle and outside a transaction is kept (the most
    recently used first, its statement cache warm); one handed back mid-query (its unit
    cancelled) is kept once the server has cancelled the query, and closed if it is
    still in a transaction or broken (a new one is made when one is next needed). No
    reset query: units use no SET, LISTEN, advisory locks or cursors outside a
    transaction.
    """

    def __init__(self, url: str, size: int) -> None:
        self._url = url
        self._size = size
        self._idle: list[asyncpg.Connection] = []
        self._count = 0  # connections open or being opened
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closing = False

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self._url, server_settings=SERVER_SETTINGS)

    async def fill(self, count: int) -> None:
        """Open `count` connections ahead of the first units (all or none)."""
        self._count += count
        made = await asyncio.gather(
            *(self._connect() for _ in range(count)), return_exceptions=True
        )
        failed = [m for m in made if isinstance(m, BaseException)]
        if failed:
            self._count -= count
            for conn in made:
                if not isinstance(conn, BaseException):
                    conn.terminate()
            raise failed[0]
        self._idle.extend(made)

    async def acquire(self) -> asyncpg.Connection:
        """A connection for one unit: an idle one, a new one, or the next one released."""
        while True:
            if self._closing:
                raise asyncpg.InterfaceError("the pool is closed")
            while self._idle:
                conn = self._idle.pop()
                if not conn.is_closed():
                    return conn
                self._count -= 1
            if self._count < self._size:
                self._count += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._count -= 1
                    self._wake_one()
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken and cancelled at once: pass the turn on
                else:
                    self._waiters.remove(waiter)
                raise

    def release(self, conn: asyncpg.Connection) -> bool:
        """Keep a connection a unit is done with; False if it needs `recover` first."""
        if (
            self._closing
            or conn.is_closed()
            or conn.is_in_transaction()
            or conn._protocol._is_cancelling()
        ):
            return False
        self._idle.append(conn)
        self._wake_one()
        return True

    async def recover(self, conn: asyncpg.Connection) -> None:
        """After a cancelled unit: let the server cancel its query, then keep the
        connection if it is idle outside a transaction, else close it (the server
        rolls back an open transaction when the connection closes)."""
        try:
            if conn._protocol._is_cancelling():
                async with asyncio.timeout(RECOVER_LIMIT):
                    await conn._protocol._wait_for_cancellation()
            kept = not (self._closing or conn.is_closed() or conn.is_in_transaction())
        except BaseException:
            kept = False
            raise
        finally:
            if kept:
                self._idle.append(conn)
            else:
                conn.terminate()
                self._count -= 1
            self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        """Close the idle connections; the ones in use close when released."""
        self._closing = True
        idle, self._idle = self._idle, []
        self._count -= len(idle)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)  # they see `_closing`
        await asyncio.gather(*(conn.close() for conn in idle), return_exceptions=True)


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

    def __init__(self, url: str, bridge: AsyncioThread, pool: _Pool) -> None:
        self.url = url
        self._bridge = bridge
        self._pool = pool

    @classmethod
    async def open(cls, url: str, pool_size: int = 20) -> PostgresStore:
        """Start the asyncio thread and connect the pool."""
        bridge = AsyncioThread()
        pool = _Pool(url, pool_size)
        try:
            await bridge.call(pool.fill, min(2, pool_size))
        except BaseException:
            bridge.stop()
            raise
        return cls(url, bridge, pool)

    async def _in_transaction(self, unit: Unit[..., T], effects: Effects, args: Any, kw: Any) -> T:
        raw = await self._pool.acquire()
        try:
            async with raw.transaction():
                return await unit(PgConnection(raw, effects, self.allow_list_only), *args, **kw)
        finally:
            if not self._pool.release(raw):
                await self._pool.recover(raw)

    async def _autocommit(self, unit: Unit[..., T], effects: Effects, args: Any, kw: Any) -> T:
        raw = await self._pool.acquire()
        try:
            return await unit(PgConnection(raw, effects, self.allow_list_only), *args, **kw)
        finally:
            if not self._pool.release(raw):
                await self._pool.recover(raw)

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
