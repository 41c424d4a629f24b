"""A delivery engine is ready before its first job: its statements prepared on the
store's connections and the signer set up, on both backends; an engine whose warm-up
fails still runs its jobs."""

from __future__ import annotations

import trio

from tests.fakes.peers import eventually
from wildebeest_trio.federation.delivery import DELIVER
from wildebeest_trio.federation.instance_actor import ensure_instance_actor
from wildebeest_trio.jobs import JobKind
from wildebeest_trio.jobs.batch import run_batched
from wildebeest_trio.jobs.kinds import BatchedKind, Report
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import Connection, Row

# What every batch runs: its claim, its lookup, its completion and its counts.
HOT_STATEMENTS = (
    "UPDATE jobs SET state = 'running'",
    "SELECT private_key_pem FROM keypairs",
    "FROM unavailable_domains",
    "DELETE FROM jobs WHERE locked_by",
    "INSERT INTO delivery_counts",
)


async def _prepared(conn: Connection) -> list[str]:
    if conn.dialect != "postgres":
        return []
    rows = await conn.fetch("SELECT statement FROM pg_prepared_statements")
    return [str(r["statement"]) for r in rows]


async def test_the_engine_is_warm_before_its_first_job(rt: Runtime) -> None:
    await ensure_instance_actor(rt)
    [batched] = [b for b in rt.registry.batched() if b.kind == DELIVER]
    assert rt.delivery.instance_key is None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_batched, rt, batched)

        async def warm() -> bool:
            return rt.delivery.instance_key is not None

        # No job is queued: only the warm-up reads (and signs with) the instance key.
        await eventually(warm, "the instance actor's key read and used by the warm-up")
        if rt.store.dialect == "postgres":
            # The pool's connections (reads side by side take two of them) have the batch
            # statements prepared, though no batch ran. (Not necessarily both: a unit of
            # the runtime's own running beside the warm-up may have opened a third.)
            found = await _both_connections(rt)
            prepared_on = [
                seen for seen in found if all(any(h in s for s in seen) for h in HOT_STATEMENTS)
            ]
            assert prepared_on, found
        nursery.cancel_scope.cancel()
    # The warm-up wrote nothing.
    assert await rt.store.read(_count, "SELECT COUNT(*) FROM jobs") == 0
    assert await rt.store.read(_count, "SELECT COUNT(*) FROM delivery_counts") == 0


async def _both_connections(rt: Runtime) -> list[list[str]]:
    found: list[list[str]] = []

    async def read() -> None:
        found.append(await rt.store.read(_held_prepared))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read)
        nursery.start_soon(read)
    return found


async def _held_prepared(conn: Connection) -> list[str]:
    # Held a moment, so that the other read takes the pool's other connection.
    await conn.fetch("SELECT pg_sleep(0.05)")
    return await _prepared(conn)


async def _count(conn: Connection, sql: str) -> int:
    return int(await conn.fetchval(sql))


async def test_an_engine_whose_warm_up_fails_still_runs_its_jobs(rt: Runtime) -> None:
    kind = JobKind("test.cold_start", max_attempts=3)
    ran: list[int] = []

    async def broken(_rt: Runtime) -> None:
        raise RuntimeError("no warm-up today")

    async def run(_rt: Runtime, jobs: list[Row], _facts: object, report: Report) -> None:
        for job in jobs:
            ran.append(job["payload"]["n"])
            report(job, None, None)

    async def lookup(_conn: Connection, _jobs: list[Row]) -> None:
        return None

    batched = BatchedKind(kind, lookup=lookup, run=run, capacity=lambda _: 8, warm=broken)

    async def queue(conn: Connection) -> None:
        await kind.enqueue(conn, rt.ids, {"n": 1})

    await rt.store.write(queue)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_batched, rt, batched)

        async def done() -> bool:
            left = await rt.store.read(_count, "SELECT COUNT(*) FROM jobs")
            return ran == [1] and left == 0

        await eventually(done, "the job run and finished despite the failed warm-up")
        nursery.cancel_scope.cancel()
