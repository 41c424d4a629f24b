"""The inbox consumer: accepted activities applied in batches from the durable jobs table.

Each pass claims up to `BATCH` due inbox jobs in one unit of work, which also reads what
every activity of the batch needs first (its actor's account and whether the actor's
domain is suspended): one store crossing for the batch where each activity took three
(claim, actor, domain). The batch is applied one task per actor, each actor's activities
in the order they were accepted, different actors side by side; an actor not known here
is fetched once however many of the activities name it (`federation.actors.ensure_account`). The
outcomes are written in one unit: applied jobs are removed, a failed one is retried on
its own with its backoff, or parked after its last attempt, as the job workers do.

Durability is the jobs table's: the leases of a batch are extended together while it
runs; a process that dies mid-batch leaves its jobs leased, and another consumer claims
them when the lease runs out (applying an activity twice changes nothing: a Create finds
its status, a Like its favourite); one shut down hands its unfinished jobs back at once.
Every process that runs job workers runs `run_inbox` (unless its `inbox_consumers` is 0),
and claims skip each other's rows, so consumers in several processes share the queue (one
per core). A `serve` process wakes its own consumers the moment it accepts an activity, so
beside `worker` processes it applies nearly everything itself unless told to leave the
inbox to them.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from ..federation.inbox import INBOX
from ..ids import now_ms
from ..jobs import PermanentFailure, RetryLater
from ..store import Connection, RowView
from ..store import jobs as job_rows
from . import Known, dispatch, read_known

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

#: Jobs claimed (and their outcomes written) per crossing.
BATCH = 25
_ERROR_LIMIT = 2000


@dataclass(frozen=True)
class _Batch:
    jobs: Sequence[RowView]
    known: Known


async def run_inbox(rt: Runtime) -> None:
    """Apply inbox jobs as they come, `inbox_consumers` batches at a time, until cancelled."""
    async with trio.open_nursery() as nursery:
        for i in range(rt.config.inbox_consumers):
            nursery.start_soon(_consume, rt, f"{rt.owner}/inbox/{i}")


async def _consume(rt: Runtime, worker: str) -> None:
    while True:
        # Read before claiming: a job queued while the claim looks wakes the wait at once.
        signal = rt.signal_for(INBOX.name)
        seen = signal.generation
        if await apply_due(rt, worker) < BATCH:
            await signal.wait_at_most(rt.config.job_poll_interval, seen)


async def _claim(conn: Connection, worker: str, lease_ms: int, limit: int) -> _Batch:
    jobs = await job_rows.claim(
        conn, kinds=[INBOX.name], worker=worker, now=now_ms(), lease_ms=lease_ms, limit=limit
    )
    if not jobs:
        return _Batch([], Known())
    return _Batch(jobs, await read_known(conn, [job["payload"] for job in jobs]))


async def apply_due(rt: Runtime, worker: str, limit: int = BATCH) -> int:
    """Claim up to `limit` due inbox jobs, apply them and record how each went; how many
    were claimed (0: none was due)."""
    lease_ms = int(rt.config.job_lease * 1000)
    batch = await rt.store.write(_claim, worker, lease_ms, limit)
    if not batch.jobs:
        return 0
    outcomes: dict[int, Exception | None] = {}
    try:
        with trio.CancelScope() as attempt:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_keep_leases, rt, worker, batch.jobs, attempt)
                async with trio.open_nursery() as actors:
                    for jobs in _by_actor(batch.jobs):
                        actors.start_soon(_apply_in_order, rt, jobs, batch.known, outcomes)
                nursery.cancel_scope.cancel()
    finally:
        # Also on shutdown: what was applied is recorded, the rest handed back at once
        # (its attempt not counted) rather than left to the lease.
        with trio.CancelScope(shield=True):
            await _record(rt, worker, batch.jobs, outcomes)
    return len(batch.jobs)


def _by_actor(jobs: Sequence[RowView]) -> Iterator[list[RowView]]:
    """The jobs grouped by actor, each group in the order the activities were accepted."""
    groups: dict[str, list[RowView]] = {}
    for job in jobs:
        groups.setdefault(str(job["payload"].get("actor")), []).append(job)
    return iter(groups.values())


async def _apply_in_order(
    rt: Runtime, jobs: Sequence[RowView], known: Known, outcomes: dict[int, Exception | None]
) -> None:
    for job in jobs:
        try:
            await dispatch(rt, job["payload"], known)
        except Exception as exc:
            outcomes[job["id"]] = exc
        else:
            outcomes[job["id"]] = None


async def _keep_leases(
    rt: Runtime, worker: str, jobs: Sequence[RowView], attempt: trio.CancelScope
) -> None:
    lease = rt.config.job_lease

    ids = [job["id"] for job in jobs]

    async def extend(conn: Connection, until: int) -> bool:
        return len(await job_rows.extend_leases(conn, ids, worker, until)) == len(ids)

    while True:
        await trio.sleep(lease / 3)
        if not await rt.store.write(extend, now_ms() + int(lease * 1000)):
            # The process stalled past the lease: other consumers own these jobs now.
            log.warning("inbox batch of %d jobs: lease lost; abandoning it", len(jobs))
            attempt.cancel()
            return


def _describe(exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:_ERROR_LIMIT]


async def _record(
    rt: Runtime, worker: str, jobs: Sequence[RowView], outcomes: dict[int, Exception | None]
) -> None:
    """Write every job's outcome in one unit (the verdicts are the job workers')."""
    now = now_ms()
    done: list[int] = []
    retries: list[tuple[int, int, str]] = []
    parks: list[tuple[int, str]] = []
    unfinished: list[int] = []
    for job in jobs:
        if job["id"] not in outcomes:
            unfinished.append(job["id"])
            continue
        error = outcomes[job["id"]]
        if error is None:
            done.append(job["id"])
        elif isinstance(error, PermanentFailure) or job["attempts"] >= job["max_attempts"]:
            log.warning(
                "job %d (%s) parked after %d attempts: %s",
                job["id"],
                INBOX.name,
                job["attempts"],
                _describe(error),
            )
            parks.append((job["id"], _describe(error)))
        else:
            delay = error.delay if isinstance(error, RetryLater) else INBOX.backoff(job["attempts"])
            log.info(
                "job %d (%s) attempt %d failed, retrying in %.0fs: %s",
                job["id"],
                INBOX.name,
                job["attempts"],
                delay,
                _describe(error),
            )
            retries.append((job["id"], now + int(delay * 1000), _describe(error)))

    async def unit(conn: Connection) -> None:
        await job_rows.finish(conn, worker, done=done, retries=retries, parks=parks, now=now)
        await job_rows.release(conn, unfinished, worker, now)

    await rt.store.write(unit)
