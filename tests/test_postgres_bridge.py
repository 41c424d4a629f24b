"""The Trio-to-asyncio bridge under the PostgreSQL store: answers, errors, cancellation,
whether the Trio thread waited on a lock or in Trio's loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import trio

from wildebeest_trio.store import aiobridge
from wildebeest_trio.store.aiobridge import AsyncioThread


@pytest.fixture
async def bridge() -> AsyncIterator[AsyncioThread]:
    thread = AsyncioThread(name="test-bridge")
    try:
        yield thread
    finally:
        thread.stop()


async def _answer(value: int, delay: float = 0.0) -> int:
    if delay:
        await asyncio.sleep(delay)
    return value


async def _fail(delay: float = 0.0) -> None:
    if delay:
        await asyncio.sleep(delay)
    raise LookupError("from asyncio")


async def test_idle_is_read_from_trio() -> None:
    # A lone task: nothing else runnable. If a Trio release moves what `_trio_idle` reads,
    # this fails (the bridge would still work, only without waiting on a lock).
    assert aiobridge._trio_idle()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.sleep, 0)
        assert not aiobridge._trio_idle()


async def test_answers_waited_on_a_lock_and_in_trios_loop(bridge: AsyncioThread) -> None:
    waits: list[bool] = []
    wait_sync = bridge._wait_sync

    def spy(call: aiobridge._Call) -> bool:
        waits.append(answered := wait_sync(call))
        return answered

    bridge._wait_sync = spy  # type: ignore[method-assign]
    # Quick answers are taken on the lock (allow a few misses on a loaded machine).
    assert [await bridge.call(_answer, n) for n in range(20)] == list(range(20))
    assert waits.count(True) >= 1
    # A unit longer than the wait is answered through Trio's loop.
    waits.clear()
    assert await bridge.call(_answer, 7, aiobridge.TRIO_WAIT * 20) == 7
    assert waits == [False]


async def test_errors_cross_both_ways(bridge: AsyncioThread) -> None:
    with pytest.raises(LookupError, match="from asyncio"):
        await bridge.call(_fail)
    with pytest.raises(LookupError, match="from asyncio"):
        await bridge.call(_fail, aiobridge.TRIO_WAIT * 20)


async def test_busy_trio_waits_in_its_loop(bridge: AsyncioThread) -> None:
    results: list[int] = []

    async def one(n: int) -> None:
        results.append(await bridge.call(_answer, n))

    async with trio.open_nursery() as nursery:
        for n in range(50):
            nursery.start_soon(one, n)
    assert sorted(results) == list(range(50))


async def test_cancel_reaches_the_asyncio_task(bridge: AsyncioThread) -> None:
    cancelled_on_loop: list[bool] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled_on_loop.append(True)
            raise

    with trio.move_on_after(0.05) as scope:
        await bridge.call(forever)
    assert scope.cancelled_caught
    # The call returned only once the asyncio task had really finished.
    assert cancelled_on_loop == [True]
    # The bridge keeps working afterwards.
    assert await bridge.call(_answer, 3) == 3


async def test_cancel_before_the_unit_starts(bridge: AsyncioThread) -> None:
    started: list[int] = []

    async def unit() -> int:
        started.append(1)
        return 1

    # The loop is busy: the start and then the cancellation queue behind this.
    bridge.loop.call_soon_threadsafe(time.sleep, 0.05)
    with trio.CancelScope() as scope:
        scope.cancel()
        await bridge.call(unit)
    assert scope.cancelled_caught
    assert started == []
    assert await bridge.call(_answer, 2) == 2


async def test_quick_answers_still_let_trio_run(bridge: AsyncioThread) -> None:
    # A loop of units answered on the lock must still let Trio fire deadlines and wake
    # sleeping tasks (answers taken on the lock skip Trio's loop only for a while).
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await trio.sleep(0.005)
            ticks += 1

    calls = 0
    with trio.move_on_after(0.2) as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            while True:
                assert await bridge.call(_answer, 1) == 1
                calls += 1
    assert scope.cancelled_caught
    assert ticks >= 1 and calls >= 1
