"""The configured objects of one process: settings, store, id generator, job wiring.

Everything mutable that the server shares lives here, created by `open_runtime`
and handed down explicitly; there is no module-level state. What the runtime runs
(job handlers, effect handlers) is given to it by the composition root
(`wildebeest_trio.assembly`); this module imports no service.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import trio

from .cache import CachedValue
from .coalesce import Batcher, PerSourceLimit, SingleFlight
from .config import Config
from .delivery_pool import DeliveryPool
from .ids import IdGenerator, now_ms
from .jobs import JobRegistry
from .jobs.scheduler import Periodic
from .media import MediaStore
from .media.backends import RECORDED_SETTING, chosen_kind, open_media_store
from .net import Outbound
from .private_files import secure_data_dir
from .store import Effect, Effects, Store, open_store
from .store.entities import EntityCache
from .store.instance import setting_text
from .store.migrate import migrate as apply_migrations
from .store.nodes import claim_node, release_node, renew_node
from .streaming.hub import StreamHub
from .views import InstanceFacts

log = logging.getLogger(__name__)

NODE_LEASE_MS = 10 * 60 * 1000
# Distinct remote actors one process fetches at once (more wait for a slot); far above
# what a busy inbox needs, so unreachable hosts named by hostile deliveries cannot hold
# up everyone else's.
ACTOR_FETCHES = 256
# Inbox deliveries whose checks are read, or which are stored, in one crossing at most.
INBOX_BATCH = 100
# Signing keys that inbox deliveries from one client address may wait for at once (each
# fetched with its actor; many deliveries may wait for one): a server sending from many
# new actors at once has a few; a stranger naming a fresh unreachable host in each POST
# has as many as it likes, and past this bound is answered 429 (which Mastodon retries
# later) at once, before its body is read.
KEY_WAITS_PER_SOURCE = 8

E = TypeVar("E", bound=Effect)
EffectHandler = Callable[["Runtime", list[Any]], Awaitable[None]]


class JobSignal:
    """Wakes this process's idle job workers when it has just queued work.

    A worker notes `generation` before it looks for work and passes it to
    `wait_at_most`: a notification sent while it was looking (after its query read
    the queue, before it began to wait) then ends the wait at once instead of being
    lost until the next poll.
    """

    def __init__(self) -> None:
        self._event = trio.Event()
        self.generation = 0

    def notify(self) -> None:
        self.generation += 1
        self._event.set()
        self._event = trio.Event()

    async def wait_at_most(self, seconds: float, seen: int) -> None:
        """Return when notified since generation `seen` was read, or after `seconds`."""
        if self.generation != seen:
            return
        with trio.move_on_after(seconds):
            await self._event.wait()


class EffectHandlers:
    """Which handler runs each kind of effect a committed unit recorded.

    Handlers get every effect of their kind from one unit at once, in the order they
    were recorded (so a unit that makes fifty notifications publishes them together).
    A failing handler is logged: the change is committed and the caller must hear so.
    """

    def __init__(self) -> None:
        self._handlers: dict[type[Effect], EffectHandler] = {}

    def register(
        self, kind: type[E], handler: Callable[[Runtime, list[E]], Awaitable[None]]
    ) -> None:
        if kind in self._handlers:
            raise ValueError(f"effect {kind.__name__} already has a handler")
        self._handlers[kind] = handler

    def kinds(self) -> frozenset[type[Effect]]:
        return frozenset(self._handlers)

    async def run(self, rt: Runtime, effects: Effects) -> None:
        """Run the handlers for one committed unit's effects, kind by kind."""
        groups: dict[type[Effect], list[Effect]] = {}
        for effect in effects:
            groups.setdefault(type(effect), []).append(effect)
        for kind, items in groups.items():
            handler = self._handlers.get(kind)
            if handler is None:
                log.error("no handler for %s effects: %d dropped", kind.__name__, len(items))
                continue
            try:
                await handler(rt, items)
            except Exception:
                log.exception("%s effects failed after their commit", kind.__name__)


@dataclass
class Runtime:
    """What every layer of one process shares."""

    config: Config
    store: Store
    ids: IdGenerator
    owner: str
    registry: JobRegistry
    effects: EffectHandlers
    media: MediaStore
    # Where outgoing connections may go, how names are looked up, per-host fetch bounds.
    outbound: Outbound
    # Upkeep the scheduler runs on its intervals.
    periodic: tuple[Periodic, ...] = ()
    # Which of a `serve`'s web processes this is (0: the first), when there are several.
    web_process: int | None = None
    job_signal: JobSignal = field(default_factory=JobSignal)
    # Job kinds whose waiters have a signal of their own (the inbox consumers'): queuing
    # one wakes them alone, not every idle worker, the outbox and the delivery processes.
    kind_signals: dict[str, JobSignal] = field(default_factory=dict)
    # In a delivery process: tells the `serve` that started it that a unit here queued
    # work of these kinds (none named: any), for the kinds only the parent runs.
    wake_parent: Callable[[Collection[str]], None] | None = None
    # Per-destination HTTP clients, limits and breakers for outgoing deliveries.
    delivery: DeliveryPool = field(default_factory=DeliveryPool)
    # Streaming connections of this process and the channels they follow.
    streams: StreamHub = field(default_factory=StreamHub)
    # Remote actors being fetched, by URI (and whether refreshed): concurrent callers
    # share one fetch.
    actor_fetches: SingleFlight[tuple[str, bool], Any] = field(
        default_factory=lambda: SingleFlight(ACTOR_FETCHES)
    )
    # Concurrent inbox deliveries: their checks read together, their jobs stored together.
    inbox_reads: Batcher[Any, Any] = field(default_factory=lambda: Batcher(INBOX_BATCH))
    inbox_writes: Batcher[Any, Any] = field(default_factory=lambda: Batcher(INBOX_BATCH))
    # What the inbox last read for a delivery's sender and inbox (its blocks, key and
    # owner), kept when it let the delivery through; each use is checked again in the
    # transaction that stores the delivery (federation/inbox.py).
    inbox_facts: dict[Any, Any] = field(default_factory=dict)
    # The signing keys inbox deliveries wait for, by client address.
    inbox_key_waits: PerSourceLimit = field(
        default_factory=lambda: PerSourceLimit(KEY_WAITS_PER_SOURCE)
    )
    # Instance-wide facts (counts, rules, contact) for the discovery endpoints.
    instance_facts: CachedValue[InstanceFacts] = field(
        default_factory=lambda: CachedValue(ttl=30.0)
    )
    # The statuses this process rendered, kept while their versions hold (store.entities).
    entities: EntityCache = field(default_factory=EntityCache)

    def wake_jobs(self, kinds: Collection[str] = ()) -> None:
        """Start this process's idle workers at once (the `WorkQueued` effect's handler):
        for job kinds queued that have waiters of their own (`kind_signals`), those
        alone; for any other work (or none named), everyone."""
        apart = [self.kind_signals.get(kind) for kind in kinds]
        if not apart or None in apart:
            self.job_signal.notify()
            apart = list(self.kind_signals.values())
        for signal in apart:
            if signal is not None:
                signal.notify()

    def signal_for(self, kind: str) -> JobSignal:
        """What the waiters of a job kind wait on: its own signal, else the common one."""
        return self.kind_signals.get(kind, self.job_signal)

    async def run_effects(self, effects: Effects) -> None:
        """What the store calls after each commit that recorded effects."""
        await self.effects.run(self, effects)

    async def renew_node(self) -> None:
        """Keep this process's id node leased; claim another if it was lost."""
        ok = await self.store.write(renew_node, self.ids.node, self.owner, now_ms(), NODE_LEASE_MS)
        if not ok:
            log.warning("id node %d lease lost; claiming a new one", self.ids.node)
            node = await self.store.write(claim_node, self.owner, now_ms(), NODE_LEASE_MS)
            self.ids = IdGenerator(node)


def process_owner() -> str:
    """A name for this process, unique across machines and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def open_runtime(
    config: Config,
    *,
    registry: JobRegistry,
    effects: EffectHandlers,
    periodic: tuple[Periodic, ...] = (),
    migrate: bool = True,
) -> AsyncIterator[Runtime]:
    """Open the store (migrating unless told not to), lease an id node, and yield.

    The composition root (`assembly.open_server_runtime`) says what the jobs and
    effects do; tests may hand smaller registries.
    """
    secure_data_dir(config.data_dir)
    store = await open_store(config.database_url, pg_pool_size=config.pg_pool_size)
    store.allow_list_only = config.limited_federation
    try:
        if migrate:
            for m in await apply_migrations(store):
                log.info("applied migration %04d_%s", m.version, m.name)
        # Where media lives: the setting, or what `media migrate` last switched to.
        recorded = await store.read(setting_text, RECORDED_SETTING)
        # Resolved in the config too: the serializers name files where they are.
        config = replace(config, media_kind=chosen_kind(config, recorded))
        media = open_media_store(config, config.media_kind)
        owner = process_owner()
        node = await store.write(claim_node, owner, now_ms(), NODE_LEASE_MS)
        runtime = Runtime(
            config=config,
            store=store,
            ids=IdGenerator(node),
            owner=owner,
            registry=registry,
            effects=effects,
            periodic=periodic,
            media=media,
            outbound=Outbound.from_config(config),
        )
        store.after_commit = runtime.run_effects
        try:
            yield runtime
        finally:
            with trio.CancelScope(shield=True):
                await runtime.delivery.aclose()
                await store.write(release_node, runtime.ids.node, owner)
    finally:
        with trio.CancelScope(shield=True):
            await store.aclose()
