"""The Trio-to-asyncio bridge under the PostgreSQL store: answers, errors, cancellation,
whether the Trio thread waited on its pipe or in Trio's loop, how the loop is woken."""

from __future__ import annotations

import asyncio
import select
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

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
    # this fails (the bridge would still work, only without waiting on its pipe).
    assert aiobridge._trio_idle()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.sleep, 0)
        assert not aiobridge._trio_idle()


async def test_answers_waited_on_a_pipe_and_in_trios_loop(bridge: AsyncioThread) -> None:
    waits: list[bool] = []
    wait_sync = bridge._wait_sync

    def spy(call: aiobridge._Call) -> bool:
        waits.append(answered := wait_sync(call))
        return answered

    bridge._wait_sync = spy  # type: ignore[method-assign]
    # Quick answers are taken on the pipe (allow a few misses on a loaded machine).
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

    busy = threading.Event()

    def block() -> None:
        busy.set()
        time.sleep(0.05)

    # The loop is busy: the start is not handed over before the cancellation comes.
    bridge.loop.call_soon_threadsafe(block)
    assert busy.wait(5)
    with trio.CancelScope() as scope:
        scope.cancel()
        await bridge.call(unit)
    assert scope.cancelled_caught
    assert started == []
    assert await bridge.call(_answer, 2) == 2


async def test_quick_answers_still_let_trio_run(bridge: AsyncioThread) -> None:
    # A loop of units answered on the pipe must still let Trio fire deadlines and wake
    # sleeping tasks (answers taken on the pipe skip Trio's loop only for a while).
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


def _pipe_is_empty(bridge: AsyncioThread) -> bool:
    readable, _, _ = select.select([bridge._answer_pipe()[0]], [], [], 0)
    return not readable


async def test_an_answer_in_before_the_wait_is_taken_on_the_pipe_once(
    bridge: AsyncioThread,
) -> None:
    # The unit finishes before the Trio thread starts waiting: the thread chose to wait
    # before the start, so the answer is still taken on the pipe (not through Trio's
    # loop), and its one byte is read (a byte left over would end a later wait early).
    waits: list[bool] = []
    wait_sync = bridge._wait_sync

    def late(call: aiobridge._Call) -> bool:
        deadline = time.monotonic() + 5
        while call.result is None and time.monotonic() < deadline:
            time.sleep(0.001)
        waits.append(answered := wait_sync(call))
        return answered

    bridge._wait_sync = late  # type: ignore[method-assign]
    for n in range(5):
        assert await bridge.call(_answer, n) == n
        assert _pipe_is_empty(bridge)
        await trio.sleep(0.001)  # a wake-up left over would land here, or in the next call
    assert waits == [True] * 5


async def test_a_wait_that_gives_up_leaves_the_pipe_empty(bridge: AsyncioThread) -> None:
    for _ in range(3):
        assert await bridge.call(_answer, 7, aiobridge.TRIO_WAIT * 4) == 7
        assert _pipe_is_empty(bridge)
    assert await bridge.call(_answer, 8) == 8
    assert _pipe_is_empty(bridge)


async def test_starts_wake_the_loop_through_its_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    # `call_soon_threadsafe` wakes the loop's thread while this one holds the GIL; the pipe
    # is written with the GIL let go. (Cancellations still use it: they are rare.)
    woken: list[Any] = []

    class Counting(asyncio.SelectorEventLoop):
        def call_soon_threadsafe(self, callback: Any, *args: Any, context: Any = None) -> Any:
            woken.append(callback)
            return super().call_soon_threadsafe(callback, *args, context=context)

    monkeypatch.setattr(aiobridge, "_new_loop", Counting)
    thread = AsyncioThread(name="test-counting")
    try:
        async with trio.open_nursery() as nursery:  # busy Trio: answers through its loop
            for n in range(10):
                nursery.start_soon(thread.call, _answer, n)
        for n in range(10):  # idle Trio: answers on the pipe
            assert await thread.call(_answer, n) == n
        assert woken == []
    finally:
        thread.stop()


async def test_a_cancelled_caller_starts_no_more_units(bridge: AsyncioThread) -> None:
    # Quick answers are taken on the pipe and delivered whatever happens meanwhile; a
    # cancelled scope must still stop a loop of calls at its next call.
    started: list[int] = []

    async def unit(n: int) -> int:
        started.append(n)
        return n

    with trio.CancelScope() as scope:
        scope.cancel()
        for n in range(50):
            await bridge.call(unit, n)
    assert scope.cancelled_caught
    assert started == []
