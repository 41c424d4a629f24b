"""The scheduler: periodic upkeep that no request triggers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from ..ids import now_ms
from ..store import jobs as job_rows
from ..store import scheduled_runs
from ..store import statuses as status_rows

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    """A task run every `interval` seconds: once per interval across every process sharing
    the database, or in each process when it is not `shared` (its own upkeep)."""

    name: str
    interval: float
    run: Callable[[Runtime], Awaitable[None]]
    shared: bool = True


async def _renew_node(rt: Runtime) -> None:
    await rt.renew_node()


async def _park_exhausted(rt: Runtime) -> None:
    parked = await rt.store.write(job_rows.park_exhausted, now_ms())
    if parked:
        log.warning("parked %d jobs whose workers died on their last attempt", parked)


async def _purge_shared_payloads(rt: Runtime) -> None:
    await rt.store.write(job_rows.purge_shared_payloads)


async def _forget_idempotency_keys(rt: Runtime) -> None:
    # Keys are honoured for an hour (the lookup checks their age); this only frees space.
    await rt.store.write(status_rows.forget_idempotency_keys, now_ms() - 3600 * 1000)


QUEUE_SAMPLE_SECONDS = 900.0
DAY_MS = 86_400_000


async def sample_queue(rt: Runtime) -> None:
    """Record the job queue's depth now, for the admin dashboard's last day."""
    # The dashboard draws the last day of samples; a little more is kept for the edges.
    now = now_ms()
    await rt.store.write(job_rows.sample_queue, now, now - DAY_MS - 3_600_000)


# Upkeep of the queue and the store itself; the composition root adds the services'.
# Each process keeps its own id node; everything else is upkeep of the shared database.
RENEW_NODE = Periodic("renew id node lease", 60.0, _renew_node, shared=False)
CORE: tuple[Periodic, ...] = (
    RENEW_NODE,
    Periodic("park exhausted jobs", 30.0, _park_exhausted),
    Periodic("purge shared job payloads no job needs", 3600.0, _purge_shared_payloads),
    Periodic("forget old idempotency keys", 600.0, _forget_idempotency_keys),
    Periodic("sample the job queue's depth", QUEUE_SAMPLE_SECONDS, sample_queue),
)


async def run_scheduler(rt: Runtime, *, upkeep: bool = True) -> None:
    """Run each of the runtime's periodic tasks on its interval; one task's failure does
    not stop the others. Without `upkeep` (the extra web processes of one `serve`, whose
    first process runs it), only this process's own lease renewal."""
    async with trio.open_nursery() as nursery:
        for task in rt.periodic if upkeep else (RENEW_NODE,):
            nursery.start_soon(_every, rt, task)


async def take_turn(rt: Runtime, task: Periodic) -> float:
    """Take the task's turn if no other process has; seconds until it is next due.

    The turn is taken before the task runs: one that fails waits for its next interval
    rather than being run again at once by another process.
    """
    now = now_ms()
    turn = await rt.store.write(
        scheduled_runs.take_turn, task.name, now, now + int(task.interval * 1000)
    )
    if turn.taken:
        try:
            await task.run(rt)
        except Exception:
            log.exception("periodic task %r failed", task.name)
    # Another process took it: look again when it falls due (that process may have died).
    return max((turn.due_at - now_ms()) / 1000, 0.0) + MIN_WAIT


# Between two looks at a turn another process holds: the clocks of several machines agree
# only roughly, and a task's turn need not be taken to the millisecond.
MIN_WAIT = 0.05


async def _every(rt: Runtime, task: Periodic) -> None:
    wait = task.interval
    while True:
        await trio.sleep(wait)
        if task.shared:
            wait = await take_turn(rt, task)
            continue
        wait = task.interval
        try:
            await task.run(rt)
        except Exception:
            log.exception("periodic task %r failed", task.name)
