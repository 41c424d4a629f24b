"""Instance-level domain blocks: rows, and the block that applies to a host."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import domain_allows
from .base import Connection, fetch_as, fetchrow_as
from .paging import Page, fetch_page
from .rows import DomainBlockRow


async def upsert(conn: Connection, block: Mapping[str, Any]) -> DomainBlockRow:
    """Create or replace the block of `block["domain"]`; the stored row."""
    await conn.execute(
        "INSERT INTO domain_blocks (id, domain, severity, reject_media, reject_reports, "
        "private_comment, public_comment, obfuscate, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) "
        "ON CONFLICT (domain) DO UPDATE SET severity = excluded.severity, "
        "reject_media = excluded.reject_media, reject_reports = excluded.reject_reports, "
        "private_comment = excluded.private_comment, public_comment = excluded.public_comment, "
        "obfuscate = excluded.obfuscate, updated_at = excluded.updated_at",
        block["id"],
        block["domain"],
        block["severity"],
        block["reject_media"],
        block["reject_reports"],
        block["private_comment"],
        block["public_comment"],
        block["obfuscate"],
        block["now"],
    )
    row = await by_domain(conn, block["domain"])
    assert row is not None
    return row


async def by_domain(conn: Connection, domain: str) -> DomainBlockRow | None:
    """The block stored for exactly this domain."""
    return await fetchrow_as(
        conn, DomainBlockRow, "SELECT * FROM domain_blocks WHERE domain = $1", domain
    )


async def covering(conn: Connection, host: str) -> DomainBlockRow | None:
    """The block that applies to `host`: its own, else its nearest blocked parent domain."""
    labels = host.lower().split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels) - 1)] or [host.lower()]
    rows = await fetch_as(
        conn,
        DomainBlockRow,
        "SELECT * FROM domain_blocks WHERE domain IN ("
        + ", ".join(f"${i + 1}" for i in range(len(candidates)))
        + ")",
        *candidates,
    )
    return max(rows, key=lambda r: len(r["domain"]), default=None)


async def delete(conn: Connection, domain: str) -> bool:
    """Remove the block of `domain`; whether there was one."""
    removed = await conn.fetch("DELETE FROM domain_blocks WHERE domain = $1 RETURNING id", domain)
    return bool(removed)


async def all_blocks(conn: Connection) -> list[DomainBlockRow]:
    """Every block, by domain."""
    return await fetch_as(conn, DomainBlockRow, "SELECT * FROM domain_blocks ORDER BY domain")


async def block_for(conn: Connection, host: str | None) -> DomainBlockRow | None:
    """The block that applies to a host (None for local content or no block)."""
    if not host:
        return None
    return await covering(conn, host.split(":", 1)[0])


async def is_suspended(conn: Connection, host: str | None) -> bool:
    """Whether everything from and to this host is refused: a suspending block, or, in
    limited federation, a remote domain the admins did not allow."""
    block = await block_for(conn, host)
    if block is not None and block["severity"] == "suspend":
        return True
    return bool(host) and conn.allow_list_only and not await domain_allows.allows(conn, host or "")


async def by_id(conn: Connection, block_id: int) -> DomainBlockRow | None:
    return await fetchrow_as(
        conn, DomainBlockRow, "SELECT * FROM domain_blocks WHERE id = $1", block_id
    )


async def page(conn: Connection, at: Page) -> list[DomainBlockRow]:
    """Blocks by id, newest first (the admin API's order)."""
    return await fetch_page(
        conn, DomainBlockRow, "SELECT * FROM domain_blocks WHERE TRUE", [], "id", at
    )
