"""Per-destination state of one process's deliveries (activities, web pushes): connections,
limits, breakers, keys.

Deliveries go over kept-alive HTTP/1.1 connections (`keepalive.Connection`), a few per
destination host (host and port) and reused from one POST to the next, as Mastodon's
request pool does: idle ones are closed after 30 s, and a POST that finds its reused
connection closed by the server is sent once more on a fresh one. Every connection
goes to an address checked when the host was first seen (no private addresses unless
allowed, by the runtime's `Outbound`, see net.py), looked up again after a few minutes, so
DNS changes are seen without trusting a second lookup per request. Every connection uses
the process's one TLS context (`Outbound.tls`, shared with fetches). Concurrency per
destination and the per-inbox breaker are the same `breakers` that bound fetches.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from urllib.parse import SplitResult, quote

import trio

from .breakers import Breakers
from .keepalive import Answer, Connection, ExchangeError
from .net import Outbound
from .signatures import PrivateKey

ADDRESS_LIFETIME = 300.0
PER_HOST_CONCURRENCY = 8
IDLE_LIFETIME = 30.0  # Mastodon's RequestPool::MAX_IDLE_TIME
MAX_IDLE_CONNECTIONS = 512  # over every host, as Mastodon's RequestPool::MAX_POOL_SIZE
CONNECT_TIMEOUT = 5.0
EXCHANGE_TIMEOUT = 10.0
MAX_CACHED_KEYS = 1000


def _request_target(parts: SplitResult) -> bytes:
    """The path and query to request, as ASCII (anything else percent-encoded as UTF-8)."""
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if not target.isascii():
        target = quote(target, safe="/?=&%:@!$'()*+,;-._~")
    return target.encode()


class _Gate:
    """A destination's slots: how many are held, and the deliveries waiting for one."""

    __slots__ = ("held", "waiting")

    def __init__(self) -> None:
        self.held = 0
        self.waiting = trio.lowlevel.ParkingLot()


class _Hold(AbstractAsyncContextManager[None]):
    """One of a destination's slots, held for an `async with` block.

    A free slot is taken without a trip through Trio's scheduler (a semaphore's
    acquire yields even when free, and the exchange that follows waits on the network
    anyway); a freed slot is handed straight to the longest waiter."""

    __slots__ = ("_gates", "_key", "_limit")

    def __init__(self, gates: dict[str, _Gate], key: str, limit: int) -> None:
        self._gates = gates
        self._key = key
        self._limit = limit

    async def __aenter__(self) -> None:
        gate = self._gates.get(self._key)
        if gate is None:
            gate = self._gates[self._key] = _Gate()
        if gate.held < self._limit and not gate.waiting:
            gate.held += 1
            return
        try:
            await gate.waiting.park()  # woken holding the slot its waker gave up
        except BaseException:
            if not gate.held and not gate.waiting:
                self._gates.pop(self._key, None)
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        gate = self._gates[self._key]
        if gate.waiting:
            gate.waiting.unpark()
        else:
            gate.held -= 1
            if not gate.held:
                del self._gates[self._key]


@dataclass
class _Host:
    address: str
    resolved: float
    idle: list[Connection] = field(default_factory=list)


@dataclass
class DeliveryPool:
    """What a process keeps between deliveries; closed with the runtime."""

    per_host: int = PER_HOST_CONCURRENCY
    _hosts: dict[tuple[str, str, int], _Host] = field(default_factory=dict)
    _idle_count: int = 0
    #: Connections to close at the next `close_expired` (closing awaits; giving up does not).
    _expired: list[Connection] = field(default_factory=list)
    #: Per destination host: the slots of its `per_host` concurrent deliveries.
    _gates: dict[str, _Gate] = field(default_factory=dict)
    #: Per inbox, as Mastodon's Stoplight.
    breakers: Breakers = field(default_factory=Breakers)
    _keys: OrderedDict[str, PrivateKey] = field(default_factory=OrderedDict)
    #: The instance actor's key id and signing key, once read (a local key never changes).
    instance_key: tuple[str, PrivateKey] | None = None
    #: Domains whose failure record this process has cleared since its last failure.
    healthy: set[str] = field(default_factory=set)

    def limit(self, host: str) -> AbstractAsyncContextManager[None]:
        """Hold one of a destination host's concurrent slots for the block."""
        return _Hold(self._gates, host, self.per_host)

    async def post(
        self,
        parts: SplitResult,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        outbound: Outbound,
    ) -> Answer:
        """POST `body` to a URL over a kept-alive connection to its host's checked address.

        Raises `ExchangeError` (connection, TLS, protocol, or no answer in time) or
        `FetchError` (the host does not resolve, or only to refused addresses).
        """
        host_name = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = await self._host(parts.scheme, host_name, port, outbound)
        target = _request_target(parts)
        tls = outbound.tls if parts.scheme == "https" else None
        for attempt in (1, 2):
            connection, reused = self._idle_connection(host) if attempt == 1 else (None, False)
            try:
                if connection is None:
                    with trio.move_on_after(CONNECT_TIMEOUT):
                        connection = await Connection.open(
                            host.address, port, ssl_context=tls, server_hostname=host_name
                        )
                    if connection is None:
                        raise ExchangeError(
                            f"no connection to {host.address}:{port} within {CONNECT_TIMEOUT:g}s",
                            before_answer=True,
                        )
                with trio.move_on_after(EXCHANGE_TIMEOUT) as deadline:
                    answer = await connection.exchange(b"POST", target, headers, body)
                if deadline.cancelled_caught:
                    await connection.aclose()
                    raise ExchangeError(
                        f"no answer within {EXCHANGE_TIMEOUT:g}s", before_answer=False
                    )
            except ExchangeError as exc:
                # A server may close an idle connection just as we reuse it: once more anew.
                if reused and exc.before_answer and attempt == 1:
                    continue
                raise
            except BaseException:
                if connection is not None:
                    await connection.aclose()
                raise
            self._keep(host, connection)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    async def _host(self, scheme: str, name: str, port: int, outbound: Outbound) -> _Host:
        key = (scheme, name, port)
        host = self._hosts.get(key)
        now = time.monotonic()
        if host is None or now - host.resolved > ADDRESS_LIFETIME:
            address = (await outbound.addresses(name))[0]
            if host is None or host.address != address:
                stale = host.idle if host is not None else []
                host = self._hosts[key] = _Host(address, now)
                self._idle_count -= len(stale)
                for connection in stale:
                    await connection.aclose()
            host.resolved = now
        return host

    def _idle_connection(self, host: _Host) -> tuple[Connection | None, bool]:
        """A kept connection to the host (newest first), or None; and whether it is reused."""
        now = time.monotonic()
        while host.idle:
            connection = host.idle.pop()
            self._idle_count -= 1
            if now - connection.idle_since < IDLE_LIFETIME:
                return connection, True
            self._expired.append(connection)
        return None, False

    def _keep(self, host: _Host, connection: Connection) -> None:
        if connection.reusable and self._idle_count < MAX_IDLE_CONNECTIONS:
            host.idle.append(connection)
            self._idle_count += 1
        else:
            self._expired.append(connection)

    async def close_expired(self) -> None:
        """Close connections given up since the last call, and those idle too long."""
        now = time.monotonic()
        for host in self._hosts.values():
            # The oldest are first: close from the front while they are too old.
            while host.idle and now - host.idle[0].idle_since >= IDLE_LIFETIME:
                self._expired.append(host.idle.pop(0))
                self._idle_count -= 1
        expired, self._expired = self._expired, []
        for connection in expired:
            await connection.aclose()

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
        for host in self._hosts.values():
            self._expired.extend(host.idle)
            host.idle.clear()
        self._idle_count = 0
        self._hosts.clear()
        await self.close_expired()
