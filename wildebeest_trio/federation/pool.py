"""Per-destination delivery state of one process: HTTP clients, limits, breakers, keys.

One `httpx.AsyncClient` is kept per destination host (host and port): a single
client shared by many concurrent requests slows down sharply (its pool rescans
every connection on each change), while one per host keeps each pool small.
Each client is bound to an address the runtime's `Outbound` checked when it was
made (see net.py) and is replaced after a few minutes, so DNS changes are seen
without trusting a second lookup per request. Concurrency per destination and
the per-inbox breaker are the same `breakers` that bound fetches.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlunsplit

import httpx

from ..breakers import Breakers, HostLimits
from ..net import Outbound
from ..signatures import PrivateKey

CLIENT_LIFETIME = 300.0
PER_HOST_CONCURRENCY = 8
MAX_CACHED_KEYS = 1000


@dataclass
class _Client:
    client: httpx.AsyncClient
    address: str
    created: float


@dataclass
class DeliveryPool:
    """What a process keeps between deliveries; closed with the runtime."""

    per_host: int = PER_HOST_CONCURRENCY
    _clients: dict[tuple[str, str, int], _Client] = field(default_factory=dict)
    _limits: HostLimits = field(init=False)
    #: Per inbox, as Mastodon's Stoplight.
    breakers: Breakers = field(default_factory=Breakers)
    _keys: OrderedDict[str, PrivateKey] = field(default_factory=OrderedDict)
    #: Domains whose failure record this process has cleared since its last failure.
    healthy: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._limits = HostLimits(self.per_host)

    def limit(self, host: str) -> AbstractAsyncContextManager[None]:
        """Hold one of a destination host's concurrent slots for the block."""
        return self._limits.hold(host)

    async def client(self, parts: SplitResult, outbound: Outbound) -> tuple[httpx.AsyncClient, str]:
        """The client for a URL's host, and the URL rewritten to its checked address."""
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (parts.scheme, host, port)
        entry = self._clients.get(key)
        now = time.monotonic()
        if entry is None or now - entry.created > CLIENT_LIFETIME:
            if entry is not None:
                await entry.client.aclose()
            address = (await outbound.addresses(host))[0]
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(10.0, connect=5.0),
                trust_env=False,
                verify=outbound.tls,
                limits=httpx.Limits(
                    max_connections=self.per_host, max_keepalive_connections=self.per_host
                ),
            )
            entry = self._clients[key] = _Client(client, address, now)
        literal = f"[{entry.address}]" if ":" in entry.address else entry.address
        return entry.client, urlunsplit(parts._replace(netloc=f"{literal}:{port}"))

    def private_key(self, pem: str) -> PrivateKey:
        """A parsed signing key, parsed once per process (keyed by the PEM: keys rotate)."""
        key = self._keys.get(pem)
        if key is None:
            key = self._keys[pem] = PrivateKey.from_pem(pem)
            while len(self._keys) > MAX_CACHED_KEYS:
                self._keys.popitem(last=False)
        else:
            self._keys.move_to_end(pem)
        return key

    async def aclose(self) -> None:
        for entry in self._clients.values():
            await entry.client.aclose()
        self._clients.clear()
