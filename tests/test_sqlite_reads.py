"""SQLite reads on the Trio thread within a budget, and on a reader thread past it."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from wildebeest_trio.store import Connection
from wildebeest_trio.store import sqlite as sqlite_store
from wildebeest_trio.store.sqlite import SqliteStore

# Counting to this many in a recursive CTE takes far longer than a tiny budget.
LONG_COUNT = 300_000
LONG_SQL = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) "
    "SELECT COUNT(*) FROM n"
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(f"sqlite:///{tmp_path}/reads.db", readers=1)
    try:
        yield opened
    finally:
        await opened.aclose()


async def _where(conn: Connection) -> str:
    await conn.fetchval("SELECT 1")
    return threading.current_thread().name


async def _long_count(conn: Connection, swallow: bool = False) -> tuple[int, str]:
    try:
        counted = int(await conn.fetchval(LONG_SQL, LONG_COUNT))
    except Exception:
        if not swallow:
            raise
        counted = -1  # what a unit that hides its errors would make of an interruption
    return counted, threading.current_thread().name


async def test_a_short_read_runs_on_the_trio_thread(store: SqliteStore) -> None:
    assert await store.read(_where) == threading.current_thread().name


@pytest.mark.parametrize("swallow", [False, True])
async def test_a_read_past_the_budget_is_run_again_on_a_thread(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch, swallow: bool
) -> None:
    monkeypatch.setattr(sqlite_store, "INLINE_BUDGET", 0.0005)
    counted, thread = await store.read(_long_count, swallow)
    assert counted == LONG_COUNT  # the thread's answer, whatever the interrupted run made
    assert thread != threading.current_thread().name
    # The only reader connection is usable again: the interrupted transaction is gone.
    assert await store.read(_where) == threading.current_thread().name
    # The same unit goes to a thread first now, and is still right.
    assert await store.read(_long_count, swallow) == (LONG_COUNT, thread)


async def test_a_unit_that_fits_again_comes_back_to_the_trio_thread(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def count(conn: Connection, upto: int) -> str:
        await conn.fetchval(LONG_SQL, upto)
        return threading.current_thread().name

    trio_thread = threading.current_thread().name
    monkeypatch.setattr(sqlite_store, "INLINE_BUDGET", 0.0005)
    assert await store.read(count, LONG_COUNT) != trio_thread
    for _ in range(sqlite_store._TRIAL_FIRST):
        assert await store.read(count, 1) != trio_thread
    # Its try on the Trio thread fails: twice as many runs on the thread before the next.
    assert await store.read(count, LONG_COUNT) != trio_thread
    for _ in range(sqlite_store._TRIAL_FIRST * 2):
        assert await store.read(count, 1) != trio_thread
    assert await store.read(count, 1) == trio_thread
    assert await store.read(count, 1) == trio_thread


async def test_a_unit_slower_on_a_thread_than_inline_still_comes_back(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In a server, a read on a reader thread takes the GIL back from the busy Trio thread
    # after every SQLite step, which doubles or triples its CPU. A unit pushed over the
    # budget once (by a garbage collection, say) must not be judged by that CPU and kept
    # on the threads for good: its tries on the Trio thread bring it back.
    trio_thread = threading.current_thread().name
    monkeypatch.setattr(sqlite_store, "INLINE_BUDGET", 0.0005)
    slow_once = [True]

    async def page(conn: Connection) -> str:
        here = threading.current_thread().name
        if here != trio_thread or slow_once:
            if here == trio_thread:
                slow_once.clear()
            await conn.fetchval(LONG_SQL, LONG_COUNT)  # past the budget, wherever it runs
        return here

    assert await store.read(page) != trio_thread
    ran = [await store.read(page) for _ in range(sqlite_store._TRIAL_FIRST + 2)]
    assert ran[-2:] == [trio_thread, trio_thread]


async def test_a_read_that_meets_a_lock_waits_for_it_on_a_thread(store: SqliteStore) -> None:
    trio_thread = threading.current_thread().name
    locks = [1]

    async def locked_here(conn: Connection) -> str:
        # What SQLite raises when another process holds the lock a read needs (rare in
        # WAL mode: a recovery): the Trio thread must not wait for it, a thread may.
        if threading.current_thread().name == trio_thread and locks:
            locks.pop()
            busy = sqlite3.OperationalError("database is locked")
            busy.sqlite_errorcode = 5  # type: ignore[attr-defined]
            raise busy
        return await _where(conn)

    assert await store.read(locked_here) != trio_thread
    assert await store.read(locked_here) == trio_thread  # a lock is no reason to move it


async def test_time_spent_waiting_is_not_counted_against_the_budget(store: SqliteStore) -> None:
    # A read that waits (for the GIL, in a server; here a function that sleeps) past the
    # budget without using the CPU stays on the Trio thread: moving it would not free the
    # loop, and under load it sent every read to the threads.
    waited: list[bool] = []

    def wait_once(value: int) -> int:
        if not waited:
            waited.append(True)
            time.sleep(sqlite_store.INLINE_BUDGET * 3)  # within the wall-time limit
        return value

    store._inline_reader.create_function("wb_wait_once", 1, wait_once)

    async def waits(conn: Connection) -> str:
        # Enough rows after the wait for SQLite to call the progress handler again.
        await conn.fetchval(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600) "
            "SELECT COUNT(wb_wait_once(i)) FROM n"
        )
        return threading.current_thread().name

    assert await store.read(waits) == threading.current_thread().name
    assert waited == [True]


async def test_a_read_that_failed_inline_leaves_a_fresh_connection_behind(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interrupted connection is closed and replaced: on it, a statement of the unit
    was prepared again on every later run (bench/inline_overrun.py)."""
    interrupted = store._inline_reader
    monkeypatch.setattr(sqlite_store, "INLINE_BUDGET", 0.0005)
    assert (await store.read(_long_count))[0] == LONG_COUNT
    assert store._inline_reader is not interrupted
    with pytest.raises(sqlite3.ProgrammingError):
        interrupted.execute("SELECT 1")
    monkeypatch.undo()
    assert await store.read(_where) == threading.current_thread().name
