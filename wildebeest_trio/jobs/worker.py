"""Job workers: claim due jobs with a lease, run their handlers, record the result."""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Any

import trio

from ..ids import now_ms
from ..store import jobs as job_rows
from .kinds import PermanentFailure, RetryLater

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

_ERROR_LIMIT = 2000


def _describe(exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:_ERROR_LIMIT]


async def run_workers(rt: Runtime, concurrency: int | None = None) -> None:
    """Run `concurrency` job loops until cancelled."""
    count = concurrency or rt.config.workers
    async with trio.open_nursery() as nursery:
        for i in range(count):
            nursery.start_soon(worker_loop, rt, f"{rt.owner}/{i}")


async def worker_loop(rt: Runtime, worker: str) -> None:
    """Claim and run jobs one at a time; sleep until woken or the next poll when idle."""
    kinds = rt.registry.names()
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
        if not await rt.store.write(job_rows.extend_lease, job_id, worker, until):
            log.warning("job %d: lease lost; abandoning this attempt", job_id)
            cancel.cancel()
            return


async def run_job(rt: Runtime, worker: str, job: dict[str, Any]) -> None:
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
                await rt.store.write(job_rows.release, job["id"], worker, now_ms())

    now = now_ms()
    if error is None:
        await rt.store.write(job_rows.complete, job["id"], worker)
        return
    attempts = job["attempts"]
    if isinstance(error, PermanentFailure) or attempts >= job["max_attempts"]:
        log.warning(
            "job %d (%s) parked after %d attempts: %s",
            job["id"],
            kind.name,
            attempts,
            _describe(error),
        )
        await rt.store.write(job_rows.park, job["id"], error=_describe(error), now=now)
        return
    delay = error.delay if isinstance(error, RetryLater) else kind.backoff(attempts)
    log.info(
        "job %d (%s) attempt %d failed, retrying in %.0fs: %s",
        job["id"],
        kind.name,
        attempts,
        delay,
        _describe(error),
    )
    await rt.store.write(
        job_rows.retry,
        job["id"],
        worker,
        error=_describe(error),
        run_at=now + int(delay * 1000),
        now=now,
    )
