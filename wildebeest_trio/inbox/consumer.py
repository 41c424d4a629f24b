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
Every process that runs job workers runs `run_inbox` (unless it runs no consumers:
`consumers`), and claims skip each other's rows, so consumers in several processes share
the queue. A process claims for its consumers from one loop: woken by an accepted
activity, it lets the deliveries arriving together gather for `GATHER` seconds and claims
them in one batch, and it claims only when one of its `consumers` batches is free, so a
burst costs a claim and a record per batch rather than per activity, and idle consumers
do not race each other to the same rows. The first process of a `serve` with delivery
processes beside it leaves the inbox to them (they apply on the cores its web processes
leave free, woken through their pipes); every other process applies what it accepts.
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
    from ..config import Config
    from ..runtime import Runtime

log = logging.getLogger(__name__)

#: Jobs claimed (and their outcomes written) per crossing.
BATCH = 25
#: Inbox batches a process applies at once unless `WB_INBOX_CONSUMERS` says otherwise.
CONSUMERS = 4
#: Seconds a claim waits, once woken by an accepted activity, for the deliveries arriving
#: with it: one claim, one batch and one record for a burst instead of one per activity.
GATHER = 0.02
_ERROR_LIMIT = 2000


@dataclass(frozen=True)
class _Batch:
    jobs: Sequence[RowView]
    known: Known


def consumers(config: Config, *, web: bool, first: bool, children: bool) -> int:
    """How many inbox batches a process applies at once: `WB_INBOX_CONSUMERS` when set;
    else none in a `serve`'s first web process (`web`, `first`) that starts delivery
    processes (`children`), which apply them on the cores left free, woken through their
    pipes; else CONSUMERS."""
    if config.inbox_consumers is not None:
        return config.inbox_consumers
    return 0 if web and first and children else CONSUMERS


async def run_inbox(rt: Runtime, count: int | None = None) -> None:
    """Apply inbox jobs as they come, `count` batches at a time (the setting, else
    CONSUMERS), until cancelled."""
    if count is None:
        count = CONSUMERS if rt.config.inbox_consumers is None else rt.config.inbox_consumers
    if count < 1:
        return
    signal = rt.signal_for(INBOX.name)
    poll = rt.config.job_poll_interval
    # A consumer's name leases its batch; a free name is a free consumer.
    free_send, free = trio.open_memory_channel[str](count)
    for i in range(count):
        free_send.send_nowait(f"{rt.owner}/inbox/{i}")
    async with trio.open_nursery() as nursery:
        while True:
            worker = await free.receive()
            # Read before claiming: a job queued while the claim looks wakes the wait at once.
            seen = signal.generation
            batch = await rt.store.write(_claim, worker, _lease_ms(rt), BATCH)
            if batch.jobs:
                nursery.start_soon(_apply_then_free, rt, worker, batch, free_send)
            else:
                free_send.send_nowait(worker)
            if len(batch.jobs) < BATCH:
                # The queue is drained: wait for the next delivery, then for those with it.
                await signal.wait_at_most(poll, seen)
                if signal.generation != seen:
                    await trio.sleep(GATHER)


async def _apply_then_free(
    rt: Runtime, worker: str, batch: _Batch, free: trio.MemorySendChannel[str]
) -> None:
    try:
        await _apply(rt, worker, batch)
    finally:
        free.send_nowait(worker)


def _lease_ms(rt: Runtime) -> int:
    return int(rt.config.job_lease * 1000)


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
    batch = await rt.store.write(_claim, worker, _lease_ms(rt), limit)
    if batch.jobs:
        await _apply(rt, worker, batch)
    return len(batch.jobs)


async def _apply(rt: Runtime, worker: str, batch: _Batch) -> None:
    """Apply a claimed batch and record how each job went."""
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
