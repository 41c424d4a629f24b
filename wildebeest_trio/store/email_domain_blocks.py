"""E-mail domains sign-ups are refused from (Mastodon's EmailDomainBlock)."""

from __future__ import annotations

from .base import Connection, fetch_as, fetchrow_as
from .paging import Page, fetch_page, placeholders
from .rows import EmailDomainBlockRow


async def insert(
    conn: Connection,
    block_id: int,
    domain: str,
    now: int,
    *,
    allow_with_approval: bool = False,
    parent_id: int | None = None,
) -> EmailDomainBlockRow | None:
    """Block `domain`; the stored row, or None when it was blocked already."""
    done = await conn.fetch(
        "INSERT INTO email_domain_blocks (id, domain, parent_id, allow_with_approval, "
        "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) "
        "ON CONFLICT (domain) DO NOTHING RETURNING id",
        block_id,
        domain,
        parent_id,
        allow_with_approval,
        now,
    )
    return await by_id(conn, block_id) if done else None


async def by_id(conn: Connection, block_id: int) -> EmailDomainBlockRow | None:
    return await fetchrow_as(
        conn, EmailDomainBlockRow, "SELECT * FROM email_domain_blocks WHERE id = $1", block_id
    )


async def delete(conn: Connection, block_id: int) -> None:
    await conn.execute("DELETE FROM email_domain_blocks WHERE id = $1", block_id)


async def page(conn: Connection, at: Page) -> list[EmailDomainBlockRow]:
    """Blocks by id, newest first (those an admin made, not the MX hosts they brought)."""
    return await fetch_page(
        conn,
        EmailDomainBlockRow,
        "SELECT * FROM email_domain_blocks WHERE parent_id IS NULL",
        [],
        "id",
        at,
    )


async def matching(conn: Connection, domains: list[str]) -> list[EmailDomainBlockRow]:
    """The blocks naming any of `domains` exactly."""
    if not domains:
        return []
    return await fetch_as(
        conn,
        EmailDomainBlockRow,
        f"SELECT * FROM email_domain_blocks WHERE domain IN ({placeholders(1, len(domains))})",
        *domains,
    )
