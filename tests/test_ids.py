"""Snowflake ids: time-ordered, unique per process and across processes (node slots)."""

from __future__ import annotations

import threading

from wildebeest_trio.ids import IdGenerator, id_to_ms, now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store.nodes import NoFreeNode, claim_node, release_node


def test_ids_grow_and_carry_their_time() -> None:
    gen = IdGenerator(3)
    before = now_ms()
    ids = [gen.next_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert before <= id_to_ms(ids[0]) <= now_ms() + 10
    assert all(i < 2**63 for i in ids)


def test_ids_unique_across_threads() -> None:
    gen = IdGenerator(0)
    out: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        mine = [gen.next_id() for _ in range(3000)]
        with lock:
            out.extend(mine)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(out)) == 12000


def test_two_nodes_never_collide() -> None:
    a, b = IdGenerator(1), IdGenerator(2)
    ids = set()
    for _ in range(2000):
        ids.add(a.next_id())
        ids.add(b.next_id())
    assert len(ids) == 4000


async def test_node_slots_are_exclusive(rt: Runtime) -> None:
    now = now_ms()
    taken = {rt.ids.node}
    owners = []
    try:
        for i in range(63):
            node = await rt.store.write(claim_node, f"other-{i}", now, 60_000)
            assert node not in taken
            taken.add(node)
            owners.append((node, f"other-{i}"))
        try:
            await rt.store.write(claim_node, "one-too-many", now, 60_000)
        except NoFreeNode:
            pass
        else:
            raise AssertionError("a 65th process got a node slot")
        # An expired lease can be taken over.
        node = await rt.store.write(claim_node, "later", now + 120_000, 60_000)
        assert node != rt.ids.node
    finally:
        for node, owner in owners:
            await rt.store.write(release_node, node, owner)
