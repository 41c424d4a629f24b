"""Fetching from other servers without being turned against our own network.

Every outbound GET to an address someone else chose (a key set, an actor, a
post) goes through `safe_get`: the host is resolved once, every address is
checked against the private and special-purpose ranges Mastodon refuses (unless
`allow_private` is on, for tests on 127.0.0.1), and the connection goes to the
checked address itself, so a second DNS answer cannot sneak in (DNS rebinding);
the real name is still sent for `Host` and TLS. Redirects are followed by hand,
each hop checked again; bodies are capped and the whole exchange has a deadline.
"""

from __future__ import annotations

import ipaddress
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import httpx
import trio

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

Signer = Callable[[str, str, dict[str, str]], Mapping[str, str]]


class FetchError(Exception):
    """A fetch that failed or was refused; the message is one line, safe to log."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Fetched:
    """A completed GET: the final URL (after redirects), status, headers and body."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes


def is_public_address(text: str) -> bool:
    """Whether an IP address may be fetched from when private addresses are refused."""
    ip = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast:
        return False
    return not any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version)


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


async def resolve_checked(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses of a host, all of them checked; FetchError if any is refused."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        ip = None
    if ip is not None:
        addresses = [str(ip)]
    else:
        try:
            infos = await trio.socket.getaddrinfo(host, port, type=trio.socket.SOCK_STREAM)
        except OSError as exc:
            raise FetchError(f"cannot resolve {host}: {describe(exc)}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise FetchError(f"cannot resolve {host}")
    if not allow_private and not all(map(is_public_address, addresses)):
        raise FetchError(f"{host} has a private or loopback address (or a reserved one)")
    return addresses


async def _get_once(
    parts: SplitResult,
    headers: Mapping[str, str],
    *,
    allow_private: bool,
    max_bytes: int,
    ssl_context: ssl.SSLContext | None,
    time_limit: float,
) -> Fetched:
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise FetchError("only http and https URLs with a host can be fetched")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    failures: list[str] = []
    for address in await resolve_checked(host, port, allow_private=allow_private):
        literal = f"[{address}]" if ":" in address else address
        pinned = urlunsplit(parts._replace(netloc=f"{literal}:{port}"))
        request_headers = {"Host": parts.netloc.rpartition("@")[2], **headers}
        try:
            async with (
                httpx.AsyncClient(
                    timeout=time_limit, trust_env=False, verify=ssl_context or True
                ) as client,
                client.stream(
                    "GET", pinned, headers=request_headers, extensions={"sni_hostname": host}
                ) as response,
            ):
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
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


async def safe_get(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    allow_private: bool = False,
    max_bytes: int = 1024 * 1024,
    max_redirects: int = 3,
    time_limit: float = 30.0,
    ssl_context: ssl.SSLContext | None = None,
    sign: Signer | None = None,
) -> Fetched:
    """GET a URL someone else gave us, within every limit (see the module docstring).

    `sign(method, url, headers)` returns headers to add; it is called again for each
    redirect hop, since a signature covers the URL. A redirect past `max_redirects`
    is a FetchError; other statuses are returned for the caller to judge.
    """
    current = url
    with trio.move_on_after(time_limit):
        for _ in range(max_redirects + 1):
            hop_headers = dict(headers or {})
            if sign is not None:
                hop_headers.update(sign("GET", current, hop_headers))
            fetched = await _get_once(
                urlsplit(current),
                hop_headers,
                allow_private=allow_private,
                max_bytes=max_bytes,
                ssl_context=ssl_context,
                time_limit=time_limit,
            )
            location = fetched.headers.get("location")
            if fetched.status in (301, 302, 303, 307, 308) and location:
                if max_redirects == 0:
                    raise FetchError("redirects are not followed here", fetched.status)
                current = urljoin(current, location)
                continue
            return fetched
        raise FetchError(f"more than {max_redirects} redirects")
    raise FetchError(f"no answer within {time_limit:g}s")


def retry_after(response: httpx.Response) -> float:
    """Seconds a `Retry-After` header asks for (seconds or an HTTP date; capped at a day)."""
    value = response.headers.get("retry-after", "")
    if value.strip().isdigit():
        return min(float(value), 24 * 3600.0)
    try:
        return max(1.0, min(parsedate_to_datetime(value).timestamp() - time.time(), 86400.0))
    except (TypeError, ValueError):
        return 300.0
