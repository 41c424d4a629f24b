"""Concurrent calls combined: one run per key (SingleFlight), many items per run (Batcher);
what one source may wait for at once (PerSourceLimit)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from wildebeest_trio.coalesce import Batcher, PerSourceLimit, SingleFlight


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


async def test_items_submitted_during_a_run_go_together_in_the_next() -> None:
    batcher: Batcher[int, int] = Batcher(limit=10)
    runs: list[list[int]] = []

    async def run(items: list[int]) -> list[int]:
        runs.append(items)
        await trio.sleep(0.01)
        return [n * 2 for n in items]

    results: dict[int, int] = {}

    async def submit(n: int) -> None:
        results[n] = await batcher.submit(n, run)

    async with trio.open_nursery() as nursery:
        for n in range(20):
            nursery.start_soon(submit, n)
    assert [len(items) for items in runs] == [1, 10, 9]
    assert sorted(n for items in runs for n in items) == list(range(20))
    assert results == {n: n * 2 for n in range(20)}
    assert await batcher.submit(7, run) == 14 and runs[-1] == [7]


async def test_a_failed_run_fails_its_own_items_only() -> None:
    batcher: Batcher[int, int] = Batcher(limit=100)

    async def run(items: list[int]) -> list[int]:
        await trio.sleep(0.01)
        if 0 in items:
            raise Gone("the database went away")
        return items

    failed: list[BaseException] = []
    results: list[int] = []

    async def submit(n: int) -> None:
        try:
            results.append(await batcher.submit(n, run))
        except Gone as exc:
            failed.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(submit, 0)
        await trio.testing.wait_all_tasks_blocked()
        for n in range(1, 4):
            nursery.start_soon(submit, n)
    assert len(failed) == 1 and sorted(results) == [1, 2, 3]


async def test_cancelled_callers_neither_run_nor_stall_the_others() -> None:
    batcher: Batcher[str, str] = Batcher(limit=100)
    ran: list[list[str]] = []
    gate = trio.Event()
    waiting = trio.CancelScope()
    turn_taker = trio.CancelScope()

    async def run(items: list[str]) -> list[str]:
        ran.append(items)
        if items == ["runner"]:
            await gate.wait()
            # Cancelled with no checkpoint before its turn is handed over: it must
            # pass the turn on, or the queue would stall.
            turn_taker.cancel()
        return [item.upper() for item in items]

    results: list[str] = []

    async def submit(item: str, scope: trio.CancelScope | None = None) -> None:
        with scope or trio.CancelScope():
            results.append(await batcher.submit(item, run))

    runner_scope = trio.CancelScope()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(submit, "runner", runner_scope)
        await trio.testing.wait_all_tasks_blocked()
        for item, scope in (("takes the turn", turn_taker), ("gives up", waiting), ("last", None)):
            nursery.start_soon(submit, item, scope)  # queued in this order
            await trio.testing.wait_all_tasks_blocked()
        waiting.cancel()  # leaves the queue
        await trio.testing.wait_all_tasks_blocked()
        runner_scope.cancel()  # the run is shielded: it finishes for everyone
        gate.set()
    assert ran == [["runner"], ["last"]], ran
    assert sorted(results) == ["LAST", "RUNNER"]


def test_a_source_waits_for_at_most_limit_things_and_any_calls_for_each() -> None:
    waits = PerSourceLimit(limit=2)
    assert waits.enter("10.0.0.1", "a") and waits.enter("10.0.0.1", "b")
    assert waits.full("10.0.0.1") and not waits.full("10.0.0.2")
    assert not waits.enter("10.0.0.1", "c")  # a third thing: refused, not counted
    assert waits.enter("10.0.0.1", "a")  # more calls for a thing already waited for
    assert waits.enter("10.0.0.2", "c")  # another source has its own bound
    waits.leave("10.0.0.1", "a")
    assert not waits.admits("10.0.0.1", "c")  # "a" still has a caller
    waits.leave("10.0.0.1", "a")
    assert waits.admits("10.0.0.1", "c") and not waits.full("10.0.0.1")
    waits.leave("10.0.0.1", "b")
    waits.leave("10.0.0.2", "c")
    assert waits.enter("10.0.0.1", "x") and waits.enter("10.0.0.1", "y")
