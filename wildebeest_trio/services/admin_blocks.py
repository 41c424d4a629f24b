"""What the admins block and allow: domains (federation), e-mail domains, address ranges
and canonical e-mail addresses (sign-ups), as the admin API and the admin pages change them.

Every change checks the acting role's permission (`manage_federation` for domain blocks and
allows, `manage_blocks` for the others, as Mastodon's policies) and is logged in the audit
log in the same unit of work.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from .. import roles
from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, IntegrityError
from ..store import canonical_email_blocks as canonical_rows
from ..store import domain_allows as allow_rows
from ..store import domain_blocks as domain_block_rows
from ..store import email_domain_blocks as email_block_rows
from ..store import ip_blocks as ip_block_rows
from ..store.paging import Page
from ..store.rows import (
    CanonicalEmailBlockRow,
    DomainAllowRow,
    DomainBlockRow,
    EmailDomainBlockRow,
    IpBlockRow,
)
from . import domain_blocks
from .access_blocks import canonical_email_hash, forget_ip_blocks
from .admin import AdminError, NotFound, Staff, log

IP_SEVERITIES = ("sign_up_requires_approval", "sign_up_block", "no_access")
MAX_COMMENT = 1000
MAX_EXPIRY_S = 10 * 365 * 86400
R = TypeVar("R")


def _host(domain: str) -> str:
    try:
        return domain_blocks.normalize_domain(domain)
    except domain_blocks.InvalidDomainBlock as exc:
        raise AdminError(str(exc)) from None


# What every kind shares: a page of them, one by id, and removing one -------------------------


@dataclass(frozen=True)
class Kind(Generic[R]):
    """A kind of block or allow: its audit log name, the permission it needs, and how the
    store reads and removes one."""

    target_type: str
    permission: int
    page: Callable[[Connection, Page], Coroutine[Any, Any, list[R]]]
    by_id: Callable[[Connection, int], Coroutine[Any, Any, R | None]]
    delete: Callable[[Connection, R], Awaitable[object]]
    name: Callable[[R], str]


async def listing(rt: Runtime, staff: Staff, kind: Kind[R], at: Page) -> list[R]:
    """One page of a kind, newest first."""
    staff.require(kind.permission)
    return await rt.store.read(kind.page, at)


async def one(rt: Runtime, staff: Staff, kind: Kind[R], item_id: int) -> R:
    staff.require(kind.permission)
    found = await rt.store.read(kind.by_id, item_id)
    if found is None:
        raise NotFound()
    return found


async def remove(rt: Runtime, staff: Staff, kind: Kind[R], item_id: int) -> None:
    """Remove one (logged as `destroy`)."""
    staff.require(kind.permission)

    async def unit(conn: Connection) -> None:
        found = await kind.by_id(conn, item_id)
        if found is None:
            raise NotFound()
        await kind.delete(conn, found)
        await log(conn, rt, staff, "destroy", kind.target_type, item_id, kind.name(found))

    await rt.store.write(unit)
    if kind.target_type == "IpBlock":
        forget_ip_blocks()


DOMAIN_BLOCKS: Kind[DomainBlockRow] = Kind(
    "DomainBlock",
    roles.MANAGE_FEDERATION,
    domain_block_rows.page,
    domain_block_rows.by_id,
    lambda conn, row: domain_blocks.unblock_domain(conn, row["domain"]),
    lambda row: row["domain"],
)
DOMAIN_ALLOWS: Kind[DomainAllowRow] = Kind(
    "DomainAllow",
    roles.MANAGE_FEDERATION,
    allow_rows.page,
    allow_rows.by_id,
    lambda conn, row: allow_rows.delete(conn, row["id"]),
    lambda row: row["domain"],
)
EMAIL_DOMAIN_BLOCKS: Kind[EmailDomainBlockRow] = Kind(
    "EmailDomainBlock",
    roles.MANAGE_BLOCKS,
    email_block_rows.page,
    email_block_rows.by_id,
    lambda conn, row: email_block_rows.delete(conn, row["id"]),
    lambda row: row["domain"],
)
IP_BLOCKS: Kind[IpBlockRow] = Kind(
    "IpBlock",
    roles.MANAGE_BLOCKS,
    ip_block_rows.page,
    ip_block_rows.by_id,
    lambda conn, row: ip_block_rows.delete(conn, row["id"]),
    lambda row: row["ip"],
)
CANONICAL_EMAIL_BLOCKS: Kind[CanonicalEmailBlockRow] = Kind(
    "CanonicalEmailBlock",
    roles.MANAGE_BLOCKS,
    canonical_rows.page,
    canonical_rows.by_id,
    lambda conn, row: canonical_rows.delete(conn, row["id"]),
    lambda row: row["canonical_email_hash"][:12],
)


# Domain blocks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainBlockFields:
    """A domain block as asked (Mastodon's parameters)."""

    severity: str = "silence"
    reject_media: bool = False
    reject_reports: bool = False
    private_comment: str = ""
    public_comment: str = ""
    obfuscate: bool = False


async def domain_block_list(rt: Runtime, staff: Staff) -> list[DomainBlockRow]:
    """Every block, by domain (the admin pages)."""
    staff.require(roles.MANAGE_FEDERATION)
    return await rt.store.read(domain_block_rows.all_blocks)


async def _store_block(
    conn: Connection, rt: Runtime, staff: Staff, domain: str, fields: DomainBlockFields
) -> DomainBlockRow:
    try:
        return await domain_blocks.block_domain(
            conn,
            rt.ids,
            domain,
            severity=fields.severity,
            reject_media=fields.reject_media,
            reject_reports=fields.reject_reports,
            private_comment=fields.private_comment[:MAX_COMMENT],
            public_comment=fields.public_comment[:MAX_COMMENT],
            obfuscate=fields.obfuscate,
        )
    except domain_blocks.InvalidDomainBlock as exc:
        raise AdminError(str(exc)) from None


async def create_domain_block(
    rt: Runtime, staff: Staff, domain: str, fields: DomainBlockFields, *, replace_existing: bool
) -> DomainBlockRow:
    """Block a domain. The API refuses a domain blocked already (422, as Mastodon); the
    pages' form changes the existing block (`replace_existing`)."""
    staff.require(roles.MANAGE_FEDERATION)
    host = _host(domain)

    async def unit(conn: Connection) -> DomainBlockRow:
        existing = await domain_block_rows.by_domain(conn, host)
        if existing is not None and not replace_existing:
            raise AdminError(f"You have already imposed limits on {host}")
        row = await _store_block(conn, rt, staff, host, fields)
        verb = "create" if existing is None else "update"
        await log(conn, rt, staff, verb, "DomainBlock", row["id"], host)
        return row

    return await rt.store.write(unit)


async def update_domain_block(
    rt: Runtime, staff: Staff, block_id: int, changes: dict[str, Any]
) -> DomainBlockRow:
    """Change some fields of a block (`PUT /api/v1/admin/domain_blocks/:id`)."""
    staff.require(roles.MANAGE_FEDERATION)

    async def unit(conn: Connection) -> DomainBlockRow:
        found = await domain_block_rows.by_id(conn, block_id)
        if found is None:
            raise NotFound()
        current = DomainBlockFields(
            severity=found["severity"],
            reject_media=bool(found["reject_media"]),
            reject_reports=bool(found["reject_reports"]),
            private_comment=found["private_comment"],
            public_comment=found["public_comment"],
            obfuscate=bool(found["obfuscate"]),
        )
        row = await _store_block(conn, rt, staff, found["domain"], replace(current, **changes))
        await log(conn, rt, staff, "update", "DomainBlock", block_id, found["domain"])
        return row

    return await rt.store.write(unit)


async def delete_domain_block(rt: Runtime, staff: Staff, domain: str) -> None:
    """Lift the block of a domain (the admin pages name it)."""
    staff.require(roles.MANAGE_FEDERATION)
    found = await rt.store.read(domain_block_rows.by_domain, _host(domain))
    if found is None:
        raise NotFound()
    await remove(rt, staff, DOMAIN_BLOCKS, found["id"])


# Domain allows -------------------------------------------------------------------------------


async def create_domain_allow(rt: Runtime, staff: Staff, domain: str) -> DomainAllowRow:
    """Allow a domain (limited federation); an allowed one is answered as it is."""
    staff.require(roles.MANAGE_FEDERATION)
    host = _host(domain)

    async def unit(conn: Connection) -> DomainAllowRow:
        row = await allow_rows.insert(conn, rt.ids.next_id(), host, now_ms())
        await log(conn, rt, staff, "create", "DomainAllow", row["id"], host)
        return row

    return await rt.store.write(unit)


# E-mail domain blocks ------------------------------------------------------------------------


async def create_email_domain_block(
    rt: Runtime, staff: Staff, domain: str, *, allow_with_approval: bool = False
) -> EmailDomainBlockRow:
    """Refuse sign-ups from an e-mail domain (or, `allow_with_approval`, hold them)."""
    staff.require(roles.MANAGE_BLOCKS)
    host = _host(domain)

    async def unit(conn: Connection) -> EmailDomainBlockRow:
        row = await email_block_rows.insert(
            conn, rt.ids.next_id(), host, now_ms(), allow_with_approval=allow_with_approval
        )
        if row is None:
            raise AdminError("Domain has already been taken")
        await log(conn, rt, staff, "create", "EmailDomainBlock", row["id"], host)
        return row

    return await rt.store.write(unit)


# IP blocks -----------------------------------------------------------------------------------


def normalize_network(ip: str) -> str:
    """An address or network as blocks store it: CIDR form, host bits cleared."""
    try:
        return str(ipaddress.ip_network(ip.strip(), strict=False))
    except ValueError:
        raise AdminError("ip is not a valid address or network") from None


@dataclass(frozen=True)
class IpBlockFields:
    """An IP block as asked: the network, severity, comment and lifetime in seconds."""

    ip: str
    severity: str
    comment: str = ""
    expires_in: int | None = None


def _ip_block(fields: IpBlockFields, block_id: int, now: int) -> dict[str, object]:
    if fields.severity not in IP_SEVERITIES:
        raise AdminError(f"severity must be one of {', '.join(IP_SEVERITIES)}")
    if fields.expires_in is not None and not 0 < fields.expires_in <= MAX_EXPIRY_S:
        raise AdminError("expires_in must be a positive number of seconds")
    return {
        "id": block_id,
        "ip": normalize_network(fields.ip),
        "severity": fields.severity,
        "comment": fields.comment[:MAX_COMMENT],
        "expires_at": None if fields.expires_in is None else now + fields.expires_in * 1000,
        "now": now,
    }


async def create_ip_block(rt: Runtime, staff: Staff, fields: IpBlockFields) -> IpBlockRow:
    staff.require(roles.MANAGE_BLOCKS)
    block = _ip_block(fields, rt.ids.next_id(), now_ms())

    async def unit(conn: Connection) -> IpBlockRow:
        row = await ip_block_rows.insert(conn, block)
        if row is None:
            raise AdminError("ip has already been taken")
        await log(conn, rt, staff, "create", "IpBlock", row["id"], row["ip"])
        return row

    created = await rt.store.write(unit)
    forget_ip_blocks()
    return created


async def update_ip_block(
    rt: Runtime, staff: Staff, block_id: int, fields: IpBlockFields, *, keep_expiry: bool
) -> IpBlockRow:
    """Change a block; `keep_expiry` when the request did not name `expires_in`."""
    staff.require(roles.MANAGE_BLOCKS)
    now = now_ms()

    async def unit(conn: Connection) -> IpBlockRow:
        found = await ip_block_rows.by_id(conn, block_id)
        if found is None:
            raise NotFound()
        block = _ip_block(fields, block_id, now)
        if keep_expiry:
            block["expires_at"] = found["expires_at"]
        await ip_block_rows.update(conn, block)
        await log(conn, rt, staff, "update", "IpBlock", block_id, str(block["ip"]))
        row = await ip_block_rows.by_id(conn, block_id)
        assert row is not None
        return row

    try:
        changed = await rt.store.write(unit)
    except IntegrityError:
        # Another block holds that network already (the unique index said so).
        raise AdminError("ip has already been taken") from None
    forget_ip_blocks()
    return changed


# Canonical e-mail blocks ---------------------------------------------------------------------


async def canonical_blocks_matching(
    rt: Runtime, staff: Staff, email: str
) -> list[CanonicalEmailBlockRow]:
    """The blocks an address falls under (`POST .../canonical_email_blocks/test`)."""
    staff.require(roles.MANAGE_BLOCKS)
    return await rt.store.read(canonical_rows.by_hash, canonical_email_hash(email))


async def create_canonical_block(
    rt: Runtime, staff: Staff, *, email: str = "", digest: str = ""
) -> CanonicalEmailBlockRow:
    """Block an address (by its canonical hash), or a hash given as is."""
    staff.require(roles.MANAGE_BLOCKS)
    if email:
        digest = canonical_email_hash(email)
    digest = digest.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise AdminError("canonical_email_hash must be a SHA-256 hex digest")

    async def unit(conn: Connection) -> CanonicalEmailBlockRow:
        row = await canonical_rows.insert(conn, rt.ids.next_id(), digest, None, now_ms())
        if row is None:
            raise AdminError("Canonical email hash has already been taken")
        await log(conn, rt, staff, "create", "CanonicalEmailBlock", row["id"], digest[:12])
        return row

    return await rt.store.write(unit)
