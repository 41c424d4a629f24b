"""The client's address and scheme when the server sits behind trusted reverse proxies.

As Rails' RemoteIp (Mastodon's `TRUSTED_PROXY_IP`): when the TCP peer is a trusted proxy,
the client is the right-most address of `X-Forwarded-For` (else of `Forwarded: for=`)
that is not itself a trusted proxy; every hop to its left was written by the client and
is ignored. The scheme comes from the last `X-Forwarded-Proto` (else `Forwarded: proto=`)
of a trusted peer. An untrusted peer's headers are ignored: the peer is the client.

`http.edge` rewrites the ASGI scope once per request (with a `PeerCache`), so
`request.remote_addr` and `request.scheme` are the client's everywhere; `client_ip()` in
`http.auth` reads it.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence

from quart import request
from werkzeug.http import parse_list_header

from ..config import IpNetwork

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_FORWARDED_PAIR = re.compile(r'\s*([A-Za-z]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)')
_SCHEMES = {"http": "http", "https": "https"}
# The headers a proxy reports the client and the scheme in.
_FORWARDING = frozenset((b"x-forwarded-for", b"x-forwarded-proto", b"forwarded"))


@functools.lru_cache(maxsize=4096)
def parse_address(text: str) -> IpAddress | None:
    """An IP address from a forwarding header item: `1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `::1`.

    IPv4-mapped IPv6 addresses become IPv4; anything else (`unknown`, `_hidden`) is None.
    Cached: the same clients come back, and `ipaddress` parsing costs a few microseconds
    each time (several times per request).
    """
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]  # IPv4 with a port
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IpAddress | None, networks: Sequence[IpNetwork]) -> bool:
    return address is not None and any(
        address.version == net.version and address in net for net in networks
    )


def _forwarded_elements(value: str) -> list[dict[str, str]]:
    """RFC 7239 `Forwarded`: one dict of lower-cased parameter names per hop, in order."""
    elements = []
    for element in parse_list_header(value):
        pairs = {}
        for match in _FORWARDED_PAIR.finditer(element):
            raw = match.group(2)
            if raw.startswith('"'):
                raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            pairs[match.group(1).lower()] = raw
        elements.append(pairs)
    return elements


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """All values of one header, joined with commas as HTTP allows; None when absent."""
    values = [v.decode("latin-1") for k, v in headers if k.lower() == name]
    return ", ".join(values) if values else None


def _forwarded_values(
    headers: Iterable[tuple[bytes, bytes]], legacy: bytes, parameter: str
) -> list[str]:
    """One value per hop, in order: from the `X-Forwarded-*` header `legacy` when sent,
    else from that parameter of RFC 7239 `Forwarded`."""
    headers = list(headers)
    value = _header(headers, legacy)
    if value is not None:
        return [item.strip() for item in value.split(",") if item.strip()]
    forwarded = _header(headers, b"forwarded") or ""
    return [e[parameter] for e in _forwarded_elements(forwarded) if parameter in e]


def client_address(
    peer: str | None, headers: Iterable[tuple[bytes, bytes]], trusted: Sequence[IpNetwork]
) -> str | None:
    """The client's address for a request from `peer` (None: unknown, such as a test client).

    A hop that is not an address (`unknown`, an obfuscated name) ends the walk: the proxy
    that wrote it is then the best we know.
    """
    peer_address = parse_address(peer) if peer else None
    if peer_address is None or not _trusted(peer_address, trusted):
        return str(peer_address) if peer_address is not None else peer
    current = peer_address
    for hop in reversed(_forwarded_values(headers, b"x-forwarded-for", "for")):
        address = parse_address(hop)
        if address is None:
            break
        current = address
        if not _trusted(address, trusted):
            break
    return str(current)


def forwarded_scheme(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """`http` or `https` as a proxy says the client reached it; None when it does not say."""
    for value in reversed(_forwarded_values(headers, b"x-forwarded-proto", "proto")):
        if value.lower() in _SCHEMES:
            return _SCHEMES[value.lower()]
    return None


class PeerCache:
    """The client's address and scheme for each request, as the trusted proxies report
    them: what a peer is (trusted or not, its address) is worked out once per peer, and
    a trusted peer's request without forwarding headers (a health check, a test client)
    costs one look over its header names."""

    #: Distinct peers remembered; past it the memory starts again.
    LIMIT = 4096

    def __init__(self, trusted: Sequence[IpNetwork]) -> None:
        self.trusted = tuple(trusted)
        # peer -> (its address as the client's, whether it is a trusted proxy)
        self._peers: dict[str, tuple[str | None, bool]] = {}

    def resolve(
        self, peer: str, headers: Iterable[tuple[bytes, bytes]]
    ) -> tuple[str | None, str | None]:
        """The client's address (None: unknown) and the scheme a trusted proxy reports
        (None: the connection's own)."""
        known = self._peers.get(peer)
        if known is None:
            known = (client_address(peer, (), self.trusted), self.trusts(peer))
            if len(self._peers) >= self.LIMIT:
                self._peers.clear()
            self._peers[peer] = known
        address, trusted = known
        if not trusted or not any(name.lower() in _FORWARDING for name, _ in headers):
            return address, None
        return client_address(peer, headers, self.trusted), forwarded_scheme(headers)

    def trusts(self, peer: str) -> bool:
        return _trusted(parse_address(peer), self.trusted)


def over_https() -> bool:
    """Whether this request reached the server (or its trusted proxy) over TLS."""
    return request.scheme in ("https", "wss")
