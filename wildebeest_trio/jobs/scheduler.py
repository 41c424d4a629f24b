"""The scheduler: periodic upkeep that no request triggers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from ..ids import now_ms
from ..store import jobs as job_rows
from ..store import statuses as status_rows

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    """A task run every `interval` seconds."""

    name: str
    interval: float
    run: Callable[[Runtime], Awaitable[None]]


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


# Upkeep of the queue and the store itself; the composition root adds the services'.
# Each process keeps its own id node; everything else is upkeep of the shared database.
RENEW_NODE = Periodic("renew id node lease", 60.0, _renew_node)
CORE: tuple[Periodic, ...] = (
    RENEW_NODE,
    Periodic("park exhausted jobs", 30.0, _park_exhausted),
    Periodic("purge shared job payloads no job needs", 3600.0, _purge_shared_payloads),
    Periodic("forget old idempotency keys", 600.0, _forget_idempotency_keys),
)


async def run_scheduler(rt: Runtime, *, upkeep: bool = True) -> None:
    """Run each of the runtime's periodic tasks on its interval; one task's failure does
    not stop the others. Without `upkeep` (the extra web processes of one `serve`, whose
    first process runs it), only this process's own lease renewal."""
    async with trio.open_nursery() as nursery:
        for task in rt.periodic if upkeep else (RENEW_NODE,):
            nursery.start_soon(_every, rt, task)


async def _every(rt: Runtime, task: Periodic) -> None:
    while True:
        await trio.sleep(task.interval)
        try:
            await task.run(rt)
        except Exception:
            log.exception("periodic task %r failed", task.name)
