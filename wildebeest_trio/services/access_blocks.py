"""Blocks that act: IP blocks at sign-up, sign-in and every request; e-mail domain and
canonical e-mail blocks at sign-up and on a change of address.

As Mastodon: `no_access` refuses an address everything, `sign_up_block` its sign-ups,
`sign_up_requires_approval` holds its sign-ups for a moderator. An e-mail address is
refused when its domain (or a parent domain), or the domain of one of its MX hosts, is
blocked, or when its canonical form is (`admin_blocks.canonical_email_hash`); a domain
whose MX cannot be looked up is not refused for that alone.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
import weakref
from dataclasses import dataclass, field

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection
from ..store import canonical_email_blocks as canonical_rows
from ..store import email_domain_blocks as email_block_rows
from ..store import ip_blocks as ip_block_rows

# Mastodon's IpBlock severities, the strongest first.
SEVERITY_ORDER = ("no_access", "sign_up_block", "sign_up_requires_approval")
# How long a process trusts its copy of the IP blocks; a change made in this process is
# seen at once (`forget_ip_blocks`), one made by another within this many seconds.
IP_BLOCKS_TTL = 5.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class _IpBlocks:
    owner: weakref.ref[Runtime]
    loaded_at: float = -1e9
    networks: list[tuple[Network, str, int | None]] = field(default_factory=list)


_ip_cache: dict[int, _IpBlocks] = {}


def forget_ip_blocks() -> None:
    """Drop this process's copy of the IP blocks (after changing them)."""
    _ip_cache.clear()


async def ip_severity(rt: Runtime, ip: str) -> str | None:
    """The strongest live IP block covering `ip`, or None."""
    cached = _ip_cache.get(id(rt))
    # The owner check: a runtime gone, another may be given its id.
    if (
        cached is None
        or cached.owner() is not rt
        or time.monotonic() - cached.loaded_at > IP_BLOCKS_TTL
    ):
        rows = await rt.store.read(ip_block_rows.live, now_ms())
        cached = _IpBlocks(
            weakref.ref(rt),
            time.monotonic(),
            [(ipaddress.ip_network(r["ip"]), r["severity"], r["expires_at"]) for r in rows],
        )
        for gone in [k for k, v in _ip_cache.items() if v.owner() is None]:
            del _ip_cache[gone]
        _ip_cache[id(rt)] = cached
    if not cached.networks:
        return None  # most servers block no address: no need to read this one
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    now = now_ms()
    found = {
        severity
        for network, severity, expires_at in cached.networks
        if (expires_at is None or expires_at > now)
        and network.version == address.version
        and address in network
    }
    return next((s for s in SEVERITY_ORDER if s in found), None)


def canonical_email(email: str) -> str:
    """Mastodon's canonical form of an address: lower-case, the local part without its dots
    and without a `+tag`."""
    local, _, domain = email.strip().partition("@")
    local = local.replace(".", "").split("+", 1)[0]
    return f"{local}@{domain}".lower()


def canonical_email_hash(email: str) -> str:
    """The SHA-256 (hex) of the canonical address, as Mastodon stores it."""
    return hashlib.sha256(canonical_email(email).encode()).hexdigest()


class Blocked(Exception):
    """Refused by a block; the message says why, for the person refused."""


class AddressBlocked(Blocked):
    """Refused by an IP block."""


class EmailBlocked(Blocked):
    """Refused by an e-mail domain or canonical e-mail block."""


def _domain_variants(domain: str) -> list[str]:
    labels = domain.lower().rstrip(".").split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


async def email_verdict(rt: Runtime, email: str) -> str | None:
    """`block` when sign-ups (or a change of address) from `email` are refused, `approval`
    when they wait for a moderator, else None."""
    domain = email.rpartition("@")[2].strip().lower()
    if not domain:
        return None
    domains = _domain_variants(domain)
    for host in await rt.outbound.resolver.mail_hosts(domain):
        domains += _domain_variants(host)
    digest = canonical_email_hash(email)

    async def unit(conn: Connection) -> str | None:
        if await canonical_rows.by_hash(conn, digest):
            return "block"
        blocks = await email_block_rows.matching(conn, list(dict.fromkeys(domains)))
        if any(not b["allow_with_approval"] for b in blocks):
            return "block"
        return "approval" if blocks else None

    return await rt.store.read(unit)


async def sign_up_verdict(rt: Runtime, ip: str, email: str) -> bool:
    """Whether a sign-up from `ip` with `email` must wait for approval; Blocked when it is
    refused."""
    severity = await ip_severity(rt, ip)
    if severity in ("no_access", "sign_up_block"):
        raise AddressBlocked("Sign-ups from your address are blocked")
    verdict = await email_verdict(rt, email)
    if verdict == "block":
        raise EmailBlocked("That e-mail address is not allowed")
    return severity == "sign_up_requires_approval" or verdict == "approval"
