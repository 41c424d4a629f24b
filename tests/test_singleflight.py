"""SingleFlight: concurrent calls for one key share one run; nothing is kept afterwards."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from wildebeest_trio.singleflight import SingleFlight


class Gone(Exception):
    """The work's failure."""


async def test_concurrent_callers_share_one_run() -> None:
    flights: SingleFlight[str, int] = SingleFlight(limit=4)
    runs = 0
    gate = trio.Event()

    async def work() -> int:
        nonlocal runs
        runs += 1
        await gate.wait()
        return 42

    results: list[int] = []

    async def call() -> None:
        results.append(await flights.run("actor", work))

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(call)
        await trio.testing.wait_all_tasks_blocked()
        assert flights.in_flight() == 1
        gate.set()
    assert runs == 1 and results == [42] * 20
    assert flights.in_flight() == 0
    # Over: the next call runs the work again (a single flight, not a cache).
    assert await flights.run("actor", work) == 42 and runs == 2


async def test_a_failure_is_shared_each_caller_raising_its_own_copy() -> None:
    flights: SingleFlight[str, int] = SingleFlight(limit=4)
    runs = 0

    async def work() -> int:
        nonlocal runs
        runs += 1
        await trio.sleep(0.05)
        raise Gone("the host is down")

    raised: list[BaseException] = []

    async def call() -> None:
        with pytest.raises(Gone) as caught:
            await flights.run("actor", work)
        raised.append(caught.value)

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(call)
    assert runs == 1
    assert [str(e) for e in raised] == ["the host is down"] * 5
    assert len({id(e) for e in raised}) == 5


async def test_a_cancelled_run_leaves_the_work_to_the_next_caller() -> None:
    flights: SingleFlight[str, str] = SingleFlight(limit=4)
    runs = 0

    async def work() -> str:
        nonlocal runs
        runs += 1
        if runs == 1:
            await trio.sleep_forever()
        return "fetched"

    leader = trio.CancelScope()
    follower: list[str] = []

    async def lead() -> None:
        with leader:
            await flights.run("actor", work)

    async def follow() -> None:
        follower.append(await flights.run("actor", work))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(lead)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(follow)
        await trio.testing.wait_all_tasks_blocked()
        leader.cancel()
    assert runs == 2 and follower == ["fetched"]
    assert flights.in_flight() == 0


async def test_at_most_limit_keys_are_worked_on_at_once() -> None:
    flights: SingleFlight[int, int] = SingleFlight(limit=2)
    running = peak = 0

    async def work(n: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await trio.sleep(0.02)
        running -= 1
        return n

    async with trio.open_nursery() as nursery:
        for n in range(6):
            nursery.start_soon(flights.run, n, lambda n=n: work(n))
    assert peak == 2
