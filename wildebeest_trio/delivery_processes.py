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
engine and the inbox consumers, and claim from the same durable queue, so every job is
still sent (every activity applied) once and a crash loses nothing. They apply what the
first web process accepts (it then applies none itself, as Sidekiq applies what Puma
accepts): on the cores the web processes leave free, not on the one answering requests.

Each child's standard input is a pipe from the parent: a byte on it is a wake-up (`w`:
jobs were just queued; `i`: inbox activities alone), its end means the parent is gone
and the child shuts down. A delivery process's standard output is a pipe back: a byte
on it tells the parent that an activity it applied queued work only the parent runs
(an outbox event, a job of another kind), which wakes the parent's workers at once. A
child that dies (even `kill -9`) is started again, with backoff, as puma restarts a
worker.
When `serve` begins to shut down, each child gets SIGTERM at once (and is not
restarted): a web process drains its requests, every child hands back the jobs it has
not finished. Workers on other machines find new jobs by polling.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import subprocess
import sys
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

import trio

from . import metrics
from .federation.delivery import DELIVER
from .federation.inbox import INBOX
from .runtime import JobSignal
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
# Under a stream of accepted activities the inbox wake-ups go out at most this often: the
# consumers woken gather the deliveries for longer than this anyway (`inbox.consumer`), and
# a byte per accepted batch cost the serving process 2 % of its CPU.
INBOX_WAKE_PAUSE = 0.01


def web_command(index: int) -> list[str]:
    """The command of the `index`th extra web process (1, 2, ...)."""
    return [sys.executable, "-m", "wildebeest_trio", "serve", "--web-child", str(index)]


async def run_child_processes(
    rt: Runtime, stop: trio.Event, *, deliveries: int, web: int, inbox: bool = False
) -> None:
    """Keep `deliveries` delivery processes and `web` extra web processes running, woken
    whenever this process queues jobs (with `inbox`, the delivery processes also when it
    accepts an activity: they apply them), until `stop` is set: then each is stopped and
    waited for (none is restarted)."""
    if deliveries + web < 1:
        return
    pipes: dict[trio.abc.SendStream, trio.Lock] = {}
    inbox_pipes: dict[trio.abc.SendStream, trio.Lock] = {}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_relay_wakeups, rt, pipes)
        if inbox and deliveries:
            signal = rt.signal_for(INBOX.name)
            nursery.start_soon(
                functools.partial(_relay_wakeups, signal=signal, wake=b"i", pause=INBOX_WAKE_PAUSE),
                rt,
                inbox_pipes,
            )
        for n in range(1, web + 1):
            name = f"web process {n}"
            run = functools.partial(
                _run_child, rt, "web process", web_command(n), [pipes], hears_back=False
            )
            nursery.start_soon(supervise, name, run)
        for n in range(1, deliveries + 1):
            name, command = f"delivery process {n}", list(DELIVERY_COMMAND)
            run = functools.partial(
                _run_child, rt, "delivery process", command, [pipes, inbox_pipes]
            )
            nursery.start_soon(supervise, name, run)
        await stop.wait()
        nursery.cancel_scope.cancel()


async def _run_child(
    rt: Runtime,
    kind: str,
    command: list[str],
    pipes: list[dict[trio.abc.SendStream, trio.Lock]],
    *,
    hears_back: bool = True,
) -> None:
    """Run one child, woken through `pipes`; with `hears_back`, its standard output is a
    pipe of wake-ups for this process (a web process's is left to the terminal)."""
    async with trio.open_nursery() as nursery:
        # On cancellation trio sends SIGTERM (the child hands back its unfinished jobs and
        # exits at once), kills it if it is still running 5 s later, and waits for it.
        process = await nursery.start(
            functools.partial(
                trio.run_process,
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE if hears_back else None,
                check=False,
            )
        )
        assert process.stdin is not None
        if process.stdout is not None:
            nursery.start_soon(_follow_child, rt, process.stdout)
        lock = trio.Lock()  # the wake-ups of several signals take turns on the one pipe
        for relayed in pipes:
            relayed[process.stdin] = lock
        log.info("%s %d started", kind, process.pid)
        try:
            await process.wait()
        finally:
            for relayed in pipes:
                relayed.pop(process.stdin, None)
            metrics.process_gone(process.pid)
    raise RuntimeError(f"{kind} {process.pid} exited with {process.returncode}")


async def _follow_child(rt: Runtime, pipe: trio.abc.ReceiveStream) -> None:
    """Wake this process's workers at each byte from a child (work it queued for them)."""
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        while await pipe.receive_some(4096):
            rt.wake_jobs()


async def _relay_wakeups(
    rt: Runtime,
    pipes: Mapping[trio.abc.SendStream, trio.Lock],
    *,
    signal: JobSignal | None = None,
    wake: bytes = b"w",
    pause: float = 0.0,
) -> None:
    """Send `wake` down every pipe whenever `signal` (the job signal) is notified, at most
    once every `pause` seconds (the first at once)."""
    signal = signal or rt.job_signal
    seen = signal.generation
    while True:
        await signal.wait_at_most(math.inf, seen)
        seen = signal.generation
        if pause:
            next_at = trio.current_time() + pause
        for pipe, lock in list(pipes.items()):
            # A child too busy to read for a second misses nothing: it will poll.
            with trio.move_on_after(WAKE_TIMEOUT):
                try:
                    async with lock:
                        await pipe.send_all(wake)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass
        if pause:
            await trio.sleep_until(next_at)


async def follow_parent(rt: Runtime, gone: trio.Event, fd: int | None = None) -> None:
    """In a child process: wake the workers at each byte from the parent (the inbox
    consumers alone when every byte says `i`); set `gone` when the pipe (standard input
    unless `fd` is given) ends: the parent is gone."""
    async with trio.lowlevel.FdStream(os.dup(sys.stdin.fileno() if fd is None else fd)) as pipe:
        while wakes := await pipe.receive_some(4096):
            if wakes.strip(b"i"):
                rt.wake_jobs()
            else:
                rt.wake_jobs([INBOX.name])
    log.info("the serving process is gone; stopping")
    gone.set()


async def wake_parent(rt: Runtime, fd: int | None = None) -> None:
    """In a delivery process: tell the parent (a byte on standard output, unless `fd` is
    given) whenever a unit here queued work this process does not run, so the parent's
    workers and outbox consumer start on it at once rather than at their next poll."""
    signal = JobSignal()
    here = frozenset((DELIVER.name, INBOX.name))

    def queued(kinds: Collection[str]) -> None:
        # No kind named: outbox events, or work of every kind.
        if not kinds or not here.issuperset(kinds):
            signal.notify()

    rt.wake_parent = queued
    try:
        async with trio.lowlevel.FdStream(
            os.dup(sys.stdout.fileno() if fd is None else fd)
        ) as pipe:
            seen = signal.generation
            while True:
                await signal.wait_at_most(math.inf, seen)
                seen = signal.generation
                try:
                    await pipe.send_all(b"w")
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return  # the parent is gone: `follow_parent` stops the process
    finally:
        rt.wake_parent = None
