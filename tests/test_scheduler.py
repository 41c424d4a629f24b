"""Periodic upkeep runs once per interval however many processes share the database."""

from __future__ import annotations

import trio

from wildebeest_trio.config import Config
from wildebeest_trio.ids import now_ms
from wildebeest_trio.jobs import JobRegistry
from wildebeest_trio.jobs.scheduler import Periodic, run_scheduler
from wildebeest_trio.runtime import EffectHandlers, Runtime, open_runtime
from wildebeest_trio.store import scheduled_runs

MINUTE = 60_000


async def test_one_process_takes_each_turn(rt: Runtime, config: Config) -> None:
    """Two processes ask for the same turn: one gets it; the next falls due an interval later."""
    async with open_runtime(config, registry=JobRegistry(), effects=EffectHandlers()) as other:
        now = now_ms()
        first = await rt.store.write(scheduled_runs.take_turn, "purge", now, now + MINUTE)
        second = await other.store.write(scheduled_runs.take_turn, "purge", now, now + MINUTE)
        assert first == scheduled_runs.Turn(True, now + MINUTE)
        assert second == scheduled_runs.Turn(False, now + MINUTE)

        early = now + MINUTE - 1
        for runtime in (rt, other):
            turn = await runtime.store.write(
                scheduled_runs.take_turn, "purge", early, early + MINUTE
            )
            assert turn == scheduled_runs.Turn(False, now + MINUTE)

        due = now + MINUTE
        taken = await other.store.write(scheduled_runs.take_turn, "purge", due, due + MINUTE)
        assert taken == scheduled_runs.Turn(True, due + MINUTE)
        # Another task's turns are its own.
        elsewhere = await rt.store.write(scheduled_runs.take_turn, "trim", due, due + MINUTE)
        assert elsewhere.taken


async def test_two_schedulers_share_the_turns(config: Config) -> None:
    """Two processes' schedulers run a task at most once per interval between them."""
    interval = 0.1
    runs: list[str] = []

    def task(who: str) -> Periodic:
        async def run(rt: Runtime) -> None:
            runs.append(who)

        return Periodic("count the turns", interval, run)

    async def scheduler(who: str) -> None:
        async with open_runtime(
            config, registry=JobRegistry(), effects=EffectHandlers(), periodic=(task(who),)
        ) as runtime:
            await run_scheduler(runtime)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(scheduler, "a")
        nursery.start_soon(scheduler, "b")
        started = trio.current_time()
        with trio.fail_after(30):
            while len(runs) < 3:
                await trio.sleep(0.02)
        elapsed = trio.current_time() - started
        nursery.cancel_scope.cancel()
    # Each of two processes alone would run it every interval: between them they took turns.
    assert len(runs) <= elapsed / interval + 1, (runs, elapsed)
