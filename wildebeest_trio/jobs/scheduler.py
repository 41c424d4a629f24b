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


async def _purge_stream_payloads(rt: Runtime) -> None:
    from ..streaming.relay import purge_parked

    await purge_parked(rt)


async def _forget_idempotency_keys(rt: Runtime) -> None:
    # Keys are honoured for an hour (the lookup checks their age); this only frees space.
    await rt.store.write(status_rows.forget_idempotency_keys, now_ms() - 3600 * 1000)


async def _remove_unattached_media(rt: Runtime) -> None:
    # Imported here: services build on jobs, so jobs may not import them at load time.
    from ..services.media import remove_unattached

    removed = await remove_unattached(rt)
    if removed:
        log.info("removed %d media uploads never attached to a status", removed)


async def _purge_outbox(rt: Runtime) -> None:
    from ..federation.outbox import purge_dispatched

    await purge_dispatched(rt)


async def _end_overdue_polls(rt: Runtime) -> None:
    # Each poll's end is a durable job; this catches one whose job was parked.
    from ..services.polls import end_overdue

    ended = await end_overdue(rt)
    if ended:
        log.info("ended %d overdue polls", ended)


async def _forget_inbox_activities(rt: Runtime) -> None:
    from ..federation.inbox import forget_old_activities

    await forget_old_activities(rt)


async def _forget_ended_sessions(rt: Runtime) -> None:
    from ..services.sessions import forget_ended_sessions

    await forget_ended_sessions(rt)


BUILTIN: tuple[Periodic, ...] = (
    Periodic("renew id node lease", 60.0, _renew_node),
    Periodic("park exhausted jobs", 30.0, _park_exhausted),
    Periodic("purge parked stream payloads", 300.0, _purge_stream_payloads),
    Periodic("forget old idempotency keys", 600.0, _forget_idempotency_keys),
    Periodic("remove unattached media", 3600.0, _remove_unattached_media),
    Periodic("purge dispatched outbox events", 3600.0, _purge_outbox),
    Periodic("end overdue polls", 600.0, _end_overdue_polls),
    Periodic("forget old inbox activity ids", 3600.0, _forget_inbox_activities),
    Periodic("forget ended web sessions", 3600.0, _forget_ended_sessions),
)


async def run_scheduler(rt: Runtime, tasks: tuple[Periodic, ...] = BUILTIN) -> None:
    """Run each periodic task on its interval; one task's failure does not stop the others."""
    async with trio.open_nursery() as nursery:
        for task in tasks:
            nursery.start_soon(_every, rt, task)


async def _every(rt: Runtime, task: Periodic) -> None:
    while True:
        await trio.sleep(task.interval)
        try:
            await task.run(rt)
        except Exception:
            log.exception("periodic task %r failed", task.name)
