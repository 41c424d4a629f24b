"""Connecting to other servers without being turned against our own network.

Every outgoing connection (fetches, deliveries, media, push, mail) goes to an
address the `Outbound` of the runtime has checked: the host is resolved once
(`resolver.Resolver`: no threads, bounded time), and every address must pass
the `OutboundPolicy`: inside `WB_OUTBOUND_ALLOW` when it is set, and public
(not in the private and special-purpose ranges Mastodon refuses) unless
`allow_private` is on, for tests on 127.0.0.1, or the destination is the
administrator's own (the SMTP server). The connection goes to the checked
address itself, so a second DNS answer cannot sneak in (DNS rebinding); the
real name is still sent for `Host` and TLS.

An outbound GET to an address someone else chose (a key set, an actor, a post)
goes through `safe_get`: redirects are followed by hand, each hop checked
again; bodies are capped and the whole exchange has a deadline; each host gets
a bounded number of concurrent fetches and a failure breaker, so one dead or
slow host cannot hold more than its share.
"""

from __future__ import annotations

import ipaddress
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import certifi
import httpx
import trio

from .breakers import Breakers, HostLimits
from .resolver import ResolveError, Resolver

if TYPE_CHECKING:
    from .config import Config

# Ranges Python's `is_global` lets through but Mastodon refuses (NAT64, 6to4, Teredo...).
_EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/32",
        "2001:db8::/32",
        "2002::/16",
        "3fff::/20",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "198.18.0.0/15",
    )
)
# Concurrent fetches from one host (deliveries have their own bound, in delivery_pool.py).
FETCH_PER_HOST = 4

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Signer = Callable[[str, str, dict[str, str]], Mapping[str, str]]


class FetchError(Exception):
    """A fetch that failed or was refused; the message is one line, safe to log."""

    def __init__(
        self, message: str, status: int | None = None, location: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        # Where a redirect not followed pointed (`max_redirects=0`).
        self.location = location


class DestinationRefused(FetchError):
    """The outbound policy refuses every connection to this destination."""


@dataclass(frozen=True)
class Fetched:
    """A completed GET: the final URL (after redirects), status, headers and body."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_public_address(text: str) -> bool:
    """Whether an IP address may be fetched from when private addresses are refused."""
    ip = _address(text)
    if not ip.is_global or ip.is_multicast:
        return False
    return not any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version)


@dataclass(frozen=True)
class OutboundPolicy:
    """Which addresses this process may connect to.

    `allow` (WB_OUTBOUND_ALLOW) narrows every connection to its networks; it never
    widens the private-address rule, which refuses non-public addresses unless
    `allow_private` is on. Destinations the administrator configured (`configured`:
    the SMTP server, the DNS servers) may be private, but stay inside `allow`.
    """

    allow: tuple[Network, ...] | None = None
    allow_private: bool = False

    def refusal(self, address: str, *, configured: bool = False) -> str | None:
        """Why a connection to `address` is refused, or None when it may be made."""
        ip = _address(address)
        if self.allow is not None and not any(
            ip in net for net in self.allow if net.version == ip.version
        ):
            return "an address outside WB_OUTBOUND_ALLOW"
        if not configured and not self.allow_private and not is_public_address(str(ip)):
            return "a private or loopback address (or a reserved one)"
        return None

    @classmethod
    def from_config(cls, config: Config) -> OutboundPolicy:
        return cls(config.outbound_allow, config.allow_private_addresses)


def tls_context(
    *, ca_bundle: str | None = None, ssl_cert_file: str | None = None
) -> ssl.SSLContext:
    """What outgoing https connections trust: the bundled CA certificates (those httpx uses),
    or the file `SSL_CERT_FILE` names instead, plus the extra CAs of `ca_bundle`
    (WB_CA_BUNDLE: a private CA, or the tests' own). Certificates and host names are always
    checked."""
    context = ssl.create_default_context(cafile=ssl_cert_file or certifi.where())
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    # Every client of ours speaks HTTP/1.1 (httpx without h2, the delivery engine's h11).
    context.set_alpn_protocols(["http/1.1"])
    return context


class Outbound:
    """How this process reaches other servers: policy, resolver, per-host fetch bounds,
    and the TLS trust of every outgoing connection.

    One per runtime (it caches look-ups and remembers failing hosts).
    """

    def __init__(
        self,
        policy: OutboundPolicy,
        resolver: Resolver,
        *,
        fetch_per_host: int = FETCH_PER_HOST,
        fetch_breakers: Breakers | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.fetch_limits = HostLimits(fetch_per_host)
        self.fetch_breakers = fetch_breakers if fetch_breakers is not None else Breakers()
        # One context for every connection: loading the CA file once, not per request.
        self.tls = tls if tls is not None else tls_context()

    @classmethod
    def from_config(cls, config: Config) -> Outbound:
        """The outbound side of the settings: allow-list, private rule, DNS servers and timeout."""
        policy = OutboundPolicy.from_config(config)
        resolver = Resolver(
            servers=config.dns_servers,
            timeout=config.dns_timeout,
            # DNS servers are the administrator's (often private), but inside the allow-list.
            permitted=lambda address: policy.refusal(address, configured=True) is None,
        )
        tls = tls_context(ca_bundle=config.ca_bundle, ssl_cert_file=config.ssl_cert_file)
        return cls(policy, resolver, tls=tls)

    async def addresses(self, host: str, *, configured: bool = False) -> list[str]:
        """The addresses of a host, all of them checked; FetchError if any is refused."""
        try:
            addresses = await self.resolver.lookup(host)
        except ResolveError as exc:
            raise FetchError(str(exc)) from None
        for address in addresses:
            reason = self.policy.refusal(address, configured=configured)
            if reason is not None:
                raise DestinationRefused(f"{host.strip('[]')} has {reason}")
        return addresses


def describe(exc: BaseException) -> str:
    """A one-line reason, from the exception or what caused it (httpx's are often empty)."""
    seen: BaseException | None = exc
    while seen is not None:
        text = " ".join(str(seen).split())
        if text:
            return text
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


def answer_excerpt(body: bytes, limit: int = 200) -> str:
    """The start of a remote server's answer, on one printable line, for the log."""
    text = " ".join(body[:limit].decode("utf-8", "replace").split())
    text = "".join(c if c.isprintable() else "?" for c in text)
    if not text:
        return "(empty body)"
    return f"{text}..." if len(body) > limit else text


def media_type(content_type: str) -> str:
    """The media type of a Content-Type header, lower-cased, without parameters."""
    return content_type.partition(";")[0].strip().lower()


def charset(content_type: str) -> str | None:
    """The `charset` parameter of a Content-Type header, if any."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"'):
            return value.strip().strip('"')
    return None


def host_key(parts: SplitResult) -> str:
    """What per-host bounds are kept by: host and port as written, lower-cased."""
    return parts.netloc.rpartition("@")[2].lower()


async def _get_once(
    parts: SplitResult,
    headers: Mapping[str, str],
    *,
    sign: Signer | None,
    outbound: Outbound,
    max_bytes: int,
    ssl_context: ssl.SSLContext | None,
    time_limit: float,
    truncate: bool = False,
    content_types: tuple[str, ...] | None = None,
) -> Fetched:
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise FetchError("only http and https URLs with a host can be fetched")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    key = host_key(parts)
    wait = outbound.fetch_breakers.open_for(key)
    if wait:
        raise FetchError(f"{key} keeps failing; not contacted for another {wait:.0f}s")
    reached = False
    judged = True
    try:
        async with outbound.fetch_limits.hold(key):
            addresses = await outbound.addresses(host)
            # Signed only now: a host that cannot be reached costs no RSA signature.
            request_headers = {"Host": parts.netloc.rpartition("@")[2], **headers}
            if sign is not None:
                request_headers.update(sign("GET", urlunsplit(parts), dict(headers)))
            failures: list[str] = []
            for address in addresses:
                literal = f"[{address}]" if ":" in address else address
                pinned = urlunsplit(parts._replace(netloc=f"{literal}:{port}"))
                try:
                    async with (
                        httpx.AsyncClient(
                            timeout=time_limit, trust_env=False, verify=ssl_context or outbound.tls
                        ) as client,
                        client.stream(
                            "GET",
                            pinned,
                            headers=request_headers,
                            extensions={"sni_hostname": host},
                        ) as response,
                    ):
                        reached = True
                        if content_types is not None and response.status_code == 200:
                            kind = media_type(response.headers.get("content-type", ""))
                            if kind not in content_types:
                                # Known from the headers: the body is never read.
                                raise FetchError(f"not {' or '.join(content_types)}: {kind!r}")
                        body = bytearray()
                        async for chunk in response.aiter_bytes():
                            body += chunk
                            if len(body) > max_bytes:
                                if truncate:
                                    del body[max_bytes:]
                                    break
                                raise FetchError(f"response larger than {max_bytes} bytes")
                        return Fetched(
                            urlunsplit(parts), response.status_code, response.headers, bytes(body)
                        )
                except httpx.ConnectError as exc:
                    # Try the next address, as a browser would; report each failure.
                    failures.append(f"{address}: {describe(exc)}")
                except httpx.HTTPError as exc:
                    raise FetchError(describe(exc)) from None
            raise FetchError(f"cannot connect: {'; '.join(failures)}")
    except DestinationRefused:
        judged = False
        raise
    finally:
        # Whatever ended the attempt (an error, the deadline), a host that never answered
        # counts towards its breaker; one that answered, even badly, closes it.
        if judged:
            outbound.fetch_breakers.record(key, reached)


async def safe_get(
    url: str,
    *,
    outbound: Outbound,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = 1024 * 1024,
    max_redirects: int = 3,
    time_limit: float = 30.0,
    ssl_context: ssl.SSLContext | None = None,
    sign: Signer | None = None,
    truncate: bool = False,
    content_types: tuple[str, ...] | None = None,
) -> Fetched:
    """GET a URL someone else gave us, within every limit (see the module docstring).

    `sign(method, url, headers)` returns headers to add; it is called again for each
    redirect hop, since a signature covers the URL. A redirect past `max_redirects`
    is a FetchError; other statuses are returned for the caller to judge. A body past
    `max_bytes` is a FetchError, or with `truncate` its first `max_bytes` (the rest is
    never read). With `content_types`, a 200 answer of another media type is a
    FetchError before its body is read.
    """
    current = url
    with trio.move_on_after(time_limit):
        for _ in range(max_redirects + 1):
            fetched = await _get_once(
                urlsplit(current),
                headers or {},
                sign=sign,
                outbound=outbound,
                max_bytes=max_bytes,
                ssl_context=ssl_context,
                time_limit=time_limit,
                truncate=truncate,
                content_types=content_types,
            )
            location = fetched.headers.get("location")
            if fetched.status in (301, 302, 303, 307, 308) and location:
                if max_redirects == 0:
                    raise FetchError(
                        "redirects are not followed here",
                        fetched.status,
                        urljoin(current, location),
                    )
                current = urljoin(current, location)
                continue
            return fetched
        raise FetchError(f"more than {max_redirects} redirects")
    raise FetchError(f"no answer within {time_limit:g}s")


async def configured_request(
    method: str,
    url: str,
    *,
    outbound: Outbound,
    headers: Mapping[str, str] | None = None,
    json_body: object = None,
    content: bytes | None = None,
    max_bytes: int = 1024 * 1024,
    time_limit: float = 10.0,
    configured: bool = True,
) -> Fetched:
    """One request to a service the administrator configured (a translation server).

    The host may be private (as the SMTP server may) but stays inside WB_OUTBOUND_ALLOW;
    with `configured=False` (a URL an admin typed for others' events: a webhook) it is held
    to the whole policy, private addresses refused as for any fetch. The connection goes to
    the checked address, redirects are not followed, the answer is capped at `max_bytes`
    and the whole exchange at `time_limit` seconds.
    """
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise FetchError("only http and https URLs with a host can be requested")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    with trio.move_on_after(time_limit):
        address = (await outbound.addresses(host, configured=configured))[0]
        literal = f"[{address}]" if ":" in address else address
        pinned = urlunsplit(parts._replace(netloc=f"{literal}:{port}"))
        request_headers = {"Host": parts.netloc.rpartition("@")[2], **(headers or {})}
        try:
            async with (
                httpx.AsyncClient(timeout=time_limit, trust_env=False, verify=outbound.tls) as c,
                c.stream(
                    method,
                    pinned,
                    headers=request_headers,
                    json=json_body,
                    content=content,
                    extensions={"sni_hostname": host},
                ) as response,
            ):
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise FetchError(f"response larger than {max_bytes} bytes")
                return Fetched(url, response.status_code, response.headers, bytes(body))
        except httpx.HTTPError as exc:
            raise FetchError(describe(exc)) from None
    raise FetchError(f"no answer within {time_limit:g}s")


def retry_after(response: httpx.Response) -> float:
    """Seconds a `Retry-After` header asks for (seconds or an HTTP date; capped at a day)."""
    return retry_after_value(response.headers.get("retry-after"))


def retry_after_value(value: str | None) -> float:
    """Seconds a `Retry-After` value asks for (seconds or an HTTP date; capped at a day)."""
    value = value or ""
    if value.strip().isdigit():
        return min(float(value), 24 * 3600.0)
    try:
        return max(1.0, min(parsedate_to_datetime(value).timestamp() - time.time(), 86400.0))
    except (TypeError, ValueError):
        return 300.0
