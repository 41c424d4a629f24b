"""Job rows in batches of any size, on both backends: leases extended, jobs finished,
retried, parked and handed back by the worker holding them, and by no other."""

from __future__ import annotations

from typing import Any

from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import Connection
from wildebeest_trio.store import jobs as job_rows

KIND = "test.batches"


async def _queue(rt: Runtime, count: int, shared: str | None = None) -> None:
    async def unit(conn: Connection) -> None:
        await job_rows.enqueue_many(
            conn,
            kind=KIND,
            jobs=[(rt.ids.next_id(), {"n": n}, None) for n in range(count)],
            now=now_ms() - 1,
            max_attempts=3,
            shared=None if shared is None else (rt.ids.next_id(), shared),
        )

    await rt.store.write(unit)


async def _claim(rt: Runtime, worker: str, limit: int) -> list[int]:
    rows = await rt.store.write(
        job_rows.claim, kinds=[KIND], worker=worker, now=now_ms(), lease_ms=60_000, limit=limit
    )
    return [row["id"] for row in rows]


async def _states(conn: Connection) -> dict[int, tuple[str, Any, int]]:
    rows = await conn.fetch("SELECT id, state, locked_by, attempts FROM jobs WHERE kind = $1", KIND)
    return {r["id"]: (r["state"], r["locked_by"], r["attempts"]) for r in rows}


async def test_batches_of_every_size_touch_only_the_holders_jobs(rt: Runtime) -> None:
    await _queue(rt, 40)
    mine = await _claim(rt, "me", 30)
    theirs = await _claim(rt, "them", 30)
    assert len(mine) == 30 and len(theirs) == 10
    # Leases: only the ids this worker holds come back, for lists of any length.
    for size in (1, 2, 7, 30):
        kept = await rt.store.write(
            job_rows.extend_leases, mine[:size] + theirs[:size], "me", now_ms() + 60_000
        )
        assert kept == set(mine[:size])
    # Finished, retried, parked, handed back: someone else's jobs are left alone.
    now = now_ms()
    await rt.store.write(
        job_rows.finish,
        "me",
        done=mine[:5] + theirs[:1],
        retries=[(mine[5], now + 10_000, "later")],
        parks=[(mine[6], "never")],
        now=now,
    )
    await rt.store.write(job_rows.release, mine[7:] + theirs[1:2], "me", now)
    states = await rt.store.read(_states)
    assert all(job_id not in states for job_id in mine[:5])
    assert states[mine[5]] == ("pending", None, 1)
    assert states[mine[6]] == ("parked", None, 1)
    assert all(states[job_id] == ("pending", None, 0) for job_id in mine[7:])
    assert all(states[job_id] == ("running", "them", 1) for job_id in theirs)
    # Nothing to do is nothing done.
    assert await rt.store.write(job_rows.extend_leases, [], "me", now) == set()
    await rt.store.write(job_rows.finish, "me", now=now)
    await rt.store.write(job_rows.release, [], "me", now)
    assert await rt.store.read(_states) == states


async def test_shared_payloads_are_read_by_id(rt: Runtime) -> None:
    await _queue(rt, 3, shared='{"activity": 1}')
    await _queue(rt, 2, shared='{"activity": 2}')
    rows = await rt.store.write(
        job_rows.claim, kinds=[KIND], worker="me", now=now_ms(), lease_ms=60_000, limit=10
    )
    ids = {row["shared_id"] for row in rows}
    assert len(ids) == 2
    found = await rt.store.read(job_rows.shared_payloads, ids)
    assert sorted(found.values()) == ['{"activity": 1}', '{"activity": 2}']
    assert await rt.store.read(job_rows.shared_payloads, set()) == {}
