"""The processes `serve` starts beside itself, so requests and deliveries use every core.

*Web processes* (`serve --processes N`, `WB_WEB_PROCESSES`): N-1 more copies of the
serving process (`wildebeest-trio serve --web-child K`), each a whole Trio process tree
(HTTP on the same port through its own SO_REUSEPORT socket, so the kernel spreads
connections over them; job workers, inbox and outbox consumers, the stream relay) but
without the shared upkeep (the scheduler's database tasks run in the first process
only) and without children of their own.

*Delivery processes* (`WB_DELIVERY_PROCESSES`): one Python process signs on a worker
thread (the GIL released) but does the rest of a delivery's work (HTTP, bookkeeping) on
its one event loop; these (`wildebeest-trio worker --deliveries`) run only the delivery
engine and claim from the same durable queue, so every job is still sent once and a
crash loses nothing.

Each child's standard input is a pipe from the parent: a byte on it is a wake-up (jobs
were just queued), its end means the parent is gone and the child shuts down. A child
that dies (even `kill -9`) is started again, with backoff, as puma restarts a worker.
When `serve` begins to shut down, each child gets SIGTERM at once (and is not
restarted): a web process drains its requests, every child hands back the jobs it has
not finished. Workers on other machines find new jobs by polling.
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

DELIVERY_COMMAND = (
    sys.executable,
    "-m",
    "wildebeest_trio",
    "worker",
    "--deliveries",
    "--parent-pipe",
)
WAKE_TIMEOUT = 1.0


def web_command(index: int) -> list[str]:
    """The command of the `index`th extra web process (1, 2, ...)."""
    return [sys.executable, "-m", "wildebeest_trio", "serve", "--web-child", str(index)]


async def run_child_processes(rt: Runtime, stop: trio.Event, *, deliveries: int, web: int) -> None:
    """Keep `deliveries` delivery processes and `web` extra web processes running, woken
    whenever this process queues jobs, until `stop` is set: then each is stopped and
    waited for (none is restarted)."""
    if deliveries + web < 1:
        return
    pipes: set[trio.abc.SendStream] = set()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_relay_wakeups, rt, pipes)
        for n in range(1, web + 1):
            name = f"web process {n}"
            nursery.start_soon(supervise, name, _run_child, "web process", web_command(n), pipes)
        for n in range(1, deliveries + 1):
            name, command = f"delivery process {n}", list(DELIVERY_COMMAND)
            nursery.start_soon(supervise, name, _run_child, "delivery process", command, pipes)
        await stop.wait()
        nursery.cancel_scope.cancel()


async def _run_child(kind: str, command: list[str], pipes: set[trio.abc.SendStream]) -> None:
    async with trio.open_nursery() as nursery:
        # On cancellation trio sends SIGTERM (the child hands back its unfinished jobs and
        # exits at once), kills it if it is still running 5 s later, and waits for it.
        process = await nursery.start(
            functools.partial(trio.run_process, command, stdin=subprocess.PIPE, check=False)
        )
        assert process.stdin is not None
        pipes.add(process.stdin)
        log.info("%s %d started", kind, process.pid)
        try:
            await process.wait()
        finally:
            pipes.discard(process.stdin)
            metrics.process_gone(process.pid)
    raise RuntimeError(f"{kind} {process.pid} exited with {process.returncode}")


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
    """In a child process: wake the workers at each byte from the parent; set `gone`
    when the pipe (standard input unless `fd` is given) ends: the parent is gone."""
    async with trio.lowlevel.FdStream(os.dup(sys.stdin.fileno() if fd is None else fd)) as pipe:
        while await pipe.receive_some(4096):
            rt.wake_jobs()
    log.info("the serving process is gone; stopping")
    gone.set()
