"""Job workers: claim due jobs with a lease, run their handlers, record the result."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from ..ids import now_ms
from ..store import Row
from ..store import jobs as job_rows
from .batch import run_batched
from .outcomes import judge, record

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)


async def run_workers(rt: Runtime, concurrency: int | None = None) -> None:
    """Run `concurrency` job loops, and one engine per batched kind, until cancelled."""
    count = concurrency or rt.config.workers
    async with trio.open_nursery() as nursery:
        for i in range(count):
            nursery.start_soon(worker_loop, rt, f"{rt.owner}/{i}")
        for batched in rt.registry.batched():
            nursery.start_soon(run_batched, rt, batched)


async def worker_loop(rt: Runtime, worker: str) -> None:
    """Claim and run jobs one at a time; sleep until woken or the next poll when idle."""
    kinds = rt.registry.single_names()
    if not kinds:
        await trio.sleep_forever()
    lease_ms = int(rt.config.job_lease * 1000)
    while True:
        seen = rt.job_signal.generation
        claimed = await rt.store.write(
            job_rows.claim, kinds=kinds, worker=worker, now=now_ms(), lease_ms=lease_ms, limit=1
        )
        if not claimed:
            await rt.job_signal.wait_at_most(rt.config.job_poll_interval, seen)
            continue
        for job in claimed:
            await run_job(rt, worker, job)


async def _keep_lease(rt: Runtime, worker: str, job_id: int, cancel: trio.CancelScope) -> None:
    lease = rt.config.job_lease
    while True:
        await trio.sleep(lease / 3)
        until = now_ms() + int(lease * 1000)
        if not await rt.store.write(job_rows.extend_leases, [job_id], worker, until):
            log.warning("job %d: lease lost; abandoning this attempt", job_id)
            cancel.cancel()
            return


async def run_job(rt: Runtime, worker: str, job: Row) -> None:
    """Run one claimed job and record its outcome; on cancellation, hand it back."""
    found = rt.registry.lookup(job["kind"])
    if found is None:  # pragma: no cover - claim() only picks registered kinds
        return
    kind, handler = found
    error: Exception | None = None
    finished = False
    try:
        with trio.CancelScope() as attempt:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_keep_lease, rt, worker, job["id"], attempt)
                try:
                    await handler(rt, job["payload"])
                except Exception as exc:
                    error = exc
                nursery.cancel_scope.cancel()
        finished = True
        if attempt.cancelled_caught:
            return  # lease lost: another worker owns the job now
    finally:
        if not finished:
            # Shutdown or crash of this task: give the job back at once rather than
            # leaving it to the lease, and do not count the attempt.
            with trio.CancelScope(shield=True):
                await rt.store.write(job_rows.release, [job["id"]], worker, now_ms())
    now = now_ms()
    await rt.store.write(record, worker, [judge(kind, job, error, now)], now)
