"""DNS servers on 127.0.0.1 for the tests: one that answers from a table, one that never does.

Both count the queries they receive, so a test can tell whether a look-up was asked of
DNS at all (or answered from a cache).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import TypeVar

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
import trio


@dataclass
class Zone:
    """Answers A and AAAA from `names` (name -> addresses), MX from `mail` (domain -> mail
    hosts, best first); NXDOMAIN for any other name."""

    address: tuple[str, int] = ("", 0)
    names: dict[str, list[str]] = field(default_factory=dict)
    mail: dict[str, list[str]] = field(default_factory=dict)
    queries: list[tuple[str, str]] = field(default_factory=list)
    ttl: int = 300

    def answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        kind = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, kind))
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if kind == "MX" and name in self.mail:
            records = [f"{10 * (i + 1)} {host}." for i, host in enumerate(self.mail[name])]
            response.answer.append(
                dns.rrset.from_text_list(question.name, self.ttl, "IN", "MX", records)
            )
            return response.to_wire()
        if name not in self.names:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response.to_wire()
        version = 4 if kind == "A" else 6
        matching = [a for a in self.names[name] if ipaddress.ip_address(a).version == version]
        if matching:
            response.answer.append(
                dns.rrset.from_text_list(question.name, self.ttl, "IN", kind, matching)
            )
        return response.to_wire()

    async def serve(self, sock: trio.socket.SocketType) -> None:
        while True:
            wire, sender = await sock.recvfrom(4096)
            await sock.sendto(self.answer(wire), sender)


@dataclass
class BlackHole:
    """A DNS server that receives every query and answers none."""

    address: tuple[str, int] = ("", 0)
    queries: int = 0

    async def serve(self, sock: trio.socket.SocketType) -> None:
        while True:
            await sock.recvfrom(4096)
            self.queries += 1


Server = TypeVar("Server", Zone, BlackHole)


async def _listen(nursery: trio.Nursery, server: Server) -> Server:
    """Serve `server` on a fresh UDP port of 127.0.0.1 for this test's Trio run."""
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    await sock.bind(("127.0.0.1", 0))
    server.address = sock.getsockname()
    nursery.start_soon(server.serve, sock)
    return server


@pytest.fixture
async def zone(nursery: trio.Nursery) -> Zone:
    """An answering DNS server on 127.0.0.1 (fill in `names`)."""
    return await _listen(nursery, Zone())


@pytest.fixture
async def black_hole(nursery: trio.Nursery) -> BlackHole:
    """A black-hole DNS server on 127.0.0.1."""
    return await _listen(nursery, BlackHole())
