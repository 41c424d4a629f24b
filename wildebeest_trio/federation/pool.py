"""Per-destination delivery state of one process: HTTP clients, limits, breakers, keys.

One `httpx.AsyncClient` is kept per destination host (host and port): a single
client shared by many concurrent requests slows down sharply (its pool rescans
every connection on each change), while one per host keeps each pool small.
Each client is bound to an address checked when it was made (no private
addresses unless allowed) and is replaced after a few minutes, so DNS changes
are seen without trusting a second lookup per request.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlunsplit

import httpx
import trio

from ..net import resolve_checked
from ..signatures import PrivateKey

CLIENT_LIFETIME = 300.0
PER_HOST_CONCURRENCY = 8
BREAKER_THRESHOLD = 10  # Mastodon's Stoplight per inbox: 10 failures...
BREAKER_COOL_OFF = 60.0  # ...open for 60 s
MAX_CACHED_KEYS = 1000


@dataclass
class _Client:
    client: httpx.AsyncClient
    address: str
    created: float


@dataclass
class _Breaker:
    failures: int = 0
    open_until: float = 0.0


@dataclass
class DeliveryPool:
    """What a process keeps between deliveries; closed with the runtime."""

    per_host: int = PER_HOST_CONCURRENCY
    _clients: dict[tuple[str, str, int], _Client] = field(default_factory=dict)
    _limits: dict[str, trio.Semaphore] = field(default_factory=dict)
    _breakers: dict[str, _Breaker] = field(default_factory=dict)
    _keys: OrderedDict[str, PrivateKey] = field(default_factory=OrderedDict)
    #: Domains whose failure record this process has cleared since its last failure.
    healthy: set[str] = field(default_factory=set)

    def limit(self, host: str) -> trio.Semaphore:
        """The concurrency limit for one destination host."""
        if host not in self._limits:
            self._limits[host] = trio.Semaphore(self.per_host)
        return self._limits[host]

    async def client(
        self, parts: SplitResult, *, allow_private: bool
    ) -> tuple[httpx.AsyncClient, str]:
        """The client for a URL's host, and the URL rewritten to its checked address."""
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (parts.scheme, host, port)
        entry = self._clients.get(key)
        now = time.monotonic()
        if entry is None or now - entry.created > CLIENT_LIFETIME:
            if entry is not None:
                await entry.client.aclose()
            address = (await resolve_checked(host, port, allow_private=allow_private))[0]
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(10.0, connect=5.0),
                trust_env=False,
                limits=httpx.Limits(
                    max_connections=self.per_host, max_keepalive_connections=self.per_host
                ),
            )
            entry = self._clients[key] = _Client(client, address, now)
        literal = f"[{entry.address}]" if ":" in entry.address else entry.address
        return entry.client, urlunsplit(parts._replace(netloc=f"{literal}:{port}"))

    def breaker_open(self, inbox: str) -> float:
        """Seconds until an inbox's breaker closes again (0 when closed)."""
        breaker = self._breakers.get(inbox)
        if breaker is None:
            return 0.0
        return max(0.0, breaker.open_until - time.monotonic())

    def record(self, inbox: str, ok: bool) -> None:
        """Count a success (closes the breaker) or a failure (opens it at the threshold)."""
        if ok:
            self._breakers.pop(inbox, None)
            return
        breaker = self._breakers.setdefault(inbox, _Breaker())
        breaker.failures += 1
        if breaker.failures >= BREAKER_THRESHOLD:
            breaker.open_until = time.monotonic() + BREAKER_COOL_OFF
            breaker.failures = 0

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
