"""A destination's delivery slots (delivery_pool.DeliveryPool.limit): at most `per_host`
held at once, every waiter served, nothing kept by a waiter that gave up."""

from __future__ import annotations

import trio
import trio.testing

from wildebeest_trio.delivery_pool import DeliveryPool


async def test_slots_bound_each_host_and_serve_every_waiter() -> None:
    pool = DeliveryPool(per_host=2)
    holding: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}
    order: list[int] = []

    async def deliver(host: str, n: int) -> None:
        async with pool.limit(host):
            holding[host] += 1
            most[host] = max(most[host], holding[host])
            if host == "a":
                order.append(n)
            await trio.sleep(0.01)
            holding[host] -= 1

    async with trio.open_nursery() as nursery:
        for n in range(6):
            nursery.start_soon(deliver, "a", n)
            await trio.testing.wait_all_tasks_blocked()
        for n in range(3):
            nursery.start_soon(deliver, "b", n)
    assert most == {"a": 2, "b": 2}
    assert sorted(order) == list(range(6))
    assert pool._gates == {}  # every slot given back, no host left behind


async def test_a_waiter_that_gives_up_keeps_no_slot() -> None:
    pool = DeliveryPool(per_host=1)
    release = trio.Event()

    async def hold() -> None:
        async with pool.limit("a"):
            await release.wait()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(hold)
        await trio.testing.wait_all_tasks_blocked()
        with trio.move_on_after(0.01) as gave_up:
            async with pool.limit("a"):
                raise AssertionError("the only slot is held")
        assert gave_up.cancelled_caught
        release.set()
    async with pool.limit("a"):  # free again
        pass
    assert pool._gates == {}
