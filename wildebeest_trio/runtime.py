"""The configured objects of one process: settings, store, id generator, job wiring.

Everything mutable that the server shares lives here, created by `open_runtime`
and handed down explicitly; there is no module-level state.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import trio

from .cache import CachedValue
from .config import Config
from .federation.pool import DeliveryPool
from .ids import IdGenerator, now_ms
from .jobs import JobRegistry
from .media import LocalMediaStore, MediaStore
from .net import Outbound
from .private_files import secure_data_dir
from .store import Store, open_store
from .store.migrate import migrate as apply_migrations
from .store.nodes import claim_node, release_node, renew_node
from .streaming.hub import StreamHub

log = logging.getLogger(__name__)

NODE_LEASE_MS = 10 * 60 * 1000


class JobSignal:
    """Wakes this process's idle job workers when it has just queued work."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = trio.Event()

    async def wait_at_most(self, seconds: float) -> None:
        """Return when notified, or after `seconds`."""
        with trio.move_on_after(seconds):
            await self._event.wait()


@dataclass
class Runtime:
    """What every layer of one process shares."""

    config: Config
    store: Store
    ids: IdGenerator
    owner: str
    registry: JobRegistry
    media: MediaStore
    # Where outgoing connections may go, how names are looked up, per-host fetch bounds.
    outbound: Outbound
    job_signal: JobSignal = field(default_factory=JobSignal)
    # Per-destination HTTP clients, limits and breakers for outgoing deliveries.
    delivery: DeliveryPool = field(default_factory=DeliveryPool)
    # Streaming connections of this process and the channels they follow.
    streams: StreamHub = field(default_factory=StreamHub)
    # Instance-wide facts (counts, rules, contact) for the discovery endpoints.
    instance_facts: CachedValue[Any] = field(default_factory=lambda: CachedValue(ttl=30.0))

    def wake_jobs(self) -> None:
        """Call after committing jobs, so local workers start at once rather than on poll."""
        self.job_signal.notify()

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
    config: Config, *, migrate: bool = True, registry: JobRegistry | None = None
) -> AsyncIterator[Runtime]:
    """Open the store (migrating unless told not to), lease an id node, and yield."""
    if registry is None:
        from .services.registry import default_registry

        registry = default_registry()
    secure_data_dir(config.data_dir)
    store = await open_store(config.database_url, pg_pool_size=config.pg_pool_size)
    try:
        if migrate:
            for m in await apply_migrations(store):
                log.info("applied migration %04d_%s", m.version, m.name)
        owner = process_owner()
        node = await store.write(claim_node, owner, now_ms(), NODE_LEASE_MS)
        runtime = Runtime(
            config=config,
            store=store,
            ids=IdGenerator(node),
            owner=owner,
            registry=registry,
            media=LocalMediaStore(config.media_dir, config.base_url),
            outbound=Outbound.from_config(config),
        )
        try:
            yield runtime
        finally:
            with trio.CancelScope(shield=True):
                await runtime.delivery.aclose()
                await store.write(release_node, runtime.ids.node, owner)
    finally:
        with trio.CancelScope(shield=True):
            await store.aclose()
