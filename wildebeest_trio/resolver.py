"""Name resolution for outgoing connections: asynchronous, bounded and cached.

A look-up must never hold a thread (a blocking `getaddrinfo` in a worker thread
let strangers take the threads the database needed) nor wait without end. A
host is, in this order: an IP literal (no look-up at all); a name of the hosts
file (as the system resolver answers, so `localhost` works); or a DNS name,
looked up with dnspython on its Trio backend, A and AAAA at once, within
`timeout` seconds, at most `max_concurrent` look-ups at a time. DNS answers are
cached for their TTL (within bounds), failures for `NEGATIVE_TTL`, in a bounded
cache. The servers are the configured ones or those of /etc/resolv.conf; a
server the outbound policy refuses is never asked.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dns.asyncbackend
import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver
import trio

DEFAULT_TIMEOUT = 5.0  # Mastodon's Request gives DNS 5 s
MAX_CONCURRENT = 32
CACHE_SIZE = 10_000
POSITIVE_MIN_TTL = 30.0
POSITIVE_MAX_TTL = 600.0
NEGATIVE_TTL = 30.0
HOSTS_FILE = "/etc/hosts"

DnsServer = tuple[str, int]


class ResolveError(Exception):
    """A name that could not be resolved; the message is one line, safe to log."""


@dataclass
class _Entry:
    expires: float
    addresses: tuple[str, ...]
    error: str = ""


def read_hosts(path: str | Path = HOSTS_FILE) -> dict[str, tuple[str, ...]]:
    """The names of a hosts file and their addresses, in file order (empty if unreadable)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    names: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        try:
            address = str(ipaddress.ip_address(fields[0].split("%", 1)[0]))
        except ValueError:
            continue
        for name in fields[1:]:
            known = names.setdefault(name.lower().rstrip("."), [])
            if address not in known:
                known.append(address)
    return {name: tuple(addresses) for name, addresses in names.items()}


def system_servers() -> list[DnsServer]:
    """The name servers of /etc/resolv.conf (none when it is missing or names none)."""
    try:
        configured = dns.resolver.Resolver(configure=True)
    except dns.exception.DNSException:
        return []
    return [(str(ns), configured.port) for ns in configured.nameservers]


def ip_literal(host: str) -> str | None:
    """The address a host names when it is an IP literal (brackets allowed), else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


class Resolver:
    """Host names to addresses, without threads and within a deadline (see the module)."""

    def __init__(
        self,
        *,
        servers: Sequence[DnsServer] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        permitted: Callable[[str], bool] = lambda address: True,
        max_concurrent: int = MAX_CONCURRENT,
        cache_size: int = CACHE_SIZE,
        hosts: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.timeout = timeout
        self.cache_size = cache_size
        self.hosts = read_hosts() if hosts is None else hosts
        candidates = system_servers() if servers is None else list(servers)
        self.servers = [server for server in candidates if permitted(server[0])]
        self.refused_servers = [server for server in candidates if not permitted(server[0])]
        self._dns = dns.asyncresolver.Resolver(configure=False)
        self._dns.nameservers = [dns.nameserver.Do53Nameserver(a, p) for a, p in self.servers]
        self._dns.timeout = timeout
        self._dns.lifetime = timeout
        self._backend = dns.asyncbackend.get_backend("trio")
        self._slots = trio.Semaphore(max_concurrent)
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._pending: dict[str, trio.Event] = {}

    async def lookup(self, host: str) -> list[str]:
        """The addresses of a host, IPv4 first; ResolveError when there are none."""
        literal = ip_literal(host)
        if literal is not None:
            return [literal]
        name = host.lower().rstrip(".")
        if name in self.hosts:
            return list(self.hosts[name])
        while True:
            entry = self._cached(name)
            if entry is not None:
                if entry.error:
                    raise ResolveError(entry.error)
                return list(entry.addresses)
            pending = self._pending.get(name)
            if pending is None:
                break
            # Someone is looking this name up already: share the answer.
            await pending.wait()
        self._pending[name] = trio.Event()
        try:
            entry = await self._query(name)
            if entry is not None:
                self._remember(name, entry)
        finally:
            self._pending.pop(name).set()
        if entry is None:
            raise ResolveError(f"cannot resolve {name}: too many look-ups in progress")
        if entry.error:
            raise ResolveError(entry.error)
        return list(entry.addresses)

    async def mail_hosts(self, domain: str) -> list[str]:
        """The MX hosts of a domain, best first; empty when it has none or DNS does not
        answer in time (a failed look-up is not evidence against the domain)."""
        name = domain.lower().rstrip(".")
        if not self.servers or ip_literal(name) is not None:
            return []
        with trio.move_on_after(self.timeout):
            async with self._slots:
                try:
                    answer = await self._dns.resolve(
                        name,
                        "MX",
                        raise_on_no_answer=False,
                        lifetime=self.timeout,
                        search=False,
                        backend=self._backend,
                    )
                except dns.exception.DNSException:
                    return []
            if answer.rrset is None:
                return []
            records = sorted(answer.rrset, key=lambda r: r.preference)
            return [r.exchange.to_text(omit_final_dot=True).lower() for r in records][:20]
        return []

    def _cached(self, name: str) -> _Entry | None:
        entry = self._cache.get(name)
        if entry is None:
            return None
        if entry.expires <= time.monotonic():
            del self._cache[name]
            return None
        self._cache.move_to_end(name)
        return entry

    def _remember(self, name: str, entry: _Entry) -> None:
        self._cache[name] = entry
        self._cache.move_to_end(name)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _failed(self, message: str) -> _Entry:
        return _Entry(time.monotonic() + NEGATIVE_TTL, (), message)

    async def _query(self, name: str) -> _Entry | None:
        """Ask DNS for A and AAAA at once; None when no look-up slot came free in time."""
        if not self.servers:
            refused = ", ".join(a for a, _ in self.refused_servers)
            why = f" (the outbound policy refuses {refused})" if refused else ""
            # Not cached: nothing was asked, and the answer is the same every time.
            return _Entry(0.0, (), f"cannot resolve {name}: no DNS server may be asked{why}")
        answers: dict[str, dns.resolver.Answer] = {}
        errors: list[dns.exception.DNSException] = []

        async def ask(rdtype: str) -> None:
            try:
                answers[rdtype] = await self._dns.resolve(
                    name,
                    rdtype,
                    raise_on_no_answer=False,
                    lifetime=self.timeout,
                    search=False,
                    backend=self._backend,
                )
            except dns.exception.DNSException as exc:
                errors.append(exc)

        give_up_at = trio.current_time() + self.timeout
        # A look-up waits for a slot at most half its time: one that got a slot
        # just before its deadline would send queries only to abandon them.
        acquired = False
        with trio.move_on_after(self.timeout / 2):
            await self._slots.acquire()
            acquired = True
        if not acquired:
            return None
        try:
            with trio.move_on_at(give_up_at) as deadline:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(ask, "A")
                    nursery.start_soon(ask, "AAAA")
        finally:
            self._slots.release()
        addresses: list[str] = []
        ttls: list[float] = []
        for rdtype in ("A", "AAAA"):
            answer = answers.get(rdtype)
            if answer is not None and answer.rrset is not None:
                addresses += [item.address for item in answer.rrset]
                ttls.append(float(answer.rrset.ttl))
        if addresses:
            ttl = min(max(min(ttls), POSITIVE_MIN_TTL), POSITIVE_MAX_TTL)
            return _Entry(time.monotonic() + ttl, tuple(dict.fromkeys(addresses)))
        if deadline.cancelled_caught or any(isinstance(e, dns.exception.Timeout) for e in errors):
            return self._failed(f"cannot resolve {name}: no DNS answer within {self.timeout:g}s")
        if any(isinstance(e, dns.resolver.NXDOMAIN) for e in errors):
            return self._failed(f"cannot resolve {name}: no such host")
        if errors:
            return self._failed(f"cannot resolve {name}: {_describe(errors[0])}")
        return self._failed(f"cannot resolve {name}: it has no address")


def _describe(exc: dns.exception.DNSException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
