"""The process tree: one Trio root nursery for the HTTP server, job workers and scheduler."""

from __future__ import annotations

import dataclasses
import functools
import gc
import logging
import signal
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from . import metrics, tracing
from .assembly import delivery_job_registry, open_server_runtime
from .config import Config
from .delivery_processes import follow_parent, run_child_processes, wake_parent
from .federation.instance_actor import ensure_instance_actor
from .federation.outbox import run_outbox
from .http import create_app
from .http.connections import install as install_connections
from .inbox.consumer import consumers, run_inbox
from .jobs.scheduler import run_scheduler
from .jobs.worker import run_workers
from .runtime import Runtime
from .services.instance import ensure_instance_keys
from .streaming.relay import run_relay
from .supervise import supervise

log = logging.getLogger(__name__)
RSS_INTERVAL = 10.0


def hypercorn_config(config: Config, listener: socket.socket | None = None) -> HypercornConfig:
    """Hypercorn's settings; `listener`: a bound socket it takes over (then closes)."""
    hc = HypercornConfig()
    hc.bind = [f"fd://{listener.detach()}" if listener is not None else config.listen]
    hc.accesslog = None
    hc.errorlog = logging.getLogger("hypercorn.error")
    hc.graceful_timeout = config.shutdown_grace
    hc.keep_alive_timeout = 75
    hc.websocket_ping_interval = 30  # Mastodon pings streaming clients every 30 s
    return hc


def shared_listener(listen: str) -> socket.socket:
    """A TCP socket bound to `listen` that this user's other processes bind too
    (SO_REUSEPORT): the kernel spreads new connections over the web processes."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, int(port)))
    except BaseException:
        sock.close()
        raise
    return sock


async def run_http_server(
    rt: Runtime,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    *,
    listener: socket.socket | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the application with Hypercorn's Trio worker until the trigger fires
    (on `listener` when given: one of several web processes' sockets on one port)."""
    # Connections whose keep-alive timer starts no task per request (http/connections.py).
    install_connections()
    await hypercorn_serve(  # type: ignore[call-arg]
        create_app(rt),
        hypercorn_config(rt.config, listener),
        shutdown_trigger=shutdown_trigger,
        task_status=task_status,
    )


async def _watch_signals(
    signals: Any, shutdown: trio.Event, root: trio.CancelScope, grace: float
) -> None:
    async for signum in signals:
        log.info("received %s; shutting down", signal.Signals(signum).name)
        shutdown.set()
        # In-flight requests get the grace period; then everything is cancelled.
        root.deadline = trio.current_time() + grace
        return


async def _sample_process() -> None:
    """This process's memory for the metrics, now and then (scrapes see every process)."""
    while True:
        metrics.sample_process()
        await trio.sleep(RSS_INTERVAL)


async def run_process(
    rt: Runtime,
    *,
    http: bool,
    deliveries_only: bool = False,
    parent_pipe: bool = False,
    web_child: bool = False,
    listener: socket.socket | None = None,
) -> None:
    """Run job workers and scheduler (and the HTTP server) until SIGINT or SIGTERM.

    `deliveries_only`: the job workers and the inbox consumers alone (a delivery process;
    its runtime's registry holds the delivery kind only). `parent_pipe`: standard input
    is the serving process's pipe of wake-ups; its end is a shutdown too. `web_child`:
    one of the extra web processes of a `serve` (the first process runs the shared upkeep
    and starts the children). `listener`: the port's socket shared by the web processes.
    """
    # What start-up made (modules, the URL map, templates, the runtime) lives as long as the
    # process: out of the collector's generations, full collections stop walking it again
    # and again (about 5 % of a delivery process's CPU, bench/README.md "Federation out").
    gc.freeze()
    shutdown = trio.Event()
    grace = rt.config.shutdown_grace
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as root:
            root.start_soon(_watch_signals, signals, shutdown, root.cancel_scope, grace)
            root.start_soon(_sample_process)
            # The first web process with delivery processes beside it leaves the inbox to them.
            children = http and not web_child and rt.config.delivery_processes > 0
            inbox = consumers(rt.config, web=http, first=not web_child, children=children)
            async with trio.open_nursery() as tasks:
                tasks.start_soon(supervise, "job workers", run_workers, rt)
                if parent_pipe:
                    tasks.start_soon(follow_parent, rt, shutdown)
                    if deliveries_only:
                        # What its inbox handlers queue for the serving process's workers.
                        tasks.start_soon(wake_parent, rt)
                if inbox:
                    # Inbox jobs, applied in batches; every process may (jobs are claimed).
                    tasks.start_soon(supervise, "inbox", run_inbox, rt, inbox)
                if not deliveries_only:
                    # The database's upkeep runs once per `serve`, in its first process.
                    scheduler = functools.partial(run_scheduler, upkeep=not web_child)
                    tasks.start_soon(supervise, "scheduler", scheduler, rt)
                    # Domain events to deliveries; every process may run it (rows are claimed).
                    tasks.start_soon(supervise, "outbox", run_outbox, rt)
                if http:
                    # Only processes with streaming connections need the relay.
                    tasks.start_soon(supervise, "stream relay", run_relay, rt)
                    if not web_child:
                        # Stopped as the shutdown begins, not after the requests have drained.
                        tasks.start_soon(
                            functools.partial(
                                run_child_processes,
                                deliveries=rt.config.delivery_processes,
                                web=rt.config.web_processes - 1,
                                inbox=not inbox,
                            ),
                            rt,
                            shutdown,
                        )
                    http_done = trio.Event()

                    async def run_http(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
                        try:
                            await run_http_server(
                                rt, shutdown.wait, listener=listener, task_status=task_status
                            )
                        finally:
                            http_done.set()

                    await tasks.start(run_http)
                    log.info("serving %s on http://%s", rt.config.base_url, rt.config.listen)
                    # Workers keep going while requests drain, then stop with the server.
                    await http_done.wait()
                else:
                    log.info("worker started with %d job tasks", rt.config.workers)
                    await shutdown.wait()
                tasks.cancel_scope.cancel()
            root.cancel_scope.cancel()


async def serve(
    config: Config,
    *,
    migrate: bool = True,
    processes: int | None = None,
    web_child: int | None = None,
) -> None:
    """`wildebeest-trio serve`: HTTP server, job workers and scheduler, as siblings.

    `processes` (else `WB_WEB_PROCESSES`) web processes share the port: this one and
    children it starts and restarts; `web_child`: this is the child of that number.
    """
    if processes is not None:
        config = dataclasses.replace(config, web_processes=processes)
    several = web_child is not None or config.web_processes > 1
    if web_child is None:
        config.secret_key()  # generated into the data folder on first run
    metrics.configure(domains=config.metrics_domains, role="serve")
    if web_child is None and (config.delivery_processes > 0 or several):
        # Before anything counts: the children's metrics reach every process's /metrics.
        metrics.use_processes(config.data_dir)
    tracing.setup(config.otel_endpoint, role="serve")
    # Bound before the database is opened: a port in use fails at once.
    listener = shared_listener(config.listen) if several else None
    try:
        async with open_server_runtime(config, migrate=migrate and web_child is None) as rt:
            if several:
                rt.web_process = web_child or 0
            if web_child is None:
                await ensure_instance_keys(rt)
                await ensure_instance_actor(rt)
            await run_process(
                rt,
                http=True,
                parent_pipe=web_child is not None,
                web_child=web_child is not None,
                listener=listener,
            )
    finally:
        if listener is not None and listener.fileno() != -1:
            listener.close()  # Hypercorn never took it over
        await trio.to_thread.run_sync(tracing.shutdown)  # the last spans go out


async def work(config: Config, *, deliveries_only: bool = False, parent_pipe: bool = False) -> None:
    """`wildebeest-trio worker`: job workers and scheduler without the HTTP server.

    `deliveries_only`: the delivery workers and inbox consumers alone, as the processes `serve`
    starts.
    """
    registry = delivery_job_registry() if deliveries_only else None
    role = "delivery" if deliveries_only else "worker"
    metrics.configure(domains=config.metrics_domains, role=role)
    tracing.setup(config.otel_endpoint, role=role)
    try:
        async with open_server_runtime(config, migrate=False, registry=registry) as rt:
            await run_process(
                rt, http=False, deliveries_only=deliveries_only, parent_pipe=parent_pipe
            )
    finally:
        await trio.to_thread.run_sync(tracing.shutdown)  # the last spans go out
