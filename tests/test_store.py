"""The store on both backends: units, transactions, errors, migrations, cancellation."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import pytest
import trio
import trio.lowlevel
import trio.testing

from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import Connection, IntegrityError, StoreMisuse, open_store
from wildebeest_trio.store.migrate import discover, migrate


async def _insert_setting(conn: Connection, key: str, fail: bool = False) -> None:
    await conn.execute(
        "INSERT INTO instance_settings (key, value, updated_at) VALUES ($1, $2, $3)",
        key,
        '"v"',
        now_ms(),
    )
    if fail:
        raise RuntimeError("boom after the insert")


async def _count_settings(conn: Connection, key: str) -> int:
    return int(await conn.fetchval("SELECT COUNT(*) FROM instance_settings WHERE key = $1", key))


async def test_write_then_read(rt: Runtime) -> None:
    await rt.store.write(_insert_setting, "a")
    assert await rt.store.read(_count_settings, "a") == 1


async def test_failed_unit_leaves_nothing(rt: Runtime) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        await rt.store.write(_insert_setting, "half", fail=True)
    assert await rt.store.read(_count_settings, "half") == 0


async def test_constraint_violation_is_typed_and_rolled_back(rt: Runtime) -> None:
    async def twice(conn: Connection) -> None:
        await _insert_setting(conn, "dup-ok")
        await _insert_setting(conn, "dup")
        await _insert_setting(conn, "dup")

    with pytest.raises(IntegrityError):
        await rt.store.write(twice)
    assert await rt.store.read(_count_settings, "dup-ok") == 0


async def test_unit_may_not_await_other_things(rt: Runtime) -> None:
    async def sleepy(conn: Connection) -> None:
        await _insert_setting(conn, "sleepy")
        await trio.lowlevel.checkpoint()

    with pytest.raises((StoreMisuse, RuntimeError, TypeError)):
        await rt.store.write(sleepy)
    assert await rt.store.read(_count_settings, "sleepy") == 0


async def test_fetch_shapes(rt: Runtime) -> None:
    async def shapes(conn: Connection) -> dict[str, Any]:
        return {
            "rows": await conn.fetch("SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y'"),
            "row": await conn.fetchrow("SELECT 1 AS a WHERE 1 = 0"),
            "val": await conn.fetchval("SELECT $1 + 1", 41),
        }

    out = await rt.store.read(shapes)
    assert sorted(r["a"] for r in out["rows"]) == [1, 2]
    assert out["row"] is None
    assert out["val"] == 42


async def test_concurrent_writers_all_commit(rt: Runtime) -> None:
    async with trio.open_nursery() as nursery:
        for i in range(40):
            nursery.start_soon(rt.store.write, _insert_setting, f"k{i}")

    async def total(conn: Connection) -> int:
        return int(await conn.fetchval("SELECT COUNT(*) FROM instance_settings"))

    assert await rt.store.read(total) >= 40


async def test_migrations_are_recorded_and_idempotent(rt: Runtime) -> None:
    assert await migrate(rt.store) == []

    async def versions(conn: Connection) -> list[int]:
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        return [r["version"] for r in rows]

    assert await rt.store.read(versions) == [m.version for m in discover(rt.store.dialect)]


async def test_data_survives_reopening(rt: Runtime) -> None:
    await rt.store.write(_insert_setting, "durable")
    store = await open_store(rt.config.database_url)
    try:
        assert await store.read(_count_settings, "durable") == 1
    finally:
        await store.aclose()


async def test_cancelled_query_leaves_pool_healthy(rt: Runtime) -> None:
    if rt.store.dialect != "postgres":
        pytest.skip("server-side cancellation is a PostgreSQL matter")

    async def slow(conn: Connection) -> None:
        await conn.execute("SELECT pg_sleep(30)")

    start = trio.current_time()
    with trio.move_on_after(0.3) as scope:
        await rt.store.read(slow)
    assert scope.cancelled_caught
    assert trio.current_time() - start < 5
    # The connection went back healthy: many more units run fine.
    for _ in range(30):
        assert await rt.store.ping()

    async def sleeping(conn: Connection) -> int:
        return int(
            await conn.fetchval(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%'"
            )
        )

    assert await rt.store.read(sleeping) == 0


async def test_the_store_does_not_wait_for_trios_shared_threads(rt: Runtime) -> None:
    """Trio's default thread limiter serves file I/O, image work and more that strangers
    can set off; with all of its threads busy, a unit of work still runs at once."""
    shared = trio.to_thread.current_default_thread_limiter()
    release = threading.Event()
    async with trio.open_nursery() as nursery:
        for _ in range(int(shared.total_tokens)):
            nursery.start_soon(partial(trio.to_thread.run_sync, release.wait, 30))
        await trio.testing.wait_all_tasks_blocked()
        try:
            assert shared.available_tokens == 0
            with trio.fail_after(5):
                await rt.store.write(_insert_setting, "busy")
                assert await rt.store.read(_count_settings, "busy") == 1
        finally:
            release.set()
