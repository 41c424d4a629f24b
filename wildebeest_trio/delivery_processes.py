"""The delivery processes `serve` starts beside itself, so a fan-out uses every core.

One Python process signs on a worker thread (the GIL released) but does the rest of
a delivery's work (HTTP, bookkeeping) on its one event loop; `serve` therefore starts
`delivery_processes` more (`wildebeest-trio worker --deliveries`), each running only
the delivery engine and claiming from the same durable queue, so every job is still
sent once and a crash loses nothing. Each child's standard input is a pipe from the
parent: a byte on it is a wake-up (jobs were just queued), its end means the parent
is gone and the child shuts down. When `serve` begins to shut down, each child gets
SIGTERM at once (and is not restarted): it hands back the jobs it has not finished.
Workers on other machines find new jobs by polling.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import trio

from . import metrics
from .supervise import supervise

if TYPE_CHECKING:
    from .runtime import Runtime

log = logging.getLogger(__name__)

COMMAND = (sys.executable, "-m", "wildebeest_trio", "worker", "--deliveries", "--parent-pipe")
WAKE_TIMEOUT = 1.0


async def run_delivery_processes(rt: Runtime, count: int, stop: trio.Event) -> None:
    """Keep `count` delivery processes running, woken whenever this process queues jobs,
    until `stop` is set: then each is stopped and waited for (none is restarted)."""
    if count < 1:
        return
    pipes: set[trio.abc.SendStream] = set()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_relay_wakeups, rt, pipes)
        for n in range(count):
            nursery.start_soon(supervise, f"delivery process {n + 1}", _run_child, pipes)
        await stop.wait()
        nursery.cancel_scope.cancel()


async def _run_child(pipes: set[trio.abc.SendStream]) -> None:
    async with trio.open_nursery() as nursery:
        # On cancellation trio sends SIGTERM (the child hands back its unfinished jobs and
        # exits at once), kills it if it is still running 5 s later, and waits for it.
        process = await nursery.start(
            functools.partial(trio.run_process, list(COMMAND), stdin=subprocess.PIPE, check=False)
        )
        assert process.stdin is not None
        pipes.add(process.stdin)
        log.info("delivery process %d started", process.pid)
        try:
            await process.wait()
        finally:
            pipes.discard(process.stdin)
            metrics.process_gone(process.pid)
    raise RuntimeError(f"delivery process {process.pid} exited with {process.returncode}")


async def _relay_wakeups(rt: Runtime, pipes: set[trio.abc.SendStream]) -> None:
    signal = rt.job_signal
    seen = signal.generation
    while True:
        await signal.wait_at_most(math.inf, seen)
        seen = signal.generation
        for pipe in list(pipes):
            # A child too busy to read for a second misses nothing: it will poll.
            with trio.move_on_after(WAKE_TIMEOUT):
                try:
                    await pipe.send_all(b"w")
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass


async def follow_parent(rt: Runtime, gone: trio.Event, fd: int | None = None) -> None:
    """In a delivery process: wake the workers at each byte from the parent; set `gone`
    when the pipe (standard input unless `fd` is given) ends: the parent is gone."""
    async with trio.lowlevel.FdStream(os.dup(sys.stdin.fileno() if fd is None else fd)) as pipe:
        while await pipe.receive_some(4096):
            rt.wake_jobs()
    log.info("the serving process is gone; stopping")
    gone.set()
