"""The PostgreSQL store's own connection pool: reuse, its size bound, and connections
handed back after a failure or a cancellation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import trio

from tests.conftest import pg_database
from wildebeest_trio.store import Connection, IntegrityError, open_store
from wildebeest_trio.store.postgres import PostgresStore


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from pg_database(request, migrated=False)


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[PostgresStore]:
    opened = await open_store(pg_url, pg_pool_size=2)
    assert isinstance(opened, PostgresStore)
    try:
        yield opened
    finally:
        await opened.aclose()


async def _backend(conn: Connection) -> int:
    return int(await conn.fetchval("SELECT pg_backend_pid()"))


async def _backends(store: PostgresStore) -> int:
    async def count(conn: Connection) -> int:
        return int(
            await conn.fetchval(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
        )

    return await store.read(count)


async def test_units_one_after_another_reuse_one_connection(store: PostgresStore) -> None:
    # The most recently used connection first: its prepared statements are warm.
    assert len({await store.read(_backend) for _ in range(6)}) == 1


async def test_more_units_than_connections_wait_for_one(store: PostgresStore) -> None:
    running = 0
    most = 0
    backends: set[int] = set()

    async def slow(conn: Connection) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        backends.add(int(await conn.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.05)")))
        running -= 1

    async with trio.open_nursery() as nursery:
        for _ in range(6):
            nursery.start_soon(store.read, slow)
    assert most == 2
    assert len(backends) == 2
    assert await _backends(store) == 2


async def test_a_failed_unit_hands_its_connection_back(store: PostgresStore) -> None:
    async def bad(conn: Connection) -> None:
        await conn.execute("CREATE TEMPORARY TABLE once (id int PRIMARY KEY)")
        await conn.execute("INSERT INTO once VALUES (1)")
        await conn.execute("INSERT INTO once VALUES (1)")

    pid = await store.read(_backend)
    with pytest.raises(IntegrityError):
        await store.write(bad)
    # Rolled back, and the same connection serves the next unit.
    assert await store.read(_backend) == pid
    assert await store.read(lambda conn: conn.fetchval("SELECT to_regclass('once')")) is None


async def test_a_unit_cancelled_in_a_transaction_leaves_nothing_open(
    store: PostgresStore,
) -> None:
    async def stuck(conn: Connection) -> None:
        await conn.execute("CREATE TEMPORARY TABLE half (id int)")
        await conn.execute("SELECT pg_sleep(30)")

    with trio.move_on_after(0.3) as scope:
        await store.write(stuck)
    assert scope.cancelled_caught

    async def open_transactions(conn: Connection) -> int:
        return int(
            await conn.fetchval(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND (state LIKE 'idle in transaction%' OR query LIKE 'SELECT pg_sleep(30)%')"
                " AND pid <> pg_backend_pid()"
            )
        )

    assert await store.read(open_transactions) == 0
    assert await store.read(lambda conn: conn.fetchval("SELECT to_regclass('half')")) is None
    # Never more connections than the pool's size.
    assert await _backends(store) <= 2
